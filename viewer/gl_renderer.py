"""Real-time Gaussian splatting with GLSL through moderngl (EGL, OpenGL 4.3+).

Same pixels as ``viewer.reference`` (gsplat 1.5.3 math, see there); the one knowing deviation is
that the GL path blends back to front and so cannot stop a pixel once its transmittance falls below
T_MIN = 1e-4, which changes a pixel by at most 1e-4.

Frame pipeline, and why:
1. sort (CPU, numpy): view-space depth of every mean, near/far cull, full argsort back to front.
   Blending needs the order and 100k depths sort in about a millisecond, less than a GPU sort would
   cost to set up here.
2. upload: ``mode="ssbo"`` (default) keeps all Gaussians in a storage buffer written once per
   ``set_gaussians`` and uploads only the sorted uint32 indices (4 bytes per Gaussian per frame).
   ``mode="naive"`` is the honest baseline for benchmarks: it gathers all attributes in sorted
   order and re-uploads them as instance attributes (64 bytes per Gaussian per frame).
3. draw: one instanced quad per Gaussian; the vertex shader computes the 3D covariance, the EWA
   projection and the quad (ssbo: tight rectangle along the ellipse axes, opacity-aware; naive:
   3.33-sigma axis-aligned square); the fragment shader computes alpha as gsplat does and writes
   premultiplied colour, blended (ONE, ONE_MINUS_SRC_ALPHA) into an RGBA32F target cleared to 0.
   A full-screen pass composites that over the background into straight RGBA8.
4. readback: the RGBA8 target, whose first row in memory is the image's top row (the splat pass
   maps pixel y straight to NDC y, so no flip is needed).
"""
from __future__ import annotations

import time
from typing import Literal, Sequence

import moderngl
import numpy as np
import torch

from core.errors import AvatarStudioError
from shaders import source
from viewer.camera import OrbitCamera
from viewer.reference import ALPHA_MAX, ALPHA_MIN, EPS2D, EXTEND_MAX

ArrayLike = np.ndarray | torch.Tensor
FLOATS_PER_GAUSSIAN = 16  # std430 struct: mean+opacity, quat, scale+pad, colour+pad (64 bytes)

# GLSL shares the reference's constants, so the two cannot drift apart.
_HEADER = (
    "#version 430\n"
    f"#define ALPHA_MIN {ALPHA_MIN!r}\n#define ALPHA_MAX {ALPHA_MAX!r}\n"
    f"#define EPS2D {EPS2D!r}\n#define EXTEND_MAX {EXTEND_MAX!r}\n"
)


def create_context() -> moderngl.Context:
    """A headless OpenGL 4.3+ context through EGL (the X11 default crashes next to Dear PyGui)."""
    try:
        return moderngl.create_standalone_context(backend="egl", require=430)
    except Exception as exc:  # moderngl raises plain Exceptions for a missing library or an old GL
        reason = " ".join(str(exc).split())
        raise AvatarStudioError(
            f"no OpenGL 4.3 context through EGL ({reason}): install EGL and Mesa "
            "(Debian: apt install libegl1 libgl1-mesa-dri) or a GPU driver with EGL"
        ) from exc


def _float32(x: ArrayLike, name: str, rows: int, columns: int) -> np.ndarray:
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 1 and columns == 1:
        array = array[:, None]
    if array.shape != (rows, columns):
        raise ValueError(f"{name} must have shape ({rows}, {columns}), got {tuple(array.shape)}")
    return array


class GLSplatRenderer:
    """Gaussian splat renderer; ``last_timings`` holds sort/upload/draw/readback ms of the last render."""

    def __init__(self, ctx: moderngl.Context | None = None, mode: Literal["ssbo", "naive"] = "ssbo") -> None:
        if mode not in ("ssbo", "naive"):
            raise ValueError(f"mode must be 'ssbo' or 'naive', got {mode!r}")
        self._owns_ctx = ctx is None
        self.ctx = create_context() if ctx is None else ctx
        if self.ctx.version_code < 430:
            raise AvatarStudioError(
                f"OpenGL {self.ctx.version_code / 100:.1f} is too old for the splat viewer (4.3 needed): "
                "install Mesa (Debian: apt install libegl1 libgl1-mesa-dri) or a newer GPU driver"
            )
        self.mode = mode
        vertex = source("splat_ssbo.vert" if mode == "ssbo" else "splat_naive.vert")
        self._splat_program = self.ctx.program(
            vertex_shader=_HEADER + source("splat_project.glsl") + vertex,
            fragment_shader=_HEADER + source("splat.frag"),
        )
        self._composite_program = self.ctx.program(
            vertex_shader=_HEADER + source("fullscreen.vert"), fragment_shader=_HEADER + source("composite.frag")
        )
        self._composite_vao = self.ctx.vertex_array(self._composite_program, [])
        self._packed = np.zeros((0, FLOATS_PER_GAUSSIAN), np.float32)  # CPU copy: sort keys, naive uploads
        self._gaussian_buffer: moderngl.Buffer | None = None  # ssbo: all Gaussians; naive: sorted instances
        self._order_buffer: moderngl.Buffer | None = None  # ssbo only
        self._splat_vao: moderngl.VertexArray | None = None
        self._target_size: tuple[int, int] | None = None
        self._targets: list = []  # accum texture, accum fbo, output renderbuffer, output fbo
        self.last_timings: dict[str, float] = {}

    def set_gaussians(
        self, means: ArrayLike, quats: ArrayLike, scales: ArrayLike, opacities: ArrayLike, colors: ArrayLike
    ) -> None:
        """Replace the scene: activated values (metres, unit w-x-y-z quaternions, opacity and rgb in 0..1).

        Cheap enough to call every frame for a posed avatar: one interleave and, in ssbo mode, one
        buffer write; buffers are only reallocated when the count changes.
        """
        n = int(means.shape[0])
        packed = np.zeros((n, FLOATS_PER_GAUSSIAN), np.float32)
        packed[:, 0:3] = _float32(means, "means", n, 3)
        packed[:, 3:4] = _float32(opacities, "opacities", n, 1)
        packed[:, 4:8] = _float32(quats, "quats", n, 4)
        packed[:, 8:11] = _float32(scales, "scales", n, 3)
        packed[:, 12:15] = _float32(colors, "colors", n, 3)
        if n != len(self._packed) or self._gaussian_buffer is None:
            self._allocate(n)
        self._packed = packed
        if self.mode == "ssbo" and n:
            self._gaussian_buffer.write(packed)

    def render(
        self, camera: OrbitCamera, width: int, height: int, background: Sequence[float] = (0.0, 0.0, 0.0, 0.0)
    ) -> np.ndarray:
        """Straight RGBA uint8 (height, width, 4), top row first, splats over ``background`` (straight rgba)."""
        viewmat, K = camera.opencv_view_and_intrinsics(width, height)
        return self.render_view(viewmat, K, width, height, background, camera.near, camera.far)

    def render_view(
        self, viewmat: np.ndarray, K: np.ndarray, width: int, height: int,
        background: Sequence[float] = (0.0, 0.0, 0.0, 0.0), near_plane: float = 0.01, far_plane: float = 1e10,
    ) -> np.ndarray:
        """``render`` from an explicit OpenCV viewmat (world -> camera, 4x4) and K (3x3), as gsplat takes them."""
        ctx = self.ctx
        viewmat = np.asarray(viewmat, np.float32)
        start = time.perf_counter()
        depth = self._packed[:, :3] @ viewmat[2, :3] + viewmat[2, 3]
        visible = np.flatnonzero((depth >= near_plane) & (depth <= far_plane))
        order = visible[np.argsort(depth[visible])[::-1]].astype(np.uint32)  # farthest first
        sorted_at = time.perf_counter()

        if len(order):
            if self.mode == "ssbo":
                self._order_buffer.write(order)
            else:
                self._gaussian_buffer.write(self._packed[order])
        uploaded_at = time.perf_counter()

        accum, accum_fbo, output_fbo = self._render_targets(width, height)
        program = self._splat_program
        program["u_rotation"].write(np.ascontiguousarray(viewmat[:3, :3].T))  # GLSL matrices are column-major
        program["u_translation"].value = tuple(viewmat[:3, 3].tolist())
        program["u_intrinsics"].value = (float(K[0][0]), float(K[1][1]), float(K[0][2]), float(K[1][2]))
        program["u_image_size"].value = (float(width), float(height))
        ctx.enable_only(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        accum_fbo.use()
        accum_fbo.clear(0.0, 0.0, 0.0, 0.0)
        if len(order):
            if self.mode == "ssbo":
                self._gaussian_buffer.bind_to_storage_buffer(0)
                self._order_buffer.bind_to_storage_buffer(1)
            self._splat_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(order))
        ctx.disable(moderngl.BLEND)
        output_fbo.use()
        accum.use(0)
        self._composite_program["u_accum"].value = 0
        self._composite_program["u_background"].value = tuple(float(v) for v in background)
        self._composite_vao.render(moderngl.TRIANGLES, vertices=3)
        ctx.finish()
        drawn_at = time.perf_counter()

        image = np.empty((height, width, 4), np.uint8)
        output_fbo.read_into(image, components=4, alignment=1)
        done_at = time.perf_counter()
        self.last_timings = {
            "sort_ms": 1e3 * (sorted_at - start),
            "upload_ms": 1e3 * (uploaded_at - sorted_at),
            "draw_ms": 1e3 * (drawn_at - uploaded_at),
            "readback_ms": 1e3 * (done_at - drawn_at),
        }
        return image

    def release(self) -> None:
        """Free the GL objects (and the context, if this renderer created it)."""
        for obj in (self._splat_vao, self._gaussian_buffer, self._order_buffer, *self._targets):
            if obj is not None:
                obj.release()
        self._splat_vao = self._gaussian_buffer = self._order_buffer = self._target_size = None
        self._targets = []
        self._composite_vao.release()
        self._splat_program.release()
        self._composite_program.release()
        if self._owns_ctx:
            self.ctx.release()

    def _allocate(self, n: int) -> None:
        """(Re)create the per-scene buffers and vertex array for n Gaussians (at least 1 byte each)."""
        for obj in (self._splat_vao, self._gaussian_buffer, self._order_buffer):
            if obj is not None:
                obj.release()
        self._gaussian_buffer = self.ctx.buffer(reserve=max(1, n) * FLOATS_PER_GAUSSIAN * 4)
        if self.mode == "ssbo":
            self._order_buffer = self.ctx.buffer(reserve=max(1, n) * 4)
            self._splat_vao = self.ctx.vertex_array(self._splat_program, [])
        else:
            layout = (self._gaussian_buffer, "4f 4f 4f 4f /i", "i_mean_opacity", "i_quat", "i_scale", "i_color")
            self._splat_vao = self.ctx.vertex_array(self._splat_program, [layout])

    def _render_targets(
        self, width: int, height: int
    ) -> tuple[moderngl.Texture, moderngl.Framebuffer, moderngl.Framebuffer]:
        """Float accumulation target and RGBA8 output, recreated when the viewport size changes."""
        if self._target_size != (width, height):
            for obj in self._targets:
                obj.release()
            accum = self.ctx.texture((width, height), 4, dtype="f4")
            output = self.ctx.renderbuffer((width, height), 4)
            self._targets = [accum, self.ctx.framebuffer([accum]), output, self.ctx.framebuffer([output])]
            self._target_size = (width, height)
        accum, accum_fbo, _, output_fbo = self._targets
        return accum, accum_fbo, output_fbo
