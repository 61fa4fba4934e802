"""The pose editor's model: the joint-limit table, slider angles <-> pose data, mirroring, presets.

Slider space, and why. Pose data is axis-angle per joint in the world axes of the rest pose
(DESIGN.md). Each joint gets three sliders, one per world axis, in degrees, but read as a
swing-twist split rather than Euler angles:
- one axis is the bone's own (its twist axis: X along the arms and fingers, Y along the legs and
  the spine, Z along the feet, jaw and eyes); its slider turns the bone about itself;
- the other two sliders are the swing, the rotation vector perpendicular to the bone: they point
  the bone without twisting it. A rotation vector has no gimbal lock short of a half turn, so
  "forward" swings a hanging arm forward just as it swings a raised one, unlike world Euler angles.
Limbs twist first and then swing (the arm turns about itself, then points). The trunk (pelvis,
spine, neck, head) swings first and then turns about the vertical, so bending stays in the body's
own plane as it turns. A single slider is an exact rotation about its world axis.

Sliders read anatomically: each axis has a sign so that a positive value means the same movement on
both sides of the body ("raise" lifts either arm). Mirroring a pose across the body's YZ plane
negates the y and z axis-angle components (a reflection in x acting on an axial vector); the signs
of the right side are the left's with y and z negated, so the mirror of an edit is simply the same
slider values on the partner joint. Eyes are the exception: they move together (looking left turns
both eyes left), so their partner copies the rotation as it is.

JOINT_TABLE below is the documented table of labels and anatomical limits (degrees); the limits
bound what the sliders set. Values from motion clips are shown as they are, even beyond them.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.pose import Pose

X, Y, Z = 0, 1, 2
NUM_JOINTS = 55  # core.pose.NUM_JOINTS, without importing torch here
ROOT_TRANSLATION_RANGE = 1.5  # metres each way, for the root translation sliders


@dataclasses.dataclass(frozen=True)
class Axis:
    """One slider of a joint: a rotation about a world axis, signed to read anatomically."""

    axis: int  # X, Y or Z of the world (rest-pose) frame
    label: str
    lo: float  # degrees, anatomical (after `sign`)
    hi: float
    sign: float  # slider value = sign * rotation about the world axis (for this joint)
    hint: str  # what a positive value does


@dataclasses.dataclass(frozen=True)
class JointSpec:
    name: str  # SMPL-X joint name
    label: str
    region: str
    twist_axis: int  # the bone's own axis
    twist_last: bool  # trunk: turn about the vertical after the swing (see the module docstring)
    axes: tuple[Axis, Axis, Axis]  # in display order
    partner: str | None = None  # the joint on the other side, for mirroring


REGIONS = ("Spine, neck & head", "Arms", "Legs", "Hands", "Jaw & eyes")
ROOT_REGION = "Root"


def _axes(*rows: tuple[int, str, float, float, float, str]) -> tuple[Axis, Axis, Axis]:
    return tuple(Axis(*row) for row in rows)


def _trunk(name: str, label: str, bend: tuple[float, float], side: float, turn: float,
           words: tuple[str, str, str] = ("bend", "side", "twist"), region: str = REGIONS[0]) -> JointSpec:
    """Pelvis, spine, neck, head: x+ bends forward, z- leans to the body's left, y+ turns to its left."""
    b, s, t = words
    return JointSpec(name, label, region, Y, True, _axes(
        (X, b, bend[0], bend[1], 1.0, "forward"),
        (Z, s, -side, side, -1.0, "towards the body's left"),
        (Y, t, -turn, turn, 1.0, "turns to the body's left"),
    ))


def _pair(joint: str, label: str, region: str, twist_axis: int, rows, mirrored: bool = True) -> list[JointSpec]:
    """Left and right joints from the left side's rows; the right's signs mirror them (y, z negated)."""
    specs = []
    for side, other in (("left", "right"), ("right", "left")):
        axes = []
        for axis, word, lo, hi, sign, hint in rows:
            if side == "right" and mirrored and axis != X:
                sign = -sign
            axes.append(Axis(axis, word, lo, hi, sign, hint))
        specs.append(JointSpec(f"{side}_{joint}", f"{side.capitalize()} {label}", region, twist_axis, False,
                               tuple(axes), partner=f"{other}_{joint}"))
    return specs


def _finger_rows(segment: int) -> list[tuple]:
    curl = {1: (-20.0, 90.0), 2: (-5.0, 110.0), 3: (-5.0, 80.0)}[segment]
    spread, twist = (20.0, 15.0) if segment == 1 else (5.0, 5.0)
    return [(Z, "curl", *curl, -1.0, "curls into the palm"),
            (Y, "spread", -spread, spread, -1.0, "towards the thumb"),
            (X, "twist", -twist, twist, 1.0, "turns the fingertip towards the thumb side")]


def _thumb_rows(segment: int) -> list[tuple]:
    curl = {1: (-20.0, 50.0), 2: (-10.0, 70.0), 3: (-10.0, 80.0)}[segment]
    side = {1: 35.0, 2: 15.0, 3: 10.0}[segment]
    return [(X, "curl", *curl, 1.0, "bends across and under the palm"),
            (Y, "across", -side, side, 1.0, "towards the index finger"),
            (Z, "lift", -side, side, 1.0, "lifts away from the palm")]


def _build_table() -> tuple[JointSpec, ...]:
    """THE joint-limit table: every SMPL-X joint, its sliders, labels and anatomical limits (degrees)."""
    spine, arms, legs, hands, face = REGIONS
    table: list[JointSpec] = [
        _trunk("pelvis", "Root rotation", (-90.0, 90.0), 90.0, 180.0, ("lean", "tilt", "turn"), ROOT_REGION),
        _trunk("spine1", "Lower spine", (-20.0, 40.0), 20.0, 20.0),
        _trunk("spine2", "Mid spine", (-15.0, 30.0), 20.0, 20.0),
        _trunk("spine3", "Upper spine", (-15.0, 30.0), 20.0, 20.0),
        _trunk("neck", "Neck", (-40.0, 45.0), 35.0, 60.0, ("nod", "tilt", "turn")),
        _trunk("head", "Head", (-30.0, 30.0), 25.0, 40.0, ("nod", "tilt", "turn")),
    ]
    table += _pair("collar", "collarbone", arms, X, [
        (Z, "shrug", -10.0, 30.0, 1.0, "lifts the shoulder"),
        (Y, "forward", -20.0, 25.0, -1.0, "brings the shoulder forward"),
        (X, "roll", -10.0, 10.0, 1.0, "rolls the shoulder forward")])
    table += _pair("shoulder", "shoulder", arms, X, [
        (Z, "raise", -100.0, 120.0, 1.0, "lifts the arm (-90 hangs it at the side)"),
        (Y, "forward", -60.0, 140.0, -1.0, "swings the arm forward"),
        (X, "twist", -90.0, 90.0, 1.0, "turns the arm inward (palm back)")])
    table += _pair("elbow", "elbow", arms, X, [
        (Y, "bend", 0.0, 150.0, -1.0, "bends the forearm forward"),
        (X, "twist", -90.0, 90.0, 1.0, "turns the forearm inward"),
        (Z, "side", -10.0, 10.0, 1.0, "tips the forearm up")])
    table += _pair("wrist", "wrist", arms, X, [
        (Z, "flex", -70.0, 80.0, -1.0, "bends the hand towards the palm"),
        (Y, "side", -25.0, 35.0, 1.0, "towards the little finger"),
        (X, "twist", -90.0, 90.0, 1.0, "turns the palm back (pronation)")])
    table += _pair("hip", "hip", legs, Y, [
        (X, "lift", -30.0, 120.0, -1.0, "lifts the thigh forward"),
        (Z, "spread", -30.0, 45.0, 1.0, "opens the leg outward"),
        (Y, "twist", -40.0, 45.0, -1.0, "turns the knee inward")])
    table += _pair("knee", "knee", legs, Y, [
        (X, "bend", 0.0, 150.0, 1.0, "bends the shin back"),
        (Y, "twist", -30.0, 30.0, -1.0, "turns the shin inward"),
        (Z, "side", -10.0, 10.0, 1.0, "tips the shin outward")])
    table += _pair("ankle", "ankle", legs, Z, [
        (X, "point", -25.0, 50.0, 1.0, "points the toes down"),
        (Y, "turn", -30.0, 30.0, -1.0, "turns the toes inward"),
        (Z, "roll", -20.0, 35.0, -1.0, "rolls the sole inward")])
    table += _pair("foot", "toes", legs, Z, [
        (X, "curl", -40.0, 40.0, 1.0, "curls the toes down"),
        (Y, "turn", -10.0, 10.0, -1.0, "turns the toes inward"),
        (Z, "roll", -10.0, 10.0, -1.0, "rolls the toes inward")])
    for finger in ("thumb", "index", "middle", "ring", "pinky"):
        for segment in (1, 2, 3):
            rows = _thumb_rows(segment) if finger == "thumb" else _finger_rows(segment)
            table += _pair(f"{finger}{segment}", f"{finger} {segment}", hands, X, rows)
    table.append(JointSpec("jaw", "Jaw", face, Z, False, _axes(
        (X, "open", -5.0, 30.0, 1.0, "opens the mouth"),
        (Y, "side", -10.0, 10.0, 1.0, "moves the chin to the body's left"),
        (Z, "tilt", -5.0, 5.0, -1.0, "tilts the chin to the body's left"))))
    table += _pair("eye_smplhf", "eye", face, Z, [
        (Y, "look left", -35.0, 35.0, 1.0, "looks to the body's left"),
        (X, "look up", -30.0, 30.0, -1.0, "looks up"),
        (Z, "roll", -5.0, 5.0, 1.0, "rolls the eye")], mirrored=False)
    return tuple(table)


JOINT_TABLE: tuple[JointSpec, ...] = _build_table()
JOINTS: dict[str, JointSpec] = {spec.name: spec for spec in JOINT_TABLE}


def joint_index(name: str) -> int:
    from core.pose import SMPLX_JOINT_INDEX

    return SMPLX_JOINT_INDEX[name]


@functools.lru_cache(maxsize=1)
def _axis_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per joint in SMPL-X order: slider signs (55, 3), twist axis (55,), twist_last (55,).

    Built once (read-only afterwards); core.pose, which loads torch, is imported on first use only.
    """
    from core.pose import SMPLX_JOINT_NAMES

    signs = np.ones((NUM_JOINTS, 3))
    twist, last = np.zeros(NUM_JOINTS, np.int64), np.zeros(NUM_JOINTS, bool)
    for j, name in enumerate(SMPLX_JOINT_NAMES):
        spec = JOINTS[name]
        twist[j], last[j] = spec.twist_axis, spec.twist_last
        for a in spec.axes:
            signs[j, a.axis] = a.sign
    return signs, twist, last


def angles_to_axis_angle(angles_deg: np.ndarray, joints: list[int] | None = None) -> np.ndarray:
    """Slider angles (J, 3) in degrees (by world axis, anatomically signed) -> axis-angle (J, 3) radians.

    `joints`: the SMPL-X indices the rows belong to (default: all 55, in order).
    """
    import torch

    from core.rotations import axis_angle_to_quaternion, quaternion_multiply, quaternion_to_axis_angle

    signs, twist_axis, twist_last = _axis_tables()
    rows = slice(None) if joints is None else joints
    raw = np.radians(np.asarray(angles_deg, np.float64)) * signs[rows]
    n = raw.shape[0]
    axis = np.eye(3)[twist_axis[rows]]
    twist = (raw * axis).sum(-1, keepdims=True) * axis
    q_twist = axis_angle_to_quaternion(torch.from_numpy(twist))
    q_swing = axis_angle_to_quaternion(torch.from_numpy(raw - twist))
    last = torch.from_numpy(twist_last[rows].reshape(n, 1))
    q = torch.where(last, quaternion_multiply(q_twist, q_swing), quaternion_multiply(q_swing, q_twist))
    return quaternion_to_axis_angle(q).numpy()


def axis_angle_to_angles(axis_angle: np.ndarray) -> np.ndarray:
    """Inverse of `angles_to_axis_angle` for all 55 joints: axis-angle (55, 3) -> slider degrees (55, 3)."""
    import torch

    from core.rotations import (axis_angle_to_quaternion, quaternion_multiply, quaternion_to_axis_angle,
                                twist_angle)

    signs, twist_axis, twist_last = _axis_tables()
    axis = torch.from_numpy(np.eye(3)[twist_axis])
    q = axis_angle_to_quaternion(torch.as_tensor(np.asarray(axis_angle, np.float64)))
    angle = twist_angle(q, axis)
    q_twist = axis_angle_to_quaternion(angle[:, None] * axis)
    inverse = q_twist * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)
    last = torch.from_numpy(twist_last[:, None])
    q_swing = torch.where(last, quaternion_multiply(inverse, q), quaternion_multiply(q, inverse))
    swing = quaternion_to_axis_angle(q_swing)
    swing = swing - (swing * axis).sum(-1, keepdim=True) * axis  # numerically perpendicular already
    raw = swing + angle[:, None] * axis
    return np.degrees(raw.numpy()) * signs


# -- presets ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Preset:
    label: str
    description: str
    angles: dict[str, dict[str, float]] | None = None  # joint -> {slider label: degrees}; None: core.pose's


def _both(joint: str, **values: float) -> dict[str, dict[str, float]]:
    """The same slider values on the left and the right joint (a symmetric pose).

    Keyword names are slider labels; `raise_` stands for "raise" (a Python keyword).
    """
    values = {label.rstrip("_"): degrees for label, degrees in values.items()}
    return {f"left_{joint}": values, f"right_{joint}": values}


def _hands(curl: float) -> dict[str, dict[str, float]]:
    """Both hands softly curled: `curl` degrees per finger segment, the thumb a little towards the palm."""
    out: dict[str, dict[str, float]] = {}
    for finger in ("index", "middle", "ring", "pinky"):
        for segment in (1, 2, 3):
            out |= _both(f"{finger}{segment}", curl=curl)
    for segment in (2, 3):
        out |= _both(f"thumb{segment}", curl=0.4 * curl)
    return out


# "t", "a" and "relaxed" are core.pose.Pose.preset's (the CLI's --pose); the others are stances
# designed here, in slider terms. The studio stands every preset on the floor (the root's height is solved).
PRESETS: dict[str, Preset] = {
    "t": Preset("T-pose", "The rest pose: arms straight out, palms down."),
    "a": Preset("A-pose", "Arms 45 degrees down."),
    "relaxed": Preset("Relaxed", "Arms down, soft elbows."),
    "contrapposto": Preset("Contrapposto", "Weight on the right leg, the left knee soft, hips and shoulders "
                           "tilted against each other.", {
        **_hands(14.0),
        "pelvis": {"tilt": 5.0, "turn": 4.0},
        "spine1": {"side": -3.0}, "spine2": {"side": -3.0, "twist": -3.0},
        "spine3": {"side": -2.0, "twist": -2.0},
        "neck": {"tilt": 3.0}, "head": {"tilt": 3.0, "turn": 8.0, "nod": 3.0},
        "left_hip": {"lift": 8.0, "spread": -1.0, "twist": -8.0}, "left_knee": {"bend": 18.0},
        "left_ankle": {"point": 8.0},
        "right_hip": {"spread": -4.0, "twist": 3.0}, "right_knee": {"bend": 2.0}, "right_ankle": {"roll": 4.0},
        "left_shoulder": {"raise": -74.0, "forward": 6.0}, "left_elbow": {"bend": 18.0},
        "right_shoulder": {"raise": -70.0, "forward": -8.0}, "right_elbow": {"bend": 10.0},
    }),
    "hands_on_hips": Preset("Hands on hips", "Elbows out, hands resting on the hips.", {
        **_hands(10.0),
        **_both("shoulder", raise_=-35.0, forward=-15.0, twist=78.0),
        **_both("elbow", bend=100.0),
        **_both("wrist", flex=10.0),
        **_both("hip", spread=3.0),
        "spine3": {"bend": -3.0}, "head": {"nod": -3.0},
    }),
    "arms_crossed": Preset("Arms crossed", "Forearms folded across the chest, the left one in front.", {
        **_hands(25.0),
        "left_shoulder": {"raise": -78.0, "forward": 57.0, "twist": 28.0}, "left_elbow": {"bend": 76.0},
        "right_shoulder": {"raise": -84.0, "forward": 46.0, "twist": 44.0}, "right_elbow": {"bend": 78.0},
        **_both("collar", forward=6.0),
        **_both("hip", spread=2.0),
        "spine3": {"bend": -2.0}, "head": {"nod": -4.0, "turn": -6.0},
    }),
    "stride": Preset("Walking stride", "Mid-step: the left heel about to strike, arms swinging against the legs.", {
        **_hands(12.0),
        "pelvis": {"turn": -5.0, "lean": 3.0},
        "left_hip": {"lift": 24.0}, "left_knee": {"bend": 6.0}, "left_ankle": {"point": -8.0},
        "right_hip": {"lift": -14.0}, "right_knee": {"bend": 12.0}, "right_ankle": {"point": 10.0},
        "right_foot": {"curl": -20.0},
        "spine3": {"twist": 4.0}, "spine2": {"twist": 3.0},
        "left_shoulder": {"raise": -74.0, "forward": -20.0}, "left_elbow": {"bend": 28.0},
        "right_shoulder": {"raise": -74.0, "forward": 18.0}, "right_elbow": {"bend": 12.0},
    }),
}


def preset_angles(key: str) -> np.ndarray:
    """A designed preset's slider angles (55, 3), degrees by world axis."""
    from core.pose import SMPLX_JOINT_INDEX

    angles = np.zeros((NUM_JOINTS, 3))
    for joint, values in (PRESETS[key].angles or {}).items():
        by_label = {a.label: a.axis for a in JOINTS[joint].axes}
        for label, degrees in values.items():
            angles[SMPLX_JOINT_INDEX[joint], by_label[label]] = degrees
    return angles


def preset_pose(key: str) -> Pose:
    """A preset as pose data (root translation 0: the caller stands it on the floor)."""
    import torch

    from core.pose import Pose

    if PRESETS[key].angles is None:
        return Pose.preset(key)
    return Pose(torch.from_numpy(angles_to_axis_angle(preset_angles(key))).float(), torch.zeros(3))


@dataclasses.dataclass
class PoseEditor:
    """The pose being edited: axis-angle per joint (the truth) and the slider angles that show it.

    Editing a slider recomposes only its joint (and its mirror partner), so joints nobody touched
    keep their exact rotation, e.g. a clip frame the edit started from.
    """

    axis_angle: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((NUM_JOINTS, 3)))  # radians
    angles: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((NUM_JOINTS, 3)))  # slider degrees
    translation: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))  # metres
    mirror: bool = False

    def set_angle(self, joint: str, axis: int, degrees: float) -> None:
        """Set one slider; with `mirror`, the same slider of the partner joint too."""
        for j in self._edited(joint):
            self.angles[j, axis] = float(degrees)
            self.axis_angle[j] = angles_to_axis_angle(self.angles[j:j + 1], [j])[0]

    def reset_joint(self, joint: str) -> None:
        """Back to the rest rotation (zero); with `mirror`, the partner too."""
        for j in self._edited(joint):
            self.angles[j] = 0.0
            self.axis_angle[j] = 0.0

    def set_translation(self, axis: int, metres: float) -> None:
        self.translation[axis] = float(metres)

    def load(self, pose: Pose) -> None:
        """Show a pose from elsewhere (a preset, a clip frame): its rotations exactly, and their angles."""
        self.axis_angle = pose.joints.detach().cpu().double().numpy().copy()
        self.translation = pose.translation.detach().cpu().double().numpy().copy()
        self.angles = axis_angle_to_angles(self.axis_angle)

    def pose(self) -> Pose:
        import torch

        from core.pose import Pose

        return Pose(torch.from_numpy(self.axis_angle).float(), torch.from_numpy(self.translation).float())

    def _edited(self, joint: str) -> list[int]:
        """The SMPL-X indices an edit of `joint` changes: it, and with `mirror` its partner."""
        partner = JOINTS[joint].partner
        names = [joint, partner] if self.mirror and partner is not None else [joint]
        return [joint_index(name) for name in names]
