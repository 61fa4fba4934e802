"""Layered templates: one surface per layer, each with its own UV chart, built from the body.

    body   the skin itself
    top    shell over the torso and full arms
    bottom shell over hips and full legs, plus a skirt tube hanging from the waist
    hair   shell over the scalp, plus a curtain that can reach mid-back
    shoes  shell over the feet up to mid-calf

Shells are maximal: a garment is carved out of its shell by opacity, never by new geometry,
so every avatar of one body shares the same anchors (one Gaussian each). Shells are face subsets
of the body pushed out along the vertex normals, so they follow shape and pose through the
body's skin weights; the two sheets (skirt, curtain) take the weights of their nearest body vertex.
Anchors are spread area-uniformly with a fixed generator: same body, same anchors.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch

from core.body.base import BodyRest, normalized_top_k
from core.gaussians import LAYER_NAMES
from core.pose import SMPLX_JOINT_INDEX as J

TEMPLATE_VERSION = 1
SKIN_K = 8  # bones per Gaussian: enough that a shell deforms exactly like the skin beneath it

# Gap between skin and shell (metres): skin < shoes/bottom < top, so layers stack without
# poking through at rest.
SHELL_OFFSET = {"body": 0.0, "top": 0.012, "bottom": 0.008, "hair": 0.006, "shoes": 0.007}
ANCHOR_COUNT = {"body": 50000, "top": 30000, "bottom": 28000, "hair": 20000, "shoes": 8000}
# Relative anchor density per body region: faces and hands carry the detail people look at.
REGION_DENSITY = {"head": 4.0, "jaw": 4.0, "left_eye_smplhf": 4.0, "right_eye_smplhf": 4.0, "wrist": 2.0,
                  "index1": 2.0, "index2": 2.0, "index3": 2.0, "middle1": 2.0, "middle2": 2.0, "middle3": 2.0,
                  "ring1": 2.0, "ring2": 2.0, "ring3": 2.0, "pinky1": 2.0, "pinky2": 2.0, "pinky3": 2.0,
                  "thumb1": 2.0, "thumb2": 2.0, "thumb3": 2.0}


@dataclasses.dataclass
class LayerTemplate:
    """A layer's surface in the rest pose and the anchors (one Gaussian each) spread on it."""

    name: str
    vertices: torch.Tensor  # (V, 3) on the shell
    normals: torch.Tensor  # (V, 3) unit
    faces: torch.Tensor  # (F, 3)
    uvs: torch.Tensor  # (T, 2) in this layer's own chart, [0, 1]^2
    face_uvs: torch.Tensor  # (F, 3)
    skin_indices: torch.Tensor  # (V, K)
    skin_weights: torch.Tensor  # (V, K)
    regions: torch.Tensor  # (V,) SMPL-X joint of each vertex (-1 on the sheets)
    body_faces: torch.Tensor  # (F,) the body face each face lies over (-1 on the sheets)
    # anchors
    anchor_face: torch.Tensor  # (N,)
    anchor_bary: torch.Tensor  # (N, 3)
    anchor_position: torch.Tensor  # (N, 3)
    anchor_normal: torch.Tensor  # (N, 3)
    anchor_tangent: torch.Tensor  # (N, 3) along +u of the chart (hair strands, stripes)
    anchor_uv: torch.Tensor  # (N, 2)
    anchor_spacing: torch.Tensor  # (N,) metres between neighbouring anchors
    anchor_region: torch.Tensor  # (N,)
    anchor_skin_indices: torch.Tensor  # (N, K)
    anchor_skin_weights: torch.Tensor  # (N, K)


@dataclasses.dataclass
class BodyLandmarks:
    """Heights and points the templates and garment masks are cut by (rest pose, metres)."""

    pelvis: torch.Tensor
    hip_y: float
    knee_y: float
    ankle_y: float
    neck: torch.Tensor
    head: torch.Tensor
    eye_left: torch.Tensor
    eye_right: torch.Tensor
    shoulder_x: float
    wrist_x: float

    @staticmethod
    def of(rest: BodyRest) -> "BodyLandmarks":
        def joint(name: str) -> torch.Tensor:
            bones = torch.nonzero(rest.bone_regions == J[name])[:, 0]
            return rest.joints[bones[0]]

        return BodyLandmarks(
            pelvis=joint("pelvis"),
            hip_y=float(joint("left_hip")[1]),
            knee_y=float(joint("left_knee")[1]),
            ankle_y=float(joint("left_ankle")[1]),
            neck=joint("neck"),
            head=joint("head"),
            eye_left=joint("left_eye_smplhf"),
            eye_right=joint("right_eye_smplhf"),
            shoulder_x=float(joint("left_shoulder")[0]),
            wrist_x=float(joint("left_wrist")[0]),
        )


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals (faces counter-clockwise from outside)."""
    v0, v1, v2 = vertices[faces].unbind(1)
    face_n = torch.cross(v1 - v0, v2 - v0, dim=-1)
    normals = torch.zeros_like(vertices).index_add_(0, faces.reshape(-1), face_n.repeat_interleave(3, dim=0))
    return normals / normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _regions(*names: str) -> torch.Tensor:
    out = []
    for n in names:
        out += [J[n]] if n in J else [J[f"left_{n}"], J[f"right_{n}"]]
    return torch.tensor(out)


def _shell_vertex_masks(rest: BodyRest, marks: BodyLandmarks, normals: torch.Tensor) -> dict[str, torch.Tensor]:
    """Which body vertices each maximal shell covers."""
    region = rest.vertex_regions()
    y = rest.vertices[:, 1]
    inside = lambda *names: torch.isin(region, _regions(*names))  # noqa: E731
    mid_calf = 0.5 * (marks.knee_y + marks.ankle_y)
    eye_y = float(marks.eye_left[1])
    face_front = (normals[:, 2] > 0.45) & (y < eye_y + 0.045)
    return {
        "body": torch.ones_like(y, dtype=torch.bool),
        "top": inside("spine1", "spine2", "spine3", "collar", "shoulder", "elbow")
        | (inside("pelvis") & (y > marks.hip_y))
        | (inside("neck") & (y < float(marks.neck[1]) + 0.04)),
        "bottom": inside("pelvis", "spine1", "hip", "knee") | (inside("ankle") & (y > marks.ankle_y)),
        "hair": inside("head") & (y > eye_y - 0.04) & ~face_front,
        "shoes": inside("ankle", "foot") | (inside("knee") & (y < mid_calf)),
    }


def _submesh(mask: torch.Tensor, faces: torch.Tensor, face_uvs: torch.Tensor):
    keep = mask[faces].all(dim=1)
    sub_faces = faces[keep]
    used = torch.unique(sub_faces)
    remap = torch.full((mask.shape[0],), -1, dtype=torch.int64)
    remap[used] = torch.arange(used.shape[0])
    return used, remap[sub_faces], face_uvs[keep], torch.nonzero(keep)[:, 0]


def _fit_chart(uvs: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Scale UVs uniformly into the strip u in [lo, hi] of the unit square."""
    mn, mx = uvs.min(0).values, uvs.max(0).values
    size = (mx - mn).clamp_min(1e-6)
    s = min((hi - lo) / float(size[0]), 1.0 / float(size[1]))
    return (uvs - mn) * s + torch.tensor([lo, 0.0])


def _radial_profile(points: torch.Tensor, centre_z: float, ys: torch.Tensor, thetas: torch.Tensor,
                    band: float) -> torch.Tensor:
    """Largest distance from the vertical axis (0, ., centre_z) per height and angle bin.

    theta = 0 looks along -Z (behind the body) and grows towards +X.
    """
    dx, dz = points[:, 0], points[:, 2] - centre_z
    r = torch.sqrt(dx**2 + dz**2)
    angle = torch.atan2(dx, -dz)
    step = float(thetas[1] - thetas[0]) if thetas.numel() > 1 else math.pi
    out = torch.zeros(ys.shape[0], thetas.shape[0])
    for i, y in enumerate(ys):
        near = (points[:, 1] - y).abs() < band
        if not near.any():
            continue
        diff = (angle[near][:, None] - thetas[None, :] + math.pi) % (2 * math.pi) - math.pi
        hit = diff.abs() < 0.75 * step + 0.05
        out[i] = torch.where(hit, r[near][:, None], torch.zeros(())).max(dim=0).values
    return out


def _revolved_sheet(ys: torch.Tensor, thetas: torch.Tensor, radius: torch.Tensor, centre_z: torch.Tensor):
    """A grid surface around the vertical axis: rows at heights ys, columns at angles thetas."""
    rows, cols = radius.shape
    x = radius * torch.sin(thetas)[None, :]
    z = centre_z[:, None] - radius * torch.cos(thetas)[None, :]
    y = ys[:, None].expand(rows, cols)
    vertices = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
    u = torch.linspace(0, 1, cols)[None, :].expand(rows, cols)
    v = torch.linspace(1, 0, rows)[:, None].expand(rows, cols)
    uvs = torch.stack([u, v], dim=-1).reshape(-1, 2)
    idx = torch.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    # Outward-facing winding for a sheet whose columns run from -X to +X behind the body.
    faces = torch.cat([torch.stack([a, c, b], -1).reshape(-1, 3), torch.stack([b, c, d], -1).reshape(-1, 3)])
    return vertices, faces, uvs


def _hanging_radius(profile: torch.Tensor, offset: float, slope: float, dy: float) -> torch.Tensor:
    """Radius of a sheet that hangs from the top: it may move inward only slowly going down."""
    radius = profile + offset
    for i in range(1, radius.shape[0]):
        radius[i] = torch.maximum(radius[i], radius[i - 1] - slope * dy)
    return radius


def _curtain(rest: BodyRest, marks: BodyLandmarks):
    """Hair curtain behind the head, from ear level to mid-back."""
    region = rest.vertex_regions()
    trunk = torch.isin(region, _regions("head", "neck", "spine1", "spine2", "spine3", "collar", "pelvis"))
    points = rest.vertices[trunk]
    top = float(marks.eye_left[1]) - 0.01
    bottom = float(marks.pelvis[1]) + 0.6 * (float(marks.neck[1]) - float(marks.pelvis[1])) * 0.5
    rows, cols = 48, 40
    ys = torch.linspace(top, bottom, rows)
    thetas = torch.linspace(-math.radians(80), math.radians(80), cols)
    centre = float(marks.head[2]) - 0.01
    profile = _radial_profile(points, centre, ys, thetas, band=0.012)
    radius = _hanging_radius(profile, offset=0.012, slope=0.25, dy=float(ys[0] - ys[1]))
    return _revolved_sheet(ys, thetas, radius, torch.full((rows,), centre))


def _skirt(rest: BodyRest, marks: BodyLandmarks):
    """Skirt tube around both legs, from the waist to mid-calf, flaring as it hangs."""
    region = rest.vertex_regions()
    lower = torch.isin(region, _regions("pelvis", "spine1", "hip", "knee"))
    points = rest.vertices[lower]
    top = float(marks.pelvis[1]) + 0.06
    bottom = 0.5 * (marks.knee_y + marks.ankle_y)
    rows, cols = 40, 72
    ys = torch.linspace(top, bottom, rows)
    thetas = torch.linspace(-math.pi, math.pi, cols)
    centre = float(marks.pelvis[2])
    profile = _radial_profile(points, centre, ys, thetas, band=0.015)
    radius = _hanging_radius(profile, offset=0.014, slope=-0.12, dy=float(ys[0] - ys[1]))
    return _revolved_sheet(ys, thetas, radius, torch.full((rows,), centre))


def _nearest_skin(points: torch.Tensor, rest: BodyRest, allowed: torch.Tensor):
    candidates = torch.nonzero(allowed)[:, 0]
    d = torch.cdist(points, rest.vertices[candidates])
    nearest = candidates[d.argmin(dim=1)]
    return rest.skin_indices[nearest], rest.skin_weights[nearest]


def build_layer_template(name: str, rest: BodyRest, count: int | None = None, seed: int = 0) -> LayerTemplate:
    marks = BodyLandmarks.of(rest)
    body_normals = vertex_normals(rest.vertices, rest.faces)
    mask = _shell_vertex_masks(rest, marks, body_normals)[name]
    used, faces, face_uvs, body_faces = _submesh(mask, rest.faces, rest.face_uvs)
    vertices = rest.vertices[used] + SHELL_OFFSET[name] * body_normals[used]
    skin_i, skin_w = normalized_top_k(rest.skin_indices[used], rest.skin_weights[used], SKIN_K)
    regions = rest.vertex_regions()[used]
    uv_used = torch.unique(face_uvs)
    uvs = torch.zeros(rest.uvs.shape[0], 2)
    sheet = {"hair": _curtain, "bottom": _skirt}.get(name)
    uvs[uv_used] = _fit_chart(rest.uvs[uv_used], 0.0, 0.7 if sheet else 1.0) if name != "body" else rest.uvs[uv_used]
    # Compact the UV table to the corners this layer uses.
    uv_remap = torch.full((rest.uvs.shape[0],), -1, dtype=torch.int64)
    uv_remap[uv_used] = torch.arange(uv_used.shape[0])
    uvs, face_uvs = uvs[uv_used], uv_remap[face_uvs]
    if sheet is not None:
        s_vertices, s_faces, s_uvs = sheet(rest, marks)
        allowed = torch.isin(rest.vertex_regions(), _regions("head", "neck", "spine2", "spine3", "collar")
                             if name == "hair" else _regions("pelvis", "spine1", "hip", "knee"))
        s_skin_i, s_skin_w = normalized_top_k(*_nearest_skin(s_vertices, rest, allowed), SKIN_K)
        base, uv_base = vertices.shape[0], uvs.shape[0]
        vertices = torch.cat([vertices, s_vertices])
        faces = torch.cat([faces, s_faces + base])
        uvs = torch.cat([uvs, s_uvs * torch.tensor([0.3, 1.0]) + torch.tensor([0.7, 0.0])])
        face_uvs = torch.cat([face_uvs, s_faces + uv_base])
        skin_i, skin_w = torch.cat([skin_i, s_skin_i]), torch.cat([skin_w, s_skin_w])
        regions = torch.cat([regions, torch.full((s_vertices.shape[0],), -1, dtype=torch.int64)])
        body_faces = torch.cat([body_faces, torch.full((s_faces.shape[0],), -1, dtype=torch.int64)])
    normals = vertex_normals(vertices, faces)
    template = LayerTemplate(name, vertices, normals, faces, uvs, face_uvs, skin_i, skin_w, regions, body_faces,
                             *([None] * 10))
    _place_anchors(template, count or ANCHOR_COUNT[name], seed)
    return template


def _place_anchors(t: LayerTemplate, count: int, seed: int) -> None:
    """Anchors spread by area times region density; per face a systematic (low-variance) count."""
    g = torch.Generator().manual_seed(seed)
    tri = t.vertices[t.faces]
    area = 0.5 * torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1).double()
    density = _region_density(t.regions)[t.faces].max(dim=1).values
    weighted = area * density
    expected = weighted / weighted.sum() * count
    cumulative = torch.cumsum(expected, 0)
    offset = torch.rand((), generator=g)
    per_face = torch.floor(cumulative + offset) - torch.floor(cumulative - expected + offset)
    face = torch.repeat_interleave(torch.arange(t.faces.shape[0]), per_face.long())
    r1, r2 = torch.rand(face.shape[0], generator=g), torch.rand(face.shape[0], generator=g)
    s = r1.sqrt()
    bary = torch.stack([1 - s, s * (1 - r2), s * r2], dim=-1)
    t.anchor_face = face
    t.anchor_bary = bary
    corners = t.faces[face]
    t.anchor_position = (t.vertices[corners] * bary[..., None]).sum(1)
    normal = (t.normals[corners] * bary[..., None]).sum(1)
    t.anchor_normal = normal / normal.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    uv_tri = t.uvs[t.face_uvs[face]]
    t.anchor_uv = (uv_tri * bary[..., None]).sum(1)
    t.anchor_tangent = _uv_tangent(tri[face], uv_tri)
    t.anchor_spacing = (area / expected.clamp_min(1e-12)).sqrt()[face].float()
    regions = t.regions[corners]
    t.anchor_region = regions.gather(1, bary.argmax(dim=1, keepdim=True))[:, 0]
    k = t.skin_indices.shape[1]
    idx = t.skin_indices[corners].reshape(-1, 3 * k)
    w = (t.skin_weights[corners] * bary[..., None]).reshape(-1, 3 * k)
    dense = torch.zeros(idx.shape[0], int(t.skin_indices.max()) + 1).scatter_add_(1, idx, w)
    weights, bones = dense.topk(SKIN_K, dim=1)
    t.anchor_skin_indices = bones
    t.anchor_skin_weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)


def _region_density(regions: torch.Tensor) -> torch.Tensor:
    density = torch.ones(regions.shape[0], dtype=torch.float64)
    for name, factor in REGION_DENSITY.items():
        for joint in _regions(name).tolist():
            density[regions == joint] = factor
    return density


def _uv_tangent(tri: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Direction of increasing u on each triangle (falls back to an edge on degenerate UVs)."""
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    d1, d2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    tangent = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) / torch.where(det.abs() > 1e-12, det, torch.ones_like(det))[:, None]
    bad = (det.abs() <= 1e-12) | (tangent.norm(dim=-1) < 1e-9)
    tangent[bad] = e1[bad]
    return tangent / tangent.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def build_templates(rest: BodyRest, seed: int = 0,
                    progress: Callable[[float, str], None] | None = None) -> dict[str, LayerTemplate]:
    templates = {}
    for i, name in enumerate(LAYER_NAMES):
        if progress:
            progress(i / len(LAYER_NAMES), f"building {name} template")
        templates[name] = build_layer_template(name, rest, seed=seed + i)
    return templates
