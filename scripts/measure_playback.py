"""Measure the studio live: motion playback pacing, pose-slider and shape-slider latency, reshape time.

    python scripts/measure_playback.py [--modes playback pose shape reshape] [--motion walk] [--seconds 10]

Each window mode runs the real studio window (under `xvfb-run -a` when there is no DISPLAY) in its
own process, through app.measure, and prints one JSON object per line:
- playback: a looped clip plays for --seconds after a warm-up: frame times (mean/median/p95),
  achieved display fps, and clip seconds played against wall seconds (speed_error_pct);
- pose / shape: a slider edit every frame (right shoulder raise / body height): edit-to-frame latency;
- reshape (no window): `Reshaper` re-evaluations of the default avatar, and the body's `rest()` alone.
Window modes also report the process's resident memory (rss_mb: sampled every second from
/proc/self/status: at the first measured frame's second, the largest, and the last), so a long
playback (`--modes playback --seconds 300`) shows whether memory stays flat.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WARP_LOG_LEVEL", "error")

WINDOW_MODES = ("playback", "pose", "shape")


def resident_mb() -> float:
    """This process's resident set size in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def run_window_mode(mode: str, motion: str, seconds: float, window: tuple[int, int]) -> dict:
    import threading

    from app.measure import measure_studio
    from app.studio import StudioOptions

    samples: list[tuple[float, float]] = []  # (time, MB)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append((time.perf_counter(), resident_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    options = StudioOptions(window_size=window, play=motion if mode == "playback" else None)
    result = measure_studio(options, mode, seconds=seconds)
    ended = time.perf_counter()
    stop.set()
    measured = [mb for t, mb in samples if t >= ended - seconds - 1.0] or [resident_mb()]
    result["rss_mb"] = {"first": round(measured[0]), "max": round(max(measured)), "last": round(measured[-1]),
                        "samples": len(measured)}
    return result


def measure_reshape(repeats: int = 10) -> dict:
    import numpy as np
    import torch

    from core.body import load_body
    from core.default_avatar import default_avatar
    from core.reshape import Reshaper

    torch.set_num_threads(1)  # as in the studio next to software GL
    body = load_body("anny", None, "neutral")
    avatar = default_avatar(body, seed=0)
    start = time.perf_counter()
    reshaper = Reshaper(avatar)
    bind_s = time.perf_counter() - start
    total, rest = [], []
    for i in range(repeats):
        shape = {"height": 0.3 + 0.04 * i, "weight": 0.6}
        start = time.perf_counter()
        reshaper(shape, {"jawOpen": 0.3})
        total.append(time.perf_counter() - start)
        start = time.perf_counter()
        body.rest(shape, {"jawOpen": 0.3})
        rest.append(time.perf_counter() - start)
    ms = lambda values: round(1e3 * float(np.median(values)), 1)  # noqa: E731
    return {"mode": "reshape", "gaussians": len(avatar.gaussians), "bind_ms": round(1e3 * bind_s, 1),
            "reshape_median_ms": ms(total), "body_rest_median_ms": ms(rest),
            "reshape_without_rest_median_ms": round(ms(total) - ms(rest), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=[*WINDOW_MODES, "reshape"],
                        choices=[*WINDOW_MODES, "reshape"])
    parser.add_argument("--motion", default="walk", help="motion for the playback mode (default walk)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per window mode (default 10)")
    parser.add_argument("--window-size", type=int, nargs=2, default=(1400, 860), metavar=("W", "H"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one window mode in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_window_mode(args.one, args.motion, args.seconds, tuple(args.window_size))), flush=True)
        return 0
    for mode in args.modes:
        if mode == "reshape":
            print(json.dumps(measure_reshape()), flush=True)
            continue
        command = [sys.executable, __file__, "--one", mode, "--motion", args.motion, "--seconds", str(args.seconds),
                   "--window-size", *map(str, args.window_size)]
        if not os.environ.get("DISPLAY"):
            if shutil.which("xvfb-run") is None:
                print(f"{mode}: needs a display or xvfb-run", file=sys.stderr)
                return 2
            command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *command]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or not lines:
            print(f"{mode} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
            return 1
        print(lines[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
