"""Render a motion clip on an avatar, or a turntable around it, to an MP4 (or GIF) video, headless.

The clip is resampled to the video's frame rate (slerp between its frames), each frame posed with the
one LBS and drawn by the GL splat renderer, and the frames are streamed to ffmpeg (imageio-ffmpeg,
H.264, yuv420p so every player opens it). The camera stays put: it frames everything the avatar
sweeps through during the clip, so a walk crosses the picture instead of the picture following it.
The file appears only when complete (encoded beside, then moved in by `core.atomic.atomic_write`).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from core.atomic import atomic_write, check_writable
from core.avatar import Avatar
from core.errors import AvatarStudioError
from core.gaussians import LayeredGaussians
from core.motion import MotionClip
from viewer.camera import OrbitCamera
from viewer.gl_renderer import GLSplatRenderer, share_cores_with_software_gl

FRAMING_SAMPLES = 24  # poses sampled across the clip to find the space the avatar moves through
MAX_FPS = 240.0


def check_video_request(path: str | Path, size: tuple[int, int], fps: float | None) -> Path:
    """The checks a video request must pass, as one-line errors, before minutes of rendering start."""
    path = check_writable(path)
    if path.suffix.lower() not in (".mp4", ".gif"):
        raise AvatarStudioError(f"{path}: videos are written as MP4 or GIF, use a .mp4 or .gif name")
    width, height = size
    if not (16 <= width <= 8192 and 16 <= height <= 8192) or width % 2 or height % 2:
        raise AvatarStudioError(f"video size {width}x{height}: each side must be an even number of pixels in 16..8192")
    if fps is not None and not 0 < fps <= MAX_FPS:
        raise AvatarStudioError(f"video frame rate {fps:g}: it must be in 0..{MAX_FPS:g} fps")
    return path


def print_progress(done: int, total: int) -> None:
    """A progress line on stderr that rewrites itself, ended by a newline after the last frame."""
    sys.stderr.write(f"\rrendering frame {done}/{total}" + ("\n" if done == total else ""))
    sys.stderr.flush()


def clip_bounds(avatar: Avatar, clip: MotionClip, samples: int = FRAMING_SAMPLES) -> tuple[list[float], list[float]]:
    """Box (min, max) around the avatar's Gaussians over `samples` poses spread across the clip."""
    scale = avatar.rest.translation_scale
    count = min(samples, clip.num_frames)
    lows, highs = [], []
    for k in np.linspace(0, clip.num_frames - 1, count).round().astype(int):
        means = avatar.posed(clip.frame(int(k), scale)).means
        lows.append(means.min(0).values)
        highs.append(means.max(0).values)
    return torch.stack(lows).min(0).values.tolist(), torch.stack(highs).max(0).values.tolist()


def render_motion_video(
    avatar: Avatar,
    clip: MotionClip,
    path: str | Path,
    fps: float | None = None,
    size: tuple[int, int] = (512, 512),
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    background: Sequence[float] = (0.16, 0.16, 0.18, 1.0),
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write `clip` played on `avatar` to the MP4 `path` at `fps` (default: the clip's); returns frames.

    `progress(done, total)` is called after every frame. Problems the user can fix (name, size, rate,
    an unwritable folder) are one-line AvatarStudioErrors before any rendering starts.
    """
    path = check_video_request(path, size, fps)
    width, height = size
    fps = clip.fps if fps is None else float(fps)
    frames = clip.resampled(fps) if fps != clip.fps else clip
    scale = avatar.rest.translation_scale

    camera = OrbitCamera()
    camera.frame(*clip_bounds(avatar, frames), width / height)
    camera.yaw_deg, camera.pitch_deg = yaw_deg, pitch_deg

    def frame_at(k: int) -> tuple[LayeredGaussians, OrbitCamera]:
        return avatar.posed(frames.frame(k, scale)), camera

    return _write_video(path, frame_at, frames.num_frames, size, fps, background, progress)


def render_turntable(
    gaussians: LayeredGaussians,
    path: str | Path,
    frames: int = 120,
    fps: float = 30.0,
    size: tuple[int, int] = (512, 512),
    pitch_deg: float = 5.0,
    background: Sequence[float] = (0.16, 0.16, 0.18, 1.0),
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """One full turn of the camera around `gaussians` in `frames` frames, starting from the front."""
    path = check_video_request(path, size, fps)
    if not 2 <= frames <= 10000:
        raise AvatarStudioError(f"--frames {frames}: a turntable needs 2..10000 frames")
    width, height = size
    lo, hi = gaussians.means.min(0).values, gaussians.means.max(0).values
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    # Frame the box as it turns: its footprint's diagonal is the widest it gets from any side.
    reach = float(torch.sqrt(half[0] ** 2 + half[2] ** 2))
    camera = OrbitCamera()
    camera.frame((centre - torch.tensor([reach, half[1], reach])).tolist(),
                 (centre + torch.tensor([reach, half[1], reach])).tolist(), width / height)
    camera.pitch_deg = pitch_deg

    def frame_at(k: int) -> tuple[LayeredGaussians, OrbitCamera]:
        camera.yaw_deg = 360.0 * k / frames
        return gaussians, camera

    return _write_video(path, frame_at, frames, size, fps, background, progress)


def _write_video(
    path: Path,
    frame_at: Callable[[int], tuple[LayeredGaussians, OrbitCamera]],
    total: int,
    size: tuple[int, int],
    fps: float,
    background: Sequence[float],
    progress: Callable[[int, int], None] | None,
) -> int:
    """Render `total` frames and encode them: MP4 streamed to ffmpeg, GIF through imageio."""
    import imageio.v3 as iio
    import imageio_ffmpeg

    width, height = size
    renderer = GLSplatRenderer()
    threads = torch.get_num_threads()
    share_cores_with_software_gl(renderer.ctx)
    uploaded = None
    try:
        with tempfile.TemporaryDirectory(prefix="avatar-studio-video-") as folder:
            encoded = Path(folder) / f"video{path.suffix.lower()}"
            gif_frames: list[np.ndarray] = []
            writer = None
            if path.suffix.lower() == ".mp4":
                writer = imageio_ffmpeg.write_frames(
                    str(encoded), (width, height), fps=fps, codec="libx264", pix_fmt_in="rgb24",
                    pix_fmt_out="yuv420p", quality=7, macro_block_size=2, ffmpeg_log_level="error",
                )
                writer.send(None)  # start ffmpeg
            try:
                for k in range(total):
                    gaussians, camera = frame_at(k)
                    if gaussians is not uploaded:  # a turntable uploads once; a motion every frame
                        renderer.set_gaussians(gaussians.means, gaussians.quats, gaussians.scales,
                                               gaussians.opacities, gaussians.colors)
                        uploaded = gaussians
                    image = np.ascontiguousarray(renderer.render(camera, width, height, background=tuple(background))[:, :, :3])
                    if writer is not None:
                        writer.send(image)
                    else:
                        gif_frames.append(image)
                    if progress is not None:
                        progress(k + 1, total)
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                iio.imwrite(encoded, np.stack(gif_frames), extension=".gif", duration=1000.0 / fps, loop=0)
            with open(encoded, "rb") as source, atomic_write(path) as target:
                shutil.copyfileobj(source, target)
    finally:
        renderer.release()
        torch.set_num_threads(threads)
    return total
