"""First start vs second start of `avatar-studio render`, with a fresh Anny cache.

The first start builds Anny's model data (1-2 minutes); every later start loads it from the
cache. Prints both wall times and their ratio. Usage: python scripts/measure_start.py
`--warm N`: only warm starts, N of them, on the user's own cache (it must exist: run any command
once), with the median: the "start-up to first frame" figure of issue 8.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_render(cache: str, out: str) -> float:
    env = {**os.environ, "ANNY_CACHE_DIR": cache}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "render", "--size", "256", "256", "--out", out],
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    import argparse
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, metavar="N", help="time N warm starts on the existing cache only")
    args = parser.parse_args()
    if args.warm:
        with tempfile.TemporaryDirectory() as folder:
            out = os.path.join(folder, "start.png")
            env_cache = os.environ.get("ANNY_CACHE_DIR")
            times = []
            for _ in range(args.warm):
                start = time.perf_counter()
                subprocess.run([sys.executable, str(ROOT / "main.py"), "render", "--size", "256", "256", "--out", out],
                               env=dict(os.environ, **({"ANNY_CACHE_DIR": env_cache} if env_cache else {})),
                               check=True, capture_output=True)
                times.append(time.perf_counter() - start)
        print("warm starts:", " ".join(f"{t:.2f} s" for t in times), f"median {statistics.median(times):.2f} s")
        return
    with tempfile.TemporaryDirectory() as cache:
        out = os.path.join(cache, "start.png")
        first = timed_render(cache, out)
        second = timed_render(cache, out)
    print(f"first start (builds the Anny cache): {first:6.1f} s")
    print(f"second start (cached):               {second:6.1f} s")
    print(f"ratio: {first / second:.1f}x")


if __name__ == "__main__":
    main()
