"""Where avatars come from: the source (the trained model or the procedural wardrobe), the gallery of
recent samples, the A <-> B interpolation picks, and the builders the background tasks run.

Why the source starts as "model": the studio should use the trained generator the moment it is
installed, with no setting to find. Until then (issue 3) the first sample finds no checkpoint and
falls back to the wardrobe, saying so in one line; choosing Model again retries the load.

Why the gallery keeps recipes, not avatars: an avatar with its templates is ~50 MB and its attribute
maps another ~30 MB, so twelve would hold a gigabyte for a strip of thumbnails. A wardrobe avatar
rebuilds from its seed in under a second, and a model sample keeps its latent (a few hundred KB), so
the slow part, denoising, never repeats: clicking an entry rebuilds its avatar in the background.

Interpolation needs latents, so it is a model feature: `Generator.interpolate` slerps the two seeds'
noise and samples again, so every point on the path is a whole person. Wardrobe avatars have no
latent to blend.

Nothing here touches Dear PyGui or OpenGL, and torch-backed modules load inside the builders (which
run in the worker), so importing this module stays cheap.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

import numpy as np

from core.errors import AvatarStudioError

if TYPE_CHECKING:
    import torch

    from core.attribute_maps import Maps
    from core.avatar import Avatar
    from core.body.base import BodyModel
    from core.generator import Generator
    from editor.composition import AvatarSource, Composer, Composition

WARDROBE, MODEL = "wardrobe", "model"
SOURCE_LABELS = {WARDROBE: "Wardrobe", MODEL: "Model"}
GALLERY_SIZE = 12
MAX_STEPS = 200  # the steps slider's range; the checkpoint's default is usually 20-50
NO_MODEL_NOTE = "No trained model installed yet (assets/generator): seeds draw from the wardrobe."


@dataclasses.dataclass
class GalleryEntry:
    """One recent sample: enough to rebuild its avatar, and its thumbnail."""

    key: int  # unique for the session: widgets and picks refer to entries by it
    source: str  # WARDROBE or MODEL
    seed: int
    steps: int | None = None  # MODEL: the denoising steps it was sampled with
    latent: torch.Tensor | None = None  # MODEL: the sampled latent (C, H, W); the wardrobe needs only the seed
    edited: torch.Tensor | None = None  # MODEL: the latent with paint harmonised into it (interpolation ends there)
    thumbnail: np.ndarray | None = None  # (H, W, 4) float32 0..1, rendered by the window on the main thread

    @property
    def label(self) -> str:
        return f"seed {self.seed}"


@dataclasses.dataclass
class GenerateState:
    """The Generate panel's state: source, model status, steps, gallery, interpolation."""

    source: str = MODEL
    model_status: str = "untried"  # "untried", "loading" (Model chosen, loading), "ready" or "unavailable"
    model_note: str = ""  # one line: what the model is, or why it is not used
    generator: Generator | None = None  # loaded once, by the first task that needs it
    steps: int | None = None  # None: the checkpoint's default
    gallery: list[GalleryEntry] = dataclasses.field(default_factory=list)  # newest first
    shown: int | None = None  # key of the entry in the viewport (None: something else is shown)
    pick_a: int | None = None  # interpolation end points (keys of MODEL entries)
    pick_b: int | None = None
    t: float = 0.0  # interpolation position, 0 = A .. 1 = B
    version: int = 0  # bumped on any change the panel shows (gallery, picks, source)
    _next_key: int = 0

    @property
    def effective_steps(self) -> int | None:
        """The steps a model sample uses now (None before the model is loaded)."""
        if self.steps is not None:
            return self.steps
        return self.generator.config.diffusion.sample_steps if self.generator is not None else None

    def model_loaded(self, generator: Generator) -> None:
        self.generator, self.model_status = generator, "ready"
        steps = generator.config.diffusion.sample_steps
        self.model_note = f"Trained model ({generator.config.body_model} body), {steps} denoising steps by default."
        self.version += 1

    def model_failed(self, note: str) -> None:
        """The model cannot be used: fall back to the wardrobe and say why."""
        self.source, self.model_status, self.model_note = WARDROBE, "unavailable", note
        self.version += 1

    def set_source(self, source: str) -> None:
        if source not in SOURCE_LABELS:
            raise ValueError(f"unknown source {source!r} (choose {', '.join(SOURCE_LABELS)})")
        self.source = source
        self.version += 1

    def set_steps(self, steps: int) -> None:
        self.steps = max(1, min(MAX_STEPS, int(steps)))

    def entry(self, key: int) -> GalleryEntry:
        for entry in self.gallery:
            if entry.key == key:
                return entry
        raise AvatarStudioError("that sample has left the gallery (it keeps the last 12)")

    def add(self, source: str, seed: int, steps: int | None = None, latent: torch.Tensor | None = None) -> GalleryEntry:
        """Put a new sample first (the same sample again moves to the front); keep GALLERY_SIZE entries."""
        same = [e for e in self.gallery if (e.source, e.seed, e.steps) == (source, seed, steps)]
        if same:
            entry = same[0]
            self.gallery.remove(entry)
        else:
            entry = GalleryEntry(self._next_key, source, int(seed), steps, latent)
            self._next_key += 1
        self.gallery.insert(0, entry)
        del self.gallery[GALLERY_SIZE:]
        keys = {e.key for e in self.gallery}
        self.pick_a = self.pick_a if self.pick_a in keys else None
        self.pick_b = self.pick_b if self.pick_b in keys else None
        if source == MODEL and entry.key != self.pick_b:  # the last two model samples are A and B
            self.pick_a, self.pick_b = self.pick_b, entry.key
        self.shown = entry.key
        self.version += 1
        return entry

    def show(self, key: int | None) -> None:
        """Mark which entry the viewport shows (None: an interpolation, a PLY)."""
        self.shown = key
        self.version += 1

    def model_entries(self) -> list[GalleryEntry]:
        return [e for e in self.gallery if e.source == MODEL]

    def pick(self, end: str, key: int) -> None:
        """Set interpolation end `end` ("a" or "b") to a model entry."""
        if self.entry(key).source != MODEL:
            raise AvatarStudioError("interpolation end points must be model samples")
        if end == "a":
            self.pick_a = key
        elif end == "b":
            self.pick_b = key
        else:
            raise ValueError(f"interpolation end {end!r}: 'a' or 'b'")
        self.version += 1

    def interpolation_blocker(self) -> str | None:
        """Why the A <-> B slider cannot be used now, in one line; None when it can."""
        if self.source != MODEL or self.generator is None:
            return "Interpolation blends the trained model's latents; wardrobe avatars have none."
        if self.pick_a is None or self.pick_b is None:
            return "Sample two seeds with the model, then pick them as A and B."
        if self.pick_a == self.pick_b:
            return "Pick two different samples as A and B."
        return None


@dataclasses.dataclass
class Built:
    """An avatar built in the worker, with what the studio keeps beside it."""

    avatar: Avatar
    shape: dict[str, float]  # the body shape it was built on: the Body tab's sliders start here
    maps: Maps  # its attribute maps (unpainted): the FBX export's textures, and what paint lies on
    latent: torch.Tensor | None = None  # MODEL: the base's latent it was decoded from
    composition: Composition | None = None  # where each layer comes from (editor.composition)
    latents: dict[AvatarSource, torch.Tensor] = dataclasses.field(default_factory=dict)  # sampled model sources'


def gallery_source(entry: GalleryEntry) -> AvatarSource:
    """The composition source of a gallery sample (the Layers tab picks layers from the gallery by it)."""
    from editor.composition import AvatarSource

    return AvatarSource(entry.source, entry.seed, steps=entry.steps if entry.source == MODEL else None)


def build_composition(composer: Composer, composition: Composition,
                      progress: Callable[[int, int], None] | None = None) -> Built:
    """The avatar of a composition: every source decoded once by the composer (kept for swaps), the layers
    assembled, the base's shape. `progress(done, total)` follows sampling; a raise in it stops the build."""
    from core.attribute_maps import avatar_from_maps

    maps, shape = composer.maps(composition, progress)
    base = composition.base
    latent = composer.latent(composition, base) if base.kind == MODEL else None
    avatar = avatar_from_maps(composer.body, maps, shape or None, seed=base.seed)
    # A project saves model sources by latent (editor.project): keep them while the composer has them.
    latents = {source: composer.source_maps(source).latent for source in composition.sources()
               if source.kind == MODEL and source not in composition.latents}
    return Built(avatar, shape, maps, latent, composition, latents)


def load_generator(body: BodyModel) -> Generator:
    """The shipped generator, checked against the body; AvatarStudioError (one line) when unusable."""
    from core.generator import Generator

    if not Generator.shipped():
        raise AvatarStudioError(NO_MODEL_NOTE)
    generator = Generator.load()
    generator.check_body(body)
    return generator
