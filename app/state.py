"""What the studio shows and edits, apart from any widget: the part of the window tests can drive.

Every viewport action (orbit, pan, zoom, named views, framing, background) and every pose, shape
and timeline edit is a method here, so menus, panels, shortcuts, mouse handlers and tests all run
the same code. Two counters tell the viewport what to redo: `scene_version` (new Gaussians: upload
them) and `view_version` (anything that changes the image: render again); `pose_version` tells the
pose panel to show the sliders of a new pose.

Edits are cheap and only mark what they make stale; `refresh()` rebuilds it, once per frame from
the main loop: at most one reshape and one re-pose per frame, however many slider events arrived.
Discrete actions (a preset, a new avatar, a clip step) refresh at once.

Where the pose comes from: the pose editor (sliders, presets), or the clip on the timeline. Loading
a clip, playing, scrubbing or stepping follows the clip: the avatar and the sliders show
`clip.pose_at(playhead)`. Editing a joint, the root, or picking a preset while a clip is loaded
detaches from it: playback pauses and the frame shown becomes a manual pose the edit applies to
(the clip stays on the timeline; play or scrub to follow it again, which replaces the manual pose).

Shape and expression re-evaluate the avatar through `core.reshape.Reshaper`, always from the
avatar as it was built, so slider moves never accumulate. A new avatar comes with its own body
shape (a wardrobe person's phenotype, the model's decoded shape): the shape sliders start from it
and expression from neutral; the pose carries over.

Where avatars come from (source, gallery, interpolation) is `generate` (app.generate); what the
Export panel is set to is `export` (app.export).

Nothing here touches Dear PyGui or OpenGL, and torch-backed types are only named for type
checking (torch loads in the first background task), so importing this module stays cheap.
"""
from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import numpy as np

from app.edit import EditState
from app.export import ExportState
from app.generate import GenerateState
from app.pose_state import JOINTS, PRESETS, PoseEditor
from app.timeline import Timeline, format_time
from viewer.camera import OrbitCamera

if TYPE_CHECKING:
    from core.attribute_maps import Maps
    from core.avatar import Avatar
    from core.body.base import BodyModel
    from core.gaussians import LayeredGaussians
    from core.motion import MotionClip
    from core.pose import Pose
    from core.reshape import Reshaper

DEFAULT_BACKGROUND = (0.141, 0.145, 0.161, 1.0)  # straight RGBA 0..1, a neutral dark grey
ORBIT_DEG_PER_PIXEL = 0.35
ZOOM_PER_WHEEL_STEP = 0.88  # distance factor per wheel notch towards the avatar
# Framing ignores the outermost 0.1% of Gaussians per axis: a foreign PLY's stray floaters would
# otherwise push the camera far back; on an avatar it trims a few millimetres, inside the margin.
FRAME_QUANTILES = (0.001, 0.999)
POSE_LABELS = {key: preset.label for key, preset in PRESETS.items()} | {"custom": "Custom pose"}
MAX_SEED = 2**31 - 1  # numpy seeds must be non-negative; keep them in int32 for every widget


@dataclasses.dataclass(frozen=True)
class PoseSnapshot:
    """A manual pose: the editor's rotations, slider angles and root translation, and its preset name."""

    axis_angle: np.ndarray
    angles: np.ndarray
    translation: np.ndarray
    pose_name: str

    def same_as(self, other: PoseSnapshot) -> bool:
        return (self.pose_name == other.pose_name and np.array_equal(self.axis_angle, other.axis_angle)
                and np.array_equal(self.translation, other.translation))


@dataclasses.dataclass
class StudioState:
    body_name: str
    seed: int = 0
    pose_name: str = "relaxed"  # a PRESETS key, or "custom" once edited
    background: tuple[float, float, float, float] = DEFAULT_BACKGROUND
    camera: OrbitCamera = dataclasses.field(default_factory=OrbitCamera)
    viewport_size: tuple[int, int] = (640, 480)  # pixels of the render texture, set by the viewport
    body: BodyModel | None = None  # built once, by the first avatar load
    avatar: Avatar | None = None  # the avatar shown (reshaped); None while a PLY (or nothing) is shown
    gaussians: LayeredGaussians | None = None  # what the viewport shows: the posed avatar or a PLY
    maps: Maps | None = None  # the shown avatar's attribute maps (exact FBX textures); None for a PLY
    source: str = ""  # "seed 3", "seed 3 -> 7 at 0.40" or a PLY file name
    message: str = ""
    message_is_error: bool = False
    scene_version: int = 0
    view_version: int = 0
    pose_version: int = 0
    editor: PoseEditor = dataclasses.field(default_factory=PoseEditor)
    timeline: Timeline = dataclasses.field(default_factory=Timeline)
    following_clip: bool = False  # the pose comes from the clip on the timeline
    in_place: bool = True  # play clips without their travel over the floor (the camera stays put)
    built_shape: dict[str, float] = dataclasses.field(default_factory=dict)  # the shape the avatar was built on
    shape: dict[str, float] = dataclasses.field(default_factory=dict)  # body parameters set away from built_shape
    expression: dict[str, float] = dataclasses.field(default_factory=dict)  # facial parameters set away from 0
    reshaper: Reshaper | None = None  # re-evaluates the avatar as built for shape and expression
    last_slider_edit_s: float = float("-inf")  # perf_counter() of the last pose/shape slider move (a drag)
    driven_joints: frozenset[str] = frozenset()  # SMPL-X joints the avatar's rig has a bone for
    generate: GenerateState = dataclasses.field(default_factory=GenerateState)
    export: ExportState = dataclasses.field(default_factory=ExportState)
    edit: EditState = dataclasses.field(default_factory=EditState)  # layers, paint, history, project (app.edit)
    hidden_layers: frozenset[str] = frozenset()  # layers the viewport leaves out (Layers tab's eyes)
    _pose_stale: bool = False
    _shape_stale: bool = False
    _ground_pending: bool = True  # `pose_name` is a preset still to be loaded and stood on the floor

    @property
    def poseable(self) -> bool:
        return self.avatar is not None

    @property
    def pose_label(self) -> str:
        """What the caption and the export summary call the pose shown."""
        clip = self.timeline.clip
        if self.following_clip and clip is not None:
            return f"{clip.name}  {format_time(self.timeline.time_s)}"
        return POSE_LABELS[self.pose_name]

    @property
    def pose_slug(self) -> str:
        """The pose in a file name: a preset key, 'custom', or the clip and its frame."""
        if self.following_clip and self.timeline.clip is not None:
            return f"{self.timeline.clip.name}_f{self.timeline.frame:04d}"
        return self.pose_name

    # -- what is shown ---------------------------------------------------------------------------

    def show_avatar(self, avatar: Avatar, posed: LayeredGaussians | None = None, pose_name: str | None = None,
                    reshaper: Reshaper | None = None, shape: dict[str, float] | None = None,
                    maps: Maps | None = None, source: str | None = None) -> None:
        """Show a freshly built avatar in the current pose; keep the user's camera unless nothing
        avatar-like was shown.

        `posed`: the avatar already posed as the preset `pose_name` (saves a re-pose while that is
        still the pose); None: posed here. `reshaper`: `Reshaper(avatar)` if built in the background
        (else it is built on the first shape or expression change). `shape`: the body shape it was
        built on (None: the body's default). `maps`: its attribute maps. `source`: what the caption
        calls it (default "seed N").
        """
        from core.pose import SMPLX_JOINT_NAMES

        reframe = self.avatar is None
        self.avatar, self.gaussians, self.reshaper, self.maps = avatar, posed, reshaper, maps
        regions = set(avatar.rest.bone_regions.tolist())
        self.driven_joints = frozenset(name for j, name in enumerate(SMPLX_JOINT_NAMES) if j in regions)
        self.built_shape = dict(shape or {})
        self.shape, self.expression, self._shape_stale = {}, {}, False
        self.seed = int(avatar.seed) if avatar.seed is not None else self.seed
        self.source = source or f"seed {self.seed}"
        self._pose_stale = posed is None or pose_name != self.pose_name or self.following_clip
        if self._ground_pending:
            self._set_preset(self.pose_name)
        if self.following_clip:
            self.editor.load(self.clip_pose())  # the translation scale follows the new body
        if self._pose_stale:
            self.refresh()
        self._scene_changed(reframe)

    def replace_avatar(self, avatar: Avatar, maps: Maps, reshaper: Reshaper | None = None) -> None:
        """Show the same person re-composed (a layer swap, its undo, a harmonised latent): the pose, the
        user's shape and expression, the camera and the caption stay. `reshaper`: `Reshaper(avatar)`, needed
        (else built here) when shape or expression are set."""
        self.avatar, self.reshaper, self.maps = avatar, reshaper, maps
        self._shape_stale = bool(self.shape or self.expression)
        self._pose_stale = True
        self.refresh()

    def colors_changed(self) -> None:
        """Paint recoloured the shown Gaussians in place: upload and draw them again (no rebuild)."""
        self._scene_changed(reframe=False)

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        """Show or hide a layer in the viewport (a view setting: not an edit, exports are unaffected)."""
        hidden = self.hidden_layers - {layer} if visible else self.hidden_layers | {layer}
        if hidden != self.hidden_layers:
            self.hidden_layers = frozenset(hidden)
            self._scene_changed(reframe=False)

    def shown_opacities(self):
        """The opacities the viewport draws and picks: hidden layers at 0."""
        g = self.gaussians
        if not self.hidden_layers or g is None:
            return None if g is None else g.opacities
        from core.gaussians import layer_mask

        return g.opacities * ~layer_mask(g.layers, self.hidden_layers)

    def show_gaussians(self, gaussians: LayeredGaussians, source: str) -> None:
        """Show Gaussians without a rig (an opened PLY) and frame them."""
        self.avatar, self.gaussians, self.source, self.reshaper, self.maps = None, gaussians, source, None, None
        self.driven_joints, self.built_shape = frozenset(), {}
        self.generate.show(None)
        self.timeline.hold()
        self._scene_changed(reframe=True)

    def refresh(self) -> bool:
        """Rebuild what edits made stale: the reshaped avatar, then the posed Gaussians. True if anything changed."""
        if self.avatar is None:
            self._pose_stale = self._shape_stale = False
            return False
        if not (self._pose_stale or self._shape_stale):
            return False
        reshape = self._shape_stale
        self._pose_stale = self._shape_stale = False  # a failure below is reported once, not every frame
        if reshape:
            from core.reshape import Reshaper

            if self.reshaper is None:
                self.reshaper = Reshaper(self.avatar)
            self.avatar = self.reshaper({**self.built_shape, **self.shape} or None, self.expression or None)
            if self.pose_name in PRESETS and not self.following_clip:  # a preset keeps standing on the floor
                self.editor.translation[1] += self._floor_offset(self.editor.pose())
                self.pose_version += 1
        self.gaussians = self.avatar.posed(self.editor.pose())
        self._scene_changed(reframe=False)
        return True

    # -- pose ------------------------------------------------------------------------------------

    def set_pose(self, name: str) -> None:
        """Pose the avatar with a preset (PRESETS), standing on the floor; before any avatar, remember it."""
        if name not in PRESETS:
            raise ValueError(f"unknown pose preset {name!r} (choose {', '.join(PRESETS)})")
        if self.avatar is None:
            if self.gaussians is not None:
                self.notify(f"{self.source} has no rig: poses apply to generated avatars")
                return
            self.pose_name, self._ground_pending = name, True
            return
        self._detach()
        self._set_preset(name)
        self.notify(f"Pose: {POSE_LABELS[name]}")
        self.refresh()

    def set_joint_angle(self, joint: str, axis: int, degrees: float) -> None:
        """One pose slider (degrees, see app.pose_state); with mirror on, the partner joint follows."""
        if not self._editable():
            return
        self._detach()
        self.editor.set_angle(joint, axis, degrees)
        self._pose_edited()
        self.last_slider_edit_s = time.perf_counter()

    def reset_joint(self, joint: str) -> None:
        """A joint (and with mirror on, its partner) back to its rest rotation."""
        if not self._editable():
            return
        self._detach()
        self.editor.reset_joint(joint)
        self._pose_edited()
        self.notify(f"Reset {JOINTS[joint].label.lower()}")

    def reset_pose(self) -> None:
        """Every joint back to rest and the root to the origin: the T-pose."""
        self.set_pose("t")

    def set_root_translation(self, axis: int, metres: float) -> None:
        if not self._editable():
            return
        self._detach()
        self.editor.set_translation(axis, metres)
        self._pose_edited()
        self.last_slider_edit_s = time.perf_counter()

    def set_mirror(self, on: bool) -> None:
        self.editor.mirror = bool(on)

    def stand_on_floor(self) -> None:
        """Move the root up or down so the lowest point of the body touches y = 0."""
        if not self._editable():
            return
        self._detach()
        self.editor.translation[1] += self._floor_offset(self.editor.pose())
        self._pose_edited()

    def pose_snapshot(self) -> PoseSnapshot:
        """The manual pose as it is now, for the undo history (app.edit records pose edits with two)."""
        e = self.editor
        return PoseSnapshot(e.axis_angle.copy(), e.angles.copy(), e.translation.copy(), self.pose_name)

    def restore_pose(self, snapshot: PoseSnapshot) -> None:
        """Show a pose taken by `pose_snapshot` again (undo/redo of a pose edit): a manual pose, like any edit."""
        if self.avatar is None:
            return
        self._detach()
        e = self.editor
        e.axis_angle, e.angles = snapshot.axis_angle.copy(), snapshot.angles.copy()
        e.translation = snapshot.translation.copy()
        self.pose_name, self._ground_pending = snapshot.pose_name, False
        self.pose_version += 1
        self._pose_stale = True
        self.refresh()

    # -- shape and expression -------------------------------------------------------------------

    def set_shape(self, name: str, value: float) -> None:
        """One body parameter (see BodyModel.shape_names); the avatar is re-evaluated on refresh."""
        if self._editable():
            self.shape[name] = float(value)
            self._shape_stale = True
            self.last_slider_edit_s = time.perf_counter()

    def set_expression(self, name: str, value: float) -> None:
        """One facial parameter (see BodyModel.expression_names)."""
        if self._editable():
            self.expression[name] = float(value)
            self._shape_stale = True
            self.last_slider_edit_s = time.perf_counter()

    def reset_shape(self) -> None:
        if self._editable() and self.shape:
            self.shape = {}
            self._shape_stale = True

    def reset_expression(self) -> None:
        if self._editable() and self.expression:
            self.expression = {}
            self._shape_stale = True

    def shape_value(self, name: str) -> float:
        """What a shape slider shows: the user's value, else the avatar's own, else the body's default."""
        if name in self.shape:
            return self.shape[name]
        if name in self.built_shape:
            return self.built_shape[name]
        return float(self.body.default_shape()[name]) if self.body is not None else 0.0

    # -- timeline --------------------------------------------------------------------------------

    def load_clip(self, clip: MotionClip, play: bool = True, now: float | None = None) -> None:
        """Put a motion clip on the timeline and follow it (playing from frame 0 unless `play` is False)."""
        self.timeline.load(clip, _now(now), play)
        self.following_clip = True
        self._follow_clip()
        self.notify(f"Motion {clip.name}: {clip.num_frames} frames at {clip.fps:g} fps ({clip.duration:.2f} s)")

    def unload_clip(self) -> None:
        """Take the clip off the timeline; the pose shown stays, as a manual pose."""
        if self.timeline.clip is None:
            return
        name = self.timeline.clip.name
        self.timeline.unload()
        if self.following_clip:
            self.following_clip = False
            self.pose_name = "custom"
        self.notify(f"Closed motion {name}")

    def toggle_play(self, now: float | None = None) -> None:
        if self.timeline.playing:
            self.pause(now)
        else:
            self.play(now)

    def play(self, now: float | None = None) -> None:
        if self.timeline.clip is None:
            return
        self.timeline.play(_now(now))
        self.following_clip = True
        self._follow_clip()

    def pause(self, now: float | None = None) -> None:
        self.timeline.pause(_now(now))
        if self.following_clip:
            self._follow_clip()

    def step_frames(self, frames: int, now: float | None = None) -> None:
        """Pause and step whole frames (wrapping around when looping)."""
        if self.timeline.clip is None:
            return
        self.timeline.step(frames, _now(now))
        self.following_clip = True
        self._follow_clip()

    def seek_frame(self, k: int, now: float | None = None) -> None:
        """Scrub to frame k (playback, if on, continues from there)."""
        if self.timeline.clip is None:
            return
        self.timeline.seek_frame(k, _now(now))
        self.following_clip = True
        self._follow_clip()

    def go_to_start(self, now: float | None = None) -> None:
        self.timeline.pause(_now(now))
        self.seek_frame(0, now)

    def go_to_end(self, now: float | None = None) -> None:
        self.timeline.pause(_now(now))
        self.seek_frame(self.timeline.num_frames - 1, now)

    def set_loop(self, loop: bool, now: float | None = None) -> None:
        self.timeline.set_loop(loop, _now(now))

    def set_speed(self, speed: float, now: float | None = None) -> None:
        self.timeline.set_speed(speed, _now(now))

    def set_in_place(self, on: bool) -> None:
        """Leave out (or keep) the clip's horizontal root travel; the clip's turns and height stay."""
        self.in_place = bool(on)
        if self.following_clip:
            self._follow_clip()

    def tick(self, now: float | None = None) -> bool:
        """Advance playback to wall-clock `now` and pose the avatar there; True when the pose moved."""
        if not self.timeline.tick(_now(now)) or not self.following_clip:
            return False
        self._follow_clip(refresh=False)
        return True

    def clip_pose(self) -> Pose:
        """The clip's pose at the playhead, its translation scaled to the avatar's legs (and without its
        horizontal travel when `in_place`)."""
        scale = self.avatar.rest.translation_scale if self.avatar is not None else 1.0
        pose = self.timeline.clip.pose_at(self.timeline.time_s, loop=self.timeline.loop, translation_scale=scale)
        if self.in_place:
            pose.translation[[0, 2]] = 0.0
        return pose

    # -- viewport --------------------------------------------------------------------------------

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

    # -- private ---------------------------------------------------------------------------------

    def _editable(self) -> bool:
        if self.avatar is None:
            if self.gaussians is not None:
                self.notify(f"{self.source} has no rig: poses, shape and expression apply to generated avatars")
            return False
        return True

    def _detach(self) -> None:
        """Before a manual edit: stop following the clip (its current frame becomes the manual pose)."""
        if self.following_clip:
            self.timeline.hold()
            self.following_clip = False
            clip = self.timeline.clip
            self.notify(f"Editing frame {self.timeline.frame} of {clip.name} as a manual pose "
                        "(play or scrub to follow the clip again)")

    def _pose_edited(self) -> None:
        self.pose_name = "custom"
        self.pose_version += 1
        self._pose_stale = True

    def _set_preset(self, name: str) -> None:
        """The preset in the editor, stood on the floor of the current avatar; the pose goes stale."""
        from app.pose_state import preset_pose

        self.editor.load(preset_pose(name))
        self.editor.translation[1] += self._floor_offset(self.editor.pose())
        self.pose_name, self._ground_pending = name, False
        self.pose_version += 1
        self._pose_stale = True

    def _floor_offset(self, pose: Pose) -> float:
        """How far to move the root up so the lowest body vertex in `pose` touches y = 0 (~5 ms)."""
        from core.lbs import skin_points

        rest = self.avatar.rest
        vertices = skin_points(rest.vertices, self.avatar.skinning(pose), rest.skin_indices, rest.skin_weights)
        return -float(vertices[:, 1].min())

    def _follow_clip(self, refresh: bool = True) -> None:
        """Show the clip's pose at the playhead in the editor (the sliders) and on the avatar."""
        self.editor.load(self.clip_pose())
        self.pose_version += 1
        self._pose_stale = True
        if refresh:
            self.refresh()


def _now(now: float | None) -> float:
    return time.perf_counter() if now is None else now
