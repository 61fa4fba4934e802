"""What every export shares: which layers go out, and checking an output path before any work.

The format writers live beside their formats (core/ply.py, core/splat_file.py, core/export_fbx.py);
the command line and the studio's Export panel choose layers and paths through these helpers, so a
bad request fails in one line before an avatar is built.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from core.atomic import atomic_write, check_writable
from core.errors import AvatarStudioError
from core.gaussians import LAYER_NAMES, LayeredGaussians

OUTPUT_SUFFIXES = {"ply": ".ply", "splat": ".splat", "fbx": ".fbx"}


def parse_layers(text: str | None) -> tuple[str, ...]:
    """A comma-separated layer list ("body,top") in LAYER_NAMES order; None or "all" = every layer."""
    if text is None or text.strip().lower() == "all":
        return LAYER_NAMES
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in LAYER_NAMES]
    if unknown or not names:
        raise AvatarStudioError(f"--layers {text!r}: choose from {','.join(LAYER_NAMES)} (comma-separated) or all")
    return tuple(name for name in LAYER_NAMES if name in names)


def select_layers(gaussians: LayeredGaussians, layers: tuple[str, ...]) -> LayeredGaussians:
    """The Gaussians of the chosen layers; an error when none of them is present."""
    selected = gaussians if tuple(layers) == LAYER_NAMES else gaussians.layer(*layers)
    if len(selected) == 0:
        raise AvatarStudioError(f"none of the layers {','.join(layers)} is present on this avatar")
    return selected


def check_output(path: str | os.PathLike, kind: str) -> Path:
    """An output path of format `kind` (ply, splat, fbx): the right extension, in a folder we can write.

    Beyond `check_writable`'s permission check, a probe file is created and removed: permissions say
    nothing for root, nor on a read-only file system.
    """
    path = Path(path)
    suffix = OUTPUT_SUFFIXES[kind]
    if path.suffix.lower() != suffix:
        raise AvatarStudioError(f"{path}: {kind} files need a {suffix} name")
    path = check_writable(path)
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
    except OSError as e:
        raise AvatarStudioError(f"{path}: cannot write in folder {path.parent} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def save_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a finished file atomically; an OS failure (disk full, read-only) becomes one line and
    leaves neither a partial file nor a changed old one."""
    try:
        with atomic_write(path) as f:
            f.write(data)
    except OSError as e:
        raise AvatarStudioError(f"{path}: cannot write ({e.strerror or e})") from None
