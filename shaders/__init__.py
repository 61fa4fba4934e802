"""GLSL sources of the viewer, shipped as package data so they load from a built wheel too."""
from __future__ import annotations

from importlib import resources


def source(name: str) -> str:
    """Text of the shader file ``name`` (e.g. ``"splat.frag"``) in this package."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
