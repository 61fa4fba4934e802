"""The GPU comparison of issue 8: our GL renderer against gsplat 1.5.3 and the naive GL path, one run.

Two steps, because Anny (the default body) is not installed on the lent GPU box:

  python scripts/gpu_compare.py prepare            # here: the default avatar, its rig and poses -> one .npz
  scripts/gpu_compare.sh [--smoke]                 # on the GPU box (the `run` tool): installs, then `run`
  python scripts/gpu_compare.py run --inputs .gpu/compare_inputs.npz --out DIR

`prepare` writes the default avatar's canonical Gaussians with their skinning (bone indices and
weights), the rig's parents, and every pose as skinning transforms (the walk clip in place for the
timed sequence; T, relaxed and mid-stride for the agreement check). `run` poses them with
core.lbs.posed_gaussians, the studio's own skinning, so the GPU box needs no body model.

`run` measures at 1024^2, same Gaussians and same orbiting camera for every backend, per frame:
- gsplat: ``gsplat.rasterization`` alone, timed with CUDA events (the posed Gaussians already on the
  GPU), the reference the issue sets; and the gsplat backend's whole render (composite + readback);
- every mode of GLSplatRenderer on one shared EGL context: ``gl`` is its default mode (ours), the
  others ``gl-<mode>`` (``gl-naive``, instanced 3-sigma quads, is the old reference); per frame the
  wall time of skinning (on the CPU with core.lbs, or the mode's own GPU skinning through
  ``set_skin_weights``/``pose``), set_gaussians and the render minus its readback (gsplat's time has
  no readback either), the renderer's own stages, and a GL timer query around the render;
for the default avatar (~79k Gaussians) and for 250k and 1M avatar-like Gaussians (the avatar
densified: each Gaussian split into smaller surfels spread over its own footprint, same skinning).
First the agreement check: the default avatar in 3 poses x 3 views, every GL mode against gsplat,
PSNR of the RGB over the studio's background, and a contact sheet of the 9 pairs (default mode). Writes compare.md,
compare.json and agreement.png under --out; prints the table last.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.errors import AvatarStudioError  # noqa: E402
from core.gaussians import LayeredGaussians  # noqa: E402
from core.lbs import posed_gaussians  # noqa: E402
from viewer.bench import resample_gaussians  # noqa: E402
from viewer.camera import OrbitCamera  # noqa: E402
from viewer.reference import psnr  # noqa: E402

DEFAULT_INPUTS = ROOT / ".gpu" / "compare_inputs.npz"
SIZE = 1024
BACKGROUND = (0.16, 0.16, 0.18, 1.0)  # the studio's viewport background (main.py render default)
SEQUENCE_FRAMES = 60  # walk clip frames in the timed pose sequence
DENSE_COUNTS = (250_000, 1_000_000)
FRAMES = {"default": 40, 250_000: 30, 1_000_000: 20}  # timed frames per scene (after 3 warm-up frames)
WARMUP = 3
AGREEMENT_VIEWS = {"front": (0.0, 0.0), "left side": (90.0, 0.0), "back-right, above": (215.0, 20.0)}
AGREEMENT_MIN_PSNR = 30.0
TILE = 256  # contact-sheet tile size (each 1024^2 image averaged 4x4)
DIFF_GAIN = 32  # contact sheet: |GL - gsplat| x this, so single 8-bit levels show


# ----------------------------------------------------------------------------------------------- prepare
def prepare(out: Path, avatar_args: list[str]) -> None:
    """Build the avatar here (Anny) and store what the GPU job needs, atomically.

    ``avatar_args`` are `avatar-studio render`'s avatar options; the default, ``--plain 0``, is the seeded
    default avatar (78,788 Gaussians) that docs/benchmarks.md's CPU table measures.
    """
    from core.atomic import atomic_write
    from core.motion import load_motion
    from core.pose import Pose
    from main import build_parser, load_avatar

    torch.set_num_threads(1)
    avatar = load_avatar(build_parser().parse_args(["render", *avatar_args]))  # render's parser knows --plain
    g = avatar.gaussians
    clip = load_motion("walk")
    scale = avatar.rest.translation_scale

    def in_place(pose: Pose) -> Pose:  # walk on the spot, so the fixed camera path keeps the avatar framed
        return Pose(pose.joints, pose.translation * torch.tensor([0.0, 1.0, 0.0]))

    sequence = [in_place(clip.frame(k % clip.num_frames, scale)) for k in range(SEQUENCE_FRAMES)]
    agreement = {"T": Pose.zero(), "relaxed": Pose.preset("relaxed"),
                 "walk mid-stride": in_place(clip.frame(clip.num_frames // 4, scale))}
    arrays = {
        "means": g.means, "quats": g.quats, "scales": g.scales, "opacities": g.opacities, "colors": g.colors,
        "layers": g.layers.to(torch.int8), "skin_indices": g.skin_indices.to(torch.int16),
        "skin_weights": g.skin_weights, "parents": avatar.rest.parents.to(torch.int32),
        "sequence_skinning": torch.stack([avatar.skinning(p) for p in sequence]),
        "agreement_skinning": torch.stack([avatar.skinning(p) for p in agreement.values()]),
    }
    meta = {"avatar": f"avatar `{' '.join(avatar_args)}` (body {avatar.body.name}), {len(g)} Gaussians",
            "sequence": f"walk clip frames 0..{SEQUENCE_FRAMES - 1} (looped), root kept in place",
            "agreement_poses": list(agreement)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as f:
        np.savez_compressed(f, meta=np.array(json.dumps(meta)),
                            **{k: v.detach().cpu().numpy() for k, v in arrays.items()})
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {meta['avatar']}, "
          f"{len(sequence)} sequence poses, agreement poses {meta['agreement_poses']}")


# ----------------------------------------------------------------------------------------------- inputs
def load_inputs(path: Path) -> tuple[LayeredGaussians, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    """(canonical Gaussians, parents, sequence skinning (F, J, 3, 4), agreement skinning (3, J, 3, 4), meta)."""
    if not path.is_file():
        raise AvatarStudioError(f"{path} does not exist: run `python scripts/gpu_compare.py prepare` first")
    data = np.load(path)
    t = {k: torch.from_numpy(data[k]) for k in data.files if k != "meta"}
    n = t["means"].shape[0]
    canonical = LayeredGaussians(
        means=t["means"], quats=t["quats"], scales=t["scales"], opacities=t["opacities"], colors=t["colors"],
        layers=t["layers"].long(), skin_indices=t["skin_indices"].long(), skin_weights=t["skin_weights"],
        uvs=torch.zeros(n, 2),
    )
    return (canonical, t["parents"].long(), t["sequence_skinning"], t["agreement_skinning"],
            json.loads(str(data["meta"])))


def preload_gsplat_extension(path: Path) -> None:
    """Use a gsplat_cuda.so built on an earlier GPU box (same image) instead of compiling for ~70 s.

    gsplat 1.5.3 first tries ``from gsplat import csrc``; registering the built module under that
    name before gsplat is imported makes it take that branch.
    """
    import gsplat  # noqa: F401  (the package must exist; its import does not build anything yet)

    spec = importlib.util.spec_from_file_location("gsplat_cuda", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["gsplat.csrc"] = module


# ----------------------------------------------------------------------------------------------- measuring
def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _gpu_description() -> dict:
    try:
        query = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        query = "nvidia-smi unavailable"
    return {"nvidia_smi": query, "torch": torch.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(0)}


@dataclasses.dataclass
class GLBackend:
    """One GL renderer mode in the comparison; ``gpu_skinning``: rigged once, posed by joint transforms."""

    name: str  # "gl" for the renderer's default mode (ours), "gl-<mode>" for the others
    renderer: Any
    gpu_skinning: bool

    def show(self, canonical: LayeredGaussians, skinning: torch.Tensor, parents: torch.Tensor) -> dict[str, float]:
        """Put the posed avatar on the renderer (the first time for GPU skinning: the rest pose and rig).

        Returns the wall times of the CPU-side work: skin_ms (CPU skinning, or ``pose``'s joint upload)
        and set_ms (``set_gaussians``; 0 when the GPU skins).
        """
        r = self.renderer
        if self.gpu_skinning:
            if getattr(self, "_rigged_with", None) is not canonical:
                r.set_gaussians(canonical.means, canonical.quats, canonical.scales, canonical.opacities,
                                canonical.colors)
                r.set_skin_weights(canonical.skin_indices, canonical.skin_weights)
                self._rigged_with = canonical
            start = time.perf_counter()
            r.pose(skinning, parents)
            return {"skin_ms": 1e3 * (time.perf_counter() - start), "set_ms": 0.0}
        self._rigged_with = None
        start = time.perf_counter()
        posed = posed_gaussians(canonical, skinning, parents)
        skinned = time.perf_counter()
        r.set_gaussians(posed.means, posed.quats, posed.scales, posed.opacities, posed.colors)
        return {"skin_ms": 1e3 * (skinned - start), "set_ms": 1e3 * (time.perf_counter() - skinned)}


def _skins_on_gpu(renderer) -> bool:
    """Whether this renderer mode takes a rig (``set_skin_weights``) and poses it itself (``pose``)."""
    if not (hasattr(renderer, "set_skin_weights") and hasattr(renderer, "pose")):
        return False
    one = [np.zeros((1, c), np.float32) for c in (3, 4, 3, 1, 3)]
    renderer.set_gaussians(*one)
    try:
        renderer.set_skin_weights(np.zeros((1, 1), np.int64), np.ones((1, 1), np.float32))
    except ValueError:  # a mode without GPU skinning refuses the rig
        return False
    return True


def make_gl_backends(ctx) -> tuple[list[GLBackend], str]:
    """Every mode GLSplatRenderer offers, on one shared context; (backends, the default mode's name).

    A mode that fails to build is reported and left out, so one broken path cannot sink the run.
    """
    import inspect

    from viewer import gl_renderer

    modes = getattr(gl_renderer, "MODES", ("ssbo", "naive"))
    default = inspect.signature(gl_renderer.GLSplatRenderer.__init__).parameters["mode"].default
    backends = []
    for mode in (default, *modes):
        if backends and mode == backends[0].renderer.mode:
            continue  # the default mode (None: the renderer picks one for this GL) is measured once, as "gl"
        try:
            renderer = gl_renderer.GLSplatRenderer(ctx, mode=mode)
        except Exception as exc:  # noqa: BLE001  (a shader that does not compile on this driver, say)
            print(f"GL mode {mode!r} left out: {' '.join(str(exc).split())[:300]}", flush=True)
            continue
        backends.append(GLBackend("gl" if not backends else f"gl-{mode}", renderer, _skins_on_gpu(renderer)))
    return backends, backends[0].renderer.mode if backends else str(default)


def measure_scene(name: str, canonical: LayeredGaussians, parents: torch.Tensor, sequence: torch.Tensor,
                  frames: int, backends: list[GLBackend], gsplat_renderer, camera0: OrbitCamera
                  ) -> tuple[list[dict], float]:
    """Per-frame stages of every backend on the same pose and camera; medians per backend.

    GL frame_ms = wall time of skinning (CPU, or the GPU path's pose call), set_gaussians and the
    render, minus the render's readback: what gsplat's rasterization time is compared with.
    """
    samples: dict[str, dict[str, list[float]]] = {b.name: {} for b in backends} | {"gsplat": {}}

    def add(backend: str, **values: float) -> None:
        for key, value in values.items():
            samples[backend].setdefault(key, []).append(value)

    coverage = 0.0
    for i in range(frames + WARMUP):
        camera = OrbitCamera(**{**camera0.__dict__, "yaw_deg": 360.0 * i / frames})
        viewmat, K = camera.opencv_view_and_intrinsics(SIZE, SIZE)
        skinning = sequence[i % len(sequence)]
        for backend in backends:
            start = time.perf_counter()
            cpu = backend.show(canonical, skinning, parents)
            query = backend.renderer.ctx.query(time=True)
            with query:
                backend.renderer.render_view(viewmat, K, SIZE, SIZE, BACKGROUND, camera.near, camera.far)
            wall_ms = 1e3 * (time.perf_counter() - start)
            t = backend.renderer.last_timings
            if i >= WARMUP:
                add(backend.name, skin_ms=cpu["skin_ms"] + t.get("skin_ms", 0.0), sort_ms=t["sort_ms"],
                    upload_ms=t["upload_ms"] + cpu["set_ms"], draw_ms=t["draw_ms"], readback_ms=t["readback_ms"],
                    gl_timer_ms=query.elapsed / 1e6, frame_ms=wall_ms - t["readback_ms"])
        # gsplat: the same pose, skinned by core.lbs and moved to the GPU outside the timed region
        posed = posed_gaussians(canonical, skinning, parents)
        gsplat_renderer.set_gaussians(*(a.cuda() for a in (posed.means, posed.quats, posed.scales,
                                                            posed.opacities, posed.colors)))
        torch.cuda.synchronize()
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        wall = time.perf_counter()
        begin.record()
        premultiplied, alpha = gsplat_renderer.rasterize(viewmat, K, SIZE, SIZE, camera.near, camera.far)
        end.record()
        torch.cuda.synchronize()
        wall_ms = 1e3 * (time.perf_counter() - wall)
        raster_ms = begin.elapsed_time(end)
        if i == WARMUP:
            coverage = float((alpha > 0.5).float().mean())
        gsplat_renderer.render_view(viewmat, K, SIZE, SIZE, BACKGROUND, camera.near, camera.far)
        t = gsplat_renderer.last_timings
        if i >= WARMUP:
            add("gsplat", raster_ms=raster_ms, raster_wall_ms=wall_ms, draw_ms=raster_ms, frame_ms=raster_ms,
                render_ms=t["draw_ms"] + t["readback_ms"])
        del premultiplied, alpha
    rows = []
    for backend, values in samples.items():
        row = {"scene": name, "backend": backend, "width": SIZE, "height": SIZE, "gaussians": len(canonical),
               "frames": frames}
        row.update({key: _median(v) for key, v in values.items()})
        rows.append(row)
    return rows, coverage


def _tile(image: np.ndarray, largest: bool = False) -> np.ndarray:
    """RGB uint8 (TILE, TILE, 3) of a square RGBA image: area average, or the largest value per block
    (a difference image, whose few differing pixels an average would hide)."""
    f = image.shape[0] // TILE
    blocks = image[: f * TILE, : f * TILE, :3].astype(np.float32).reshape(TILE, f, TILE, f, 3)
    return (blocks.max(axis=(1, 3)) if largest else blocks.mean(axis=(1, 3))).round().astype(np.uint8)


def agreement(canonical: LayeredGaussians, parents: torch.Tensor, poses: torch.Tensor, pose_names: list[str],
              backends: list[GLBackend], gsplat_renderer, camera0: OrbitCamera, sheet_path: Path) -> list[dict]:
    """Every GL mode against gsplat: 3 poses x 3 views, PSNR of RGB over the studio background.

    gsplat gets the pose skinned by core.lbs; each GL mode poses as it does in the studio (its own
    GPU skinning where it has one), so the check covers skinning too. Contact sheet of the default
    mode ("gl"): one row per pose; per view three tiles: GL, gsplat, |difference| x DIFF_GAIN
    (largest per 4x4 block).
    """
    import imageio.v3 as iio

    rows, sheet_rows = [], []
    for pose_name, skinning in zip(pose_names, poses):
        posed = posed_gaussians(canonical, skinning, parents)
        gsplat_renderer.set_gaussians(*(a.cuda() for a in (posed.means, posed.quats, posed.scales,
                                                            posed.opacities, posed.colors)))
        for backend in backends:
            backend.show(canonical, skinning, parents)
        tiles = []
        for view, (yaw, pitch) in AGREEMENT_VIEWS.items():
            camera = OrbitCamera(**{**camera0.__dict__, "yaw_deg": yaw, "pitch_deg": pitch})
            theirs = gsplat_renderer.render(camera, SIZE, SIZE, background=BACKGROUND)
            for backend in backends:
                ours = backend.renderer.render(camera, SIZE, SIZE, background=BACKGROUND)
                difference = np.abs(ours.astype(int) - theirs.astype(int))
                rows.append({"backend": backend.name, "pose": pose_name, "view": view,
                             "psnr_db": round(psnr(ours[..., :3] / 255.0, theirs[..., :3] / 255.0), 2),
                             "max_abs_diff": int(difference[..., :3].max()),
                             "pixels_off_by_more_than_8": int((difference[..., :3].max(-1) > 8).sum())})
                if backend is backends[0]:
                    diff_image = np.clip(difference * DIFF_GAIN, 0, 255).astype(np.uint8)
                    tiles += [_tile(ours), _tile(theirs), _tile(diff_image, largest=True)]
        sheet_rows.append(np.concatenate(tiles, axis=1))
    iio.imwrite(sheet_path, np.concatenate(sheet_rows, axis=0))
    return rows


# ----------------------------------------------------------------------------------------------- report
def markdown(report: dict) -> str:
    ours_mode = report["default_gl_mode"]
    others = [b for b in report["gl_backends"] if b != "gl"]
    lines = [
        f"GPU comparison, {report['date']}: {report['gpu']['nvidia_smi']}; GL: {report['gl_renderer']}; "
        f"torch {report['gpu']['torch']} (CUDA {report['gpu']['cuda']}), gsplat {report['gsplat']}; "
        f"{report['machine']}.",
        f"{report['avatar']}; {report['sequence']}; camera orbiting at {SIZE}x{SIZE}; medians, ms. "
        f"`gl` = GLSplatRenderer mode {ours_mode!r} (ours); frame = skin + set + render - readback (wall).",
        "",
        "| Gaussians | coverage | backend | frame | skin | sort | upload | draw | readback | GL timer | / gsplat |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scene in report["scenes"]:
        r = {row["backend"]: row for row in report["results"] if row["scene"] == scene["name"]}
        ref = r["gsplat"]["raster_ms"]
        label = f"{scene['gaussians']:,} ({scene['name']})"
        lines.append(f"| {label} | {100 * scene['coverage']:.1f} % | gsplat rasterization | {ref:.2f} "
                     f"| | | | | | | 1.00x |")
        for name in ("gl", *others):
            b = r[name]
            ratio = f"**{b['frame_ms'] / ref:.2f}x**" if name == "gl" else f"{b['frame_ms'] / ref:.2f}x"
            lines.append(f"| {label} | | {name} | {b['frame_ms']:.2f} | {b['skin_ms']:.2f} | {b['sort_ms']:.2f} "
                         f"| {b['upload_ms']:.2f} | {b['draw_ms']:.2f} | {b['readback_ms']:.2f} "
                         f"| {b['gl_timer_ms']:.2f} | {ratio} |")
    if report["agreement"]:
        names = report["gl_backends"]
        lines += ["", "Agreement with gsplat, default avatar, PSNR of RGB over the studio background (dB):", "",
                  "| pose | view | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
        for pose in report["agreement_poses"]:
            for view in AGREEMENT_VIEWS:
                cells = {row["backend"]: row["psnr_db"] for row in report["agreement"]
                         if row["pose"] == pose and row["view"] == view}
                lines.append(f"| {pose} | {view} | " + " | ".join(f"{cells[n]:.1f}" for n in names) + " |")
        worst = min(row["psnr_db"] for row in report["agreement"] if row["backend"] == "gl")
        lines += ["", f"Lowest for gl (ours) {worst:.1f} dB (goal >= {AGREEMENT_MIN_PSNR:.0f} dB): "
                      f"{'met' if worst >= AGREEMENT_MIN_PSNR else 'NOT met'}."]
    return "\n".join(lines) + "\n"


def run(inputs: Path, out: Path, smoke: bool) -> int:
    from viewer.gl_renderer import create_context
    from viewer.gsplat_backend import GsplatRenderer

    out.mkdir(parents=True, exist_ok=True)
    canonical, parents, sequence, agreement_poses, meta = load_inputs(inputs)
    started = time.perf_counter()
    gsplat_renderer = GsplatRenderer()  # compiles gsplat's CUDA extension unless preloaded
    print(f"gsplat ready in {time.perf_counter() - started:.1f} s", flush=True)
    ctx = create_context()  # one context for all modes: a second standalone context breaks the first one's draws
    backends, default_mode = make_gl_backends(ctx)
    gl_name, gl_version = ctx.info.get("GL_RENDERER", "unknown"), ctx.info.get("GL_VERSION", "unknown")
    print(f"GL: {gl_name}, {gl_version}; modes {[b.name for b in backends]} (gl = {default_mode!r}, "
          f"GPU skinning: {[b.name for b in backends if b.gpu_skinning]})", flush=True)

    camera0 = OrbitCamera()
    lo, hi = canonical.means.min(0).values, canonical.means.max(0).values
    camera0.frame(lo.tolist(), hi.tolist(), 1.0)
    # the agreement check first: it is the part that must not be lost to a later failure
    agreement_rows = agreement(canonical, parents, agreement_poses, meta["agreement_poses"], backends,
                               gsplat_renderer, camera0, out / "agreement.png")
    scenes = [("default avatar", canonical, FRAMES["default"])]
    scenes += [(f"{count // 1000}k" if count < 1_000_000 else f"{count // 1_000_000}M",
                resample_gaussians(canonical, count), FRAMES[count]) for count in DENSE_COUNTS]
    results, scene_info = [], []
    for name, gaussians, frames in scenes:
        frames = 3 if smoke else frames
        started = time.perf_counter()
        rows, coverage = measure_scene(name, gaussians, parents, sequence, frames, backends, gsplat_renderer, camera0)
        results += rows
        scene_info.append({"name": name, "gaussians": len(gaussians), "coverage": round(coverage, 4)})
        summary = ", ".join(f"{row['backend']} {row['frame_ms']:.2f}" for row in rows)
        print(f"{name}: {len(gaussians)} Gaussians, {frames} frames in {time.perf_counter() - started:.1f} s; "
              f"frame ms: {summary}", flush=True)
    import gsplat

    report = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}",
        "gpu": _gpu_description(),
        "gl_renderer": f"{gl_name}, {gl_version}",
        "default_gl_mode": default_mode,
        "gl_backends": [b.name for b in backends],
        "gsplat": gsplat.__version__,
        "avatar": meta["avatar"],
        "sequence": meta["sequence"],
        "smoke": smoke,
        "scenes": scene_info,
        "results": results,
        "agreement_poses": meta["agreement_poses"],
        "agreement": agreement_rows,
    }
    (out / "compare.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (out / "compare.md").write_text(table)
    print(table)
    worst = min(row["psnr_db"] for row in agreement_rows if row["backend"] == "gl")
    return 0 if worst >= AGREEMENT_MIN_PSNR else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="build the default avatar here and write the GPU job's inputs")
    p.add_argument("--out", type=Path, default=DEFAULT_INPUTS)
    p.add_argument("--avatar", default="--plain 0",
                   help="avatar options of `avatar-studio render` (default '--plain 0': the seeded default avatar)")
    r = sub.add_parser("run", help="on a CUDA box with EGL: measure and write compare.md/.json, agreement.png")
    r.add_argument("--inputs", type=Path, default=DEFAULT_INPUTS)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--smoke", action="store_true", help="3 frames per scene: checks every path quickly")
    r.add_argument("--gsplat-so", type=Path, help="a gsplat_cuda.so built earlier on the same image")
    t = sub.add_parser("test", help="on a CUDA box: tests/test_gsplat_backend.py, reusing --gsplat-so")
    t.add_argument("--gsplat-so", type=Path, help="a gsplat_cuda.so built earlier on the same image")
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            prepare(args.out, args.avatar.split())
            return 0
        if args.gsplat_so is not None:
            preload_gsplat_extension(args.gsplat_so)
        if args.command == "test":  # in this process, so the preloaded extension is the one gsplat uses
            import pytest

            return int(pytest.main(["-q", "-rs", str(ROOT / "tests" / "test_gsplat_backend.py")]))
        return run(args.inputs, args.out, args.smoke)
    except AvatarStudioError as exc:
        print(f"gpu_compare: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
