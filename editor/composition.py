"""Layer composition: which avatar each garment layer comes from, and the avatar that makes.

    base = AvatarSource("model", 1)
    comp = Composition(base).with_layer("top", LayerChoice.of(AvatarSource("model", 7)))
    comp = comp.with_layer("hair", LayerChoice.remove())       # bald: the scalp underneath is complete
    composer = Composer(body, generator)
    maps, shape = composer.maps(comp)
    avatar = composer.avatar(comp, paint)                       # paint: editor.paint.PaintLayers or None

Why maps and not Gaussians: a layer swap takes one layer's attribute map from another source and
rebuilds; the body under garments is hidden per composition (core.avatar.covered_skin), so a removed
top shows complete skin, and a top from someone else hides exactly what it covers. The shape always
comes from the base, so a swapped top is re-fitted to the base's body (its chart is the reference one).

Why a cache per source: sampling a latent is the slow part (~1.5 s on this CPU), decoding ~0.1 s.
The Composer keeps the decoded maps of recent sources, so a swap decodes (at most) the new source and
re-assembles; swapping back costs only the assembly.

Compositions are immutable values (with_layer returns a new one), so an undo record is just the two
values (`SwapRecord`).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import threading
from typing import TYPE_CHECKING, Callable, Iterator

import torch

from core.attribute_maps import Maps, avatar_from_maps
from core.avatar import Avatar
from core.body.base import BodyModel
from core.errors import AvatarStudioError
from core.sources import SOURCE_KINDS, SourceMaps, source_maps

if TYPE_CHECKING:
    from core.generator import Generator
    from editor.paint import PaintLayers

GARMENT_LAYERS: tuple[str, ...] = ("top", "bottom", "hair", "shoes")
CACHE_SIZE = 8  # decoded sources kept (a model source's maps ~12 MB, a wardrobe one's ~30 MB)


@dataclasses.dataclass(frozen=True)
class AvatarSource:
    """One avatar a layer can come from: the generator's sample (optionally an interpolation towards
    `partner` at `t`), a wardrobe seed or the plain seeded default."""

    kind: str  # "model", "wardrobe" or "plain"
    seed: int
    partner: int | None = None  # model only: interpolation end seed
    t: float = 0.5  # interpolation position (used only with partner)
    steps: int | None = None  # model only: denoising steps (None: the checkpoint's default)

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise AvatarStudioError(f"unknown avatar source {self.kind!r} (choose {', '.join(SOURCE_KINDS)})")
        if self.partner is not None and self.kind != "model":
            raise AvatarStudioError("only model sources interpolate (a partner seed needs kind 'model')")

    @property
    def label(self) -> str:
        if self.partner is not None:
            return f"{self.kind} {self.seed}->{self.partner} @ {self.t:g}"
        return f"{self.kind} {self.seed}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "partner": self.partner, "t": self.t, "steps": self.steps}

    @staticmethod
    def from_dict(d: dict) -> "AvatarSource":
        return AvatarSource(str(d["kind"]), int(d["seed"]), None if d.get("partner") is None else int(d["partner"]),
                            float(d.get("t", 0.5)), None if d.get("steps") is None else int(d["steps"]))


@dataclasses.dataclass(frozen=True)
class LayerChoice:
    """Where one garment layer comes from: the base's own (default), another source, or removed."""

    source: AvatarSource | None = None  # None: the base's own layer (unless removed)
    removed: bool = False

    @staticmethod
    def own() -> "LayerChoice":
        return LayerChoice()

    @staticmethod
    def of(source: AvatarSource) -> "LayerChoice":
        return LayerChoice(source=source)

    @staticmethod
    def remove() -> "LayerChoice":
        return LayerChoice(removed=True)

    @property
    def label(self) -> str:
        return "removed" if self.removed else "own" if self.source is None else self.source.label

    def to_dict(self) -> dict:
        return {"removed": self.removed, "source": None if self.source is None else self.source.to_dict()}

    @staticmethod
    def from_dict(d: dict) -> "LayerChoice":
        return LayerChoice(None if d.get("source") is None else AvatarSource.from_dict(d["source"]),
                           bool(d.get("removed", False)))


@dataclasses.dataclass(frozen=True)
class Composition:
    """A base avatar, a choice per garment layer, and harmonised latents that replace sources' samples.

    Treat as immutable: `with_layer` / `with_latent` return new values (undo keeps old ones).
    """

    base: AvatarSource
    layers: dict[str, LayerChoice] = dataclasses.field(default_factory=dict)  # absent: the base's own
    latents: dict[AvatarSource, torch.Tensor] = dataclasses.field(default_factory=dict)  # harmonised overrides

    def __post_init__(self) -> None:
        for name in self.layers:
            if name not in GARMENT_LAYERS:
                raise AvatarStudioError(f"unknown layer {name!r}: choose {', '.join(GARMENT_LAYERS)}")

    def choice(self, layer: str) -> LayerChoice:
        return self.layers.get(layer, LayerChoice())

    def source_of(self, layer: str) -> AvatarSource | None:
        """The source a layer is read from (None when removed); the body always comes from the base."""
        if layer == "body":
            return self.base
        choice = self.choice(layer)
        return None if choice.removed else choice.source or self.base

    def sources(self) -> list[AvatarSource]:
        """Every source this composition reads, base first, without repeats."""
        out = [self.base]
        for name in GARMENT_LAYERS:
            source = self.source_of(name)
            if source is not None and source not in out:
                out.append(source)
        return out

    def with_layer(self, layer: str, choice: LayerChoice) -> "Composition":
        if layer not in GARMENT_LAYERS:
            raise AvatarStudioError(f"unknown layer {layer!r}: choose {', '.join(GARMENT_LAYERS)}")
        layers = {k: v for k, v in self.layers.items() if k != layer}
        if choice != LayerChoice():
            layers[layer] = choice
        return dataclasses.replace(self, layers=layers)

    def with_base(self, base: AvatarSource) -> "Composition":
        return dataclasses.replace(self, base=base)

    def with_latent(self, source: AvatarSource, latent: torch.Tensor | None) -> "Composition":
        """The composition with `source` decoded from `latent` (a harmonised one), or its own sample (None)."""
        if source.kind != "model":
            raise AvatarStudioError("only model sources have a latent to replace")
        latents = {k: v for k, v in self.latents.items() if k != source}
        if latent is not None:
            latents[source] = latent.detach().cpu()
        return dataclasses.replace(self, latents=latents)

    def to_dict(self) -> dict:
        """JSON-ready (latents are stored beside it by editor.project)."""
        return {"base": self.base.to_dict(), "layers": {k: v.to_dict() for k, v in self.layers.items()}}

    @staticmethod
    def from_dict(d: dict) -> "Composition":
        return Composition(AvatarSource.from_dict(d["base"]),
                           {k: LayerChoice.from_dict(v) for k, v in d.get("layers", {}).items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Composition):
            return NotImplemented
        return (self.base == other.base and self.layers == other.layers and self.latents.keys() == other.latents.keys()
                and all(torch.equal(v, other.latents[k]) for k, v in self.latents.items()))

    __hash__ = None  # type: ignore[assignment]  # holds dicts


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Sample and decode on one torch thread: reductions split over threads sum in another order, so the
    same seed gave latents differing in the last bits with 2 threads (then a project saved by `export`
    would not re-render pixel-identically in `render`, which runs torch on one thread beside software GL).
    On this 2-core machine one thread is also the faster (1.7 s against 2+ s per sample under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _latent_key(latent: torch.Tensor) -> str:
    return hashlib.sha1(latent.detach().cpu().float().contiguous().numpy().tobytes()).hexdigest()


class Composer:
    """Decodes sources once (kept per source, CACHE_SIZE of them) and assembles compositions into maps
    and avatars. Thread-safe for one worker plus readers (a lock guards the cache)."""

    def __init__(self, body: BodyModel, generator: "Generator | None" = None) -> None:
        self.body = body
        self.generator = generator
        self._cache: collections.OrderedDict[tuple, SourceMaps] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._known: dict[AvatarSource, torch.Tensor] = {}  # sampled latents handed in (`remember`)
        self.decodes = 0  # how many sources were made (sampled or painted) so far: swaps show what they cost

    def remember(self, source: AvatarSource, latent: torch.Tensor) -> None:
        """The sampled latent of a model source (a project's, a gallery entry's): decoded, never re-sampled."""
        self._known[source] = latent.detach().cpu()

    def _key(self, source: AvatarSource, latent: torch.Tensor | None) -> tuple:
        return (source, None if latent is None else _latent_key(latent))

    def put(self, source: AvatarSource, made: SourceMaps) -> None:
        """Hand the composer a source it already has (the studio's gallery keeps latents): no re-sampling."""
        with self._lock:
            self._cache[self._key(source, None)] = made
            self._trim()

    def _trim(self) -> None:
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def source_maps(self, source: AvatarSource, latent: torch.Tensor | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> SourceMaps:
        """Maps + shape (+ latent) of one source; `latent` (a harmonised one) replaces its sample."""
        key = self._key(source, latent)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if latent is None and source.kind == "model":
            latent = self._known.get(source)
        with one_torch_thread():
            made = source_maps(self.body, source.kind, source.seed, self.generator, source.partner, source.t,
                               source.steps, latent, progress, cancel)
        with self._lock:
            self._cache[key] = made
            self._trim()
            self.decodes += 1
        return made

    def latent(self, composition: Composition, source: AvatarSource) -> torch.Tensor | None:
        """The latent a model source is decoded from in this composition (its harmonised one if any)."""
        if source in composition.latents:
            return composition.latents[source]
        return self.source_maps(source).latent

    def _made(self, composition: Composition, source: AvatarSource, progress=None, cancel=None) -> SourceMaps:
        return self.source_maps(source, composition.latents.get(source), progress, cancel)

    def maps(self, composition: Composition, progress: Callable[[int, int], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> tuple[Maps, dict[str, float]]:
        """Composed maps (removed layers absent) and the base's shape."""
        base = self._made(composition, composition.base, progress, cancel)
        maps: Maps = {"body": base.maps["body"]}
        for name in GARMENT_LAYERS:
            source = composition.source_of(name)
            if source is None:
                continue
            made = base if source == composition.base else self._made(composition, source, progress, cancel)
            if name in made.maps:
                maps[name] = made.maps[name]
        return maps, dict(base.shape)

    def avatar(self, composition: Composition, paint: "PaintLayers | None" = None,
               shape: dict[str, float] | None = None) -> Avatar:
        """The composed avatar (shape: the base's unless given), with `paint` applied to its colours and
        bound to it (`paint.target.recolor()` then shows each new stroke)."""
        maps, base_shape = self.maps(composition)
        shape = base_shape if shape is None else {k: v for k, v in shape.items() if k in self.body.shape_names}
        avatar = avatar_from_maps(self.body, maps, shape or None, seed=composition.base.seed)
        if paint is not None:  # bound even when empty: the next stroke recolours this avatar
            paint.bind(avatar, maps).recolor()
        return avatar


@dataclasses.dataclass
class SwapRecord:
    """One layer swap (or base change, removal, harmonise) as an undoable step: the two compositions.

    `apply(composition)` is the studio's setter (it rebuilds the avatar in the background)."""

    before: Composition
    after: Composition
    apply: Callable[[Composition], None]
    label: str = "swap layer"

    def undo(self) -> None:
        self.apply(self.before)

    def redo(self) -> None:
        self.apply(self.after)


__all__ = ["GARMENT_LAYERS", "AvatarSource", "LayerChoice", "Composition", "Composer", "SwapRecord"]
