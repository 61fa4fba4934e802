"""Measure the live studio: playback frame pacing, and edit-to-frame latency of pose and shape sliders.

Used by scripts/measure_playback.py; nothing in the studio's menus reaches it. It runs the real
window (the same loop, renderer and panels), through the studio's two frame hooks:
- "playback": plays a motion (looped, in place) and records every frame after a warm-up: frame
  times, and the clip seconds played against the wall clock (they should agree within 1%);
- "pose": each frame sets the right shoulder's raise slider to a new value, as a drag does, and
  records the time from that edit to the end of the frame that shows it;
- "shape": the same with the body's height (a re-evaluation of the whole avatar per frame).
Every mode also reports `startup_s`: the process's age at the end of the first frame that shows the
avatar (start-up to first frame, Linux).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time

import dearpygui.dearpygui as dpg
import numpy as np

from app.pose_state import Z
from app.studio import Studio, StudioOptions

MODES = ("playback", "pose", "shape")


@dataclasses.dataclass
class FrameLog:
    frame_s: list[float] = dataclasses.field(default_factory=list)  # start to end of each frame
    ends: list[float] = dataclasses.field(default_factory=list)  # wall clock at each frame's end
    played: list[float] = dataclasses.field(default_factory=list)  # clip seconds played, at each frame's start
    starts: list[float] = dataclasses.field(default_factory=list)
    latency_s: list[float] = dataclasses.field(default_factory=list)  # edit -> end of the frame showing it


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc; None elsewhere), to 10 ms."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            return float(uptime.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _stats_ms(values: list[float]) -> dict[str, float]:
    a = 1e3 * np.asarray(values)
    return {"mean": round(float(a.mean()), 1), "median": round(float(np.median(a)), 1),
            "p95": round(float(np.percentile(a, 95)), 1), "max": round(float(a.max()), 1)}


def measure_studio(options: StudioOptions, mode: str, seconds: float = 10.0, warmup_s: float = 2.0) -> dict:
    """Run the studio window, measure `mode` for `seconds` after `warmup_s`, close it, return the figures."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "playback" and options.play is None:
        options = dataclasses.replace(options, play="walk")
    log = FrameLog()
    phase = {"ready_at": None, "edit_at": None, "count": 0, "startup_s": None}
    dpg.create_context()
    studio = Studio(options)

    def ready() -> bool:
        state = studio.state
        if state.avatar is None or studio.runner.status() is not None:
            return False
        return mode != "playback" or state.timeline.playing

    def before_frame() -> None:
        if phase["ready_at"] is None or mode == "playback":
            return
        phase["count"] += 1
        wave = math.sin(phase["count"] * 0.7)
        phase["edit_at"] = time.perf_counter()
        if mode == "pose":
            studio.set_joint_angle("right_shoulder", Z, 40.0 * wave)
        else:
            studio.set_shape("height", 0.5 + 0.25 * wave)

    def after_frame(start: float, end: float) -> bool:
        if phase["startup_s"] is None and studio.state.gaussians is not None:
            phase["startup_s"] = process_age_s()
        if phase["ready_at"] is None:
            if ready():
                phase["ready_at"] = end
                if mode == "playback":
                    studio.state.set_loop(True)
            return False
        if end - phase["ready_at"] < warmup_s:
            return False
        log.frame_s.append(end - start)
        log.ends.append(end)
        log.starts.append(start)
        log.played.append(studio.state.timeline.played_s)
        if phase["edit_at"] is not None:
            log.latency_s.append(end - phase["edit_at"])
        return end - phase["ready_at"] >= warmup_s + seconds

    studio.before_frame, studio.after_frame = before_frame, after_frame
    try:
        studio.run()
    finally:
        studio.close()
        dpg.destroy_context()
    if len(log.ends) < 3:
        raise RuntimeError(f"only {len(log.ends)} frames were measured")
    wall = log.ends[-1] - log.ends[0]
    report = {"mode": mode, "frames": len(log.ends), "seconds": round(wall, 2),
              "display_fps": round((len(log.ends) - 1) / wall, 2), "frame_ms": _stats_ms(log.frame_s[1:]),
              "render_ms": round(studio.viewport.last_render_ms or 0.0, 1), "renderer": studio.renderer_name,
              "viewport_px": list(studio.state.viewport_size), "gaussians": len(studio.state.gaussians),
              "startup_s": None if phase["startup_s"] is None else round(phase["startup_s"], 2)}
    if mode == "playback":
        clip = studio.state.timeline.clip
        played = log.played[-1] - log.played[0]
        clock = log.starts[-1] - log.starts[0]
        report.update({"motion": clip.name, "clip_fps": clip.fps, "played_s": round(played, 3),
                       "wall_s": round(clock, 3), "speed_error_pct": round(100 * (played / clock - 1), 3)})
    else:
        report["edit_to_frame_ms"] = _stats_ms(log.latency_s)
    return report
