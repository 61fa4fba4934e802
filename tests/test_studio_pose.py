"""The studio's pose editor, timeline and motion playback, driven through the state without a window,
plus one window test with a motion playing."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from app.pose_state import JOINT_TABLE, JOINTS, PRESETS, X, Y, Z, angles_to_axis_angle, axis_angle_to_angles
from app.state import DEFAULT_BACKGROUND, StudioState
from app.timeline import Timeline, format_time
from core.pose import SMPLX_JOINT_INDEX as J
from core.pose import SMPLX_JOINT_NAMES, Pose

from test_studio import ROOT, largest_component, studio_command

HAND = ("wrist", "thumb1", "thumb2", "thumb3", "index1", "index2", "index3", "middle1", "middle2", "middle3",
        "ring1", "ring2", "ring3", "pinky1", "pinky2", "pinky3")


@pytest.fixture()
def state(anny_body, avatar):
    s = StudioState(body_name="anny", body=anny_body)
    s.show_avatar(avatar)
    return s


def region_mask(state: StudioState, *joints: str) -> torch.Tensor:
    """Posed Gaussians whose strongest bone belongs to one of `joints`."""
    g, rest = state.gaussians, state.avatar.rest
    regions = rest.bone_regions[g.skin_indices[:, 0]]
    return torch.isin(regions, torch.tensor([J[name] for name in joints]))


def centroid(state: StudioState, *joints: str) -> np.ndarray:
    return state.gaussians.means[region_mask(state, *joints)].mean(0).numpy()


def clip(frames: int = 10, fps: float = 10.0, name: str = "test"):
    """A clip whose left elbow bends 10 degrees more each frame and whose root walks 0.1 m per frame."""
    from core.motion import MotionClip

    poses = torch.zeros(frames, 55, 3)
    poses[:, J["left_elbow"], 1] = -torch.deg2rad(10.0 * torch.arange(frames))
    translation = torch.zeros(frames, 3)
    translation[:, 2] = 0.1 * torch.arange(frames)
    return MotionClip(poses, translation, fps, name)


def test_joint_table_covers_smplx_with_sane_limits():
    from app.studio import BUILTIN_MOTIONS
    from core.motion import BUILTIN_MOTIONS as CORE_MOTIONS

    assert BUILTIN_MOTIONS == CORE_MOTIONS
    assert set(JOINTS) == set(SMPLX_JOINT_NAMES) and len(JOINT_TABLE) == 55
    for spec in JOINT_TABLE:
        assert sorted(a.axis for a in spec.axes) == [X, Y, Z], spec.name
        assert all(a.lo < a.hi and a.label for a in spec.axes), spec.name
        if spec.partner:
            partner = JOINTS[spec.partner]
            assert [(a.label, a.lo, a.hi) for a in spec.axes] == [(a.label, a.lo, a.hi) for a in partner.axes]
    assert (JOINTS["left_elbow"].axes[0].label, JOINTS["left_elbow"].axes[0].lo, JOINTS["left_elbow"].axes[0].hi) \
        == ("bend", 0.0, 150.0)
    assert (JOINTS["left_knee"].axes[0].label, JOINTS["left_knee"].axes[0].hi) == ("bend", 150.0)


def test_slider_angles_round_trip_and_one_slider_is_one_world_axis():
    rng = np.random.default_rng(1)
    lo = np.array([[min(a.lo for a in JOINTS[n].axes if a.axis == k) for k in range(3)] for n in SMPLX_JOINT_NAMES])
    hi = np.array([[max(a.hi for a in JOINTS[n].axes if a.axis == k) for k in range(3)] for n in SMPLX_JOINT_NAMES])
    angles = rng.uniform(lo, hi)
    assert np.allclose(axis_angle_to_angles(angles_to_axis_angle(angles)), angles, atol=1e-6)
    one = np.zeros((55, 3))
    one[J["right_shoulder"], Z] = 30.0  # "raise": the right arm lifts, a rotation about -Z
    aa = angles_to_axis_angle(one)
    assert np.allclose(aa[J["right_shoulder"]], [0, 0, -np.radians(30)])
    assert np.abs(np.delete(aa, J["right_shoulder"], 0)).max() == 0


def test_raising_the_right_shoulder_puts_the_right_hand_above_the_head(state):
    hand = [f"right_{j}" for j in HAND]
    assert centroid(state, *hand)[1] < 1.0, "relaxed: the hand hangs"
    state.set_joint_angle("right_shoulder", Z, 90.0)  # what the "raise" slider's callback does
    state.refresh()
    head_top = float(state.gaussians.means[region_mask(state, "head"), 1].max())
    right, left = centroid(state, *hand), centroid(state, *[f"left_{j}" for j in HAND])
    assert right[1] > head_top and right[0] < 0, "the avatar's right hand, above its head"
    assert left[1] < 1.0, "the left arm stays down"
    assert state.pose_name == "custom" and np.isclose(state.editor.angles[J["right_shoulder"], Z], 90.0)
    # Anny opens its jaw with an expression, not a bone: the panel disables the jaw's sliders.
    assert "jaw" not in state.driven_joints and {"left_eye_smplhf", "right_wrist"} <= state.driven_joints


def test_mirror_sets_the_other_side_as_its_reflection(state):
    state.set_mirror(True)
    state.set_joint_angle("left_shoulder", Y, 40.0)
    state.set_joint_angle("left_elbow", Y, 90.0)
    state.set_joint_angle("left_hip", X, 30.0)
    state.refresh()
    aa = state.editor.axis_angle
    for joint in ("shoulder", "elbow", "hip"):
        assert np.allclose(aa[J[f"right_{joint}"]], aa[J[f"left_{joint}"]] * [1, -1, -1]), joint
    for part in (HAND, ("ankle", "foot")):
        left = centroid(state, *[f"left_{j}" for j in part])
        right = centroid(state, *[f"right_{j}" for j in part])
        assert np.allclose(right, left * [-1, 1, 1], atol=0.01), f"{part[0]}: mirrored across x = 0"
    assert centroid(state, *[f"left_{j}" for j in HAND])[2] > 0.25, "the arms really moved forward"
    state.set_mirror(False)
    state.set_joint_angle("left_elbow", Y, 10.0)
    assert state.editor.angles[J["right_elbow"], Y] == pytest.approx(90.0), "mirror off: one side only"


def test_reset_joint_and_reset_all(state):
    state.set_mirror(True)
    state.set_joint_angle("left_knee", X, 60.0)
    state.reset_joint("right_knee")
    assert not state.editor.axis_angle[[J["left_knee"], J["right_knee"]]].any(), "mirror resets both"
    state.set_joint_angle("head", Y, 30.0)
    state.reset_pose()
    state.refresh()
    assert state.pose_name == "t" and not state.editor.axis_angle.any()
    assert abs(state.editor.translation).max() < 0.01
    assert np.ptp(state.gaussians.means[:, 0].numpy()) > 1.4, "arms straight out"


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_stand_on_the_floor_within_the_limits(state, name):
    state.set_pose(name)
    assert state.pose_name == name and state.message.startswith("Pose:")
    body = state.gaussians.layers == 0
    assert abs(float(state.gaussians.means[body, 1].min())) < 0.012, "feet on the floor"
    angles = state.editor.angles
    for spec in JOINT_TABLE:
        for a in spec.axes:
            assert a.lo - 1e-6 <= angles[J[spec.name], a.axis] <= a.hi + 1e-6, (name, spec.name, a.label)
    if PRESETS[name].angles is None:  # the CLI's presets, exactly
        assert np.allclose(state.editor.axis_angle, Pose.preset(name).joints.numpy(), atol=1e-6)
    if name == "hands_on_hips":
        pelvis = centroid(state, "pelvis")
        for side in ("left", "right"):
            hand = centroid(state, f"{side}_wrist", f"{side}_middle1")
            assert abs(hand[1] - pelvis[1]) < 0.15 and 0.08 < abs(hand[0]) < 0.3, side
    if name == "arms_crossed":
        assert centroid(state, "left_wrist")[0] < 0.05 and centroid(state, "right_wrist")[0] > -0.05


def test_a_loaded_clip_shows_pose_at_the_playhead(state):
    from core.motion import load_motion

    wave = load_motion("wave")
    state.load_clip(wave, now=100.0)
    assert state.following_clip and state.timeline.playing
    state.tick(now=101.234)
    scale = state.avatar.rest.translation_scale
    expected = wave.pose_at(1.234, loop=True, translation_scale=scale)
    state.refresh()
    assert np.allclose(state.editor.axis_angle, expected.joints.numpy(), atol=1e-5)
    posed = state.avatar.posed(expected)
    assert torch.allclose(state.gaussians.means, posed.means, atol=1e-5)
    assert "wave" in state.pose_label and state.pose_slug == "wave_f0037"

    walk = clip()
    state.load_clip(walk, play=False, now=0.0)
    state.seek_frame(3)
    assert state.editor.translation[2] == 0.0, "in place: no travel"
    state.set_in_place(False)
    assert state.editor.translation[2] == pytest.approx(0.3 * scale, abs=1e-5)
    assert state.editor.angles[J["left_elbow"], Y] == pytest.approx(30.0, abs=1e-4), "sliders show the frame"


def test_timeline_plays_by_the_wall_clock_steps_and_loops():
    t = Timeline()
    t.load(clip(frames=10, fps=10.0), now=0.0)  # 1 s: frames at 0.0 .. 0.9 s
    assert t.tick(0.35) and t.time_s == pytest.approx(0.35) and t.frame == 3
    t.tick(1.25)
    assert t.time_s == pytest.approx(0.25) and t.played_s == pytest.approx(1.25), "loops at the duration"
    t.set_speed(2.0, now=1.25)
    t.tick(1.5)
    assert t.time_s == pytest.approx(0.75) and t.played_s == pytest.approx(1.75)
    t.step(-1, now=2.0)
    assert not t.playing and t.frame == 6, "stepping pauses, and moves whole frames"
    t.seek_frame(0, now=2.0)
    t.step(-1, now=2.0)
    assert t.frame == 9, "looping: back from the first frame to the last"
    t.set_loop(False, now=2.0)
    t.step(1, now=2.0)
    assert t.frame == 9, "not looping: the last frame holds"
    t.set_speed(1.0, now=2.0)
    t.seek_frame(5, now=2.0)
    t.play(now=2.0)
    t.tick(3.0)
    assert not t.playing and t.time_s == pytest.approx(0.9), "without loop playback stops on the last frame"
    t.play(now=4.0)
    assert t.time_s == 0.0 and t.playing, "play at the end starts over"
    assert format_time(62.345) == "01:02.34" and format_time(0) == "00:00.00"


def test_editing_a_joint_detaches_from_the_clip_and_play_follows_it_again(state):
    state.load_clip(clip(), now=0.0)
    state.tick(now=0.4)
    state.set_joint_angle("head", Y, 20.0)
    assert not state.following_clip and not state.timeline.playing and state.timeline.clip is not None
    assert state.pose_name == "custom" and "manual pose" in state.message
    assert state.editor.angles[J["left_elbow"], Y] == pytest.approx(40.0, abs=1e-3), "edits apply to the frame"
    state.step_frames(1)
    assert state.following_clip and state.timeline.frame == 5
    assert state.editor.angles[J["head"], Y] == 0.0, "following the clip again replaces the edit"
    state.unload_clip()
    assert state.timeline.clip is None and state.pose_name == "custom"


def test_shape_and_expression_reshape_the_shown_avatar(state, avatar):
    count, height = len(state.gaussians), float(np.ptp(state.gaussians.means[:, 1].numpy()))
    state.set_shape("height", 0.9)
    state.set_expression("jawOpen", 0.5)
    assert state.refresh()
    assert len(state.gaussians) == count and np.ptp(state.gaussians.means[:, 1].numpy()) > height + 0.1
    body = state.gaussians.layers == 0
    assert abs(float(state.gaussians.means[body, 1].min())) < 0.012, "the preset still stands on the floor"
    assert state.shape_value("height") == 0.9 and state.shape_value("weight") == 0.5
    state.reset_shape()
    state.reset_expression()
    state.refresh()
    assert np.ptp(state.gaussians.means[:, 1].numpy()) == pytest.approx(height, abs=1e-4)


def test_ruler_maps_pixels_and_frames_both_ways():
    from app.timeline_panel import ruler_frame, ruler_x

    for k in (0, 17, 98):
        x = ruler_x(k / 30.0, 99 / 30.0, 900)
        assert ruler_frame(x, 900, 99 / 30.0, 30.0, 99) == k
    assert ruler_frame(-50, 900, 3.3, 30.0, 99) == 0 and ruler_frame(5000, 900, 3.3, 30.0, 99) == 98


def test_window_plays_a_motion_and_shows_the_figure(tmp_path):
    from app.panels import GUTTER, LEFT_WIDTH, STATUS_HEIGHT
    from app.theme import ACCENT
    from app.timeline_panel import TIMELINE_HEIGHT

    shot = tmp_path / "playing.png"
    result = subprocess.run(studio_command("--play", "walk", "--screenshot", shot, "--frames", 12), cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    image = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    bottom = image.shape[0] - STATUS_HEIGHT - GUTTER
    view = image[30:bottom - TIMELINE_HEIGHT - GUTTER, LEFT_WIDTH + GUTTER:]
    background = np.round(np.array(DEFAULT_BACKGROUND[:3]) * 255).astype(np.int16)
    small = view[::2, ::2]
    figure = largest_component(np.abs(small - background).max(axis=-1) > 10)
    rows, cols = np.nonzero(figure)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert height > 0.6 * small.shape[0] and height > 1.5 * width, "a whole standing figure, in view"
    assert abs((cols.min() + cols.max()) / 2 - small.shape[1] / 2) < 0.15 * small.shape[1], "walking in place"
    strip = image[bottom - TIMELINE_HEIGHT:bottom, LEFT_WIDTH + GUTTER:]
    accent = (np.abs(strip - np.array(ACCENT)).max(axis=-1) < 12).sum()
    assert accent > 40, "the timeline shows the playhead and the played part"
