"""Motion clips: AMASS files as found in the wild, our clip format, playback, built-ins, CLI and video.

The AMASS fixtures copy the real files' keys, shapes and dtypes (float64 arrays, gender as str or bytes,
both frame-rate spellings, extra keys such as markers and dmpls, a pickled entry nobody should touch).
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import main
from core.errors import AvatarStudioError
from core.gaussians import LAYER_IDS
from core.motion import (BUILTIN_MOTIONS, MotionClip, builtin_motion_path, load_motion, save_motion,
                         smplx_hand_mean)
from core.pose import NUM_JOINTS, SMPLX_JOINT_INDEX
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from tests.smplx_fixture import write_synthetic_smplx

ROOT = Path(__file__).resolve().parents[1]
J = SMPLX_JOINT_INDEX
FRAMES = 12
STANDING = [math.pi / 2, 0.0, 0.0]  # AMASS root orientation of a subject standing upright in its Z-up world
RIGHT_HAND = [J["right_wrist"]] + list(range(J["right_index1"], J["right_thumb3"] + 1))


def arm_raise_joints() -> np.ndarray:
    """(FRAMES, 55, 3) float64: standing, raising the right arm from the T to straight up."""
    joints = np.zeros((FRAMES, NUM_JOINTS, 3))
    joints[:, 0] = STANDING
    joints[:, J["right_shoulder"], 2] = -np.linspace(0.0, math.pi / 2, FRAMES)
    joints[:, J["left_index1"]:J["left_thumb3"] + 1, 2] = -0.3  # a soft curl, to see the hands arrive
    return joints


def rising_trans() -> np.ndarray:
    """Pelvis at the reference height at first (standing), 0.3 m higher at the end, 1.5 m off the origin."""
    trans = np.zeros((FRAMES, 3))
    trans[:, 0] = 1.5
    trans[:, 1] = -0.4
    trans[:, 2] = 0.93 + np.linspace(0.0, 0.3, FRAMES)
    return trans


def write_smplh(path: Path, joints: np.ndarray, trans: np.ndarray) -> Path:
    """An AMASS SMPL+H npz: poses N x 156 (no jaw, no eyes), gender as bytes, `mocap_framerate`."""
    poses = np.concatenate([joints[:, :22], joints[:, 25:55]], axis=1).reshape(len(joints), 156)
    np.savez(path, trans=trans, gender=np.array(b"female"), mocap_framerate=np.array(120.0),
             betas=np.zeros(16), dmpls=np.zeros((len(joints), 8)), poses=poses)
    return path


def write_smplx(path: Path, joints: np.ndarray, trans: np.ndarray, with_poses: bool) -> Path:
    """An AMASS SMPL-X npz (stage II keys, `mocap_frame_rate`, gender as str), with or without `poses`."""
    n = len(joints)
    arrays = dict(
        gender=np.array("male"), surface_model_type=np.array("smplx"), mocap_frame_rate=np.array(60.0),
        mocap_time_length=np.array(n / 60.0), markers_latent=np.zeros((41, 3)),
        latent_labels=np.array([f"M{i}" for i in range(41)]), markers_latent_vids=np.array({"C7": 3}, dtype=object),
        trans=trans, betas=np.zeros(16), num_betas=np.array(16),
        root_orient=joints[:, 0], pose_body=joints[:, 1:22].reshape(n, 63), pose_jaw=joints[:, 22],
        pose_eye=joints[:, 23:25].reshape(n, 6), pose_hand=joints[:, 25:55].reshape(n, 90),
    )
    if with_poses:
        arrays["poses"] = joints.reshape(n, 165)
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def amass_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("amass")
    joints, trans = arm_raise_joints(), rising_trans()
    return {
        "smplh": write_smplh(folder / "raise_smplh.npz", joints, trans),
        "smplx": write_smplx(folder / "raise_smplx.npz", joints, trans, with_poses=True),
        "stage2": write_smplx(folder / "raise_stage2.npz", joints, trans, with_poses=False),
    }


@pytest.fixture(scope="module")
def smplx_avatar(tmp_path_factory):
    from core.body.smplx_body import SMPLXBody
    from core.default_avatar import default_avatar

    return default_avatar(SMPLXBody(write_synthetic_smplx(tmp_path_factory.mktemp("smplx"))), seed=1)


@pytest.fixture(params=["anny", "smplx"])
def any_avatar(request, avatar, smplx_avatar):
    return avatar if request.param == "anny" else smplx_avatar


def regions(avatar) -> torch.Tensor:
    """SMPL-X joint each Gaussian follows most."""
    g = avatar.gaussians
    lead = g.skin_indices.gather(1, g.skin_weights.argmax(1, keepdim=True))[:, 0]
    return avatar.rest.bone_regions[lead]


# --- AMASS files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["smplh", "smplx", "stage2"])
def test_amass_files_load_into_our_convention(amass_files, kind):
    clip = load_motion(amass_files[kind])
    assert clip.poses.shape == (FRAMES, NUM_JOINTS, 3) and clip.poses.dtype == torch.float32
    assert clip.fps == (120.0 if kind == "smplh" else 60.0)
    assert clip.duration == pytest.approx(FRAMES / clip.fps)
    assert ("female" if kind == "smplh" else "male") in clip.source  # bytes and str genders both read
    # Z-up -> Y-up: the upright AMASS subject stands upright here (no root rotation left).
    assert torch.allclose(clip.poses[:, 0], torch.zeros(FRAMES, 3), atol=1e-6)
    assert torch.allclose(clip.poses[:, J["right_shoulder"], 2], -torch.linspace(0, math.pi / 2, FRAMES), atol=1e-6)
    assert torch.allclose(clip.poses[:, J["left_index1"], 2], torch.full((FRAMES,), -0.3))
    # The pelvis starts standing above the origin; AMASS +Z (up) rises along our +Y.
    assert torch.allclose(clip.translation[0], torch.zeros(3), atol=1e-6)
    assert torch.allclose(clip.translation[-1], torch.tensor([0.0, 0.3, 0.0]), atol=1e-5)


def test_all_amass_layouts_give_the_same_motion(amass_files):
    clips = [load_motion(path) for path in amass_files.values()]
    for clip in clips[1:]:
        assert torch.allclose(clip.poses, clips[0].poses) and torch.allclose(clip.translation, clips[0].translation)


def test_amass_heading_and_walk_direction_convert_to_y_up(tmp_path):
    joints = np.zeros((2, NUM_JOINTS, 3))
    turned = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2])) @ axis_angle_to_matrix(torch.tensor(STANDING))
    joints[:, 0] = matrix_to_axis_angle(turned).numpy()  # AMASS: turned 90 degrees about its up axis (Z)
    trans = np.array([[0.0, 0.0, 0.93], [0.0, -1.0, 0.93]])  # and stepping 1 m along AMASS -Y
    clip = load_motion(write_smplh(tmp_path / "turn.npz", joints, trans))
    assert torch.allclose(clip.poses[0, 0], torch.tensor([0.0, math.pi / 2, 0.0]), atol=1e-5)  # about our up (+Y)
    assert torch.allclose(clip.translation[1], torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)  # -Y (AMASS) -> +Z (ours)


def test_hands_relative_to_the_smplx_mean_get_the_mean_added(amass_files, tmp_path):
    mean = np.arange(90, dtype=np.float64).reshape(2, 45) / 100
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", hands_meanl=mean[0], hands_meanr=mean[1])
    flat = load_motion(amass_files["smplh"])
    relative = load_motion(amass_files["smplh"], hand_mean=smplx_hand_mean(tmp_path))
    added = relative.poses[:, J["left_index1"]:] - flat.poses[:, J["left_index1"]:]
    assert torch.allclose(added, torch.from_numpy(mean.reshape(30, 3)).float().expand(FRAMES, 30, 3), atol=1e-6)
    assert torch.equal(relative.poses[:, :J["left_index1"]], flat.poses[:, :J["left_index1"]])
    with pytest.raises(AvatarStudioError, match="--body-dir"):
        smplx_hand_mean(None)


# --- On both bodies --------------------------------------------------------------------------------------


def test_raising_the_right_arm_puts_the_right_hand_above_the_head(amass_files, any_avatar):
    clip = load_motion(amass_files["stage2"])
    posed = any_avatar.posed(clip.frame(FRAMES - 1, any_avatar.rest.translation_scale))
    region = regions(any_avatar)
    head_top = float(posed.means[region == J["head"], 1].max())
    right_hand = posed.means[torch.isin(region, torch.tensor(RIGHT_HAND)), 1]
    left_hand = posed.means[region == J["left_wrist"], 1]
    assert float(right_hand.mean()) > head_top
    assert float(left_hand.mean()) < head_top - 0.15  # the left arm stays out to the side


def test_translation_moves_every_layer_with_the_body(amass_files, any_avatar):
    clip = load_motion(amass_files["smplh"])
    clip.poses[:] = 0.0  # translation only
    scale = any_avatar.rest.translation_scale
    posed = any_avatar.posed(clip.frame(FRAMES - 1, scale))
    lift = torch.tensor([0.0, 0.3 * scale, 0.0])
    assert torch.allclose(posed.means - any_avatar.gaussians.means, lift.expand_as(posed.means), atol=1e-4)


def test_garments_and_hair_turn_and_travel_with_the_body(any_avatar):
    """Every layer's centroid follows the rigid root motion: nothing is left behind in the rest pose."""
    yaw = torch.tensor([0.0, math.pi / 2, 0.0])
    clip = MotionClip(torch.zeros(1, NUM_JOINTS, 3), torch.tensor([[0.4, 0.1, -0.3]]), 30.0, "turn")
    clip.poses[0, 0] = yaw
    pose = clip.frame(0, any_avatar.rest.translation_scale)
    posed = any_avatar.posed(pose)
    rest, root = any_avatar.gaussians, any_avatar.rest.joints[0]
    R = axis_angle_to_matrix(yaw)
    expected = (rest.means - root) @ R.T + root + pose.translation
    assert torch.allclose(posed.means, expected, atol=1e-4)
    for layer, layer_id in LAYER_IDS.items():
        mine = rest.layers == layer_id
        if mine.any():
            centroid = posed.means[mine].mean(0)
            assert torch.allclose(centroid, expected[mine].mean(0), atol=1e-4), layer
            assert (centroid - rest.means[mine].mean(0)).norm() > 0.3, layer


def test_raised_arm_takes_its_sleeve_along(amass_files, avatar):
    clip = load_motion(amass_files["smplh"])
    posed = avatar.posed(clip.frame(FRAMES - 1, avatar.rest.translation_scale))
    region = regions(avatar)
    for layer_id in (LAYER_IDS["top"], LAYER_IDS["body"]):
        arm = (avatar.gaussians.layers == layer_id) & torch.isin(region, torch.tensor([J["right_elbow"], J["right_wrist"]]))
        if arm.any():
            assert float((posed.means[arm, 1] - avatar.gaussians.means[arm, 1]).mean()) > 0.3


# --- Bad files -------------------------------------------------------------------------------------------


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    joints, trans = arm_raise_joints(), rising_trans()
    good = write_smplh(folder / "good.npz", joints, trans)
    missing = folder / "no_poses.npz"
    np.savez(missing, trans=trans, mocap_framerate=np.array(120.0), betas=np.zeros(16))
    narrow = folder / "smpl72.npz"
    np.savez(narrow, poses=np.zeros((FRAMES, 72)), trans=trans, mocap_framerate=np.array(120.0))
    nan = folder / "nan.npz"
    poses = np.zeros((FRAMES, 156))
    poses[3, 10] = np.nan
    np.savez(nan, poses=poses, trans=trans, mocap_framerate=np.array(120.0))
    truncated = folder / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = folder / "notes.npz"
    text.write_text("walking, take 3\n")
    return {
        "missing poses": (missing, "no pose data"),
        "wrong width": (narrow, "(12, 72)"),
        "nan": (nan, "NaN or infinite values (first at frame 3)"),
        "truncated": (truncated, "truncated or corrupt"),
        "not an npz": (text, "neither an .npz archive nor a JSON clip"),
    }


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return _bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("kind", ["missing poses", "wrong width", "nan", "truncated", "not an npz"])
def test_bad_motion_files_are_refused_in_one_line(bad_files, kind, capsys, tmp_path):
    path, words = bad_files[kind]
    with pytest.raises(AvatarStudioError) as caught:
        load_motion(path)
    message = str(caught.value)
    assert str(path) in message and words in message and "\n" not in message
    # Through the CLI: exit code 2, the same single line, no traceback.
    assert main.main(["render", "--motion", str(path), "--out", str(tmp_path / "a.png")]) == main.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"avatar-studio: error: {message}"]


def test_cli_refuses_a_bad_motion_file_without_a_traceback(bad_files, tmp_path):
    path, words = bad_files["nan"]
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "export", "--motion", str(path), "--ply",
                             str(tmp_path / "a.ply")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert str(path) in result.stderr and words in result.stderr


def test_unknown_motion_names_list_the_built_ins():
    with pytest.raises(AvatarStudioError, match="built-in motions: idle, walk, wave, turn, jump"):
        load_motion("moonwalk")


# --- Our clip format -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_our_clip_format_round_trips(amass_files, tmp_path, suffix):
    clip = load_motion(amass_files["smplx"])
    path = save_motion(clip, tmp_path / f"clip{suffix}")
    again = load_motion(path)
    assert torch.allclose(again.poses, clip.poses, atol=1e-6)
    assert torch.allclose(again.translation, clip.translation, atol=1e-6)
    assert (again.fps, again.name, again.source) == (clip.fps, clip.name, clip.source)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"clip{suffix}"]  # no temp files left behind


def test_saving_needs_a_known_extension(tmp_path):
    clip = MotionClip(torch.zeros(1, NUM_JOINTS, 3), torch.zeros(1, 3), 30.0, "still")
    with pytest.raises(AvatarStudioError, match=r"\.npz or \.json"):
        save_motion(clip, tmp_path / "clip.bvh")


# --- Playback --------------------------------------------------------------------------------------------


def _spin_clip() -> MotionClip:
    """Three frames at 10 fps: the head turning 0, 0.4, 0.8 rad about a tilted axis; the root rising 0, 1, 2 cm."""
    axis = torch.tensor([0.0, 0.6, 0.8])
    poses = torch.zeros(3, NUM_JOINTS, 3)
    poses[:, J["head"]] = torch.tensor([0.0, 0.4, 0.8])[:, None] * axis
    translation = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.01, 0.0], [0.0, 0.02, 0.0]])
    return MotionClip(poses, translation, 10.0, "spin")


def test_pose_at_slerps_between_frames():
    clip = _spin_clip()
    axis = torch.tensor([0.0, 0.6, 0.8])
    assert clip.duration == pytest.approx(0.3)
    assert torch.equal(clip.pose_at(0.1).joints, clip.poses[1])
    for t, angle in ((0.05, 0.2), (0.125, 0.5), (0.19, 0.76)):
        pose = clip.pose_at(t)
        assert torch.allclose(pose.joints[J["head"]], angle * axis, atol=1e-5)
        assert pose.translation[1] == pytest.approx(angle / 40.0, abs=1e-6)
    assert torch.allclose(clip.pose_at(0.15, translation_scale=2.0).translation, torch.tensor([0, 0.03, 0]))
    # Without loop the ends hold; with loop the last frame blends back into the first.
    assert torch.equal(clip.pose_at(5.0).joints, clip.poses[2]) and torch.equal(clip.pose_at(-1).joints, clip.poses[0])
    assert torch.allclose(clip.pose_at(0.25, loop=True).joints[J["head"]], 0.4 * axis, atol=1e-5)
    assert torch.allclose(clip.pose_at(0.35, loop=True).joints[J["head"]], 0.2 * axis, atol=1e-5)


def test_pose_at_takes_the_short_way_round():
    """Frames just either side of a half turn: the blend passes through the half turn, not through rest."""
    poses = torch.zeros(2, NUM_JOINTS, 3)
    poses[0, J["pelvis"]] = torch.tensor([0.0, math.pi - 0.05, 0.0])
    poses[1, J["pelvis"]] = torch.tensor([0.0, -(math.pi - 0.05), 0.0])  # = pi + 0.05 the same way round
    middle = MotionClip(poses, torch.zeros(2, 3), 30.0, "half turn").pose_at(0.5 / 30)
    assert abs(float(middle.joints[J["pelvis"]].norm()) - math.pi) < 1e-4


def test_playback_is_smooth(amass_files):
    clip = load_motion(amass_files["smplx"])
    times = np.linspace(0.0, clip.duration, 400)
    rotations = axis_angle_to_matrix(torch.stack([clip.pose_at(float(t)).joints[J["right_shoulder"]] for t in times]))
    steps = torch.acos(((rotations[1:] * rotations[:-1]).sum((-1, -2)) - 1).div(2).clamp(-1, 1))
    frame_step = (math.pi / 2) / (FRAMES - 1)
    assert float(steps.max()) < 1.5 * frame_step * (clip.duration / (len(times) - 1)) * clip.fps


# --- Built-in motions ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtins():
    return {name: load_motion(name) for name in BUILTIN_MOTIONS}


def test_builtin_motions_are_small_30_fps_clips_of_a_few_seconds(builtins):
    for name, clip in builtins.items():
        assert builtin_motion_path(name).stat().st_size < 32 * 1024
        assert clip.fps == 30.0 and 2.0 <= clip.duration <= 5.0, name
        assert clip.name == name


def test_builtin_motions_keep_the_feet_on_the_floor(builtins, avatar):
    scale = avatar.rest.translation_scale
    shoes = avatar.gaussians.layers == LAYER_IDS["shoes"]
    for name, clip in builtins.items():
        for k in range(0, clip.num_frames, 6):
            lowest = float(avatar.posed(clip.frame(k, scale)).means[shoes, 1].min())
            airborne = name == "jump" and 0.97 < k / clip.fps < 1.43
            assert (lowest > 0.05) if airborne else (-0.03 < lowest < 0.04), (name, k, lowest)


def test_builtin_motions_do_what_their_names_say(builtins, avatar):
    scale = avatar.rest.translation_scale
    walk = builtins["walk"]
    assert float(walk.translation[-1, 2]) > 2.5  # three strides forward
    jump = builtins["jump"]
    apex = avatar.posed(jump.pose_at(1.2, translation_scale=scale)).means
    assert float(apex[:, 1].min()) > 0.2
    turn = builtins["turn"]
    headings = [float(turn.pose_at(t).joints[0, 1]) for t in (0.3, 1.0)]
    assert 0.0 < headings[0] < headings[1]  # turning to the left (+Y)
    wave = builtins["wave"]
    region = regions(avatar)
    for t in (0.7, 1.25, 1.85):  # raised, waving in, waving out: the hand is up by the head
        raised = avatar.posed(wave.pose_at(t, translation_scale=scale)).means
        hand = raised[torch.isin(region, torch.tensor(RIGHT_HAND)), 1].mean()
        assert float(hand) > float(raised[region == J["head"], 1].max()) - 0.15


def test_builtin_loops_close(builtins):
    """Played as a loop, the step from the last frame back to the first is like any other step."""
    for name, clip in builtins.items():
        R = axis_angle_to_matrix(clip.poses)
        looped = torch.cat([R, R[:1]])
        steps = torch.acos(((looped[1:] * looped[:-1]).sum((-1, -2)) - 1).div(2).clamp(-1, 1)).amax(-1)
        assert float(steps[-1]) <= 1.2 * float(steps[:-1].max()) + 1e-3, name


# --- CLI and video ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_avatar(monkeypatch, avatar):
    """The CLI with the session's avatar, so these tests time the motion path, not the body build."""
    monkeypatch.setattr(main, "load_avatar", lambda args: avatar)
    return avatar


def test_cli_renders_a_frame_of_a_builtin_motion(cli_avatar, tmp_path):
    from PIL import Image

    out = tmp_path / "walk.png"
    assert main.main(["render", "--motion", "walk", "--frame", "20", "--size", "96", "96", "--out", str(out)]) == 0
    image = np.asarray(Image.open(out).convert("RGB")).astype(np.float32) / 255
    assert (np.abs(image - np.array([0.16, 0.16, 0.18])).max(-1) > 0.06).mean() > 0.05
    assert main.main(["render", "--motion", "walk", "--frame", "99", "--out", str(out)]) == main.EXIT_USER_ERROR


def test_cli_exports_a_posed_frame(cli_avatar, tmp_path):
    from core.ply import read_ply

    out = tmp_path / "jump.ply"
    assert main.main(["export", "--posed", "--motion", "jump", "--frame", "36", "--ply", str(out)]) == 0
    assert float(read_ply(out).means[:, 1].min()) > 0.2  # mid-air


def test_cli_renders_a_video(cli_avatar, tmp_path, capsys):
    import imageio_ffmpeg

    out = tmp_path / "wave.mp4"
    assert main.main(["render", "--motion", "wave", "--video", str(out), "--fps", "5", "--size", "64", "64"]) == 0
    assert "rendering frame 16/16" in capsys.readouterr().err
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(64, 64, 3) for f in reader]
    assert meta["size"] == (64, 64) and meta["fps"] == 5.0 and len(frames) == 16  # 3.2 s at 5 fps
    assert np.abs(frames[0].astype(int) - frames[7]).mean() > 0.5  # the arm moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wave.mp4"]
    assert main.main(["render", "--motion", "wave", "--video", str(tmp_path / "wave.avi")]) == main.EXIT_USER_ERROR
