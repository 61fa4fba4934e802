"""`avatar-studio bench`: per-stage frame timings of the viewport, ours next to the naive baseline.

Both paths render the same posed avatar along the same camera path in the same run, so the
ratio is meaningful on any machine. Stages: skin (LBS on the CPU), sort, upload, draw, readback.
"""
from __future__ import annotations

import datetime
import json
import math
import platform
import statistics
import time

import torch

from core.avatar import Avatar
from core.pose import SMPLX_JOINT_INDEX, Pose
from viewer.camera import OrbitCamera
from viewer.gl_renderer import GLSplatRenderer, share_cores_with_software_gl

STAGES = ("skin_ms", "sort_ms", "upload_ms", "draw_ms", "readback_ms")


def _pose_at(i: int, frames: int) -> Pose:
    """A waving, walking-ish pose sequence so skinning and sorting see real changes."""
    phase = 2 * math.pi * i / max(frames, 1)
    joints = torch.zeros(55, 3)
    joints[SMPLX_JOINT_INDEX["left_shoulder"]] = torch.tensor([0.0, 0.0, -1.2 + 0.5 * math.sin(phase)])
    joints[SMPLX_JOINT_INDEX["right_shoulder"]] = torch.tensor([0.0, 0.0, 1.2 - 0.5 * math.sin(phase)])
    joints[SMPLX_JOINT_INDEX["left_hip"]] = torch.tensor([0.4 * math.sin(phase), 0.0, 0.0])
    joints[SMPLX_JOINT_INDEX["right_hip"]] = torch.tensor([-0.4 * math.sin(phase), 0.0, 0.0])
    joints[SMPLX_JOINT_INDEX["left_knee"]] = torch.tensor([0.3 + 0.3 * math.cos(phase), 0.0, 0.0])
    return Pose(joints, torch.zeros(3))


def measure(avatar: Avatar, renderer: GLSplatRenderer, size: int, frames: int) -> dict:
    lo, hi = avatar.bounds()
    camera = OrbitCamera()
    camera.frame(lo.tolist(), hi.tolist(), 1.0)
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES + ("frame_ms",)}
    for i in range(frames + 2):  # two warm-up frames (shader compile, buffer allocation)
        camera.yaw_deg = 360.0 * i / frames
        start = time.perf_counter()
        posed = avatar.posed(_pose_at(i, frames))
        skinned = time.perf_counter()
        renderer.set_gaussians(posed.means, posed.quats, posed.scales, posed.opacities, posed.colors)
        set_at = time.perf_counter()
        renderer.render(camera, size, size, background=(0.1, 0.1, 0.1, 1.0))
        end = time.perf_counter()
        if i < 2:
            continue
        t = renderer.last_timings
        samples["skin_ms"].append(1e3 * (skinned - start))
        samples["sort_ms"].append(t["sort_ms"])
        samples["upload_ms"].append(t["upload_ms"] + 1e3 * (set_at - skinned))
        samples["draw_ms"].append(t["draw_ms"])
        samples["readback_ms"].append(t["readback_ms"])
        samples["frame_ms"].append(1e3 * (end - start))
    return {name: round(statistics.median(values), 3) for name, values in samples.items()}


def run_bench(avatar: Avatar, sizes: list[int], frames: int = 30, as_json: bool = False) -> int:
    results = []
    renderers = {"gl": GLSplatRenderer(mode="ssbo"), "gl-naive": GLSplatRenderer(mode="naive")}
    gl_name = renderers["gl"].ctx.info.get("GL_RENDERER", "unknown")
    share_cores_with_software_gl(renderers["gl"].ctx)
    for size in sizes:
        for backend, renderer in renderers.items():
            row = {"backend": backend, "width": size, "height": size, "gaussians": len(avatar.gaussians)}
            row.update(measure(avatar, renderer, size, frames))
            results.append(row)
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, {platform.processor() or 'cpu'}",
        "gl_renderer": gl_name,
        "frames": frames,
        "results": results,
    }
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"avatar-studio bench  {report['date']}  {report['machine']}  GL: {gl_name}")
    print(f"{len(avatar.gaussians)} Gaussians, default avatar posed every frame, orbiting camera; medians of {frames} frames")
    header = f"{'backend':10s} {'size':>9s} " + " ".join(f"{s[:-3]:>9s}" for s in STAGES) + f" {'frame':>9s}"
    print(header)
    for row in results:
        print(f"{row['backend']:10s} {row['width']:>4d}x{row['height']:<4d} "
              + " ".join(f"{row[s]:9.2f}" for s in STAGES) + f" {row['frame_ms']:9.2f}")
    for size in sizes:
        ours = next(r for r in results if r["backend"] == "gl" and r["width"] == size)
        naive = next(r for r in results if r["backend"] == "gl-naive" and r["width"] == size)
        print(f"{size}x{size}: draw {ours['draw_ms'] / naive['draw_ms']:.2f}x of naive, "
              f"frame {ours['frame_ms'] / naive['frame_ms']:.2f}x of naive")
    return 0
