"""The timeline: which motion clip is loaded, where the playhead is, and playback against the wall clock.

Playback time comes from the wall clock, not from counting frames: while playing, the playhead is
`anchor_time + (now - anchor_wall) * speed`, re-anchored whenever play, speed or position change.
The studio then shows `clip.pose_at(playhead)`, so a clip plays at its own speed whatever its
frame rate and however fast the window draws (frames are resampled to the display rate; a slow
frame shows a later pose, never a late one).

Positions: frame k of a clip shows at k / fps. Without loop the playhead runs from frame 0 to the
last frame and stops there; with loop it wraps at the clip's duration (N / fps), the last frame
blending back into the first (as `MotionClip.pose_at(loop=True)` does).

Nothing here imports torch or Dear PyGui; the clip is only named for type checking.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.motion import MotionClip

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0)


def format_time(seconds: float) -> str:
    """mm:ss.ff (hundredths of a second), e.g. 01:02.35."""
    hundredths = int(math.floor(max(0.0, seconds) * 100 + 1e-6))
    minutes, rest = divmod(hundredths, 6000)
    return f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


@dataclasses.dataclass
class Timeline:
    clip: MotionClip | None = None
    time_s: float = 0.0  # the playhead, 0 .. end_s
    playing: bool = False
    loop: bool = True
    speed: float = 1.0
    played_s: float = 0.0  # clip seconds played since the last load, across loops (for pacing checks)
    _anchor_wall: float = 0.0  # wall clock (s) when the playhead was last anchored
    _anchor_time: float = 0.0  # playhead then
    _anchor_played: float = 0.0

    @property
    def loaded(self) -> bool:
        return self.clip is not None

    @property
    def num_frames(self) -> int:
        return 0 if self.clip is None else self.clip.num_frames

    @property
    def fps(self) -> float:
        return 0.0 if self.clip is None else float(self.clip.fps)

    @property
    def end_s(self) -> float:
        """Where the playhead stops (no loop: the last frame) or wraps (loop: the clip's duration)."""
        if self.clip is None:
            return 0.0
        return self.clip.duration if self.loop else (self.clip.num_frames - 1) / self.clip.fps

    @property
    def last_frame_s(self) -> float:
        return 0.0 if self.clip is None else (self.clip.num_frames - 1) / self.clip.fps

    @property
    def frame(self) -> int:
        """The frame at or just before the playhead (the one the counter shows)."""
        if self.clip is None:
            return 0
        return min(int(math.floor(self.time_s * self.clip.fps + 1e-6)), self.clip.num_frames - 1)

    def load(self, clip: MotionClip, now: float, play: bool = True) -> None:
        """Put a clip on the timeline at frame 0 (playing, unless told not to)."""
        self.clip, self.time_s, self.played_s = clip, 0.0, 0.0
        self.playing = play
        self._anchor(now)

    def unload(self) -> None:
        self.clip, self.time_s, self.playing, self.played_s = None, 0.0, False, 0.0

    def play(self, now: float) -> None:
        """Start playing; from the end of a clip that does not loop, start over."""
        if self.clip is None:
            return
        if not self.loop and self.time_s >= self.last_frame_s:
            self.time_s = 0.0
        self.playing = True
        self._anchor(now)

    def pause(self, now: float) -> None:
        self.tick(now)
        self.playing = False

    def hold(self) -> None:
        """Stop where the playhead was last shown (no advance to the clock): editing that frame."""
        self.playing = False

    def toggle(self, now: float) -> None:
        if self.playing:
            self.pause(now)
        else:
            self.play(now)

    def set_speed(self, speed: float, now: float) -> None:
        self.tick(now)
        self.speed = float(speed)
        self._anchor(now)

    def set_loop(self, loop: bool, now: float) -> None:
        self.tick(now)
        self.loop = bool(loop)
        self.time_s = min(self.time_s, self.end_s)
        self._anchor(now)

    def seek(self, time_s: float, now: float) -> None:
        """Move the playhead (clamped to the clip); playback, if on, continues from there."""
        self.time_s = min(max(0.0, float(time_s)), self.last_frame_s)
        self._anchor(now)

    def seek_frame(self, k: int, now: float) -> None:
        if self.clip is not None:
            self.seek(min(max(0, int(k)), self.clip.num_frames - 1) / self.clip.fps, now)

    def step(self, frames: int, now: float) -> None:
        """Pause and move by whole frames; with loop, stepping past either end wraps around."""
        if self.clip is None:
            return
        self.pause(now)
        n = self.clip.num_frames
        k = self.frame + int(frames)
        self.seek_frame(k % n if self.loop else k, now)

    def tick(self, now: float) -> bool:
        """Advance a playing playhead to wall-clock time `now`; True when it moved."""
        if self.clip is None or not self.playing:
            return False
        elapsed = (now - self._anchor_wall) * self.speed
        before = self.time_s
        time_s = self._anchor_time + elapsed
        if self.loop:
            self.time_s = time_s % self.clip.duration
        elif time_s >= self.last_frame_s:
            self.time_s, self.playing = self.last_frame_s, False
            elapsed = self.last_frame_s - self._anchor_time
        else:
            self.time_s = time_s
        self.played_s = self._anchor_played + elapsed
        return self.time_s != before

    def _anchor(self, now: float) -> None:
        self._anchor_wall, self._anchor_time, self._anchor_played = now, self.time_s, self.played_s
