""".splat: the compact Gaussian format of antimatter15's WebGL splat viewer and the web viewers after it.

No header; 32 bytes per Gaussian, little-endian:

    position  3 x float32   metres, the same frame as our PLY (world Y up, the avatar facing +Z)
    scale     3 x float32   linear (not log), metres
    colour    4 x uint8     r, g, b, opacity, each value * 255 rounded
    rotation  4 x uint8     unit quaternion w, x, y, z, each q * 128 + 128 rounded, clipped to 0..255

Gaussians are sorted by decreasing scale product x opacity, as the viewer's converter writes them
(viewers stream the file and show the biggest splats first). Colour is SH degree 0 only and the
layers and rig are lost: a .splat is for looking at, not for editing.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from core.errors import AvatarStudioError
from core.export import save_bytes
from core.gaussians import LayeredGaussians

SPLAT_DTYPE = np.dtype([("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rotation", "u1", 4)])


def write_splat(path: str | os.PathLike, gaussians: LayeredGaussians) -> None:
    """Write Gaussians as a .splat file (atomically), most important first."""
    g = gaussians.to("cpu")
    scales = g.scales.detach().double()
    opacities = g.opacities.detach().double()
    order = torch.argsort(-(scales.prod(dim=-1) * opacities), stable=True)
    quats = g.quats.detach()[order].double()
    quats = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    rgba = torch.cat([g.colors.detach()[order].double(), opacities[order, None]], dim=-1)
    data = np.zeros(len(g), dtype=SPLAT_DTYPE)
    data["position"] = g.means.detach()[order].numpy()
    data["scale"] = scales[order].numpy()
    data["rgba"] = (rgba.clamp(0, 1) * 255).round().numpy()
    data["rotation"] = (quats * 128 + 128).round().clamp(0, 255).numpy()
    save_bytes(path, data.tobytes())


def read_splat(path: str | os.PathLike) -> LayeredGaussians:
    """Read a .splat file into an unskinned container (one-line AvatarStudioError for anything else)."""
    path = Path(path)
    if not path.is_file():
        raise AvatarStudioError(f"{path}: no such file")
    size = path.stat().st_size
    if size % SPLAT_DTYPE.itemsize:
        raise AvatarStudioError(f"{path}: not a .splat file ({size} bytes is not a multiple of 32)")
    data = np.fromfile(path, dtype=SPLAT_DTYPE)
    quats = (torch.from_numpy(data["rotation"].astype(np.float32)) - 128) / 128
    norms = quats.norm(dim=-1, keepdim=True)
    quats = torch.where(norms > 1e-6, quats / norms.clamp_min(1e-12), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    rgba = torch.from_numpy(data["rgba"].astype(np.float32)) / 255
    means = torch.from_numpy(data["position"].copy())
    scales = torch.from_numpy(data["scale"].copy())
    if not (torch.isfinite(means).all() and torch.isfinite(scales).all()):
        raise AvatarStudioError(f"{path}: contains NaN or infinite values")
    return LayeredGaussians.unskinned(means, quats, scales, rgba[:, 3], rgba[:, :3])
