"""The top layer: tank, t-shirt, long-sleeve, hoodie, jacket, carved from the maximal torso-and-arms shell.

Cuts are functions of reference-body landmarks: the hem is a height on the torso, sleeves end at an
arm position, necklines are curves around the base of the neck. The top sits 12 mm off the skin
(its shell) plus its fit, so it stacks over the bottom (8 mm, held flat under the top's hem) and
is held flat where a skirt tucks it in; `clearance` tells the hair how far out it reaches.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from core.wardrobe.canvas import ARM, SHEET, TORSO_RADIUS, Canvas, Landmarks, LayerCanvas
from core.wardrobe.fabric import grain, layer_values, mix, pattern_colour, set_surface, smooth_noise, step
from core.wardrobe.spec import BottomSpec, TopSpec

METAL = (0.72, 0.70, 0.66)
HOOD = 0.038  # metres a hood lying on the upper back stands off


def paint_top(canvas: Canvas, spec: TopSpec, bottom: BottomSpec, rng: np.random.Generator,
              generator: torch.Generator) -> torch.Tensor:
    """The top layer's map (C, R, R)."""
    c = canvas.layers["top"]
    values = layer_values(c)
    if spec.kind == "none":
        return c.to_map(values)
    m = c.marks
    x, y = c.x, c.y
    arm = (c.part == ARM).float()
    torso = 1 - arm
    hem_y = m.torso_y(spec.hem) + 0.006 * smooth_noise(c.points, rng, 3, (0.2, 0.4))
    cover = torso * step(y, hem_y) + arm * (1 - step(c.arm, spec.sleeve, 0.01))
    neck_cut, band = _neckline(c, spec)
    cover = cover * (1 - neck_cut)
    if spec.kind == "tank":
        armpit_y = float(m.shoulder[1]) - 0.075
        strap = 1 - step((x.abs() - 0.095).abs(), 0.024, 0.006)
        cover = cover * torso * torch.maximum(1 - step(y, armpit_y, 0.02), strap)

    colour = pattern_colour(c, spec.fabric, rng)
    trim = torch.zeros(c.count)  # darker seams and bands
    lift = torch.zeros(c.count)  # extra offset of details (hood, collar, pockets)
    hem_band = torso * (1 - step(y, hem_y + (0.05 if spec.kind in ("hoodie", "jacket") else 0.018)))
    cuff = arm * step(c.arm, spec.sleeve - (0.08 if spec.kind in ("hoodie", "jacket") else 0.03), 0.01)
    trim += 0.6 * (hem_band + cuff).clamp(0, 1)
    trim += 0.8 * band
    if spec.neckline == "collar" and spec.kind in ("t-shirt", "long-sleeve"):
        lift += 0.005 * band
        placket = (1 - step(x.abs(), 0.014, 0.003)) * step(y, m.collar_y - 0.09, 0.004) * step(c.nz, 0.3, 0.1)
        trim += 0.5 * placket
        for i in range(3):
            button = 1 - step(torch.sqrt(x**2 + (y - (m.collar_y - 0.02 - 0.03 * i)) ** 2), 0.005, 0.002)
            colour = mix(colour, spec.fabric.accent, button * placket)
    if spec.kind == "hoodie":
        colour, lift, trim = _hoodie(c, spec, colour, lift, trim, hem_y)
    if spec.kind == "jacket":
        colour, lift, trim = _jacket(c, spec, colour, lift, trim, hem_y)

    folds = smooth_noise(c.points, rng, 8, (0.06, 0.2), vertical=0.4)
    elbow = arm * (1 - step((c.arm - 0.5).abs(), 0.12, 0.05))
    fold = spec.fabric.folds * (0.5 + 0.5 * folds) * (1 + elbow)
    offset = _fit(spec, m, y) + fold + lift
    if bottom.kind in ("short-skirt", "long-skirt"):  # tucked in: held flat where the skirt covers it
        skirt_top = _skirt_top(canvas)
        offset = offset * step(y, skirt_top + 0.03, 0.02)
    shade = c.shade * (1 - 0.08 * (0.5 - 0.5 * folds))  # fold valleys a little darker
    colour = colour * (1 - 0.25 * trim[:, None]) * (1 + spec.fabric.noise * grain(c.count, generator)[:, None])
    set_surface(values, c, 0.98 * cover.clamp(0, 1), colour * shade[:, None], offset.clamp_min(0.0))
    return c.to_map(values)


def clearance(spec: TopSpec, marks: Landmarks, y: torch.Tensor) -> torch.Tensor:
    """The most the top stands off its shell at heights y on the back (what hair must clear), metres."""
    if spec.kind == "none":
        return torch.zeros_like(y)
    reach = _fit(spec, marks, y) + spec.fabric.folds + 0.005  # fit, folds, a collar band
    if spec.kind == "hoodie":
        reach = reach + HOOD * step(y, float(marks.neck[1]) - 0.2, 0.02)
    return reach


def _fit(spec: TopSpec, marks: Landmarks, y: torch.Tensor) -> torch.Tensor:
    """Ease off the shell by height: garments hang close at the shoulders and loose below."""
    return spec.fit * (1 - 0.6 * step(y, float(marks.shoulder[1]) - 0.1, 0.1))


def _neckline(c: LayerCanvas, spec: TopSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(cut, band): coverage removed around the neck, and the 2 cm band of fabric below the edge."""
    m = c.marks
    x, y = c.x, c.y
    front = step(c.z, float(m.neck[2]), 0.02)
    side_y = float(m.neck[1]) - 0.004
    kind = spec.neckline
    if spec.kind == "tank":
        kind = "scoop"
    elif spec.kind == "hoodie":
        kind = "crew"
    elif spec.kind == "jacket":
        kind = "v-neck" if spec.open_front else "turtleneck"
    if kind == "turtleneck":
        edge = torch.full_like(y, float(m.neck[1]) + 0.032)
    else:
        half = {"crew": 0.068, "v-neck": 0.072, "scoop": 0.095, "collar": 0.066}[kind]
        depth = {"crew": m.collar_y + 0.022, "v-neck": m.collar_y - 0.075, "scoop": m.collar_y - 0.035,
                 "collar": m.collar_y + 0.024}[kind]
        across = (1 - (x / half) ** 2).clamp_min(0)
        shape = (1 - x.abs() / half).clamp_min(0) if kind == "v-neck" else torch.sqrt(across)
        front_y = side_y - (side_y - depth) * shape
        back_y = side_y - (0.03 if kind == "scoop" else 0.012) * torch.sqrt(across)
        edge = front * front_y + (1 - front) * back_y
    cut = step(y, edge, 0.004)
    band = (1 - cut) * step(y, edge - 0.02, 0.004)
    if kind == "collar":  # a folded collar stands on the edge instead of a band below it
        band = (1 - step(y, edge + 0.028, 0.004)) * cut * (1 - step(x.abs(), 0.1, 0.01))
        cut = cut * (1 - band)
    return cut, band


def _hoodie(c: LayerCanvas, spec: TopSpec, colour, lift, trim, hem_y: torch.Tensor):
    """Kangaroo pocket, hood lying on the upper back, drawstrings."""
    m = c.marks
    x, y, z = c.x, c.y, c.z
    front = step(c.nz, 0.3, 0.15)
    pocket_top = hem_y + 0.2
    half = 0.085 + 0.045 * ((pocket_top - y) / 0.15).clamp(0, 1)
    pocket = front * (1 - step(x.abs(), half, 0.004)) * step(y, hem_y + 0.05, 0.004) * (1 - step(y, pocket_top, 0.004))
    outline = pocket * step(x.abs(), half - 0.008, 0.003) + pocket * (1 - step(y, hem_y + 0.06, 0.004))
    lift = lift + 0.003 * pocket
    trim = trim + 0.6 * outline
    back = 1 - step(z, float(m.neck[2]) - 0.02, 0.03)
    neck_y = float(m.neck[1])
    hood_rise = ((y - (neck_y - 0.2)) / 0.16).clamp(0, 1)
    hood = back * (1 - step(x.abs(), 0.15 - 0.03 * hood_rise, 0.02)) * step(y, neck_y - 0.2, 0.02)
    lift = lift + (HOOD - 0.008) * hood * torch.sin(hood_rise * 2.6).clamp_min(0.0) + 0.008 * hood
    trim = trim + 0.4 * hood * (1 - torch.sin(hood_rise * 2.6).clamp_min(0.0))
    strings = front * (1 - step((x.abs() - 0.035).abs(), 0.0035, 0.002)) * step(y, m.collar_y - 0.16, 0.004) \
        * (1 - step(y, m.collar_y + 0.01, 0.004))
    colour = mix(colour, spec.inner, strings)
    lift = lift + 0.003 * strings
    return colour, lift, trim


def _jacket(c: LayerCanvas, spec: TopSpec, colour, lift, trim, hem_y: torch.Tensor):
    """Open front with lapels over an inner shirt, or a zip with a stand collar; welt pockets."""
    m = c.marks
    x, y = c.x, c.y
    front = step(c.nz, 0.2, 0.15) * (c.part != ARM).float()
    if spec.open_front:
        lapel_end = m.torso_y(0.5)
        v = ((y - lapel_end) / (m.collar_y - lapel_end)).clamp(0, 1)
        opening = 0.035 + 0.045 * v
        inner = front * (1 - step(x.abs(), opening, 0.004))
        lapel = front * step(x.abs(), opening, 0.004) * (1 - step(x.abs(), opening + 0.035 + 0.02 * v, 0.004)) \
            * step(y, lapel_end - 0.01, 0.01)
        colour = mix(colour, spec.inner, inner)
        lift = lift - 0.006 * inner + 0.004 * lapel
        trim = trim + 0.5 * lapel * (1 - step(x.abs(), opening + 0.006, 0.003))
    else:
        zip_line = front * (1 - step(x.abs(), 0.0045, 0.002))
        colour = mix(colour, METAL, zip_line)
        lift = lift + 0.002 * zip_line
    welt_y = m.torso_y(-0.05) + 0.03
    for side in (1.0, -1.0):
        welt = front * (1 - step((x - side * 0.1).abs(), 0.055, 0.004)) * (1 - step((y - welt_y).abs(), 0.004, 0.002))
        trim = trim + 0.9 * welt
    back_seam = (1 - step((c.around.abs() - TORSO_RADIUS * math.pi).abs(), 0.004, 0.003)) * (c.part != ARM).float()
    trim = trim + 0.5 * back_seam
    return colour, lift, trim


def _skirt_top(canvas: Canvas) -> float:
    """Height where the skirt sheet starts hanging (the highest texel of the bottom layer's sheet)."""
    b = canvas.layers["bottom"]
    return float(b.y[b.part == SHEET].max())
