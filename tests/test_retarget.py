"""SMPL-X pose data on Anny's 104 bones: where each joint's rotation goes, and that it lands right."""
from __future__ import annotations

import math

import pytest
import torch

from core.body.anny_body import SMPLX_TO_ANNY, TWIST_LIMBS
from core.body.base import SMPLX_REFERENCE_HIP_HEIGHT
from core.lbs import forward_kinematics
from core.pose import NUM_JOINTS, SMPLX_JOINT_INDEX, SMPLX_JOINT_NAMES, Pose
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from tests.smplx_fixture import PARENTS as SMPLX_PARENTS
from tests.smplx_fixture import write_synthetic_smplx

J = SMPLX_JOINT_INDEX

# The MANO mean hand (right; the left mirrors it) that SMPL-X keeps in hands_meanr: a relaxed half curl,
# in SMPL-X joint order index, middle, pinky, ring, thumb x 3 segments. 1.5 times it is a closed fist of
# the kind AMASS files hold in their flat-hand convention.
MANO_MEAN_RIGHT = torch.tensor([
    0.1117, -0.0429, 0.4164, 0.1088, 0.0660, 0.7562, -0.0964, 0.0909, 0.1885,
    -0.1181, -0.0509, 0.5296, -0.1437, -0.0552, 0.7049, -0.0192, 0.0923, 0.3379,
    -0.4570, 0.1963, 0.6255, -0.2147, 0.0660, 0.5069, -0.3697, 0.0603, 0.0795,
    -0.1419, 0.0859, 0.6355, -0.3033, 0.0579, 0.6314, -0.1761, 0.1321, 0.3734,
    0.8510, -0.2769, 0.0915, -0.4998, -0.0266, -0.0529, 0.5356, -0.0460, 0.2774,
]).reshape(15, 3)
MIRROR = torch.tensor([1.0, -1.0, -1.0])  # a rotation reflected in x: the same motion on the other side


def fist(strength: float = 1.5) -> Pose:
    joints = torch.zeros(NUM_JOINTS, 3)
    joints[J["left_index1"]:J["left_thumb3"] + 1] = strength * MANO_MEAN_RIGHT * MIRROR
    joints[J["right_index1"]:J["right_thumb3"] + 1] = strength * MANO_MEAN_RIGHT
    return Pose(joints, torch.zeros(3))


def bone(rest, name: str) -> int:
    return rest.bone_names.index(name)


def world(body, rest, pose: Pose) -> torch.Tensor:
    return forward_kinematics(body.bone_rotations(pose), rest.joints, rest.parents)[0]


def smplx_world_rotations(pose: Pose) -> list[torch.Tensor]:
    """Each SMPL-X joint's world rotation by SMPL-X's own kinematic tree."""
    local = axis_angle_to_matrix(pose.joints)
    out: list[torch.Tensor] = []
    for j in range(NUM_JOINTS):
        out.append(local[j] if SMPLX_PARENTS[j] < 0 else out[SMPLX_PARENTS[j]] @ local[j])
    return out


def test_every_joint_ends_turned_exactly_as_smplx_says(anny_body, anny_rest):
    """However a joint's rotation is spread over its bones, the bone after them turns as SMPL-X's joint."""
    pose = Pose(0.5 * torch.randn(NUM_JOINTS, 3, generator=torch.Generator().manual_seed(3)), torch.zeros(3))
    W = world(anny_body, anny_rest, pose)
    G = smplx_world_rotations(pose)
    for j, name in enumerate(SMPLX_JOINT_NAMES):
        bones = SMPLX_TO_ANNY[name]
        if not bones or name in TWIST_LIMBS and TWIST_LIMBS[name]:
            continue  # no bone (jaw); elbow/knee twist bones also carry part of the wrist/ankle twist
        ends = bones if name.endswith("_foot") else bones[-1:]  # the toes are siblings: each ends the joint
        for b in ends:
            assert torch.allclose(W[bone(anny_rest, b), :3, :3], G[j], atol=1e-5), (name, b)


def test_zero_pose_keeps_every_bone_at_rest(anny_body):
    assert torch.allclose(anny_body.bone_rotations(Pose.zero()), torch.eye(3).expand(104, 3, 3), atol=1e-6)


def _local_angle(body, pose: Pose, rest, name: str) -> torch.Tensor:
    return matrix_to_axis_angle(body.bone_rotations(pose)[bone(rest, name)])


def test_shoulder_twist_is_shared_along_the_upper_arm_and_swing_stays_on_the_shoulder(anny_body, anny_rest):
    twist = Pose.zero().with_joint("left_shoulder", [0.8, 0.0, 0.0])  # about the arm's own axis (+X, within 1 degree)
    for name in ("upperarm01.L", "upperarm02.L"):
        assert torch.allclose(_local_angle(anny_body, twist, anny_rest, name), torch.tensor([0.4, 0, 0]), atol=0.01)
    swing = Pose.zero().with_joint("left_shoulder", [0.0, 0.0, -1.2])  # lower the arm: no twist at all
    assert torch.allclose(_local_angle(anny_body, swing, anny_rest, "upperarm01.L"), torch.tensor([0, 0, -1.2]), atol=1e-3)
    assert torch.allclose(_local_angle(anny_body, swing, anny_rest, "upperarm02.L"), torch.zeros(3), atol=1e-3)


def test_wrist_pronation_turns_the_forearm_halfway(anny_body, anny_rest):
    pose = Pose.zero().with_joint("right_wrist", [1.0, 0.0, 0.0])  # turn the hand about the forearm
    assert abs(float(_local_angle(anny_body, pose, anny_rest, "lowerarm02.R").norm()) - 0.5) < 1e-3
    W = world(anny_body, anny_rest, pose)
    assert torch.allclose(W[bone(anny_rest, "wrist.R"), :3, :3], axis_angle_to_matrix(torch.tensor([1.0, 0, 0])), atol=1e-5)
    # The wrist stays where it was (to a millimetre or two: the twist bone sits a hair off the forearm's line).
    assert torch.allclose(W[bone(anny_rest, "wrist.R"), :3, 3], anny_rest.joints[bone(anny_rest, "wrist.R")], atol=2e-3)


def test_chains_share_a_bend_evenly(anny_body, anny_rest):
    pose = Pose.zero().with_joint("spine3", [0.4, 0.0, 0.0]).with_joint("neck", [0.6, 0.0, 0.0])
    for name, angle in (("spine02", 0.2), ("spine01", 0.2), ("neck01", 0.2), ("neck02", 0.2), ("neck03", 0.2)):
        assert torch.allclose(_local_angle(anny_body, pose, anny_rest, name), torch.tensor([angle, 0, 0]), atol=1e-4)


def test_foot_joint_bends_all_five_toes(anny_body, anny_rest):
    pose = Pose.zero().with_joint("left_foot", [-0.5, 0.0, 0.0])  # toes up
    W = world(anny_body, anny_rest, pose)
    for toe in range(1, 6):
        b = bone(anny_rest, f"toe{toe}-2.L")
        assert W[b, 1, 3] > anny_rest.joints[b, 1] + 0.005, f"toe {toe} should lift"


@pytest.mark.parametrize("side", ["L", "R"])
def test_a_fist_curls_the_fingers_into_the_palm(anny_body, anny_rest, side):
    """SMPL-X curls fingers about +-Z (palm down, fingers along the arm); Anny's fingers must curl the same way."""
    W = world(anny_body, anny_rest, fist())
    wrist = anny_rest.joints[bone(anny_rest, f"wrist.{side}")]
    outward = 1.0 if side == "L" else -1.0
    span = []
    for finger in range(1, 6):
        b2, b3 = bone(anny_rest, f"finger{finger}-2.{side}"), bone(anny_rest, f"finger{finger}-3.{side}")
        segment = anny_rest.joints[b3] - anny_rest.joints[b2]
        rest_tip = anny_rest.joints[b3] + segment - wrist
        tip = W[b3, :3, 3] + W[b3, :3, :3] @ segment - wrist
        assert tip[1] < -0.01, f"finger {finger} should end below the palm"
        if finger == 1:
            thumb = tip
            continue
        span.append(float(anny_rest.joints[bone(anny_rest, f"finger{finger}-1.{side}"), 2]))
        back = outward * float(rest_tip[0] - tip[0])
        assert back > 0.04, f"finger {finger} should fold back towards the wrist"
        assert abs(float(tip[2] - rest_tip[2])) < back, f"finger {finger} should curl, not swing sideways"
        assert tip[1] < rest_tip[1], f"finger {finger} should go down, into the palm"
    # The thumb folds across under the fingers, between the index and the little finger.
    assert min(span) < float(thumb[2] + wrist[2]) < max(span)


def test_right_arm_raise_raises_the_right_arm(anny_body, anny_rest):
    pose = Pose.zero().with_joint("right_shoulder", [0.0, 0.0, -math.pi / 2])
    W = world(anny_body, anny_rest, pose)
    head_y = float(anny_rest.vertices[:, 1].max())
    assert W[bone(anny_rest, "wrist.R"), 1, 3] > head_y
    assert torch.allclose(W[bone(anny_rest, "wrist.L"), :3, 3], anny_rest.joints[bone(anny_rest, "wrist.L")], atol=1e-5)


def test_translation_scale_is_the_ratio_of_hip_heights(anny_rest, tmp_path):
    from core.body.smplx_body import SMPLXBody

    hips = [bone(anny_rest, "upperleg01.L"), bone(anny_rest, "upperleg01.R")]
    assert anny_rest.hip_height == pytest.approx(float(anny_rest.joints[hips, 1].mean()))
    assert anny_rest.translation_scale == pytest.approx(anny_rest.hip_height / SMPLX_REFERENCE_HIP_HEIGHT)
    assert 0.9 < anny_rest.translation_scale < 1.15
    smplx = SMPLXBody(write_synthetic_smplx(tmp_path)).rest()
    assert smplx.hip_height == pytest.approx(float(smplx.joints[[J["left_hip"], J["right_hip"]], 1].mean()))


def test_smplx_body_retarget_is_the_identity(tmp_path):
    from core.body.smplx_body import SMPLXBody

    body = SMPLXBody(write_synthetic_smplx(tmp_path))
    pose = fist().with_joint("right_shoulder", [0.3, -0.2, 1.0])
    assert torch.allclose(body.bone_rotations(pose), axis_angle_to_matrix(pose.joints))
