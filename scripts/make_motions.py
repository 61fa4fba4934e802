"""Author the built-in motions (assets/motions/*.npz) from the keyframes below; rerun after editing them.

    python scripts/make_motions.py [--out DIR]

Keys are per channel, like a dope sheet: a joint's key is (time s, (x, y, z) degrees), rotations about
the world axes of the rest pose (SMPL-X pose data, DESIGN.md: the body faces +Z, its left is +X),
applied about z first, then x, then y (R = Ry Rx Rz: lower an arm, then swing it). Sign cheat sheet:
  pelvis / spine / neck / head: x+ bends forward, y+ turns to the body's left, z+ leans to its right;
  hips: x- lifts the thigh forward, z+ opens the left leg outward (right: z-); knees: x+ bends;
  ankles: x+ points the toes down; feet (the toes): x- bends them up;
  collars: z+ lifts the left shoulder (right: z-); shoulders: z- lowers the left arm from the T
  (right: z+), then x- swings the hanging arm forward (both sides); elbows: y- bends the left arm
  (right: y+); finger joints: z- curls the left fingers into the palm (right: z+).
A channel without keys holds its STANCE value (or 0). Between keys every angle follows a monotone
cubic (no overshoot, so held poses stay still), wrapped around for cycles.

Then the feet are put on the floor with the studio's own LBS on Anny: each frame the root moves so
the lowest sole point touches y = 0 (plus a ballistic arc in a jump's flight), and horizontally so the
sole points bearing weight do not slide (the contact follows the lowest points of the lowest foot:
heel strike, roll, push-off). The root translation is stored in SMPL-X reference metres (divided by
Anny's `translation_scale`), so on any body the feet land where that body's legs put them.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WARP_LOG_LEVEL", "error")

from core.body.anny_body import AnnyBody  # noqa: E402
from core.lbs import forward_kinematics, skin_points  # noqa: E402
from core.motion import BUILTIN_MOTIONS, MotionClip, save_motion  # noqa: E402
from core.pose import NUM_JOINTS, SMPLX_JOINT_INDEX, SMPLX_JOINT_NAMES, Pose  # noqa: E402
from core.rotations import euler_to_matrix, matrix_to_axis_angle  # noqa: E402

FPS = 30
FINGERS = ("index", "middle", "ring", "pinky")
Key = tuple[float, tuple[float, float, float]]


def mirror(angles: tuple[float, float, float]) -> tuple[float, float, float]:
    """The same rotation on the other side of the body (reflection in x: axial vectors go (x, -y, -z))."""
    x, y, z = angles
    return (x, -y, -z)


def both(joint: str, keys: list[Key]) -> dict[str, list[Key]]:
    """Left keys as given and right keys mirrored, for symmetric motion (e.g. a jump)."""
    return {f"left_{joint}": keys, f"right_{joint}": [(t, mirror(a)) for t, a in keys]}


def relaxed_hand(side: str, curl: float) -> dict[str, tuple[float, float, float]]:
    """Fingers softly curled by `curl` degrees per segment; the thumb a little towards the palm."""
    sign = -1.0 if side == "left" else 1.0
    hand = {f"{side}_{finger}{segment}": (0.0, 0.0, sign * curl) for finger in FINGERS for segment in (1, 2, 3)}
    hand[f"{side}_thumb2"] = (0.4 * curl, 0.0, 0.0)
    hand[f"{side}_thumb3"] = (0.4 * curl, 0.0, 0.0)
    return hand


# Standing at ease: arms hanging with soft elbows, fingers softly curled.
STANCE: dict[str, tuple[float, float, float]] = {
    "left_shoulder": (0.0, 0.0, -74.0), "right_shoulder": (0.0, 0.0, 74.0),
    "left_elbow": (0.0, -14.0, 0.0), "right_elbow": (0.0, 14.0, 0.0),
    **relaxed_hand("left", 12.0), **relaxed_hand("right", 12.0),
}


@dataclasses.dataclass
class Keyframes:
    name: str
    duration: float  # seconds
    periodic: bool  # the curves wrap around (keys must not repeat time 0 at `duration`); else they hold
    keys: dict[str, list[Key]]
    travel: bool = False  # the root goes where the weight-bearing foot takes it (walk); else it stays put
    flight: tuple[float, float, float] | None = None  # (take-off s, landing s, apex m) of a jump


def idle() -> Keyframes:
    """Standing: breathing every 2 s, weight shifting from leg to leg, a look around. 4 s loop."""
    keys: dict[str, list[Key]] = {
        # Weight on the left leg at 0 s, on the right at 2 s: the free side of the pelvis drops, the
        # legs lean over the loaded foot, the free knee softens, the spine keeps the head upright.
        "pelvis": [(0.0, (0.0, 0.0, 2.0)), (2.0, (0.0, 0.0, -2.0))],
        "left_hip": [(0.0, (0.0, 0.0, -3.5)), (2.0, (-3.0, 0.0, 3.5))],
        "right_hip": [(0.0, (-3.0, 0.0, -3.5)), (2.0, (0.0, 0.0, 3.5))],
        "left_knee": [(0.0, (0.0, 0.0, 0.0)), (2.0, (7.0, 0.0, 0.0))],
        "right_knee": [(0.0, (7.0, 0.0, 0.0)), (2.0, (0.0, 0.0, 0.0))],
        "left_ankle": [(0.0, (0.0, 0.0, 3.5)), (2.0, (-4.0, 0.0, -3.5))],
        "right_ankle": [(0.0, (-4.0, 0.0, 3.5)), (2.0, (0.0, 0.0, -3.5))],
        "spine1": [(0.0, (0.0, 0.0, -1.0)), (2.0, (0.0, 0.0, 1.0))],
        # Breathing: the chest lifts and the shoulders rise a little on each in-breath.
        "spine3": [(0.5, (-1.5, 0.0, -1.0)), (1.5, (0.0, 0.0, 0.0)), (2.5, (-1.5, 0.0, 1.0)), (3.5, (0.0, 0.0, 0.0))],
        "left_collar": [(0.5, (0.0, 0.0, 1.5)), (1.5, (0.0, 0.0, 0.0)), (2.5, (0.0, 0.0, 1.5)), (3.5, (0.0, 0.0, 0.0))],
        "right_collar": [(0.5, (0.0, 0.0, -1.5)), (1.5, (0.0, 0.0, 0.0)), (2.5, (0.0, 0.0, -1.5)),
                         (3.5, (0.0, 0.0, 0.0))],
        "head": [(0.2, (2.0, 0.0, 0.0)), (1.2, (0.0, 12.0, -1.0)), (2.3, (3.0, 2.0, 0.0)), (3.3, (0.0, -10.0, 1.0))],
        "left_shoulder": [(0.0, (-2.0, 0.0, -74.0)), (2.0, (1.5, 0.0, -73.0))],
        "right_shoulder": [(0.0, (1.5, 0.0, 73.0)), (2.0, (-2.0, 0.0, 74.0))],
    }
    return Keyframes("idle", 4.0, True, keys)


# Walking gait of the left leg over one cycle (phase 0 = left heel strike, 0.5 = right heel strike),
# degrees of flexion; the right leg runs half a cycle later. After the clinical gait curves.
GAIT = {
    "hip": [(0.0, 28.0), (0.12, 23.0), (0.3, 5.0), (0.5, -14.0), (0.58, -10.0), (0.75, 20.0), (0.88, 30.0)],
    "adduction": [(0.0, 2.0), (0.25, 4.5), (0.5, 2.0), (0.75, 0.5)],  # the stance leg leans in under the body
    "knee": [(0.0, 4.0), (0.12, 17.0), (0.3, 6.0), (0.45, 6.0), (0.6, 38.0), (0.72, 60.0), (0.86, 28.0), (0.96, 4.0)],
    "ankle": [(0.0, 0.0), (0.08, -7.0), (0.3, 7.0), (0.48, 10.0), (0.62, -18.0), (0.72, -4.0), (0.86, 3.0)],
    "toes": [(0.0, 0.0), (0.45, 0.0), (0.56, 25.0), (0.66, 6.0), (0.76, 0.0)],
    "arm": [(0.0, 16.0), (0.5, -20.0)],  # shoulder swing: back (+) as the same leg strikes
    "elbow": [(0.0, 12.0), (0.5, 30.0)],
}
WALK_PERIOD = 1.1  # s per cycle (two steps): ~110 steps a minute, an easy pace
WALK_CYCLES = 3


def gait(curve: str, phase: float) -> float:
    """A GAIT curve at `phase` (cycles, wrapping)."""
    return _curve(GAIT[curve], phase, period=1.0)


def _gait_keys(curve: str, shift: float, angles: Callable[[float], tuple[float, float, float]]) -> list[Key]:
    """Keys at the phases where GAIT[curve] has them, every cycle of the walk, `shift` of a cycle later.

    `angles(phase)` gives the joint's (x, y, z) degrees at a phase of the left leg's cycle.
    """
    keys = [(((phase + shift) % 1.0 + cycle) * WALK_PERIOD, angles(phase))
            for cycle in range(WALK_CYCLES) for phase, _ in GAIT[curve]]
    return sorted(keys)


def walk() -> Keyframes:
    """Walking forward (+Z) at an easy pace: three cycles (six steps), loops."""
    keys: dict[str, list[Key]] = {}
    for side, shift, s in (("left", 0.0, 1.0), ("right", 0.5, -1.0)):
        keys[f"{side}_hip"] = _gait_keys("hip", shift, lambda p, s=s: (-gait("hip", p), 0.0, -s * gait("adduction", p)))
        keys[f"{side}_knee"] = _gait_keys("knee", shift, lambda p: (gait("knee", p), 0.0, 0.0))
        keys[f"{side}_ankle"] = _gait_keys("ankle", shift, lambda p: (-gait("ankle", p), 0.0, 0.0))
        keys[f"{side}_foot"] = _gait_keys("toes", shift, lambda p: (-gait("toes", p), 0.0, 0.0))
        keys[f"{side}_shoulder"] = _gait_keys("arm", shift, lambda p, s=s: (gait("arm", p), 0.0, -74.0 * s))
        keys[f"{side}_elbow"] = _gait_keys("elbow", shift, lambda p, s=s: (0.0, -s * gait("elbow", p), 0.0))
    cycle_keys = lambda values: [(c * WALK_PERIOD + p * WALK_PERIOD, v)  # noqa: E731
                                 for c in range(WALK_CYCLES) for p, v in values]
    # The pelvis turns towards the swinging leg and drops on the free side; the chest turns back against it.
    keys["pelvis"] = cycle_keys([(0.0, (3.0, -5.0, 0.0)), (0.15, (3.0, -3.0, 3.0)), (0.5, (3.0, 5.0, 0.0)),
                                 (0.65, (3.0, 3.0, -3.0))])
    keys["spine2"] = cycle_keys([(0.0, (0.0, 2.5, 0.0)), (0.5, (0.0, -2.5, 0.0))])
    keys["spine3"] = cycle_keys([(0.0, (0.0, 3.5, 0.0)), (0.5, (0.0, -3.5, 0.0))])
    keys["head"] = cycle_keys([(0.0, (-2.0, 0.0, 0.0)), (0.25, (-3.0, 0.0, 0.0)), (0.5, (-2.0, 0.0, 0.0)),
                               (0.75, (-3.0, 0.0, 0.0))])
    return Keyframes("walk", WALK_CYCLES * WALK_PERIOD, True, keys, travel=True)


def wave() -> Keyframes:
    """The right hand rises, palm forward, waves three times and comes back down. 3.2 s, loops."""
    up = (-90.0, 15.0, 10.0)  # upper arm out to the side, turned so the elbow bends upwards
    keys: dict[str, list[Key]] = {
        "right_shoulder": [(0.0, STANCE["right_shoulder"]), (0.7, up), (2.45, up), (3.2, STANCE["right_shoulder"])],
        "right_elbow": [(0.0, STANCE["right_elbow"]), (0.7, (0.0, 95.0, 0.0)), (0.95, (0.0, 75.0, 0.0)),
                        (1.25, (0.0, 112.0, 0.0)), (1.55, (0.0, 75.0, 0.0)), (1.85, (0.0, 112.0, 0.0)),
                        (2.15, (0.0, 78.0, 0.0)), (2.45, (0.0, 95.0, 0.0)), (3.2, STANCE["right_elbow"])],
        "right_wrist": [(0.0, (0.0, 0.0, 0.0)), (0.7, (0.0, 0.0, 0.0)), (0.95, (0.0, -15.0, 0.0)),
                        (1.25, (0.0, 15.0, 0.0)), (1.55, (0.0, -15.0, 0.0)), (1.85, (0.0, 15.0, 0.0)),
                        (2.15, (0.0, -12.0, 0.0)), (2.45, (0.0, 0.0, 0.0)), (3.2, (0.0, 0.0, 0.0))],
        "right_collar": [(0.0, (0.0, 0.0, 0.0)), (0.7, (0.0, 0.0, -6.0)), (2.45, (0.0, 0.0, -6.0)),
                         (3.2, (0.0, 0.0, 0.0))],
        "spine3": [(0.0, (0.0, 0.0, 0.0)), (0.7, (0.0, -3.0, 1.5)), (2.45, (0.0, -3.0, 1.5)), (3.2, (0.0, 0.0, 0.0))],
        "head": [(0.0, (0.0, 0.0, 0.0)), (0.8, (-2.0, 4.0, 4.0)), (2.4, (-2.0, 4.0, 4.0)), (3.2, (0.0, 0.0, 0.0))],
    }
    # The waving hand opens flat, then relaxes again.
    for joint, relaxed in relaxed_hand("right", 12.0).items():
        keys[joint] = [(0.0, relaxed), (0.6, (0.0, 0.0, 0.0)), (2.5, (0.0, 0.0, 0.0)), (3.2, relaxed)]
    return Keyframes("wave", 3.2, False, keys)


TURN_STEPS = 12  # alternating steps, each turning one foot 60 degrees: a full turn to the left
TURN_STEP_TIME = 0.35


def turn() -> Keyframes:
    """A full turn to the left on the spot in twelve small steps. 4.2 s, loops (ends as it began)."""
    T = TURN_STEP_TIME
    end = TURN_STEPS * T
    # Per foot: time -> heading of the foot (degrees) and time -> how high it is lifted (0..1).
    heading: dict[str, dict[float, float]] = {"left": {0.0: 0.0}, "right": {0.0: 0.0}}
    raised: dict[str, dict[float, float]] = {"left": {0.0: 0.0}, "right": {0.0: 0.0}}
    for step in range(TURN_STEPS):
        side = "left" if step % 2 == 0 else "right"
        current = heading[side][max(heading[side])]
        heading[side].update({step * T: current, (step + 1) * T: current + 60.0})
        raised[side].update({step * T: 0.0, (step + 0.5) * T: 1.0, (step + 1) * T: 0.0})
    for side in heading:
        heading[side].setdefault(end, heading[side][max(heading[side])])
        raised[side].setdefault(end, 0.0)
    feet = {side: sorted(h.items()) for side, h in heading.items()}
    lift = {side: sorted(r.items()) for side, r in raised.items()}
    pelvis = [(t, 0.5 * (_curve(feet["left"], t) + _curve(feet["right"], t)))
              for t in sorted({t for side in feet for t, _ in feet[side]})]
    keys: dict[str, list[Key]] = {"pelvis": [(t, (2.0, yaw, 0.0)) for t, yaw in pelvis]}
    for side in feet:
        times = sorted({t for t, _ in feet[side]} | {t for t, _ in lift[side]})
        hip, knee, ankle = [], [], []
        for t in times:
            up = _curve(lift[side], t)
            yaw = _curve(feet[side], t) - _curve(pelvis, t)  # the leg turns under the pelvis to its foot
            hip.append((t, (-28.0 * up, yaw, 0.0)))
            knee.append((t, (50.0 * up, 0.0, 0.0)))
            ankle.append((t, (-18.0 * up, 0.0, 0.0)))
        keys[f"{side}_hip"], keys[f"{side}_knee"], keys[f"{side}_ankle"] = hip, knee, ankle
    keys["head"] = [(0.0, (0.0, 0.0, 0.0)), (0.4, (0.0, 18.0, 0.0)), (end - 0.4, (0.0, 18.0, 0.0)),
                    (end, (0.0, 0.0, 0.0))]
    keys["left_shoulder"] = [(0.0, (0.0, 0.0, -74.0)), (0.5, (0.0, 0.0, -66.0)), (end - 0.5, (0.0, 0.0, -66.0)),
                             (end, (0.0, 0.0, -74.0))]
    keys["right_shoulder"] = [(t, mirror(a)) for t, a in keys["left_shoulder"]]
    return Keyframes("turn", end, False, keys)


def jump() -> Keyframes:
    """Crouch, jump ~30 cm straight up with an arm swing, land softly and stand. 2.4 s, loops."""
    # time:    stand  ready  crouch take-off apex  touch  absorb recover stand
    times = [0.0, 0.35, 0.75, 0.92, 1.2, 1.45, 1.65, 2.1, 2.4]
    pelvis = [0.0, 0.0, 20.0, 0.0, 5.0, 5.0, 15.0, 3.0, 0.0]
    hip = [0.0, 0.0, -70.0, 5.0, -35.0, -15.0, -55.0, -8.0, 0.0]
    knee = [0.0, 0.0, 90.0, 0.0, 50.0, 15.0, 75.0, 10.0, 0.0]
    # Feet flat on the floor when crouched (the ankle undoes pelvis + hip + knee), pointed in the air.
    ankle = [0.0, 0.0, -40.0, 30.0, 12.0, 18.0, -35.0, -5.0, 0.0]
    toes = [0.0, 0.0, 0.0, -30.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    spine = [0.0, 0.0, 6.0, -3.0, 2.0, 2.0, 5.0, 1.0, 0.0]
    head = [0.0, 0.0, -12.0, -4.0, -4.0, -2.0, -10.0, -2.0, 0.0]
    arm = [0.0, 0.0, 45.0, -130.0, -110.0, -60.0, -30.0, -5.0, 0.0]
    elbow = [14.0, 14.0, 20.0, 20.0, 25.0, 25.0, 30.0, 16.0, 14.0]
    column = lambda values, axis: [(t, tuple(v if k == axis else 0.0 for k in range(3)))  # noqa: E731
                                   for t, v in zip(times, values)]
    keys: dict[str, list[Key]] = {"pelvis": column(pelvis, 0), "spine1": column(spine, 0),
                                  "spine2": column(spine, 0), "spine3": column(spine, 0), "head": column(head, 0)}
    keys.update(both("hip", column(hip, 0)))
    keys.update(both("knee", column(knee, 0)))
    keys.update(both("ankle", column(ankle, 0)))
    keys.update(both("foot", column(toes, 0)))
    keys.update(both("shoulder", [(t, (a, 0.0, -74.0)) for t, a in zip(times, arm)]))
    keys.update(both("elbow", [(t, (0.0, -e, 0.0)) for t, e in zip(times, elbow)]))
    return Keyframes("jump", 2.4, False, keys, flight=(0.95, 1.45, 0.30))


MOTIONS = {"idle": idle, "walk": walk, "wave": wave, "turn": turn, "jump": jump}


def _curve(keys: list[tuple[float, float]], t: float, period: float | None = None) -> float:
    """Monotone cubic through scalar keys (Fritsch-Butland tangents: no overshoot, flat at extremes).

    With `period`, the keys repeat every `period` seconds; else the curve holds its end values.
    """
    times = [k[0] for k in keys]
    values = [k[1] for k in keys]
    if period is not None:
        t %= period
        times = [x - period for x in times] + times + [x + period for x in times]
        values = values * 3
    elif t <= times[0] or len(times) == 1:
        return values[0]
    elif t >= times[-1]:
        return values[-1]
    i = max(k for k in range(len(times) - 1) if times[k] <= t)
    h = times[i + 1] - times[i]

    def slope(k: int) -> float:
        if k <= 0 or k >= len(times) - 1:
            return 0.0
        d0 = (values[k] - values[k - 1]) / (times[k] - times[k - 1])
        d1 = (values[k + 1] - values[k]) / (times[k + 1] - times[k])
        return 0.0 if d0 * d1 <= 0 else 2.0 * d0 * d1 / (d0 + d1)

    s = (t - times[i]) / h
    h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
    return h00 * values[i] + h10 * h * slope(i) + h01 * values[i + 1] + h11 * h * slope(i + 1)


def joint_angles(motion: Keyframes) -> torch.Tensor:
    """(N, 55, 3) axis-angle frames of a motion's keys at k / FPS, k < duration * FPS.

    Every built-in plays as a loop: the pose at `duration` is frame 0's (periodic curves, or a motion
    that comes back to rest), so it is not stored twice.
    """
    count = round(motion.duration * FPS)
    period = motion.duration if motion.periodic else None
    for joint, keys in motion.keys.items():
        times = [t for t, _ in keys]
        if times != sorted(set(times)) or (period is not None and (times[0] < 0 or times[-1] >= period)):
            raise ValueError(f"{motion.name}: keys of {joint} must have increasing times inside one period")
    unknown = set(motion.keys) - set(SMPLX_JOINT_NAMES)
    if unknown:
        raise ValueError(f"{motion.name}: unknown joints {sorted(unknown)}")
    frames = torch.zeros(count, NUM_JOINTS, 3)
    for joint in SMPLX_JOINT_NAMES:
        keys = motion.keys.get(joint)
        if keys is None and joint not in STANCE:
            continue
        angles = torch.zeros(count, 3)
        for k in range(count):
            for axis in range(3):
                if keys is None:
                    angles[k, axis] = STANCE[joint][axis]
                else:
                    angles[k, axis] = _curve([(t, a[axis]) for t, a in keys], k / FPS, period)
        rotation = euler_to_matrix(torch.deg2rad(angles), "zxy")
        frames[:, SMPLX_JOINT_INDEX[joint]] = matrix_to_axis_angle(rotation)
    return frames


class Floor:
    """Puts a motion's feet on the floor by posing Anny's soles with the studio's LBS."""

    def __init__(self) -> None:
        self.body = AnnyBody()
        self.rest = self.body.rest()
        regions = self.rest.vertex_regions()
        y = self.rest.vertices[:, 1]
        self.soles = []
        for side in ("left", "right"):
            joints = torch.tensor([SMPLX_JOINT_INDEX[f"{side}_ankle"], SMPLX_JOINT_INDEX[f"{side}_foot"]])
            foot = torch.isin(regions, joints)
            self.soles.append(torch.nonzero(foot & (y < 0.02))[:, 0])

    def sole_points(self, joints: torch.Tensor) -> list[torch.Tensor]:
        """Posed sole points of each foot for one frame of joint rotations, root at its rest place."""
        local = self.body.bone_rotations(Pose(joints, torch.zeros(3)))
        _, skinning = forward_kinematics(local, self.rest.joints, self.rest.parents)
        r = self.rest
        return [skin_points(r.vertices[s], skinning, r.skin_indices[s], r.skin_weights[s]) for s in self.soles]

    def root_path(self, motion: Keyframes, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3) root translation, SMPL-X reference metres: soles on the floor, loaded foot not sliding."""
        path = torch.zeros(frames.shape[0], 3)
        previous = None
        for k in range(frames.shape[0]):
            feet = self.sole_points(frames[k])
            points = torch.cat(feet)
            lowest = float(points[:, 1].min())
            path[k, 1] = -lowest + _flight_height(motion, k / FPS)
            # Weight the sole points by how close to the floor they are: the contact patch.
            weights = torch.exp(-(points[:, 1] - lowest) / 0.004)
            if previous is not None:
                slide = ((points - previous)[:, [0, 2]] * weights[:, None]).sum(0) / weights.sum()
                path[k, [0, 2]] = path[k - 1, [0, 2]] - slide
            previous = points
        if not motion.travel:
            # A loop that stays put ends where it starts: spread the contact estimate's small drift over
            # it, then centre it on the origin.
            closing = path[-1, [0, 2]] + (path[-1, [0, 2]] - path[-2, [0, 2]])
            path[:, [0, 2]] -= torch.linspace(0, 1, frames.shape[0] + 1)[:-1, None] * closing
            path[:, [0, 2]] -= path[:, [0, 2]].mean(0)
        return path / self.rest.translation_scale


def _flight_height(motion: Keyframes, t: float) -> float:
    """Ballistic height of the lowest sole above the floor during a jump's flight."""
    if motion.flight is None:
        return 0.0
    start, end, apex = motion.flight
    if not start < t < end:
        return 0.0
    return 4.0 * apex * (t - start) * (end - t) / (end - start) ** 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "motions", help="folder for the .npz clips")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    assert set(MOTIONS) == set(BUILTIN_MOTIONS)
    floor = Floor()
    for name, author in MOTIONS.items():
        motion = author()
        frames = joint_angles(motion)
        translation = floor.root_path(motion, frames)
        clip = MotionClip(frames, translation, FPS, name, f"built-in motion '{name}' (scripts/make_motions.py)")
        path = save_motion(clip, args.out / f"{name}.npz")
        print(f"{path}: {clip.num_frames} frames, {clip.duration:.2f} s, {path.stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
