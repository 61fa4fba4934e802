"""The seeded dressed default: plain but plausible, until the generation core is trained.

Skin-toned body with eyes, brows and lips painted at the face landmarks; a top, a bottom, hair
and shoes carved from their maximal shells by simple region masks. Seed -> styles and colours.
"""
from __future__ import annotations

import numpy as np
import torch

from core.avatar import Avatar, build_avatar
from core.body.base import BodyModel, BodyRest
from core.templates import BodyLandmarks, LayerTemplate

SKIN_TONES = [(0.96, 0.80, 0.69), (0.92, 0.72, 0.60), (0.84, 0.63, 0.49), (0.72, 0.52, 0.38),
              (0.58, 0.40, 0.28), (0.42, 0.28, 0.19), (0.31, 0.20, 0.14)]
HAIR_COLOURS = [(0.06, 0.05, 0.05), (0.20, 0.12, 0.07), (0.36, 0.22, 0.12), (0.70, 0.55, 0.32),
                (0.50, 0.20, 0.09), (0.62, 0.60, 0.58)]
TOP_COLOURS = [(0.90, 0.90, 0.88), (0.10, 0.10, 0.12), (0.15, 0.25, 0.55), (0.60, 0.12, 0.14),
               (0.20, 0.45, 0.30), (0.85, 0.70, 0.20), (0.55, 0.55, 0.58), (0.85, 0.45, 0.50)]
BOTTOM_COLOURS = [(0.15, 0.22, 0.40), (0.08, 0.08, 0.09), (0.55, 0.47, 0.33), (0.35, 0.35, 0.37),
                  (0.25, 0.30, 0.20), (0.45, 0.55, 0.72)]
SHOE_COLOURS = [(0.92, 0.92, 0.90), (0.07, 0.07, 0.07), (0.35, 0.20, 0.10), (0.70, 0.12, 0.10)]

LIGHT = torch.tensor([0.3, 0.8, 0.5]) / torch.tensor([0.3, 0.8, 0.5]).norm()


def _baked_shade(t: LayerTemplate) -> torch.Tensor:
    """Soft top-front light baked into the colour, as captured avatars carry their lighting."""
    return 0.78 + 0.22 * (t.anchor_normal @ LIGHT).clamp(0, 1)


def _flat(t: LayerTemplate, colour, rng: np.random.Generator, noise: float = 0.025) -> torch.Tensor:
    jitter = torch.from_numpy(rng.normal(0.0, noise, (t.anchor_position.shape[0], 1))).float()
    return (torch.tensor(colour)[None, :] * (1 + jitter)) * _baked_shade(t)[:, None]


def default_attributes(seed: int):
    """Per-layer anchor attributes of the seeded default avatar (see `build_avatar`)."""

    def attributes(rest: BodyRest, templates: dict[str, LayerTemplate]) -> dict[str, dict[str, torch.Tensor]]:
        rng = np.random.default_rng(seed)
        marks = BodyLandmarks.of(rest)
        skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]
        hair_colour = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]
        top_colour = TOP_COLOURS[rng.integers(len(TOP_COLOURS))]
        bottom_colour = BOTTOM_COLOURS[rng.integers(len(BOTTOM_COLOURS))]
        shoe_colour = SHOE_COLOURS[rng.integers(len(SHOE_COLOURS))]
        long_sleeves = bool(rng.random() < 0.5)
        bottom_style = ["trousers", "shorts", "skirt"][rng.choice(3, p=[0.55, 0.2, 0.25])]
        hair_style = ["short", "medium", "long"][rng.integers(3)]
        boots = bool(rng.random() < 0.25)
        out = {}

        body = templates["body"]
        out["body"] = {"colors": _face_hint(body, marks, _flat(body, skin, rng, 0.015), hair_colour),
                       "opacities": torch.full((body.anchor_position.shape[0],), 0.98)}

        top = templates["top"]
        p, n = top.anchor_position, top.anchor_normal
        sleeve_end = marks.wrist_x - 0.04 if long_sleeves else marks.shoulder_x + 0.14
        neck_y = float(marks.neck[1])
        # Round neckline: a scoop around the neck, deeper in front, shoulders untouched.
        across = (1 - (p[:, 0] / 0.1) ** 2).clamp_min(0)
        scoop = torch.where(n[:, 2] > 0.0, 0.045, 0.012) * across
        collar = (across > 0) & (p[:, 1] > neck_y - scoop)
        keep = (p[:, 0].abs() < sleeve_end) & ~collar & (p[:, 1] < neck_y + 0.01) & (p[:, 1] > marks.hip_y + 0.02)
        out["top"] = {"colors": _flat(top, top_colour, rng), "opacities": keep.float() * 0.98}

        bottom = templates["bottom"]
        p = bottom.anchor_position
        sheet = bottom.anchor_region < 0
        waist = p[:, 1] < float(marks.pelvis[1]) + 0.09
        if bottom_style == "trousers":
            keep = ~sheet & waist & (p[:, 1] > marks.ankle_y + 0.05)
        elif bottom_style == "shorts":
            keep = ~sheet & waist & (p[:, 1] > marks.knee_y + 0.08)
        else:
            hem = marks.knee_y + float(rng.uniform(-0.12, 0.1))
            keep = (sheet & (p[:, 1] > hem)) | (~sheet & waist & (p[:, 1] > marks.hip_y - 0.03))
        out["bottom"] = {"colors": _flat(bottom, bottom_colour, rng), "opacities": keep.float() * 0.98}

        hair = templates["hair"]
        p, n = hair.anchor_position, hair.anchor_normal
        eye_y = float(marks.eye_left[1])
        curtain = hair.anchor_region < 0
        forehead = (n[:, 2] > 0.3) & (p[:, 1] < eye_y + 0.065)
        sideburn = (p[:, 1] < eye_y + 0.01) & (n[:, 2] > -0.2)
        scalp = ~curtain & ~forehead & ~sideburn
        length = {"short": None, "medium": neck_y - 0.03, "long": -1.0}[hair_style]
        keep = scalp | (curtain & (p[:, 1] > length)) if length is not None else scalp
        strands = torch.ones(p.shape[0], 3)
        strands[:, 0] = 1.6  # hair Gaussians stretched along the chart's u (around the head)
        out["hair"] = {"colors": _flat(hair, hair_colour, rng, 0.06), "opacities": keep.float() * 0.97,
                       "scale_factors": strands}

        shoes = templates["shoes"]
        p = shoes.anchor_position
        top_y = 0.5 * (marks.knee_y + marks.ankle_y) if boots else marks.ankle_y + 0.035
        out["shoes"] = {"colors": _flat(shoes, shoe_colour, rng, 0.015),
                        "opacities": (p[:, 1] < top_y).float() * 0.98}
        return out

    return attributes


def _face_hint(body: LayerTemplate, marks: BodyLandmarks, colors: torch.Tensor, brow_colour) -> torch.Tensor:
    """Eyes (sclera, iris), brows and lips painted at the face landmarks."""
    p, n = body.anchor_position, body.anchor_normal
    front = n[:, 2] > 0.3
    colors = colors.clone()
    for eye in (marks.eye_left, marks.eye_right):
        d = (p - eye).norm(dim=-1)
        ex, ey = (p[:, 0] - eye[0]) / 0.0125, (p[:, 1] - eye[1]) / 0.0062
        on_eye = front & (d < 0.02) & (ex**2 + ey**2 < 1) & (p[:, 2] > float(eye[2]) + 0.008)
        colors[on_eye] = torch.tensor([0.93, 0.92, 0.90])
        iris = on_eye & ((p[:, :2] - eye[:2]).norm(dim=-1) < 0.006)
        colors[iris] = torch.tensor([0.16, 0.11, 0.07])
        dx, dy = p[:, 0] - eye[0] - 0.002 * torch.sign(eye[0]), p[:, 1] - (eye[1] + 0.016)
        brow = front & ((dx / 0.019) ** 2 + (dy / 0.0032) ** 2 < 1) & (p[:, 2] > float(eye[2]))
        colors[brow] = torch.tensor(brow_colour) * 0.9
    mouth_y = float(marks.eye_left[1]) - 0.072
    centre_z = float(marks.eye_left[2])
    dx, dy = p[:, 0] / 0.024, (p[:, 1] - mouth_y) / 0.0075
    lips = front & (dx**2 + dy**2 < 1) & (p[:, 2] > centre_z)
    colors[lips] = colors[lips] * torch.tensor([0.85, 0.55, 0.55])
    return colors


def default_avatar(body: BodyModel, seed: int = 0, shape: dict[str, float] | None = None) -> Avatar:
    """The seeded dressed default avatar on `body`."""
    return build_avatar(body, default_attributes(seed), shape=shape, seed=seed)
