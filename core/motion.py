"""Motion clips: pose data over time, what a timeline plays, and the files clips come from.

A `MotionClip` holds N frames of pose data in the studio's convention (DESIGN.md: 55 SMPL-X joints,
axis-angle in world-aligned rest frames, Y up, the body facing +Z) and the root translation: how far
the pelvis is from where it stands in the rest pose, in metres of the SMPL-X reference body
(core.body.base: pelvis 0.93 m, hips 0.84 m above the floor). Translation 0 = standing on the floor.
`pose_at(t)` interpolates between frames (quaternion slerp per joint, lerp of the translation) and
scales the translation to the posed body (`BodyRest.translation_scale`, the ratio of hip heights).

Files `load_motion` reads, recognised by their content (not only their extension):
- AMASS npz, as distributed: SMPL+H (`poses` N x 156: root, 21 body joints, 2 x 15 hand joints, no
  jaw or eyes), SMPL-X (`poses` N x 165) or SMPL-X stage-II keys (`root_orient`, `pose_body`,
  `pose_hand`, `pose_jaw`, `pose_eye`), with `trans` (N x 3) and the frame rate under
  `mocap_framerate` or `mocap_frame_rate`; `gender` (str or bytes) and `betas` only go into the
  clip's description; other keys (markers, dmpls, labels) are ignored. Conversions:
  * AMASS is Z-up: the root orientation and the translation are turned into our Y-up frame,
    (x, y, z) -> (x, z, -y), so a subject standing upright in AMASS stands upright here and an
    AMASS translation along +Z is a rise along +Y.
  * AMASS `trans` puts the pelvis at about `trans` (plus the subject's pelvis offset in the body
    model's own frame, a few cm that we cannot know without the model); its height above the floor
    becomes our translation by subtracting the reference pelvis height, so a subject of the reference
    size stands on the floor. The horizontal position of the first frame is moved to the origin (the
    capture room's origin means nothing in the studio); the heading is kept.
  * Hands: AMASS stores hand poses relative to the flat open hand (its body model adds no hand mean),
    which is also our zero pose, so they are used as they are. A file whose hand poses are relative
    to the SMPL-X mean hand (`smplx.SMPLX(flat_hand_mean=False)`) needs that mean added:
    `load_motion(path, hand_mean=smplx_hand_mean(body_dir))`, read from the user's SMPL-X model
    (`hands_meanl`/`hands_meanr`). Without the SMPL-X files (the Anny-only setup) the mean is not
    available: such a file then plays with its hands more open than captured (the mean hand is a
    relaxed half curl).
- Our clip format, npz or json (`save_motion`): the MotionClip fields as they are, no conversion.

Anything else is refused with one `AvatarStudioError` line naming the file and the problem.
"""
from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

import assets
from core.atomic import atomic_write, check_writable
from core.body.base import SMPLX_REFERENCE_PELVIS_HEIGHT
from core.errors import AvatarStudioError
from core.pose import NUM_JOINTS, SMPLX_JOINT_NAMES, Pose
from core.rotations import (axis_angle_to_matrix, axis_angle_to_quaternion, matrix_to_axis_angle,
                            quaternion_slerp, quaternion_to_axis_angle)

FORMAT = "avatar-studio-motion"
FORMAT_VERSION = 1
BUILTIN_MOTIONS: tuple[str, ...] = ("idle", "walk", "wave", "turn", "jump")
SMPLH_WIDTH = 156  # root + 21 body + 2 x 15 hand joints, x 3
SMPLX_WIDTH = 165  # root + 21 body + jaw + 2 eyes + 2 x 15 hand joints, x 3
FRAME_RATE_KEYS = ("mocap_framerate", "mocap_frame_rate")  # SMPL+H and SMPL-X AMASS spell it differently
# AMASS world (Z up) -> ours (Y up): (x, y, z) -> (x, z, -y), a rotation of -90 degrees about X.
Z_UP_TO_Y_UP = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
HAND_JOINTS = slice(25, 55)  # left_index1 .. right_thumb3 in SMPL-X order

_ZIP_MAGIC = b"PK\x03\x04"


@dataclasses.dataclass
class MotionClip:
    """N frames of pose data sampled at `fps`; frame k shows at time k / fps."""

    poses: torch.Tensor  # (N, 55, 3) float32 axis-angle, SMPL-X joint order
    translation: torch.Tensor  # (N, 3) float32 metres on the SMPL-X reference body, 0 = rest
    fps: float
    name: str
    source: str = ""  # where the frames came from, for the user (file, format, conversions)

    def __post_init__(self) -> None:
        self.poses = torch.as_tensor(self.poses, dtype=torch.float32)
        self.translation = torch.as_tensor(self.translation, dtype=torch.float32)
        n = self.poses.shape[0]
        if self.poses.shape != (n, NUM_JOINTS, 3) or n == 0:
            raise ValueError(f"poses must be (N >= 1, {NUM_JOINTS}, 3), got {tuple(self.poses.shape)}")
        if self.translation.shape != (n, 3):
            raise ValueError(f"translation must be ({n}, 3), got {tuple(self.translation.shape)}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return self.poses.shape[0]

    @property
    def duration(self) -> float:
        """Seconds the clip lasts: N frames of 1 / fps each (a loop returns to frame 0 after it)."""
        return self.num_frames / self.fps

    def frame(self, k: int, translation_scale: float = 1.0) -> Pose:
        """Frame k as it was stored; `translation_scale` = the posed body's `BodyRest.translation_scale`."""
        if not 0 <= k < self.num_frames:
            raise AvatarStudioError(f"frame {k} is outside motion '{self.name}' (frames 0..{self.num_frames - 1})")
        return Pose(self.poses[k].clone(), self.translation[k] * translation_scale)

    def pose_at(self, time_s: float, loop: bool = False, translation_scale: float = 1.0) -> Pose:
        """The pose at `time_s` seconds: slerp of each joint and lerp of the translation between frames.

        Without `loop`, times before 0 or after the last frame hold the first or last frame. With
        `loop`, time wraps at `duration` and the last frame blends back into frame 0 (the
        translation wraps too: a clip that walks away starts again where it began).
        `translation_scale` is the posed body's `BodyRest.translation_scale`.
        """
        n = self.num_frames
        position = time_s * self.fps
        if loop:
            position %= n
            k0 = min(int(position), n - 1)
            k1 = (k0 + 1) % n
        else:
            position = min(max(position, 0.0), n - 1.0)
            k0 = int(position)
            k1 = min(k0 + 1, n - 1)
        alpha = position - k0
        if alpha == 0.0 or k0 == k1:
            return self.frame(k0, translation_scale)
        q = quaternion_slerp(axis_angle_to_quaternion(self.poses[k0]), axis_angle_to_quaternion(self.poses[k1]), alpha)
        translation = torch.lerp(self.translation[k0], self.translation[k1], alpha)
        return Pose(quaternion_to_axis_angle(q), translation * translation_scale)

    def resampled(self, fps: float) -> "MotionClip":
        """The same motion at another frame rate (e.g. a video's), by `pose_at` at k / fps."""
        count = max(1, round(self.duration * fps))
        poses = [self.pose_at(k / fps) for k in range(count)]
        return MotionClip(torch.stack([p.joints for p in poses]), torch.stack([p.translation for p in poses]),
                          fps, self.name, self.source)


def builtin_motion_path(name: str) -> Path:
    """The shipped clip of a built-in motion (see BUILTIN_MOTIONS); made by scripts/make_motions.py."""
    if name not in BUILTIN_MOTIONS:
        raise AvatarStudioError(f"unknown built-in motion {name!r}; built-in motions: {', '.join(BUILTIN_MOTIONS)}")
    return assets.path(f"motions/{name}.npz")


def resolve_motion(source: str | os.PathLike) -> Path:
    """A motion file path, or a built-in motion's name ("walk"); an existing file wins over a name."""
    path = Path(source)
    if path.exists():
        if not path.is_file():
            raise AvatarStudioError(f"motion file {path} is a folder, not a file")
        return path
    if str(source) in BUILTIN_MOTIONS:
        return builtin_motion_path(str(source))
    raise AvatarStudioError(f"motion file {path} does not exist (built-in motions: {', '.join(BUILTIN_MOTIONS)})")


def load_motion(source: str | os.PathLike, hand_mean: np.ndarray | None = None) -> MotionClip:
    """Read a motion file (AMASS npz or our npz/json clip) or a built-in motion by name.

    `hand_mean` (30, 3): the SMPL-X mean hand pose to add to an AMASS file whose hand poses are
    relative to it (see the module docstring); None = the file's hands are relative to the flat hand.
    """
    path = resolve_motion(source)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise AvatarStudioError(f"motion file {path} could not be read ({_reason(exc)})") from None
    if head.startswith(_ZIP_MAGIC):
        return _load_npz(path, hand_mean)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _load_json(path)
    raise AvatarStudioError(f"motion file {path} is neither an .npz archive nor a JSON clip")


def save_motion(clip: MotionClip, path: str | os.PathLike) -> Path:
    """Write `clip` in our format, npz (compact) or json (readable) by the extension; atomic."""
    path = check_writable(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, format=np.array(FORMAT), version=np.array(FORMAT_VERSION), name=np.array(clip.name),
            source=np.array(clip.source), fps=np.array(float(clip.fps)), joint_names=np.array(SMPLX_JOINT_NAMES),
            poses=clip.poses.numpy().astype(np.float32), translation=clip.translation.numpy().astype(np.float32),
        )
        data = buffer.getvalue()
    elif suffix == ".json":
        document = {
            "format": FORMAT, "version": FORMAT_VERSION, "name": clip.name, "source": clip.source,
            "fps": float(clip.fps), "joint_names": list(SMPLX_JOINT_NAMES),
            "poses": np.round(clip.poses.numpy().astype(np.float64), 6).tolist(),
            "translation": np.round(clip.translation.numpy().astype(np.float64), 6).tolist(),
        }
        data = json.dumps(document, separators=(",", ":")).encode()
    else:
        raise AvatarStudioError(f"{path}: motion clips are saved as .npz or .json")
    with atomic_write(path) as f:
        f.write(data)
    return path


def smplx_hand_mean(body_dir: str | os.PathLike | None, gender: str = "neutral") -> np.ndarray:
    """The SMPL-X mean hand pose (30, 3), left then right, from the user's SMPLX_<GENDER>.npz."""
    if body_dir is None:
        raise AvatarStudioError("hand poses relative to the SMPL-X mean hand (--hands mean) need the SMPL-X model "
                                "files: pass --body-dir DIR (any body), or use --hands flat")
    path = Path(body_dir) / f"SMPLX_{gender.upper()}.npz"
    if not path.is_file():
        raise AvatarStudioError(f"{path} not found: the SMPL-X mean hand pose comes from the SMPL-X model files")
    try:
        with np.load(path, allow_pickle=False) as archive:
            left, right = np.asarray(archive["hands_meanl"]), np.asarray(archive["hands_meanr"])
    except Exception as exc:  # missing keys, bad bytes: numpy and zipfile raise many types
        raise AvatarStudioError(f"{path}: no readable hands_meanl/hands_meanr ({_reason(exc)})") from None
    if left.size != 45 or right.size != 45:
        raise AvatarStudioError(f"{path}: hands_meanl/hands_meanr should hold 45 values each")
    return np.concatenate([left.reshape(15, 3), right.reshape(15, 3)]).astype(np.float32)


def _reason(exc: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(exc).split()) or "no details"
    return f"{type(exc).__name__}: {text[:160]}"


def _load_npz(path: Path, hand_mean: np.ndarray | None) -> MotionClip:
    if not zipfile.is_zipfile(path):
        raise AvatarStudioError(f"motion file {path} is a truncated or corrupt .npz archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "format" in archive.files:
                return _ours(path, {key: archive[key] for key in archive.files})
            return _amass(path, archive, hand_mean)
    except AvatarStudioError:
        raise
    except Exception as exc:  # a damaged member, a pickled array: numpy and zipfile raise many types
        raise AvatarStudioError(f"motion file {path} could not be read as .npz ({_reason(exc)})") from None


def _load_json(path: Path) -> MotionClip:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AvatarStudioError(f"motion file {path} is not valid JSON ({_reason(exc)})") from None
    if not isinstance(document, dict):
        raise AvatarStudioError(f"motion file {path}: expected a JSON object with format '{FORMAT}'")
    return _ours(path, document)


def _ours(path: Path, fields: dict) -> MotionClip:
    """A clip in our format from its fields (npz arrays or json values), checked."""
    def field(key: str):
        if key not in fields:
            raise AvatarStudioError(f"motion file {path}: missing '{key}'")
        return fields[key]

    if str(field("format")) != FORMAT:
        raise AvatarStudioError(f"motion file {path}: format is {str(fields['format'])!r}, expected '{FORMAT}'")
    version = int(np.asarray(field("version")))
    if version > FORMAT_VERSION:
        raise AvatarStudioError(f"motion file {path}: format version {version} is newer than this studio reads "
                                f"({FORMAT_VERSION})")
    if [str(name) for name in np.asarray(field("joint_names")).tolist()] != list(SMPLX_JOINT_NAMES):
        raise AvatarStudioError(f"motion file {path}: joint_names are not the 55 SMPL-X joints in smplx order")
    poses = _numbers(path, "poses", field("poses"))
    translation = _numbers(path, "translation", field("translation"))
    n = poses.shape[0] if poses.ndim else 0
    if poses.shape != (n, NUM_JOINTS, 3) or n == 0:
        raise AvatarStudioError(f"motion file {path}: poses has shape {poses.shape}, expected (N >= 1, 55, 3)")
    if translation.shape != (n, 3):
        raise AvatarStudioError(f"motion file {path}: translation has shape {translation.shape}, expected ({n}, 3)")
    fps = _frame_rate(path, "fps", field("fps"))
    return MotionClip(torch.from_numpy(poses.astype(np.float32)), torch.from_numpy(translation.astype(np.float32)),
                      fps, str(fields.get("name", path.stem)), str(fields.get("source", "")))


def _numbers(path: Path, key: str, value) -> np.ndarray:
    """A finite float array, or a one-line error naming the key and the first bad frame."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AvatarStudioError(f"motion file {path}: {key} is not an array of numbers") from None
    bad = ~np.isfinite(array)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0]) if array.ndim else 0
        raise AvatarStudioError(f"motion file {path}: {key} contains NaN or infinite values (first at frame {frame})")
    return array


def _frame_rate(path: Path, key: str, value) -> float:
    rate = np.asarray(value)
    if rate.size != 1 or not np.issubdtype(rate.dtype, np.number):
        raise AvatarStudioError(f"motion file {path}: {key} should be one number, got {rate.dtype} {rate.shape}")
    fps = float(rate.reshape(()))
    if not (math.isfinite(fps) and 0 < fps <= 1000):
        raise AvatarStudioError(f"motion file {path}: frame rate {key} = {fps} is not a rate in 0..1000 fps")
    return fps


def _amass(path: Path, archive, hand_mean: np.ndarray | None) -> MotionClip:
    """An AMASS npz (SMPL+H, SMPL-X or SMPL-X stage II) as a clip in our frame and convention."""
    files = set(archive.files)
    if "poses" in files:
        flat = _numbers(path, "poses", archive["poses"])
        if flat.ndim != 2 or flat.shape[1] not in (SMPLH_WIDTH, SMPLX_WIDTH):
            raise AvatarStudioError(
                f"motion file {path}: poses has shape {flat.shape}, expected N x {SMPLH_WIDTH} (SMPL+H) "
                f"or N x {SMPLX_WIDTH} (SMPL-X)")
        kind = "SMPL+H" if flat.shape[1] == SMPLH_WIDTH else "SMPL-X"
        joints = _joints_from_flat(flat)
    elif {"root_orient", "pose_body"} <= files:
        kind = "SMPL-X stage II"
        joints = _joints_from_stage_two(path, archive)
    else:
        raise AvatarStudioError(
            f"motion file {path}: no pose data (expected 'poses' N x {SMPLH_WIDTH} / {SMPLX_WIDTH}, or "
            f"'root_orient' + 'pose_body'); keys found: {', '.join(sorted(files)) or 'none'}")
    n = joints.shape[0]
    if n == 0:
        raise AvatarStudioError(f"motion file {path}: the pose data has no frames")
    if "trans" not in files:
        raise AvatarStudioError(f"motion file {path}: no 'trans' (root translation, N x 3)")
    trans = _numbers(path, "trans", archive["trans"])
    if trans.shape != (n, 3):
        raise AvatarStudioError(f"motion file {path}: trans has shape {trans.shape}, expected ({n}, 3)")
    rate_key = next((key for key in FRAME_RATE_KEYS if key in files), None)
    if rate_key is None:
        raise AvatarStudioError(f"motion file {path}: no frame rate ({' or '.join(FRAME_RATE_KEYS)})")
    fps = _frame_rate(path, rate_key, archive[rate_key])

    poses = torch.from_numpy(joints).float()
    if hand_mean is not None:
        poses[:, HAND_JOINTS] += torch.as_tensor(hand_mean, dtype=torch.float32).reshape(30, 3)
    poses[:, 0] = matrix_to_axis_angle(Z_UP_TO_Y_UP @ axis_angle_to_matrix(poses[:, 0]))
    translation = torch.from_numpy(trans).float() @ Z_UP_TO_Y_UP.T
    translation[:, 1] -= SMPLX_REFERENCE_PELVIS_HEIGHT
    translation[:, [0, 2]] -= translation[0, [0, 2]].clone()
    hands = "SMPL-X mean hand added" if hand_mean is not None else "flat-hand convention"
    source = f"AMASS {kind} {path.name} ({_gender(archive)}, {fps:g} fps, {hands})"
    return MotionClip(poses, translation, fps, path.stem, source)


def _joints_from_flat(flat: np.ndarray) -> np.ndarray:
    """AMASS `poses` rows -> (N, 55, 3) SMPL-X joints; SMPL+H has no jaw or eyes (left at rest)."""
    n = flat.shape[0]
    if flat.shape[1] == SMPLX_WIDTH:
        return flat.reshape(n, NUM_JOINTS, 3)
    joints = np.zeros((n, NUM_JOINTS, 3))
    smplh = flat.reshape(n, 52, 3)
    joints[:, :22] = smplh[:, :22]  # root and body: the same 22 joints in both models
    joints[:, HAND_JOINTS] = smplh[:, 22:]  # both hands, same joint order
    return joints


def _joints_from_stage_two(path: Path, archive) -> np.ndarray:
    """Stage-II keys -> (N, 55, 3); hands, jaw and eyes default to rest when absent."""
    parts = {"root_orient": (0, 1), "pose_body": (1, 22), "pose_jaw": (22, 23), "pose_eye": (23, 25),
             "pose_hand": (25, 55)}
    root = _numbers(path, "root_orient", archive["root_orient"])
    n = root.shape[0] if root.ndim else 0
    joints = np.zeros((n, NUM_JOINTS, 3))
    for key, (start, stop) in parts.items():
        if key not in archive.files:
            continue
        values = _numbers(path, key, archive[key])
        width = 3 * (stop - start)
        if values.shape != (n, width):
            raise AvatarStudioError(f"motion file {path}: {key} has shape {values.shape}, expected ({n}, {width})")
        joints[:, start:stop] = values.reshape(n, stop - start, 3)
    return joints


def _gender(archive) -> str:
    """AMASS stores gender as a str or as bytes; anything unreadable is 'gender unknown'."""
    if "gender" not in archive.files:
        return "gender unknown"
    try:
        value = np.asarray(archive["gender"]).reshape(-1)[0]
    except (ValueError, IndexError):  # an empty or pickled entry
        return "gender unknown"
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
