"""Synthetic-wardrobe statistics over many seeds: garment histograms, colour and silhouette spread,
speed of making the maps, and the bytes an avatar costs in a cache.

    python scripts/wardrobe_stats.py [--count 1000] [--workers 2] [--json stats.json]

Maps are painted in `--workers` processes with one torch thread each (elementwise work on ~100k
texels gains nothing from threads, and two threads contend on a 2-core machine). The reported
wall time covers painting all maps after the workers have built their canvas (about 10 s, once).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("WARP_LOG_LEVEL", "error")

_CANVAS = None


def _init() -> None:
    global _CANVAS
    import torch

    from core.body.anny_body import AnnyBody
    from core.wardrobe import canvas_for

    torch.set_num_threads(1)
    _CANVAS = canvas_for(AnnyBody())


def _paint(seeds: list[int]) -> tuple[float, list[dict]]:
    """Paint the maps of `seeds`; return the painting time and per-avatar measurements."""
    from core.attribute_maps import OFFSET, OPACITY, RGB, to_uint8
    from core.wardrobe import paint, sample

    elapsed, rows = 0.0, []
    for seed in seeds:
        start = time.perf_counter()
        maps = paint(sample(seed), _CANVAS)
        elapsed += time.perf_counter() - start
        row = {"seed": seed}
        for name, m in maps.items():
            layer = _CANVAS.layers[name]
            opacity = m[OPACITY].reshape(-1)[layer.geometry.index]
            visible = opacity > 0.5
            row[f"{name}_coverage"] = float(visible.float().mean())
            if bool(visible.any()):
                rgb = m[RGB].reshape(3, -1)[:, layer.geometry.index][:, visible]
                row[f"{name}_rgb"] = [float(v) for v in rgb.mean(1)]
                offsets = m[OFFSET].reshape(-1)[layer.geometry.index][visible]
                row[f"{name}_offset_mm"] = 1000 * float(offsets.abs().mean())
        if seed % 10 == 0:  # compressed size on a sample: zlib is slower than painting
            packed = to_uint8(maps)
            row["uint8_bytes"] = sum(q.nbytes for q in packed.values())
            row["zlib_bytes"] = sum(len(zlib.compress(q.tobytes(), 6)) for q in packed.values())
        rows.append(row)
    return elapsed, rows


def _percentiles(values, unit: str = "", scale: float = 1.0) -> str:
    v = np.asarray(values, dtype=float) * scale
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    return f"p5 {p5:.2f}{unit}  median {p50:.2f}{unit}  p95 {p95:.2f}{unit}  std {v.std():.2f}{unit}"


def _hue_bins(colours, bins: int = 12) -> int:
    """How many of `bins` hue sectors the saturated colours fall in (colour spread beyond grey)."""
    import colorsys

    used = set()
    for rgb in colours:
        h, s, v = colorsys.rgb_to_hsv(*rgb)
        if s > 0.25 and v > 0.15:
            used.add(int(h * bins) % bins)
    return len(used)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args()

    from core.attribute_maps import MAP_RESOLUTION, NUM_CHANNELS
    from core.wardrobe.spec import (BOTTOM_KINDS, BOTTOM_PATTERNS, FACIAL_HAIR, HAIR_STYLES, NECKLINES, PATTERNS,
                                    SHOE_KINDS, TOP_KINDS)
    from core.wardrobe import sample

    seeds = list(range(args.count))
    start = time.perf_counter()
    specs = [sample(seed) for seed in seeds]
    sample_ms = 1000 * (time.perf_counter() - start) / args.count

    print(f"# Wardrobe statistics over {args.count} seeds\n")
    histograms = {
        "top": (TOP_KINDS, [s.top.kind for s in specs]),
        "neckline": (NECKLINES, [s.top.neckline for s in specs if s.top.kind in ("tank", "t-shirt", "long-sleeve")]),
        "top pattern": (PATTERNS, [s.top.fabric.pattern for s in specs if s.top.kind != "none"]),
        "bottom": (BOTTOM_KINDS, [s.bottom.kind for s in specs]),
        "bottom pattern": (BOTTOM_PATTERNS, [s.bottom.fabric.pattern for s in specs]),
        "hair": (HAIR_STYLES, [s.hair.style for s in specs]),
        "shoes": (SHOE_KINDS, [s.shoes.kind for s in specs]),
        "facial hair": (FACIAL_HAIR, [s.body.facial_hair for s in specs]),
    }
    report: dict = {"count": args.count, "histograms": {}}
    print("## Histograms (every type of every layer must occur)\n")
    missing = []
    for name, (kinds, values) in histograms.items():
        counts = Counter(values)
        report["histograms"][name] = {k: counts.get(k, 0) for k in kinds}
        missing += [f"{name}:{k}" for k in kinds if counts.get(k, 0) == 0]
        print(f"{name:15s} " + "  ".join(f"{k} {counts.get(k, 0)}" for k in kinds))
    extra = {"denim bottoms": sum(s.bottom.denim for s in specs), "dyed hair": sum(s.hair.dyed for s in specs),
             "belts": sum(s.bottom.belt is not None for s in specs), "open jackets":
             sum(s.top.kind == "jacket" and s.top.open_front for s in specs)}
    print("also           " + "  ".join(f"{k} {v}" for k, v in extra.items()))
    print("missing types: " + (", ".join(missing) if missing else "none"))

    ph = [s.body.phenotype for s in specs]
    print("\n## Bodies\n")
    print(f"sex            " + "  ".join(f"{k} {v}" for k, v in Counter(p.sex for p in ph).items()))
    for field in ("age_years", "height", "weight", "muscle", "gender"):
        print(f"{field:14s} {_percentiles([getattr(p, field) for p in ph])}")
    skin = [np.mean(s.body.skin) for s in specs]
    print(f"skin lightness {_percentiles(skin)}")

    with multiprocessing.get_context("spawn").Pool(args.workers, initializer=_init) as pool:
        pool.map(_paint, [[0]] * args.workers)  # warm up: every worker builds its canvas first
        start = time.perf_counter()
        chunks = [seeds[i::args.workers] for i in range(args.workers)]
        results = pool.map(_paint, chunks)
        wall = time.perf_counter() - start
    paint_seconds = sum(r[0] for r in results)
    rows = sorted((row for r in results for row in r[1]), key=lambda row: row["seed"])

    print("\n## Silhouettes and colours (from the maps)\n")
    for layer in ("top", "bottom", "hair", "shoes"):
        coverage = [row[f"{layer}_coverage"] for row in rows]
        colours = [row[f"{layer}_rgb"] for row in rows if f"{layer}_rgb" in row]
        offsets = [row[f"{layer}_offset_mm"] for row in rows if f"{layer}_offset_mm" in row]
        print(f"{layer:6s} chart coverage {_percentiles(coverage)}")
        print(f"{'':6s} lightness      {_percentiles([np.mean(c) for c in colours])}  hue sectors used "
              f"{_hue_bins(colours)}/12")
        print(f"{'':6s} mean |offset|  {_percentiles(offsets, ' mm')}")
        report[layer] = {"coverage_std": float(np.std(coverage)), "hue_sectors": _hue_bins(colours),
                         "lightness_std": float(np.std([np.mean(c) for c in colours]))}

    texels = sum(MAP_RESOLUTION[n] ** 2 for n in MAP_RESOLUTION)
    uint8 = [row["uint8_bytes"] for row in rows if "uint8_bytes" in row]
    packed = [row["zlib_bytes"] for row in rows if "zlib_bytes" in row]
    spec_bytes = [len(s.to_json().encode()) for s in specs]
    per_avatar_ms = 1000 * paint_seconds / args.count
    print("\n## Speed and size\n")
    print(f"spec sampling          {sample_ms:.2f} ms per avatar")
    print(f"painting maps          {per_avatar_ms:.1f} ms per avatar per worker (one torch thread)")
    print(f"{args.count} avatars' maps   {wall:.1f} s wall with {args.workers} worker(s)")
    print(f"spec as JSON           {np.mean(spec_bytes):.0f} bytes per avatar (regenerates the maps exactly)")
    print(f"maps float32           {4 * NUM_CHANNELS * texels / 1e6:.2f} MB per avatar")
    print(f"maps uint8             {np.mean(uint8) / 1e6:.2f} MB per avatar")
    print(f"maps uint8 + zlib      {np.mean(packed) / 1e6:.3f} MB per avatar (mean of {len(packed)})")
    report.update({"sample_ms": sample_ms, "paint_ms_per_avatar": per_avatar_ms, "wall_s": wall,
                   "workers": args.workers, "spec_bytes": float(np.mean(spec_bytes)),
                   "float32_bytes": 4 * NUM_CHANNELS * texels, "uint8_bytes": float(np.mean(uint8)),
                   "zlib_bytes": float(np.mean(packed)), "missing": missing})
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
