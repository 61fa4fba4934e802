"""Harmonise: fold painted colours into the latent's texture channels (E3Gen's local editing).

    result = harmonise(generator, latent, paint, "top", progress=..., cancel=...)
    composition = composition.with_latent(source, result.latent)   # then paint.clear("top") if wanted

Why: paint is an overlay on the decoded maps, so it shows exactly but lives outside the model; an
interpolation towards another seed, or a re-sample, knows nothing of it. (Interpolating from a harmonised
latent carries its offset from the seed's sample along the path: `Generator.interpolate(edits=...)`.)
Harmonising optimises the
latent so that the *decoder* produces the painted colours: masked optimisation, through the frozen
decoder, of the latent's texture channels only (the decoder's geometry trunk reads only the geometry
channels, core.generator.model, so shape, opacity and fit cannot move), with the loss

    inside the painted mask:  |decoded rgb - painted rgb|      weighted by paint coverage
    outside it:               |decoded rgb - decoded rgb before|  (the rest stays put)

over the visible texels of every layer the latent decodes (a panel's texture channels feed both its
layers: the top's panel also holds the bottom). Adam on the latent texture channels; progress(i, n)
and cancel() as Generator.sample has them. The decoder is smooth and its texture trunk is small, so a
low-frequency repaint (a new garment colour) is reached closely; fine detail is limited by the latent
resolution (one latent texel = 4x4 map texels), which is what the error figures in docs/editor.md show.
"""
from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F

from core.attribute_maps import OPACITY, RGB
from core.avatar import VISIBLE_OPACITY
from core.errors import AvatarStudioError
from core.generator.model import activate

if TYPE_CHECKING:
    from core.generator import Generator
    from editor.paint import PaintLayers

ITERATIONS = 60
LEARNING_RATE = 0.1


class HarmoniseCancelled(Exception):
    """Raised by `harmonise` when its cancel function returns True (between iterations)."""


@dataclasses.dataclass
class HarmoniseResult:
    """The new latent, and how close the decoder gets to the paint (mean |rgb| error, 0..1 scale)."""

    latent: torch.Tensor  # (C, H, W)
    error_before: float  # inside the painted mask, the unharmonised decode against the paint
    error_after: float  # inside the mask, the harmonised decode against the paint
    drift_outside: float  # outside the mask, the harmonised decode against the old decode
    iterations: int
    seconds: float


def _targets(generator: "Generator", paint: "PaintLayers", layers: list[str], decoded: dict[str, torch.Tensor]):
    """Per layer: painted colour (3, R, R), coverage weight (1, R, R) and visible texels, at the decoder's R."""
    out = {}
    r = generator.config.model.map_resolution
    for name in layers:
        if name not in paint.overlays:
            continue
        shown = paint.shown(name)[None]
        coverage = paint.overlay(name)[3][None, None]
        if shown.shape[-1] != r:
            shown = F.interpolate(shown, size=(r, r), mode="area")
            coverage = F.interpolate(coverage, size=(r, r), mode="area")
        visible = (decoded[name][OPACITY] > VISIBLE_OPACITY).float()[None]
        out[name] = (shown[0], coverage[0] * visible, visible)
    return out


def harmonise(generator: "Generator", latent: torch.Tensor, paint: "PaintLayers", layers: str | list[str],
              iterations: int = ITERATIONS, learning_rate: float = LEARNING_RATE,
              progress: Callable[[int, int], None] | None = None,
              cancel: Callable[[], bool] | None = None) -> HarmoniseResult:
    """The latent whose decode shows the paint of `layers` (see the module docstring).

    `latent`: that of the source the layers come from (`Composer.latent(composition, composition.source_of(layer))`);
    `paint` must have that composition's maps as originals (PaintLayers.bind / set_originals)."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    if latent is None:
        raise AvatarStudioError("harmonise folds paint into a generator latent: wardrobe and plain layers have none")
    if tuple(latent.shape) != generator.latent_shape:
        raise AvatarStudioError(f"latent of shape {tuple(latent.shape)}, this generator's is {generator.latent_shape}")
    start = time.perf_counter()
    decoder = generator.nets.decoder
    device = generator.device
    latent = latent.detach().to(device, torch.float32)
    with torch.no_grad():
        before = {name: m[0] for name, m in activate(decoder(latent[None])[0]).items()}
    targets = _targets(generator, paint, layers, before)
    if not targets or all(float(w.sum()) == 0 for _, w, _ in targets.values()):
        raise AvatarStudioError("nothing painted on " + ", ".join(layers) + ": paint first, then harmonise")
    g = generator.config.model.geometry_channels
    texture = latent[g:].clone().requires_grad_(True)
    optimiser = torch.optim.Adam([texture], lr=learning_rate)
    requires = [p.requires_grad for p in decoder.parameters()]
    for p in decoder.parameters():
        p.requires_grad_(False)

    def losses(maps: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inside = outside = torch.zeros((), device=device)
        drift_weight = torch.zeros((), device=device)
        for name, (shown, weight, visible) in targets.items():
            rgb = maps[name][RGB]
            inside = inside + (weight * (rgb - shown.to(device)).abs()).sum() / (3 * weight.sum().clamp_min(1e-6))
            keep = visible * (1 - weight)
            outside = outside + (keep * (rgb - before[name][RGB]).abs()).sum()
            drift_weight = drift_weight + 3 * keep.sum()
        return inside / len(targets), outside / drift_weight.clamp_min(1e-6), inside

    try:
        with torch.no_grad():
            error_before = float(losses(before)[0])
        done = 0
        for i in range(iterations):
            if cancel is not None and cancel():
                raise HarmoniseCancelled()
            plane = torch.cat([latent[:g], texture])[None]
            maps = {name: m[0] for name, m in activate(decoder(plane)[0]).items()}
            inside, outside, _ = losses(maps)
            optimiser.zero_grad()
            (inside + outside).backward()
            optimiser.step()
            done = i + 1
            if progress is not None:
                progress(done, iterations)
        with torch.no_grad():
            plane = torch.cat([latent[:g], texture])[None]
            maps = {name: m[0] for name, m in activate(decoder(plane)[0]).items()}
            error_after, drift, _ = losses(maps)
    finally:
        for p, r in zip(decoder.parameters(), requires):
            p.requires_grad_(r)
    new = torch.cat([latent[:g], texture.detach()]).cpu()
    return HarmoniseResult(new, error_before, float(error_after), float(drift), done, time.perf_counter() - start)


__all__ = ["ITERATIONS", "HarmoniseCancelled", "HarmoniseResult", "harmonise"]
