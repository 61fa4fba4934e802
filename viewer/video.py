"""Render a motion clip on an avatar to an MP4 video, headless.

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
from core.motion import MotionClip
from viewer.camera import OrbitCamera
from viewer.gl_renderer import GLSplatRenderer

FRAMING_SAMPLES = 24  # poses sampled across the clip to find the space the avatar moves through
MAX_FPS = 240.0


def check_video_request(path: str | Path, size: tuple[int, int], fps: float | None) -> Path:
    """The checks a video request must pass, as one-line errors, before minutes of rendering start."""
    path = check_writable(path)
    if path.suffix.lower() != ".mp4":
        raise AvatarStudioError(f"{path}: videos are written as MP4, use a .mp4 name")
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
    import imageio_ffmpeg

    path = check_video_request(path, size, fps)
    width, height = size
    fps = clip.fps if fps is None else float(fps)
    frames = clip.resampled(fps) if fps != clip.fps else clip
    scale = avatar.rest.translation_scale

    renderer = GLSplatRenderer()
    threads = torch.get_num_threads()
    if "llvmpipe" in renderer.ctx.info.get("GL_RENDERER", ""):
        # Software GL rasterises on every core and torch's thread pool would fight it for them (viewer/bench).
        torch.set_num_threads(1)
    total = frames.num_frames
    try:
        camera = OrbitCamera()
        camera.frame(*clip_bounds(avatar, frames), width / height)
        camera.yaw_deg, camera.pitch_deg = yaw_deg, pitch_deg
        with tempfile.TemporaryDirectory(prefix="avatar-studio-video-") as folder:
            encoded = Path(folder) / "video.mp4"
            writer = imageio_ffmpeg.write_frames(
                str(encoded), (width, height), fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
                quality=7, macro_block_size=2, ffmpeg_log_level="error",
            )
            writer.send(None)  # start ffmpeg
            try:
                for k in range(total):
                    gaussians = avatar.posed(frames.frame(k, scale))
                    renderer.set_gaussians(gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities,
                                           gaussians.colors)
                    image = renderer.render(camera, width, height, background=tuple(background))
                    writer.send(np.ascontiguousarray(image[:, :, :3]))
                    if progress is not None:
                        progress(k + 1, total)
            finally:
                writer.close()
            with open(encoded, "rb") as source, atomic_write(path) as target:
                shutil.copyfileobj(source, target)
    finally:
        renderer.release()
        torch.set_num_threads(threads)
    return total
