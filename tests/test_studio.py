"""The studio window: a real window shows a person, its actions work without one, bad input fails cleanly.

The window tests need an X display: the suite runs under xvfb-run (scripts/test.sh); without
DISPLAY the subprocess is wrapped in `xvfb-run -a` here.
"""
from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.state import DEFAULT_BACKGROUND, StudioState
from app.tasks import TaskRunner
from core.errors import AvatarStudioError

ROOT = Path(__file__).resolve().parents[1]
WINDOW = (1400, 860)


def studio_command(*args) -> list[str]:
    command = [sys.executable, str(ROOT / "main.py"), *map(str, args)]
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            pytest.skip("no DISPLAY and no xvfb-run")
        command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *command]
    return command


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Boolean mask of the largest 4-connected region of `mask`."""
    labels = np.zeros(mask.shape, np.int32)
    best, best_size, label = 0, 0, 0
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        label += 1
        labels[start] = label
        queue, size = collections.deque([start]), 0
        while queue:
            y, x = queue.popleft()
            size += 1
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = label
                    queue.append((ny, nx))
        if size > best_size:
            best, best_size = label, size
    return labels == best


def test_window_screenshot_shows_a_person(tmp_path):
    from app.panels import GUTTER, LEFT_WIDTH, STATUS_HEIGHT

    shot = tmp_path / "studio.png"
    result = subprocess.run(studio_command("--screenshot", shot, "--frames", 30), cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert shot.is_file() and not list(tmp_path.glob(".*.tmp")), "the PNG is written atomically"
    image = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])

    # The viewport: right of the side column, between the menu bar and the status bar.
    view = image[30:WINDOW[1] - STATUS_HEIGHT - GUTTER, LEFT_WIDTH + GUTTER:]
    background = np.round(np.array(DEFAULT_BACKGROUND[:3]) * 255).astype(np.int16)
    assert (np.abs(view - background).max(axis=-1) <= 3).mean() > 0.5, "the viewport shows its background"
    # Downsample 2x (keeps it quick), then find the figure: the largest connected non-background region.
    small = view[::2, ::2]
    figure = largest_component(np.abs(small - background).max(axis=-1) > 10)
    rows, cols = np.nonzero(figure)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert height > 0.6 * small.shape[0], "a standing figure fills most of the viewport height"
    assert height > 1.5 * width, "taller than wide (not the progress card)"
    assert abs((cols.min() + cols.max()) / 2 - small.shape[1] / 2) < 0.1 * small.shape[1], "centred"
    assert figure.mean() > 0.03

    pixels = small[figure]
    r, g, b = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    skin = (r > g) & (g > b) & (r - b > 20) & (r > 60)  # every default skin tone, lit or shaded
    assert skin.mean() > 0.02, "skin shows (face, hands)"
    assert (~skin).mean() > 0.2, "and so do clothes"
    assert np.unique(pixels // 32, axis=0).shape[0] > 8, "several distinct colours, not a flat blob"


@pytest.mark.parametrize("args, culprit", [(["--body", "nope"], "nope"), (["--body", "smplx"], "--body-dir")])
def test_bad_body_fails_before_the_window(args, culprit):
    result = subprocess.run(studio_command(*args), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0], result.stderr


def test_viewport_actions_move_the_camera_and_pose(avatar):
    from core.gaussians import LayeredGaussians
    from core.pose import Pose

    state = StudioState(body_name="anny")
    state.set_pose("a")  # before any avatar: remembered for the first one
    state.show_avatar(avatar, avatar.posed(Pose.preset(state.pose_name)), state.pose_name)
    camera = state.camera
    assert 0.7 < camera.target[1] < 1.1 and camera.distance > 1.0, "the first avatar is framed"
    assert state.source == "seed 0"

    view = state.view_version
    state.orbit(100, 0)  # the left-drag handler
    assert camera.yaw_deg == pytest.approx(360 - 35) and state.view_version > view
    state.orbit(0, 40)
    assert camera.pitch_deg == pytest.approx(14)
    target = camera.target
    state.pan(50, -20)  # the right-drag handler
    assert camera.target != target
    distance = camera.distance
    state.zoom(2)  # two wheel notches towards the avatar
    assert camera.distance == pytest.approx(distance * 0.88**2)
    state.view_preset("side")
    assert (camera.yaw_deg, camera.pitch_deg) == (90, 0)
    state.frame()
    assert camera.target[1] == pytest.approx(target[1], abs=0.05), "framing re-centres after the pan"

    scene = state.scene_version
    arm_span_a = np.ptp(state.gaussians.means[:, 0].numpy())
    state.set_pose("t")  # the pose preset handler
    assert state.pose_name == "t" and state.scene_version > scene
    assert np.ptp(state.gaussians.means[:, 0].numpy()) > arm_span_a + 0.2, "arms out in the T-pose"

    g = state.gaussians
    state.show_gaussians(LayeredGaussians.unskinned(g.means, g.quats, g.scales, g.opacities, g.colors), "x.ply")
    state.set_pose("a")
    assert not state.poseable and state.pose_name == "t" and "no rig" in state.message


def test_studio_actions_load_export_open(anny_body, tmp_path):
    from app.studio import Studio, StudioOptions
    from core.ply import read_ply

    studio = Studio(StudioOptions(seed=3), body=anny_body)

    def finish():
        assert studio.runner.wait(120)
        studio.runner.poll()

    studio.load_avatar(3)
    finish()
    state = studio.state
    assert state.avatar is not None and state.avatar.seed == 3 and state.source == "seed 3"
    studio.set_pose("t")
    studio.set_sh_degree(3)
    studio.export_ply(str(tmp_path / "posed"))  # the dialog may hand over a name without .ply
    finish()
    assert read_ply(tmp_path / "posed.ply").means.shape[0] == len(state.gaussians)
    assert b"f_rest_44" in (tmp_path / "posed.ply").read_bytes()[:4000]
    studio.open_ply(str(tmp_path / "posed.ply"))
    finish()
    assert state.source == "posed.ply" and not state.poseable and state.message.startswith("Opened")


def test_task_runner_delivers_on_the_main_thread_and_cancels():
    runner = TaskRunner()
    seen = []

    def record(value):
        seen.append((value, threading.current_thread() is threading.main_thread()))

    assert runner.submit("Add", lambda ctx: 1 + 1, record, record)
    assert not runner.submit("Second", lambda ctx: 0, record, record), "one task at a time"
    assert runner.wait(10)
    assert seen == []  # nothing is delivered until the main loop polls
    runner.poll()
    assert seen == [(2, True)] and runner.status() is None

    def fails(ctx):
        raise AvatarStudioError("x.ply: not a PLY file")

    runner.submit("Open x.ply", fails, record, record)
    runner.wait(10)
    runner.poll()
    failure = seen[-1][0]
    assert failure.message == "Open x.ply failed: x.ply: not a PLY file" and not failure.cancelled

    started = threading.Event()

    def slow(ctx):
        started.set()
        while True:
            ctx.report(0.5, "working")

    runner.submit("Slow", slow, record, record)
    started.wait(10)
    assert runner.status().message == "working"
    runner.cancel()
    assert runner.wait(10)
    runner.poll()
    assert seen[-1][0].cancelled and runner.status() is None
