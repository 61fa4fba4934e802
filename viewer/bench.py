"""`avatar-studio bench`: per-stage frame timings of the viewport, ours next to the reference paths.

Every case renders the same posed avatar along the same camera path and pose sequence in the same
run, frames interleaved (frame i of every case before frame i + 1 of any), so a machine whose load
changes during the run slows all cases alike and the ratios stay meaningful. Stages, medians in ms:
skin (posing: CPU LBS, or joint upload + GPU skinning pass), sort (depth sort and, for the tile
path, tile binning), upload, draw, readback; frame is the whole of it.

Cases for ``--backend gl``, all on one GL context (each renderer on its own standalone context
would leave only the last one current, and the others would time nothing):
- ``gl-tiles``: ours, ``GLSplatRenderer(mode="tiles")``: GPU skinning, compute projection, sort and
  tile binning (on the CPU under software GL, on the GPU otherwise), compute rasterisation front to
  back with gsplat's early stop (per-tile kernel under software GL, per-pixel on a GPU);
- ``gl-quads``: ours, ``mode="ssbo"``: GPU skinning, depths read back and sorted on the CPU, compute
  projection, sorted quads with opacity-aware bounds (the studio's path on software GL until the
  per-tile kernel);
- ``gl-naive``: the reference kept honest in the tree, instanced 3.33-sigma quads, CPU skinning.
``--backend gsplat`` measures gsplat (viewer.gsplat_backend, CUDA, CPU skinning) beside ``gl-naive``.
``--detail`` < 1 times our cases at the studio's level of detail for live frames (a fraction of the
Gaussians, grown to cover); the reference always draws all of them, and every row says its detail.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import re
import statistics
import time
from typing import Callable

import torch

from core.avatar import Avatar
from core.errors import AvatarStudioError
from core.gaussians import LayeredGaussians
from core.pose import SMPLX_JOINT_INDEX, Pose
from viewer.camera import OrbitCamera

STAGES = ("skin_ms", "sort_ms", "upload_ms", "draw_ms", "readback_ms")
REFERENCE = "gl-naive"
BACKGROUND = (0.1, 0.1, 0.1, 1.0)
WARMUP_FRAMES = 2  # shader compiles, buffer allocation


def parse_size(text: str) -> tuple[int, int]:
    """'512' -> (512, 512); '1024x768' -> (1024, 768)."""
    match = re.fullmatch(r"(\d+)(?:[xX](\d+))?", text.strip())
    if match is None:
        raise AvatarStudioError(f"--size {text}: give N or WxH in pixels, e.g. 512 or 1024x768")
    width = int(match.group(1))
    height = int(match.group(2) or width)
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise AvatarStudioError(f"--size {text}: each side must be 16..8192 pixels")
    return width, height


def pose_at(i: int, frames: int) -> Pose:
    """A waving, walking-ish pose sequence so skinning and sorting see real changes."""
    phase = 2 * math.pi * i / max(frames, 1)
    joints = torch.zeros(55, 3)
    joints[SMPLX_JOINT_INDEX["left_shoulder"]] = torch.tensor([0.0, 0.0, -1.2 + 0.5 * math.sin(phase)])
    joints[SMPLX_JOINT_INDEX["right_shoulder"]] = torch.tensor([0.0, 0.0, 1.2 - 0.5 * math.sin(phase)])
    joints[SMPLX_JOINT_INDEX["left_hip"]] = torch.tensor([0.4 * math.sin(phase), 0.0, 0.0])
    joints[SMPLX_JOINT_INDEX["right_hip"]] = torch.tensor([-0.4 * math.sin(phase), 0.0, 0.0])
    joints[SMPLX_JOINT_INDEX["left_knee"]] = torch.tensor([0.3 + 0.3 * math.cos(phase), 0.0, 0.0])
    return Pose(joints, torch.zeros(3))


def resample_gaussians(gaussians: LayeredGaussians, count: int, seed: int = 0) -> LayeredGaussians:
    """The avatar's Gaussians brought to `count`, still avatar-like, for the 250k / 1M rows.

    Fewer: a random subset. More: every Gaussian is split into copies spread over its own footprint
    (offsets of up to one sigma along its two largest axes) with in-plane scales shrunk by
    sqrt(copies), so the figure keeps its coverage and look; copies keep the skinning, so they pose.
    """
    n = len(gaussians)
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    generator = torch.Generator().manual_seed(seed)
    if count <= n:
        keep = torch.randperm(n, generator=generator)[:count].sort().values
        return gaussians.select(keep)
    source = torch.arange(count) % n  # every Gaussian count // n or count // n + 1 times
    copies = torch.bincount(source, minlength=n).float()[source]
    g = gaussians.select(source)
    from core.rotations import quaternion_to_matrix

    rotation = quaternion_to_matrix(g.quats)  # columns: the Gaussian's local axes
    axes = g.scales.argsort(dim=1, descending=True)[:, :2]  # the two in-plane axes of a surfel
    offsets = torch.zeros_like(g.means)
    shrink = torch.ones_like(g.scales)
    spread = torch.where(copies > 1, 1.0, 0.0)
    for column in range(2):
        axis = axes[:, column]
        sigma = g.scales.gather(1, axis[:, None]).squeeze(1)
        step = (torch.rand(len(g), generator=generator) * 2 - 1) * sigma * spread
        offsets += rotation[torch.arange(len(g)), :, axis] * step[:, None]
        shrink.scatter_(1, axis[:, None], (1.0 / copies.sqrt())[:, None])
    return g.replace(means=g.means + offsets, scales=g.scales * shrink)


@dataclasses.dataclass
class Case:
    """One measured path: `frame(i)` poses and renders frame i and returns its stage times in ms."""

    backend: str
    frame: Callable[[int], dict[str, float]]
    release: Callable[[], None]


def _cpu_skinned_case(backend: str, avatar: Avatar, renderer, camera: OrbitCamera, frames: int,
                      width: int, height: int) -> Case:
    """Pose on the CPU (core.lbs), upload all Gaussians, render: the studio's path before GPU skinning."""

    def frame(i: int) -> dict[str, float]:
        start = time.perf_counter()
        posed = avatar.posed(pose_at(i, frames))
        skinned = time.perf_counter()
        renderer.set_gaussians(posed.means, posed.quats, posed.scales, posed.opacities, posed.colors)
        set_at = time.perf_counter()
        renderer.render(camera, width, height, background=BACKGROUND)
        end = time.perf_counter()
        t = renderer.last_timings
        return {"skin_ms": 1e3 * (skinned - start) + t.get("skin_ms", 0.0), "sort_ms": t["sort_ms"],
                "upload_ms": t["upload_ms"] + 1e3 * (set_at - skinned), "draw_ms": t["draw_ms"],
                "readback_ms": t["readback_ms"], "frame_ms": 1e3 * (end - start)}

    return Case(backend, frame, lambda: None)


def _gpu_skinned_case(backend: str, avatar: Avatar, renderer, camera: OrbitCamera, frames: int,
                      width: int, height: int, detail: float) -> Case:
    """Ours: the rest Gaussians and their bones go up once; a frame uploads the joints only."""
    g = avatar.gaussians
    renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
    renderer.set_skin_weights(g.skin_indices, g.skin_weights)

    def frame(i: int) -> dict[str, float]:
        start = time.perf_counter()
        renderer.pose(avatar.skinning(pose_at(i, frames)), avatar.rest.parents)
        posed_at = time.perf_counter()
        renderer.render(camera, width, height, background=BACKGROUND, detail=detail)
        end = time.perf_counter()
        t = renderer.last_timings
        return {"skin_ms": 1e3 * (posed_at - start) + t["skin_ms"], "sort_ms": t["sort_ms"],
                "upload_ms": t["upload_ms"], "draw_ms": t["draw_ms"], "readback_ms": t["readback_ms"],
                "frame_ms": 1e3 * (end - start)}

    return Case(backend, frame, lambda: None)


def _machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
            "torch_threads": torch.get_num_threads(), "load_average": [round(v, 2) for v in load]}


def check_arguments(frames: int, detail: float, backend: str, gaussians: int | None) -> None:
    """One line for a bad option, before the avatar loads (seconds) or anything is measured."""
    if frames < 1:
        raise AvatarStudioError(f"--frames {frames}: must be at least 1")
    if not 0.0 < detail <= 1.0:
        raise AvatarStudioError(f"--detail {detail}: must be in (0, 1]")
    if backend not in ("gl", "gsplat"):
        raise AvatarStudioError(f"--backend {backend}: choose gl or gsplat")
    if gaussians is not None and gaussians < 1:
        raise AvatarStudioError(f"--gaussians {gaussians}: must be at least 1")


def make_gsplat_renderer():
    """viewer.gsplat_backend's renderer; one line (AvatarStudioError) without CUDA or gsplat."""
    from viewer.gsplat_backend import GsplatRenderer

    return GsplatRenderer()


def run_bench(avatar: Avatar, sizes: list[tuple[int, int]], frames: int = 30, backend: str = "gl",
              gaussians: int | None = None, as_json: bool = False, detail: float = 1.0,
              gsplat_renderer=None) -> int:
    """Measure every case at every size; print a table (or one JSON object); 0 on success.
    `gsplat_renderer`: for backend gsplat, one made before the avatar loaded (else made here)."""
    check_arguments(frames, detail, backend, gaussians)
    if gaussians is not None:
        avatar = dataclasses.replace(avatar, gaussians=resample_gaussians(avatar.gaussians, gaussians))
    count = len(avatar.gaussians)
    if backend == "gsplat" and gsplat_renderer is None:
        gsplat_renderer = make_gsplat_renderer()
    from viewer.gl_renderer import GLSplatRenderer, create_context, share_cores_with_software_gl

    ctx = create_context()
    gl_name = ctx.info.get("GL_RENDERER", "unknown")
    share_cores_with_software_gl(ctx)
    lo, hi = avatar.bounds()
    results = []
    try:
        for width, height in sizes:
            camera = OrbitCamera()
            camera.frame(lo.tolist(), hi.tolist(), width / height)
            renderers = []
            cases = []
            if backend == "gl":
                tiles, quads = GLSplatRenderer(ctx, mode="tiles"), GLSplatRenderer(ctx, mode="ssbo")
                renderers += [tiles, quads]
                cases.append(_gpu_skinned_case("gl-tiles", avatar, tiles, camera, frames, width, height, detail))
                cases.append(_gpu_skinned_case("gl-quads", avatar, quads, camera, frames, width, height, detail))
            else:
                cases.append(_cpu_skinned_case("gsplat", avatar, gsplat_renderer, camera, frames, width, height))
            naive = GLSplatRenderer(ctx, mode="naive")
            renderers.append(naive)
            cases.append(_cpu_skinned_case(REFERENCE, avatar, naive, camera, frames, width, height))
            samples: dict[str, dict[str, list[float]]] = {case.backend: {} for case in cases}
            for i in range(frames + WARMUP_FRAMES):
                camera.yaw_deg = 360.0 * i / frames
                for case in cases:
                    times = case.frame(i)
                    if i >= WARMUP_FRAMES:
                        for stage, value in times.items():
                            samples[case.backend].setdefault(stage, []).append(value)
            for case in cases:
                row = {"backend": case.backend, "width": width, "height": height, "gaussians": count,
                       "detail": 1.0 if case.backend in (REFERENCE, "gsplat") else detail}
                row.update({stage: round(statistics.median(values), 3)
                            for stage, values in samples[case.backend].items()})
                results.append(row)
            for renderer in renderers:
                renderer.release()
    finally:
        ctx.release()
    for row in results:
        reference = next(r for r in results if r["backend"] == REFERENCE and r["width"] == row["width"]
                         and r["height"] == row["height"])
        row["draw_vs_naive"] = round(row["draw_ms"] / reference["draw_ms"], 3)
        row["frame_vs_naive"] = round(row["frame_ms"] / reference["frame_ms"], 3)
    report = {"date": datetime.date.today().isoformat(), **_machine(), "gl_renderer": gl_name,
              "cuda_device": getattr(gsplat_renderer, "device_name", None), "frames": frames,
              "reference": REFERENCE, "results": results}
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"avatar-studio bench  {report['date']}  {report['machine']}  load {report['load_average']}")
    print(f"GL: {gl_name}" + (f"  CUDA: {report['cuda_device']}" if report["cuda_device"] else ""))
    print(f"{count} Gaussians, default avatar posed every frame, orbiting camera; medians of {frames} frames (ms)")
    header = f"{'backend':10s} {'detail':>6s} {'size':>9s} " + " ".join(f"{s[:-3]:>9s}" for s in STAGES)
    print(header + f" {'frame':>9s} {'draw/ref':>9s} {'frame/ref':>9s}")
    for row in results:
        print(f"{row['backend']:10s} {row['detail']:6.3g} {row['width']:>4d}x{row['height']:<4d} "
              + " ".join(f"{row[s]:9.2f}" for s in STAGES)
              + f" {row['frame_ms']:9.2f} {row['draw_vs_naive']:8.2f}x {row['frame_vs_naive']:8.2f}x")
    print(f"ratios are against {REFERENCE}, the naive instanced-quad path, measured in the same run")
    return 0
