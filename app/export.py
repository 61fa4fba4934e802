"""The Export panel's settings, and the export jobs it starts: checked on the main thread, written in a worker.

Why split this way: the checks that need no work (name, folder, sizes, a rig for FBX, a clip for a
motion video) run the moment the file dialog closes, so a bad request is one line at once and no
file; the slow part (writing, rendering, encoding) runs as a background task on a snapshot of what
is shown then, so edits made while it runs cannot change a file half-way through.

GL in the worker: PNG and video frames render on an EGL context of their own, created and made
current in the worker thread (viewer.video's functions create one; the PNG job does the same).
Measured under Xvfb with llvmpipe: Dear PyGui's window keeps drawing correctly, frame after frame,
while a worker renders a turntable. What broke the window before (docs/design-notes.md) was an EGL
context made current on the *main* thread; GL contexts are current per thread, so a worker's leaves
Dear PyGui's alone.

The writers are the command line's (main.py `export` and `render`): core.export for names, folders
and layers, core.ply, core.splat_file, core.export_fbx, viewer.video.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.errors import AvatarStudioError

if TYPE_CHECKING:
    from app.state import StudioState
    from app.tasks import TaskContext

FORMATS = {"ply": "3DGS PLY", "splat": ".splat (web viewers)", "fbx": "FBX (rigged, textured)",
           "png": "PNG image", "turntable": "Turntable video", "motion": "Motion video"}
EXTENSIONS = {"ply": (".ply",), "splat": (".splat",), "fbx": (".fbx",), "png": (".png",),
              "turntable": (".mp4", ".gif"), "motion": (".mp4",)}
# core.gaussians.LAYER_NAMES, named here so the panel is built before torch loads (a test keeps them equal).
LAYERS = ("body", "top", "bottom", "hair", "shoes")
SH_DEGREES = (0, 3)  # base colour only, or zero-padded to degree 3 for viewers that read only full-SH files
TURNTABLE_FPS = 30.0
SIZE_LIMITS = (16, 8192)  # pixels per side, as `avatar-studio render` takes them
FRAME_LIMITS = (2, 10000)  # turntable frames (viewer.video.render_turntable's range)
TRANSPARENT = (0.0, 0.0, 0.0, 0.0)


@dataclasses.dataclass
class ExportState:
    """The Export panel's choices, and the outcome of the last export."""

    format: str = "ply"
    posed: bool = True  # PLY and .splat: the Gaussians as shown, or the avatar's canonical T-pose
    sh_degree: int = 0  # PLY
    layers: tuple[str, ...] = LAYERS  # PLY and .splat, in LAYERS order
    animate: bool = True  # FBX: the clip on the timeline as its animation, when one is loaded
    image_size: tuple[int, int] = (1024, 1024)
    transparent: bool = False  # PNG
    video_size: tuple[int, int] = (512, 512)  # turntable and motion video (even sides: H.264 wants them)
    frames: int = 120  # turntable
    result: str = ""  # the last export's outcome, shown under the button
    result_is_error: bool = False

    def set_option(self, name: str, value) -> None:
        """One setting from the panel, coerced into its range (sizes clamped, video sides made even)."""
        if name == "format":
            if value not in FORMATS:
                raise ValueError(f"unknown export format {value!r} (choose {', '.join(FORMATS)})")
            self.format = value
        elif name in ("posed", "animate", "transparent"):
            setattr(self, name, bool(value))
        elif name == "sh_degree":
            if int(value) not in SH_DEGREES:
                raise ValueError(f"SH degree {value}: the studio writes {' or '.join(map(str, SH_DEGREES))}")
            self.sh_degree = int(value)
        elif name == "image_size":
            self.image_size = _size(value, even=False)
        elif name == "video_size":
            self.video_size = _size(value, even=True)
        elif name == "frames":
            self.frames = max(FRAME_LIMITS[0], min(FRAME_LIMITS[1], int(value)))
        else:
            raise ValueError(f"unknown export option {name!r}")

    def set_layer(self, layer: str, on: bool) -> None:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r} (choose {', '.join(LAYERS)})")
        chosen = set(self.layers) - {layer} | ({layer} if on else set())
        self.layers = tuple(name for name in LAYERS if name in chosen)

    def finished(self, message: str, error: bool = False) -> None:
        self.result, self.result_is_error = message, error


def _size(value, even: bool) -> tuple[int, int]:
    lo, hi = SIZE_LIMITS
    sides = [max(lo, min(hi, int(v))) for v in list(value)[:2]]
    return tuple(side + side % 2 if even else side for side in sides)


def layered(state: StudioState) -> bool:
    """Whether layer choice applies: PLY and .splat of a generated avatar (an opened PLY has no layers)."""
    return state.poseable and state.export.format in ("ply", "splat")


def blocker(state: StudioState) -> str | None:
    """Why the chosen format cannot be exported now, in one line; None when it can."""
    fmt = state.export.format
    if state.gaussians is None:
        return "Nothing to export yet: load an avatar or open a PLY first."
    if fmt in ("fbx", "motion") and not state.poseable:
        return f"{FORMATS[fmt]} needs a generated avatar: {state.source} has no rig."
    if fmt == "motion" and state.timeline.clip is None:
        return "A motion video needs a motion on the timeline (pick one under the viewport)."
    if layered(state) and not state.export.layers:
        return "Pick at least one layer."
    return None


def default_name(state: StudioState) -> str:
    """A file name (without extension) for the dialog: who, and in what pose or motion."""
    fmt, clip = state.export.format, state.timeline.clip
    if not state.poseable:
        return Path(state.source).stem + ("_turntable" if fmt == "turntable" else "_export")
    stem = f"avatar_seed{state.seed}"
    if fmt == "motion" and clip is not None:
        return f"{stem}_{clip.name}"
    if fmt == "turntable":
        return f"{stem}_turntable"
    if fmt in ("ply", "splat") and not state.export.posed:
        return f"{stem}_canonical"
    if fmt == "fbx" and state.export.animate and clip is not None:
        return f"{stem}_{clip.name}"
    return f"{stem}_{state.pose_slug}"


def with_extension(path: str | Path, fmt: str) -> Path:
    """The path with the format's extension (the dialog may hand over a bare name)."""
    path = Path(path)
    return path if path.suffix.lower() in EXTENSIONS[fmt] else path.with_name(path.name + EXTENSIONS[fmt][0])


def prepare(state: StudioState, path: str | Path, ellipsis: str = "...") -> tuple[Path, Callable[[TaskContext], str]]:
    """Check an export of what is shown to `path` and snapshot it: (the final path, the task's work).

    The work returns the success line. Problems the user can fix raise AvatarStudioError, before
    anything is written.
    """
    state.refresh()  # edits made this frame
    reason = blocker(state)
    if reason is not None:
        raise AvatarStudioError(reason)
    fmt = state.export.format
    path = with_extension(path, fmt)
    builder = {"ply": _gaussians_job, "splat": _gaussians_job, "fbx": _fbx_job, "png": _png_job,
               "turntable": _turntable_job, "motion": _motion_job}[fmt]
    return path, builder(state, path, ellipsis)


def _gaussians_job(state: StudioState, path: Path, e: str) -> Callable[[TaskContext], str]:
    from core.export import check_output, select_layers
    from core.ply import write_ply
    from core.splat_file import write_splat

    settings = state.export
    fmt = settings.format
    check_output(path, fmt)
    if state.poseable:
        source = state.gaussians if settings.posed else state.avatar.gaussians
        gaussians = select_layers(source, settings.layers)
        what = f"{'posed' if settings.posed else 'canonical T-pose'}, layers {','.join(settings.layers)}"
    else:
        gaussians, what = state.gaussians, state.source
    sh_degree = settings.sh_degree

    def work(ctx: TaskContext) -> str:
        ctx.report(0.1, f"Writing {path.name}{e}")
        if fmt == "ply":
            write_ply(path, gaussians, sh_degree=sh_degree)
            return f"Exported {len(gaussians):,} Gaussians to {path} ({what}, SH degree {sh_degree})"
        write_splat(path, gaussians)
        return f"Exported {len(gaussians):,} Gaussians to {path} ({what})"

    return work


def _fbx_job(state: StudioState, path: Path, e: str) -> Callable[[TaskContext], str]:
    from core.export import check_output
    from core.pose import Pose

    check_output(path, "fbx")
    avatar, maps = state.avatar, state.maps
    clip = state.timeline.clip if state.export.animate else None
    shown = state.editor.pose()  # its tensors share the editor's arrays: copy them
    pose = None if clip is not None else Pose(shown.joints.clone(), shown.translation.clone())

    def work(ctx: TaskContext) -> str:
        from core.export_fbx import export_fbx

        ctx.report(0.1, f"Writing {path.name}{e}")
        done = export_fbx(path, avatar, clip=clip, pose=pose, maps=maps)
        motion = f", {clip.name} as {done.frames} frames at {done.fps:g} fps" if done.frames else ", in the pose shown"
        return f"Exported {path}: meshes {','.join(done.meshes)}, {done.bones} bones{motion}"

    return work


def _png_job(state: StudioState, path: Path, e: str) -> Callable[[TaskContext], str]:
    from core.atomic import check_writable

    check_writable(path)
    width, height = state.export.image_size
    gaussians, camera = state.gaussians, dataclasses.replace(state.camera)
    background = TRANSPARENT if state.export.transparent else state.background

    def work(ctx: TaskContext) -> str:
        import imageio.v3 as iio

        from core.atomic import atomic_write
        from viewer.gl_renderer import GLSplatRenderer

        ctx.report(0.1, f"Rendering {width}x{height}{e}")
        renderer = GLSplatRenderer()  # its own EGL context, current on this worker thread (module docstring)
        try:
            renderer.set_gaussians(gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities,
                                   gaussians.colors)
            image = renderer.render(camera, width, height, background=background)
        finally:
            renderer.release()
        ctx.report(0.8, f"Writing {path.name}{e}")
        with atomic_write(path) as f:
            iio.imwrite(f, image, extension=".png")
        kind = "transparent" if background == TRANSPARENT else "on the viewport's background"
        return f"Exported {path} ({width}x{height}, {kind})"

    return work


def _frame_progress(ctx: TaskContext, e: str) -> Callable[[int, int], None]:
    return lambda done, total: ctx.report(done / total, f"Rendering frame {done}/{total}{e}")


def _turntable_job(state: StudioState, path: Path, e: str) -> Callable[[TaskContext], str]:
    from viewer.video import check_video_request

    size, frames = state.export.video_size, state.export.frames
    check_video_request(path, size, TURNTABLE_FPS)
    gaussians, background = state.gaussians, state.background

    def work(ctx: TaskContext) -> str:
        from viewer.video import render_turntable

        ctx.report(0.0, f"Rendering the turntable{e}")
        count = render_turntable(gaussians, path, frames=frames, fps=TURNTABLE_FPS, size=size, background=background,
                                 progress=_frame_progress(ctx, e))
        return f"Exported {path} ({count} frames, {size[0]}x{size[1]}, {TURNTABLE_FPS:g} fps)"

    return work


def _motion_job(state: StudioState, path: Path, e: str) -> Callable[[TaskContext], str]:
    from viewer.video import check_video_request

    size = state.export.video_size
    check_video_request(path, size, None)
    avatar, clip, background = state.avatar, state.timeline.clip, state.background
    yaw, pitch = state.camera.yaw_deg, state.camera.pitch_deg

    def work(ctx: TaskContext) -> str:
        from viewer.video import render_motion_video

        ctx.report(0.0, f"Rendering {clip.name}{e}")
        count = render_motion_video(avatar, clip, path, size=size, yaw_deg=yaw, pitch_deg=pitch, background=background,
                                    progress=_frame_progress(ctx, e))
        return f"Exported {path} ({clip.name}, {count} frames, {size[0]}x{size[1]}, {clip.fps:g} fps)"

    return work
