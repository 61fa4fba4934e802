"""The small interface every body model offers, and the rest-pose data it hands out.

A body model turns shape and expression parameters into a rest mesh in our frame (metres,
Y up, facing +Z, feet on y = 0, T-pose) with a rig, and maps SMPL-X pose data onto that rig.
Everything above it (templates, avatars, LBS, export) sees only `BodyRest` and `bone_rotations`.
"""
from __future__ import annotations

import abc
import dataclasses
import hashlib
import json

import torch

from core.pose import SMPLX_JOINT_INDEX, Pose

# The SMPL-X reference body (neutral, mean shape) that pose translations are measured on: its pelvis
# joint stands ~0.93 m and its hip joints ~0.84 m above the soles in the rest pose.
SMPLX_REFERENCE_PELVIS_HEIGHT = 0.93
SMPLX_REFERENCE_HIP_HEIGHT = 0.84


@dataclasses.dataclass
class BodyRest:
    """A shaped body in its rest (T-) pose."""

    vertices: torch.Tensor  # (V, 3) float32
    faces: torch.Tensor  # (F, 3) int64, counter-clockwise seen from outside
    uvs: torch.Tensor  # (T, 2) float32 texture coordinates, v up
    face_uvs: torch.Tensor  # (F, 3) int64 into uvs (UV seams split corners, not vertices)
    joints: torch.Tensor  # (J, 3) float32 bone pivots
    parents: torch.Tensor  # (J,) int64, parents[0] = -1, parents[j] < j
    bone_names: list[str]
    skin_indices: torch.Tensor  # (V, K) int64
    skin_weights: torch.Tensor  # (V, K) float32, rows sum to 1
    bone_regions: torch.Tensor  # (J,) int64: the SMPL-X joint each bone belongs to (region masks)

    @property
    def height(self) -> float:
        return float(self.vertices[:, 1].max() - self.vertices[:, 1].min())

    @property
    def hip_height(self) -> float:
        """Mean rest height of the two hip joints above the floor: the length of the legs.

        The legs, not the root bone, set how far a step carries the body and how deep a crouch goes,
        and rigs put their root at different heights (Anny's sits level with its hips, SMPL-X's pelvis
        joint ~9 cm above them), so bodies are compared by their hips.
        """
        hips = [int(torch.nonzero(self.bone_regions == SMPLX_JOINT_INDEX[name])[0, 0])
                for name in ("left_hip", "right_hip")]
        return float(self.joints[hips, 1].mean())

    @property
    def translation_scale(self) -> float:
        """Factor taking a root translation of pose data (metres on the SMPL-X reference body) to this body.

        Motion clips move the reference body; a body with longer legs covers proportionally more ground
        per stride, so the translation is scaled by the ratio of hip heights. Pass it to
        `MotionClip.pose_at` / `MotionClip.frame` (core.motion) when posing this body from a clip.
        """
        return self.hip_height / SMPLX_REFERENCE_HIP_HEIGHT

    def vertex_regions(self) -> torch.Tensor:
        """SMPL-X joint index of each vertex's most influential bone."""
        lead = self.skin_indices.gather(1, self.skin_weights.argmax(dim=1, keepdim=True))[:, 0]
        return self.bone_regions[lead]


class BodyModel(abc.ABC):
    """A parametric body: shape/expression -> `BodyRest`, SMPL-X pose -> rig rotations."""

    name: str
    shape_names: list[str]
    expression_names: list[str]

    @abc.abstractmethod
    def default_shape(self) -> dict[str, float]:
        """Shape parameters of the average body the studio opens with."""

    @abc.abstractmethod
    def rest(self, shape: dict[str, float] | None = None, expression: dict[str, float] | None = None) -> BodyRest:
        """The shaped body in its T-pose rest, in our frame."""

    @abc.abstractmethod
    def bone_rotations(self, pose: Pose) -> torch.Tensor:
        """Local rotations (J, 3, 3) of this rig's bones for SMPL-X pose data (the retarget)."""

    def cache_key(self, shape: dict[str, float] | None, extra: str = "") -> str:
        """Stable key for caches derived from this body and shape (e.g. layered templates)."""
        payload = json.dumps({"body": self.name, "id": self.identity(), "shape": shape or {}, "extra": extra},
                             sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]

    def identity(self) -> str:
        """What distinguishes this model's data from another of the same kind (version, files)."""
        return self.name


def normalized_top_k(indices: torch.Tensor, weights: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep each row's k largest weights, renormalised to sum to 1 (sparse skinning rows)."""
    if indices.shape[1] > k:
        weights, order = weights.topk(k, dim=1)
        indices = indices.gather(1, order)
    elif indices.shape[1] < k:
        pad = k - indices.shape[1]
        indices = torch.cat([indices, indices[:, :1].expand(-1, pad)], dim=1)
        weights = torch.cat([weights, torch.zeros(weights.shape[0], pad, dtype=weights.dtype)], dim=1)
    weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return indices, weights
