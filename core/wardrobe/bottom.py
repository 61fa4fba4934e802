"""The bottom layer: shorts, trousers, jeans on the hips-and-legs shell; skirts on the hanging sheet.

The waistband is a torso height, hems are leg positions. The shell sits 8 mm off the skin, under
the top (12 mm): wherever the top reaches down over it, the bottom is held within 2 mm of its
shell so it cannot poke through. Denim (jeans, some shorts and skirts) gets grain, fading, stitched
seams, pockets and a rivet.
"""
from __future__ import annotations

import numpy as np
import torch

from core.wardrobe.canvas import OUTER_SEAM, SHEET, Canvas, LayerCanvas
from core.wardrobe.fabric import grain, layer_values, mix, pattern_colour, set_surface, smooth_noise, step
from core.wardrobe.spec import BottomSpec, TopSpec

STITCH = (0.78, 0.58, 0.30)
METAL = (0.72, 0.66, 0.52)
UNDER_TOP = 0.002  # metres the bottom may stand off its shell where the top covers it


def paint_bottom(canvas: Canvas, spec: BottomSpec, top: TopSpec, rng: np.random.Generator,
                 generator: torch.Generator) -> torch.Tensor:
    """The bottom layer's map (C, R, R)."""
    skirt = spec.kind in ("short-skirt", "long-skirt")
    c = canvas.layers["bottom"] if skirt else canvas.layers["bottom"].shell
    m = c.marks
    y = c.y
    sheet = (c.part == SHEET).float()
    waist_y = m.torso_y(spec.waist)
    below_waist = 1 - step(y, waist_y, 0.004)
    hem_y = m.leg_y(spec.hem) + 0.004 * smooth_noise(c.points, rng, 3, (0.2, 0.4))
    if skirt:
        hanging = sheet * step(c.above_skin, 0.006, 0.003) * step(y, hem_y)  # clear of the skin
        cover = hanging + (1 - sheet) * below_waist * step(y, m.crotch_y - 0.03, 0.01)
    else:
        hem_y = hem_y.clamp_min(float(m.ankle[1]) + 0.012)  # the shell ends at the ankle
        cover = (1 - sheet) * below_waist * step(y, hem_y)
    colour = pattern_colour(c, spec.fabric, rng, vertical=not skirt)
    trim = torch.zeros(c.count)
    lift = torch.zeros(c.count)
    waistband = 1 - step(y, waist_y - 0.035, 0.004)
    trim += 0.35 * waistband * (1 - sheet)
    lift += 0.0015 * waistband
    hem_band = (1 - step(y, hem_y + 0.025, 0.004))
    trim += 0.3 * hem_band
    if spec.denim:
        colour, trim = _denim(c, colour, trim, waist_y, generator, rng)
    elif not skirt:
        crease = (1 - sheet) * step(c.nz, 0.93, 0.03) * step(c.leg, 0.08, 0.05)
        colour = colour * (1 + 0.06 * crease[:, None])
        trim += 0.4 * _side_seam(c)
    if spec.belt is not None:
        belt = step(y, waist_y - 0.032, 0.003) * (1 - step(y, waist_y - 0.004, 0.003)) * (1 - sheet)
        buckle = belt * (1 - step(c.x.abs(), 0.022, 0.003)) * step(c.nz, 0.7, 0.1)
        colour = mix(mix(colour, spec.belt, belt), METAL, buckle)
        lift += 0.002 * belt
    # Fit and folds: legs widen to the hem, skirts flare and pleat; all of it clear of the skin.
    folds = smooth_noise(c.points, rng, 8, (0.06, 0.2), vertical=0.4)
    fold = spec.fabric.folds * (0.5 + 0.5 * folds)
    if skirt:
        drop = ((m.torso_y(0.0) - y) / 0.5).clamp(0, 1)
        pleats = 0.5 + 0.5 * torch.sin(c.around * 2 * np.pi / rng.uniform(0.04, 0.09))
        fit = spec.fit * drop + 0.006 * drop * pleats * sheet
        shade_folds = 0.5 + 0.5 * (pleats - 0.5) * sheet
    else:
        knee = 1 - step((c.leg - 0.5).abs(), 0.08, 0.05)
        ankle = step(c.leg, 0.85, 0.05)
        fit = spec.fit * c.leg.clamp(0, 1) ** 1.5 + spec.fabric.folds * (knee + 1.5 * ankle) * (0.5 + 0.5 * folds)
        shade_folds = 0.5 + 0.5 * folds
    offset = (fit + fold + lift).clamp_min(0.0)
    if top.kind != "none":
        under_top = step(y, m.torso_y(top.hem) - 0.03, 0.01) * (1 - sheet)
        offset = torch.minimum(offset, UNDER_TOP + (1 - under_top) * 1.0)
    shade = c.shade * (1 - 0.06 * (1 - shade_folds))
    colour = colour * ((1 - 0.3 * trim.clamp(0, 1)) * (1 + spec.fabric.noise * grain(c.count, generator)))[:, None]
    values = layer_values(c)
    set_surface(values, c, 0.98 * cover.clamp(0, 1), colour * shade[:, None], offset)
    return c.to_map(values)


def _side_seam(c: LayerCanvas) -> torch.Tensor:
    """The outer seam of each leg (a quarter turn round the leg from the front)."""
    on_seam = 1 - step((c.around * c.side - OUTER_SEAM).abs(), 0.0025, 0.002)
    return (c.part != SHEET).float() * on_seam * step(c.leg, 0.0, 0.05)


def _denim(c: LayerCanvas, colour: torch.Tensor, trim: torch.Tensor, waist_y: float, generator: torch.Generator,
           rng: np.random.Generator):
    """Denim: twill grain and vertical slub, faded thighs and knees, stitched seams, pockets, rivets."""
    m = c.marks
    x, y = c.x, c.y
    ax = x.abs()
    streaks = torch.stack([c.around * 6, y * 0.3, torch.zeros_like(y)])  # fast round the leg, slow down it
    slub = smooth_noise(streaks, rng, 4, (0.02, 0.05))
    colour = colour * (1 + 0.07 * grain(c.count, generator)[:, None] + 0.05 * slub[:, None])
    front = step(c.nz, 0.4, 0.2)
    thighs, knees = 1 - step((c.leg - 0.3).abs(), 0.25, 0.15), 1 - step((c.leg - 0.52).abs(), 0.05, 0.05)
    fade = front * (thighs + 0.7 * knees)
    colour = mix(colour, (colour * 1.45 + 0.05).clamp(0, 1).mean(0).tolist(), 0.35 * fade.clamp(0, 1))
    stitch = 0.7 * _side_seam(c)
    back = 1 - step(c.nz, -0.3, 0.15)
    pocket_y = waist_y - 0.06
    px, py = ax - 0.078, y - (pocket_y - 0.065)
    inside = (1 - step(px.abs(), 0.06 - 0.25 * (py.clamp(max=0)).abs(), 0.004)) * (1 - step(py.abs(), 0.065, 0.004))
    inner = (1 - step(px.abs(), 0.052 - 0.25 * (py.clamp(max=0)).abs(), 0.003)) * (1 - step(py.abs(), 0.057, 0.003))
    stitch = stitch + back * (inside - inner).clamp(0, 1)
    yoke = back * (1 - step((y - (pocket_y + 0.02 + 0.08 * (0.15 - ax).clamp(0, 0.15))).abs(), 0.003, 0.002))
    stitch = stitch + yoke
    curve = torch.sqrt((ax - 0.16) ** 2 + (y - (waist_y + 0.0)) ** 2)
    front_pocket = front * (1 - step((curve - 0.09).abs(), 0.003, 0.002)) * step(y, waist_y - 0.1, 0.01)
    fly = front * (1 - step((x - 0.02).abs(), 0.003, 0.002)) * step(y, m.crotch_y + 0.05, 0.01) \
        * (1 - step(y, waist_y - 0.035, 0.004))
    stitch = stitch + front_pocket + fly
    rivet = front * (1 - step(torch.sqrt(x**2 + (y - (waist_y - 0.018)) ** 2), 0.007, 0.002))
    colour = mix(mix(colour, STITCH, stitch.clamp(0, 1)), METAL, rivet)
    return colour, trim + 0.3 * (1 - step(y, waist_y - 0.035, 0.004))
