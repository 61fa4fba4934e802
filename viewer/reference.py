"""Reference Gaussian splatting in plain torch: the test oracle, and the documentation of the math.

It reproduces gsplat 1.5.3 (``rasterization`` with a pinhole camera, SH degree 0, rasterize_mode
"classic", default eps2d / near_plane / far_plane), which every renderer of the viewer must match:
1. camera space with the OpenCV viewmat (x right, y down, z forward); cull depth outside [near, far];
2. covariance ``Sigma = R S S^T R^T`` from the normalised quaternion and the scales;
3. EWA: ``Sigma2D = J W Sigma W^T J^T + EPS2D * I`` with the perspective Jacobian J taken at the mean
   whose x/z, y/z are clamped to 1.3x the field of view; cull det <= 0;
4. per pixel (centre at i + 0.5): ``alpha = min(ALPHA_MAX, o * exp(-0.5 d^T Sigma2D^-1 d))``,
   skipped when below ALPHA_MIN; front-to-back by depth with transmittance T, stopping (exclusive)
   once T would fall to T_MIN; colour = sum alpha_i T_i c_i, alpha = 1 - T.

Two places where gsplat 1.5.3 differs from the original 3DGS rasterizer (which DESIGN.md quotes):
the alpha clamp is 0.999 (not 0.99), and the splat extent is opacity-aware,
``min(3.33, sqrt(2 ln(o / ALPHA_MIN)))`` sigma rather than 3 sigma. That extent is exactly the set of
pixels where ``o * g >= ALPHA_MIN`` (up to 3.33 sigma for opaque splats), so this reference evaluates
every pixel against every Gaussian and lets the alpha threshold alone decide; a 3-sigma cut would drop
fragments of alpha up to 0.011 that gsplat draws.

Vectorised over pixels x Gaussians, so it suits small scenes (a few thousand Gaussians at <= 128^2).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from core.rotations import quaternion_to_matrix

ALPHA_MIN = 1.0 / 255.0  # fragments below this are skipped (gsplat ALPHA_THRESHOLD)
ALPHA_MAX = 0.999  # per-fragment alpha clamp (gsplat 1.5.3; the original 3DGS uses 0.99)
EPS2D = 0.3  # low-pass filter added to the 2D covariance diagonal, pixels^2
EXTEND_MAX = 3.33  # largest splat extent in sigmas; sqrt(2 ln 255) = 3.329 for an opaque splat
T_MIN = 1e-4  # a pixel is done once its transmittance would fall to this (that fragment is dropped too)
NEAR_PLANE = 0.01  # gsplat rasterization() defaults, metres
FAR_PLANE = 1e10

ArrayLike = np.ndarray | torch.Tensor


def _tensor(x: ArrayLike) -> torch.Tensor:
    return (x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))).detach().float().cpu()


def project(
    means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor, viewmat: torch.Tensor, K: torch.Tensor,
    width: int, height: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean2d (N, 2) in pixels, cov2d (N, 2, 2) with the low-pass added, depth (N,)), as gsplat's persp_proj."""
    R, t = viewmat[:3, :3], viewmat[:3, 3]
    p = means @ R.T + t
    rot = quaternion_to_matrix(quats)
    M = rot * scales[:, None, :]  # R S
    cov_c = R @ (M @ M.mT) @ R.T
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    x, y, z = p.unbind(-1)
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    tx = z * (x / z).clamp(-(cx / fx + 0.3 * tan_fovx), (width - cx) / fx + 0.3 * tan_fovx)
    ty = z * (y / z).clamp(-(cy / fy + 0.3 * tan_fovy), (height - cy) / fy + 0.3 * tan_fovy)
    J = torch.zeros(p.shape[0], 2, 3)
    J[:, 0, 0], J[:, 0, 2] = fx / z, -fx * tx / z**2
    J[:, 1, 1], J[:, 1, 2] = fy / z, -fy * ty / z**2
    cov2d = J @ cov_c @ J.mT + EPS2D * torch.eye(2)
    mean2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)
    return mean2d, cov2d, z


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two images with values 0..1 (how renderers' agreement is stated)."""
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))


def composite_over(premultiplied: torch.Tensor, alpha: torch.Tensor, background: Sequence[float]) -> torch.Tensor:
    """Straight RGBA (..., 4) of premultiplied splats (alpha = 1 - T) over a straight-RGBA background."""
    bg = torch.tensor(background, dtype=torch.float32, device=premultiplied.device)
    transmittance = (1.0 - alpha)[..., None]
    out_alpha = alpha[..., None] + transmittance * bg[3]
    out_rgb = premultiplied + transmittance * bg[3] * bg[:3]
    straight = torch.where(out_alpha > 0, out_rgb / out_alpha.clamp_min(1e-30), torch.zeros_like(out_rgb))
    return torch.cat([straight, out_alpha], dim=-1)


def render_reference(
    means: ArrayLike, quats: ArrayLike, scales: ArrayLike, opacities: ArrayLike, colors: ArrayLike,
    viewmat: ArrayLike, K: ArrayLike, width: int, height: int,
    background: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE, min_transmittance: float = T_MIN,
) -> np.ndarray:
    """Straight RGBA float32 (height, width, 4), top row first, composited over ``background``.

    viewmat: world -> OpenCV camera (4, 4); K: pinhole intrinsics (3, 3), e.g. from
    ``OrbitCamera.opencv_view_and_intrinsics``. ``min_transmittance=0`` composites every fragment,
    as back-to-front blending does (see viewer.gl_renderer), instead of gsplat's early stop.
    """
    means, quats, scales, colors = map(_tensor, (means, quats, scales, colors))
    opacities = _tensor(opacities).reshape(-1)
    mean2d, cov2d, depth = project(means, quats, scales, _tensor(viewmat), _tensor(K), width, height)
    det = torch.linalg.det(cov2d)
    keep = (depth >= near_plane) & (depth <= far_plane) & (det > 0) & (opacities >= ALPHA_MIN)
    order = torch.nonzero(keep).squeeze(1)
    order = order[torch.argsort(depth[order])]  # front to back
    mean2d, conic, opacity, color = mean2d[order], torch.linalg.inv(cov2d[order]), opacities[order], colors[order]

    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    pixels = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)
    premultiplied, alpha_out = torch.zeros(pixels.shape[0], 3), torch.zeros(pixels.shape[0])
    for start in range(0, pixels.shape[0], 2048):  # chunks bound the (pixels, Gaussians) temporaries
        d = mean2d[None] - pixels[start : start + 2048, None]  # (P, N, 2)
        sigma = 0.5 * (conic[:, 0, 0] * d[..., 0] ** 2 + conic[:, 1, 1] * d[..., 1] ** 2)
        sigma = sigma + conic[:, 0, 1] * d[..., 0] * d[..., 1]
        alpha = (opacity * torch.exp(-sigma)).clamp(max=ALPHA_MAX)
        alpha = torch.where((sigma < 0) | (alpha < ALPHA_MIN), 0.0, alpha)
        t_after = torch.cumprod(1.0 - alpha, dim=1)
        t_before = torch.cat([torch.ones_like(t_after[:, :1]), t_after[:, :-1]], dim=1)
        # Fragments that would take T to the minimum or below are dropped; T only falls, so they form a suffix.
        weight = torch.where(t_after > min_transmittance, alpha * t_before, 0.0)
        premultiplied[start : start + 2048] = weight @ color
        alpha_out[start : start + 2048] = weight.sum(dim=1)  # telescopes to 1 - T
    rgba = composite_over(premultiplied, alpha_out, background)
    return rgba.reshape(height, width, 4).numpy()
