"""The viewport camera: an orbit camera in the OpenGL convention, and its one conversion to OpenCV.

World conventions (DESIGN.md): metres, Y up, right-handed, the avatar faces +Z.

Orbit parameters. The camera sits at ``target + distance * d`` and looks at ``target``, where
``d = (sin(yaw) cos(pitch), sin(pitch), cos(yaw) cos(pitch))``:
- yaw 0, pitch 0: the camera is on +Z and sees the avatar's face ('front' preset);
- positive yaw orbits towards +X, which is the avatar's left side (the avatar faces +Z with Y up,
  so its left hand points to +X); yaw 90 is the 'side' preset, yaw 180 the 'back' preset;
- positive pitch lifts the camera above the target, looking down. Pitch is clamped to +-89 degrees
  so the view never becomes parallel to the world up axis (lookAt would be undefined there).

Matrix conventions. Every matrix this module returns is a float32 numpy array in row-major *math*
layout acting on column vectors: ``p_cam = V @ [x, y, z, 1]``, so the translation is ``V[:3, 3]``.
To upload one to GLSL (column-major) write ``V.T.tobytes()``.
- ``view_matrix``: world -> OpenGL camera (right +X, up +Y, looks down -Z).
- ``projection_matrix``: OpenGL clip space, ``glm.perspective``.
- ``opencv_view_and_intrinsics``: world -> OpenCV camera (right +X, down +Y, looks along +Z) and
  the pinhole K, with pixel centres at integer + 0.5 and the optical axis through the image centre.
  This is what the splat renderers (GL, reference, gsplat) consume, so all of them share one
  projection; it agrees with ``projection_matrix`` for the same width and height.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
from pyglm import glm

from core.errors import AvatarStudioError

# yaw, pitch in degrees of each named view.
PRESETS: dict[str, tuple[float, float]] = {"front": (0.0, 0.0), "side": (90.0, 0.0), "back": (180.0, 0.0)}
MAX_PITCH_DEG = 89.0
# OpenGL camera axes -> OpenCV camera axes: flip Y (up -> down) and Z (backward -> forward).
_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0]).astype(np.float32)


@dataclasses.dataclass
class OrbitCamera:
    """Orbit camera around ``target``; see the module docstring for angle and matrix conventions."""

    target: tuple[float, float, float] = (0.0, 0.9, 0.0)
    distance: float = 3.5
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    fov_y_deg: float = 30.0
    near: float = 0.01
    far: float = 100.0
    min_distance: float = 0.05
    max_distance: float = 50.0

    @property
    def eye(self) -> np.ndarray:
        """Camera position in world coordinates, float32 (3,)."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        direction = np.array(
            [math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)], dtype=np.float32
        )
        return np.asarray(self.target, dtype=np.float32) + self.distance * direction

    def view_matrix(self) -> np.ndarray:
        """World -> OpenGL camera (looks down -Z), float32 (4, 4), ``p_cam = V @ p_world``."""
        view = glm.lookAt(glm.vec3(*self.eye.tolist()), glm.vec3(*self.target), glm.vec3(0.0, 1.0, 0.0))
        return np.array(view, dtype=np.float32)  # pyglm's numpy conversion is already row-major math

    def projection_matrix(self, width: int, height: int) -> np.ndarray:
        """OpenGL perspective projection for a ``width`` x ``height`` viewport, float32 (4, 4)."""
        proj = glm.perspective(math.radians(self.fov_y_deg), width / height, self.near, self.far)
        return np.array(proj, dtype=np.float32)

    def opencv_view_and_intrinsics(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """(world -> OpenCV camera 4x4, K 3x3), both float32: the renderers' single camera input.

        Square pixels; ``fy = height / (2 tan(fov_y / 2))`` so the vertical field of view equals the
        OpenGL projection's, and ``cx, cy = width / 2, height / 2`` (pixel centres at i + 0.5).
        """
        viewmat = _GL_TO_CV @ self.view_matrix()
        focal = 0.5 * height / math.tan(math.radians(self.fov_y_deg) / 2)
        K = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]], dtype=np.float32)
        return viewmat, K

    def orbit(self, d_yaw: float, d_pitch: float) -> None:
        """Rotate around the target by degrees; positive d_yaw goes towards +X, positive d_pitch up."""
        self.yaw_deg = (self.yaw_deg + d_yaw) % 360.0
        self.pitch_deg = max(-MAX_PITCH_DEG, min(MAX_PITCH_DEG, self.pitch_deg + d_pitch))

    def pan(self, dx_pixels: float, dy_pixels: float, viewport_height: int) -> None:
        """Move the target in the camera plane so the point under the cursor follows a mouse drag.

        dx, dy are the mouse motion in screen pixels (x right, y down, as GUI toolkits report it).
        One pixel spans ``2 * distance * tan(fov_y / 2) / viewport_height`` metres at the target's
        depth; the scene moves with the mouse, so the target moves the opposite way.
        """
        metres_per_pixel = 2.0 * self.distance * math.tan(math.radians(self.fov_y_deg) / 2) / viewport_height
        view = self.view_matrix()
        right, up = view[0, :3], view[1, :3]  # camera axes in world coordinates (rows of the rotation)
        shift = (-dx_pixels * right + dy_pixels * up) * metres_per_pixel
        self.target = tuple(float(v) for v in np.asarray(self.target, dtype=np.float32) + shift)

    def zoom(self, factor: float) -> None:
        """Multiply the distance by ``factor`` (< 1 moves closer), clamped to [min, max]_distance."""
        self.distance = max(self.min_distance, min(self.max_distance, self.distance * factor))

    def frame(self, bbox_min: Sequence[float], bbox_max: Sequence[float], aspect: float, fill: float = 0.9) -> None:
        """Aim at the box centre and back off until the box fills ``fill`` of the view, keeping the angles.

        The horizontal extent uses the box's diagonal in the ground plane, so the framing holds at any
        yaw; the box's near face is half that diagonal closer than the target, hence the extra term.
        """
        lo, hi = np.asarray(bbox_min, dtype=np.float64), np.asarray(bbox_max, dtype=np.float64)
        half_height = 0.5 * (hi[1] - lo[1])
        half_ground = 0.5 * math.hypot(hi[0] - lo[0], hi[2] - lo[2])
        tan_half_fov = math.tan(math.radians(self.fov_y_deg) / 2)
        fit = max(half_height / tan_half_fov, half_ground / (tan_half_fov * aspect)) / fill
        self.target = tuple(float(v) for v in 0.5 * (lo + hi))
        self.distance = max(self.min_distance, min(self.max_distance, fit + half_ground))

    def preset(self, name: str) -> None:
        """Jump to a named view ('front', 'side' = the avatar's left, 'back'), keeping target and distance."""
        if name not in PRESETS:
            raise AvatarStudioError(f"unknown camera view {name!r}: choose one of {', '.join(PRESETS)}")
        self.yaw_deg, self.pitch_deg = PRESETS[name]
