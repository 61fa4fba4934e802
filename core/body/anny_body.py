"""The default body: Anny (NAVER Labs, Apache-2.0, `pip install anny`), free of registration.

Anny is Z-up, pelvis at the origin, faces -Y and rests in an A-pose with bent elbows. We convert
once, here: rotate into our Y-up/+Z-facing frame, pose the arms straight out into the SMPL-X
T-pose with our own LBS, and lift the feet onto y = 0. Above this file Anny rests in a T-pose
like every body, and SMPL-X joint rotations reach its 104 bones through `SMPLX_TO_ANNY`.

Anny builds its model data once (~1-2 min) into its own cache (~/.cache/anny or
$ANNY_CACHE_DIR); later starts take well under a second. Only its commercial-use data is used:
the smpl/smplx topologies (non-commercial downloads) are never requested.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading

import torch

from core.body.base import BodyModel, BodyRest
from core.lbs import forward_kinematics, skin_points
from core.pose import SMPLX_JOINT_NAMES, Pose
from core.rotations import axis_angle_to_matrix, rotation_between

# Anny (x, y, z) -> ours (x, z, -y): Z-up/face -Y becomes Y-up/face +Z; .L bones stay at +X.
ANNY_TO_WORLD = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

ANNY_SHAPE_NAMES = ["gender", "age", "muscle", "weight", "height", "proportions"]


def _side(bones: list[str]) -> dict[str, list[str]]:
    return {"left": [b.replace("*", "L") for b in bones], "right": [b.replace("*", "R") for b in bones]}


def _build_joint_map() -> dict[str, list[str]]:
    """SMPL-X joint -> the Anny bones that carry its rotation (split evenly along a chain)."""
    table: dict[str, list[str]] = {
        "pelvis": ["root"],
        "spine1": ["spine04"],
        "spine2": ["spine03"],
        "spine3": ["spine02", "spine01"],
        "neck": ["neck01", "neck02", "neck03"],
        "head": ["head"],
        "jaw": [],  # Anny moves its jaw with the jawOpen facial action, not a bone.
    }
    per_side = {
        "hip": ["upperleg01.*"], "knee": ["lowerleg01.*"], "ankle": ["foot.*"],
        "foot": [f"toe{i}-1.*" for i in range(1, 6)],
        "collar": ["clavicle.*"], "shoulder": ["upperarm01.*"], "elbow": ["lowerarm01.*"], "wrist": ["wrist.*"],
    }
    fingers = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}
    for side, s in (("left", "L"), ("right", "R")):
        for joint, bones in per_side.items():
            table[f"{side}_{joint}"] = [b.replace("*", s) for b in bones]
        for finger, number in fingers.items():
            for segment in (1, 2, 3):
                table[f"{side}_{finger}{segment}"] = [f"finger{number}-{segment}.{s}"]
        table[f"{side}_eye_smplhf"] = [f"eye.{s}"]
    assert set(table) == set(SMPLX_JOINT_NAMES)
    return table


SMPLX_TO_ANNY: dict[str, list[str]] = _build_joint_map()

_BUILD_LOCK = threading.Lock()


class AnnyBody(BodyModel):
    name = "anny"
    shape_names = ANNY_SHAPE_NAMES

    def __init__(self) -> None:
        with _BUILD_LOCK, _quiet():
            import anny  # heavy import (and warp's banner): keep it out of module import time

            self._model = anny.Anny(facial_actions="all", skinning_method="lbs")
            self._version = getattr(anny, "__version__", "unknown")
        self.expression_names = list(self._model.facial_action_labels)
        self.bone_names: list[str] = list(self._model.bone_labels)
        self.parents = torch.tensor(self._model.bone_parents, dtype=torch.int64)
        index = {name: i for i, name in enumerate(self.bone_names)}
        self._joint_bones = [[index[b] for b in SMPLX_TO_ANNY[j]] for j in SMPLX_JOINT_NAMES]
        self.bone_regions = self._bone_regions(index)

    def identity(self) -> str:
        return f"anny-{self._version}"

    def default_shape(self) -> dict[str, float]:
        return {name: 0.5 for name in self.shape_names}

    def _bone_regions(self, index: dict[str, int]) -> torch.Tensor:
        """Each bone's SMPL-X joint: its own mapping, else its nearest mapped ancestor's."""
        owner = torch.full((len(self.bone_names),), -1, dtype=torch.int64)
        for joint, bones in enumerate(self._joint_bones):
            for b in bones:
                owner[b] = joint
        for b in range(len(self.bone_names)):  # parents come first, so one pass suffices
            if owner[b] < 0:
                owner[b] = owner[self.parents[b]] if self.parents[b] >= 0 else 0
        return owner

    def rest(self, shape: dict[str, float] | None = None, expression: dict[str, float] | None = None) -> BodyRest:
        shape = {**self.default_shape(), **(shape or {})}
        unknown = set(shape) - set(self.shape_names)
        if unknown:
            raise ValueError(f"unknown Anny shape parameters {sorted(unknown)}; known: {self.shape_names}")
        with torch.no_grad():
            out = self._model(phenotype_kwargs=shape, facial_actions=expression or None)
        m = self._model
        vertices = out["rest_vertices"][0].float() @ ANNY_TO_WORLD.T
        joints = out["rest_bone_heads"][0].float() @ ANNY_TO_WORLD.T
        weights = m.vertex_bone_weights.float()
        indices = m.vertex_bone_indices.long()
        # A-pose -> T-pose, by the same LBS that poses everything else.
        local = self._tpose_rotations(joints)
        world, skinning = forward_kinematics(local, joints, self.parents)
        vertices = skin_points(vertices, skinning, indices, weights)
        joints = world[:, :3, 3]
        lift = torch.tensor([0.0, -float(vertices[:, 1].min()), 0.0])
        return BodyRest(
            vertices=vertices + lift,
            faces=m.faces.long(),
            uvs=m.texture_coordinates.float(),
            face_uvs=m.face_texture_coordinate_indices.long(),
            joints=joints + lift,
            parents=self.parents,
            bone_names=self.bone_names,
            skin_indices=indices,
            skin_weights=weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12),
            bone_regions=self.bone_regions,
        )

    def _tpose_rotations(self, joints: torch.Tensor) -> torch.Tensor:
        """Local rotations that straighten Anny's A-pose arms along +-X (SMPL-X T-pose)."""
        index = {name: i for i, name in enumerate(self.bone_names)}
        local = torch.eye(3).repeat(len(self.bone_names), 1, 1)
        for s, direction in (("L", 1.0), ("R", -1.0)):
            target = torch.tensor([direction, 0.0, 0.0])
            chain = [("upperarm01", "lowerarm01"), ("lowerarm01", "wrist"), ("wrist", "finger3-1")]
            for bone, child in chain:
                b, c = index[f"{bone}.{s}"], index[f"{child}.{s}"]
                world, _ = forward_kinematics(local, joints, self.parents)
                R_parent = world[self.parents[b], :3, :3]
                current = world[c, :3, 3] - world[b, :3, 3]
                fix = rotation_between(current, target)  # world-frame correction at this bone
                local[b] = R_parent.T @ fix @ R_parent @ local[b]
        return local

    def bone_rotations(self, pose: Pose) -> torch.Tensor:
        local = torch.eye(3).repeat(len(self.bone_names), 1, 1)
        joints = pose.joints.float()
        for j, bones in enumerate(self._joint_bones):
            if not bones or not torch.any(joints[j] != 0):
                continue
            share = axis_angle_to_matrix(joints[j] / len(bones))
            for b in bones:
                local[b] = share
        return local


def anny_cache_ready() -> bool:
    """Whether Anny's one-time model build is already cached (a hint for progress messages)."""
    from anny.paths import get_anny_cache_path

    root = get_anny_cache_path()
    return root is not None and any(root.glob("v*/build_compact_model_data_*.safetensors"))


@contextlib.contextmanager
def _quiet():
    """Anny's optional `warp` dependency prints a banner on import; keep the terminal clean."""
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    with contextlib.redirect_stdout(io.StringIO()):
        yield


__all__ = ["AnnyBody", "SMPLX_TO_ANNY", "ANNY_TO_WORLD", "anny_cache_ready"]
