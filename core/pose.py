"""Pose data as everything above the body model speaks it: SMPL-X joints, axis-angle.

55 joints in `smplx.joint_names` order, each an axis-angle rotation (radians) expressed in the
world axes of the rest pose, plus a root translation in metres. The zero pose is the SMPL-X
T-pose on every body; body backends map it onto their own rig.
"""
from __future__ import annotations

import dataclasses
import math

import torch

SMPLX_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2", "right_middle3",
    "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1", "right_ring2", "right_ring3",
    "right_thumb1", "right_thumb2", "right_thumb3",
)
SMPLX_JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(SMPLX_JOINT_NAMES)}
NUM_JOINTS = len(SMPLX_JOINT_NAMES)


@dataclasses.dataclass
class Pose:
    joints: torch.Tensor  # (55, 3) axis-angle, radians
    translation: torch.Tensor  # (3,) metres, added to the root

    @staticmethod
    def zero() -> "Pose":
        return Pose(torch.zeros(NUM_JOINTS, 3), torch.zeros(3))

    def with_joint(self, name: str, axis_angle) -> "Pose":
        joints = self.joints.clone()
        joints[SMPLX_JOINT_INDEX[name]] = torch.as_tensor(axis_angle, dtype=joints.dtype)
        return Pose(joints, self.translation.clone())

    @staticmethod
    def preset(name: str) -> "Pose":
        """T (zero), A (arms 45 degrees down) and relaxed (arms down, soft elbows and knees)."""
        name = name.lower()
        if name in ("t", "tpose", "t-pose"):
            return Pose.zero()
        rad = math.radians
        pose = Pose.zero()
        if name in ("a", "apose", "a-pose"):
            # Arms rest along +-X; rotating about +-Z lowers them towards -Y.
            return pose.with_joint("left_shoulder", [0, 0, -rad(45)]).with_joint("right_shoulder", [0, 0, rad(45)])
        if name == "relaxed":
            return (
                pose.with_joint("left_shoulder", [0, 0, -rad(72)])
                .with_joint("right_shoulder", [0, 0, rad(72)])
                .with_joint("left_elbow", [0, -rad(12), 0])
                .with_joint("right_elbow", [0, rad(12), 0])
                .with_joint("left_hip", [0, 0, rad(3)])
                .with_joint("right_hip", [0, 0, -rad(3)])
                .with_joint("spine3", [rad(2), 0, 0])
            )
        raise ValueError(f"unknown pose preset {name!r} (choose t, a or relaxed)")


POSE_PRESETS: tuple[str, ...] = ("t", "a", "relaxed")
