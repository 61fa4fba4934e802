"""Data shipped with the studio (checkpoints, built-in motions). `path(name)` finds a file in an
installed wheel as well as in a checkout."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def path(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(name)))
