"""Real-time Gaussian splatting with GLSL through moderngl (EGL, OpenGL 4.3+).

Same pixels as ``viewer.reference`` (gsplat 1.5.3 math, see there), to within one uint8 level, with
one knowing deviation: blending back to front cannot reproduce gsplat's early stop, which drops the
fragment that would take a pixel's transmittance T to 1e-4 or below, and everything behind it. The
dropped weight T * alpha is tiny unless a nearly opaque fragment (alpha up to 0.999) arrives where
T <= 0.1 already; then gsplat shows the background through by up to 0.1 where this renderer draws
the fragment. In the random test scenes that touches a few dozen of 16k pixels.

Frame pipeline, and why:
1. sort (CPU, numpy): view-space depth of every mean, near/far cull, full argsort back to front.
   Blending needs the order, and 100k depths sort in a few milliseconds.
2. upload. ``mode="ssbo"`` (default): all Gaussians live in a storage buffer written once per
   ``set_gaussians``; per frame only the sorted uint32 indices go up (4 bytes per Gaussian).
   ``mode="naive"``, the honest baseline for benchmarks: all attributes gathered in sorted order
   and re-uploaded as instance attributes every frame (64 bytes per Gaussian).
3. draw. ssbo: a compute pass projects each visible Gaussian once (3D covariance from scale and
   quaternion, EWA projection, + 0.3 px low-pass, opacity-aware tight quad along the ellipse axes)
   into a splat record; then one non-instanced draw of indexed quads reads the records by
   gl_VertexID. Measured under llvmpipe for 90k splats: per-corner EWA math in the vertex shader
   and instancing (each instance runs as its own small draw) each cost more than this whole pass.
   naive: instanced square quads (3.33 sigma), the vertex shader redoing the projection for each
   of the 4 corners. Both: the fragment shader computes alpha as gsplat does and writes
   premultiplied colour, blended (ONE, ONE_MINUS_SRC_ALPHA) into an RGBA32F target cleared to 0
   (float, so un-premultiplying faint pixels for a transparent background stays exact); a
   full-screen pass composites that over the background into straight RGBA8.
4. readback of the RGBA8 target, whose first row in memory is the image's top row (the splat pass
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
from viewer.reference import ALPHA_MAX, ALPHA_MIN, EPS2D, EXTEND_MAX, FAR_PLANE, NEAR_PLANE

ArrayLike = np.ndarray | torch.Tensor
GAUSSIAN_FLOATS = 16  # std430 struct: mean + opacity, quat, scale + pad, rgb + pad (64 bytes)
SPLAT_FLOATS = 16  # projected record, see shaders/splat_project.comp
WORKGROUP = 128  # local_size_x of splat_project.comp

# The shaders share the reference's constants, so the two cannot drift apart.
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


def _set_uniforms(program: moderngl.Program | moderngl.ComputeShader, **values: object) -> None:
    """Set the uniforms the program uses (the compiler drops unused ones)."""
    for name, value in values.items():
        uniform = program.get(name, None)
        if uniform is not None:
            uniform.value = value


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
        fragment = _HEADER + source("splat.frag")
        if mode == "ssbo":
            projection = _HEADER + source("splat_project.glsl") + source("splat_project.comp")
            self._project = self.ctx.compute_shader(projection)
            vertex = _HEADER + source("splat_quad.vert")
            self._splat_program = self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)
        else:
            self._project = None
            vertex = _HEADER + source("splat_project.glsl") + source("splat_naive.vert")
            self._splat_program = self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)
        self._composite_program = self.ctx.program(
            vertex_shader=_HEADER + source("fullscreen.vert"), fragment_shader=_HEADER + source("composite.frag")
        )
        self._composite_vao = self.ctx.vertex_array(self._composite_program, [])
        self._packed = np.zeros((0, GAUSSIAN_FLOATS), np.float32)  # CPU copy: sort keys, naive uploads
        # ssbo: gaussians, order, splats, quads (index buffer); naive: instances
        self._buffers: dict[str, moderngl.Buffer] = {}
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
        packed = np.zeros((n, GAUSSIAN_FLOATS), np.float32)
        packed[:, 0:3] = _float32(means, "means", n, 3)
        packed[:, 3:4] = _float32(opacities, "opacities", n, 1)
        packed[:, 4:8] = _float32(quats, "quats", n, 4)
        packed[:, 8:11] = _float32(scales, "scales", n, 3)
        packed[:, 12:15] = _float32(colors, "colors", n, 3)
        if n != len(self._packed) or not self._buffers:
            self._allocate(n)
        self._packed = packed
        if self.mode == "ssbo" and n:
            self._buffers["gaussians"].write(packed)

    def render(
        self, camera: OrbitCamera, width: int, height: int, background: Sequence[float] = (0.0, 0.0, 0.0, 0.0)
    ) -> np.ndarray:
        """Straight RGBA uint8 (height, width, 4), top row first, splats over ``background`` (straight rgba)."""
        viewmat, K = camera.opencv_view_and_intrinsics(width, height)
        return self.render_view(viewmat, K, width, height, background, camera.near, camera.far)

    def render_view(
        self, viewmat: np.ndarray, K: np.ndarray, width: int, height: int,
        background: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE,
    ) -> np.ndarray:
        """``render`` from an OpenCV viewmat (world -> camera, 4x4) and K (3x3), the camera gsplat takes."""
        ctx = self.ctx
        viewmat, K = np.asarray(viewmat, np.float32), np.asarray(K, np.float32)
        start = time.perf_counter()
        depth = self._packed[:, :3] @ viewmat[2, :3] + viewmat[2, 3]
        visible = np.flatnonzero((depth >= near_plane) & (depth <= far_plane))
        order = visible[np.argsort(depth[visible])[::-1]].astype(np.uint32)  # farthest first
        count = len(order)
        sorted_at = time.perf_counter()

        if count:
            if self.mode == "ssbo":
                self._buffers["order"].write(order)
            else:
                self._buffers["instances"].write(self._packed[order])
        uploaded_at = time.perf_counter()

        accum, accum_fbo, output_fbo = self._render_targets(width, height)
        camera_uniforms = {
            "u_rotation": tuple(viewmat[:3, :3].T.ravel().tolist()),  # GLSL matrices are column-major
            "u_translation": tuple(viewmat[:3, 3].tolist()),
            "u_intrinsics": (float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])),
            "u_image_size": (float(width), float(height)),
        }
        _set_uniforms(self._splat_program, **camera_uniforms)
        accum_fbo.use()
        accum_fbo.clear(0.0, 0.0, 0.0, 0.0)
        ctx.enable_only(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        if count and self.mode == "ssbo":
            _set_uniforms(self._project, u_count=count, **camera_uniforms)
            for binding, name in enumerate(("gaussians", "order", "splats")):
                self._buffers[name].bind_to_storage_buffer(binding)
            self._project.run(group_x=(count + WORKGROUP - 1) // WORKGROUP)
            ctx.memory_barrier(moderngl.SHADER_STORAGE_BARRIER_BIT)
            self._splat_vao.render(moderngl.TRIANGLES, vertices=6 * count)
        elif count:
            self._splat_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=count)
        ctx.enable_only(moderngl.NOTHING)
        output_fbo.use()
        accum.use(0)
        _set_uniforms(self._composite_program, u_accum=0, u_background=tuple(float(v) for v in background))
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
        self._release_scene()
        programs = (self._composite_vao, self._composite_program, self._splat_program, self._project)
        for obj in (*self._targets, *programs):
            if obj is not None:
                obj.release()
        self._targets, self._target_size = [], None
        if self._owns_ctx:
            self.ctx.release()

    def _release_scene(self) -> None:
        for obj in (self._splat_vao, *self._buffers.values()):
            if obj is not None:
                obj.release()
        self._splat_vao, self._buffers = None, {}

    def _allocate(self, n: int) -> None:
        """(Re)create the per-scene buffers and vertex array for n Gaussians (moderngl wants >= 1 byte)."""
        self._release_scene()
        rows = max(1, n)
        if self.mode == "ssbo":
            quads = 4 * np.arange(rows, dtype=np.uint32)[:, None] + np.array([0, 1, 2, 2, 1, 3], np.uint32)
            self._buffers = {
                "gaussians": self.ctx.buffer(reserve=rows * GAUSSIAN_FLOATS * 4),
                "order": self.ctx.buffer(reserve=rows * 4),
                "splats": self.ctx.buffer(reserve=rows * SPLAT_FLOATS * 4),  # written by the compute pass
                "quads": self.ctx.buffer(quads),
            }
            self._splat_vao = self.ctx.vertex_array(
                self._splat_program, [], index_buffer=self._buffers["quads"], index_element_size=4
            )
        else:
            self._buffers = {"instances": self.ctx.buffer(reserve=rows * GAUSSIAN_FLOATS * 4)}
            layout = ("4f 4f 4f 4f /i", "i_mean_opacity", "i_quat", "i_scale", "i_color")
            self._splat_vao = self.ctx.vertex_array(self._splat_program, [(self._buffers["instances"], *layout)])

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


def share_cores_with_software_gl(gl: moderngl.Context | str) -> None:
    """Give torch one thread when GL itself runs on the CPU (Mesa llvmpipe).

    llvmpipe rasterises on every core; torch's thread pool then fights it for them, and CPU
    skinning measured 25 ms on one thread but 220 ms on two while rendering (2-core machine).
    `gl` is a context or its GL_RENDERER string (a worker thread must not query a context).
    """
    name = gl if isinstance(gl, str) else gl.info.get("GL_RENDERER", "")
    if "llvmpipe" in name.lower():
        torch.set_num_threads(1)
