"""Time the editor's operations on this machine (docs/editor.md): live stroke steps, recolour, swaps,
picking, project save/load and harmonise. One torch thread, as the studio runs beside software GL.

    python scripts/bench_editor.py [--harmonise-iterations 60]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--harmonise-iterations", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from core.body.anny_body import AnnyBody
    from core.generator import Generator
    from editor.composition import AvatarSource, Composer, Composition, LayerChoice
    from editor.harmonise import harmonise
    from editor.paint import Brush, PaintLayers
    from editor.picking import pick, project
    from editor.project import Project, load_project, save_project
    from viewer.camera import OrbitCamera

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    body = AnnyBody()
    composer = Composer(body, Generator.load())
    base = Composition(AvatarSource("model", 1))
    t, _ = timed(lambda: composer.avatar(base))
    print(f"first avatar (sample + decode + build): {t:.2f} s")
    swapped = base.with_layer("top", LayerChoice.of(AvatarSource("model", 2)))
    t, _ = timed(lambda: composer.avatar(swapped))
    print(f"swap to a new source (sample + decode + assemble): {t:.2f} s")
    t, _ = timed(lambda: composer.avatar(base), 3)
    print(f"swap to a cached source (assemble only): {t * 1000:.0f} ms")
    t, _ = timed(lambda: composer.avatar(base.with_layer("hair", LayerChoice.remove())), 3)
    print(f"remove a layer: {t * 1000:.0f} ms")

    maps, _ = composer.maps(base)
    avatar = composer.avatar(base)
    paint = PaintLayers(body)
    target = paint.bind(avatar, maps)
    paint.surface("top"), paint.metres_per_uv("top")  # first-use caches (texel geometry), timed below
    camera = OrbitCamera()
    camera.frame(*(b.tolist() for b in avatar.bounds()), 1.0)
    brush = Brush((0.9, 0.2, 0.1), 0.02, 0.5)

    stroke = paint.begin_stroke("top", brush)
    moves = [(0.3 + 0.004 * i, 0.5) for i in range(60)]  # mouse moves of ~1.5 texels
    step_times, recolor_times = [], []
    for p in moves:
        t, _ = timed(lambda: stroke.add_uv([p]))
        step_times.append(t)
        t, _ = timed(target.recolor)
        recolor_times.append(t)
    stroke.end()
    print(f"UV stroke, per mouse move: {statistics.median(step_times) * 1000:.1f} ms; "
          f"recolor after it: {statistics.median(recolor_times) * 1000:.2f} ms")

    g = avatar.gaussians
    top = torch.nonzero(g.layers == 1)[:, 0]
    front = top[torch.argsort(g.means[top, 2], descending=True)[:200]]
    centre, _, _ = project(camera, 800, 800, g)
    pick_times, surface_times, recolor_times = [], [], []
    stroke = paint.begin_stroke("top", brush)
    for i in front[:40].tolist():
        t, hit = timed(lambda: pick(camera, 800, 800, g, *centre[i].tolist()))
        pick_times.append(t)
        if hit is None or hit.layer != "top":
            continue
        t, _ = timed(lambda: stroke.add_surface([hit.canonical]))
        surface_times.append(t)
        t, _ = timed(target.recolor)
        recolor_times.append(t)
    record = stroke.end()
    print(f"viewport stroke, per mouse move: pick {statistics.median(pick_times) * 1000:.1f} ms + "
          f"stroke {statistics.median(surface_times) * 1000:.1f} ms + "
          f"recolor {statistics.median(recolor_times) * 1000:.2f} ms")
    t, _ = timed(lambda: (record.undo(), target.recolor()), 5)
    print(f"undo of a stroke + recolor: {t * 1000:.1f} ms")
    t, _ = timed(lambda: target.recolor(everything=True), 3)
    print(f"recolor of every Gaussian ({len(g)}): {t * 1000:.1f} ms")

    with tempfile.TemporaryDirectory() as folder:
        proj = Project(base, latents={base.base: composer.latent(base, base.base)}, paint=paint.to_arrays())
        t, path = timed(lambda: save_project(Path(folder) / "p.avs", proj), 3)
        print(f"save project: {t * 1000:.0f} ms ({path.stat().st_size / 1e6:.2f} MB); ", end="")
        t, _ = timed(lambda: load_project(path), 3)
        print(f"load: {t * 1000:.0f} ms")

    paint.stroke_uv("top", [(0.2, 0.5), (0.8, 0.5)], Brush((0.1, 0.7, 0.2), 0.1, 0.8))
    result = harmonise(composer.generator, composer.latent(base, base.base), paint, "top",
                       iterations=args.harmonise_iterations)
    print(f"harmonise ({result.iterations} iterations): {result.seconds:.1f} s, mean colour error inside the mask "
          f"{result.error_before:.3f} -> {result.error_after:.3f}, drift outside {result.drift_outside:.3f}")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
