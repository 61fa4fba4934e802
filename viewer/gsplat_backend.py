"""The viewport's CUDA backend: gsplat 1.5.3 ``rasterization`` behind GLSplatRenderer's interface.

Why it exists: on a machine with an NVIDIA GPU, gsplat is the reference for speed and for the splat
math (``viewer.reference`` documents that math); a second backend with the same interface lets the
viewer, ``avatar-studio bench --backend gsplat`` and ``scripts/gpu_compare.py`` put the two side by side
on the same Gaussians and camera.

Same contract as ``viewer.gl_renderer.GLSplatRenderer``:
- ``set_gaussians(means, quats, scales, opacities, colors)``: activated values, numpy or torch (a CUDA
  tensor is used in place, anything else is copied to the GPU once here);
- ``render(camera, width, height, background)`` / ``render_view(viewmat, K, ...)``: straight RGBA uint8
  (height, width, 4), top row first, the splats composited over a straight-RGBA ``background`` exactly
  as the GL composite pass does (``viewer.reference.composite_over``, then round to 8 bits);
- ``last_timings``: sort_ms, upload_ms, draw_ms, readback_ms of the last render. gsplat sorts inside
  its rasterizer and the Gaussians went up in ``set_gaussians``, so sort_ms and upload_ms are 0 here
  and draw_ms (rasterization + compositing, between two device synchronisations) holds both.
The one camera conversion is ``OrbitCamera.opencv_view_and_intrinsics``; gsplat takes OpenCV cameras.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import torch

from core.errors import AvatarStudioError
from viewer.camera import OrbitCamera
from viewer.reference import EPS2D, FAR_PLANE, NEAR_PLANE, composite_over

ArrayLike = np.ndarray | torch.Tensor
GSPLAT_VERSION = "1.5.3"  # the version whose math viewer.reference reproduces


def _load_gsplat() -> Any:
    """The gsplat module with its CUDA extension loaded, or one line saying why not.

    gsplat compiles its CUDA extension on first import (about 70 s on an H100 box, then cached in
    TORCH_EXTENSIONS_DIR), so this is called once, when a renderer is made.
    """
    if not torch.cuda.is_available():
        raise AvatarStudioError(
            f"the gsplat backend needs a CUDA GPU, and torch {torch.__version__} sees none: "
            "use --backend gl (OpenGL) on this machine"
        )
    try:
        import gsplat
        from gsplat.cuda._backend import _C
    except ImportError as exc:
        raise AvatarStudioError(
            f"the gsplat backend needs gsplat {GSPLAT_VERSION} ({exc}): pip install gsplat=={GSPLAT_VERSION}"
        ) from exc
    if _C is None:
        raise AvatarStudioError(
            "gsplat could not load or build its CUDA extension (it needs nvcc, the CUDA compiler, on first "
            "use): install the CUDA toolkit or use --backend gl"
        )
    if gsplat.__version__ != GSPLAT_VERSION:
        raise AvatarStudioError(
            f"the gsplat backend is written against gsplat {GSPLAT_VERSION}, found {gsplat.__version__}: "
            f"pip install gsplat=={GSPLAT_VERSION}"
        )
    return gsplat


def rasterization_arguments(
    viewmat: ArrayLike, K: ArrayLike, width: int, height: int,
    near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE, device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """The camera and splat-math keyword arguments of ``gsplat.rasterization`` for one OpenCV camera.

    One place, so the CPU tests can check it against viewer.reference with gsplat's own torch math.
    Everything set explicitly that the reference fixes: one camera, pinhole, classic (no
    antialiasing compensation), EPS2D low-pass, the given near/far planes, RGB without SH.
    """
    viewmats = torch.as_tensor(np.asarray(viewmat, np.float32) if not isinstance(viewmat, torch.Tensor) else viewmat)
    Ks = torch.as_tensor(np.asarray(K, np.float32) if not isinstance(K, torch.Tensor) else K)
    if tuple(viewmats.shape) != (4, 4) or tuple(Ks.shape) != (3, 3):
        raise ValueError(f"viewmat must be 4x4 and K 3x3, got {tuple(viewmats.shape)} and {tuple(Ks.shape)}")
    return {
        "viewmats": viewmats.float().to(device)[None].contiguous(),
        "Ks": Ks.float().to(device)[None].contiguous(),
        "width": int(width),
        "height": int(height),
        "near_plane": float(near_plane),
        "far_plane": float(far_plane),
        "eps2d": EPS2D,
        "sh_degree": None,
        "camera_model": "pinhole",
        "rasterize_mode": "classic",
        "render_mode": "RGB",
    }


def to_straight_rgba8(premultiplied: torch.Tensor, alpha: torch.Tensor, background: Sequence[float]) -> torch.Tensor:
    """(H, W, 4) uint8 straight RGBA of premultiplied splat colour (H, W, 3) and coverage (H, W) over
    a straight-RGBA background: the GL renderer's composite pass, on whichever device the inputs are."""
    rgba = composite_over(premultiplied, alpha, background)
    return torch.round(rgba.clamp(0.0, 1.0) * 255.0).to(torch.uint8)


def _float32(x: ArrayLike, name: str, rows: int, columns: int, device: torch.device) -> torch.Tensor:
    tensor = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    tensor = tensor.detach().to(device=device, dtype=torch.float32)
    if columns == 1 and tensor.ndim == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    expected = (rows,) if columns == 1 else (rows, columns)
    if tuple(tensor.shape) != expected:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(tensor.shape)}")
    return tensor.contiguous()


class GsplatRenderer:
    """gsplat on CUDA with GLSplatRenderer's interface; ``last_timings`` as the module docstring says."""

    mode = "gsplat"

    def __init__(self, device: torch.device | str = "cuda") -> None:
        self._gsplat = _load_gsplat()
        self.device = torch.device(device)
        self.device_name = torch.cuda.get_device_name(self.device)
        self._scene: dict[str, torch.Tensor] = {}
        self.last_timings: dict[str, float] = {}

    def __len__(self) -> int:
        return int(self._scene["means"].shape[0]) if self._scene else 0

    def set_gaussians(
        self, means: ArrayLike, quats: ArrayLike, scales: ArrayLike, opacities: ArrayLike, colors: ArrayLike
    ) -> None:
        """Replace the scene: activated values (metres, unit w-x-y-z quaternions, opacity and rgb in 0..1)."""
        n = int(means.shape[0])
        self._scene = {
            "means": _float32(means, "means", n, 3, self.device),
            "quats": _float32(quats, "quats", n, 4, self.device),
            "scales": _float32(scales, "scales", n, 3, self.device),
            "opacities": _float32(opacities, "opacities", n, 1, self.device),
            "colors": _float32(colors, "colors", n, 3, self.device),
        }

    def rasterize(
        self, viewmat: ArrayLike, K: ArrayLike, width: int, height: int,
        near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """gsplat's own output on the device, asynchronously: premultiplied rgb (H, W, 3), alpha (H, W).

        This is the call the GPU comparison times as "gsplat's rasterization".
        """
        arguments = rasterization_arguments(viewmat, K, width, height, near_plane, far_plane, self.device)
        if not self._scene or len(self) == 0:
            return (torch.zeros(height, width, 3, device=self.device), torch.zeros(height, width, device=self.device))
        colors, alphas, _ = self._gsplat.rasterization(**self._scene, **arguments)
        return colors[0], alphas[0, ..., 0]

    def render(
        self, camera: OrbitCamera, width: int, height: int, background: Sequence[float] = (0.0, 0.0, 0.0, 0.0)
    ) -> np.ndarray:
        """Straight RGBA uint8 (height, width, 4), top row first, splats over ``background`` (straight rgba)."""
        viewmat, K = camera.opencv_view_and_intrinsics(width, height)
        return self.render_view(viewmat, K, width, height, background, camera.near, camera.far)

    def render_view(
        self, viewmat: np.ndarray, K: np.ndarray, width: int, height: int,
        background: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE,
    ) -> np.ndarray:
        """``render`` from an OpenCV viewmat (world -> camera, 4x4) and K (3x3)."""
        torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        premultiplied, alpha = self.rasterize(viewmat, K, width, height, near_plane, far_plane)
        rgba8 = to_straight_rgba8(premultiplied, alpha, background)
        torch.cuda.synchronize(self.device)
        drawn_at = time.perf_counter()
        image = rgba8.cpu().numpy()
        done_at = time.perf_counter()
        self.last_timings = {
            "sort_ms": 0.0,  # inside gsplat's rasterization, counted in draw_ms
            "upload_ms": 0.0,  # the Gaussians went to the device in set_gaussians
            "draw_ms": 1e3 * (drawn_at - start),
            "readback_ms": 1e3 * (done_at - drawn_at),
        }
        return image

    def release(self) -> None:
        """Drop the scene's device memory (the CUDA context stays with the process)."""
        self._scene = {}
