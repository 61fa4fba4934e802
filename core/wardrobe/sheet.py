"""Contact sheets: a grid of avatars (wardrobe seeds by default), each framed the same way so heights compare.

Core does no GL: the caller passes `render(gaussians, bbox_min, bbox_max, width, height)` returning
an RGBA uint8 image (main.py binds it to the viewer's renderer and orbit camera).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from core.avatar import Avatar
from core.body.base import BodyModel
from core.gaussians import LayeredGaussians
from core.pose import Pose
from core.wardrobe import wardrobe_avatar

RenderFn = Callable[[LayeredGaussians, Sequence[float], Sequence[float], int, int], np.ndarray]
MAX_COLUMNS = 8
LABEL_HEIGHT = 18


def contact_sheet(body: BodyModel, seeds: Sequence[int], render: RenderFn, cell: tuple[int, int] = (256, 512),
                  pose: str = "relaxed", progress: Callable[[int, int], None] | None = None,
                  avatar_for: Callable[[int], Avatar] | None = None) -> np.ndarray:
    """RGBA uint8 image: one cell per seed (front view, `pose`), seed numbers printed below.

    avatar_for: seed -> avatar (default: the wardrobe's); e.g. the generator's samples."""
    avatar_for = avatar_for or (lambda seed: wardrobe_avatar(body, seed))
    width, height = cell
    columns = min(len(seeds), MAX_COLUMNS)
    rows = (len(seeds) + columns - 1) // columns
    posed = []
    for i, seed in enumerate(seeds):
        posed.append(avatar_for(seed).posed(Pose.preset(pose)))
        if progress:
            progress(i + 1, len(seeds))
    tallest = max(float(g.means[:, 1].max()) for g in posed)
    widest = max(float(g.means[:, 0].abs().max()) for g in posed)
    # One frame for all, so heights compare: the tallest avatar fills the cell.
    lo, hi = (-widest, 0.0, -0.12), (widest, tallest + 0.03, 0.12)
    sheet = np.zeros((rows * (height + LABEL_HEIGHT), columns * width, 4), np.uint8)
    for i, (seed, gaussians) in enumerate(zip(seeds, posed)):
        image = render(gaussians, lo, hi, width, height)
        labelled = Image.new("RGBA", (width, height + LABEL_HEIGHT), tuple(int(v) for v in image[0, 0]))
        labelled.paste(Image.fromarray(image), (0, 0))
        ImageDraw.Draw(labelled).text((width // 2, height + 2), f"seed {seed}", fill=(200, 200, 205, 255), anchor="mt")
        r, c = divmod(i, columns)
        top = r * (height + LABEL_HEIGHT)
        sheet[top:top + height + LABEL_HEIGHT, c * width:(c + 1) * width] = np.asarray(labelled)
    return sheet
