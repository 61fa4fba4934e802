"""The Export panel's actions without a window: every format written through the studio and read back
by another reader (plyfile, the .splat reader, assimp, imageio), layer choice, cancel, and requests that
cannot work ending as one line with no file.
"""
from __future__ import annotations

import shutil
import subprocess

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from plyfile import PlyData

from app.export import LAYERS
from app.generate import WARDROBE
from app.studio import Studio, StudioOptions
from core.gaussians import LAYER_IDS, LAYER_NAMES


def finish(studio: Studio) -> None:
    assert studio.runner.wait(180)
    studio.runner.poll()


@pytest.fixture(scope="module")
def studio(anny_body):
    """A studio showing wardrobe seed 11 in the relaxed pose (no window)."""
    studio = Studio(StudioOptions(seed=11), body=anny_body)
    studio.state.generate.set_source(WARDROBE)
    studio.load_avatar(11)
    finish(studio)
    return studio


def exported(studio: Studio, fmt: str, path, **options) -> str:
    """Export through the studio's actions (as the panel and its file dialog do); the outcome line."""
    studio.set_export_option("format", fmt)
    for name, value in options.items():
        studio.set_export_option(name, value)
    studio.export(str(path))
    finish(studio)
    assert studio.runner.status() is None
    return studio.state.export.result


def assimp_info(path) -> dict[str, str]:
    """`assimp info`'s summary as {key: value}."""
    if shutil.which("assimp") is None:
        pytest.fail("assimp is missing: install Debian's assimp-utils (scripts/install.sh does)")
    result = subprocess.run(["assimp", "info", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, str] = {}
    for key, _, value in (line.partition(":") for line in result.stdout.splitlines()):
        summary.setdefault(key.strip(), value.strip())  # the summary lines come first ("Meshes: 5")
    return summary


def test_layer_names_match_the_core():
    assert LAYERS == LAYER_NAMES


def test_ply_posed_and_canonical_with_layers(studio, tmp_path):
    state = studio.state
    for layer in ("bottom", "hair", "shoes"):
        studio.set_export_layer(layer, False)
    try:
        result = exported(studio, "ply", tmp_path / "posed", posed=True, sh_degree=3)  # the dialog may drop .ply
    finally:
        for layer in LAYERS:
            studio.set_export_layer(layer, True)
    assert "posed" in result and not state.export.result_is_error and str(tmp_path / "posed.ply") in result
    vertex = PlyData.read(str(tmp_path / "posed.ply"))["vertex"]
    chosen = torch.isin(state.gaussians.layers, torch.tensor([LAYER_IDS["body"], LAYER_IDS["top"]]))
    assert vertex.count == int(chosen.sum()) < len(state.gaussians)
    assert "f_rest_44" in vertex.data.dtype.names
    means = np.stack([vertex["x"], vertex["y"], vertex["z"]], axis=1)
    assert np.allclose(means, state.gaussians.means[chosen].numpy(), atol=1e-6)

    exported(studio, "ply", tmp_path / "canonical.ply", posed=False, sh_degree=0)
    vertex = PlyData.read(str(tmp_path / "canonical.ply"))["vertex"]
    assert vertex.count == len(state.avatar.gaussians) and "f_rest_0" not in vertex.data.dtype.names
    assert np.ptp(vertex["x"]) > np.ptp(state.gaussians.means[:, 0].numpy()) + 0.3, "arms out: the T-pose"
    studio.set_export_option("posed", True)


def test_splat_reads_back(studio, tmp_path):
    from core.splat_file import read_splat

    result = exported(studio, "splat", tmp_path / "avatar.splat")
    assert result.startswith("Exported") and "avatar.splat" in result
    back = read_splat(tmp_path / "avatar.splat")
    shown = studio.state.gaussians
    assert len(back) == len(shown)
    assert np.allclose(np.sort(back.means[:, 1].numpy()), np.sort(shown.means[:, 1].numpy()), atol=1e-6)


def test_fbx_with_and_without_the_motion(studio, tmp_path):
    from test_studio_pose import clip

    state = studio.state
    result = exported(studio, "fbx", tmp_path / "still.fbx", animate=True)
    assert "in the pose shown" in result
    info = assimp_info(tmp_path / "still.fbx")
    assert (info["Meshes"], info["Animations"], info["Textures (embed.)"]) == ("5", "0", "5")

    state.load_clip(clip(frames=6, fps=10.0, name="bend"), play=False)
    try:
        result = exported(studio, "fbx", tmp_path / "animated.fbx")
        assert "bend as 6 frames at 10 fps" in result
        assert assimp_info(tmp_path / "animated.fbx")["Animations"] == "1"
    finally:
        state.unload_clip()


def test_png_turntable_and_motion_video(studio, tmp_path):
    from test_studio_pose import clip

    state = studio.state
    result = exported(studio, "png", tmp_path / "view", image_size=(96, 128), transparent=True)
    assert result == f"Exported {tmp_path / 'view.png'} (96x128, transparent)"
    image = iio.imread(tmp_path / "view.png")
    assert image.shape == (128, 96, 4) and image[0, 0, 3] == 0 and image[..., 3].max() == 255

    exported(studio, "turntable", tmp_path / "turn.gif", video_size=(63, 64), frames=4)
    assert state.export.video_size == (64, 64), "video sides are made even"
    frames = iio.imread(tmp_path / "turn.gif", index=None)
    assert frames.shape[:3] == (4, 64, 64) and np.abs(frames[0].astype(int) - frames[2]).mean() > 1

    assert "needs a motion" in exported(studio, "motion", tmp_path / "none.mp4") and state.export.result_is_error
    state.load_clip(clip(frames=5, fps=10.0, name="bend"), play=False)
    try:
        result = exported(studio, "motion", tmp_path / "bend")
    finally:
        state.unload_clip()
    assert result.startswith(f"Exported {tmp_path / 'bend.mp4'} (bend, 5 frames")
    assert iio.imread(tmp_path / "bend.mp4", index=None).shape[0] == 5


@pytest.mark.parametrize("fmt, target", [("ply", "missing/avatar.ply"), ("fbx", "missing/avatar.fbx"),
                                         ("png", "missing/view.png"), ("turntable", "missing/turn.mp4"),
                                         ("splat", "a_folder")])
def test_unwritable_target_is_one_line_and_no_file(studio, tmp_path, fmt, target):
    (tmp_path / "a_folder.splat").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = exported(studio, fmt, tmp_path / target)
    assert studio.state.export.result_is_error and studio.state.message == result
    assert "\n" not in result and "cannot write" in result and str(tmp_path) in result
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing written, no temp file left"


def test_cancel_leaves_no_file_and_an_opened_ply_has_no_rig(studio, tmp_path):
    state = studio.state
    studio.set_export_option("format", "turntable")
    studio.set_export_option("video_size", (64, 64))
    studio.set_export_option("frames", 2000)
    studio.export(str(tmp_path / "long.mp4"))
    assert studio.runner.status().kind == "export"
    studio.cancel_task()
    finish(studio)
    assert state.export.result.endswith("cancelled") and not state.export.result_is_error
    assert list(tmp_path.iterdir()) == []

    exported(studio, "ply", tmp_path / "shown.ply")
    shown = state.gaussians
    studio.open_ply(str(tmp_path / "shown.ply"))
    finish(studio)
    try:
        result = exported(studio, "fbx", tmp_path / "x.fbx")
        assert result == "FBX (rigged, textured) needs a generated avatar: shown.ply has no rig."
        assert not (tmp_path / "x.fbx").exists()
        studio.set_export_layer("top", False)  # layers do not apply to a PLY: it goes out whole
        exported(studio, "splat", tmp_path / "again.splat")
        assert (tmp_path / "again.splat").stat().st_size == 32 * len(shown)
    finally:
        studio.set_export_layer("top", True)
        studio.show_gallery_entry(state.generate.gallery[0].key)  # the module's avatar back
        finish(studio)
