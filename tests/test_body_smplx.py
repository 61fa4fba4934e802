"""The SMPL-X backend on a synthetic SMPL-X-format model: frame, rig, shape, posing and bad input."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from smplx.lbs import lbs

from core.body import load_body
from core.body.smplx_body import SMPLXBody
from core.errors import AvatarStudioError
from core.lbs import forward_kinematics, skin_points
from core.pose import NUM_JOINTS, SMPLX_JOINT_INDEX, SMPLX_JOINT_NAMES, Pose
from tests.smplx_fixture import write_synthetic_smplx

J = SMPLX_JOINT_INDEX
NPZ = "SMPLX_NEUTRAL.npz"
OBJ = "smplx_uv.obj"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx"))


@pytest.fixture(scope="module")
def body(model_dir) -> SMPLXBody:
    return load_body("smplx", model_dir)


def _rewrite_npz(path: Path, drop: tuple[str, ...] = (), **replace) -> None:
    with np.load(path) as archive:
        data = {key: archive[key] for key in archive.files if key not in drop}
    data.update(replace)
    np.savez(path, **data)


def test_load_body_builds_a_consistent_rest(body):
    assert isinstance(body, SMPLXBody) and body.name == "smplx"
    assert body.shape_names == [f"beta{i}" for i in range(10)]
    assert body.expression_names == [f"expr{i}" for i in range(10)]
    assert body.default_shape() == {f"beta{i}": 0.0 for i in range(10)}
    rest = body.rest()
    V, F = rest.vertices.shape[0], rest.faces.shape[0]
    assert rest.vertices.dtype == torch.float32 and rest.vertices.shape == (V, 3)
    assert rest.faces.dtype == torch.int64 and rest.faces.shape == (F, 3)
    assert 0 <= int(rest.faces.min()) and int(rest.faces.max()) < V
    assert rest.uvs.dtype == torch.float32 and rest.uvs.shape[1] == 2
    assert rest.face_uvs.shape == (F, 3) and int(rest.face_uvs.max()) < rest.uvs.shape[0]
    assert rest.uvs.shape[0] != V  # seams split corners, not vertices
    assert rest.joints.shape == (NUM_JOINTS, 3)
    assert rest.bone_names == list(SMPLX_JOINT_NAMES)
    assert int(rest.parents[0]) == -1
    assert all(0 <= int(rest.parents[j]) < j for j in range(1, NUM_JOINTS))
    assert rest.skin_indices.shape == rest.skin_weights.shape and rest.skin_indices.shape[0] == V
    assert torch.allclose(rest.skin_weights.sum(dim=1), torch.ones(V))
    assert int(rest.skin_indices.max()) < NUM_JOINTS
    assert torch.equal(rest.bone_regions, torch.arange(NUM_JOINTS))


def test_rest_is_in_our_frame(body, model_dir):
    rest = body.rest()
    assert float(rest.vertices[:, 1].min()) == pytest.approx(0.0, abs=1e-6)  # feet on y = 0
    assert float(rest.joints[J["pelvis"], 1]) == pytest.approx(0.95, abs=0.03)
    with np.load(model_dir / NPZ) as archive:
        template = torch.from_numpy(archive["v_template"]).float()
    assert torch.allclose(rest.vertices[:, [0, 2]], template[:, [0, 2]], atol=1e-6)  # only lifted
    joints = {name: rest.joints[J[name]] for name in SMPLX_JOINT_NAMES}
    assert joints["left_shoulder"][0] > 0.1 and joints["right_shoulder"][0] < -0.1  # left at +X
    assert joints["left_wrist"][0] > 0.5 and joints["right_wrist"][0] < -0.5  # T-pose: arms along +-X ...
    assert float(joints["left_wrist"][1]) == pytest.approx(float(joints["left_shoulder"][1]), abs=0.02)  # ... level
    assert joints["head"][1] > joints["neck"][1] > joints["spine3"][1] > joints["pelvis"][1]
    assert joints["left_eye_smplhf"][2] > joints["head"][2] + 0.05  # faces +Z
    assert joints["left_foot"][2] > joints["left_ankle"][2]  # toes forward


def test_beta0_makes_the_body_taller_and_expressions_move_the_jaw(body):
    rest = body.rest()
    tall = body.rest({"beta0": 2.0})
    assert tall.height > rest.height * 1.1
    assert float(tall.vertices[:, 1].min()) == pytest.approx(0.0, abs=1e-6)
    assert tall.joints[J["head"], 1] > rest.joints[J["head"], 1] + 0.1  # joints follow the shape
    open_mouth = body.rest(expression={"expr0": 1.0})
    moved = (open_mouth.vertices - rest.vertices).norm(dim=1) > 1e-4
    assert moved.any() and torch.all(rest.vertex_regions()[moved] == J["jaw"])
    with pytest.raises(ValueError, match="beta42"):
        body.rest({"beta42": 1.0})


def test_identity_follows_the_model_content(body, tmp_path):
    assert NPZ in body.identity()
    assert load_body("smplx", write_synthetic_smplx(tmp_path / "same")).identity() == body.identity()
    other = write_synthetic_smplx(tmp_path / "other")
    with np.load(other / NPZ) as archive:
        template = archive["v_template"] * 1.01
    _rewrite_npz(other / NPZ, v_template=template)
    assert load_body("smplx", other).identity() != body.identity()
    assert load_body("smplx", other).cache_key(None) != body.cache_key(None)


def test_raising_the_right_arm_puts_the_wrist_above_the_head(body):
    rest = body.rest()
    pose = Pose.zero().with_joint("right_shoulder", [0.0, 0.0, -math.pi / 2])
    world, skinning = forward_kinematics(body.bone_rotations(pose), rest.joints, rest.parents)
    posed = skin_points(rest.vertices, skinning, rest.skin_indices, rest.skin_weights)
    head_top = float(rest.vertices[:, 1].max())
    assert float(world[J["right_wrist"], 1, 3]) > head_top
    assert float(world[J["right_wrist"], 0, 3]) == pytest.approx(float(rest.joints[J["right_shoulder"], 0]), abs=1e-4)
    hand = rest.vertex_regions() == J["right_wrist"]
    assert float(posed[hand, 1].min()) > head_top
    left_arm = rest.vertices[:, 0] > 0.15
    assert torch.allclose(posed[left_arm], rest.vertices[left_arm], atol=1e-6)


def test_posing_matches_the_smplx_package(body, model_dir):
    """Identity retarget: our FK + LBS reproduce smplx's own lbs() for the same axis-angle pose."""
    rest = body.rest()
    pose = Pose(torch.randn(NUM_JOINTS, 3, generator=torch.Generator().manual_seed(0)) * 0.4, torch.zeros(3))
    _, skinning = forward_kinematics(body.bone_rotations(pose), rest.joints, rest.parents)
    ours = skin_points(rest.vertices, skinning, rest.skin_indices, rest.skin_weights)
    with np.load(model_dir / NPZ) as archive:
        regressor = torch.from_numpy(archive["J_regressor"]).float()
        weights = torch.from_numpy(archive["weights"]).float()
    V = rest.vertices.shape[0]
    theirs, _ = lbs(
        torch.zeros(1, 1), pose.joints.reshape(1, -1), rest.vertices[None], torch.zeros(V, 3, 1),
        torch.zeros((NUM_JOINTS - 1) * 9, V * 3), regressor, rest.parents, weights,
    )
    assert torch.allclose(ours, theirs[0], atol=1e-5)


def test_loading_prints_nothing(model_dir, capsys):
    load_body("smplx", model_dir)
    assert capsys.readouterr().out == ""


def _break_missing_dir(d: Path) -> Path:
    return d / "no_such_folder"


def _break_no_npz(d: Path) -> Path:
    (d / NPZ).unlink()
    return d


def _break_missing_key(d: Path) -> Path:
    _rewrite_npz(d / NPZ, drop=("J_regressor",))
    return d


def _break_corrupt_bytes(d: Path) -> Path:
    (d / NPZ).write_bytes(b"this is not a zip archive at all" * 10)
    return d


def _break_truncated(d: Path) -> Path:
    data = (d / NPZ).read_bytes()
    (d / NPZ).write_bytes(data[: len(data) // 2])
    return d


def _break_damaged_member(d: Path) -> Path:
    data = bytearray((d / NPZ).read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # the zip directory survives; a member's bytes do not
    (d / NPZ).write_bytes(bytes(data))
    return d


def _break_wrong_shape(d: Path) -> Path:
    with np.load(d / NPZ) as archive:
        weights = archive["weights"][:, :54]
    _rewrite_npz(d / NPZ, weights=weights)
    return d


def _break_missing_obj(d: Path) -> Path:
    (d / OBJ).unlink()
    return d


def _break_obj_mismatch(d: Path) -> Path:
    lines = (d / OBJ).read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("f "))
    a, b, c = lines[first].split()[1:]
    lines[first] = f"f {a} {c} {b}"  # flipped winding: same vertices, different triangle
    (d / OBJ).write_text("\n".join(lines) + "\n")
    return d


def _break_obj_without_uvs(d: Path) -> Path:
    text = (d / OBJ).read_text()
    (d / OBJ).write_text(re.sub(r"/\d+", "", text))  # f v/vt -> f v
    return d


@pytest.mark.parametrize(
    "breaker, named",
    [
        (_break_missing_dir, "no_such_folder"),
        (_break_no_npz, NPZ),
        (_break_missing_key, NPZ),
        (_break_corrupt_bytes, NPZ),
        (_break_truncated, NPZ),
        (_break_damaged_member, NPZ),
        (_break_wrong_shape, NPZ),
        (_break_missing_obj, OBJ),
        (_break_obj_mismatch, OBJ),
        (_break_obj_without_uvs, OBJ),
    ],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path, breaker, named):
    target = breaker(write_synthetic_smplx(tmp_path / "model"))
    with pytest.raises(AvatarStudioError) as caught:
        load_body("smplx", target)
    message = str(caught.value)
    assert named in message and "\n" not in message


def test_missing_key_and_wrong_shape_are_named(tmp_path):
    with pytest.raises(AvatarStudioError, match="missing J_regressor"):
        load_body("smplx", _break_missing_key(write_synthetic_smplx(tmp_path / "a")))
    with pytest.raises(AvatarStudioError, match=r"weights has shape \(440, 54\)"):
        load_body("smplx", _break_wrong_shape(write_synthetic_smplx(tmp_path / "b")))
    only_betas = write_synthetic_smplx(tmp_path / "c")
    with np.load(only_betas / NPZ) as archive:
        shapedirs = archive["shapedirs"][:, :, :10]
    _rewrite_npz(only_betas / NPZ, shapedirs=shapedirs)
    with pytest.raises(AvatarStudioError, match=r"shapedirs \(expressions 0..9\) has shape \(440, 3, 0\)"):
        load_body("smplx", only_betas)


def test_other_genders_are_offered_when_the_requested_one_is_missing(tmp_path):
    d = write_synthetic_smplx(tmp_path)
    (d / NPZ).rename(d / "SMPLX_FEMALE.npz")
    with pytest.raises(AvatarStudioError, match="SMPLX_FEMALE.npz"):
        load_body("smplx", d)
    assert load_body("smplx", d, gender="female").identity().startswith("smplx-SMPLX_FEMALE.npz")
