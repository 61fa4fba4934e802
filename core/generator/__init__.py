"""The generation core: latent diffusion over layered UV feature planes (after LayerAvatar and E3Gen).

    gen = Generator.load()                        # the shipped checkpoint (assets/generator), or a folder
    latent = gen.sample(seed)                     # (C, H, W); a list of seeds gives a batch (B, C, H, W)
    decoded = gen.decode(latent)                  # per-layer attribute maps + body shape
    avatar = gen.avatar_from_latent(latent, body) # layered Gaussians on the body, ready to pose and render
    mid = gen.interpolate(a, b, 0.5)              # the latent halfway between seeds a and b

Interpolation blends the *noise* of the two seeds spherically and samples again (DDIM, deterministic
at eta = 0), rather than blending the two latents: every point on the path is then a sample of the model,
while a blend of latents is an average the decoder was never trained on. Measured on the shipped model
(scripts/quality.py --interp, docs/generator.md), the noise path changes more evenly (largest step / mean
step 1.20 against 1.31) and leaves fewer half-transparent garment texels halfway (14.2 % against 15.6 %).
Endpoints equal the seeds' samples exactly; eta > 0 slerps every step's noise too.

Threads: `sample` and `interpolate` take `progress(done, total)` and `cancel() -> bool`; the cancel
function is polled between denoising steps and raises `SamplingCancelled`. A Generator holds no per-call
state, so one instance can serve a worker thread while the UI thread reads its config.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import torch

from core.attribute_maps import Maps, avatar_from_maps
from core.avatar import Avatar
from core.body.base import BodyModel
from core.errors import AvatarStudioError
from core.generator.checkpoint import DEFAULT_CHECKPOINT, CheckpointConfig, load_checkpoint
from core.generator.diffusion import (CancelFn, NoiseSource, ProgressFn, SamplingCancelled, Schedule, ddim_sample,
                                      seeded_source, slerp_source)
from core.generator.model import GeneratorNets, activate


@dataclasses.dataclass
class Decoded:
    """One decoded latent: attribute maps in the reference charts, and the body shape it was trained with."""

    maps: Maps  # layer -> (9, R, R), core.attribute_maps format
    shape: dict[str, float]  # body shape parameters (Anny phenotype); empty for bodies without


class Generator:
    """A trained generator on one device (see the module docstring)."""

    def __init__(self, nets: GeneratorNets, config: CheckpointConfig, device: torch.device | str = "cpu") -> None:
        self.nets = nets.to(device, memory_format=torch.channels_last).eval()  # faster convs on CPU and GPU
        self.config = config
        self.device = torch.device(device)
        self.schedule = Schedule(config.diffusion, self.device)

    @classmethod
    def load(cls, path: str | Path | None = None, device: torch.device | str = "cpu") -> "Generator":
        """The checkpoint folder at `path` (default: the shipped one); problems raise AvatarStudioError."""
        nets, config = load_checkpoint(DEFAULT_CHECKPOINT if path is None else path, device)
        return cls(nets, config, device)

    @staticmethod
    def shipped() -> bool:
        """Whether the default checkpoint is installed."""
        return (DEFAULT_CHECKPOINT / "config.json").is_file()

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return self.config.model.plane_shape

    def _sample(self, noise: NoiseSource, steps: int | None, eta: float | None, progress: ProgressFn | None,
                cancel: CancelFn | None) -> torch.Tensor:
        steps = self.config.diffusion.sample_steps if steps is None else int(steps)
        eta = self.config.diffusion.eta if eta is None else float(eta)
        if not 1 <= steps <= self.config.diffusion.timesteps:
            raise AvatarStudioError(f"steps must be 1..{self.config.diffusion.timesteps}, got {steps}")
        x = ddim_sample(self.nets.unet, self.schedule, noise, steps, eta, progress, cancel, self.device,
                        noise_scale=self.config.diffusion.noise_scale)
        with torch.inference_mode():
            return self.nets.denormalize(x)

    def sample(self, seed: int | Sequence[int], steps: int | None = None, eta: float | None = None,
               progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> torch.Tensor:
        """The latent of `seed` (C, H, W), or of each seed of a sequence as one batch (B, C, H, W).

        Same seed, same latent: the noise comes from a CPU generator seeded with it (diffusion.seeded_source).
        """
        seeds = [seed] if isinstance(seed, int) else [int(s) for s in seed]
        latent = self._sample(seeded_source(seeds, self.latent_shape), steps, eta, progress, cancel)
        return latent[0] if isinstance(seed, int) else latent

    def interpolate(self, a: int, b: int, t: float | Sequence[float], steps: int | None = None, eta: float | None = None,
                    progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                    edits: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)) -> torch.Tensor:
        """The latent at t (0 = seed a, 1 = seed b) on the path between two seeds (C, H, W), or a batch
        (B, C, H, W) for a sequence of t: the seeds' noise slerped, then sampled again.

        edits: for an end whose latent was edited (paint harmonised into it, editor.harmonise), its offset
        from the seed's own sample (edited - sample). The offsets fade linearly along the path, so the ends
        are the edited latents exactly and an edit survives interpolation instead of vanishing at t = 0.
        """
        ts = [float(t)] if isinstance(t, (int, float)) else [float(v) for v in t]
        source_a, source_b = seeded_source([a], self.latent_shape), seeded_source([b], self.latent_shape)
        paths = [slerp_source(source_a, source_b, v) for v in ts]
        latent = self._sample(lambda i: torch.cat([p(i) for p in paths]), steps, eta, progress, cancel)
        for offset, weights in ((edits[0], [1.0 - v for v in ts]), (edits[1], ts)):
            if offset is not None:
                w = torch.tensor(weights, dtype=latent.dtype, device=latent.device)[:, None, None, None]
                latent = latent + w * offset.to(latent)
        return latent[0] if isinstance(t, (int, float)) else latent

    def decode(self, latent: torch.Tensor) -> Decoded | list[Decoded]:
        """Attribute maps and body shape of a latent (C, H, W), or a list of them for a batch (B, C, H, W)."""
        batched = latent.dim() == 4
        if tuple(latent.shape[-3:]) != self.latent_shape:
            raise AvatarStudioError(f"latent of shape {tuple(latent.shape)}, this generator's is {self.latent_shape}")
        with torch.inference_mode():
            raw, shape = self.nets.decoder(latent.to(self.device, torch.float32).reshape(-1, *self.latent_shape))
            maps = {name: m.float().cpu() for name, m in activate(raw).items()}
        names = self.config.shape_names
        out = [Decoded({name: m[i] for name, m in maps.items()},
                       {n: float(v) for n, v in zip(names, shape[i].tolist())}) for i in range(shape.shape[0])]
        return out if batched else out[0]

    def check_body(self, body: BodyModel) -> None:
        """Refuse a body of another model than the checkpoint's (its charts would not match)."""
        if body.name != self.config.body_model:
            raise AvatarStudioError(f"the generator was trained for body model {self.config.body_model!r}, not "
                                    f"{body.name!r}; use --body {self.config.body_model} or train one "
                                    f"(avatar-studio train --body {body.name})")

    def avatar_from_latent(self, latent: torch.Tensor, body: BodyModel, seed: int | None = None) -> Avatar:
        """The avatar of one latent (C, H, W) on `body`, shaped by the decoded shape."""
        from core.sources import latent_maps

        made = latent_maps(self, body, latent)
        return avatar_from_maps(body, made.maps, made.shape or None, seed=seed)


__all__ = ["Generator", "Decoded", "SamplingCancelled", "DEFAULT_CHECKPOINT"]
