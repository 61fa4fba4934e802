"""Layer meshes: each layer of an avatar as a textured, skinned triangle mesh, for mesh exports (FBX).

The studio draws Gaussians; Blender, Unity and Unreal need surfaces. A layer's mesh is its template
surface (core.templates) in the rest pose, cut to the faces where the layer is present (the body
stays complete), pushed out by the decoded offsets, with the template's UV chart and skin weights
and a colour texture in that chart.

Textures come from one of two sources:
- the avatar's attribute maps (core.attribute_maps, as decoded plus any paint), when the caller has
  them: the map's colour channels are the texture, and the mesh UVs move into the maps' reference
  chart (`chart_uv`), so nothing is resampled;
- otherwise a bake of the layer's Gaussian colours into its own chart (`bake_texture`).
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.attribute_maps import OFFSET, OPACITY, RGB, Maps, chart_uv, gaussians_to_samples, reference_templates, \
    texel_geometry
from core.avatar import Avatar
from core.gaussians import LAYER_NAMES
from core.templates import LayerTemplate, vertex_normals

TEXTURE_SIZE = {"body": 1024, "top": 512, "bottom": 512, "hair": 512, "shoes": 512}  # baked textures, texels
PRESENT_COVERAGE = 0.5  # a garment face is kept when its anchors' mean opacity reaches this
DILATION_STEPS = 3  # texels grown around baked colours from their nearest neighbours before the smooth fill


@dataclasses.dataclass
class LayerMesh:
    """One layer as a mesh in the rest pose (metres, world Y up), with its texture."""

    name: str
    vertices: torch.Tensor  # (V, 3)
    normals: torch.Tensor  # (V, 3) unit
    faces: torch.Tensor  # (F, 3) counter-clockwise from outside
    uvs: torch.Tensor  # (T, 2) in the texture's chart, v up
    face_uvs: torch.Tensor  # (F, 3) into uvs
    skin_indices: torch.Tensor  # (V, K) bones of the body rig
    skin_weights: torch.Tensor  # (V, K) rows sum to 1
    texture: np.ndarray  # (H, W, 3) uint8, row 0 at v = 1


def layer_meshes(avatar: Avatar, layers: tuple[str, ...] = LAYER_NAMES, maps: Maps | None = None) -> list[LayerMesh]:
    """Meshes of the requested layers that are present on the avatar, in LAYER_NAMES order.

    maps: the avatar's attribute maps in their reference charts (core.attribute_maps), if known.
    """
    meshes = [layer_mesh(avatar, name, maps) for name in LAYER_NAMES if name in layers]
    return [m for m in meshes if m is not None]


def layer_mesh(avatar: Avatar, name: str, maps: Maps | None = None) -> LayerMesh | None:
    """One layer's mesh, or None where the layer has no face on this avatar."""
    template = avatar.templates[name]
    samples, present = gaussians_to_samples(template, avatar.gaussians.layer(name))
    keep = torch.ones(template.faces.shape[0], dtype=torch.bool) if name == "body" else \
        present_faces(template, samples[:, OPACITY])
    if not bool(keep.any()):
        return None
    offsets = vertex_offsets(template, samples[:, OFFSET], present)
    vertices = template.vertices + offsets[:, None] * template.normals
    used, faces = _compact(template.faces[keep], template.vertices.shape[0])
    used_uvs, face_uvs = _compact(template.face_uvs[keep], template.uvs.shape[0])
    if maps is not None and name in maps:
        reference = reference_templates(avatar.body)[1][name]
        uvs = reference_chart_uvs(template, reference)[used_uvs]
        texture = map_texture(maps[name], reference)
    else:
        uvs = template.uvs[used_uvs]
        texture = bake_texture(template.anchor_uv[present], samples[present][:, RGB], TEXTURE_SIZE[name])
    return LayerMesh(name, vertices[used], vertex_normals(vertices[used], faces), faces, uvs, face_uvs,
                     template.skin_indices[used], template.skin_weights[used], texture)


def present_faces(template: LayerTemplate, opacity: torch.Tensor) -> torch.Tensor:
    """Faces (F,) bool where the layer is present: its anchors' mean opacity (0 for dropped ones) is
    at least PRESENT_COVERAGE; a face too small to hold an anchor follows its neighbours (kept when
    every corner touches a kept face), so garment surfaces have no pinholes.
    """
    n_faces = template.faces.shape[0]
    count = torch.bincount(template.anchor_face, minlength=n_faces)
    total = torch.bincount(template.anchor_face, weights=opacity.double(), minlength=n_faces)
    keep = (count > 0) & (total >= PRESENT_COVERAGE * count)
    touched = torch.zeros(template.vertices.shape[0], dtype=torch.bool)
    touched[template.faces[keep].reshape(-1)] = True
    return keep | ((count == 0) & touched[template.faces].all(dim=1))


def vertex_offsets(template: LayerTemplate, offsets: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Per-vertex offsets (V,) along the normal: the present anchors' decoded offsets, averaged with
    their barycentric weights onto the corners of their faces (0 where no present anchor reaches)."""
    corners = template.faces[template.anchor_face[present]].reshape(-1)
    weights = template.anchor_bary[present].reshape(-1).double()
    values = (template.anchor_bary[present] * offsets[present, None]).reshape(-1).double()
    n = template.vertices.shape[0]
    total = torch.zeros(n, dtype=torch.float64).index_add_(0, corners, values)
    mass = torch.zeros(n, dtype=torch.float64).index_add_(0, corners, weights)
    return torch.where(mass > 0, total / mass.clamp_min(1e-12), torch.zeros(())).float()


def reference_chart_uvs(template: LayerTemplate, reference: LayerTemplate) -> torch.Tensor:
    """The template's UV table moved into the reference template's chart (where its maps live).

    `chart_uv` gives the anchors' reference uvs; the shell part of a chart is one uniform scale and
    shift of it (the sheets keep their fixed charts), recovered here by least squares from the anchors.
    """
    shell_anchor = template.body_faces[template.anchor_face] >= 0
    src = template.anchor_uv[shell_anchor].double()
    dst = chart_uv(template, reference)[shell_anchor].double()
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    scale = ((src - src_mean) * (dst - dst_mean)).sum() / ((src - src_mean) ** 2).sum().clamp_min(1e-12)
    offset = dst_mean - scale * src_mean
    shell_uv = torch.zeros(template.uvs.shape[0], dtype=torch.bool)
    shell_uv[template.face_uvs[template.body_faces >= 0].reshape(-1)] = True
    moved = (template.uvs.double() * scale + offset).float()
    return torch.where(shell_uv[:, None], moved, template.uvs)


def map_texture(layer_map: torch.Tensor, reference: LayerTemplate) -> np.ndarray:
    """The colour channels of a layer's attribute map (C, R, R) as a texture; texels outside the
    chart take their nearest chart colours so mipmaps do not bleed black into seams."""
    resolution = layer_map.shape[-1]
    inside = texel_geometry(reference, resolution).mask().float()
    return _to_uint8(fill_texture(layer_map[RGB] * inside, inside))


def bake_texture(uvs: torch.Tensor, colors: torch.Tensor, size: int) -> np.ndarray:
    """A (size, size, 3) uint8 texture from colours at points of a UV chart (the layer's Gaussians).

    Each colour is splatted onto its four nearest texels (the transpose of a bilinear read); empty
    texels take the mean of their filled neighbours for DILATION_STEPS rings (nearest-colour fill,
    so island borders and seams carry their own colours), and the rest fill smoothly (`fill_texture`).
    That includes skin under garments: the avatar drops those Gaussians, so the body texture there
    continues the nearest shown skin.
    """
    x, y = uvs[:, 0].double() * size - 0.5, (1 - uvs[:, 1].double()) * size - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    sums = torch.zeros(3, size * size, dtype=torch.float64)
    mass = torch.zeros(size * size, dtype=torch.float64)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        w = (1 - (x - x0 - dx).abs()) * (1 - (y - y0 - dy).abs())
        index = (y0 + dy).clamp(0, size - 1).long() * size + (x0 + dx).clamp(0, size - 1).long()
        sums.index_add_(1, index, (w[:, None] * colors.double()).T)
        mass.index_add_(0, index, w)
    value = (sums / mass.clamp_min(1e-12)).reshape(3, size, size).float()
    known = (mass > 1e-6).reshape(size, size).float()
    for _ in range(DILATION_STEPS):
        sums = _box3(torch.cat([value * known, known[None]]))
        total, count = sums[:3], sums[3]
        grow = (known == 0) & (count > 0)
        value = torch.where(grow, total / count.clamp_min(1), value)
        known = torch.where(grow, torch.ones(()), known)
    return _to_uint8(fill_texture(value * known, known))


def _box3(x: torch.Tensor) -> torch.Tensor:
    """Sum over each texel's 3x3 neighbourhood of (C, H, W), zeros outside (separable: ~10x faster than conv2d)."""
    height, width = x.shape[-2:]
    p = F.pad(x, (1, 1, 1, 1))
    rows = p[..., :height, :] + p[..., 1:height + 1, :] + p[..., 2:height + 2, :]
    return rows[..., :width] + rows[..., 1:width + 1] + rows[..., 2:width + 2]


def fill_texture(value: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill the texels of (C, H, W) where `known` (H, W) is 0 by pull-push: from the mean of the known
    texels in ever coarser 2x2 blocks, the finest level that has one. Every texel ends up filled."""
    height, width = known.shape
    if bool((known > 0).all()) or (height == 1 and width == 1):
        return value
    coarse_sum = F.avg_pool2d((value * known)[None], 2, ceil_mode=True, divisor_override=1)[0]
    coarse_mass = F.avg_pool2d(known[None, None], 2, ceil_mode=True, divisor_override=1)[0, 0]
    coarse = fill_texture(coarse_sum / coarse_mass.clamp_min(1e-12), (coarse_mass > 0).float())
    up = coarse.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)[:, :height, :width]
    return torch.where(known > 0, value, up)


def png_bytes(texture: np.ndarray) -> bytes:
    """PNG file bytes of an (H, W, 3) uint8 image (what FBX embeds)."""
    buffer = io.BytesIO()
    Image.fromarray(texture).save(buffer, format="PNG")
    return buffer.getvalue()


def _to_uint8(value: torch.Tensor) -> np.ndarray:
    return (value.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def _compact(faces: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of a table (vertices, uvs) that `faces` use, and `faces` renumbered into them."""
    used = torch.unique(faces)
    remap = torch.full((count,), -1, dtype=torch.int64)
    remap[used] = torch.arange(used.shape[0])
    return used, remap[faces]
