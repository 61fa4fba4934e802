"""The synthetic wardrobe: thousands of distinct, plausible dressed people from seeds.

    spec = sample(seed)                      # who, and what they wear (core.wardrobe.spec)
    maps = wardrobe_maps(body, seed)         # per-layer attribute maps (core.attribute_maps format)
    avatar = wardrobe_avatar(body, seed)     # the avatar, on the body shaped by the spec's phenotype

The maps are the training targets of the generation core, decoded by the same lookup
(core.attribute_maps.decode) the generator's decoder feeds.
"""
from __future__ import annotations

from core.attribute_maps import Maps, avatar_from_maps
from core.avatar import Avatar
from core.body.base import BodyModel
from core.wardrobe.canvas import canvas_for
from core.wardrobe.paint import paint
from core.wardrobe.spec import WardrobeSpec, sample


def wardrobe_shape(body: BodyModel, spec: WardrobeSpec) -> dict[str, float]:
    """The body shape of a spec: its phenotype on Anny; other bodies keep their default shape."""
    return spec.body.phenotype.anny_shape() if body.name == "anny" else body.default_shape()


def wardrobe_maps(body: BodyModel, seed: int) -> Maps:
    """The attribute maps of wardrobe avatar `seed` (same seed, same maps)."""
    return paint(sample(seed), canvas_for(body))


def wardrobe_avatar(body: BodyModel, seed: int) -> Avatar:
    """Wardrobe avatar `seed`, dressed and shaped by its spec."""
    from core.sources import wardrobe_source

    made = wardrobe_source(body, seed)
    return avatar_from_maps(body, made.maps, made.shape, seed=seed)


__all__ = ["WardrobeSpec", "sample", "paint", "canvas_for", "wardrobe_shape", "wardrobe_maps", "wardrobe_avatar"]
