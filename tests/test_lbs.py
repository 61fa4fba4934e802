"""The one LBS: identity at rest, a joint moves only its subtree, orientations follow."""
import math

import torch

from core.lbs import forward_kinematics, posed_gaussians
from core.pose import Pose
from core.rotations import (axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_quaternion,
                            quaternion_to_matrix)


def test_rotation_conversions_round_trip():
    g = torch.Generator().manual_seed(0)
    aa = torch.randn(200, 3, generator=g) * 1.2
    R = axis_angle_to_matrix(aa)
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3).expand(200, 3, 3), atol=1e-5)
    assert torch.allclose(axis_angle_to_matrix(matrix_to_axis_angle(R)), R, atol=1e-5)
    assert torch.allclose(quaternion_to_matrix(matrix_to_quaternion(R)), R, atol=1e-5)


def test_chain_kinematics_by_hand():
    # Three joints along +X; bend the middle one 90 degrees about +Z: the tip goes to +Y.
    rest = torch.tensor([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    parents = torch.tensor([-1, 0, 1])
    local = torch.eye(3).repeat(3, 1, 1)
    local[1] = axis_angle_to_matrix(torch.tensor([0, 0, math.pi / 2]))
    world, skinning = forward_kinematics(local, rest, parents, torch.tensor([0.0, 0.5, 0.0]))
    assert torch.allclose(world[2, :3, 3], torch.tensor([1.0, 1.5, 0.0]), atol=1e-6)
    tip = skinning[2, :, :3] @ rest[2] + skinning[2, :, 3]
    assert torch.allclose(tip, torch.tensor([1.0, 1.5, 0.0]), atol=1e-6)


def test_rest_pose_is_identity(avatar):
    posed = avatar.posed(Pose.zero())
    assert torch.allclose(posed.means, avatar.gaussians.means, atol=1e-5)
    assert torch.allclose(posed.quats.abs(), avatar.gaussians.quats.abs(), atol=1e-5)


def _subtree_bones(rest, bone):
    inside = torch.zeros(len(rest.bone_names), dtype=torch.bool)
    inside[bone] = True
    for b in range(len(rest.bone_names)):
        if rest.parents[b] >= 0 and inside[rest.parents[b]]:
            inside[b] = True
    return inside


def test_one_joint_moves_only_its_subtree(avatar):
    rest = avatar.rest
    pose = Pose.zero().with_joint("left_elbow", [0, -math.pi / 2, 0])
    posed = avatar.posed(pose)
    moved = (posed.means - avatar.gaussians.means).norm(dim=-1) > 1e-5
    subtree = _subtree_bones(rest, rest.bone_names.index("lowerarm01.L"))
    g = avatar.gaussians
    influenced = (subtree[g.skin_indices] & (g.skin_weights > 0)).any(dim=1)
    assert moved.sum() > 1000
    assert not (moved & ~influenced).any()
    # The hand ends up in front of the elbow, in every layer attached to it.
    wrist = rest.joints[rest.bone_names.index("wrist.L")]
    hand = g.means[:, 0] > wrist[0] + 0.02
    assert hand.sum() > 100
    elbow = rest.joints[rest.bone_names.index("lowerarm01.L")]
    assert (posed.means[hand, 2] > elbow[2] + 0.15).float().mean() > 0.9


def test_orientation_follows_the_bone(avatar):
    rest = avatar.rest
    g = avatar.gaussians
    forearm = rest.bone_names.index("lowerarm01.L")
    rigid = (g.skin_indices[:, 0] == forearm) & (g.skin_weights[:, 0] > 0.999)
    assert rigid.sum() > 50
    angle = math.pi / 2
    posed = avatar.posed(Pose.zero().with_joint("left_elbow", [0, -angle, 0]))
    R = axis_angle_to_matrix(torch.tensor([0, -angle, 0]))
    expected = R @ quaternion_to_matrix(g.quats[rigid])
    assert torch.allclose(quaternion_to_matrix(posed.quats[rigid]), expected, atol=5e-3)


def test_translation_moves_everything(avatar):
    pose = Pose(torch.zeros(55, 3), torch.tensor([0.3, 0.0, -0.2]))
    posed = avatar.posed(pose)
    assert torch.allclose(posed.means - avatar.gaussians.means, torch.tensor([0.3, 0.0, -0.2]).expand_as(posed.means),
                          atol=1e-5)


def test_bone_quaternions_sit_in_their_parents_hemisphere():
    """Each bone's quaternion is its rotation's (up to sign) and agrees in sign with its parent's, so
    blending neighbouring bones never cancels; the alignment really flips bones."""
    from core.lbs import bone_quaternions
    from core.rotations import axis_angle_to_matrix, matrix_to_quaternion

    generator = torch.Generator().manual_seed(0)
    parents = torch.tensor([-1] + [int(torch.randint(0, j, (1,), generator=generator)) for j in range(1, 60)])
    flips = 0
    for _ in range(10):
        rotations = axis_angle_to_matrix(torch.randn(60, 3, generator=generator) * 2.5)
        q = bone_quaternions(rotations, parents)
        plain = matrix_to_quaternion(rotations)
        assert torch.allclose(q.abs(), plain.abs())
        assert ((q[1:] * q[parents[1:]]).sum(-1) >= 0).all()
        flips += int((q[:, 0] < 0).sum())
    assert flips > 10
