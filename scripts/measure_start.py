"""First start vs second start of `avatar-studio render`, with a fresh Anny cache.

The first start builds Anny's model data (1-2 minutes); every later start loads it from the
cache. Prints both wall times and their ratio. Usage: python scripts/measure_start.py
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
    with tempfile.TemporaryDirectory() as cache:
        out = os.path.join(cache, "start.png")
        first = timed_render(cache, out)
        second = timed_render(cache, out)
    print(f"first start (builds the Anny cache): {first:6.1f} s")
    print(f"second start (cached):               {second:6.1f} s")
    print(f"ratio: {first / second:.1f}x")


if __name__ == "__main__":
    main()
