"""The default body in our frame: size, floor, facing, handedness, T-pose, and the SMPL-X map."""
import math

import torch

from core.lbs import forward_kinematics, skin_points
from core.pose import Pose


def joint(rest, name):
    return rest.joints[rest.bone_names.index(name)]


def test_human_size_on_the_floor(anny_rest):
    v = anny_rest.vertices
    assert 1.5 < anny_rest.height < 2.0
    assert abs(float(v[:, 1].min())) < 1e-5
    # Centred on the vertical axis.
    assert abs(float(v[:, 0].mean())) < 0.02


def test_faces_plus_z_with_left_at_plus_x(anny_rest):
    head, eye_l, eye_r = joint(anny_rest, "head"), joint(anny_rest, "eye.L"), joint(anny_rest, "eye.R")
    assert eye_l[2] > head[2] + 0.03 and eye_r[2] > head[2] + 0.03  # eyes in front of the head
    assert joint(anny_rest, "toe3-1.L")[2] > joint(anny_rest, "foot.L")[2] + 0.05  # toes point forward
    assert eye_l[0] > 0 > eye_r[0]
    assert joint(anny_rest, "upperarm01.L")[0] > 0.1 > -0.1 > joint(anny_rest, "upperarm01.R")[0]


def test_rest_is_a_t_pose(anny_rest):
    for side in ("L", "R"):
        shoulder, wrist = joint(anny_rest, f"upperarm01.{side}"), joint(anny_rest, f"wrist.{side}")
        arm = wrist - shoulder
        assert abs(float(arm[1])) < 0.02 and abs(float(arm[2])) < 0.02  # horizontal, not forward
        assert abs(float(arm[0])) > 0.4


def test_faces_are_wound_outward(anny_rest):
    from core.templates import vertex_normals

    n = vertex_normals(anny_rest.vertices, anny_rest.faces)
    top = anny_rest.vertices[:, 1].argmax()
    assert n[top, 1] > 0.9


def test_weights_are_normalised(anny_rest):
    assert torch.allclose(anny_rest.skin_weights.sum(1), torch.ones(anny_rest.vertices.shape[0]), atol=1e-5)
    assert all(int(p) < i for i, p in enumerate(anny_rest.parents[1:], start=1))


def _posed_joints(body, rest, pose):
    world, skinning = forward_kinematics(body.bone_rotations(pose), rest.joints, rest.parents, pose.translation)
    return world[:, :3, 3], skinning


def test_left_elbow_bends_the_left_forearm_only(anny_body, anny_rest):
    pose = Pose.zero().with_joint("left_elbow", [0, -math.pi / 2, 0])  # bend forward (+Z)
    joints, _ = _posed_joints(anny_body, anny_rest, pose)
    wl, wr = anny_rest.bone_names.index("wrist.L"), anny_rest.bone_names.index("wrist.R")
    elbow = joint(anny_rest, "lowerarm01.L")
    forearm = joints[wl] - elbow
    assert forearm[2] > 0.2 and abs(float(forearm[0])) < 0.05  # now points forward
    assert torch.allclose(joints[wr], anny_rest.joints[wr], atol=1e-6)


def test_zero_pose_is_rest_and_presets_lower_the_arms(anny_body, anny_rest):
    joints, skinning = _posed_joints(anny_body, anny_rest, Pose.zero())
    assert torch.allclose(joints, anny_rest.joints, atol=1e-5)
    posed = skin_points(anny_rest.vertices, skinning, anny_rest.skin_indices, anny_rest.skin_weights)
    assert torch.allclose(posed, anny_rest.vertices, atol=1e-5)
    wl = anny_rest.bone_names.index("wrist.L")
    for name, drop in (("a", 0.3), ("relaxed", 0.45)):
        joints, _ = _posed_joints(anny_body, anny_rest, Pose.preset(name))
        assert anny_rest.joints[wl, 1] - joints[wl, 1] > drop


def test_shape_changes_the_body(anny_body):
    tall = anny_body.rest({"height": 1.0}).height
    short = anny_body.rest({"height": 0.0}).height
    assert tall > short + 0.2


def test_every_smplx_joint_but_jaw_reaches_a_bone(anny_body):
    from core.pose import SMPLX_JOINT_NAMES
    from core.body.anny_body import SMPLX_TO_ANNY

    for name in SMPLX_JOINT_NAMES:
        bones = SMPLX_TO_ANNY[name]
        assert bones or name == "jaw"
        assert all(b in anny_body.bone_names for b in bones)
