"""Project files (.avs): one zip holding everything needed to bring an edited avatar back exactly.

    save_project("me.avs", project)        # atomic: the old file stays whole until the new one is complete
    project = load_project("me.avs")       # AvatarStudioError (one line naming the file) when it cannot

Layout (schema SCHEMA, version VERSION):
    manifest.json          schema, version, body model, composition (base, layer choices), latents index,
                           paint index, shape, expression, pose (SMPL-X axis-angle) or motion reference
                           + playhead, camera
    latents/N.npy          float32 (C, H, W): the sampled latent of each model source ("sampled") and the
                           harmonised latents that replace a source ("harmonised")
    paint/LAYER.npy        float32 (4, R, R): a painted layer's overlay (editor.paint), exactly

Why latents and not only seeds: sampling is the slow step and a retrained checkpoint samples other
people from the same seeds; the saved latent decodes to the same person as long as the decoder is the
same. Why npy and not PNG for paint: the overlay is float, premultiplied, and undo-exact; PNG would
round it (the zip deflates the mostly empty overlays to a few KB).

Readers refuse newer versions (they cannot know what they would drop) and read older ones.
Autosave: `autosave_path()` (AVATAR_STUDIO_STATE env var, else $XDG_STATE_HOME/avatar-studio, else
~/.local/state/avatar-studio), `recovery_available()` for the studio's start-up offer.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.atomic import atomic_write
from core.attribute_maps import MAP_RESOLUTION
from core.errors import AvatarStudioError
from editor.composition import AvatarSource, Composition

SCHEMA = "avatar-studio-project"
VERSION = 1
SUFFIX = ".avs"
AUTOSAVE_NAME = "autosave.avs"
STATE_ENV = "AVATAR_STUDIO_STATE"
CAMERA_FIELDS = ("target", "distance", "yaw_deg", "pitch_deg", "fov_y_deg")


@dataclasses.dataclass
class MotionRef:
    """A motion by reference (a file path or a built-in name) and where the playhead stands."""

    name: str
    frame: int = 0


@dataclasses.dataclass
class Project:
    """What a .avs holds. `latents`: sampled latents of model sources (so opening never re-samples);
    harmonised ones live in `composition.latents`."""

    composition: Composition
    body: str = "anny"
    latents: dict[AvatarSource, torch.Tensor] = dataclasses.field(default_factory=dict)
    paint: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # layer -> (4, R, R) float32
    shape: dict[str, float] | None = None  # None: the base's decoded shape
    expression: dict[str, float] | None = None
    pose: tuple[np.ndarray, np.ndarray] | None = None  # (55, 3) axis-angle, (3,) translation; None: rest/CLI's
    motion: MotionRef | None = None
    camera: dict[str, Any] | None = None  # OrbitCamera fields CAMERA_FIELDS; None: framed on the avatar

    def pose_object(self):
        """The pose as core.pose.Pose (None when the project has none)."""
        from core.pose import Pose

        if self.pose is None:
            return None
        return Pose(torch.from_numpy(np.asarray(self.pose[0], np.float32)),
                    torch.from_numpy(np.asarray(self.pose[1], np.float32)))

    def paint_layers(self, body):
        """The project's paint as editor.paint.PaintLayers on `body`."""
        from editor.paint import PaintLayers

        paint = PaintLayers(body)
        paint.load_arrays(self.paint)
        return paint


def camera_to_dict(camera) -> dict[str, Any]:
    """The persistent fields of a viewer.camera.OrbitCamera."""
    return {name: (list(getattr(camera, name)) if name == "target" else float(getattr(camera, name)))
            for name in CAMERA_FIELDS}


def apply_camera(camera, fields: dict[str, Any]) -> None:
    """Set an OrbitCamera from `camera_to_dict`'s fields."""
    for name in CAMERA_FIELDS:
        if name in fields:
            setattr(camera, name, tuple(float(v) for v in fields[name]) if name == "target" else float(fields[name]))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save_project(path: str | os.PathLike, project: Project) -> Path:
    """Write `project` to `path` atomically (temp file beside it, fsync, rename)."""
    path = Path(path)
    latents = []
    arrays: dict[str, bytes] = {}
    for role, table in (("sampled", project.latents), ("harmonised", project.composition.latents)):
        for source, latent in table.items():
            name = f"latents/{len(latents)}.npy"
            latents.append({"source": source.to_dict(), "role": role, "file": name})
            arrays[name] = _npy(latent.detach().cpu().float().numpy())
    paint = {}
    for layer, overlay in project.paint.items():
        name = f"paint/{layer}.npy"
        paint[layer] = name
        arrays[name] = _npy(np.asarray(overlay, dtype=np.float32))
    manifest = {
        "schema": SCHEMA, "version": VERSION, "body": project.body,
        "composition": project.composition.to_dict(), "latents": latents, "paint": paint,
        "shape": project.shape, "expression": project.expression,
        "pose": None if project.pose is None else {"joints": np.asarray(project.pose[0]).tolist(),
                                                   "translation": np.asarray(project.pose[1]).tolist()},
        "motion": None if project.motion is None else dataclasses.asdict(project.motion),
        "camera": project.camera,
    }
    with atomic_write(path) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            z.writestr("manifest.json", json.dumps(manifest, indent=1))
            for name, data in arrays.items():
                z.writestr(name, data)
    return path


def load_project(path: str | os.PathLike) -> Project:
    """Read a .avs; any problem (missing, not a zip, truncated, corrupt, wrong schema, newer version,
    missing entries, wrong shapes) raises AvatarStudioError in one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise AvatarStudioError(f"{path}: no such project file")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "manifest.json" not in names:
                raise AvatarStudioError(f"{path}: not an avatar-studio project (no manifest.json in the zip)")
            try:
                manifest = json.loads(z.read("manifest.json"))
            except (ValueError, UnicodeDecodeError) as e:
                raise AvatarStudioError(f"{path}: corrupt project, manifest.json is not valid JSON ({e})") from None
            _check_manifest(path, manifest)

            def array(name: str) -> np.ndarray:
                if name not in names:
                    raise AvatarStudioError(f"{path}: corrupt project, {name} is missing")
                try:
                    return np.load(io.BytesIO(z.read(name)), allow_pickle=False)
                except ValueError as e:
                    raise AvatarStudioError(f"{path}: corrupt project, {name} is not a numpy array ({e})") from None

            return _project(path, manifest, array)
    except AvatarStudioError:
        raise
    except zipfile.BadZipFile as e:
        raise AvatarStudioError(f"{path}: not a readable project (truncated or not a zip file: {e})") from None
    except (zlib.error, EOFError, OSError) as e:
        raise AvatarStudioError(f"{path}: corrupt or truncated project ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise AvatarStudioError(f"{path}: corrupt project, malformed manifest ({type(e).__name__}: {e})") from None


def _check_manifest(path: Path, manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        found = manifest.get("schema") if isinstance(manifest, dict) else None
        raise AvatarStudioError(f"{path}: not an avatar-studio project (schema {found!r}, expected {SCHEMA!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise AvatarStudioError(f"{path}: corrupt project, bad schema version {version!r}")
    if version > VERSION:
        raise AvatarStudioError(f"{path}: project version {version} is newer than this avatar-studio reads "
                                f"(up to {VERSION}); update avatar-studio")
    for key in ("body", "composition"):
        if key not in manifest:
            raise AvatarStudioError(f"{path}: corrupt project, manifest.json has no {key!r}")


def _project(path: Path, manifest: dict, array) -> Project:
    composition = Composition.from_dict(manifest["composition"])
    sampled: dict[AvatarSource, torch.Tensor] = {}
    for entry in manifest.get("latents", []):
        latent = array(entry["file"])
        if latent.ndim != 3 or latent.dtype != np.float32:
            raise AvatarStudioError(f"{path}: corrupt project, {entry['file']} is {latent.dtype} {latent.shape}, "
                                    f"expected a float32 (C, H, W) latent")
        source = AvatarSource.from_dict(entry["source"])
        if entry.get("role") == "harmonised":
            composition = composition.with_latent(source, torch.from_numpy(latent))
        else:
            sampled[source] = torch.from_numpy(latent)
    paint = {}
    for layer, name in manifest.get("paint", {}).items():
        overlay = array(name)
        r = MAP_RESOLUTION.get(layer)
        if r is None or overlay.shape != (4, r, r) or overlay.dtype != np.float32:
            raise AvatarStudioError(f"{path}: corrupt project, paint layer {layer!r} is {overlay.dtype} "
                                    f"{overlay.shape}, expected float32 (4, {r}, {r})")
        paint[layer] = overlay
    pose = manifest.get("pose")
    if pose is not None:
        joints, translation = np.asarray(pose["joints"], np.float32), np.asarray(pose["translation"], np.float32)
        if joints.shape != (55, 3) or translation.shape != (3,):
            raise AvatarStudioError(f"{path}: corrupt project, pose has shape {joints.shape}, expected (55, 3)")
        pose = (joints, translation)
    motion = manifest.get("motion")
    return Project(
        composition=composition, body=str(manifest["body"]), latents=sampled, paint=paint,
        shape=None if manifest.get("shape") is None else {k: float(v) for k, v in manifest["shape"].items()},
        expression=None if manifest.get("expression") is None else {k: float(v) for k, v in
                                                                    manifest["expression"].items()},
        pose=pose, motion=None if motion is None else MotionRef(str(motion["name"]), int(motion.get("frame", 0))),
        camera=manifest.get("camera"),
    )


# --- autosave --------------------------------------------------------------------------------------------
def state_dir() -> Path:
    """Where the studio keeps its autosave: $AVATAR_STUDIO_STATE, else $XDG_STATE_HOME/avatar-studio,
    else ~/.local/state/avatar-studio."""
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "avatar-studio"


def autosave_path() -> Path:
    return state_dir() / AUTOSAVE_NAME


def autosave(project: Project) -> Path:
    """Save `project` to the autosave file (atomic, like every save)."""
    path = autosave_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_project(path, project)


def recovery_available() -> Path | None:
    """The autosave file when one was left behind (the studio did not close cleanly), else None.
    The studio offers it at start-up and calls `discard_autosave` on a clean exit or when declined."""
    path = autosave_path()
    return path if path.is_file() else None


def discard_autosave() -> None:
    try:
        autosave_path().unlink()
    except FileNotFoundError:
        pass


__all__ = ["SCHEMA", "VERSION", "SUFFIX", "MotionRef", "Project", "camera_to_dict", "apply_camera", "save_project",
           "load_project", "state_dir", "autosave_path", "autosave", "recovery_available", "discard_autosave"]
