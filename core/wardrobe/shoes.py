"""The shoes layer: sneakers, boots, sandals, dress shoes on the feet-to-mid-calf shell.

A shoe is cut by a collar height that varies around the ankle (low at the sides, higher at the
heel and over the tongue); the sole is a band around the bottom of the foot. Under trousers the
shoe shell (7 mm) stays flat so the trousers (8 mm) cover the shaft.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from core.wardrobe.canvas import Canvas
from core.wardrobe.fabric import grain, layer_values, mix, set_strands, set_surface, smooth_noise, step, stripes
from core.wardrobe.spec import BottomSpec, ShoeSpec

LACES = (0.92, 0.92, 0.90)


def paint_shoes(canvas: Canvas, spec: ShoeSpec, bottom: BottomSpec, rng: np.random.Generator,
                generator: torch.Generator) -> torch.Tensor:
    """The shoes layer's map (C, R, R)."""
    c = canvas.layers["shoes"]
    m = c.marks
    y = c.y
    ankle = m.ankle
    lateral = (c.x - float(ankle[0]) * c.side) * c.side  # across the foot, + towards its outer side
    local_z = c.z - float(ankle[2])
    around = torch.atan2(lateral.abs(), local_z)  # 0 at the toes, pi at the heel
    toe_z = float(c.z.max())
    ankle_y = float(ankle[1])
    if spec.kind == "boots":
        shaft_y = float(m.knee[1]) + spec.shaft * (ankle_y - float(m.knee[1]))
        collar = torch.full_like(y, shaft_y)
    else:
        front, sides, back = {"sneakers": (0.025, -0.012, 0.012), "dress-shoes": (-0.004, -0.03, -0.004),
                              "sandals": (0.0, -0.02, 0.0)}[spec.kind]
        collar = ankle_y + _around(around, front, sides, back)
    cover = 1 - step(y, collar, 0.004)
    sole_h = {"sneakers": 0.024, "boots": 0.022, "sandals": 0.016, "dress-shoes": 0.013}[spec.kind]
    sole_top = sole_h * (1 - 0.35 * (local_z / (toe_z - float(ankle[2]))).clamp(0, 1))
    sole = 1 - step(y, sole_top, 0.003)
    colour = torch.tensor(spec.colour).expand(c.count, 3).clone()
    top_of_foot = step(c.ny, 0.45, 0.2)
    instep = top_of_foot * (1 - step(lateral.abs(), 0.019, 0.004)) * step(local_z, 0.03, 0.01) \
        * (1 - step(local_z, toe_z - float(ankle[2]) - 0.075, 0.01))
    lift = torch.zeros(c.count)
    if spec.kind == "sandals":
        toe_strap = 1 - step((c.z - (toe_z - 0.075)).abs(), 0.014, 0.004)
        ankle_strap = 1 - step((y - (ankle_y - 0.012)).abs(), 0.008, 0.003)
        cover = cover * (toe_strap + ankle_strap + sole).clamp(0, 1)
    if spec.kind in ("sneakers", "dress-shoes") or (spec.kind == "boots" and spec.shaft > 0.7):
        laces = instep * stripes(local_z, 0.012, 0.5) * (1 - step(lateral.abs(), 0.013, 0.003))
        colour = mix(colour, LACES if spec.kind == "sneakers" else tuple(0.5 * v for v in spec.colour), laces)
        lift = lift + 0.002 * instep
    if spec.kind == "sneakers":
        swoosh_y = 0.045 + 0.075 * (local_z + 0.05).clamp(-0.05, 0.15)  # rising from heel to toes
        swoosh = (1 - step((y - swoosh_y).abs(), 0.007, 0.003)) * step(lateral, 0.01, 0.01) \
            * step(local_z, -0.04, 0.01) * (1 - step(local_z, 0.1, 0.01))
        colour = mix(colour, spec.accent, swoosh)
    if spec.kind == "dress-shoes":
        gloss = step(0.2 * c.nx + 0.8 * c.ny + 0.55 * c.nz, 0.8, 0.1)
        colour = colour + 0.18 * gloss[:, None]
        cap = 1 - step((c.z - (toe_z - 0.045)).abs(), 0.002, 0.002)
        colour = colour * (1 - 0.4 * (cap * top_of_foot)[:, None])
    colour = mix(colour, spec.sole, sole)
    colour = colour * (1 + 0.02 * grain(c.count, generator)[:, None])
    # A smooth toe box: bigger, thicker surfels bridge the gaps between the toes, and the top of it is
    # pushed up (only there: between the toes the shell's normals turn too fast to offset along).
    toe_box = step(local_z, toe_z - float(ankle[2]) - 0.1, 0.03)
    offset = 0.002 + 0.001 * (1 + smooth_noise(c.points, rng, 3, (0.04, 0.08))) + lift
    offset = offset * (1 - toe_box) + 0.005 * toe_box * step(c.ny, 0.7, 0.1)
    offset = offset + (0.004 if spec.kind == "sneakers" else 0.002) * sole
    if bottom.kind in ("trousers", "jeans"):  # trouser legs go over the shoe
        hem_y = m.leg_y(bottom.hem)
        offset = offset * (1 - step(y, hem_y - 0.01, 0.01))
    values = layer_values(c)
    set_surface(values, c, 0.99 * cover.clamp(0, 1), colour * c.shade[:, None], offset)
    spread = 0.45 * toe_box + 0.2 * sole
    set_strands(values, torch.ones(c.count), torch.zeros(c.count), spread, spread, 0.8 * toe_box + 0.5 * sole)
    return c.to_map(values)


def _around(angle: torch.Tensor, front: float, sides: float, back: float) -> torch.Tensor:
    """Collar height (relative to the ankle joint) by angle around the foot: toes, sides, heel."""
    t = (angle / math.pi).clamp(0, 1)
    side_weight = torch.sin(angle).clamp_min(0) ** 2
    return (front * (1 - t) + back * t) * (1 - side_weight) + sides * side_weight
