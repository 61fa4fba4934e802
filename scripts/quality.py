"""Sample quality of a generator checkpoint: k-NN precision and recall and the four-layer validity rate.

    python scripts/quality.py [--checkpoint DIR] [--count 500] [--cache DIR] [--json OUT.json]
    python scripts/quality.py --speed       # seconds from a seed to an avatar on this CPU
    python scripts/quality.py --interp A B [A2 B2 ...] [--strip PNG]   # interpolation smoothness, strip
    python scripts/quality.py --sheet PNG [--count 12]  # a contact sheet of samples, seeds 0..count-1

Precision and recall (Kynkaanniemi et al. 2019, k = 3): each set's manifold is the union of balls around
its points reaching their k-th nearest neighbour; precision is the share of generated avatars inside the
real manifold, recall the share of real avatars inside the generated one. Real = `count` held-out wardrobe
avatars, seeds HELD_OUT_SEED.. (never trained on: training uses seeds 0..N-1 with N in the thousands).

Feature space: the attribute maps themselves, coarsened. Every avatar's maps share one UV layout, so a map
texel means the same body spot for every avatar and maps compare texel by texel, which natural images need
a learned embedding (the paper's VGG-16) for; no pretrained network is needed, or fits this domain.
Per layer, the maps are area-averaged to 16 x 16 and give opacity and opacity-premultiplied colour (what
is worn where, and in which colour: a 2-3 cm patch on the body), and the six body-shape parameters are added,
scaled by 4 so that a full change of one (0 -> 1) weighs like a garment block changing colour. Fine texture
and texel noise are deliberately left out; a blotchy, mixed-up garment is not: it moves the block colours.

Four-layer validity: a sample has four plausible layers when each of top, bottom, hair and shoes is
plausible: its coverage (share of chart texels with opacity > 0.5) lies within the 0.5..99.5 percentile range
of the held-out avatars' and its semi-transparent share (texels with 0.1 < opacity < 0.9, per covered
texel) is at most the held-out 99.5th percentile. A layer the wardrobe may leave off (no top, bald) may be
absent, since the held-out range then reaches zero coverage; a ghostly half-present layer is not plausible.

The same numbers for `count` real training avatars (seeds 0..count-1) against the held-out ones give the
metric's ceiling: two samples of the same distribution do not score 1.0 with 500 points.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.generator import Generator  # noqa: E402
from core.generator.dataset import LAYERS, build_training_set, load_training_set  # noqa: E402
from core.generator.training import dequantize  # noqa: E402

HELD_OUT_SEED = 1_000_000
K = 3
GRID = 16
SHAPE_WEIGHT = 4.0
GARMENTS = ("top", "bottom", "hair", "shoes")


def features(maps: torch.Tensor, shapes: torch.Tensor) -> torch.Tensor:
    """(N, L, 9, R, R) maps and (N, S) shapes -> (N, D) features (see the module docstring)."""
    n, layers = maps.shape[:2]
    opacity = maps[:, :, 0:1]
    blocks = torch.cat([opacity, opacity * maps[:, :, 1:4]], 2).reshape(n * layers, 4, *maps.shape[3:])
    coarse = F.adaptive_avg_pool2d(blocks, GRID).reshape(n, -1)
    return torch.cat([coarse, SHAPE_WEIGHT * shapes], 1)


def layer_stats(maps: torch.Tensor, masks: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per avatar and garment layer: coverage and semi-transparent share, (N, 4) each."""
    coverage, ghost = [], []
    for name in GARMENTS:
        i = LAYERS.index(name)
        m = masks[i]
        o = maps[:, i, 0][:, m]
        c = (o > 0.5).float().mean(1)
        coverage.append(c)
        ghost.append(((o > 0.1) & (o < 0.9)).float().mean(1) / c.clamp_min(0.01))
    return torch.stack(coverage, 1).numpy(), torch.stack(ghost, 1).numpy()


def knn_radii(x: torch.Tensor) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(K + 1, dim=1).values  # +1: the point itself is at distance 0


def precision_recall(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    """k-NN precision and recall (Kynkaanniemi et al. 2019)."""
    real_r, fake_r = knn_radii(real), knn_radii(fake)
    d = torch.cdist(fake, real)  # (fake, real)
    precision = (d <= real_r[None]).any(1).float().mean().item()
    recall = (d.T <= fake_r[None]).any(1).float().mean().item()
    return precision, recall


def validity(coverage: np.ndarray, ghost: np.ndarray, ref_cov: np.ndarray, ref_ghost: np.ndarray) -> dict:
    lo, hi = np.percentile(ref_cov, 0.5, axis=0), np.percentile(ref_cov, 99.5, axis=0)
    ghost_hi = np.percentile(ref_ghost, 99.5, axis=0)
    ok = (coverage >= lo) & (coverage <= hi) & (ghost <= ghost_hi)
    return {"four_layers": float(ok.all(1).mean()), **{name: float(ok[:, j].mean()) for j, name in enumerate(GARMENTS)}}


def summarize(maps: torch.Tensor, shapes: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Features, coverage and semi-transparent share of a chunk of avatars.

    Texels off the charts are zeroed first: no Gaussian reads them, the wardrobe leaves them 0 and a
    decoder writes whatever there, which would otherwise dominate the distances.
    """
    return (features(maps * masks[None, :, None], shapes), *layer_stats(maps, masks))


def real_set(cache: Path, name: str, seeds: range, workers: int, chunk: int = 50, reference_body: Path | None = None):
    """Summaries of wardrobe avatars `seeds` (painted once into `cache`), and the layers' chart masks.

    reference_body: a file from `dataset.save_reference_body`, for machines without Anny (a GPU box)."""
    folder = cache / name
    if not (folder / "info.json").is_file():
        if reference_body is not None:
            from core.generator.dataset import load_reference_body

            body = load_reference_body(reference_body)
        else:
            from core.body import load_body

            body = load_body("anny")
        print(f"painting {len(seeds)} wardrobe avatars ({name})", file=sys.stderr)
        build_training_set(body, seeds, 256, folder, workers)
    data = load_training_set(folder)
    masks = torch.from_numpy(data.masks)
    parts = [summarize(dequantize(torch.from_numpy(np.array(data.maps[i:i + chunk]))),
                       torch.from_numpy(data.shapes[i:i + chunk]), masks) for i in range(0, len(data), chunk)]
    return _join(parts), masks


def generated_set(generator: Generator, count: int, steps: int | None, masks: torch.Tensor, batch: int = 25):
    """Summaries of the generator's samples for seeds 0..count-1."""
    parts = []
    for start in range(0, count, batch):
        seeds = list(range(start, min(count, start + batch)))
        decoded = generator.decode(generator.sample(seeds, steps=steps))
        maps = torch.stack([torch.stack([d.maps[n] for n in LAYERS]) for d in decoded])
        shapes = torch.tensor([[d.shape[n] for n in generator.config.shape_names] for d in decoded])
        parts.append(summarize(maps, shapes, masks))
        print(f"\rsampled {start + len(seeds)}/{count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return _join(parts)


def _join(parts):
    return torch.cat([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])


def speed(generator: Generator, repeats: int = 3) -> dict:
    """Seconds from a seed to a built avatar (sample at default steps, decode, Gaussians on the decoded
    shape) on this CPU, per torch thread count: the median and the best of `repeats` seeds. The shape
    differs per seed, so each build includes the body's rest mesh and templates for it."""
    from core.body import load_body

    body = load_body("anny")
    generator.avatar_from_latent(generator.sample(0, steps=1), body)  # first-use caches (reference charts)
    result = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        times = []
        for seed in range(1, repeats + 1):
            started = time.perf_counter()
            generator.avatar_from_latent(generator.sample(seed), body, seed=seed)
            times.append(time.perf_counter() - started)
        result[f"{threads}_threads"] = {"median_s": round(float(np.median(times)), 2), "best_s": round(min(times), 2)}
    return result


def interpolation_smoothness(generator: Generator, pairs: list[tuple[int, int]], points: int = 9) -> dict:
    """Noise slerp + resampling against a plain lerp of the two latents, on a grid of `points` t values.

    step: mean change of the decoded maps (opacity and colour over the charts) between neighbouring t;
    pop = largest step / mean step along a path (1 = even change, large = a jump); ghost = share of the
    garment layers' texels that are semi-transparent (0.1 < opacity < 0.9) at t = 0.5, i.e. a half-present layer.
    """
    ts = [i / (points - 1) for i in range(points)]
    out = {"noise_slerp": {"pop": [], "ghost": []}, "latent_lerp": {"pop": [], "ghost": []}}
    for a, b in pairs:
        za, zb = generator.sample(a), generator.sample(b)
        paths = {"noise_slerp": generator.interpolate(a, b, ts),
                 "latent_lerp": torch.stack([(1 - t) * za + t * zb for t in ts])}
        for name, latents in paths.items():
            decoded = generator.decode(latents)
            maps = torch.stack([torch.cat([d.maps[n][:4] for n in LAYERS]) for d in decoded])
            steps = (maps[1:] - maps[:-1]).abs().mean(dim=(1, 2, 3))
            out[name]["pop"].append(float(steps.max() / steps.mean()))
            mid = decoded[points // 2].maps
            o = torch.cat([mid[n][0].flatten() for n in GARMENTS])
            out[name]["ghost"].append(float(((o > 0.1) & (o < 0.9)).float().mean()))
    return {name: {k: round(float(np.mean(v)), 3) for k, v in d.items()} | {"worst_pop": round(max(d["pop"]), 3)}
            for name, d in out.items()}


def strip(generator: Generator, a: int, b: int, path: Path, ts=(0.0, 0.25, 0.5, 0.75, 1.0), size=(192, 384)) -> None:
    """A front-view PNG of the interpolation from seed a to seed b at `ts` (relaxed pose, one framing)."""
    import imageio.v3 as iio

    from core.body import load_body
    from core.pose import Pose
    from viewer.camera import OrbitCamera
    from viewer.gl_renderer import GLSplatRenderer

    body, renderer = load_body("anny"), GLSplatRenderer()
    latents = generator.interpolate(a, b, list(ts))
    cells = []
    for latent in latents:
        g = generator.avatar_from_latent(latent, body).posed(Pose.preset("relaxed"))
        camera = OrbitCamera()
        camera.frame([-0.45, 0.0, -0.12], [0.45, 1.9, 0.12], size[0] / size[1])
        renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
        cells.append(renderer.render(camera, *size, background=(0.16, 0.16, 0.18, 1.0)))
    iio.imwrite(path, np.concatenate(cells, 1))


def sheet(generator: Generator, count: int, path: Path) -> None:
    """Samples 0..count-1 as one contact sheet (the wardrobe's framing, seed numbers below)."""
    import imageio.v3 as iio

    from core.body import load_body
    from core.wardrobe.sheet import contact_sheet
    from viewer.camera import OrbitCamera
    from viewer.gl_renderer import GLSplatRenderer

    body, renderer = load_body("anny"), GLSplatRenderer()

    def render(g, lo, hi, width, height):
        camera = OrbitCamera()
        camera.frame(lo, hi, width / height)
        renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
        return renderer.render(camera, width, height, background=(0.16, 0.16, 0.18, 1.0))

    latents = generator.sample(list(range(count)))
    image = contact_sheet(body, range(count), render, cell=(192, 384),
                          avatar_for=lambda seed: generator.avatar_from_latent(latents[seed], body, seed=seed))
    iio.imwrite(path, image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="generator checkpoint folder (default: the shipped one)")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--steps", type=int, help="DDIM steps (default: the checkpoint's)")
    parser.add_argument("--noise-scale", type=float, help="scale of the starting noise (default: the checkpoint's "
                        "diffusion.noise_scale; core/generator/diffusion.py says why)")
    parser.add_argument("--cache", type=Path, default=Path("out/quality"), help="where the real sets are kept")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="where to sample (cuda on a GPU box)")
    parser.add_argument("--reference-body", type=Path, help="paint the real sets on this saved reference body "
                        "(scripts/gpu_train.sh prepare) instead of building Anny")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--speed", action="store_true", help="only time seed -> avatar on this CPU")
    parser.add_argument("--interp", type=int, nargs="+", metavar="SEED",
                        help="only compare interpolation methods on these seed pairs (A1 B1 A2 B2 ...)")
    parser.add_argument("--sheet", type=Path, metavar="PNG", help="only render samples 0..count-1 as a contact sheet")
    parser.add_argument("--strip", type=Path, metavar="PNG", help="with --interp A B: render the t = 0..1 strip here")
    args = parser.parse_args()
    started = time.perf_counter()
    generator = Generator.load(args.checkpoint, device=args.device)
    if args.noise_scale is not None:
        diffusion = dataclasses.replace(generator.config.diffusion, noise_scale=args.noise_scale)
        generator.config = dataclasses.replace(generator.config, diffusion=diffusion)
    if args.speed:
        import os

        print(json.dumps({**speed(generator), "load_average": os.getloadavg()}, indent=1))
        return 0
    if args.sheet:
        sheet(generator, args.count, args.sheet)
        return 0
    if args.interp:
        pairs = list(zip(args.interp[::2], args.interp[1::2]))
        if args.strip:
            strip(generator, *pairs[0], args.strip)
        print(json.dumps({"pairs": pairs, **interpolation_smoothness(generator, pairs)}, indent=1))
        return 0
    held, masks = real_set(args.cache, "held_out", range(HELD_OUT_SEED, HELD_OUT_SEED + args.count), args.workers,
                           reference_body=args.reference_body)
    train, _ = real_set(args.cache, "train", range(args.count), args.workers, reference_body=args.reference_body)
    fake = generated_set(generator, args.count, args.steps, masks)
    result = {"count": args.count, "k": K, "held_out_seeds": [HELD_OUT_SEED, HELD_OUT_SEED + args.count - 1],
              "steps": args.steps or generator.config.diffusion.sample_steps,
              "noise_scale": generator.config.diffusion.noise_scale}
    for name, (f, coverage, ghost) in {"generated": fake, "training_avatars": train}.items():
        p, r = precision_recall(held[0], f)
        result[name] = {"precision": round(p, 3), "recall": round(r, 3),
                        "validity": {k: round(v, 3) for k, v in validity(coverage, ghost, held[1], held[2]).items()}}
    result["seconds"] = round(time.perf_counter() - started)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
