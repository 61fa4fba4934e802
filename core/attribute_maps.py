"""Attribute maps: per-layer images in UV space that Gaussians are read from, and the one lookup.

The generation core decodes latents into these maps and the synthetic wardrobe paints them, so they
are the training targets: the format is deliberately small.

Format
------
One float32 tensor (C, R, R) per layer, C = 9, in that layer's own UV chart (core.templates). Values
are activated (what a Gaussian holds, DESIGN.md), so a decoder ends in a sigmoid for opacity and rgb:

    0    opacity    0..1; Gaussians at or below core.avatar.VISIBLE_OPACITY are dropped
    1-3  rgb        0..1, display colour with the lighting baked in (as captured avatars carry it)
    4    offset     metres along the anchor normal, added to the shell position (fit, folds, volume).
                    The normal is the template's: on the shells it points out of the body, on the skirt
                    and curtain sheets core.templates (v1) winds it inwards, so there outward is negative.
    5-7  stretch    s_tt, s_bb, s_tb: the symmetric 2x2 log-stretch tensor [[s_tt, s_tb], [s_tb, s_bb]]
                    of the in-plane scale, in the anchor's (tangent, bitangent) frame, natural log.
                    Its eigenvalues are the log scale factors along its eigenvectors, the Gaussian's
                    in-plane axes. Zero is the template's round surfel (core.avatar.COVERAGE x spacing).
                    A tensor instead of (scale u, scale v, angle): an ellipse at angle a and a + pi is the
                    same, which an angle channel cannot say without a seam that bilinear reads and
                    convolutions smear; the tensor interpolates linearly and has no seam.
    8    thickness  natural log of the scale factor along the normal (0 = thin surfel)

Layout: row 0 is the top of the chart (v = 1), column 0 is u = 0: the map is a picture of the chart.
Texel (i, j) is centred at u = (j + 0.5) / R, v = 1 - (i + 0.5) / R.
Lookup: bilinear through torch.nn.functional.grid_sample(align_corners=False, padding_mode="border"),
so a texel's value is exact at its centre; differentiable in the maps (and the uvs).
Texels outside the chart hold zeros. A gutter of GUTTER texels around every chart island holds
the island's border values, so bilinear reads near island edges are not darkened by the empty
outside; `texel_geometry` rasterizes a template into its chart (islands and gutter).
Chart: the maps of a body model are in the charts of its reference templates (`reference_templates`:
an average adult on Anny). core.templates fits each shell's chart to the bounding box of the body
UVs the shell uses, and that set changes a little with the shape, which scales and shifts the
chart (by up to 12 % for the top: tens of texels). `decode` therefore reads each anchor at its uv in the
reference chart (`chart_uv`: the exact per-layer scale and offset between the two charts); where
the charts agree this is the identity.
Resolution: MAP_RESOLUTION per layer: at least as many chart texels as anchors on every layer, and
512 on the body for the face (eyes, lips) and nails; `lookup` takes any R.
Compact storage: `to_uint8` / `from_uint8` quantize each channel over QUANT_RANGE.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch
import torch.nn.functional as F

from core.avatar import COVERAGE, SURFEL_THICKNESS, Avatar, body_and_templates, build_avatar, gaussians_from_anchors
from core.body.base import BodyModel, BodyRest
from core.gaussians import LayeredGaussians
from core.rotations import quaternion_to_matrix
from core.templates import LayerTemplate, _uv_tangent

CHANNELS: tuple[str, ...] = ("opacity", "r", "g", "b", "offset", "stretch_tt", "stretch_bb", "stretch_tb", "thickness")
NUM_CHANNELS = len(CHANNELS)
OPACITY, RGB, OFFSET, STRETCH, THICKNESS = 0, slice(1, 4), 4, slice(5, 8), 8
MAP_RESOLUTION: dict[str, int] = {"body": 512, "top": 384, "bottom": 384, "hair": 384, "shoes": 384}
GUTTER = 2  # texels of border values around each chart island
# Quantization range (lo, hi) per channel for uint8 storage: steps of 1/255 of the range.
QUANT_RANGE: tuple[tuple[float, float], ...] = (
    (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0),  # opacity, rgb
    (-0.02, 0.1),  # offset, metres (0.47 mm steps)
    (-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0),  # stretch tensor, thickness (2.4 % steps)
)
_EPS = 1e-12

Maps = dict[str, torch.Tensor]  # layer name -> (C, R, R)


def blank_map(layer: str) -> torch.Tensor:
    """An empty (fully transparent) map of a layer at its MAP_RESOLUTION."""
    r = MAP_RESOLUTION[layer]
    return torch.zeros(NUM_CHANNELS, r, r)


def lookup(maps: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear read of (C, R, R) maps at uv (N, 2) -> (N, C); batched: (B, C, R, R), (B, N, 2) -> (B, N, C)."""
    batched = maps.dim() == 4
    if not batched:
        maps, uv = maps[None], uv[None]
    grid = torch.stack([2 * uv[..., 0] - 1, 1 - 2 * uv[..., 1]], dim=-1)[:, None].to(maps.dtype)  # v up: flip
    out = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = out[:, :, 0].transpose(1, 2)
    return out if batched else out[0]


def anchor_attributes(template: LayerTemplate, samples: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-anchor channel values (N, C) -> the keyword arguments of `gaussians_from_anchors`.

    The stretch tensor's eigen-decomposition is written out in closed form (2x2), differentiable
    everywhere: at a round surfel the axis falls back to the tangent, where it does not matter.
    """
    s_tt, s_bb, s_tb = samples[:, STRETCH].unbind(-1)
    mean, half = 0.5 * (s_tt + s_bb), 0.5 * (s_tt - s_bb)
    spread = torch.sqrt(half**2 + s_tb**2 + _EPS)
    # Eigenvector of the larger eigenvalue, from whichever row of (S - major I) is not degenerate.
    axis = torch.where((half >= 0)[:, None], torch.stack([half + spread, s_tb], -1),
                       torch.stack([s_tb, spread - half], -1))
    axis = axis / axis.norm(dim=-1, keepdim=True)
    tangent, bitangent = _surface_frame(template.anchor_tangent, template.anchor_normal)
    return {
        "colors": samples[:, RGB],
        "opacities": samples[:, OPACITY],
        "offsets": samples[:, OFFSET],
        "scale_factors": torch.exp(torch.stack([mean + spread, mean - spread, samples[:, THICKNESS]], -1)),
        "tangents": axis[:, :1] * tangent + axis[:, 1:] * bitangent,
    }


def decode(templates: dict[str, LayerTemplate], maps: Maps,
           reference: dict[str, LayerTemplate] | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """Per-layer anchor attributes of every layer that has a map (the input of `build_avatar`).

    reference: the templates whose charts the maps are in, when not `templates` themselves.
    """
    def uv(name: str, t: LayerTemplate) -> torch.Tensor:
        return t.anchor_uv if reference is None else chart_uv(t, reference[name])

    return {name: anchor_attributes(t, lookup(maps[name], uv(name, t)))
            for name, t in templates.items() if name in maps}


def reference_shape(body: BodyModel) -> dict[str, float]:
    """The shape whose template charts maps are made in: an average adult on Anny (35 years, median
    height, mid weight and muscle), the model's default shape on other bodies."""
    if body.name == "anny":
        return {"gender": 0.5, "age": 0.792, "muscle": 0.5, "weight": 0.5, "height": 0.37, "proportions": 0.5}
    return body.default_shape()


@functools.lru_cache(maxsize=2)
def reference_templates(body: BodyModel) -> tuple[BodyRest, dict[str, LayerTemplate]]:
    """The reference rest body and templates of a body model (built once, kept for the process)."""
    return body_and_templates(body, reference_shape(body))


def chart_uv(template: LayerTemplate, reference: LayerTemplate) -> torch.Tensor:
    """The template's anchor uvs in the reference template's chart of the same layer.

    Both shells are charts of the body UVs over the same body faces, each scaled uniformly and
    shifted, so matching the corners of shared body faces gives the exact scale and offset. The
    sheets (skirt, curtain) have fixed charts and keep their uvs.
    """
    if template is reference:
        return template.anchor_uv
    n = int(max(template.body_faces.max(), reference.body_faces.max())) + 1
    in_reference = torch.full((n,), -1, dtype=torch.int64)
    shell = reference.body_faces >= 0
    in_reference[reference.body_faces[shell]] = torch.nonzero(shell)[:, 0]
    faces = torch.nonzero(template.body_faces >= 0)[:, 0]
    matched = in_reference[template.body_faces[faces]]
    faces, matched = faces[matched >= 0], matched[matched >= 0]
    src = template.uvs[template.face_uvs[faces]].reshape(-1, 2).double()
    dst = reference.uvs[reference.face_uvs[matched]].reshape(-1, 2).double()
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    scale = ((src - src_mean) * (dst - dst_mean)).sum() / ((src - src_mean) ** 2).sum()
    offset = dst_mean - scale * src_mean
    on_shell = (template.body_faces[template.anchor_face] >= 0)[:, None]
    aligned = (template.anchor_uv.double() * scale + offset).float()
    return torch.where(on_shell, aligned, template.anchor_uv)


def attributes_to_gaussians(template: LayerTemplate, attributes: dict[str, torch.Tensor]) -> LayeredGaussians:
    """A layer's Gaussians from its anchor attributes (invisible ones dropped)."""
    return gaussians_from_anchors(template, **attributes)


def avatar_from_maps(body: BodyModel, maps: Maps, shape: dict[str, float] | None = None,
                     seed: int | None = None) -> Avatar:
    """An avatar on `body` (shaped by `shape`) whose layers are read from `maps` (reference charts)."""
    reference = reference_templates(body)[1]
    return build_avatar(body, lambda rest, templates: decode(templates, maps, reference), shape=shape, seed=seed)


def gaussians_to_samples(template: LayerTemplate, gaussians: LayeredGaussians) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of the decode for one layer: per-anchor channel values (N, C) and which anchors are present.

    Gaussians are matched to their anchors by their exact uv. Dropped anchors read as opacity 0
    (their other channels are unknown and left 0).
    """
    present = torch.zeros(template.anchor_uv.shape[0], dtype=torch.bool)
    samples = torch.zeros(template.anchor_uv.shape[0], NUM_CHANNELS)
    anchor = _match_uvs(template.anchor_uv.float(), gaussians.uvs)
    present[anchor] = True
    sigma = (COVERAGE * template.anchor_spacing[anchor])[:, None]
    factors = gaussians.scales / torch.cat([sigma, sigma, SURFEL_THICKNESS * sigma], dim=-1)
    major, minor = torch.log(factors[:, 0]), torch.log(factors[:, 1])
    tangent, bitangent = _surface_frame(template.anchor_tangent[anchor], template.anchor_normal[anchor])
    axis = quaternion_to_matrix(gaussians.quats)[:, :, 0]
    cos, sin = (axis * tangent).sum(-1), (axis * bitangent).sum(-1)
    samples[anchor, OPACITY] = gaussians.opacities
    samples[anchor, RGB] = gaussians.colors
    lifted = gaussians.means - template.anchor_position[anchor]
    samples[anchor, OFFSET] = (lifted * template.anchor_normal[anchor]).sum(-1)
    samples[anchor, STRETCH] = torch.stack([major * cos**2 + minor * sin**2, major * sin**2 + minor * cos**2,
                                            (major - minor) * cos * sin], dim=-1)
    samples[anchor, THICKNESS] = torch.log(factors[:, 2])
    return samples, present


def fit_map(template: LayerTemplate, samples: torch.Tensor, present: torch.Tensor, resolution: int,
            iterations: int = 30) -> torch.Tensor:
    """The map whose lookup at the anchors reproduces `samples`: maps from Gaussians (a PLY, an edit).

    Anchor values are splatted by the transpose of the bilinear lookup, holes inside the chart are
    filled from their neighbours, then residuals at the anchors are splatted back (Landweber
    iterations) until the lookup agrees. Absent anchors constrain only the opacity (to 0).
    """
    geometry = texel_geometry(template, resolution)
    inside = torch.zeros(resolution * resolution, dtype=torch.bool)
    inside[geometry.index] = True
    weight = torch.ones_like(samples)
    weight[~present, 1:] = 0
    target = samples * weight
    maps = _fill_holes(*_splat(template.anchor_uv, target, weight, resolution), inside, resolution)
    for _ in range(iterations):
        residual = (target - lookup(maps, template.anchor_uv) * weight)
        correction, mass = _splat(template.anchor_uv, residual, weight, resolution)
        maps = maps + correction / mass.clamp_min(1.0)
    return maps * inside.reshape(1, resolution, resolution)


def _surface_frame(tangent: torch.Tensor, normal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Tangent orthonormalised against the normal and the bitangent n x t, as frame_to_quaternion builds them."""
    t = tangent - (tangent * normal).sum(-1, keepdim=True) * normal
    t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return t, torch.cross(normal, t, dim=-1)


def _match_uvs(anchor_uv: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Index of the anchor whose uv equals each row of uv (exact float32 bits)."""
    def key(x: torch.Tensor) -> torch.Tensor:
        bits = x.contiguous().view(torch.int32).long() & 0xFFFFFFFF
        return bits[:, 0] << 32 | bits[:, 1]

    anchor_keys, order = torch.sort(key(anchor_uv))
    keys = key(uv.float())
    pos = torch.searchsorted(anchor_keys, keys).clamp_max(anchor_keys.shape[0] - 1)
    if not bool((anchor_keys[pos] == keys).all()):
        raise ValueError("Gaussians do not come from this template's anchors (uvs do not match)")
    return order[pos]


def _splat(uv: torch.Tensor, values: torch.Tensor, weight: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Transpose of the bilinear lookup: weighted sums (C, R, R) and weights (C, R, R)."""
    x, y = uv[:, 0] * r - 0.5, (1 - uv[:, 1]) * r - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    sums = torch.zeros(values.shape[1], r * r)
    mass = torch.zeros(values.shape[1], r * r)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        w = (1 - (x - x0 - dx).abs()) * (1 - (y - y0 - dy).abs())
        col, row = (x0 + dx).clamp(0, r - 1).long(), (y0 + dy).clamp(0, r - 1).long()
        index = (row * r + col)[None].expand(values.shape[1], -1)
        sums.scatter_add_(1, index, (w[:, None] * values * weight).T)
        mass.scatter_add_(1, index, (w[:, None] * weight).T)
    return sums.reshape(-1, r, r), mass.reshape(-1, r, r)


def _fill_holes(sums: torch.Tensor, mass: torch.Tensor, inside: torch.Tensor, r: int, rings: int = 6) -> torch.Tensor:
    """Normalised splat; empty chart texels within `rings` of a filled one take their filled neighbours' mean.

    Gaps between anchors are a texel or two; farther texels are where no anchor constrains a channel
    (colour under transparent ones), left at zero like the painters leave them.
    """
    value = sums / mass.clamp_min(1e-8)
    known = mass > 1e-8
    inside = inside.reshape(1, r, r)
    kernel = torch.ones(1, 1, 3, 3)
    for _ in range(rings):
        count = F.conv2d(known[:, None].float(), kernel, padding=1)[:, 0]
        grow = inside & ~known & (count > 0)
        total = F.conv2d((value * known)[:, None], kernel, padding=1)[:, 0]
        value = torch.where(grow, total / count.clamp_min(1), value)
        known = known | grow
    return value * known


@dataclasses.dataclass
class TexelGeometry:
    """Where each used texel of a layer's chart lies on the template (rest pose).

    Painting garments as functions of 3D position (stripes level in world y, sleeves cut by the
    distance along the arm) instead of chart coordinates keeps them right across rotated UV islands.
    """

    resolution: int
    index: torch.Tensor  # (T,) flat texel index row * R + col
    face: torch.Tensor  # (T,) template face the texel lies on
    bary: torch.Tensor  # (T, 3) where on it
    position: torch.Tensor  # (T, 3) on the shell, metres
    normal: torch.Tensor  # (T, 3) unit
    tangent: torch.Tensor  # (T, 3) unit, along +u, orthogonal to the normal (the anchors' frame)
    bitangent: torch.Tensor  # (T, 3) normal x tangent
    region: torch.Tensor  # (T,) SMPL-X joint (-1 on the skirt and curtain sheets)

    def mask(self) -> torch.Tensor:
        """(R, R) bool: the texels of the chart (islands and gutter)."""
        m = torch.zeros(self.resolution * self.resolution, dtype=torch.bool)
        m[self.index] = True
        return m.reshape(self.resolution, self.resolution)


def texel_geometry(template: LayerTemplate, resolution: int) -> TexelGeometry:
    """Rasterize a template's triangles into its chart at `resolution` (vectorised; plus GUTTER texels)."""
    r = resolution
    uv = template.uvs[template.face_uvs].double()  # (F, 3, 2)
    pix = torch.stack([uv[..., 0] * r - 0.5, (1 - uv[..., 1]) * r - 0.5], dim=-1)  # (col, row)
    lo = torch.ceil(pix.min(dim=1).values).clamp(0, r - 1).long()
    hi = torch.floor(pix.max(dim=1).values).clamp(0, r - 1).long()
    size = (hi - lo + 1).clamp_min(0)
    count = size[:, 0] * size[:, 1]
    face = torch.repeat_interleave(torch.arange(pix.shape[0]), count)
    local = torch.arange(int(count.sum())) - torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
    col = lo[face, 0] + local % size[face, 0]
    row = lo[face, 1] + local // size[face, 0]
    bary = _barycentric(pix[face], torch.stack([col, row], -1).double())
    inside = (bary >= -1e-9).all(dim=1)
    face_map = torch.full((r * r,), -1, dtype=torch.int64)
    face_map[(row * r + col)[inside]] = face[inside]
    face_map = _dilate_faces(face_map.reshape(r, r), GUTTER).reshape(-1)

    index = torch.nonzero(face_map >= 0)[:, 0]
    face = face_map[index]
    centre = torch.stack([index % r, index // r], -1).double()
    bary = _barycentric(pix[face], centre).clamp_min(0)  # gutter texels: nearest point of their face
    bary = (bary / bary.sum(dim=1, keepdim=True)).float()
    corners = template.faces[face]
    position = (template.vertices[corners] * bary[..., None]).sum(1)
    normal = (template.normals[corners] * bary[..., None]).sum(1)
    normal = normal / normal.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    face_tangent = _uv_tangent(template.vertices[template.faces], template.uvs[template.face_uvs])
    tangent, bitangent = _surface_frame(face_tangent[face], normal)
    region = template.regions[corners].gather(1, bary.argmax(dim=1, keepdim=True))[:, 0]
    return TexelGeometry(r, index, face, bary, position, normal, tangent, bitangent, region)


def _barycentric(tri: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Barycentric coordinates (M, 3) of points p (M, 2) in 2D triangles tri (M, 3, 2)."""
    a, b, c = tri.unbind(1)
    v0, v1, v2 = b - a, c - a, p - a
    det = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    det = torch.where(det.abs() > 1e-18, det, torch.full_like(det, 1e-18))
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / det
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / det
    return torch.stack([1 - l1 - l2, l1, l2], dim=-1)


def _dilate_faces(face_map: torch.Tensor, steps: int) -> torch.Tensor:
    """Grow the rasterized islands by `steps` texels: empty texels take a neighbour's face."""
    r = face_map.shape[0]
    for _ in range(steps):
        padded = F.pad(face_map[None, None].float(), (1, 1, 1, 1), value=-1.0)[0, 0].long()
        grown = face_map.clone()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                neighbour = padded[1 + dy:1 + dy + r, 1 + dx:1 + dx + r]
                grown = torch.where((grown < 0) & (neighbour >= 0), neighbour, grown)
        face_map = grown
    return face_map


def to_uint8(maps: Maps) -> dict[str, np.ndarray]:
    """Quantize maps to uint8 (C, R, R) per layer over QUANT_RANGE, for a compact training-set cache."""
    lo, hi = (torch.tensor(v)[:, None, None] for v in zip(*QUANT_RANGE))
    return {name: torch.round((m.clamp(lo, hi) - lo) / (hi - lo) * 255).to(torch.uint8).numpy()
            for name, m in maps.items()}


def from_uint8(packed: dict[str, np.ndarray]) -> Maps:
    """Inverse of `to_uint8` (exact to half a quantization step)."""
    lo, hi = (torch.tensor(v)[:, None, None] for v in zip(*QUANT_RANGE))
    return {name: torch.from_numpy(q).float() / 255 * (hi - lo) + lo for name, q in packed.items()}


__all__ = ["CHANNELS", "NUM_CHANNELS", "MAP_RESOLUTION", "GUTTER", "QUANT_RANGE", "Maps", "TexelGeometry", "blank_map",
           "lookup", "anchor_attributes", "decode", "reference_shape", "reference_templates", "chart_uv",
           "attributes_to_gaussians", "avatar_from_maps", "gaussians_to_samples", "fit_map", "texel_geometry",
           "to_uint8", "from_uint8"]
