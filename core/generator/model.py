"""The generator's networks: the latent plane layout, the map decoder and the denoising UNet.

Latent plane (LayerAvatar): one feature image C x S x (P*S) made of P = 3 square panels side by side,

    panel 0: body | panel 1: hair + shoes | panel 2: top + bottom

the first `geometry_channels` channels carry geometry (opacity, offset, stretch, thickness), the rest
texture (colour). A panel is a picture of its layers' UV charts (core.attribute_maps), so a texel of the
latent sits over the same chart texels of the panel's layers and a conv decoder can work locally.

Decoder: per panel (panels folded into the batch, one shared trunk, a learned positional map per panel so
the trunk knows which chart and where): a geometry trunk reading the geometry channels and a texture trunk
reading all channels (colour depends on where a garment ends), conv 3x3 -> residual blocks -> x2 upsample
-> residual block -> per-layer 3x3 heads with a x2 pixel shuffle to the map resolution (4 x latent size):
sharp 2x2 sub-texel edges without a full-resolution conv (LayerAvatar's 7x7 stem and full-resolution heads
cost more than a 2-core CPU can spend per avatar). Output: raw per-layer maps (B, 9, R, R) whose
opacity and colour are logits and geometry is normalised (`activate` applies the attribute-map activations),
and the body shape (Anny phenotype, 0..1) from the pooled body panel.

Denoiser: a time-conditioned UNet over the whole plane (panels see each other: skirts go with long hair),
working on 2 x 2 patches of it (DiT's patchify; the CPU budget of 20 steps in ~2 s), with self-attention at
the two coarsest levels, sinusoidal time embedding and a learned positional map.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.attribute_maps import NUM_CHANNELS, OFFSET, OPACITY, RGB, STRETCH, THICKNESS

PANEL_LAYERS: tuple[tuple[str, ...], ...] = (("body",), ("hair", "shoes"), ("top", "bottom"))
GEOMETRY_OUT = (OPACITY, OFFSET, *range(STRETCH.start, STRETCH.stop), THICKNESS)  # the geometry trunk's channels
TEXTURE_OUT = tuple(range(RGB.start, RGB.stop))  # the texture trunk's
OFFSET_SCALE = 0.02  # metres: the decoder predicts offset / OFFSET_SCALE (wardrobe offsets are ~1-3 cm)


@dataclasses.dataclass
class ModelConfig:
    """Sizes of the latent plane and the networks (stored in the checkpoint's config.json)."""

    latent_channels: int = 12
    geometry_channels: int = 6
    latent_size: int = 64  # each panel is latent_size x latent_size
    map_resolution: int = 256  # decoder output per layer: 4 x latent_size
    decoder_channels: tuple[int, int] = (48, 32)  # trunk width at the latent size and at 2x
    decoder_blocks: int = 2  # residual blocks at the latent size (one more follows at 2x)
    position_channels: int = 8  # learned positional map channels (decoder and UNet)
    shape_size: int = 6  # body shape parameters predicted from the body panel (Anny phenotype)
    unet_patch: int = 2  # the UNet works on patch x patch groups of latent texels (DiT's patchify)
    unet_channels: tuple[int, ...] = (48, 96, 160)  # per level; each level halves the resolution
    unet_attention_levels: tuple[int, ...] = (1, 2)  # levels with self-attention (16x48 and 8x24 at S = 64)
    unet_heads: int = 4

    def __post_init__(self) -> None:
        if self.map_resolution != 4 * self.latent_size:
            raise ValueError(f"map_resolution must be 4 x latent_size ({4 * self.latent_size}), got {self.map_resolution}")
        if self.latent_size % (self.unet_patch * 2 ** (len(self.unet_channels) - 1)):
            raise ValueError("latent_size must be divisible by unet_patch * 2^(UNet levels - 1)")

    @property
    def panels(self) -> int:
        return len(PANEL_LAYERS)

    @property
    def plane_shape(self) -> tuple[int, int, int]:
        return self.latent_channels, self.latent_size, self.panels * self.latent_size

    @staticmethod
    def from_dict(d: dict) -> "ModelConfig":
        fields = {f.name for f in dataclasses.fields(ModelConfig)}
        return ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in fields})


def split_panels(plane: torch.Tensor, panels: int) -> torch.Tensor:
    """(B, C, S, P*S) -> (B*P, C, S, S), panel-major within each avatar."""
    b, c, s, w = plane.shape
    return plane.reshape(b, c, s, panels, w // panels).permute(0, 3, 1, 2, 4).reshape(b * panels, c, s, w // panels)


def activate(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Raw decoder maps (logits, normalised geometry) -> attribute maps (core.attribute_maps format)."""
    out = {}
    for name, r in raw.items():
        m = r.clone()
        m[:, OPACITY] = torch.sigmoid(r[:, OPACITY])
        m[:, RGB] = torch.sigmoid(r[:, RGB])
        m[:, OFFSET] = r[:, OFFSET] * OFFSET_SCALE
        out[name] = m
    return out


def _groups(channels: int) -> int:
    return math.gcd(8, channels)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice with a skip; optional time embedding added between the convs."""

    def __init__(self, cin: int, cout: int, time_dim: int = 0) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(time_dim, cout) if time_dim else None
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time is not None:
            h = h + self.time(temb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class Attention(nn.Module):
    """Multi-head self-attention over all positions of a feature map (pre-norm, residual)."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        y = F.scaled_dot_product_attention(q, k, v)  # (b, heads, hw, c/heads)
        return x + self.out(y.transpose(-1, -2).reshape(b, c, h, w))


class Trunk(nn.Module):
    """One decoder trunk: latent-size features -> 2x features (see the module docstring)."""

    def __init__(self, cin: int, channels: tuple[int, int], blocks: int) -> None:
        super().__init__()
        c0, c1 = channels
        self.stem = nn.Conv2d(cin, c0, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(c0, c0) for _ in range(blocks))
        self.up = nn.Conv2d(c0, c1, 3, padding=1)
        self.fine = ResBlock(c1, c1)
        self.norm = nn.GroupNorm(_groups(c1), c1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(coarse features at the latent size, fine activated features at 2x)."""
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        fine = self.fine(self.up(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        return h, F.silu(self.norm(fine))


class Decoder(nn.Module):
    """Latent plane -> raw per-layer attribute maps and body shape (see the module docstring)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        p, s = cfg.panels, cfg.latent_size
        self.position = nn.Parameter(torch.randn(p, cfg.position_channels, s, s) * 0.1)
        self.geometry = Trunk(cfg.geometry_channels + cfg.position_channels, cfg.decoder_channels, cfg.decoder_blocks)
        self.texture = Trunk(cfg.latent_channels + cfg.position_channels, cfg.decoder_channels, cfg.decoder_blocks)
        c1 = cfg.decoder_channels[1]
        # Per layer: a 3x3 conv to 4 sub-texels per output channel, then PixelShuffle(2).
        self.geometry_heads = nn.ModuleDict({n: nn.Conv2d(c1, 4 * len(GEOMETRY_OUT), 3, padding=1)
                                             for layers in PANEL_LAYERS for n in layers})
        self.texture_heads = nn.ModuleDict({n: nn.Conv2d(c1, 4 * len(TEXTURE_OUT), 3, padding=1)
                                            for layers in PANEL_LAYERS for n in layers})
        c0 = cfg.decoder_channels[0]
        self.shape_head = nn.Sequential(nn.Linear(c0, c0), nn.SiLU(), nn.Linear(c0, cfg.shape_size))
        self.register_buffer("geometry_index", torch.tensor(GEOMETRY_OUT), persistent=False)
        self.register_buffer("texture_index", torch.tensor(TEXTURE_OUT), persistent=False)

    def forward(self, plane: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        cfg = self.cfg
        b, p = plane.shape[0], cfg.panels
        panels = split_panels(plane, p)
        position = self.position.to(plane.dtype).repeat(b, 1, 1, 1)
        geo_coarse, geo = self.geometry(torch.cat([panels[:, :cfg.geometry_channels], position], 1))
        _, tex = self.texture(torch.cat([panels, position], 1))
        geo = geo.reshape(b, p, *geo.shape[1:])
        tex = tex.reshape(b, p, *tex.shape[1:])
        maps = {}
        for i, layers in enumerate(PANEL_LAYERS):
            for name in layers:
                g = F.pixel_shuffle(self.geometry_heads[name](geo[:, i]), 2)
                t = F.pixel_shuffle(self.texture_heads[name](tex[:, i]), 2)
                m = torch.empty(b, NUM_CHANNELS, *g.shape[2:], dtype=g.dtype, device=g.device)
                m[:, self.geometry_index] = g
                m[:, self.texture_index] = t
                maps[name] = m
        body = geo_coarse.reshape(b, p, *geo_coarse.shape[1:])[:, 0]
        shape = torch.sigmoid(self.shape_head(body.float().mean(dim=(2, 3))))
        return maps, shape


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (continuous) timesteps t in [0, 1000) (Vaswani et al.; DDPM)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UNet(nn.Module):
    """Denoiser over the latent plane: predicts v (Salimans & Ho 2022) from (x_t, t)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        chans = cfg.unet_channels
        c, s, w = cfg.plane_shape
        self.patch = cfg.unet_patch
        c, s, w = c * self.patch**2, s // self.patch, w // self.patch
        self.time_dim = 4 * chans[0]
        self.time_mlp = nn.Sequential(nn.Linear(chans[0], self.time_dim), nn.SiLU(), nn.Linear(self.time_dim, self.time_dim))
        self.position = nn.Parameter(torch.randn(1, cfg.position_channels, s, w) * 0.1)
        self.conv_in = nn.Conv2d(c + cfg.position_channels, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.down_attn = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [chans[0]]
        cur = chans[0]
        for level, ch in enumerate(chans):
            self.down.append(ResBlock(cur, ch, self.time_dim))
            self.down_attn.append(Attention(ch, cfg.unet_heads) if level in cfg.unet_attention_levels else nn.Identity())
            cur = ch
            skips.append(cur)
            last = level == len(chans) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(cur, cur, 3, stride=2, padding=1))
            if not last:
                skips.append(cur)
        self.mid1 = ResBlock(cur, cur, self.time_dim)
        self.mid_attn = Attention(cur, cfg.unet_heads)
        self.mid2 = ResBlock(cur, cur, self.time_dim)
        self.up = nn.ModuleList()
        self.up_attn = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(chans))):
            ch = chans[level]
            blocks, attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(2):  # one block per skip of this level
                blocks.append(ResBlock(cur + skips.pop(), ch, self.time_dim))
                attn.append(Attention(ch, cfg.unet_heads) if level in cfg.unet_attention_levels else nn.Identity())
                cur = ch
            self.up.append(blocks)
            self.up_attn.append(attn)
            self.upsample.append(nn.Conv2d(cur, cur, 3, padding=1) if level > 0 else nn.Identity())
        self.norm_out = nn.GroupNorm(_groups(chans[0]), chans[0])
        self.conv_out = nn.Conv2d(chans[0], c, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        self.embed_dim = chans[0]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.embed_dim).to(x.dtype))
        x = F.pixel_unshuffle(x, self.patch)
        h = self.conv_in(torch.cat([x, self.position.to(x.dtype).expand(x.shape[0], -1, -1, -1)], 1))
        skips = [h]
        for block, attn, down in zip(self.down, self.down_attn, self.downsample):
            h = attn(block(h, temb))
            skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for blocks, attns, up in zip(self.up, self.up_attn, self.upsample):
            for block, attn in zip(blocks, attns):
                h = attn(block(torch.cat([h, skips.pop()], 1), temb))
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return F.pixel_shuffle(self.conv_out(F.silu(self.norm_out(h))), self.patch)


class GeneratorNets(nn.Module):
    """Decoder + denoiser + the latent normalisation, one module: one state dict, one DDP wrapper.

    latent_mean / latent_std (C, P): per channel and panel statistics of the learned latents; the
    denoiser works on (latent - mean) / std so its noise schedule sees unit-scale data whatever scale the
    auto-decoder settles on (the LDM scale factor, kept per channel and panel and updated while training).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.decoder = Decoder(cfg)
        self.unet = UNet(cfg)
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_channels, cfg.panels))
        self.register_buffer("latent_std", torch.ones(cfg.latent_channels, cfg.panels))

    def _stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.cfg.latent_size
        expand = lambda v: v[:, None, :, None].expand(-1, s, -1, s).reshape(v.shape[0], s, -1)  # noqa: E731
        return expand(self.latent_mean), expand(self.latent_std)

    def normalize(self, latent: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats()
        return (latent - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats()
        return x * std + mean

    def forward(self, latent: torch.Tensor, noisy: torch.Tensor, t: torch.Tensor):
        """One training forward (what DDP wraps): decoded raw maps, shape, and the denoiser's v."""
        maps, shape = self.decoder(latent)
        return maps, shape, self.unet(noisy, t)
