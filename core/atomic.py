"""Atomic saves: write beside the target, then rename, so a crash never leaves half a file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from core.errors import AvatarStudioError


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, in one line, when `path` cannot be written (missing folder, no permission)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AvatarStudioError(f"{path}: cannot write, folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise AvatarStudioError(f"{path}: cannot write, folder {folder} is not writable")
    if path.is_dir():
        raise AvatarStudioError(f"{path}: cannot write, it is a folder")
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temp file in the target's folder; on success it replaces `path` in one rename."""
    path = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        # mkstemp creates 0600; give the file the permissions an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:  # disk full, quota, a folder that vanished: one line, nothing left behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise AvatarStudioError(f"{path}: cannot write ({e.strerror or e})") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
