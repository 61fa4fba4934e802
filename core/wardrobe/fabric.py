"""Shared painting tools: per-texel channel buffers, soft masks, noise, patterns, strand frames.

Everything is a vectorised function of the texels' 3D rest positions (core.wardrobe.canvas), so
patterns run level and continuous across UV islands. Randomness comes from explicit generators:
numpy for a handful of wave parameters, torch for per-texel grain.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from core.attribute_maps import NUM_CHANNELS, OFFSET, OPACITY, RGB, STRETCH, THICKNESS
from core.wardrobe.canvas import ARM, OUTER_SEAM, SHEET, LayerCanvas
from core.wardrobe.spec import Fabric

SOFT = 0.0025  # metres over which painted edges fade (about a texel of the garment maps)


def layer_values(canvas: LayerCanvas) -> torch.Tensor:
    """A blank (T, C) buffer of a layer's texel values: transparent, flat surfels."""
    return torch.zeros(canvas.count, NUM_CHANNELS)


def set_surface(values: torch.Tensor, canvas: LayerCanvas, opacity: torch.Tensor, rgb: torch.Tensor,
                offset: torch.Tensor | float = 0.0) -> None:
    """Opacity, colour and the offset away from the body (stored along the template normal)."""
    values[:, OPACITY] = opacity
    values[:, RGB] = rgb.clamp(0, 1)
    values[:, OFFSET] = offset * canvas.outward


def set_strands(values: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, along: torch.Tensor | float,
                across: torch.Tensor | float, thickness: torch.Tensor | float = 0.0) -> None:
    """Ellipses stretched by exp(along) in direction (cos, sin) of the texel frame and exp(across) across it."""
    values[:, STRETCH] = torch.stack([along * cos**2 + across * sin**2, along * sin**2 + across * cos**2,
                                      (along - across) * cos * sin], dim=-1)
    values[:, THICKNESS] = thickness


def frame_angle(canvas: LayerCanvas, direction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin) of 3D directions (3, T) within each texel's (tangent, bitangent) frame."""
    g = canvas.geometry
    c = (g.tangent.T * direction).sum(0)
    s = (g.bitangent.T * direction).sum(0)
    norm = torch.sqrt(c**2 + s**2).clamp_min(1e-9)
    return c / norm, s / norm


def step(x: torch.Tensor, edge: float | torch.Tensor, soft: float = SOFT) -> torch.Tensor:
    """Soft 0 -> 1 as x crosses edge (width `soft`, in x's units)."""
    return ((x - edge) / soft + 0.5).clamp(0, 1)


def smooth_noise(points: torch.Tensor, rng: np.random.Generator, waves: int = 6,
                 wavelength: tuple[float, float] = (0.05, 0.15), vertical: float = 0.0) -> torch.Tensor:
    """Band-limited noise over points (3, T), about -1..1: a sum of random plane waves (seamless on the body).

    vertical > 0 tilts the wave vectors towards world y, giving horizontal ridges (folds).
    """
    direction = rng.normal(size=(waves, 3))
    direction[:, 1] += vertical * np.sign(direction[:, 1] + 1e-9) * np.abs(direction).sum(1)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    k = torch.from_numpy(direction * (2 * math.pi / rng.uniform(*wavelength, size=(waves, 1)))).float()
    phase = torch.from_numpy(rng.uniform(0, 2 * math.pi, (waves, 1))).float()
    return torch.sin(k @ points + phase).sum(0) * math.sqrt(2.0 / waves)


def grain(count: int, generator: torch.Generator) -> torch.Tensor:
    """Per-texel unit normal noise (fabric grain, strand-to-strand variation)."""
    return torch.randn(count, generator=generator)


def mix(a: torch.Tensor, b: torch.Tensor | tuple, t: torch.Tensor) -> torch.Tensor:
    """Per-texel blend from colour a to colour b by t (T,)."""
    b = torch.as_tensor(b, dtype=torch.float32).expand_as(a)
    return a + (b - a) * t[:, None]


def solid(canvas: LayerCanvas, colour: tuple) -> torch.Tensor:
    return torch.tensor(colour, dtype=torch.float32).expand(canvas.count, 3).clone()


def stripes(coordinate: torch.Tensor, period: float, duty: float = 0.5) -> torch.Tensor:
    """1 on stripes of a coordinate (metres), with soft edges."""
    phase = torch.remainder(coordinate / period, 1.0) * period
    width = duty * period
    return step(phase, 0.0) * (1 - step(phase, width))


def pattern_colour(canvas: LayerCanvas, fabric: Fabric, rng: np.random.Generator,
                   vertical: bool = False) -> torch.Tensor:
    """The garment's printed colour (T, 3): fabric.pattern over the part-wise pattern coordinates
    (stripes run round the body, or down it when `vertical`)."""
    base = solid(canvas, fabric.colour)
    across, along = canvas.around, canvas.along
    if fabric.pattern == "stripes":
        return mix(base, fabric.accent, stripes(across if vertical else along, fabric.scale, rng.uniform(0.25, 0.5)))
    if fabric.pattern == "plaid":
        s = fabric.scale
        bands = 0.5 * stripes(across, s, 0.4) + 0.5 * stripes(along, s, 0.4)
        lines = torch.maximum(stripes(across + 0.3 * s, s, 0.06), stripes(along + 0.3 * s, s, 0.06))
        dark = tuple(0.5 * c for c in fabric.accent)
        return mix(mix(base, fabric.accent, bands), dark, 0.8 * lines)
    if fabric.pattern == "dots":
        s = fabric.scale
        row = torch.floor(along / s)
        u = torch.remainder(across / s + 0.5 * torch.remainder(row, 2), 1.0) - 0.5
        v = torch.remainder(along / s, 1.0) - 0.5
        radius = rng.uniform(0.18, 0.3)
        return mix(base, fabric.accent, 1 - step(torch.sqrt(u**2 + v**2) * s, radius * s))
    if fabric.pattern == "colour-block":
        if canvas.name != "top":  # a lower tier on skirts, a stripe down the outer seam of trouser legs
            tier = 1 - step(canvas.y, float(canvas.marks.knee[1]) + 0.12)
            stripe = 1 - step((canvas.around * canvas.side - OUTER_SEAM).abs(), 0.015)
            return mix(base, fabric.accent, torch.where(canvas.part == SHEET, tier, stripe))
        arm = (canvas.part == ARM).float()
        if rng.random() < 0.5:  # contrasting yoke and sleeves
            return mix(base, fabric.accent, torch.maximum(step(canvas.torso, 0.68, 0.01) * (1 - arm), arm))
        return mix(base, fabric.accent, step(canvas.x.abs(), 0.07) * (1 - arm))  # side panels
    if fabric.pattern == "print":
        return mix(base, fabric.accent, chest_print(canvas, fabric.motif))
    return base


def chest_print(canvas: LayerCanvas, motif: str) -> torch.Tensor:
    """Coverage (T,) of a simple graphic centred on the chest, front only."""
    x, y = canvas.x, canvas.y - canvas.marks.torso_y(0.66)
    front = step(canvas.nz, 0.35, 0.1) * (canvas.arm < -0.1)
    r = torch.sqrt(x**2 + y**2)
    if motif == "circle":
        shape = 1 - step(r, 0.065)
    elif motif == "ring":
        shape = step(r, 0.045) * (1 - step(r, 0.07))
    elif motif == "diamond":
        shape = 1 - step(x.abs() + y.abs(), 0.075)
    elif motif == "bars":
        shape = (1 - step(x.abs(), 0.08)) * stripes(y + 0.06, 0.04, 0.5) * (1 - step(y.abs(), 0.06))
    else:  # chevron
        shape = (1 - step(x.abs(), 0.08)) * stripes(y - 0.6 * x.abs(), 0.05, 0.45) * (1 - step(y.abs(), 0.05))
    return shape * front

