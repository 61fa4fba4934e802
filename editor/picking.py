"""Picking: which Gaussian of the posed avatar is under a pixel, and where that is on the rest surface.

    hit = pick(camera, width, height, posed, x, y)
    if hit: paint.stroke_surface(hit.layer, [hit.canonical], brush)

The Gaussian whose projected footprint covers the pixel with at least MIN_ALPHA of its opacity (the
renderers' splat: EWA projection through viewer.camera's OpenCV camera, 0.3 px low-pass) and is
nearest the camera. Its index is the same in the posed and canonical Gaussians (posing moves, never
reorders), so the rest position, layer and chart uv come from the canonical avatar: a stroke painted in
a raised-arm pose lands where the brush was, on the rest surface.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from core.gaussians import LAYER_NAMES, LayeredGaussians
from viewer.camera import OrbitCamera
from viewer.reference import project as reference_project

MIN_ALPHA = 0.3  # a Gaussian "covers" a pixel where it would paint at least this alpha (a third-opaque fringe)


@dataclasses.dataclass
class Pick:
    """The Gaussian under a pixel."""

    index: int  # into the avatar's Gaussians (canonical and posed alike)
    layer: str
    uv: tuple[float, float]  # the Gaussian's own template uv (PaintTarget.chart_uv gives the reference chart's)
    canonical: tuple[float, float, float]  # rest-pose position, metres
    depth: float  # metres from the camera along its axis


def project(camera: OrbitCamera, width: int, height: int,
            gaussians: LayeredGaussians) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pixel centres (N, 2), inverse 2D covariances (N, 2, 2) and depths (N,) of Gaussians: the renderers'
    EWA projection (viewer.reference.project, low-pass included), so a pick covers what is drawn."""
    view, K = (torch.from_numpy(np.asarray(a, dtype=np.float32))
               for a in camera.opencv_view_and_intrinsics(width, height))
    centre, cov, depth = reference_project(gaussians.means, gaussians.quats, gaussians.scales, view, K, width, height)
    return centre, torch.linalg.inv(cov), depth


def pick(camera: OrbitCamera, width: int, height: int, posed: LayeredGaussians, x: float, y: float,
         canonical: LayeredGaussians | None = None) -> Pick | None:
    """The front-most sufficiently opaque Gaussian at viewport pixel (x, y) (pixels from the top-left
    corner, as the mouse reports them; a pixel's centre is at +0.5), or None over the background.

    canonical: the rest-pose Gaussians of the same avatar (default: `posed` itself, for a rest-pose view).
    """
    canonical = posed if canonical is None else canonical
    # Cheap bound first (mean and largest axis only), the EWA footprint for the few Gaussians near the pixel:
    # 2 ms instead of 70 for 65k Gaussians.
    view, K = camera.opencv_view_and_intrinsics(width, height)
    view, focal = torch.from_numpy(np.asarray(view, np.float32)), float(K[1, 1])
    t = posed.means @ view[:3, :3].T + view[:3, 3]
    z = t[:, 2].clamp_min(1e-6)
    px = torch.stack([focal * t[:, 0] / z + float(K[0, 2]), focal * t[:, 1] / z + float(K[1, 2])], -1)
    reach = 3.5 * focal * posed.scales.max(dim=1).values / z + 1.0
    point = torch.tensor([float(x), float(y)])
    near = torch.nonzero(((px - point).abs().max(dim=1).values < reach) & (t[:, 2] > camera.near))[:, 0]
    if near.numel() == 0:
        return None
    centre, inverse, depth = project(camera, width, height, posed.select(near))
    d = point - centre
    maha = (d[:, None, :] @ inverse @ d[:, :, None])[:, 0, 0]
    alpha = posed.opacities[near] * torch.exp(-0.5 * maha)
    covers = alpha >= MIN_ALPHA
    if not bool(covers.any()):
        return None
    candidates = torch.nonzero(covers)[:, 0]
    best = int(candidates[torch.argmin(depth[candidates])])
    i = int(near[best])
    uv = canonical.uvs[i].tolist()
    rest = canonical.means[i].tolist()
    return Pick(i, LAYER_NAMES[int(canonical.layers[i])], (uv[0], uv[1]), (rest[0], rest[1], rest[2]), float(depth[best]))


__all__ = ["MIN_ALPHA", "Pick", "project", "pick"]
