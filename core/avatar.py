"""An avatar: a body, its layered templates and the canonical Gaussians on them.

`gaussians_from_anchors` is the single step that turns per-anchor attributes (from a decoded
attribute map, the wardrobe or the seeded default) into Gaussians; `Avatar.posed` is the single
step that poses them.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import torch

from core.body.base import BodyModel, BodyRest
from core.gaussians import LAYER_IDS, LAYER_NAMES, LayeredGaussians
from core.lbs import forward_kinematics, posed_gaussians
from core.pose import Pose
from core.rotations import frame_to_quaternion
from core.templates import LayerTemplate, build_templates

VISIBLE_OPACITY = 0.05  # Gaussians at or below this are dropped (LayerAvatar)
SURFEL_THICKNESS = 0.12  # third scale axis relative to the in-plane scale
COVERAGE = 0.8  # in-plane sigma relative to the anchor spacing: closes gaps, stays crisp


@dataclasses.dataclass
class Avatar:
    body: BodyModel
    rest: BodyRest
    templates: dict[str, LayerTemplate]
    gaussians: LayeredGaussians  # canonical (rest pose)
    seed: int | None = None

    def skinning(self, pose: Pose) -> torch.Tensor:
        """Skinning transforms (J, 3, 4) of the body rig for SMPL-X pose data."""
        local = self.body.bone_rotations(pose)
        _, skinning = forward_kinematics(local, self.rest.joints, self.rest.parents, pose.translation.float())
        return skinning

    def posed(self, pose: Pose | None) -> LayeredGaussians:
        if pose is None:
            return self.gaussians
        return posed_gaussians(self.gaussians, self.skinning(pose), self.rest.parents)

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.gaussians.means.min(0).values, self.gaussians.means.max(0).values


def gaussians_from_anchors(
    template: LayerTemplate,
    colors: torch.Tensor,
    opacities: torch.Tensor,
    offsets: torch.Tensor | None = None,
    scale_factors: torch.Tensor | None = None,
    tangents: torch.Tensor | None = None,
) -> LayeredGaussians:
    """Surfel Gaussians at a layer's anchors; those at or below VISIBLE_OPACITY are dropped.

    offsets (N,) push along the anchor normal (folds, volume); scale_factors (N, 3) stretch the
    (tangent, bitangent, normal) axes, e.g. long thin Gaussians along hair strands; tangents (N, 3)
    turn the first axis within the surface (default: the anchor tangent), e.g. along the strand.
    """
    keep = opacities > VISIBLE_OPACITY
    sigma = COVERAGE * template.anchor_spacing
    scales = torch.stack([sigma, sigma, SURFEL_THICKNESS * sigma], dim=-1)
    if scale_factors is not None:
        scales = scales * scale_factors
    means = template.anchor_position
    if offsets is not None:
        means = means + offsets[:, None] * template.anchor_normal
    quats = frame_to_quaternion(template.anchor_tangent if tangents is None else tangents, template.anchor_normal)
    n = means.shape[0]
    g = LayeredGaussians(
        means=means.float(),
        quats=quats.float(),
        scales=scales.float(),
        opacities=opacities.float().clamp(0, 1),
        colors=colors.float().clamp(0, 1),
        layers=torch.full((n,), LAYER_IDS[template.name], dtype=torch.int64),
        skin_indices=template.anchor_skin_indices,
        skin_weights=template.anchor_skin_weights.float(),
        uvs=template.anchor_uv.float(),
    )
    return g.select(keep)


def covered_skin(rest: BodyRest, templates: dict[str, LayerTemplate], attributes: dict) -> torch.Tensor:
    """Body anchors hidden under visible garment shells (N_body,) bool.

    They could never be seen, and at bends (where LBS compresses the gap between skin and shell)
    they would poke through. A body face is covered when a garment shell face over it holds a
    visible anchor, or holds none while all its corners touch covered faces (tiny faces).
    The body itself stays complete: this is recomputed for every composition of layers.
    """
    n_faces = rest.faces.shape[0]
    covered = torch.zeros(n_faces, dtype=torch.bool)
    for name, t in templates.items():
        if name == "body" or name not in attributes:
            continue
        visible = attributes[name]["opacities"] > VISIBLE_OPACITY
        on_body = t.body_faces[t.anchor_face]
        has_visible = torch.zeros(n_faces, dtype=torch.bool)
        has_visible[on_body[visible & (on_body >= 0)]] = True
        has_any = torch.zeros(n_faces, dtype=torch.bool)
        has_any[on_body[on_body >= 0]] = True
        shell = torch.zeros(n_faces, dtype=torch.bool)
        shell[t.body_faces[t.body_faces >= 0]] = True
        corner = torch.zeros(rest.vertices.shape[0], dtype=torch.bool)
        corner[rest.faces[has_visible].reshape(-1)] = True
        filled = shell & ~has_any & corner[rest.faces].all(dim=1)
        covered |= has_visible | filled
    return covered[templates["body"].anchor_face]


@functools.lru_cache(maxsize=4)
def _cached_rest_and_templates(body: BodyModel, shape_key: str, shape_items: tuple) -> tuple:
    rest = body.rest(dict(shape_items))
    return rest, build_templates(rest)


def body_and_templates(body: BodyModel, shape: dict[str, float] | None = None):
    """Rest body and its layered templates, cached per body and shape (0.1 s + 0.4 s to build)."""
    shape = {**body.default_shape(), **(shape or {})}
    return _cached_rest_and_templates(body, body.cache_key(shape), tuple(sorted(shape.items())))


def build_avatar(
    body: BodyModel,
    layer_attributes: Callable[[BodyRest, dict[str, LayerTemplate]], dict[str, dict[str, torch.Tensor]]],
    shape: dict[str, float] | None = None,
    seed: int | None = None,
) -> Avatar:
    """Assemble an avatar from per-layer anchor attributes (colors, opacities, offsets...)."""
    rest, templates = body_and_templates(body, shape)
    attributes = layer_attributes(rest, templates)
    if "body" in attributes:
        hidden = covered_skin(rest, templates, attributes)
        skin = dict(attributes["body"])
        skin["opacities"] = torch.where(hidden, torch.zeros(()), skin["opacities"])
        attributes = {**attributes, "body": skin}
    parts = [gaussians_from_anchors(templates[name], **attributes[name]) for name in LAYER_NAMES if name in attributes]
    return Avatar(body, rest, templates, LayeredGaussians.concat(parts), seed)
