"""Re-evaluate an avatar for another body shape or facial expression, keeping every Gaussian.

Shape and expression change the body's rest mesh, so everything built on it moves:
- shells (every layer's surface over the body) are body faces pushed out along the vertex normals:
  each shell vertex is its body vertex on the new mesh plus the layer's `SHELL_OFFSET` along the
  new normal, exactly as `core.templates` builds them;
- the two sheets (skirt, hair curtain) are grids built from the body's radial profile. They are
  moved, not rebuilt: each sheet vertex keeps its offset from its nearest body vertex of the old
  rest (new = old + that vertex's displacement). Rebuilding would re-run the profile scan (~25 ms
  here, a third of the budget) and could change the grid's shape where the profile is noisy;
  moving with the skin keeps the hem and the hair length where they were relative to the body;
- anchors keep their (face, barycentric) coordinates, so each lands on the new surface where it
  was on the old one;
- each Gaussian keeps its appearance in its anchor's surface frame (tangent along the chart's u,
  normal): colour, opacity and skinning as they were, its offset from the anchor and its
  orientation expressed in that frame, its in-plane scale times the face's linear stretch
  (sqrt of the area ratio), so coverage stays as dense as it was; the thin axis is kept.

`Reshaper(avatar)` does the per-avatar work once (~0.5 s: which anchor each Gaussian sits on, its
frame, the vertex maps); calling it costs one body `rest()` (Anny: ~45 ms) plus ~60 ms for ~80k
Gaussians on the 2-core dev machine (measured by scripts/measure_playback.py --modes reshape).
Always reshape from the same original avatar (the Reshaper holds it), so repeated slider moves
never accumulate error. `shape=None` means the body's default shape, `expression=None` neutral.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from core.avatar import Avatar
from core.body.base import BodyRest
from core.errors import AvatarStudioError
from core.gaussians import LAYER_IDS, LayeredGaussians
from core.rotations import quaternion_multiply
from core.templates import SHELL_OFFSET, LayerTemplate, vertex_normals


def _rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v (N, 3) by unit quaternions q (N, 4)."""
    w, u = q[:, :1], q[:, 1:]
    t = 2.0 * torch.cross(u, v, dim=-1)
    return v + w * t + torch.cross(u, t, dim=-1)


def _face_areas(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    tri = vertices[faces]
    return 0.5 * torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1)


def _tangent_weights(tri: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    """Weights (N, 3) of each anchor's face corners whose sum is its tangent: t = c1 e1 + c2 e2.

    The UV tangent is such a fixed combination of the face's two edges (the UVs do not change), so
    the same weights on the new corners give the new UV tangent; (c1, c2) by least squares.
    """
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    a, b, c = (e1 * e1).sum(-1), (e1 * e2).sum(-1), (e2 * e2).sum(-1)
    r1, r2 = (e1 * tangent).sum(-1), (e2 * tangent).sum(-1)
    det = a * c - b * b
    ok = det.abs() > 1e-20
    det = torch.where(ok, det, torch.ones_like(det))
    c1 = torch.where(ok, (c * r1 - b * r2) / det, torch.ones_like(det))
    c2 = torch.where(ok, (a * r2 - b * r1) / det, torch.zeros_like(det))
    return torch.stack([-c1 - c2, c1, c2], dim=-1).float()


@dataclasses.dataclass
class _Span:
    """Where one layer's rows sit in the concatenated vertex, face and anchor arrays."""

    template: LayerTemplate
    vertices: slice
    faces: slice
    anchors: slice


class Reshaper:
    """Re-evaluates one avatar for any shape and expression of its body (see the module docstring).

    All layers are concatenated into one mesh at construction (their surfaces are disjoint), and
    everything that depends only on the old avatar is kept, so a reshape is a body `rest()` plus a
    dozen whole-array operations: anchor points are weighted sums of their face's corners, gathered
    with torch's fused `embedding_bag` (as LBS does); each Gaussian turns with the rotation that takes
    its anchor's old frame onto the new one.
    """

    def __init__(self, avatar: Avatar) -> None:
        self.avatar = avatar
        rest, gaussians = avatar.rest, avatar.gaussians
        if not gaussians.poseable:
            raise AvatarStudioError("only a rigged avatar can be reshaped (this one has no skinning)")
        templates = avatar.templates
        self._spans: dict[str, _Span] = {}
        body_vertex, on_shell, offset, faces, corners, tangent_weights = [], [], [], [], [], []
        gaussian_anchor = torch.full((len(gaussians),), -1, dtype=torch.int64)
        v0 = f0 = a0 = 0
        for name, t in templates.items():
            nearest, shell = self._vertex_sources(t, rest)
            body_vertex.append(nearest)
            on_shell.append(shell)
            offset.append(torch.where(shell, SHELL_OFFSET[name], 0.0))
            faces.append(t.faces + v0)
            corners.append(t.faces[t.anchor_face] + v0)
            tangent_weights.append(_tangent_weights(t.vertices[t.faces[t.anchor_face]], t.anchor_tangent))
            rows, anchors = _match_anchors(name, t, gaussians)
            gaussian_anchor[rows] = anchors + a0
            v1, f1, a1 = v0 + t.vertices.shape[0], f0 + t.faces.shape[0], a0 + t.anchor_face.shape[0]
            self._spans[name] = _Span(t, slice(v0, v1), slice(f0, f1), slice(a0, a1))
            v0, f0, a0 = v1, f1, a1
        if (gaussian_anchor < 0).any():
            raise AvatarStudioError(f"{int((gaussian_anchor < 0).sum())} Gaussians sit on no layer template: "
                                    "cannot reshape")
        vertices = torch.cat([t.vertices for t in templates.values()])
        self._body_vertex = torch.cat(body_vertex)
        self._offset = torch.cat(offset)[:, None]
        # A sheet vertex keeps its offset from its nearest body vertex; shell vertices have none.
        self._sheet_delta = torch.where(torch.cat(on_shell)[:, None], 0.0, vertices - rest.vertices[self._body_vertex])
        self._faces = torch.cat(faces)
        self._corners = torch.cat(corners)
        self._bary = torch.cat([t.anchor_bary for t in templates.values()]).float()
        self._tangent_weights = torch.cat(tangent_weights)
        self._anchor_face = torch.cat([t.anchor_face + self._spans[n].faces.start for n, t in templates.items()])
        self._old_area = _face_areas(vertices, self._faces).clamp_min(1e-12)
        self._gaussian_anchor = gaussian_anchor
        # Each Gaussian's anchor frame (normal, tangent made orthogonal to it) and offset from the anchor.
        normal = torch.cat([t.anchor_normal for t in templates.values()])[gaussian_anchor].float()
        tangent = torch.cat([t.anchor_tangent for t in templates.values()])[gaussian_anchor].float()
        position = torch.cat([t.anchor_position for t in templates.values()])[gaussian_anchor].float()
        self._normal = normal
        self._tangent = _orthogonal(tangent, normal)
        self._offset_from_anchor = gaussians.means - position

    @staticmethod
    def _vertex_sources(t: LayerTemplate, rest: BodyRest) -> tuple[torch.Tensor, torch.Tensor]:
        """Each template vertex's body vertex (under a shell vertex; nearest to a sheet vertex), and
        which vertices are on the shell."""
        shell_faces = t.body_faces >= 0
        body_vertex = torch.full((t.vertices.shape[0],), -1, dtype=torch.int64)
        body_vertex[t.faces[shell_faces].reshape(-1)] = rest.faces[t.body_faces[shell_faces]].reshape(-1)
        shell = body_vertex >= 0
        sheet = torch.nonzero(~shell)[:, 0]
        if sheet.numel():
            body_vertex[sheet] = torch.cdist(t.vertices[sheet], rest.vertices).argmin(dim=1)
        return body_vertex, shell

    def __call__(self, shape: dict[str, float] | None = None,
                 expression: dict[str, float] | None = None) -> Avatar:
        """The avatar on the body of this shape and expression (None: default shape, neutral face)."""
        avatar = self.avatar
        with torch.no_grad():
            rest = avatar.body.rest(shape, expression)
            body_normals = vertex_normals(rest.vertices, rest.faces)
            index = self._body_vertex
            vertices = rest.vertices[index] + self._offset * body_normals[index] + self._sheet_delta
            normals = vertex_normals(vertices, self._faces)
            both = F.embedding_bag(self._corners, torch.cat([vertices, normals], dim=1),
                                   per_sample_weights=self._bary, mode="sum")
            position, normal = both[:, :3], F.normalize(both[:, 3:], dim=-1)
            tangent = F.normalize(F.embedding_bag(self._corners, vertices, per_sample_weights=self._tangent_weights,
                                                  mode="sum"), dim=-1)
            linear = (_face_areas(vertices, self._faces) / self._old_area).clamp_min(1e-6).sqrt()[self._anchor_face]

            a = self._gaussian_anchor
            turn = _frame_rotation(self._tangent, self._normal, tangent[a], normal[a])
            g = avatar.gaussians
            scales = g.scales.clone()
            scales[:, :2] *= linear[a, None]
            reshaped = g.replace(means=position[a] + _rotate(turn, self._offset_from_anchor),
                                 quats=quaternion_multiply(turn, g.quats), scales=scales)
        templates = {}
        for name, span in self._spans.items():
            t, v, an = span.template, span.vertices, span.anchors
            templates[name] = dataclasses.replace(
                t, vertices=vertices[v], normals=normals[v], anchor_position=position[an],
                anchor_normal=normal[an], anchor_tangent=tangent[an], anchor_spacing=t.anchor_spacing * linear[an])
        return Avatar(avatar.body, rest, templates, reshaped, avatar.seed)


def _orthogonal(tangent: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """The unit tangent made perpendicular to the unit normal (as `frame_to_quaternion` does)."""
    return F.normalize(tangent - (tangent * normal).sum(-1, keepdim=True) * normal, dim=-1)


def _half_way(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Unit quaternions of the smallest rotations taking unit vectors a onto b (not antiparallel)."""
    return F.normalize(torch.cat([1.0 + (a * b).sum(-1, keepdim=True), torch.cross(a, b, dim=-1)], dim=-1), dim=-1)


def _frame_rotation(old_tangent: torch.Tensor, old_normal: torch.Tensor, new_tangent: torch.Tensor,
                    new_normal: torch.Tensor) -> torch.Tensor:
    """Quaternions (N, 4) turning each old surface frame onto the new one.

    First the normal onto the new normal by the smallest rotation, then about the new normal until
    the (carried) tangent meets the new tangent. Reshaping bends the surface by degrees, far from
    the half turns where these rotations are undefined.
    """
    swing = _half_way(old_normal, new_normal)
    carried = _rotate(swing, old_tangent)
    twist = _half_way(carried, _orthogonal(new_tangent, new_normal))
    return quaternion_multiply(twist, swing)


def _match_anchors(name: str, t: LayerTemplate, gaussians: LayeredGaussians) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of this layer's Gaussians and the anchor each one came from.

    `gaussians_from_anchors` copies each anchor's UV into its Gaussian and drops the invisible
    ones, so a Gaussian is found by its exact UV among its layer's anchors (anchors sit at random
    barycentric points: two never share a UV).
    """
    rows = torch.nonzero(gaussians.layers == LAYER_IDS[name])[:, 0]
    anchor_keys = _uv_keys(t.anchor_uv.float())
    order = np.argsort(anchor_keys, kind="stable")
    keys = _uv_keys(gaussians.uvs[rows])
    position = np.searchsorted(anchor_keys[order], keys).clip(0, len(order) - 1)
    anchors = order[position]
    if len(keys) and not np.array_equal(anchor_keys[anchors], keys):
        missing = int((anchor_keys[anchors] != keys).sum())
        raise AvatarStudioError(f"layer {name}: {missing} Gaussians do not sit on an anchor of the template "
                                "(their UVs were edited?): cannot reshape")
    return rows, torch.from_numpy(anchors).long()


def _uv_keys(uvs: torch.Tensor) -> np.ndarray:
    """One exact integer key per float32 UV pair (its two bit patterns)."""
    bits = np.ascontiguousarray(uvs.detach().cpu().numpy().astype(np.float32)).view(np.uint32)
    return (bits[:, 0].astype(np.uint64) << np.uint64(32)) | bits[:, 1].astype(np.uint64)


def reshaped_avatar(avatar: Avatar, shape: dict[str, float] | None = None,
                    expression: dict[str, float] | None = None) -> Avatar:
    """`avatar` on its body re-evaluated with `shape` and `expression`; see the module docstring.

    For repeated calls on one avatar (a slider), keep a `Reshaper(avatar)` instead: it does the
    per-avatar matching once.
    """
    return Reshaper(avatar)(shape, expression)
