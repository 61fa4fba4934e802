"""Spec -> attribute maps: each layer's painter on the reference canvas, then into its UV chart.

Each layer draws its noise from its own generators, seeded by (spec seed, layer), so the maps
depend on nothing but the spec. Painters that must stack take the neighbouring layers' specs:
the bottom stays flat under the top, the top stays flat under a skirt, the hair clears the top,
the shoes stay flat under trousers.
"""
from __future__ import annotations

import numpy as np
import torch

from core.attribute_maps import Maps
from core.gaussians import LAYER_IDS
from core.wardrobe.body import paint_body
from core.wardrobe.bottom import paint_bottom
from core.wardrobe.canvas import Canvas
from core.wardrobe.hair import paint_hair
from core.wardrobe.shoes import paint_shoes
from core.wardrobe.spec import WardrobeSpec
from core.wardrobe.top import paint_top


def paint(spec: WardrobeSpec, canvas: Canvas) -> Maps:
    """The five layer maps (C, R, R) of one spec."""
    def generators(layer: str) -> tuple[np.random.Generator, torch.Generator]:
        return (np.random.default_rng([spec.seed, LAYER_IDS[layer]]),
                torch.Generator().manual_seed(spec.seed * len(LAYER_IDS) + LAYER_IDS[layer]))

    return {
        "body": paint_body(canvas, spec.body, *generators("body")),
        "top": paint_top(canvas, spec.top, spec.bottom, *generators("top")),
        "bottom": paint_bottom(canvas, spec.bottom, spec.top, *generators("bottom")),
        "hair": paint_hair(canvas, spec.hair, spec.top, *generators("hair")),
        "shoes": paint_shoes(canvas, spec.shoes, spec.bottom, *generators("shoes")),
    }
