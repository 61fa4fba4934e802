"""Body models behind one interface (`BodyModel`): Anny by default, SMPL-X when the user has it."""
from __future__ import annotations

from pathlib import Path

from core.body.base import BodyModel, BodyRest
from core.errors import AvatarStudioError

BODY_KINDS = ("anny", "smplx")


def load_body(kind: str = "anny", body_dir: str | Path | None = None, gender: str = "neutral") -> BodyModel:
    """The body model named on the command line; errors are one line for the user."""
    if kind == "anny":
        from core.body.anny_body import AnnyBody

        return AnnyBody()
    if kind == "smplx":
        if body_dir is None:
            raise AvatarStudioError("--body smplx needs --body-dir DIR (the folder with SMPLX_NEUTRAL.npz)")
        from core.body.smplx_body import SMPLXBody

        return SMPLXBody(Path(body_dir), gender=gender)
    raise AvatarStudioError(f"unknown body model {kind!r}; choose one of: {', '.join(BODY_KINDS)}")


__all__ = ["BodyModel", "BodyRest", "load_body", "BODY_KINDS"]
