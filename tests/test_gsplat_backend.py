"""The gsplat backend: its camera arguments, its output convention, and (on CUDA) its pixels.

gsplat rasterises only on CUDA. On a CPU machine the tests check what the backend adds around that
call: the arguments it passes, against viewer.reference, through gsplat's own torch implementation
of the projection; its compositing, against the GL renderer; and its refusal without CUDA.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import AvatarStudioError
from test_renderer import random_scene
from viewer import gsplat_backend
from viewer.camera import OrbitCamera
from viewer.gsplat_backend import rasterization_arguments, to_straight_rgba8
from viewer.reference import project, psnr, render_reference

SIZE = 96
OPAQUE = (0.16, 0.16, 0.18, 1.0)
CLEAR = (0.0, 0.0, 0.0, 0.0)
CAMERAS = {
    "front": OrbitCamera(target=(0.0, 0.9, 0.0), distance=2.5),
    "above_left": OrbitCamera(target=(0.1, 1.0, 0.0), distance=2.0, yaw_deg=35.0, pitch_deg=20.0),
    "wide_close": OrbitCamera(target=(0.1, 1.0, -0.2), distance=0.6, yaw_deg=-20.0, fov_y_deg=60.0),
}


def gsplat_torch_projection(arguments: dict, means, quats, scales):
    """gsplat 1.5.3's pure-torch projection (its CUDA kernels' specification), fed our arguments."""
    from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci

    covars, _ = _quat_scale_to_covar_preci(torch.from_numpy(quats), torch.from_numpy(scales), compute_preci=False)
    return _fully_fused_projection(
        torch.from_numpy(means), covars, arguments["viewmats"], arguments["Ks"], arguments["width"],
        arguments["height"], eps2d=arguments["eps2d"], near_plane=arguments["near_plane"],
        far_plane=arguments["far_plane"], camera_model=arguments["camera_model"],
    )


@pytest.mark.parametrize("camera_name", sorted(CAMERAS))
def test_arguments_project_like_the_reference(camera_name):
    means, quats, scales, _, _ = random_scene(3, 400, 0.3)
    width, height = 160, 96  # not square: a swapped width/height or cx/cy would show
    camera = CAMERAS[camera_name]
    viewmat, K = camera.opencv_view_and_intrinsics(width, height)
    arguments = rasterization_arguments(viewmat, K, width, height, camera.near, camera.far)
    assert arguments["viewmats"].shape == (1, 4, 4) and arguments["Ks"].shape == (1, 3, 3)

    radii, means2d, depths, conics, _ = gsplat_torch_projection(arguments, means, quats, scales)
    ref_mean2d, ref_cov2d, ref_depth = project(
        *(torch.from_numpy(a) for a in (means, quats, scales, viewmat, K)), width, height
    )
    drawn = (radii[0] > 0).all(-1)
    assert int(drawn.sum()) > 50
    if camera_name == "wide_close":  # inside the cloud: some are off-screen or behind the camera
        assert not bool(drawn.all())
    assert torch.equal(drawn, drawn & (ref_depth > camera.near))
    torch.testing.assert_close(depths[0], ref_depth, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(means2d[0][drawn], ref_mean2d[drawn], rtol=1e-4, atol=1e-3)
    ref_conic = torch.linalg.inv(ref_cov2d[drawn].double())
    ref_conic = torch.stack([ref_conic[:, 0, 0], ref_conic[:, 0, 1], ref_conic[:, 1, 1]], -1).float()
    torch.testing.assert_close(conics[0][drawn], ref_conic, rtol=2e-3, atol=1e-5)


@pytest.fixture(scope="module")
def gl_renderer():
    from viewer.gl_renderer import GLSplatRenderer

    try:
        renderer = GLSplatRenderer(mode="ssbo")
    except AvatarStudioError as exc:  # only a machine without EGL skips; CI has it
        pytest.skip(str(exc))
    yield renderer
    renderer.release()


@pytest.mark.parametrize("background", [OPAQUE, CLEAR], ids=["opaque", "clear"])
def test_compositing_matches_the_gl_renderer(gl_renderer, background):
    """The backend's premultiplied-to-image step gives the GL renderer's image: same orientation,
    straight alpha, background and 8-bit rounding. The reference stands in for gsplat's rasterizer."""
    scene = random_scene(0, 1500, 0.2)
    camera = CAMERAS["front"]
    viewmat, K = camera.opencv_view_and_intrinsics(SIZE, SIZE)
    # every fragment composited, as back-to-front GL blending does, so the two should agree to 1 level
    straight = torch.from_numpy(render_reference(*scene, viewmat, K, SIZE, SIZE, CLEAR, min_transmittance=0.0))
    alpha = straight[..., 3]
    ours = to_straight_rgba8(straight[..., :3] * alpha[..., None], alpha, background).numpy()

    gl_renderer.set_gaussians(*scene)
    gl_image = gl_renderer.render(camera, SIZE, SIZE, background=background)
    assert ours.dtype == np.uint8 and ours.shape == gl_image.shape == (SIZE, SIZE, 4)
    assert 0.05 < float((alpha > 0.5).float().mean()) < 0.95  # splats cover part of the view, not all
    covered = gl_image[..., 3] > 8  # straight colour of nearly transparent pixels is ill-conditioned
    assert np.abs(ours[..., 3].astype(int) - gl_image[..., 3]).max() <= 1
    assert np.abs(ours[covered].astype(int) - gl_image[covered]).max() <= 2
    if background[3] == 1.0:
        assert (ours[..., 3] == 255).all()
        assert (ours[0, 0, :3] == np.round(np.array(OPAQUE[:3]) * 255)).all()  # an uncovered corner


def test_refuses_without_cuda_in_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(AvatarStudioError) as error:
        gsplat_backend.GsplatRenderer()
    message = str(error.value)
    assert "\n" not in message and "CUDA" in message and "--backend gl" in message


def test_refuses_without_gsplat_in_one_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_gsplat(name, *args, **kwargs):
        if name == "gsplat" or name.startswith("gsplat."):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(builtins, "__import__", no_gsplat)
    with pytest.raises(AvatarStudioError) as error:
        gsplat_backend.GsplatRenderer()
    message = str(error.value)
    assert "\n" not in message and "pip install gsplat==1.5.3" in message


@pytest.fixture(scope="module")
def gsplat_renderer():
    if not torch.cuda.is_available():
        pytest.skip("gsplat rasterises on CUDA only; this machine has no CUDA GPU")
    renderer = gsplat_backend.GsplatRenderer()
    yield renderer
    renderer.release()


@pytest.mark.parametrize("camera_name", sorted(CAMERAS))
def test_gsplat_matches_reference_and_gl(gsplat_renderer, gl_renderer, camera_name):
    scene = random_scene(1, 1500, 0.5)
    camera = CAMERAS[camera_name]
    viewmat, K = camera.opencv_view_and_intrinsics(SIZE, SIZE)
    reference = render_reference(*scene, viewmat, K, SIZE, SIZE, OPAQUE)  # gsplat's math, early stop included

    gsplat_renderer.set_gaussians(*scene)
    image = gsplat_renderer.render(camera, SIZE, SIZE, background=OPAQUE)
    assert image.dtype == np.uint8 and image.shape == (SIZE, SIZE, 4) and (image[..., 3] == 255).all()
    assert psnr(image[..., :3] / 255.0, reference[..., :3]) >= 40.0
    assert set(gsplat_renderer.last_timings) == {"sort_ms", "upload_ms", "draw_ms", "readback_ms"}

    gl_renderer.set_gaussians(*scene)
    gl_image = gl_renderer.render(camera, SIZE, SIZE, background=OPAQUE)
    assert psnr(image[..., :3] / 255.0, gl_image[..., :3] / 255.0) >= 30.0


def test_gsplat_empty_scene_is_the_background(gsplat_renderer):
    gsplat_renderer.set_gaussians(*(np.zeros((0, c), np.float32) for c in (3, 4, 3, 1, 3)))
    image = gsplat_renderer.render(CAMERAS["front"], 32, 24, background=OPAQUE)
    assert image.shape == (24, 32, 4) and (image == np.round(np.array(OPAQUE) * 255)).all()
