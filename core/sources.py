"""Where an avatar's attribute maps come from: one function for every source, returning maps + shape.

    made = source_maps(body, "model", 7, generator)     # sample seed 7, decode -> SourceMaps(maps, shape, latent)
    made = source_maps(body, "wardrobe", 7)             # the procedural wardrobe's spec 7
    made = source_maps(body, "plain", 7)                # the seeded plain default, fitted into maps
    avatar = avatar_from_maps(body, made.maps, made.shape)

Why one function: composing layers (editor.composition), the studio's builders (app.generate) and the
CLI all need the *maps and the shape* of a source, not only the finished avatar (swaps take one layer's
map from another source; the FBX export writes the maps as textures). `wardrobe_avatar` and
`Generator.avatar_from_latent` build their avatars from these functions.

The plain default is painted per anchor (core.default_avatar), not as maps; its maps are fitted from
its anchors on the reference templates (`fit_map`), so it composes like the others. It is the fallback
on a body the generator was not trained for.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch

from core.attribute_maps import MAP_RESOLUTION, Maps, fit_map, gaussians_to_samples, reference_templates
from core.avatar import gaussians_from_anchors
from core.body.base import BodyModel
from core.errors import AvatarStudioError

if TYPE_CHECKING:
    from core.generator import Generator
    from core.generator.diffusion import CancelFn, ProgressFn

SOURCE_KINDS: tuple[str, ...] = ("model", "wardrobe", "plain")


@dataclasses.dataclass
class SourceMaps:
    """A source's attribute maps (reference charts), the body shape it comes with, and its latent (model)."""

    maps: Maps
    shape: dict[str, float]  # only the body's own shape parameters; empty: the body's default
    latent: torch.Tensor | None = None  # model sources: the latent (C, H, W) the maps were decoded from


def model_latent(generator: "Generator", seed: int, partner: int | None = None, t: float = 0.5,
                 steps: int | None = None, progress: "ProgressFn | None" = None,
                 cancel: "CancelFn | None" = None) -> torch.Tensor:
    """The latent of generator seed `seed`, or of the interpolation seed -> partner at t. Read from the
    latent cache (core.generator.cache) when this checkpoint sampled it before, and stored there after."""
    from core.generator.cache import LatentCache

    if partner is not None and not 0.0 <= t <= 1.0:
        raise AvatarStudioError(f"interpolation position t={t}: must be 0..1")
    used_steps = generator.config.diffusion.sample_steps if steps is None else int(steps)
    diffusion = generator.config.diffusion
    key = (int(seed), None if partner is None else int(partner), float(t), used_steps, diffusion.eta,
           diffusion.noise_scale)
    cache = LatentCache.for_generator(generator)
    cached = cache.get(*key) if cache is not None else None
    if cached is not None:
        if progress is not None:
            progress(used_steps, used_steps)
        return cached.to(generator.device)
    if partner is None:
        latent = generator.sample(int(seed), steps=steps, progress=progress, cancel=cancel)
    else:
        latent = generator.interpolate(int(seed), int(partner), float(t), steps=steps, progress=progress,
                                       cancel=cancel)
    if cache is not None:
        cache.put(*key, latent)
    return latent


def latent_maps(generator: "Generator", body: BodyModel, latent: torch.Tensor) -> SourceMaps:
    """Decoded maps and shape of one latent (C, H, W) on `body` (refused for a body of another model)."""
    generator.check_body(body)
    decoded = generator.decode(latent)
    shape = {name: value for name, value in decoded.shape.items() if name in body.shape_names}
    return SourceMaps(decoded.maps, shape, latent)


def wardrobe_source(body: BodyModel, seed: int) -> SourceMaps:
    """Maps and shape of wardrobe avatar `seed`."""
    from core.wardrobe import canvas_for, paint, sample, wardrobe_shape

    spec = sample(int(seed))
    return SourceMaps(paint(spec, canvas_for(body)), wardrobe_shape(body, spec))


def plain_source(body: BodyModel, seed: int) -> SourceMaps:
    """Maps of the plain seeded default, fitted from its anchors on the reference templates; default shape."""
    from core.default_avatar import default_attributes

    rest, templates = reference_templates(body)
    attributes = default_attributes(int(seed))(rest, templates)
    maps = {}
    for name, template in templates.items():
        if name not in attributes:
            continue
        gaussians = gaussians_from_anchors(template, **attributes[name])
        samples, present = gaussians_to_samples(template, gaussians)
        maps[name] = fit_map(template, samples, present, MAP_RESOLUTION[name])
    return SourceMaps(maps, {})


def source_maps(body: BodyModel, kind: str, seed: int, generator: "Generator | None" = None,
                partner: int | None = None, t: float = 0.5, steps: int | None = None,
                latent: torch.Tensor | None = None, progress: "ProgressFn | None" = None,
                cancel: "CancelFn | None" = None) -> SourceMaps:
    """Maps + shape of one source: kind "model" (needs `generator`; `latent` skips sampling), "wardrobe"
    or "plain". partner/t (model only): the interpolation from `seed` to `partner`."""
    if kind not in SOURCE_KINDS:
        raise AvatarStudioError(f"unknown avatar source {kind!r} (choose {', '.join(SOURCE_KINDS)})")
    if partner is not None and kind != "model":
        raise AvatarStudioError("interpolation blends generator latents: only model sources have a partner seed")
    if kind == "wardrobe":
        return wardrobe_source(body, seed)
    if kind == "plain":
        return plain_source(body, seed)
    if generator is None:
        raise AvatarStudioError("model sources need the trained generator (assets/generator), none is loaded")
    if latent is None:
        latent = model_latent(generator, seed, partner, t, steps, progress, cancel)
    return latent_maps(generator, body, latent)


__all__ = ["SOURCE_KINDS", "SourceMaps", "source_maps", "model_latent", "latent_maps", "wardrobe_source",
           "plain_source"]
