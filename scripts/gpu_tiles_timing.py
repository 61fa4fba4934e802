"""Issue 8: the tile path's frame (GPU skinning + sort + draw) with the sort and binning on the GPU.

On the GPU box, after scripts/gpu_compare.sh's setup (wheels, GL loaders, .gpu/compare_inputs.npz):

  python3 scripts/gpu_tiles_timing.py --out DIR [--gsplat-so .gpu/gsplat_cuda.so]

For the default avatar (~79k Gaussians) and the 1M densified avatar at 1024^2, posed every frame by the
renderer's own GPU skinning along the walk clip while the camera orbits: per frame the wall time of
``pose`` + ``render_view`` minus the readback (what gpu_compare.py calls frame_ms) and a GL timer query
around the render; medians. Also a per-stage breakdown (``sync_stages``), the CPU binning for
comparison, whether GPU and CPU binning give the same lists and images on this driver, and, when
gsplat loads, gsplat 1.5.3's rasterization time on the same frames (CUDA events). Writes
tiles_timing.json and tiles_timing.md under --out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import gpu_compare  # noqa: E402  (load_inputs, preload_gsplat_extension)
from core.lbs import posed_gaussians  # noqa: E402
from viewer.bench import resample_gaussians  # noqa: E402
from viewer.camera import OrbitCamera  # noqa: E402
import viewer.gl_renderer as gl_renderer  # noqa: E402
from viewer.gl_renderer import GLSplatRenderer, create_context  # noqa: E402

BACKGROUND = gpu_compare.BACKGROUND
DEFAULTS = (gl_renderer.TILE, gl_renderer.RADIX_BLOCK)


def configure(tile: int, radix_block: int) -> None:
    """Variants for the measurement only: the tile side and the radix sort's block (module constants that
    the next renderer's shaders are built with)."""
    gl_renderer.TILE, gl_renderer.RADIX_BLOCK = tile, radix_block


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def frames(renderer, canonical, parents, sequence, camera0, count, size, warmup=5):
    """Per-frame samples: frame_ms (pose + render - readback, wall), gl_ms (timer query), stages, pairs."""
    samples: dict[str, list[float]] = {}
    for i in range(count + warmup):
        camera = OrbitCamera(**{**camera0.__dict__, "yaw_deg": 360.0 * i / max(count, 1)})
        viewmat, K = camera.opencv_view_and_intrinsics(size, size)
        start = time.perf_counter()
        renderer.pose(sequence[i % len(sequence)], parents)
        query = renderer.ctx.query(time=True)
        with query:
            renderer.render_view(viewmat, K, size, size, BACKGROUND, camera.near, camera.far)
        wall = 1e3 * (time.perf_counter() - start)
        t = renderer.last_timings
        if i >= warmup:
            for key, value in {"frame_ms": wall - t["readback_ms"], "gl_timer_ms": query.elapsed / 1e6,
                               "pairs": float(renderer._pair_hint), **t}.items():
                samples.setdefault(key, []).append(value)
    return {key: median(v) for key, v in samples.items()}


def gsplat_times(canonical, parents, sequence, camera0, count, size, warmup=3):
    from viewer.gsplat_backend import GsplatRenderer

    g = GsplatRenderer()
    times = []
    for i in range(count + warmup):
        camera = OrbitCamera(**{**camera0.__dict__, "yaw_deg": 360.0 * i / max(count, 1)})
        viewmat, K = camera.opencv_view_and_intrinsics(size, size)
        posed = posed_gaussians(canonical, sequence[i % len(sequence)], parents)
        g.set_gaussians(*(a.cuda() for a in (posed.means, posed.quats, posed.scales, posed.opacities,
                                              posed.colors)))
        torch.cuda.synchronize()
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        out = g.rasterize(viewmat, K, size, size, camera.near, camera.far)
        end.record()
        torch.cuda.synchronize()
        del out
        if i >= warmup:
            times.append(begin.elapsed_time(end))
    return median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=Path, default=gpu_compare.DEFAULT_INPUTS)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--counts", default="default,1000000", help="scenes: 'default' and/or Gaussian counts")
    parser.add_argument("--gsplat-so", type=Path)
    parser.add_argument("--variants", default="16:2048,8:8192",
                        help="also measured (GPU binning only): TILE:RADIX_BLOCK pairs, comma-separated")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    canonical, parents, sequence, _, meta = gpu_compare.load_inputs(args.inputs)
    ctx = create_context()
    report = {"gl": f"{ctx.info.get('GL_RENDERER')}, {ctx.info.get('GL_VERSION')}", "size": args.size,
              "avatar": meta["avatar"], "scenes": []}
    print(report["gl"], flush=True)
    camera0 = OrbitCamera()
    lo, hi = canonical.means.min(0).values, canonical.means.max(0).values
    camera0.frame(lo.tolist(), hi.tolist(), 1.0)
    gsplat_ok = False
    if torch.cuda.is_available():
        try:
            if args.gsplat_so is not None:
                gpu_compare.preload_gsplat_extension(args.gsplat_so)
            gsplat_ok = True
        except Exception as exc:  # noqa: BLE001
            print(f"gsplat left out: {exc}", flush=True)
    for name in args.counts.split(","):
        g = canonical if name == "default" else resample_gaussians(canonical, int(name))
        renderer = GLSplatRenderer(ctx, mode="tiles")
        renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
        renderer.set_skin_weights(g.skin_indices, g.skin_weights)
        scene = {"scene": name, "gaussians": len(g)}
        started = time.perf_counter()
        scene["gpu_binning"] = frames(renderer, g, parents, sequence, camera0, args.frames, args.size)
        scene["pair_overflows"] = renderer.pair_overflows
        renderer.sync_stages = True
        scene["gpu_binning_sync_stages"] = frames(renderer, g, parents, sequence, camera0, 20, args.size)
        renderer.sync_stages = False
        for variant in filter(None, args.variants.split(",")):
            tile, radix_block = map(int, variant.split(":"))
            configure(tile, radix_block)
            other = GLSplatRenderer(ctx, mode="tiles")
            other.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
            other.set_skin_weights(g.skin_indices, g.skin_weights)
            result = {"tile": tile, "radix_block": radix_block,
                      "gpu_binning": frames(other, g, parents, sequence, camera0, 30, args.size)}
            other.sync_stages = True
            result["sync_stages"] = frames(other, g, parents, sequence, camera0, 10, args.size)
            camera = OrbitCamera(**{**camera0.__dict__, "yaw_deg": 40.0})
            other.sync_stages = False
            images = []
            for gpu in (True, False):
                other.gpu_binning = gpu
                images.append(other.render(camera, args.size, args.size, background=BACKGROUND).astype(int))
            result["max_abs_diff_gpu_cpu_binning"] = int(np.abs(images[0] - images[1]).max())
            other.release()
            configure(*DEFAULTS)
            scene.setdefault("variants", []).append(result)
            print(json.dumps(result), flush=True)
        renderer.sync_stages = False
        renderer.gpu_binning = False
        scene["cpu_binning"] = frames(renderer, g, parents, sequence, camera0, 3, args.size, warmup=1)
        # GPU against CPU binning on this driver: same lists, images within a level, three views
        checks = []
        for yaw in (0.0, 90.0, 215.0):
            camera = OrbitCamera(**{**camera0.__dict__, "yaw_deg": yaw})
            renderer.pose(sequence[7], parents)
            images, lists = [], []
            for gpu in (True, False):
                renderer.gpu_binning = gpu
                images.append(renderer.render(camera, args.size, args.size, background=BACKGROUND).astype(int))
                if gpu:
                    lists.append(renderer._read_tile_lists())
                else:
                    tiles = -(-args.size // gl_renderer.TILE)
                    lists.append(renderer._bin_tiles(len(renderer._packed), tiles, tiles))
            checks.append({"yaw": yaw, "max_abs_diff": int(np.abs(images[0] - images[1]).max()),
                           "same_ranges": bool(np.array_equal(lists[0][0], lists[1][0])),
                           "same_lists": bool(np.array_equal(lists[0][1], lists[1][1])),
                           "pairs": int(len(lists[1][1]))})
        scene["gpu_vs_cpu_binning"] = checks
        renderer.release()
        if gsplat_ok:
            try:
                scene["gsplat_raster_ms"] = gsplat_times(g, parents, sequence, camera0, 20, args.size)
            except Exception as exc:  # noqa: BLE001
                scene["gsplat_error"] = " ".join(str(exc).split())[:300]
        scene["seconds"] = round(time.perf_counter() - started, 1)
        report["scenes"].append(scene)
        print(json.dumps(scene), flush=True)
        (args.out / "tiles_timing.json").write_text(json.dumps(report, indent=2))
    lines = [f"Tile path, GPU binning, {args.size}^2, {report['gl']}; medians (ms)", "",
             "| scene | Gaussians | pairs | frame (GPU binning) | GL timer | sync: skin | sync: project+raster "
             "| sync: sort | frame (CPU binning) | gsplat raster | frame / gsplat |", "|---" * 11 + "|"]
    for s in report["scenes"]:
        a, b, c = s["gpu_binning"], s["gpu_binning_sync_stages"], s["cpu_binning"]
        ref = s.get("gsplat_raster_ms")
        ratio = f"{a['frame_ms'] / ref:.2f}x" if ref else "n/a"
        lines.append(f"| {s['scene']} | {s['gaussians']:,} | {a['pairs']:,.0f} | {a['frame_ms']:.3f} | "
                     f"{a['gl_timer_ms']:.3f} | {b['skin_ms']:.3f} | {b['draw_ms']:.3f} | {b['sort_ms']:.3f} | "
                     f"{c['frame_ms']:.1f} | {ref if ref else 'n/a'} | {ratio} |")
    lines += ["", "Variants (GPU binning; sync = per-stage with a wait after each):", "",
              "| scene | TILE | RADIX_BLOCK | frame | GL timer | sync: project+raster | sync: sort | max diff vs CPU binning |",
              "|---" * 8 + "|"]
    for s in report["scenes"]:
        for v in s.get("variants", []):
            a, b = v["gpu_binning"], v["sync_stages"]
            lines.append(f"| {s['scene']} | {v['tile']} | {v['radix_block']} | {a['frame_ms']:.3f} | "
                         f"{a['gl_timer_ms']:.3f} | {b['draw_ms']:.3f} | {b['sort_ms']:.3f} | "
                         f"{v['max_abs_diff_gpu_cpu_binning']} |")
    (args.out / "tiles_timing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    ok = all(c["same_lists"] and c["max_abs_diff"] <= 1 for s in report["scenes"] for c in s["gpu_vs_cpu_binning"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
