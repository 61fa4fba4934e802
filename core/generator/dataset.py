"""The training set: wardrobe avatars as uint8 attribute maps at the decoder's resolution.

The wardrobe paints on the reference body of a body model (core.wardrobe.canvas), and that is all it
needs of the model. `save_reference_body` writes that one rest body (a few MB) so the wardrobe runs where
the body model is not installed (a GPU box without Anny): `ReferenceBody` serves it through the
BodyModel interface for exactly the reference shape, and `canvas_for(ReferenceBody)` builds the same
canvas, charts and maps as on the real model.

`build_training_set` paints seeds in worker processes and writes, into one folder:
    maps.npy    (N, L, 9, R, R) uint8, core.attribute_maps.to_uint8 quantization, layers in LAYERS order
    shapes.npy  (N, S) float32, the body shape of each avatar (Anny phenotype; empty S on other bodies)
    masks.npy   (L, R, R) bool, the chart texels of each layer at R (where the losses look)
    seeds.npy   (N,) int64
    info.json   body model, identity, template version, resolution, layers, shape names
Maps are resampled to R by mask-normalised area averaging: each texel is the mean of the chart texels
under it, so island borders keep their values instead of fading into the empty outside (the gutter that
core.attribute_maps keeps for bilinear reads survives the resampling).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.attribute_maps import NUM_CHANNELS, reference_shape, reference_templates, to_uint8
from core.body.base import BodyModel, BodyRest
from core.errors import AvatarStudioError
from core.generator.model import PANEL_LAYERS
from core.pose import Pose
from core.templates import TEMPLATE_VERSION

LAYERS: tuple[str, ...] = tuple(name for panel in PANEL_LAYERS for name in panel)  # body, hair, shoes, top, bottom


class ReferenceBody(BodyModel):
    """A body model reduced to its reference rest body: enough for the wardrobe, nothing else."""

    def __init__(self, name: str, identity: str, shape: dict[str, float], rest: BodyRest) -> None:
        self.name = name
        self._identity = identity
        self._shape = dict(shape)
        self._rest = rest
        self.shape_names = list(shape)
        self.expression_names = []

    def identity(self) -> str:
        return self._identity

    def default_shape(self) -> dict[str, float]:
        return dict(self._shape)

    def rest(self, shape: dict[str, float] | None = None, expression: dict[str, float] | None = None) -> BodyRest:
        if {**self._shape, **(shape or {})} != self._shape or expression:
            raise AvatarStudioError(f"reference body of {self.name}: only the reference shape is stored")
        return self._rest

    def bone_rotations(self, pose: Pose) -> torch.Tensor:
        raise AvatarStudioError(f"reference body of {self.name}: cannot be posed (it only serves the wardrobe)")


def save_reference_body(body: BodyModel, path: str | Path) -> Path:
    """Write the body model's reference rest body (core.attribute_maps.reference_shape) to `path`."""
    rest = reference_templates(body)[0]
    torch.save({"name": body.name, "identity": body.identity(), "shape": reference_shape(body),
                "rest": dataclasses.asdict(rest)}, path)
    return Path(path)


def load_reference_body(path: str | Path) -> ReferenceBody:
    d = torch.load(path, weights_only=True)
    return ReferenceBody(d["name"], d["identity"], d["shape"], BodyRest(**d["rest"]))


def shape_names(body: BodyModel) -> list[str]:
    """The shape parameters the generator predicts: the wardrobe's phenotype on Anny, none elsewhere."""
    return list(reference_shape(body)) if body.name == "anny" else []


def resample_map(values: torch.Tensor, mask: torch.Tensor, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(C, R0, R0) map and its (R0, R0) chart mask -> mask-normalised area average at `resolution`, new mask."""
    m = mask.float()[None]
    total = F.interpolate((values * m)[None], size=(resolution, resolution), mode="area")[0]
    weight = F.interpolate(m[None], size=(resolution, resolution), mode="area")[0]
    inside = weight[0] > 0
    return torch.where(inside, total / weight.clamp_min(1e-12), torch.zeros(())), inside


@dataclasses.dataclass
class TrainingSet:
    """A loaded training set (numpy arrays, maps memory-mapped)."""

    maps: np.ndarray  # (N, L, 9, R, R) uint8
    shapes: np.ndarray  # (N, S) float32
    masks: np.ndarray  # (L, R, R) bool
    seeds: np.ndarray  # (N,)
    info: dict

    def __len__(self) -> int:
        return int(self.seeds.shape[0])


def load_training_set(folder: str | Path) -> TrainingSet:
    folder = Path(folder)
    try:
        info = json.loads((folder / "info.json").read_text())
        return TrainingSet(np.load(folder / "maps.npy", mmap_mode="r"), np.load(folder / "shapes.npy"),
                           np.load(folder / "masks.npy"), np.load(folder / "seeds.npy"), info)
    except (OSError, ValueError) as e:
        raise AvatarStudioError(f"{folder}: not a complete training set ({e})") from None


_worker: dict = {}


def _init_worker(body_path: str) -> None:
    torch.set_num_threads(1)
    _worker["body"] = load_reference_body(body_path)


def _paint_chunk(body: BodyModel, maps_path: str, start: int, seeds: Sequence[int], resolution: int) -> np.ndarray:
    """Paint seeds into rows start.. of the maps memmap; returns their shapes (n, S)."""
    from core.wardrobe import canvas_for, paint, sample, wardrobe_shape

    canvas = canvas_for(body)
    names = shape_names(body)
    out = np.load(maps_path, mmap_mode="r+")
    shapes = np.zeros((len(seeds), len(names)), np.float32)
    for i, seed in enumerate(seeds):
        spec = sample(int(seed))
        painted = paint(spec, canvas)
        small = {name: resample_map(painted[name], canvas.layers[name].geometry.mask(), resolution)[0]
                 for name in LAYERS}
        packed = to_uint8(small)
        out[start + i] = np.stack([packed[name] for name in LAYERS])
        shape = wardrobe_shape(body, spec)
        shapes[i] = [shape[n] for n in names]
    out.flush()
    return shapes


def _worker_chunk(maps_path: str, start: int, seeds: Sequence[int], resolution: int) -> np.ndarray:
    return _paint_chunk(_worker["body"], maps_path, start, seeds, resolution)


def build_training_set(body: BodyModel, seeds: Sequence[int], resolution: int, folder: str | Path, workers: int = 1,
                       progress: Callable[[int, int], None] | None = None) -> TrainingSet:
    """Paint wardrobe `seeds` on `body` into a training set folder (see the module docstring).

    workers > 1 paints in that many spawned processes, each on a ReferenceBody saved into the folder,
    so the parent's body model (and its threads) are never forked.
    """
    from core.wardrobe import canvas_for

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    canvas = canvas_for(body)
    masks = np.stack([resample_map(torch.zeros(1, *canvas.layers[n].geometry.mask().shape),
                                   canvas.layers[n].geometry.mask(), resolution)[1].numpy() for n in LAYERS])
    seeds = np.asarray(seeds, dtype=np.int64)
    maps_path = folder / "maps.npy"
    np.lib.format.open_memmap(maps_path, mode="w+", dtype=np.uint8,
                              shape=(len(seeds), len(LAYERS), NUM_CHANNELS, resolution, resolution)).flush()
    names = shape_names(body)
    shapes = np.zeros((len(seeds), len(names)), np.float32)
    chunk = 16
    starts = list(range(0, len(seeds), chunk))
    done = 0
    if workers <= 1:
        for s in starts:
            shapes[s:s + chunk] = _paint_chunk(body, str(maps_path), s, seeds[s:s + chunk].tolist(), resolution)
            done += len(seeds[s:s + chunk])
            if progress:
                progress(done, len(seeds))
    else:
        body_path = folder / "reference_body.pt"
        save_reference_body(body, body_path)
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                                    initargs=(str(body_path),)) as pool:
            futures = {pool.submit(_worker_chunk, str(maps_path), s, seeds[s:s + chunk].tolist(), resolution): s
                       for s in starts}
            for future in concurrent.futures.as_completed(futures):
                s = futures[future]
                shapes[s:s + chunk] = future.result()
                done += len(seeds[s:s + chunk])
                if progress:
                    progress(done, len(seeds))
    np.save(folder / "shapes.npy", shapes)
    np.save(folder / "masks.npy", masks)
    np.save(folder / "seeds.npy", seeds)
    info = {"body_model": body.name, "body_identity": body.identity(), "template_version": TEMPLATE_VERSION,
            "resolution": resolution, "layers": list(LAYERS), "shape_names": names, "count": int(len(seeds))}
    (folder / "info.json").write_text(json.dumps(info, indent=1))
    return load_training_set(folder)


if __name__ == "__main__":  # python -m core.generator.dataset REFERENCE_BODY OUT_DIR AVATARS RESOLUTION WORKERS
    import sys
    import time

    reference, folder, count, resolution, workers = sys.argv[1:6]
    started = time.perf_counter()
    build_training_set(load_reference_body(reference), range(int(count)), int(resolution), folder, int(workers))
    print(f"training set: {count} avatars in {time.perf_counter() - started:.0f} s on {workers} processes", flush=True)
