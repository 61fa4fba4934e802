"""The one container for layered Gaussians, canonical or posed.

Values are activated (DESIGN.md): scales in metres, opacities in 0..1, unit quaternions
(w, x, y, z), rgb in 0..1. Skinning is sparse: each Gaussian names its K most influential
bones of the body rig and their weights (rows sum to 1). K is 0 for Gaussians read from a
foreign PLY, which then cannot be posed.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import torch

LAYER_NAMES: tuple[str, ...] = ("body", "top", "bottom", "hair", "shoes")
LAYER_IDS: dict[str, int] = {name: i for i, name in enumerate(LAYER_NAMES)}


@dataclasses.dataclass
class LayeredGaussians:
    means: torch.Tensor  # (N, 3) float32, metres, world Y-up
    quats: torch.Tensor  # (N, 4) float32, unit, w x y z
    scales: torch.Tensor  # (N, 3) float32, metres
    opacities: torch.Tensor  # (N,) float32, 0..1
    colors: torch.Tensor  # (N, 3) float32, rgb 0..1
    layers: torch.Tensor  # (N,) int64, index into LAYER_NAMES
    skin_indices: torch.Tensor  # (N, K) int64, bones of the body rig
    skin_weights: torch.Tensor  # (N, K) float32, rows sum to 1
    uvs: torch.Tensor  # (N, 2) float32, position in the layer's UV chart

    def __len__(self) -> int:
        return int(self.means.shape[0])

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value.shape[0] != n:
                raise ValueError(f"LayeredGaussians.{field.name} has {value.shape[0]} rows, expected {n}")

    def replace(self, **changes: torch.Tensor) -> "LayeredGaussians":
        return dataclasses.replace(self, **changes)

    def select(self, index: torch.Tensor) -> "LayeredGaussians":
        """Rows by boolean mask or index tensor (e.g. one layer, or the visible ones)."""
        return LayeredGaussians(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})

    def layer(self, *names: str) -> "LayeredGaussians":
        ids = torch.tensor([LAYER_IDS[n] for n in names])
        return self.select(torch.isin(self.layers, ids))

    def to(self, device: torch.device | str) -> "LayeredGaussians":
        return LayeredGaussians(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})

    @property
    def poseable(self) -> bool:
        return self.skin_indices.shape[1] > 0

    @staticmethod
    def concat(parts: Sequence["LayeredGaussians"]) -> "LayeredGaussians":
        return LayeredGaussians(
            **{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(LayeredGaussians)}
        )

    @staticmethod
    def unskinned(
        means: torch.Tensor,
        quats: torch.Tensor,
        scales: torch.Tensor,
        opacities: torch.Tensor,
        colors: torch.Tensor,
        layers: torch.Tensor | None = None,
    ) -> "LayeredGaussians":
        """Gaussians without a rig (a foreign PLY): viewable and exportable, not poseable."""
        n = means.shape[0]
        return LayeredGaussians(
            means=means.float(),
            quats=quats.float(),
            scales=scales.float(),
            opacities=opacities.float(),
            colors=colors.float(),
            layers=torch.zeros(n, dtype=torch.int64) if layers is None else layers.long(),
            skin_indices=torch.zeros(n, 0, dtype=torch.int64),
            skin_weights=torch.zeros(n, 0),
            uvs=torch.zeros(n, 2),
        )

    def layer_counts(self) -> dict[str, int]:
        counts = torch.bincount(self.layers, minlength=len(LAYER_NAMES))
        return {name: int(counts[i]) for i, name in enumerate(LAYER_NAMES)}


def layer_mask(layers: torch.Tensor, names: Iterable[str]) -> torch.Tensor:
    ids = torch.tensor([LAYER_IDS[n] for n in names], dtype=layers.dtype)
    return torch.isin(layers, ids)
