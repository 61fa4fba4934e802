"""Noise schedule, v-prediction training target and the DDIM sampler.

Schedule: cosine (Nichol & Dhariwal 2021), T = 1000 discrete steps,
    alpha_bar(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2) / alpha_bar(0),  s = 0.008,
betas clipped to 0.999. Chosen over LayerAvatar's linear 1e-4..2e-2 because our latent panels are
small (64 x 64): the linear schedule destroys small images within the first ~60 % of its steps, wasting
training and sampling steps on pure noise, while the cosine one spends them evenly across SNRs.

Parameterisation: v-prediction (Salimans & Ho 2022). With x_t = a x_0 + s eps (a^2 + s^2 = 1):
    v = a eps - s x_0,   x_0 = a x_t - s v,   eps = s x_t + a v.
Training weights the v-MSE by min(SNR, gamma) / (SNR + 1) (min-SNR, Hang et al. 2023), which converges
faster than the plain v loss by not letting the nearly-clean steps dominate.

Sampler: DDIM (Song et al. 2021) with `steps` trailing timesteps (the first step starts at t = T - 1,
Lin et al. 2024, so the sampler starts from pure noise) and `eta` (0 = deterministic). Every random
number comes from a `NoiseSource`: index 0 is x_T, index i >= 1 the fresh noise of step i (eta > 0).
Seeded sources draw each avatar's noise from its own CPU torch.Generator, so the same seed gives the
same latent on any device and in any batch; `slerp_source` interpolates two sources for interpolation.

Noise scale: the sampler starts from `noise_scale` * x_T (the checkpoint's `diffusion.noise_scale`, 1 by
default), the temperature of Glow and of noise-scaled diffusion sampling. A denoiser that under-disperses
(its samples spread less than the training latents: ~0.6-0.7 of it in ours, docs/generator.md) pulls
every start towards the average person; a wider start compensates. It trades precision for recall, so it
is chosen by measurement (scripts/quality.py --noise-scale) and stored with the weights it suits.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import torch

NoiseSource = Callable[[int], torch.Tensor]  # index -> (B, C, H, W) standard normal noise
ProgressFn = Callable[[int, int], None]  # (steps done, steps in all)
CancelFn = Callable[[], bool]


class SamplingCancelled(Exception):
    """Raised inside `ddim_sample` when its cancel function returns True (between steps)."""


@dataclasses.dataclass
class DiffusionConfig:
    timesteps: int = 1000
    schedule: str = "cosine"  # the only schedule implemented; recorded so a checkpoint says what it used
    prediction: str = "v"
    min_snr_gamma: float = 5.0
    sample_steps: int = 20  # DDIM steps by default
    eta: float = 0.0
    noise_scale: float = 1.0  # x_T is this times standard normal noise (see the module docstring)

    @staticmethod
    def from_dict(d: dict) -> "DiffusionConfig":
        fields = {f.name for f in dataclasses.fields(DiffusionConfig)}
        cfg = DiffusionConfig(**{k: v for k, v in d.items() if k in fields})
        if not (isinstance(cfg.noise_scale, (int, float)) and 0 < cfg.noise_scale < 10):
            raise ValueError(f"diffusion.noise_scale must be a number in (0, 10), got {cfg.noise_scale!r}")
        return cfg


def cosine_alpha_bar(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """alpha_bar[t] for t = 0 .. T-1 (float64), from the clipped cosine betas."""
    f = lambda t: math.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    betas = torch.tensor([min(1 - f(t + 1) / f(t), 0.999) for t in range(timesteps)], dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0)


class Schedule:
    """The discrete schedule on a device: alpha_bar and helpers for training and sampling."""

    def __init__(self, cfg: DiffusionConfig, device: torch.device | str = "cpu") -> None:
        if cfg.schedule != "cosine" or cfg.prediction != "v":
            raise ValueError(f"unsupported diffusion: schedule {cfg.schedule!r}, prediction {cfg.prediction!r}")
        self.cfg = cfg
        self.alpha_bar = cosine_alpha_bar(cfg.timesteps).to(device)

    def coefficients(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, s) = (sqrt(alpha_bar), sqrt(1 - alpha_bar)) at integer timesteps t, shaped (B, 1, 1, 1), float32."""
        ab = self.alpha_bar[t].float()[:, None, None, None]
        return ab.sqrt(), (1 - ab).sqrt()

    def training_target(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_t, v target, per-sample loss weight) for clean x0, timesteps t and noise eps."""
        a, s = self.coefficients(t)
        snr = (a / s).square()[:, 0, 0, 0]
        weight = snr.clamp_max(self.cfg.min_snr_gamma) / (snr + 1)
        return a * x0 + s * eps, a * eps - s * x0, weight

    def sampling_timesteps(self, steps: int) -> list[int]:
        """`steps` trailing timesteps from T - 1 downwards (Lin et al. 2024, table 2)."""
        if not 1 <= steps <= self.cfg.timesteps:
            raise ValueError(f"steps must be 1..{self.cfg.timesteps}, got {steps}")
        stride = self.cfg.timesteps / steps
        return [int(round(self.cfg.timesteps - i * stride)) - 1 for i in range(steps)]


@torch.inference_mode()
def ddim_sample(denoiser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], schedule: Schedule, noise: NoiseSource,
                steps: int, eta: float = 0.0, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                noise_scale: float = 1.0) -> torch.Tensor:
    """x_0 (B, C, H, W) from the denoiser (x_t, t) -> v by DDIM, starting from noise_scale * noise(0); see
    the module docstring."""
    x = noise(0).to(device, dtype) * noise_scale
    timesteps = schedule.sampling_timesteps(steps)
    for i, t in enumerate(timesteps):
        if cancel is not None and cancel():
            raise SamplingCancelled()
        tt = torch.full((x.shape[0],), t, device=device, dtype=torch.long)
        v = denoiser(x, tt).to(dtype)
        a, s = schedule.coefficients(tt)
        x0, eps = a * x - s * v, s * x + a * v
        if i + 1 == len(timesteps):
            x = x0
        else:
            ab_prev = schedule.alpha_bar[timesteps[i + 1]].float()
            ab = a.square()
            sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp_min(0).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma.square()).clamp_min(0).sqrt() * eps
            if eta > 0:
                x = x + sigma * noise(i + 1).to(device, dtype)
        if progress is not None:
            progress(i + 1, len(timesteps))
    return x


def seeded_source(seeds: Sequence[int], shape: tuple[int, ...]) -> NoiseSource:
    """Noise for a batch of seeds: draw i of avatar k is the i-th (C, H, W) normal draw of seed k's generator."""
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    drawn: dict[int, torch.Tensor] = {}

    def source(index: int) -> torch.Tensor:
        while index not in drawn:
            drawn[len(drawn)] = torch.stack([torch.randn(shape, generator=g) for g in generators])
        return drawn[index]

    return source


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation per batch row: keeps the norm a Gaussian sample has (Shoemake 1985).

    A linear blend of two independent noises at t = 0.5 has ~0.71 of their norm, noise the denoiser never
    saw, and decodes to a faded average. Exact at t = 0 and t = 1.
    """
    flat_a, flat_b = a.flatten(1).double(), b.flatten(1).double()
    cos = (flat_a * flat_b).sum(1) / (flat_a.norm(dim=1) * flat_b.norm(dim=1))
    theta = torch.arccos(cos.clamp(-1, 1))[:, None]
    sin = torch.sin(theta).clamp_min(1e-12)
    out = torch.sin((1 - t) * theta) / sin * flat_a + torch.sin(t * theta) / sin * flat_b
    return out.to(a.dtype).reshape(a.shape)


def slerp_source(a: NoiseSource, b: NoiseSource, t: float) -> NoiseSource:
    """The noise of source a spherically blended towards source b by t, draw by draw."""
    return lambda index: slerp(a(index), b(index), t)
