"""Real-time Gaussian splatting with GLSL through moderngl (EGL, OpenGL 4.3+, standard compute + SSBO).

Same pixels as ``viewer.reference`` (gsplat 1.5.3 math, see there), to within one uint8 level. The tile
path reproduces gsplat exactly, early stop included; the two quad paths blend back to front and cannot
reproduce gsplat's early stop, which drops the fragment that would take a pixel's transmittance T to
1e-4 or below, and everything behind it. The dropped weight T * alpha is tiny unless a nearly opaque
fragment (alpha up to 0.999) arrives where T <= 0.1 already; then gsplat shows the background through
by up to 0.1 where the quad paths draw the fragment. In the random test scenes that touches a few
dozen of 16k pixels.

Three paths (``mode``), and why:
- "tiles", the default on every GL (shaders/skin.comp, splat_tiles_project.comp, a raster kernel):
  skinning on the GPU (optional), a compute pass projecting every Gaussian once (EWA, + 0.3 px
  low-pass) into a splat record, its depth and the tiles its opacity-aware ellipse touches; Gaussians
  sorted by depth and (tile, splat) pairs binned by tile with stable sorts, so each tile's list stays
  front to back; each pixel then blends its tile's list front to back with gsplat's early stop, and
  the kernel writes straight RGBA8. No triangles, and it stops early where the figure is opaque.
  Two configurations (``raster``):
  - "per_pixel", a GPU's: 8x8 tiles, sort and binning on the GPU with radix sorts (scan.comp,
    radix_sort.comp, tile_keys.comp, tile_ranges.comp; ``_gpu_bin_tiles``, no readback in the frame),
    one workgroup per tile and one invocation per pixel (splat_tiles_raster.comp), as gsplat does.
  - "per_tile", software GL's (llvmpipe): 4x4 tiles binned on the CPU (numpy, ``_bin_tiles``: its
    sorts beat the compute radix sort there), one invocation per tile evaluating its 16 pixels as
    vec4 rows (splat_tiles_raster_blocks.comp). llvmpipe runs invocations as SIMD lanes but fetches
    every storage value lane by lane, so one-invocation-per-pixel loads each splat 64 times per tile;
    per tile, once. Default avatar at 512^2: draw ~27 ms against ~100 ms for the quads (quiet machine).
  ``gpu_binning`` picks where the sort and binning run (GPU by default on a GPU, the CPU on software
  GL; each is the other's test reference).
- "ssbo" (quads): depth sort on the CPU (depths of GPU-skinned means come back from depth.comp), the
  sorted indices uploaded (4 bytes per Gaussian), a compute pass projecting each visible Gaussian
  once into a splat record with an opacity-aware tight quad along the ellipse axes, one
  non-instanced draw of indexed quads reading the records by gl_VertexID. The studio's path on
  llvmpipe before the per-tile kernel: there triangle setup costs ~1.5 us of CPU per splat.
- "naive", the honest baseline for benchmarks: all attributes gathered in sorted order and
  re-uploaded as instance attributes every frame (64 bytes per Gaussian), instanced square quads
  (3.33 sigma), the vertex shader redoing the projection for each of the 4 corners.
The quad paths' fragment shader computes alpha as gsplat does and writes premultiplied colour, blended
(ONE, ONE_MINUS_SRC_ALPHA) into an RGBA32F target cleared to 0 (float, so un-premultiplying faint
pixels for a transparent background stays exact); a full-screen pass composites that over the
background into straight RGBA8, whose first row in memory is the image's top row (the splat pass
maps pixel y straight to NDC y, so no flip is needed).

GPU skinning (tiles, ssbo): ``set_skin_weights`` uploads the rest Gaussians with their bones once;
``pose`` uploads the joints' skinning transforms and quaternions (core.lbs's math, tested against it),
and the next render poses every Gaussian in a compute pass.

Level of detail: Gaussians are stored in a fixed random order, so ``render(detail=f)`` draws an even
sample (the first f of them) with scales grown by sqrt(1/f): fewer splats cover the same pixels, so it
saves per-splat work (the quads' triangles, the tile path's projection, sort and list loads), not fill.
"""
from __future__ import annotations

import math
import time
from typing import Literal, Sequence

import moderngl
import numpy as np
import torch

from core.errors import AvatarStudioError
from core.lbs import bone_quaternions
from shaders import source
from viewer.camera import OrbitCamera
from viewer.reference import ALPHA_MAX, ALPHA_MIN, EPS2D, EXTEND_MAX, FAR_PLANE, NEAR_PLANE, T_MIN

ArrayLike = np.ndarray | torch.Tensor
Mode = Literal["tiles", "ssbo", "naive"]
MODES = ("tiles", "ssbo", "naive")
Raster = Literal["per_pixel", "per_tile"]  # the tile path's kernel: GPU layout, or software GL's (see __init__)
RASTERS = ("per_pixel", "per_tile")
GAUSSIAN_FLOATS = 16  # std430 struct: mean + opacity, quat, scale + pad, rgb + pad (64 bytes)
SPLAT_FLOATS = 16  # projected record, see shaders/splat_project.comp
TILE_SPLAT_FLOATS = 12  # projected record of the tile path, see shaders/splat_tiles_project.comp
REST_FLOATS = 24  # std430 RestGaussian of shaders/skin.comp: mean, quat, 8 bones, 8 weights (96 bytes)
JOINT_FLOATS = 16  # std430 Joint of shaders/skin.comp: 3x4 rows + quaternion (64 bytes)
MAX_GPU_JOINTS = 256  # rigs up to this size get their joint quaternions on the GPU (shaders/joint_quats.comp)
MAX_BONES = 8  # bones per Gaussian the GPU skinning reads (core.templates.SKIN_K)
WORKGROUP = 128  # local_size_x of the per-Gaussian compute passes
TILE = 8  # pixels per tile side in the tile path on a GPU (local_size of splat_tiles_raster.comp)
SOFTWARE_TILE = 4  # ... on software GL (splat_tiles_raster_blocks.comp: one invocation per tile)
BLOCK_TILES = 8  # tiles side by side per workgroup of splat_tiles_raster_blocks.comp (its local_size_x)
SCAN_BLOCK = 1024  # values per workgroup of shaders/scan.comp (256 invocations x 4)
RADIX_BLOCK = 2048  # pairs per workgroup of shaders/radix_sort.comp (8 chunks of 256; 8192 measured no faster)
PAIR_GROWTH = 1.5  # the tile path's (tile, Gaussian) pair buffers grow to this times the pairs needed



def _header(tile: int) -> str:
    """What every shader starts with: the reference's constants, so the two cannot drift apart."""
    return (
        "#version 430\n"
        f"#define ALPHA_MIN {ALPHA_MIN!r}\n#define ALPHA_MAX {ALPHA_MAX!r}\n"
        f"#define EPS2D {EPS2D!r}\n#define EXTEND_MAX {EXTEND_MAX!r}\n#define T_MIN {T_MIN!r}\n"
        f"#define TILE {tile}\n#define BLOCK_TILES {BLOCK_TILES}\n"
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
    """Gaussian splat renderer; ``last_timings`` holds skin/sort/upload/draw/readback ms of the last render.

    ``mode``: "tiles" (compute projection, sort and tile binning, compute rasterisation front to back
    with gsplat's early stop), "ssbo" (compute projection + sorted quads) or "naive" (the baseline);
    None: ``preferred_mode`` ("tiles"). ``raster``: the tile path's kernel, "per_pixel" (a GPU's) or
    "per_tile" (software GL's); None picks by the context (see the module docstring). Tiles and ssbo
    can skin on the GPU (``set_skin_weights``, ``pose``) and draw a level of detail.
    """

    def __init__(self, ctx: moderngl.Context | None = None, mode: Mode | None = None,
                 raster: Raster | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if raster is not None and raster not in RASTERS:
            raise ValueError(f"raster must be one of {', '.join(RASTERS)}, got {raster!r}")
        self._owns_ctx = ctx is None
        self.ctx = create_context() if ctx is None else ctx
        mode = preferred_mode(self.ctx) if mode is None else mode
        if self.ctx.version_code < 430:
            raise AvatarStudioError(
                f"OpenGL {self.ctx.version_code / 100:.1f} is too old for the splat viewer (4.3 needed): "
                "install Mesa (Debian: apt install libegl1 libgl1-mesa-dri) or a newer GPU driver"
            )
        self.mode = mode
        # Software GL (llvmpipe) runs compute on the CPU: the tile path there bins on the CPU (numpy's
        # sorts beat its compute radix sort ~5x) and rasterises 4x4 tiles, one per invocation
        # ("per_tile"); on a GPU, 8x8 tiles, one invocation per pixel ("per_pixel", gsplat's layout).
        software = is_software_gl(self.ctx)
        self.raster: Raster = raster or ("per_tile" if software else "per_pixel")
        self.tile = SOFTWARE_TILE if self.raster == "per_tile" else TILE
        header = _header(self.tile)
        fragment = header + source("splat.frag")
        self._skin = self._joint_quats = self._depth = self._tile_project = self._tile_raster = None
        self._binning: dict[str, moderngl.ComputeShader] = {}
        self._uniform_cache: dict[int, dict[str, list]] = {}  # _pass_uniforms: program -> name -> [uniform, value]
        # Tile path: sort and bin on the GPU (True) or on the CPU (False, the reference the tests compare with).
        self.gpu_binning = not software
        # Tile path: wait for the GPU after each stage, so last_timings splits the frame into its stages
        # (costs the overlap of CPU and GPU work; off for normal frames).
        self.sync_stages = False
        self._tile_lists: tuple | None = None  # last GPU binning: ranges, lists, pair count buffers, tiles
        self._pair_hint = 0  # pairs of the last GPU binning: this frame's pair buffers hold PAIR_GROWTH times it
        self.pair_overflows = 0  # frames redone because their pairs outgrew the buffers
        if mode == "tiles":
            projection = header + source("splat_project.glsl")
            self._tile_project = self.ctx.compute_shader(projection + source("splat_tiles_project.comp"))
            kernel = "splat_tiles_raster_blocks.comp" if self.raster == "per_tile" else "splat_tiles_raster.comp"
            self._tile_raster = self.ctx.compute_shader(header + source(kernel))
            self._binning = {  # the GPU binning's passes (see _gpu_bin_tiles)
                name: self.ctx.compute_shader(header + f"#define RADIX_BLOCK {RADIX_BLOCK}u\n"
                                              + "".join(f"#define {d}\n" for d in defines) + source(file))
                for name, file, defines in (
                    ("scan", "scan.comp", ()), ("scan_add", "scan.comp", ("SCAN_ADD",)),
                    ("histogram", "radix_sort.comp", ("HISTOGRAM",)), ("scatter", "radix_sort.comp", ()),
                    ("depth_keys", "tile_keys.comp", ("DEPTH_KEYS",)),
                    ("tile_counts", "tile_keys.comp", ("TILE_COUNTS",)), ("emit", "tile_keys.comp", ("EMIT",)),
                    ("ranges", "tile_ranges.comp", ()),
                )
            }
            self._skin = self.ctx.compute_shader(header + source("skin.comp"))
            self._joint_quats = self.ctx.compute_shader(header + source("joint_quats.comp"))
            self._project = self._splat_program = None
        elif mode == "ssbo":
            projection = header + source("splat_project.glsl") + source("splat_project.comp")
            self._project = self.ctx.compute_shader(projection)
            self._skin = self.ctx.compute_shader(header + source("skin.comp"))
            self._joint_quats = self.ctx.compute_shader(header + source("joint_quats.comp"))
            self._depth = self.ctx.compute_shader(header + source("depth.comp"))
            vertex = header + source("splat_quad.vert")
            self._splat_program = self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)
        else:
            self._project = None
            vertex = header + source("splat_project.glsl") + source("splat_naive.vert")
            self._splat_program = self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)
        self._composite_program = self.ctx.program(
            vertex_shader=header + source("fullscreen.vert"), fragment_shader=header + source("composite.frag")
        )
        self._composite_vao = self.ctx.vertex_array(self._composite_program, [])
        self._packed = np.zeros((0, GAUSSIAN_FLOATS), np.float32)  # CPU copy: sort keys, naive uploads
        self._permutation = np.zeros(0, np.int64)  # stored row i is the caller's Gaussian _permutation[i]
        # ssbo: gaussians, order, splats, quads (index buffer); naive: instances
        self._buffers: dict[str, moderngl.Buffer] = {}
        self._splat_vao: moderngl.VertexArray | None = None
        self._rigged = False  # set_skin_weights attached bones to the Gaussians (GPU skinning)
        self._pose_pending = False  # pose() wrote new joints: skin before the next projection
        self._joint_quats_pending = False  # ... whose quaternions shaders/joint_quats.comp fills first
        self._joint_count = 0
        self._parent_list: list[int] | None = None  # the rig tree in the "parents" buffer
        self._parents_written = False
        self._tile_scratch: dict[str, np.ndarray] = {}  # tiles: readback arrays, reused
        self._target_size: tuple[int, int] | None = None
        self._targets: list = []  # accum texture, accum fbo, output renderbuffer, output fbo
        self.last_timings: dict[str, float] = {}

    def set_gaussians(
        self, means: ArrayLike, quats: ArrayLike, scales: ArrayLike, opacities: ArrayLike, colors: ArrayLike
    ) -> None:
        """Replace the scene: activated values (metres, unit w-x-y-z quaternions, opacity and rgb in 0..1).

        Cheap enough to call every frame for a posed avatar: one interleave and, in ssbo mode, one
        buffer write; buffers are only reallocated when the count changes. Rows are stored in a fixed
        random order, so any prefix is an even sample of the scene: ``render(detail=...)`` draws one.
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
            self._permutation = np.random.default_rng(0).permutation(n)
        packed = packed[self._permutation]
        self._packed = packed
        self._rigged = self._pose_pending = False
        if self.mode in ("ssbo", "tiles") and n:
            self._buffers["gaussians"].write(packed)

    def set_skin_weights(self, skin_indices: ArrayLike, skin_weights: ArrayLike) -> None:
        """Rig the Gaussians of the last ``set_gaussians`` (their rest pose) for ``pose``: (N, K) bone
        indices and weights, K <= 8. The GPU skins them (modes tiles and ssbo), so a new pose costs one
        upload of the joints instead of every Gaussian.
        """
        if self.mode == "naive":
            raise ValueError("GPU skinning needs mode 'tiles' or 'ssbo': the naive path poses on the CPU")
        n = len(self._packed)
        indices = (skin_indices.detach().cpu().numpy() if isinstance(skin_indices, torch.Tensor)
                   else np.asarray(skin_indices))
        weights = (skin_weights.detach().cpu().numpy() if isinstance(skin_weights, torch.Tensor)
                   else np.asarray(skin_weights)).astype(np.float32, copy=False)
        if indices.ndim != 2 or indices.shape != weights.shape or len(indices) != n or indices.shape[1] > MAX_BONES:
            raise ValueError(f"skin_indices and skin_weights must both be (N, K<={MAX_BONES}) for N={n}, "
                             f"got {tuple(indices.shape)} and {tuple(weights.shape)}")
        rest = np.zeros((n, REST_FLOATS), np.float32)
        rest[:, 0:3] = self._packed[:, 0:3]
        rest[:, 4:8] = self._packed[:, 4:8]
        k = indices.shape[1]
        rest[:, 8 : 8 + k] = indices[self._permutation].astype(np.uint32).view(np.float32)  # uvec4 bones[2]
        rest[:, 16 : 16 + k] = weights[self._permutation]
        self._write_buffer("rest", rest)
        self._rigged, self._pose_pending = True, False

    def pose(self, skinning: ArrayLike, parents: ArrayLike | None = None) -> None:
        """Pose the rigged Gaussians by the rig's skinning transforms (J, 3, 4) (core.lbs.forward_kinematics),
        exactly as ``core.lbs.posed_gaussians``: pass the rig's ``parents`` so bone quaternions are
        hemisphere-aligned along the tree. The skinning pass runs with the next render.
        """
        if not self._rigged:
            raise ValueError("pose() needs rigged Gaussians: call set_skin_weights after set_gaussians")
        skinning = (skinning.detach().cpu().numpy() if isinstance(skinning, torch.Tensor)
                    else np.asarray(skinning)).astype(np.float32, copy=False)
        parent_list = None if parents is None else [int(p) for p in np.asarray(
            parents.detach().cpu().numpy() if isinstance(parents, torch.Tensor) else parents).ravel()]
        joints = np.zeros((skinning.shape[0], JOINT_FLOATS), np.float32)
        joints[:, 0:12] = skinning.reshape(-1, 12)
        self._joint_count = len(joints)
        self._joint_quats_pending = len(joints) <= MAX_GPU_JOINTS
        if self._joint_quats_pending:  # shaders/joint_quats.comp fills the quaternions before skinning
            if not self._parents_written or parent_list != self._parent_list:
                self._write_buffer("parents", np.asarray(parent_list or [-1], np.int32))
                self._parent_list, self._parents_written = parent_list, True
        else:
            joints[:, 12:16] = bone_quaternions(torch.from_numpy(np.ascontiguousarray(skinning[:, :, :3])),
                                                 parent_list).numpy()
        self._write_buffer("joints", joints)
        self._pose_pending = True

    def read_gaussians(self) -> tuple[np.ndarray, np.ndarray]:
        """(means (N, 3), quats (N, 4)) as the GPU holds them after skinning: what the tests compare with
        core.lbs. Runs a pending skinning pass first."""
        n = len(self._packed)
        if self.mode == "naive" or n == 0:
            data = self._packed
        else:
            self._run_skinning()
            self.ctx.memory_barrier(moderngl.ALL_BARRIER_BITS)
            data = np.frombuffer(self._buffers["gaussians"].read(size=n * GAUSSIAN_FLOATS * 4), np.float32)
            data = data.reshape(n, GAUSSIAN_FLOATS)
        means, quats = np.empty((n, 3), np.float32), np.empty((n, 4), np.float32)
        means[self._permutation], quats[self._permutation] = data[:, 0:3], data[:, 4:8]
        return means, quats

    def render(
        self, camera: OrbitCamera, width: int, height: int, background: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        detail: float = 1.0,
    ) -> np.ndarray:
        """Straight RGBA uint8 (height, width, 4), top row first, splats over ``background`` (straight rgba).

        ``detail`` < 1 (level of detail, modes tiles and ssbo): draw that fraction of the Gaussians, an
        even sample, with scales grown by sqrt(1 / detail) so they still cover the figure. For live
        frames where the renderer is slow (software GL costs per Gaussian); 1 draws every Gaussian.
        """
        viewmat, K = camera.opencv_view_and_intrinsics(width, height)
        return self.render_view(viewmat, K, width, height, background, camera.near, camera.far, detail)

    def render_view(
        self, viewmat: np.ndarray, K: np.ndarray, width: int, height: int,
        background: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE, detail: float = 1.0,
    ) -> np.ndarray:
        """``render`` from an OpenCV viewmat (world -> camera, 4x4) and K (3x3), the camera gsplat takes."""
        ctx = self.ctx
        viewmat, K = np.asarray(viewmat, np.float32), np.asarray(K, np.float32)
        if not 0.0 < detail <= 1.0:
            raise ValueError(f"detail must be in (0, 1], got {detail}")
        if detail < 1.0 and self.mode == "naive":
            raise ValueError("the naive reference path draws every Gaussian (detail 1)")
        drawn = min(len(self._packed), max(1, math.ceil(detail * len(self._packed))))
        scale_boost = math.sqrt(len(self._packed) / drawn) if drawn else 1.0
        if self.mode == "tiles":
            return self._render_tiles(viewmat, K, width, height, background, near_plane, far_plane,
                                      drawn, scale_boost)
        start = time.perf_counter()
        skin_ms = 0.0
        if self._rigged and drawn:  # the posed means live on the GPU: depths come back, 4 bytes each
            self._run_skinning()
            ctx.finish()
            skinned_at = time.perf_counter()
            skin_ms = 1e3 * (skinned_at - start)
            depth = self._gpu_depths(viewmat, drawn)
        else:
            depth = self._packed[:drawn, :3] @ viewmat[2, :3] + viewmat[2, 3]
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
            _set_uniforms(self._project, u_count=count, u_scale_boost=scale_boost, **camera_uniforms)
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
            "skin_ms": skin_ms,
            "sort_ms": 1e3 * (sorted_at - start) - skin_ms,
            "upload_ms": 1e3 * (uploaded_at - sorted_at),
            "draw_ms": 1e3 * (drawn_at - uploaded_at),
            "readback_ms": 1e3 * (done_at - drawn_at),
        }
        return image

    def _run_skinning(self) -> None:
        """Pose the rigged Gaussians on the GPU if pose() set new joints since the last pass."""
        if not self._pose_pending:
            return
        n = len(self._packed)
        if n and self._joint_quats_pending:
            _set_uniforms(self._joint_quats, u_joints=self._joint_count, u_align=int(self._parent_list is not None))
            self._buffers["joints"].bind_to_storage_buffer(5)
            self._buffers["parents"].bind_to_storage_buffer(6)
            self._joint_quats.run(group_x=1)
            self.ctx.memory_barrier(moderngl.SHADER_STORAGE_BARRIER_BIT)
        if n:
            _set_uniforms(self._skin, u_count=n)
            self._buffers["gaussians"].bind_to_storage_buffer(0)
            self._buffers["rest"].bind_to_storage_buffer(4)
            self._buffers["joints"].bind_to_storage_buffer(5)
            self._skin.run(group_x=(n + WORKGROUP - 1) // WORKGROUP)
            self.ctx.memory_barrier(moderngl.SHADER_STORAGE_BARRIER_BIT)
        self._pose_pending = False

    def _gpu_depths(self, viewmat: np.ndarray, count: int) -> np.ndarray:
        """View depths of the first `count` stored Gaussians, computed where the posed means are."""
        _set_uniforms(self._depth, u_count=count, u_view_z=tuple(viewmat[2, :4].tolist()))
        self._buffers["gaussians"].bind_to_storage_buffer(0)
        depths = self._write_buffer("depths", None, count * 4)
        depths.bind_to_storage_buffer(3)
        self._depth.run(group_x=(count + WORKGROUP - 1) // WORKGROUP)
        self.ctx.memory_barrier(moderngl.ALL_BARRIER_BITS)
        out = np.empty(count, np.float32)
        depths.read_into(out, size=out.nbytes)
        return out

    def _render_tiles(
        self, viewmat: np.ndarray, K: np.ndarray, width: int, height: int, background: Sequence[float],
        near_plane: float, far_plane: float, drawn: int, scale_boost: float,
    ) -> np.ndarray:
        """The tile path: skin, project, sort and bin, rasterise each tile front to back in a compute
        pass, read the RGBA8 pixels back.

        ``gpu_binning`` (the default on a GPU): the sort and binning run on the GPU (``_gpu_bin_tiles``) and the CPU
        waits only for the finished image. Otherwise the CPU reference (``_bin_tiles``) reads back 12
        bytes per Gaussian and uploads the lists. Without ``sync_stages`` the GPU overlaps the stages,
        so with GPU binning skin_ms and sort_ms are only the CPU's time to issue them and draw_ms the
        rest until the image is done; the sum is the frame.
        """
        ctx = self.ctx
        n = drawn
        sync = self.sync_stages or not self.gpu_binning
        start = time.perf_counter()
        self._run_skinning()
        if sync:
            ctx.finish()
        skinned_at = time.perf_counter()

        tiles_x, tiles_y = -(-width // self.tile), -(-height // self.tile)
        if n:
            _set_uniforms(
                self._tile_project, u_count=n, u_scale_boost=scale_boost, u_tiles=(tiles_x, tiles_y),
                u_near=float(near_plane),
                u_far=float(far_plane), u_rotation=tuple(viewmat[:3, :3].T.ravel().tolist()),
                u_translation=tuple(viewmat[:3, 3].tolist()),
                u_intrinsics=(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])),
                u_image_size=(float(width), float(height)),
            )
            for binding, name in enumerate(("gaussians", "splats", "rects", "depths")):
                self._buffers[name].bind_to_storage_buffer(binding)
            self._tile_project.run(group_x=(n + WORKGROUP - 1) // WORKGROUP)
            ctx.memory_barrier(moderngl.ALL_BARRIER_BITS)
            if sync:
                ctx.finish()
        projected_at = time.perf_counter()

        while True:
            if self.gpu_binning:
                ranges, lists, capacity = self._gpu_bin_tiles(n, tiles_x, tiles_y)
                if sync:
                    ctx.finish()
                binned_at = uploaded_at = time.perf_counter()
            else:
                self._tile_lists = None
                ranges_array, lists_array = self._bin_tiles(n, tiles_x, tiles_y)
                binned_at = time.perf_counter()
                ranges = self._write_buffer("tile_ranges", ranges_array)
                lists = self._write_buffer("tile_lists", lists_array)
                uploaded_at = time.perf_counter()
            pixels = self._write_buffer("pixels", None, width * height * 4)

            _set_uniforms(self._tile_raster, u_size=(width, height), u_tiles_x=tiles_x,
                          u_background=tuple(float(v) for v in background))
            self._buffers["splats"].bind_to_storage_buffer(1)
            pixels.bind_to_storage_buffer(2)
            ranges.bind_to_storage_buffer(6)
            lists.bind_to_storage_buffer(7)
            per_tile = self.raster == "per_tile"  # BLOCK_TILES tiles per workgroup, else one
            self._tile_raster.run(group_x=-(-tiles_x // BLOCK_TILES) if per_tile else tiles_x, group_y=tiles_y)
            ctx.memory_barrier(moderngl.ALL_BARRIER_BITS)
            ctx.finish()
            drawn_at = time.perf_counter()
            if self._tile_lists is None:
                break
            # The pair count is known now, without a wait; pairs past the buffers were dropped: grow, redo.
            self._pair_hint = int(np.frombuffer(self._tile_lists[2].read(size=4), np.uint32)[0])
            if self._pair_hint <= capacity:
                break
            self.pair_overflows += 1

        image = np.empty((height, width, 4), np.uint8)
        pixels.read_into(image, size=image.nbytes)
        done_at = time.perf_counter()
        self.last_timings = {
            "skin_ms": 1e3 * (skinned_at - start),
            "sort_ms": 1e3 * (binned_at - projected_at),
            "upload_ms": 1e3 * (uploaded_at - binned_at),
            "draw_ms": 1e3 * ((projected_at - skinned_at) + (drawn_at - uploaded_at)),
            "readback_ms": 1e3 * (done_at - drawn_at),
        }
        return image

    def _gpu_bin_tiles(self, n: int, tiles_x: int, tiles_y: int) -> tuple[moderngl.Buffer, moderngl.Buffer, int]:
        """(tile ranges (tiles + 1 uints), Gaussian ids grouped by tile, front to back in each, pair slots)
        on the GPU, from the projection pass's rectangles and depths: the same lists as ``_bin_tiles``.

        1. stable radix sort of the Gaussians by depth (32-bit keys, 4 passes of 8 bits; culled last);
        2. tiles per Gaussian in that order, exclusive scan -> each one's first pair and the total, which
           stays on the GPU: the later passes read it, so the CPU never waits in the middle of a frame;
        3. one (tile id, Gaussian) pair per tile a Gaussian touches, written in depth order into pair
           buffers sized PAIR_GROWTH times the last frame's pairs (the caller redoes a frame whose total
           came out larger, with buffers grown to fit: ``pair_overflows`` counts those);
        4. stable radix sort of the pairs by tile id (ceil(bits / 8) passes), which keeps the depth order
           inside each tile: gsplat's (tile, depth) order without sorting 64-bit keys;
        5. each tile's [start, end) from the sorted tile ids.
        """
        passes = self._binning
        tiles = tiles_x * tiles_y
        ranges = self._scratch("tile_ranges", (tiles + 1) * 4)
        self._tile_lists = None
        if n == 0:
            ranges.clear()
            return ranges, self._scratch("pair_values", 4), 0
        groups = (n + WORKGROUP - 1) // WORKGROUP
        rects, depths = self._buffers["rects"], self._buffers["depths"]
        depth_keys, order = self._scratch("depth_keys", n * 4), self._scratch("depth_order", n * 4)
        depth_keys_b, order_b = self._scratch("depth_keys_b", n * 4), self._scratch("depth_order_b", n * 4)

        self._pass_uniforms(passes["depth_keys"], u_count=n)
        self._dispatch(passes["depth_keys"], groups, {1: order, 2: rects, 3: depths, 4: depth_keys})
        _, order = self._gpu_radix_sort(depth_keys, order, depth_keys_b, order_b, n, 32)

        offsets = self._scratch("tile_offsets", n * 4)
        self._pass_uniforms(passes["tile_counts"], u_count=n)
        self._dispatch(passes["tile_counts"], groups, {0: offsets, 1: order, 2: rects})
        pair_count = self._gpu_scan(offsets, n, "tile_sums")

        capacity = max(1024, int(PAIR_GROWTH * self._pair_hint) if self._pair_hint else 4 * n)
        pair_keys, pair_values = self._scratch("pair_keys", capacity * 4), self._scratch("pair_values", capacity * 4)
        pair_keys_b = self._scratch("pair_keys_b", capacity * 4)
        pair_values_b = self._scratch("pair_values_b", capacity * 4)
        self._pass_uniforms(passes["emit"], u_count=n, u_tiles_x=tiles_x, u_capacity=capacity)
        self._dispatch(passes["emit"], groups, {0: offsets, 1: order, 2: rects, 4: pair_keys, 5: pair_values})
        bits = max(1, (tiles - 1).bit_length())
        pair_keys, pair_values = self._gpu_radix_sort(pair_keys, pair_values, pair_keys_b, pair_values_b,
                                                      capacity, bits, pair_count)

        self._pass_uniforms(passes["ranges"], u_capacity=capacity, u_tiles=tiles)
        self._dispatch(passes["ranges"], min(65535, (max(capacity, tiles + 1) + WORKGROUP - 1) // WORKGROUP),
                       {0: pair_keys, 5: pair_count, 6: ranges})
        self._tile_lists = (ranges, pair_values, pair_count, tiles)
        return ranges, pair_values, capacity

    def _gpu_scan(self, data: moderngl.Buffer, count: int, name: str = "scan_sums", level: int = 0) -> moderngl.Buffer:
        """Exclusive prefix sum of the first ``count`` uints of ``data`` in place (shaders/scan.comp:
        blocks of SCAN_BLOCK, their sums scanned recursively); returns a buffer whose first uint will
        hold the total."""
        blocks = (count + SCAN_BLOCK - 1) // SCAN_BLOCK
        sums = self._scratch(f"{name}{level}", blocks * 4)
        scan = self._binning["scan"]
        self._pass_uniforms(scan, u_count=count)
        self._dispatch(scan, blocks, {0: data, 1: sums})
        if blocks == 1:
            return sums
        total = self._gpu_scan(sums, blocks, name, level + 1)
        add = self._binning["scan_add"]
        self._pass_uniforms(add, u_count=count)
        self._dispatch(add, blocks, {0: data, 1: sums})
        return total

    def _gpu_radix_sort(
        self, keys: moderngl.Buffer, values: moderngl.Buffer, keys_b: moderngl.Buffer, values_b: moderngl.Buffer,
        count: int, bits: int, gpu_count: moderngl.Buffer | None = None,
    ) -> tuple[moderngl.Buffer, moderngl.Buffer]:
        """Stable sort of ``count`` (key, value) uint pairs by the low ``bits`` bits of the keys
        (shaders/radix_sort.comp, 8 bits a pass, ping-ponging with the _b buffers); returns the
        (keys, values) buffers that hold the result. ``gpu_count``: only its first uint's pairs, if fewer."""
        blocks = (count + RADIX_BLOCK - 1) // RADIX_BLOCK
        histogram = self._scratch("radix_histogram", 256 * blocks * 4)
        source_, target = (keys, values), (keys_b, values_b)
        for shift in range(0, bits, 8):
            for name in ("histogram", "scatter"):
                self._pass_uniforms(self._binning[name], u_count=count, u_shift=shift, u_blocks=blocks,
                              u_count_from_buffer=int(gpu_count is not None))
            buffers = dict(enumerate((*source_, *target, histogram)))
            if gpu_count is not None:
                buffers[5] = gpu_count
            self._dispatch(self._binning["histogram"], blocks, buffers)
            self._gpu_scan(histogram, 256 * blocks)
            self._dispatch(self._binning["scatter"], blocks, buffers)
            source_, target = target, source_
        return source_

    def _read_tile_lists(self) -> tuple[np.ndarray, np.ndarray]:
        """(ranges, lists) of the last render's GPU binning, as ``_bin_tiles`` returns them (for tests)."""
        if self._tile_lists is None:
            raise ValueError("the last render did not bin on the GPU (or drew nothing)")
        ranges, lists, pair_count, tiles = self._tile_lists
        self.ctx.memory_barrier(moderngl.ALL_BARRIER_BITS)
        total = int(np.frombuffer(pair_count.read(size=4), np.uint32)[0])
        return (np.frombuffer(ranges.read(size=(tiles + 1) * 4), np.uint32).copy(),
                np.frombuffer(lists.read(size=total * 4), np.uint32).copy())

    def _dispatch(self, program: moderngl.ComputeShader, groups: int, buffers: dict[int, moderngl.Buffer]) -> None:
        """Run one binning pass: bind `buffers` (binding -> buffer), dispatch `groups` workgroups, and make
        its storage writes visible to the next pass."""
        for binding, buffer in buffers.items():
            buffer.bind_to_storage_buffer(binding)
        program.run(group_x=groups)
        self.ctx.memory_barrier(moderngl.SHADER_STORAGE_BARRIER_BIT)

    def _pass_uniforms(self, program: moderngl.ComputeShader, **values: object) -> None:
        """_set_uniforms for the binning passes, ~40 a frame: uniform handles are looked up once and a
        value is only sent when it changed (these programs are this renderer's own)."""
        known = self._uniform_cache.setdefault(id(program), {})
        for name, value in values.items():
            entry = known.get(name)
            if entry is None:
                entry = known[name] = [program.get(name, None), None]
            if entry[0] is not None and entry[1] != value:
                entry[0].value = value
                entry[1] = value

    def _scratch(self, name: str, nbytes: int) -> moderngl.Buffer:
        """A GPU-only buffer of at least ``nbytes``, made PAIR_GROWTH times that when too small."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            if buffer is not None:
                buffer.release()
            buffer = self._buffers[name] = self.ctx.buffer(reserve=max(4, int(nbytes * PAIR_GROWTH)))
        return buffer

    def _bin_tiles(self, n: int, tiles_x: int, tiles_y: int) -> tuple[np.ndarray, np.ndarray]:
        """(tile ranges (tiles + 1,), splat ids grouped by tile, front to back in each) from the
        projection pass's rectangles and depths."""
        tiles = tiles_x * tiles_y
        if n == 0:
            return np.zeros(tiles + 1, np.uint32), np.zeros(1, np.uint32)
        scratch = self._tile_scratch
        if len(scratch.get("depths", ())) != n:
            scratch["depths"] = np.empty(n, np.float32)
            scratch["rects"] = np.empty((n, 2), np.uint32)
        depths, rects = scratch["depths"], scratch["rects"]
        self._buffers["depths"].read_into(depths, size=depths.nbytes)
        self._buffers["rects"].read_into(rects, size=rects.nbytes)
        lo, hi = rects[:, 0], rects[:, 1]
        x0, y0 = (lo & 0xFFFF).astype(np.int32), (lo >> 16).astype(np.int32)
        span_x = (hi & 0xFFFF).astype(np.int32) - x0
        counts = span_x * ((hi >> 16).astype(np.int32) - y0)  # 0 for culled splats
        visible = np.flatnonzero(counts > 0)
        order = visible[np.argsort(depths[visible], kind="stable")]  # front to back, ties by index
        per_splat = counts[order]
        total = int(per_splat.sum())
        if total == 0:
            return np.zeros(tiles + 1, np.uint32), np.zeros(1, np.uint32)
        # Pair p belongs to splat splat_of[p] and is the within-th tile of its rectangle, row-major.
        splat_of = np.repeat(np.arange(len(order), dtype=np.int32), per_splat)
        within = np.arange(total, dtype=np.int32)
        within -= (np.cumsum(per_splat, dtype=np.int32) - per_splat)[splat_of]
        span = span_x[order]
        # within // span in float32 (exact for these small integers, and several times faster than int division)
        row = np.floor((within.astype(np.float32) + np.float32(0.5)) / span.astype(np.float32)[splat_of]).astype(np.int32)
        tile = (y0[order] * tiles_x + x0[order])[splat_of] + within + row * (tiles_x - span)[splat_of]
        # numpy's stable sort is a radix sort for 16-bit keys (a merge sort, ~5x slower, for wider ones):
        # more tiles than 2^16 (above ~1024^2 in 4x4 tiles) sort by the low 16 bits, then stably by the high.
        if tiles <= 1 << 16:
            by_tile = np.argsort(tile.astype(np.uint16), kind="stable")
        else:
            by_tile = np.argsort((tile & 0xFFFF).astype(np.uint16), kind="stable")
            by_tile = by_tile[np.argsort((tile[by_tile] >> 16).astype(np.uint16), kind="stable")]
        lists = order.astype(np.uint32)[splat_of[by_tile]]
        ranges = np.zeros(tiles + 1, np.uint32)
        np.cumsum(np.bincount(tile, minlength=tiles), out=ranges[1:])
        return ranges, lists

    def _write_buffer(self, name: str, data: np.ndarray | None, size: int | None = None) -> moderngl.Buffer:
        """Write ``data`` (or only make room for ``size`` bytes) into the named buffer, growing it as needed."""
        nbytes = max(1, data.nbytes if data is not None else int(size))
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            if buffer is not None:
                buffer.release()
            buffer = self._buffers[name] = self.ctx.buffer(reserve=nbytes)
        if data is not None and data.nbytes:
            buffer.write(np.ascontiguousarray(data))
        return buffer

    def release(self) -> None:
        """Free the GL objects (and the context, if this renderer created it)."""
        self._release_scene()
        programs = (self._composite_vao, self._composite_program, self._splat_program, self._project,
                    self._skin, self._joint_quats, self._depth, self._tile_project, self._tile_raster,
                    *self._binning.values())
        for obj in (*self._targets, *programs):
            if obj is not None:
                obj.release()
        self._targets, self._target_size = [], None
        if self._owns_ctx:
            self.ctx.release()

    def _release_scene(self) -> None:
        self._tile_lists = None
        for obj in (self._splat_vao, *self._buffers.values()):
            if obj is not None:
                obj.release()
        self._splat_vao, self._buffers = None, {}
        self._parents_written = False

    def _allocate(self, n: int) -> None:
        """(Re)create the per-scene buffers and vertex array for n Gaussians (moderngl wants >= 1 byte)."""
        self._release_scene()
        rows = max(1, n)
        if self.mode == "tiles":
            self._buffers = {
                "gaussians": self.ctx.buffer(reserve=rows * GAUSSIAN_FLOATS * 4),
                "splats": self.ctx.buffer(reserve=rows * TILE_SPLAT_FLOATS * 4),  # written by the projection
                "rects": self.ctx.buffer(reserve=rows * 8),
                "depths": self.ctx.buffer(reserve=rows * 4),
            }
        elif self.mode == "ssbo":
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


def is_software_gl(gl: moderngl.Context | str) -> bool:
    """True for Mesa llvmpipe (GL on the CPU). `gl`: a context or its GL_RENDERER string."""
    name = gl if isinstance(gl, str) else gl.info.get("GL_RENDERER", "")
    return "llvmpipe" in name.lower()


def preferred_mode(gl: moderngl.Context | str) -> Mode:
    """The faster path: "tiles" on every GL. On a GPU it does no per-triangle work and stops early as
    gsplat does; on llvmpipe, with CPU binning and the per-tile kernel, it draws the default avatar at
    512^2 in ~0.2x the quads' time, whose triangle setup costs ~1.5 us of CPU per splat there
    (docs/benchmarks.md). Both give gsplat's exact pixels."""
    return "tiles"


def share_cores_with_software_gl(gl: moderngl.Context | str) -> None:
    """Give torch one thread when GL itself runs on the CPU (Mesa llvmpipe).

    llvmpipe rasterises on every core; torch's thread pool then fights it for them, and CPU
    skinning measured 25 ms on one thread but 220 ms on two while rendering (2-core machine).
    `gl` is a context or its GL_RENDERER string (a worker thread must not query a context).
    """
    if is_software_gl(gl):
        torch.set_num_threads(1)
