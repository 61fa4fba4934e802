"""What the studio shows and edits, apart from any widget: the part of the window tests can drive.

Every viewport action (orbit, pan, zoom, named views, framing, pose, background) is a method here,
so menus, shortcuts, mouse handlers and tests all run the same code. Two counters tell the
viewport what to redo: `scene_version` (new Gaussians: upload them) and `view_version` (anything
that changes the image: render again). Nothing here touches Dear PyGui or OpenGL, and torch-backed
types are only named for type checking, so importing this module stays cheap.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from viewer.camera import OrbitCamera

if TYPE_CHECKING:
    from core.avatar import Avatar
    from core.body.base import BodyModel
    from core.gaussians import LayeredGaussians

DEFAULT_BACKGROUND = (0.141, 0.145, 0.161, 1.0)  # straight RGBA 0..1, a neutral dark grey
ORBIT_DEG_PER_PIXEL = 0.35
ZOOM_PER_WHEEL_STEP = 0.88  # distance factor per wheel notch towards the avatar
# Framing ignores the outermost 0.1% of Gaussians per axis: a foreign PLY's stray floaters would
# otherwise push the camera far back; on an avatar it trims a few millimetres, inside the margin.
FRAME_QUANTILES = (0.001, 0.999)
POSE_LABELS = {"t": "T-pose", "a": "A-pose", "relaxed": "Relaxed"}
MAX_SEED = 2**31 - 1  # numpy seeds must be non-negative; keep them in int32 for every widget


@dataclasses.dataclass
class StudioState:
    body_name: str
    seed: int = 0
    pose_name: str = "relaxed"
    sh_degree: int = 0
    background: tuple[float, float, float, float] = DEFAULT_BACKGROUND
    camera: OrbitCamera = dataclasses.field(default_factory=OrbitCamera)
    viewport_size: tuple[int, int] = (640, 480)  # pixels of the render texture, set by the viewport
    body: BodyModel | None = None  # built once, by the first avatar load
    avatar: Avatar | None = None  # the generated avatar; None while a PLY (or nothing) is shown
    gaussians: LayeredGaussians | None = None  # what the viewport shows: the posed avatar or a PLY
    source: str = ""  # "seed 3" or a PLY file name
    message: str = ""
    message_is_error: bool = False
    scene_version: int = 0
    view_version: int = 0

    @property
    def poseable(self) -> bool:
        return self.avatar is not None

    def show_avatar(self, avatar: Avatar, posed: LayeredGaussians, pose_name: str) -> None:
        """Show a freshly built avatar; keep the user's camera unless nothing avatar-like was shown."""
        reframe = self.avatar is None
        self.avatar, self.gaussians, self.pose_name = avatar, posed, pose_name
        self.seed = int(avatar.seed) if avatar.seed is not None else self.seed
        self.source = f"seed {self.seed}"
        self._scene_changed(reframe)

    def show_gaussians(self, gaussians: LayeredGaussians, source: str) -> None:
        """Show Gaussians without a rig (an opened PLY) and frame them."""
        self.avatar, self.gaussians, self.source = None, gaussians, source
        self._scene_changed(reframe=True)

    def set_pose(self, name: str) -> None:
        """Pose the avatar with a preset ('t', 'a', 'relaxed'); before any avatar, remember it for the first."""
        from core.pose import Pose

        if self.avatar is None:
            if self.gaussians is not None:
                self.notify(f"{self.source} has no rig: poses apply to generated avatars")
                return
            self.pose_name = name
            return
        self.gaussians = self.avatar.posed(Pose.preset(name))
        self.pose_name = name
        self.notify(f"Pose: {POSE_LABELS[name]}")
        self._scene_changed(reframe=False)

    def orbit(self, dx_pixels: float, dy_pixels: float) -> None:
        """Turntable drag: the avatar turns with the mouse; dragging down shows it more from above."""
        self.camera.orbit(-dx_pixels * ORBIT_DEG_PER_PIXEL, dy_pixels * ORBIT_DEG_PER_PIXEL)
        self.view_version += 1

    def pan(self, dx_pixels: float, dy_pixels: float) -> None:
        """The point under the cursor follows the mouse."""
        self.camera.pan(dx_pixels, dy_pixels, self.viewport_size[1])
        self.view_version += 1

    def zoom(self, wheel_steps: float) -> None:
        """Positive steps (wheel away from the user) move closer."""
        self.camera.zoom(ZOOM_PER_WHEEL_STEP**wheel_steps)
        self.view_version += 1

    def view_preset(self, name: str) -> None:
        """'front', 'side' (the avatar's left) or 'back', keeping the target and distance."""
        self.camera.preset(name)
        self.view_version += 1

    def frame(self) -> None:
        """Aim at what is shown and back off until it fills the view."""
        if self.gaussians is None or len(self.gaussians) == 0:
            return
        means = self.gaussians.means.detach().cpu().numpy()
        lo, hi = np.quantile(means, FRAME_QUANTILES, axis=0)
        width, height = self.viewport_size
        self.camera.frame(lo.tolist(), hi.tolist(), width / max(1, height))
        self.view_version += 1

    def notify(self, message: str, error: bool = False) -> None:
        """The status bar's last message (one line)."""
        self.message, self.message_is_error = message, error

    def set_background(self, rgba: tuple[float, float, float, float]) -> None:
        self.background = tuple(float(c) for c in rgba)
        self.view_version += 1

    def set_viewport_size(self, width: int, height: int) -> None:
        self.viewport_size = (width, height)
        self.view_version += 1

    def _scene_changed(self, reframe: bool) -> None:
        self.scene_version += 1
        self.view_version += 1
        if reframe:
            self.frame()
