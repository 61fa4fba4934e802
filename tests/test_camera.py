"""OrbitCamera: OpenGL view conventions, interaction, and the one conversion to OpenCV."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import AvatarStudioError
from viewer.camera import OrbitCamera


def to_camera(matrix: np.ndarray, point) -> np.ndarray:
    return (matrix @ np.append(np.asarray(point, np.float32), 1.0))[:3]


def test_front_preset_looks_down_minus_z_at_target():
    camera = OrbitCamera(target=(0.0, 1.0, 0.0), distance=3.0, yaw_deg=40.0, pitch_deg=20.0)
    camera.preset("front")
    np.testing.assert_allclose(camera.eye, [0.0, 1.0, 3.0], atol=1e-6)  # on +Z, facing the avatar's face
    view = camera.view_matrix()
    assert view.dtype == np.float32 and view.shape == (4, 4)
    np.testing.assert_allclose(to_camera(view, camera.target), [0.0, 0.0, -3.0], atol=1e-5)
    # Camera axes in world coordinates: right = +X, up = +Y, forward (-Z of the camera) = world -Z.
    np.testing.assert_allclose(view[:3, :3], np.eye(3), atol=1e-6)


def test_side_and_back_presets():
    camera = OrbitCamera(target=(0.0, 1.0, 0.0), distance=2.0)
    camera.preset("side")  # the avatar's left side, +X
    np.testing.assert_allclose(camera.eye, [2.0, 1.0, 0.0], atol=1e-6)
    camera.preset("back")
    np.testing.assert_allclose(camera.eye, [0.0, 1.0, -2.0], atol=1e-6)
    with pytest.raises(AvatarStudioError, match="front"):
        camera.preset("top")


def test_orbit_keeps_distance_and_clamps_pitch():
    camera = OrbitCamera(target=(0.2, 1.0, -0.1), distance=2.5)
    camera.orbit(37.0, 25.0)
    assert np.linalg.norm(camera.eye - np.asarray(camera.target)) == pytest.approx(2.5, abs=1e-5)
    assert camera.eye[0] > camera.target[0] and camera.eye[1] > camera.target[1]  # +yaw -> +X, +pitch -> up
    camera.orbit(0.0, 500.0)
    assert camera.pitch_deg == 89.0
    assert np.linalg.norm(camera.eye - np.asarray(camera.target)) == pytest.approx(2.5, abs=1e-5)
    np.testing.assert_allclose(to_camera(camera.view_matrix(), camera.target), [0, 0, -2.5], atol=1e-4)


def test_pan_moves_the_point_under_the_cursor_with_the_mouse():
    camera = OrbitCamera(target=(0.0, 1.0, 0.0), distance=3.0, yaw_deg=30.0, pitch_deg=10.0)
    height = 400
    anchor = np.asarray(camera.target, np.float32)  # the point under the cursor at the image centre
    before = camera.opencv_view_and_intrinsics(height, height)
    camera.pan(25.0, -10.0, height)  # mouse right 25 px and up 10 px
    assert not np.allclose(camera.target, anchor)
    viewmat, K = camera.opencv_view_and_intrinsics(height, height)
    p = K @ to_camera(viewmat, anchor)
    q = before[1] @ to_camera(before[0], anchor)
    np.testing.assert_allclose(p[:2] / p[2] - q[:2] / q[2], [25.0, -10.0], atol=1e-2)


def test_zoom_is_clamped():
    camera = OrbitCamera(distance=2.0)
    camera.zoom(0.5)
    assert camera.distance == pytest.approx(1.0)
    camera.zoom(1e-6)
    assert camera.distance == camera.min_distance
    camera.zoom(1e9)
    assert camera.distance == camera.max_distance


def test_opencv_conversion_and_intrinsics():
    camera = OrbitCamera(target=(0.1, 0.9, 0.2), distance=2.0, yaw_deg=-30.0, pitch_deg=15.0, fov_y_deg=40.0)
    width, height = 320, 240
    viewmat, K = camera.opencv_view_and_intrinsics(width, height)
    assert viewmat.dtype == np.float32 and K.dtype == np.float32
    # The target is in front of the camera: positive depth, and it projects to the image centre.
    p = to_camera(viewmat, camera.target)
    assert p[2] == pytest.approx(2.0, abs=1e-5)
    uv = (K @ p)[:2] / p[2]
    np.testing.assert_allclose(uv, [width / 2, height / 2], atol=1e-3)
    # K agrees with the OpenGL projection: same pixel for any point (y flipped: OpenCV rows go down).
    point = np.array([0.3, 1.2, 0.1], np.float32)
    clip = camera.projection_matrix(width, height) @ camera.view_matrix() @ np.append(point, 1.0)
    ndc = clip[:3] / clip[3]
    gl_pixel = [(ndc[0] + 1) / 2 * width, (1 - ndc[1]) / 2 * height]
    q = to_camera(viewmat, point)
    np.testing.assert_allclose((K @ q)[:2] / q[2], gl_pixel, atol=1e-2)
    # World up is image up: a point above the target has a smaller row.
    above = to_camera(viewmat, np.asarray(camera.target) + [0.0, 0.1, 0.0])
    assert (K @ above)[1] / above[2] < height / 2


def test_frame_puts_a_standing_avatar_in_view():
    camera = OrbitCamera(yaw_deg=25.0)
    lo, hi = np.array([-0.35, 0.0, -0.15]), np.array([0.35, 1.7, 0.15])
    width, height = 640, 480
    camera.frame(lo, hi, width / height)
    np.testing.assert_allclose(camera.target, (lo + hi) / 2, atol=1e-6)
    viewmat, K = camera.opencv_view_and_intrinsics(width, height)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    cam = corners @ viewmat[:3, :3].T + viewmat[:3, 3]
    uv = (cam @ K.T)[:, :2] / cam[:, 2:]
    assert (cam[:, 2] > 0).all()
    assert (uv >= 0).all() and (uv[:, 0] <= width).all() and (uv[:, 1] <= height).all()
    assert np.ptp(uv[:, 1]) > 0.8 * height  # fills most of the view height
