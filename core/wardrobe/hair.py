"""The hair layer: bald, buzz, short, bob, long, ponytail, bun on the scalp shell and the curtain sheet.

Every texel gets a strand direction (from the crown and parting down the head, towards the tie of
a ponytail or the bun, straight down the curtain); its Gaussian is stretched along it and thinned
across it through the stretch tensor, and per-texel grain varies strand to strand, so hair reads
as strands. The hairline is a height above the eyes that varies around the head (forehead,
receding temples, sideburns, around the ears, nape). The curtain stands clear of the top
(`top.clearance`), so long hair falls over the collar and the hood.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from core.wardrobe.canvas import SHEET, Canvas
from core.wardrobe.fabric import frame_angle, grain, layer_values, mix, set_strands, set_surface, smooth_noise, step
from core.wardrobe.spec import HairSpec, TopSpec
from core.wardrobe.top import clearance

STRAND_LENGTH = {"bald": math.log(1.3), "buzz": math.log(1.3), "short": math.log(2.2), "bob": math.log(3.0),
                 "long": math.log(3.2), "ponytail": math.log(3.0), "bun": math.log(2.4)}
STRAND_WIDTH = math.log(0.6)
BUN_RADIUS = 0.05
MAX_CURTAIN_OFFSET = 0.05  # metres
CURTAIN_MARGIN = 0.01  # metres between the curtain and the top at its widest (bodies differ from the reference)
TIE = (0.12, 0.10, 0.10)


def paint_hair(canvas: Canvas, spec: HairSpec, top: TopSpec, rng: np.random.Generator,
               generator: torch.Generator) -> torch.Tensor:
    """The hair layer's map (C, R, R)."""
    uses_sheet = spec.style in ("bob", "long", "ponytail")
    c = canvas.layers["hair"] if uses_sheet else canvas.layers["hair"].shell
    m = c.marks
    x, y = c.x, c.y
    sheet = (c.part == SHEET).float()
    scalp = 1 - sheet
    eye_y = float(m.eye[1])
    angle = torch.atan2(x, c.z - float(m.head[2])).abs()  # 0 at the face, pi at the back
    hairline = _hairline(angle, eye_y, spec)
    cover = scalp * step(y + 0.003 * grain(c.count, generator), hairline, 0.005)
    curtain = sheet * step(c.above_skin, 0.006, 0.003)  # where the sheet hangs clear of the skin
    crown = torch.tensor([0.03 * spec.parting, m.head_top_y + 0.02, float(m.head[2]) - 0.03])
    flow = c.points - crown[:, None] + torch.tensor([0.0, -0.06, 0.0])[:, None]
    # Lift: volume on the crown fading to the nape; styles that cover the ears stand out over them.
    lift = spec.volume * ((y - (eye_y - 0.03)) / (m.head_top_y - eye_y + 0.03)).clamp(0, 1) ** 0.7
    # No lift over the ears: the shell folds over them, so its normals there point anywhere.
    ears = step(x.abs(), 0.06, 0.01) * (1 - step((y - (eye_y - 0.01)).abs(), 0.04, 0.01)) * scalp
    lift = lift * (1 - ears)
    thickness = torch.zeros(c.count)
    stretch = torch.full((c.count,), STRAND_LENGTH[spec.style])
    colour = torch.tensor(spec.colour).expand(c.count, 3).clone()
    hangs = sheet  # where strands fall straight down

    if spec.style == "bald":  # a fringe of hair round the back of the head, or nothing
        cover = cover * float(spec.recession > 0.025) * (1 - step(y, eye_y + 0.045, 0.01)) * step(angle, 1.2, 0.2)
        lift = lift * 0
    elif spec.style == "buzz":
        cover = cover * 0.8
        lift = lift * 0
    elif spec.style in ("bob", "long"):
        ends = float(m.nose_tip[1]) - 0.065 if spec.style == "bob" else m.torso_y(spec.length)
        ends = ends + 0.05 * (angle / 1.4).clamp(0, 1) ** 2 + 0.012 * grain(c.count, generator)
        # Hair hangs behind the head and the shoulder blades, not out over the shoulders.
        half_width = 0.1 + 0.06 * ((float(m.neck[1]) - y) / 0.12).clamp(0, 1)
        cover = cover + curtain * step(y, ends, 0.01) * (1 - step(x.abs(), half_width, 0.015))
    else:  # ponytail, bun: pulled back tight towards the tie or the bun
        back_z = float(m.head[2]) - 0.1
        lift = lift * 0.15
        if spec.style == "ponytail":
            target = torch.tensor([0.0, eye_y + 0.005, back_z])
            ends = m.torso_y(spec.length)
            width = 0.03 + 0.02 * ((y - ends) / (eye_y - ends)).clamp(0, 1)
            tail = curtain * (1 - step(x.abs(), width, 0.008)) * step(y, ends, 0.02)
            tie = tail * step(y, eye_y - 0.035, 0.003)
            cover = cover + tail
            colour = mix(colour, TIE, tie)
            lift = lift + 0.012 * tail * (1 - tie)
        else:
            target = torch.tensor([0.0, m.head_top_y - 0.035, back_z + 0.035])
            reach = torch.sqrt(((c.points - target[:, None]) ** 2).sum(0))
            bun = scalp * (1 - step(reach, BUN_RADIUS, 0.01))
            lift = lift + bun * 0.045 * torch.sqrt((1 - (reach / BUN_RADIUS) ** 2).clamp_min(0))
            thickness = 1.8 * bun  # a volume of hair, not a sheet: thick surfels
            stretch = stretch * (1 - bun) + 0.5 * bun
        flow = target[:, None] - c.points + torch.tensor([0.0, -0.02, 0.0])[:, None]
    if spec.fringe:
        forehead = scalp * step(c.nz, 0.4, 0.15) * (1 - step(y, eye_y + 0.1, 0.02))
        flow = flow + forehead * torch.tensor([0.0, -0.3, 0.05])[:, None]
        lift = lift + 0.004 * forehead
    flow = torch.where(hangs > 0, torch.tensor([0.0, -1.0, 0.1])[:, None], flow)
    normal = torch.stack([c.nx, c.ny, c.nz])
    cos, sin = frame_angle(c, flow - (flow * normal).sum(0) * normal)

    sheen = step(0.8 * c.ny + 0.6 * c.nz, 0.55, 0.25)
    streaks = smooth_noise(c.points, rng, 4, (0.02, 0.05)).clamp(-1, 1)
    strand = 1 + 0.16 * grain(c.count, generator)  # strand to strand
    colour = colour * (strand * (0.82 + 0.3 * sheen) * (0.92 + 0.075 * streaks))[:, None]
    offset = lift
    if uses_sheet:
        # The curtain stands off far enough to clear the top, also where that reaches out past it (the
        # shoulders); where it would have to float more than MAX_CURTAIN_OFFSET off, the hair is left out.
        behind, gain = _curtain_fit(canvas)
        stand_off = (behind + clearance(top, m, y) + CURTAIN_MARGIN) / gain + 0.3 * spec.volume
        cover = cover * (1 - sheet * step(stand_off, MAX_CURTAIN_OFFSET, 0.001))
        offset = offset + sheet * stand_off.clamp_max(MAX_CURTAIN_OFFSET)
    values = layer_values(c)
    set_surface(values, c, 0.97 * cover.clamp(0, 1), colour * c.shade[:, None], offset)
    set_strands(values, cos, sin, stretch, STRAND_WIDTH * (stretch > 0.4).float(), thickness)
    return c.to_map(values)


def _hairline(angle: torch.Tensor, eye_y: float, spec: HairSpec) -> torch.Tensor:
    """Height above which hair grows, by angle around the head (0 = forehead, pi = nape)."""
    ear = -0.06 if spec.style in ("bob", "long") else 0.006  # long styles cover the ears
    knots = torch.tensor([0.0, 0.35, 0.75, 1.0, 1.15, 1.3, 1.95, 2.3, math.pi])
    heights = torch.tensor([spec.hairline, spec.hairline + 0.3 * spec.recession, spec.hairline + spec.recession,
                            0.03 + 0.5 * spec.recession, -0.025, ear, ear, -0.05, -0.06]) + eye_y
    if spec.fringe:
        heights[:3] = eye_y + 0.045
    i = torch.searchsorted(knots, angle.contiguous()).clamp(1, len(knots) - 1)
    t = ((angle - knots[i - 1]) / (knots[i] - knots[i - 1])).clamp(0, 1)
    return heights[i - 1] + t * (heights[i] - heights[i - 1])


@functools.lru_cache(maxsize=2)
def _curtain_fit(canvas: Canvas) -> tuple[torch.Tensor, torch.Tensor]:
    """Per hair texel: how far (metres) the top's shell reaches out beyond it from the head's vertical
    axis, at the same height and angle (0 if nowhere), and how much of an outward offset moves it away
    from that axis. Only the curtain uses them."""
    hair, top = canvas.layers["hair"], canvas.layers["top"]
    axis_z = float(canvas.marks.head[2]) - 0.01

    def polar(c):
        angle = torch.atan2(c.x, -(c.z - axis_z))
        cell = torch.floor(c.y / 0.01).long() * 200 + torch.floor((angle + math.pi) / 0.05).long()
        return cell, torch.sqrt(c.x**2 + (c.z - axis_z) ** 2)

    hair_cell, hair_radius = polar(hair)
    top_cell, top_radius = polar(top)
    reach = torch.zeros(int(max(hair_cell.max(), top_cell.max())) + 202).scatter_reduce(0, top_cell, top_radius, "amax")
    near = torch.stack([reach[(hair_cell + dy * 200 + da).clamp_min(0)] for dy in (-1, 0, 1) for da in (-1, 0, 1)])
    behind = (near.max(0).values - hair_radius).clamp_min(0) * (hair.part == SHEET).float()
    radial = torch.stack([hair.x, torch.zeros_like(hair.x), hair.z - axis_z]) / hair_radius.clamp_min(1e-6)
    gain = (torch.stack([hair.nx, hair.ny, hair.nz]) * radial).sum(0).abs().clamp_min(0.3)
    return behind, gain
