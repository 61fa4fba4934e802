"""Sampled latents on disk, so starting the studio (or a render) on a seed seen before skips the denoiser.

Sampling is deterministic (a seed's noise comes from a CPU generator, one torch thread), so a stored
latent is exactly the one sampling would give again: ~2 s of a ~8 s CPU start-up. Entries are keyed by
the checkpoint's weights SHA-256 and everything sampling reads (seed, interpolation partner and t,
steps, eta, noise scale); a retrained checkpoint therefore never sees another's latents. Each is a .npy of
(C, H, W) float32 (~0.6 MB), written atomically; the least recently used go beyond MAX_ENTRIES.
A cache problem (unreadable entry, read-only disk) costs a sample, never an error.

Where: $AVATAR_STUDIO_CACHE (a folder, or "off"), else $XDG_CACHE_HOME/avatar-studio, else
~/.cache/avatar-studio; latents live under latents/<first 16 hex digits of the weights SHA-256>/.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from core.atomic import atomic_write
from core.errors import AvatarStudioError

CACHE_ENV = "AVATAR_STUDIO_CACHE"
MAX_ENTRIES = 64  # per checkpoint, ~38 MB


def cache_root() -> Path | None:
    """The studio's cache folder, or None when $AVATAR_STUDIO_CACHE is "off"."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured.lower() == "off" else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "avatar-studio"


class LatentCache:
    """Latents of one checkpoint (its weights SHA-256) in `folder`."""

    def __init__(self, folder: Path, weights_sha256: str, shape: tuple[int, int, int]) -> None:
        self.folder = Path(folder) / "latents" / weights_sha256[:16]
        self.shape = tuple(shape)

    @classmethod
    def for_generator(cls, generator) -> "LatentCache | None":
        """The cache of `generator`'s checkpoint; None when caching is off or the checkpoint has no hash."""
        root = cache_root()
        sha = generator.config.weights_sha256
        return None if root is None or not sha else cls(root, sha, generator.latent_shape)

    def _path(self, seed: int, partner: int | None, t: float | None, steps: int, eta: float,
              noise_scale: float) -> Path:
        key = json.dumps([int(seed), partner, None if partner is None else float(t), int(steps), float(eta),
                          float(noise_scale)])
        return self.folder / f"{seed}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npy"

    def get(self, seed: int, partner: int | None, t: float | None, steps: int, eta: float,
            noise_scale: float) -> torch.Tensor | None:
        path = self._path(seed, partner, t, steps, eta, noise_scale)
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError):  # absent, truncated or not a .npy: sample instead (and overwrite)
            return None
        if array.dtype != np.float32 or array.shape != self.shape or not np.isfinite(array).all():
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used
        return torch.from_numpy(array)

    def put(self, seed: int, partner: int | None, t: float | None, steps: int, eta: float,
            noise_scale: float, latent: torch.Tensor) -> None:
        path = self._path(seed, partner, t, steps, eta, noise_scale)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_write(path) as f:
                np.save(f, latent.detach().to("cpu", torch.float32).numpy(), allow_pickle=False)
            self._trim()
        except (OSError, AvatarStudioError):
            pass  # a read-only or full disk: the next start samples again

    def _trim(self) -> None:
        entries = sorted(self.folder.glob("*.npy"), key=lambda p: p.stat().st_mtime)
        for old in entries[: max(0, len(entries) - MAX_ENTRIES)]:
            with contextlib.suppress(OSError):
                old.unlink()
