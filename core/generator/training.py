"""Single-stage training (SSDNeRF, E3Gen, LayerAvatar): per-avatar latents, decoder and denoiser together.

Every training avatar owns a latent plane (an auto-decoder: no encoder, the latent is optimised like a
weight). Each step
  1. decodes a batch of latents to attribute maps and body shape and compares them with the wardrobe's:
     opacity as BCE on logits, colour and geometry as L1 weighted towards visible texels (0.1 + 0.9 o),
     an L1 on the maps' finite differences (opacity and colour) that keeps garment edges, stripes and
     eyes as sharp as the targets (an L1/L2 on values alone is content with a blurred edge), the shape as MSE,
     and pulls those latents towards zero (L2) so they stay compact and untouched texels stay at zero;
  2. trains the denoiser on a larger batch of latents drawn from the whole table (v-prediction, min-SNR
     weights): the denoiser needs many more samples than the decoder, and a UNet pass is cheap next to
     decoding and comparing 256^2 maps, so it sees `diffusion_batch` latents per step instead of `batch`.
The diffusion loss does not reach the latents (they are detached). A pilot with SSDNeRF's prior gradient
(a tenth of the diffusion gradient into the latents) showed why: the latents are updated by Adam, which
scales every element's step to the learning rate, so in latent texels with no reconstruction signal (off
the charts, unused channels) the prior's random per-step noise became a random walk, a salt-and-pepper
latent the denoiser cannot model. Detached, those texels see only the L2 pull and settle at zero.
The latent normalisation (model.GeneratorNets) follows running statistics of the table, so the denoiser
always sees unit-scale latents while the auto-decoder settles.

Latents live outside DistributedDataParallel: under torchrun each process owns the avatars i with
i % world == rank and updates only their latents (SparseAdam: rows not in the batch keep their moments);
decoder and denoiser are one DDP module whose gradients the engine all-reduces. Latent statistics are
all-reduced each step so every process normalises alike.

Outputs in OUT: model.safetensors + config.json (EMA weights, the shipped format), losses.csv, loss.png,
and state/ (everything needed to resume: nets, EMA, optimisers, each process's latents).
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import math
import os
import sys
import time
from pathlib import Path
import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from core.attribute_maps import QUANT_RANGE
from core.errors import AvatarStudioError
from core.generator.checkpoint import CheckpointConfig, save_checkpoint
from core.generator.dataset import LAYERS, TrainingSet
from core.generator.diffusion import DiffusionConfig, Schedule
from core.generator.model import GEOMETRY_OUT, OFFSET_SCALE, GeneratorNets, ModelConfig
from core.templates import TEMPLATE_VERSION

PRESETS: dict[str, ModelConfig] = {
    "default": ModelConfig(),
    # A few-second CPU model for tests and smoke runs of the whole pipeline.
    "tiny": ModelConfig(latent_channels=4, geometry_channels=2, latent_size=16, map_resolution=64,
                        decoder_channels=(16, 8), decoder_blocks=1, position_channels=4, unet_channels=(16, 32),
                        unet_attention_levels=(1,), unet_heads=2),
}
LOSS_TERMS = ("opacity", "rgb", "geometry", "edge", "shape", "latent", "diffusion")


@dataclasses.dataclass
class TrainConfig:
    steps: int = 20000
    batch: int = 32  # avatars per step and process
    lr: float = 3e-4  # decoder and denoiser (AdamW)
    latent_lr: float = 0.02  # per-avatar latents (SparseAdam); LayerAvatar uses 0.04 on larger planes
    latent_init_std: float = 0.01
    warmup: int = 300  # steps of linear learning-rate warm-up; then cosine decay to final_lr_fraction
    final_lr_fraction: float = 0.05
    ema_decay: float = 0.999
    stats_momentum: float = 0.98  # running latent statistics (model.GeneratorNets.latent_mean/std)
    diffusion_batch: int = 256  # latents per step and process for the denoiser, drawn from the whole table
    w_opacity: float = 1.0
    w_rgb: float = 2.0
    w_geometry: float = 0.5
    w_edge: float = 1.0
    w_shape: float = 1.0
    w_latent: float = 0.01
    w_diffusion: float = 1.0
    checkpoint_every: int = 1000  # steps between checkpoints (weights, config, losses, plot)
    state_every: int = 5000  # steps between resume states (latents and optimiser moments: GBs at scale)
    log_every: int = 25
    seed: int = 0
    # The last share of the run (of steps, or of the time budget) trains the denoiser alone on the frozen
    # latent table, with exact latent statistics and its own learning-rate cycle (see `Trainer.start_prior`).
    prior_fraction: float = 0.0
    prior_batch: int = 1024  # latents per step and process in that phase
    # Noise on the decoder's input, in units of the running per-(channel, panel) latent std (0: off);
    # see `Trainer.decoder_input`.
    latent_noise: float = 0.0
    # The denoiser's per-sample v-loss weight: "min-snr" = min(SNR, gamma) / (SNR + 1) (Hang et al. 2023),
    # "min-snr+1" = min(SNR + 1, gamma) / (SNR + 1); see `v_loss_weight`.
    diffusion_weight: str = "min-snr"

    def lr_factor(self, step: int, time_fraction: float = 0.0) -> float:
        """Warm-up then cosine decay, as a factor of the base learning rates.

        time_fraction: the share of a wall-clock budget already spent. The decay follows whichever of steps
        and time runs out first, so a run cut by its time budget still ends on a low learning rate instead
        of stopping mid-schedule (a lent GPU gives minutes, not steps).
        """
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, max((step - self.warmup) / max(1, self.steps - self.warmup), time_fraction))
        return self.final_lr_fraction + (1 - self.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclasses.dataclass
class Distributed:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Distributed:
    """Single process, or one process per GPU under torchrun (WORLD_SIZE, RANK, LOCAL_RANK set)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise AvatarStudioError("--device cuda: no CUDA GPU is visible to torch")
    if world == 1:
        return Distributed(0, 1, torch.device(device))
    local = int(os.environ["LOCAL_RANK"])
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    return Distributed(dist.get_rank(), world, torch.device(f"cuda:{local}") if cuda else torch.device("cpu"))


def dequantize(q: torch.Tensor) -> torch.Tensor:
    """uint8 maps (..., 9, R, R) -> float maps (core.attribute_maps.from_uint8, batched, on any device)."""
    lo, hi = (torch.tensor(v, device=q.device, dtype=torch.float32)[:, None, None] for v in zip(*QUANT_RANGE))
    return q.float() / 255 * (hi - lo) + lo


DIFFUSION_WEIGHTS = ("min-snr", "min-snr+1")


def v_loss_weight(schedule: Schedule, t: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample weight of the denoiser's v-MSE at timesteps t.

    "min-snr": min(SNR, gamma) / (SNR + 1), the schedule's own weight (an x0-error weight of min(SNR, gamma)).
    "min-snr+1": min(SNR + 1, gamma) / (SNR + 1): the same for the nearly clean steps (SNR >= gamma), the
    plain v-loss (weight 1, an x0-error weight of SNR + 1 >= 1) where SNR + 1 <= gamma. Why: under "min-snr"
    the weight falls with the SNR, to 0.006 at t = 949 and 2e-9 at t = 999, so the steps t >= 850 carry 0.8 %
    of the loss; yet the first DDIM steps (999, 949, 899) are where a sample's layout is decided. Measured on
    run F (2026-11-21): training latents noised to t = 849 and denoised again decode nearly as cleanly as the
    originals, from t = 949 the hair's half-transparent share rises from 12 % to 44 %. Run G trained with
    "min-snr+1": far fewer half-present layers, but less varied samples (docs/generator.md).
    """
    a, s = schedule.coefficients(t)
    snr = (a / s).square()[:, 0, 0, 0]
    gamma = schedule.cfg.min_snr_gamma
    if kind == "min-snr":
        return snr.clamp_max(gamma) / (snr + 1)
    if kind == "min-snr+1":
        return (snr + 1).clamp_max(gamma) / (snr + 1)
    raise AvatarStudioError(f"unknown diffusion weighting {kind!r}; choose one of: {', '.join(DIFFUSION_WEIGHTS)}")


def map_losses(raw: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reconstruction terms of one layer: raw decoder maps (B, 9, R, R), target maps, chart mask (R, R)."""
    raw, m = raw.float(), mask.float()
    count = m.sum().clamp_min(1) * raw.shape[0]
    opacity = target[:, 0:1]
    weight = (0.1 + 0.9 * opacity) * m

    def mean(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return (x * w).sum() / (count * x.shape[1])

    pred_rgb = torch.sigmoid(raw[:, 1:4])
    geo_index = list(GEOMETRY_OUT[1:])
    geo_scale = torch.tensor([OFFSET_SCALE, 1, 1, 1, 1], device=raw.device)[:, None, None]
    pred_geo = raw[:, geo_index]
    target_geo = target[:, geo_index] / geo_scale
    visible = torch.cat([torch.sigmoid(raw[:, 0:1]), pred_rgb], 1)
    wanted = target[:, 0:4]
    mx, my = m[:, 1:] * m[:, :-1], m[1:] * m[:-1]
    edge = (mean((visible.diff(dim=3) - wanted.diff(dim=3)).abs(), mx)
            + mean((visible.diff(dim=2) - wanted.diff(dim=2)).abs(), my)) * 0.5
    return {
        "opacity": mean(F.binary_cross_entropy_with_logits(raw[:, 0:1], opacity, reduction="none"), m),
        "rgb": mean((pred_rgb - target[:, 1:4]).abs(), weight),
        "geometry": mean((pred_geo - target_geo).abs(), weight),
        "edge": edge,
    }


def _progress_line(step: int, total: int, rate: float, loss: float) -> str:
    eta = (total - step) / rate if rate > 0 else 0
    bar = int(30 * step / max(total, 1))
    return (f"\r[{'#' * bar}{'.' * (30 - bar)}] {step}/{total} {rate:5.1f} it/s "
            f"eta {int(eta // 60):02d}:{int(eta % 60):02d} loss {loss:.4f}")


def write_loss_plot(history: list[dict], path: str | Path) -> None:
    """Every loss term against the step on a log axis, as a PNG (PIL only: no plotting library needed)."""
    from PIL import Image, ImageDraw

    width, height, left, right, top, bottom = 900, 480, 60, 150, 20, 40
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    terms = [t for t in (*LOSS_TERMS, "total") if any(t in h for h in history)]
    if not history:
        image.save(path)
        return
    steps = np.array([h["step"] for h in history], dtype=float)
    values = {t: np.array([max(h.get(t, np.nan), 1e-8) for h in history]) for t in terms}
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    lo, hi = math.floor(math.log10(finite.min())), math.ceil(math.log10(finite.max()))
    hi = max(hi, lo + 1)
    x0, x1 = steps.min(), max(steps.max(), steps.min() + 1)

    def xy(s: float, v: float) -> tuple[float, float]:
        return (left + (s - x0) / (x1 - x0) * (width - left - right),
                top + (hi - math.log10(v)) / (hi - lo) * (height - top - bottom))

    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    for e in range(lo, hi + 1):
        y = xy(x0, 10.0**e)[1]
        draw.line([left, y, width - right, y], fill=(225, 225, 225))
        draw.text((5, y - 6), f"1e{e}", fill=(0, 0, 0))
    for s in np.linspace(x0, x1, 5):
        draw.text((xy(s, 10.0**hi)[0] - 15, height - bottom + 8), f"{int(s)}", fill=(0, 0, 0))
    draw.text((width // 2 - 40, height - 16), "training step", fill=(0, 0, 0))
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (0, 0, 0)]
    for i, t in enumerate(terms):
        points = [xy(s, v) for s, v in zip(steps, values[t]) if np.isfinite(v)]
        if len(points) > 1:
            draw.line(points, fill=colours[i % len(colours)], width=2 if t == "total" else 1)
        draw.line([width - right + 10, top + 10 + 16 * i, width - right + 30, top + 10 + 16 * i], fill=colours[i % len(colours)], width=2)
        draw.text((width - right + 35, top + 4 + 16 * i), t, fill=(0, 0, 0))
    image.save(path)


class Trainer:
    """One process's share of a training run (see the module docstring)."""

    def __init__(self, out: Path, data: TrainingSet, model: ModelConfig, cfg: TrainConfig, env: Distributed,
                 hardware: str = "", init: GeneratorNets | None = None, init_record: dict | None = None) -> None:
        info = data.info
        if info["resolution"] != model.map_resolution or tuple(info["layers"]) != LAYERS:
            raise AvatarStudioError(f"training set at resolution {info['resolution']} with layers {info['layers']} "
                                    f"does not fit the model ({model.map_resolution}, {list(LAYERS)})")
        if info["template_version"] != TEMPLATE_VERSION:
            raise AvatarStudioError(f"training set made with template version {info['template_version']}, this "
                                    f"build has {TEMPLATE_VERSION}: build it again")
        if len(data) < env.world:
            raise AvatarStudioError(f"{len(data)} training avatars for {env.world} processes")
        self.out, self.data, self.model_cfg, self.cfg, self.env, self.hardware = out, data, model, cfg, env, hardware
        self.init_record = init_record  # where a warm start came from, kept in every checkpoint's recipe
        device = env.device
        self.cuda = device.type == "cuda"
        torch.manual_seed(cfg.seed + env.rank)
        own = np.arange(env.rank, len(data), env.world)
        self.own = own
        self.maps = torch.from_numpy(np.ascontiguousarray(data.maps[own])).to(device)  # (n, L, 9, R, R) uint8
        self.shapes = torch.from_numpy(data.shapes[own]).to(device)
        self.masks = torch.from_numpy(data.masks).to(device)
        self.nets = GeneratorNets(model)
        if init is not None:  # warm start: decoder and denoiser of an earlier run (latents start afresh)
            self.nets.load_state_dict(init.state_dict())
        self.nets = self.nets.to(device)
        if self.cuda:
            self.nets = self.nets.to(memory_format=torch.channels_last)
        # Buffers (latent statistics) are the same on every process (all-reduced), so DDP's per-forward
        # broadcast of rank 0's copy changes nothing.
        self.ddp = DistributedDataParallel(self.nets, device_ids=[device.index] if self.cuda else None
                                           ) if env.world > 1 else self.nets
        c, h, w = model.plane_shape
        self.latents = nn.Embedding(len(own), c * h * w, sparse=True).to(device)
        nn.init.normal_(self.latents.weight, std=cfg.latent_init_std)
        self.optimizer = torch.optim.AdamW(self.nets.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
        self.latent_optimizer = torch.optim.SparseAdam(self.latents.parameters(), lr=cfg.latent_lr)
        self.ema = AveragedModel(self.nets, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
        self.schedule = Schedule(DiffusionConfig(), device)
        self.step = 0
        self.elapsed = 0.0
        self.time_fraction = 0.0  # of run()'s minutes, agreed by all processes at each log step
        self.prior_start: tuple[int, float] | None = None  # (step, time fraction) where the prior phase began
        self.history: list[dict] = []
        self.generator = torch.Generator(device=device).manual_seed(cfg.seed * 1000 + env.rank)

    # -- state ---------------------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.out / "state"

    def _latent_file(self) -> Path:
        return self.state_dir / f"latents-{self.env.rank}-of-{self.env.world}.pt"

    def save_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"weight": self.latents.weight.detach(), "optimizer": self.latent_optimizer.state_dict()},
                   self._latent_file().with_suffix(".tmp"))
        os.replace(self._latent_file().with_suffix(".tmp"), self._latent_file())
        if self.env.main:
            path = self.state_dir / "trainer.pt"
            torch.save({"nets": self.nets.state_dict(), "ema": self.ema.state_dict(),
                        "optimizer": self.optimizer.state_dict(), "step": self.step, "elapsed": self.elapsed,
                        "history": self.history, "model": dataclasses.asdict(self.model_cfg),
                        "world": self.env.world, "avatars": len(self.data), "init_record": self.init_record,
                        "generator": self.generator.get_state()}, path.with_suffix(".tmp"))
            os.replace(path.with_suffix(".tmp"), path)

    def resume(self) -> bool:
        """Load state/ if a previous run left it; False when there is none."""
        path = self.state_dir / "trainer.pt"
        if not path.is_file():
            return False
        state = torch.load(path, map_location=self.env.device, weights_only=False)
        if state["model"] != dataclasses.asdict(self.model_cfg) or state["world"] != self.env.world \
                or state["avatars"] != len(self.data):
            raise AvatarStudioError(f"{path}: a run with another model, process count or training set; "
                                    f"use a new --out folder")
        self.nets.load_state_dict(state["nets"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.elapsed, self.history = state["step"], state["elapsed"], state["history"]
        self.init_record = state["init_record"]
        self.generator.set_state(state["generator"].cpu())
        latent_state = torch.load(self._latent_file(), map_location=self.env.device, weights_only=False)
        with torch.no_grad():
            self.latents.weight.copy_(latent_state["weight"])
        self.latent_optimizer.load_state_dict(latent_state["optimizer"])
        return True

    def checkpoint(self, body_model: str, body_identity: str, shape_names: list[str]) -> None:
        """Weights + config (shipped format), losses.csv and loss.png (main process)."""
        if not self.env.main:
            return
        last = self.history[-1] if self.history else {}
        recipe = {"steps": self.step, "planned_steps": self.cfg.steps, "processes": self.env.world,
                  "batch_per_process": self.cfg.batch, "avatars": len(self.data),
                  "seeds": [int(self.data.seeds.min()), int(self.data.seeds.max())],
                  "hours": round(self.elapsed / 3600, 3), "hardware": self.hardware, "init": self.init_record,
                  "config": dataclasses.asdict(self.cfg), "final_losses": {k: round(v, 5) for k, v in last.items()
                                                                             if k != "step"}}
        config = CheckpointConfig(body_model=body_model, body_identity=body_identity, template_version=TEMPLATE_VERSION,
                                  shape_names=shape_names, model=self.model_cfg, diffusion=DiffusionConfig(),
                                  training=recipe)
        save_checkpoint(self.out, self.ema.module, config)
        with open(self.out / "losses.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["step", *LOSS_TERMS, "total"])
            writer.writeheader()
            writer.writerows(self.history)
        write_loss_plot(self.history, self.out / "loss.png")

    def export_latents(self, path: str | Path, count: int) -> None:
        """The first `count` latents of this process with their seeds (float16 safetensors): reconstructions
        of training avatars can then be inspected without the multi-GB resume state."""
        from safetensors.torch import save_file

        k = min(count, len(self.own))
        c, h, w = self.model_cfg.plane_shape
        save_file({"latents": self.latents.weight[:k].detach().reshape(k, c, h, w).half().cpu().contiguous(),
                   "seeds": torch.from_numpy(self.data.seeds[self.own[:k]].astype(np.int64))}, str(path))

    # -- training ------------------------------------------------------------------------------------
    def _update_stats(self, z: torch.Tensor) -> None:
        """Running per-(channel, panel) mean and std of the latents, the same on every process."""
        b, c, h, w = z.shape
        p = self.model_cfg.panels
        zz = z.detach().float().reshape(b, c, h, p, w // p)
        moments = torch.stack([zz.mean(dim=(0, 2, 4)), zz.square().mean(dim=(0, 2, 4))])
        if self.env.world > 1:
            dist.all_reduce(moments)
            moments /= self.env.world
        mean, std = moments[0], (moments[1] - moments[0].square()).clamp_min(1e-8).sqrt()
        m = 0.0 if self.step == 0 else self.cfg.stats_momentum
        self.nets.latent_mean.mul_(m).add_((1 - m) * mean)
        self.nets.latent_std.mul_(m).add_((1 - m) * std)

    @property
    def in_prior_phase(self) -> bool:
        return self.prior_start is not None

    def wants_prior_phase(self) -> bool:
        """Whether the run has reached its denoiser-only share (by steps or by the time budget)."""
        if self.cfg.prior_fraction <= 0 or self.in_prior_phase:
            return False
        done = max(self.step / self.cfg.steps, self.time_fraction)
        return done >= 1 - self.cfg.prior_fraction

    @torch.no_grad()
    def exact_latent_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-(channel, panel) mean and std over the whole latent table, all processes together."""
        c, h, w = self.model_cfg.plane_shape
        p = self.model_cfg.panels
        moments = torch.zeros(3, c, p, device=self.env.device, dtype=torch.float64)
        for start in range(0, len(self.own), 256):
            z = self.latents.weight[start:start + 256].reshape(-1, c, h, p, w // p).double()
            moments[0] += z.shape[0]
            moments[1] += z.sum(dim=(0, 2, 4)) / (h * w // p)
            moments[2] += z.square().sum(dim=(0, 2, 4)) / (h * w // p)
        if self.env.world > 1:
            dist.all_reduce(moments)
        mean = moments[1] / moments[0]
        std = (moments[2] / moments[0] - mean.square()).clamp_min(1e-12).sqrt()
        return mean.float(), std.float()

    @torch.no_grad()
    def start_prior(self) -> None:
        """Freeze latents and decoder; the denoiser trains alone on the latent table as it now is.

        Why: in joint training the latents keep moving, so the denoiser (and its EMA, a ~1000-step
        average) chases a moving distribution, and the running statistics lag behind latents that are
        still growing. Measured on a 2,000-step joint run (2026-11-21): samples had 0.63 of the training
        latents' spread and the stored std was 0.77 of the table's. With the table fixed, the statistics
        are exact and the denoiser sees one distribution for the rest of the run.
        """
        mean, std = self.exact_latent_stats()
        for nets in (self.nets, self.ema.module):
            nets.latent_mean.copy_(mean)
            nets.latent_std.copy_(std)
        self.prior_start = (self.step, self.time_fraction)
        self.prior_optimizer = torch.optim.AdamW(self.nets.unet.parameters(), lr=self.cfg.lr, betas=(0.9, 0.99),
                                                 weight_decay=0.0)
        if self.env.main:
            print(f"\nstep {self.step}: latents and decoder frozen, denoiser alone from here", file=sys.stderr)

    def prior_lr_factor(self) -> float:
        """A fresh cosine cycle over the prior phase (by steps or time, whichever runs out first)."""
        step0, time0 = self.prior_start
        span = max(1e-9, 1 - time0) if self.time_fraction > 0 else 1.0
        by_time = (self.time_fraction - time0) / span if self.time_fraction > 0 else 0.0
        by_steps = (self.step - step0) / max(1, self.cfg.steps - step0)
        progress = min(1.0, max(by_time, by_steps))
        warm = min(1.0, (self.step - step0 + 1) / 100)
        return warm * (self.cfg.final_lr_fraction + (1 - self.cfg.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress)))

    def _noised_latents(self, count: int, update_stats: bool
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`count` latents drawn from this process's whole table, normalised and noised at random
        timesteps: (x_t, t, v target, loss weight) for the denoiser. The latents are detached: the
        diffusion loss does not pull on them (module docstring)."""
        device = self.env.device
        c, h, w = self.model_cfg.plane_shape
        pool = torch.randint(0, len(self.own), (count,), device=device, generator=self.generator)
        with torch.no_grad():
            z = self.latents.weight[pool].reshape(count, c, h, w)
            if self.cuda:
                z = z.contiguous(memory_format=torch.channels_last)
            if update_stats:
                self._update_stats(z)
            x0 = self.nets.normalize(z)
        t = torch.randint(0, self.schedule.cfg.timesteps, (count,), device=device, generator=self.generator)
        eps = torch.randn(x0.shape, device=device, generator=self.generator)
        noisy, v_target, _ = self.schedule.training_target(x0, t, eps)
        return noisy, t, v_target, v_loss_weight(self.schedule, t, self.cfg.diffusion_weight)

    def prior_step(self) -> dict[str, torch.Tensor]:
        """One denoiser-only step on the frozen latent table (gradients all-reduced by hand: the unet is
        called outside DDP, whose hooks then stay idle)."""
        cfg = self.cfg
        noisy, t, v_target, v_weight = self._noised_latents(cfg.prior_batch, update_stats=False)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if self.cuda else contextlib.nullcontext()
        with autocast:
            v = self.nets.unet(noisy, t)
        loss = ((v.float() - v_target).square().mean(dim=(1, 2, 3)) * v_weight).mean()
        for group in self.prior_optimizer.param_groups:
            group["lr"] = cfg.lr * self.prior_lr_factor()
        self.prior_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [q for q in self.nets.unet.parameters() if q.grad is not None]
        if self.env.world > 1:
            flat = torch.cat([q.grad.reshape(-1) for q in params]) / self.env.world
            dist.all_reduce(flat)
            offset = 0
            for q in params:
                q.grad.copy_(flat[offset:offset + q.numel()].view_as(q.grad))
                offset += q.numel()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        self.prior_optimizer.step()
        self.ema.update_parameters(self.nets)
        self.step += 1
        return {"diffusion": loss.detach(), "total": loss.detach()}

    def decoder_input(self, z: torch.Tensor) -> torch.Tensor:
        """What the decoder sees of a batch of latents: z, or with cfg.latent_noise = S > 0,
        z + S * std * eps (std: the running per-(channel, panel) latent std used for normalisation, eps fresh
        Gaussian noise; the gradient reaches z unchanged).

        Why: the denoiser's samples are near misses of the training latents, and a decoder that has only
        ever seen exact table entries may turn a near miss into averaged, half-transparent garments. Noise
        scaled by the table's own spread also makes the latents carry their information at a scale the
        denoiser can model, as a VAE's posterior noise does (growing the latents does not escape it, since
        the noise grows with them). The latent L2 and the statistics use the clean z. Run F (S = 0.15): its
        decoder shrugs off noise up to 0.5 std, but recall barely moved (docs/generator.md).
        """
        if self.cfg.latent_noise <= 0:
            return z
        b, c, h, w = z.shape
        p = self.model_cfg.panels
        eps = torch.randn((b, c, h, p, w // p), device=z.device, generator=self.generator)
        std = self.nets.latent_std.detach()[None, :, None, :, None]
        noisy = z + (self.cfg.latent_noise * std * eps).reshape(b, c, h, w)
        return noisy.contiguous(memory_format=torch.channels_last) if self.cuda else noisy

    def train_step(self) -> dict[str, torch.Tensor]:
        if self.wants_prior_phase():
            self.start_prior()
        if self.in_prior_phase:
            return self.prior_step()
        cfg, device = self.cfg, self.env.device
        index = torch.randint(0, len(self.own), (cfg.batch,), device=device, generator=self.generator)
        c, h, w = self.model_cfg.plane_shape
        z = self.latents(index).reshape(cfg.batch, c, h, w)
        if self.cuda:
            z = z.contiguous(memory_format=torch.channels_last)
        noisy, t, v_target, v_weight = self._noised_latents(cfg.diffusion_batch, update_stats=True)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if self.cuda else contextlib.nullcontext()
        with autocast:
            maps, shape, v = self.ddp(self.decoder_input(z), noisy, t)
        target = dequantize(self.maps[index])
        terms = {k: torch.zeros((), device=device) for k in ("opacity", "rgb", "geometry", "edge")}
        for i, name in enumerate(LAYERS):
            for k, value in map_losses(maps[name], target[:, i], self.masks[i]).items():
                terms[k] = terms[k] + value / len(LAYERS)
        terms["shape"] = F.mse_loss(shape.float(), self.shapes[index]) if self.shapes.shape[1] else torch.zeros((), device=device)
        terms["latent"] = z.float().square().mean()
        terms["diffusion"] = ((v.float() - v_target).square().mean(dim=(1, 2, 3)) * v_weight).mean()
        weights = {k: getattr(cfg, f"w_{k}") for k in LOSS_TERMS}
        total = sum(weights[k] * terms[k] for k in LOSS_TERMS)
        factor = cfg.lr_factor(self.step, self.time_fraction)
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * factor
        for group in self.latent_optimizer.param_groups:
            group["lr"] = cfg.latent_lr * factor
        self.optimizer.zero_grad(set_to_none=True)
        self.latent_optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.nets.parameters(), 1.0)
        self.optimizer.step()
        self.latent_optimizer.step()
        self.ema.update_parameters(self.nets)
        self.step += 1
        return {**{k: v.detach() for k, v in terms.items()}, "total": total.detach()}

    def run(self, body_model: str, body_identity: str, shape_names: list[str], minutes: float | None = None,
            progress: bool = True) -> None:
        """Train to cfg.steps (or until `minutes` pass), checkpointing every cfg.checkpoint_every steps and at the end."""
        start = run_start = time.perf_counter()
        window: list[dict[str, torch.Tensor]] = []
        last_print, last_step, last_time = 0.0, self.step, start
        rate = 0.0
        # A live bar on a terminal; a line every 30 s in a log file.
        refresh, end = (0.5, "") if sys.stderr.isatty() else (30.0, "\n")
        while self.step < self.cfg.steps:
            window.append(self.train_step())
            now = time.perf_counter()
            if self.step % self.cfg.log_every == 0 or self.step == self.cfg.steps:
                window = [w for w in window if w.keys() == window[-1].keys()]  # the phase may just have changed
                means = {k: float(torch.stack([w[k] for w in window]).mean()) for k in window[0]}
                if self.env.world > 1:
                    values = torch.tensor([means[k] for k in means], device=self.env.device)
                    dist.all_reduce(values)
                    means = dict(zip(means, (values / self.env.world).tolist()))
                if not all(math.isfinite(v) for v in means.values()):
                    raise AvatarStudioError(f"training diverged at step {self.step} (losses {means})")
                record = {"step": self.step, **{k: round(v, 6) for k, v in means.items()}}
                self.history.append(record)
                window = []
                rate = (self.step - last_step) / max(now - last_time, 1e-9)
                last_step, last_time = self.step, now
            if progress and self.env.main and now - last_print > refresh:
                loss = self.history[-1]["total"] if self.history else float("nan")
                print(_progress_line(self.step, self.cfg.steps, rate, loss), end=end, file=sys.stderr, flush=True)
                last_print = now
            if minutes is not None and self.step % self.cfg.log_every == 0:
                # Every process must stop at the same step (DDP would hang) and use the same learning
                # rate, so the slowest clock decides, agreed at log steps.
                fraction = torch.tensor([(now - run_start) / (minutes * 60)], device=self.env.device)
                if self.env.world > 1:
                    dist.all_reduce(fraction, op=dist.ReduceOp.MAX)
                self.time_fraction = float(fraction)
            out_of_time = self.time_fraction >= 1.0
            last = self.step == self.cfg.steps or out_of_time
            if self.step % self.cfg.checkpoint_every == 0 or last:
                self.elapsed += now - start
                start = now
                self.checkpoint(body_model, body_identity, shape_names)
            if self.step % self.cfg.state_every == 0 or last:
                self.save_state()
            if out_of_time:
                break
        if progress and self.env.main:
            loss = self.history[-1]["total"] if self.history else float("nan")
            print(_progress_line(self.step, self.cfg.steps, rate, loss), file=sys.stderr)


def train(out: str | Path, data: TrainingSet, model: ModelConfig, cfg: TrainConfig, device: str = "cpu",
          minutes: float | None = None, progress: bool = True, init: str | Path | None = None) -> Trainer:
    """Train (or resume) into `out`; returns the trainer (its history holds the losses).

    init: a checkpoint folder whose decoder and denoiser start a new run (ignored when resuming).
    """
    out = Path(out)
    env = setup_distributed(device)
    if env.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    hardware = (f"{env.world} x {torch.cuda.get_device_name(env.device)}" if env.device.type == "cuda"
                else f"CPU ({os.cpu_count()} cores)")
    out.mkdir(parents=True, exist_ok=True)
    start, record = None, None
    if init is not None and not (out / "state" / "trainer.pt").is_file():
        from core.generator.checkpoint import load_checkpoint

        start, init_config = load_checkpoint(init)
        if init_config.model != model:
            raise AvatarStudioError(f"{init}: --init checkpoint has other model sizes than --preset")
        record = {"checkpoint": str(init), "training": init_config.training}
    trainer = Trainer(out, data, model, cfg, env, hardware, start, record)
    resumed = trainer.resume()
    if env.main and progress:
        what = f"resuming at step {trainer.step}" if resumed else "starting"
        print(f"training {len(data)} avatars, {env.world} process(es) x batch {cfg.batch} on {hardware}: {what}",
              file=sys.stderr)
    info = data.info
    trainer.run(info["body_model"], info["body_identity"], list(info["shape_names"]), minutes, progress)
    if env.main:
        trainer.export_latents(out / "latents_sample.safetensors", 16)
        if progress and env.device.type == "cuda":
            print(f"peak GPU memory {torch.cuda.max_memory_allocated(env.device) / 2**30:.1f} GiB", file=sys.stderr)
    if env.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return trainer



def train_command(out: str | Path, steps: int, batch: int, device: str = "cpu", preset: str = "default",
                  avatars: int = 4000, data: str | Path | None = None, workers: int = 1, minutes: float | None = None,
                  body: str = "anny", body_dir: str | Path | None = None, gender: str = "neutral",
                  reference_body: str | Path | None = None, init: str | Path | None = None,
                  prior_fraction: float = 0.0, latent_lr: float = TrainConfig.latent_lr,
                  latent_noise: float = TrainConfig.latent_noise,
                  diffusion_weight: str = TrainConfig.diffusion_weight) -> int:
    """`avatar-studio train`: build the training set if needed (wardrobe seeds 0..avatars-1), then train/resume."""
    from core.generator.dataset import build_training_set, load_reference_body, load_training_set

    if preset not in PRESETS:
        raise AvatarStudioError(f"unknown --preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if steps < 1 or batch < 1 or avatars < 1:
        raise AvatarStudioError("--steps, --batch and --avatars must be positive")
    if not 0 <= prior_fraction < 1:
        raise AvatarStudioError(f"--prior-fraction must be in [0, 1), got {prior_fraction}")
    if not latent_lr > 0 or not latent_noise >= 0:
        raise AvatarStudioError(f"--latent-lr must be positive and --latent-noise not negative, got {latent_lr} "
                                f"and {latent_noise}")
    if diffusion_weight not in DIFFUSION_WEIGHTS:
        raise AvatarStudioError(f"unknown --diffusion-weight {diffusion_weight!r}; choose one of: "
                                f"{', '.join(DIFFUSION_WEIGHTS)}")
    model = PRESETS[preset]
    folder = Path(data) if data is not None else Path(out) / "data"
    rank = int(os.environ.get("RANK", "0"))
    if not (folder / "info.json").is_file():
        if rank == 0:
            if reference_body is not None:
                body_model = load_reference_body(reference_body)
            else:
                from core.body import load_body

                body_model = load_body(body, body_dir, gender)
            started = time.perf_counter()
            build_training_set(body_model, range(avatars), model.map_resolution, folder, workers,
                               progress=lambda i, n: print(f"\rwardrobe avatars {i}/{n}", end="", file=sys.stderr))
            print(f"\nbuilt {folder} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        else:
            while not (folder / "info.json").is_file():
                time.sleep(2)
    training_set = load_training_set(folder)
    cfg = TrainConfig(steps=steps, batch=batch, prior_fraction=prior_fraction, latent_lr=latent_lr,
                      latent_noise=latent_noise, diffusion_weight=diffusion_weight)
    train(out, training_set, model, cfg, device, minutes, init=init)
    return 0
