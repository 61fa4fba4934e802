"""The studio window: its options, the startup checks, the actions behind every control, the main loop.

Startup order, and why:
1. Checks that need no window: a display, and the body model. Every body except Anny is loaded
   here (SMPL-X reads the user's files in about a second), so a wrong --body or a missing
   --body-dir ends as one line and exit code 2 before any window opens. Anny has nothing to check
   up front and its build is the slow step (1-2 min on a first start, seconds later), so it runs
   in the background task that builds the first avatar.
2. The window; then moderngl attaches to Dear PyGui's OpenGL context (see app.viewport).
3. The first avatar loads in the background while the viewport shows its progress: from the
   trained generator when it is installed, else from the wardrobe (app.generate); a motion asked
   for with --play loads after it (one background task at a time) and starts playing.

Modules that load torch (core.body, core.wardrobe, core.generator, core.pose, core.ply, viewer.gl_renderer)
are imported where they are first used, inside the background tasks: the worker pays the seconds
torch takes to import, and the window opens in about half a second.

All actions (menus, panels, shortcuts, the viewport's mouse) run on the main thread: Dear PyGui
callbacks are queued (manual callback management) and run by the loop, so GL and widget calls
never race. Only task functions run in the worker, and they touch neither Dear PyGui nor its GL
context (exports that render make their own EGL context in the worker: see app.export).

Each frame: queued callbacks (slider moves only mark the pose or shape stale), task results,
shortcuts, scrubbing, then playback advances to the wall clock and `StudioState.refresh` re-poses
(and reshapes) at most once, then the viewport renders: a slider drag shows in the same frame.
"""
from __future__ import annotations

import dataclasses
import os
import random
import sys
import time
import traceback
from inspect import signature
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import dearpygui.dearpygui as dpg
import imageio.v3 as iio
import moderngl
import numpy as np

from app.export import blocker, default_name, prepare
from app.edit_actions import EditActions
from app.generate import MODEL, SOURCE_LABELS, WARDROBE, Built, build_composition, gallery_source, load_generator
from app.generate_panel import THUMB_SIZE
from app.panels import Widgets, build_window, update_panels, update_status_bar
from app.state import MAX_SEED, StudioState
from app.tasks import TaskContext, TaskFailure, TaskRunner, one_line
from app.theme import Themes, apply_theme
from app.timeline_panel import NO_MOTION, poll_scrub
from app.paint_panel import ViewportPainter
from app.viewport import Viewport, renderer_name
from core.atomic import atomic_write
from core.errors import AvatarStudioError

if TYPE_CHECKING:
    from core.avatar import Avatar
    from core.body.base import BodyModel
    from core.reshape import Reshaper

FIRST_LOAD_TIMEOUT_S = 600.0
SCREENSHOT_GRACE_FRAMES = 30  # frames to wait for Dear PyGui to hand over the frame buffer
MAX_FPS = 60.0
# With no input for IDLE_AFTER_S the window only redraws progress and the clock. A frame of this
# window costs ~40-80 ms of CPU under llvmpipe whatever it shows, so idling at 4 fps keeps about
# two thirds of a core free for background work, at the price of up to 0.25 s to wake up.
IDLE_FPS = 4.0
IDLE_AFTER_S = 1.0
FPS_SMOOTHING = 0.1  # weight of the newest frame in the moving average
MIN_WINDOW_SIZE = (900, 560)  # the side column plus a usable viewport
# core.motion.BUILTIN_MOTIONS, named here so the menus can be built before torch loads (a test keeps
# the two equal).
BUILTIN_MOTIONS = ("idle", "walk", "wave", "turn", "jump")
PLAYBACK_FPS_SMOOTHING = 0.1


@dataclasses.dataclass
class StudioOptions:
    seed: int = 0
    body: str = "anny"
    body_dir: Path | None = None
    gender: str = "neutral"
    screenshot: Path | None = None  # save a PNG of the window once the avatar shows, then exit
    frames: int = 30  # frames to run after the first avatar shows, before the screenshot
    window_size: tuple[int, int] = (1400, 860)
    play: str | None = None  # a motion (file or built-in name) to open and play once the avatar shows
    project: str | None = None  # a project file (.avs, editor.project) to open instead of --seed


def run_studio(options: StudioOptions) -> int:
    """Open the studio and run it until the window closes (or the screenshot is written); 0 on success.

    Problems the user can fix raise AvatarStudioError (one line, exit 2 in main.py).
    """
    if options.frames < 0:
        raise AvatarStudioError(f"--frames {options.frames}: must be 0 or more")
    width, height = options.window_size
    if width < MIN_WINDOW_SIZE[0] or height < MIN_WINDOW_SIZE[1]:
        raise AvatarStudioError(f"--window-size {width} {height}: the studio needs at least "
                                f"{MIN_WINDOW_SIZE[0]} x {MIN_WINDOW_SIZE[1]}")
    body = None
    if options.body != "anny":
        from core.body import load_body

        body = load_body(options.body, options.body_dir, options.gender)
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise AvatarStudioError(
            "no display for the studio window (DISPLAY is not set): run it on a desktop or under "
            "`xvfb-run -a`, or use `avatar-studio render` for images without a window"
        )

    dpg.create_context()
    studio = Studio(options, body)
    try:
        return studio.run()
    finally:
        studio.close()
        dpg.destroy_context()


class Studio(EditActions):
    """The actions every control calls, and the main loop that runs them (editing actions: app.edit)."""

    def __init__(self, options: StudioOptions, body: BodyModel | None = None) -> None:
        self.options = options
        self.state = StudioState(body_name=options.body, seed=options.seed, body=body)
        self.runner = TaskRunner()
        self.ellipsis = "..."
        self.arrow = "->"
        self.quit_requested = False
        self.failure: TaskFailure | None = None  # the last task failure, for --screenshot's exit
        self.viewport: Viewport | None = None  # the window's parts, made by run()
        self.widgets: Widgets | None = None
        self.themes: Themes | None = None
        self.renderer_name = ""
        self._fps: float | None = None
        self._idle = False
        self._last_activity = time.perf_counter()
        self._last_mouse = (0.0, 0.0)
        self._frames_shown = 0
        self._screenshot_saved = False
        self._startup_motion = options.play
        self._playback_fps: float | None = None
        self._last_playback_frame: float | None = None
        self._interpolation_pending = False  # the A <-> B slider moved while an interpolation ran
        # Measurement hooks (app.measure): `before_frame()` runs first in each frame; `after_frame(start,
        # end)` after it is drawn and returns True to stop the loop.
        self.before_frame: Callable[[], None] | None = None
        self.after_frame: Callable[[float, float], bool] | None = None
        self.init_editing()

    @property
    def body_label(self) -> str:
        if self.options.body == "anny":
            return "Anny (NAVER Labs, Apache-2.0): free, no registration."
        if self.options.body == "smplx":
            return f"SMPL-X ({self.options.gender}) from {self.options.body_dir}."
        return self.options.body

    # -- window --------------------------------------------------------------------------------

    def run(self) -> int:
        width, height = self.options.window_size
        dpg.configure_app(manual_callback_management=True)
        dpg.create_viewport(title="avatar-studio", width=width, height=height,
                            min_width=MIN_WINDOW_SIZE[0], min_height=MIN_WINDOW_SIZE[1])
        self.themes = apply_theme()
        self.ellipsis = "\u2026" if self.themes.glyphs else "..."
        self.arrow = "\u2192" if self.themes.glyphs else "->"
        self.widgets = build_window(self, self.themes, BUILTIN_MOTIONS)
        with dpg.handler_registry():
            dpg.add_mouse_wheel_handler(callback=lambda sender, delta: self.viewport.on_wheel(delta))
        dpg.setup_dearpygui()
        dpg.show_viewport()
        try:
            ctx = moderngl.create_context(require=430)
        except Exception as error:  # moderngl raises plain Exceptions for a missing or old GL
            reason = " ".join(str(error).split())
            raise AvatarStudioError(f"the studio needs OpenGL 4.3 in its window ({reason}): install Mesa "
                                    "(Debian: apt install libgl1-mesa-dri) or a GPU driver") from error
        self.renderer_name = renderer_name(ctx)
        self.viewport = Viewport(self.widgets.viewport_panel, self.state, ctx, self.themes,
                                 on_cancel=self.cancel_task, ellipsis=self.ellipsis)
        self.viewport.painter = ViewportPainter(self)
        if self.options.project is not None:  # `avatar-studio open FILE`
            self.open_project(str(self.options.project))
        else:
            self.load_avatar(self.options.seed)
        if self.options.screenshot is None:
            self.offer_recovery()

        started = time.monotonic()
        while dpg.is_dearpygui_running() and not self.quit_requested:
            frame_start = time.perf_counter()
            if self.before_frame is not None:
                self.before_frame()
            active = self._update()
            dpg.render_dearpygui_frame()
            if self.after_frame is not None and self.after_frame(frame_start, time.perf_counter()):
                break
            if self.options.screenshot is not None:
                if self._screenshot_step(time.monotonic() - started):
                    break
                active = active or self.state.gaussians is not None  # idle only while the avatar loads
            active = active or self.state.timeline.playing
            self._throttle(frame_start, active)
            self._measure_fps(time.perf_counter() - frame_start)
        self.finish_autosave()
        return 0

    def close(self) -> None:
        """Stop background work and free GL objects while the context still exists."""
        self.runner.cancel()
        if self.viewport is not None:
            self.viewport.release()

    def _update(self) -> bool:
        """Everything before drawing a frame; True when the user or the scene did something."""
        jobs = dpg.get_callback_queue() or []
        for job in jobs:
            self._guarded(_call_job, job)
        self._guarded(self.runner.poll)
        self._guarded(self.poll_shortcuts)
        self._guarded(self.poll_edit)
        self._guarded(self._poll_scrub)
        self._start_startup_motion()
        self._guarded(self._advance_playback)
        self._guarded(self.state.refresh)
        task = self.runner.status()
        changed = self.viewport.update(task)
        fps = "-- fps" if self._fps is None else f"{self._fps:.1f} fps" + ("  (idle)" if self._idle else "")
        if self.viewport.last_render_ms is not None:
            fps += f"  ·  render {self.viewport.last_render_ms:.0f} ms"
        update_panels(self.widgets, self.state, self.themes, task, self.harmonise_blocker)
        update_status_bar(self.widgets, self.state, self.themes, fps, self.renderer_name, task, self._playback_fps)
        mouse = tuple(dpg.get_mouse_pos(local=False))
        moved, self._last_mouse = mouse != self._last_mouse, mouse
        buttons = any(dpg.is_mouse_button_down(b) for b in (0, 1, 2))
        return bool(jobs) or changed or moved or buttons

    def _guarded(self, action, *args) -> None:
        """Run one UI action; a failure becomes one line in the status bar instead of closing the window."""
        try:
            action(*args)
        except Exception as error:
            if not isinstance(error, AvatarStudioError):
                traceback.print_exc(file=sys.stderr)
            self.state.notify(one_line(error), error=True)

    def _throttle(self, frame_start: float, active: bool) -> None:
        """Cap the frame rate, and drop it when nothing happens, to leave the CPU to real work."""
        now = time.perf_counter()
        if active:
            self._last_activity = now
        self._idle = now - self._last_activity > IDLE_AFTER_S
        remaining = 1.0 / (IDLE_FPS if self._idle else MAX_FPS) - (now - frame_start)
        if remaining > 0:
            time.sleep(remaining)

    def _measure_fps(self, frame_s: float) -> None:
        fps = 1.0 / max(frame_s, 1e-6)
        self._fps = fps if self._fps is None else (1 - FPS_SMOOTHING) * self._fps + FPS_SMOOTHING * fps

    def poll_shortcuts(self) -> None:
        """Keyboard shortcuts (listed in app.panels.SHORTCUTS); plain keys pause while typing in a field."""
        w = self.widgets
        if any(dpg.is_item_shown(d) for d in (w.open_dialog, w.motion_dialog, *w.export_dialogs.values(),
                                              w.project_open_dialog, w.project_save_dialog)):
            return
        ctrl = any(dpg.is_key_down(k) for k in (dpg.mvKey_ModCtrl, dpg.mvKey_LControl, dpg.mvKey_RControl))
        shift = any(dpg.is_key_down(k) for k in (dpg.mvKey_ModShift, dpg.mvKey_LShift, dpg.mvKey_RShift))
        if ctrl:
            if dpg.is_key_pressed(dpg.mvKey_Z) and not self._typing():  # a text field undoes its own typing
                self.redo() if shift else self.undo()
            elif dpg.is_key_pressed(dpg.mvKey_Y) and not self._typing():
                self.redo()
            elif dpg.is_key_pressed(dpg.mvKey_S):
                self.ask_save_project_as() if shift else self.save_project()
            elif dpg.is_key_pressed(dpg.mvKey_O):
                self.ask_open_ply() if shift else self.ask_open_project()
            elif dpg.is_key_pressed(dpg.mvKey_M):
                self.ask_open_motion()
            elif dpg.is_key_pressed(dpg.mvKey_E):
                self.ask_export()
            elif dpg.is_key_pressed(dpg.mvKey_Q):
                self.quit()
            return
        plain = {dpg.mvKey_F: self.frame, dpg.mvKey_1: lambda: self.view_preset("front"),
                 dpg.mvKey_2: lambda: self.view_preset("side"), dpg.mvKey_3: lambda: self.view_preset("back"),
                 dpg.mvKey_Spacebar: self.toggle_play, dpg.mvKey_Left: lambda: self.step_frames(-1),
                 dpg.mvKey_Right: lambda: self.step_frames(1), dpg.mvKey_Home: self.go_to_start,
                 dpg.mvKey_End: self.go_to_end, dpg.mvKey_B: self.toggle_paint_tool,
                 dpg.mvKey_I: self.arm_eyedropper, dpg.mvKey_Open_Brace: lambda: self.resize_brush(-1),
                 dpg.mvKey_Close_Brace: lambda: self.resize_brush(1)}
        pressed = [action for key, action in plain.items() if dpg.is_key_pressed(key)]
        if not pressed or self._typing():
            return
        for action in pressed:
            action()

    def _typing(self) -> bool:
        """Whether a text field has the keyboard: the seed, export sizes, or a slider's Ctrl+click entry (or
        its drag)."""
        w = self.widgets
        fields = [w.generate.seed_input, w.generate.steps, w.generate.interpolation, *w.export.text_fields,
                  *w.pose.joint_sliders.values(), *w.pose.translation_sliders,
                  *w.body.shape_sliders.values(), *w.body.expression_sliders.values(), *w.layers.seed_inputs]
        return any(dpg.is_item_active(item) for item in fields)

    def _poll_scrub(self) -> None:
        """Click or drag on the timeline's ruler: pause and show that frame."""
        timeline = self.widgets.timeline
        starting = not timeline.scrubbing
        frame = poll_scrub(timeline, self.state)
        if frame is None:
            return
        if starting:
            self.state.pause()
        if starting or frame != self.state.timeline.frame:
            self.state.seek_frame(frame)

    def _advance_playback(self) -> None:
        """Move the playhead to the wall clock; track how many poses a second playback shows."""
        now = time.perf_counter()
        if not self.state.tick(now):
            if not self.state.timeline.playing:
                self._playback_fps = self._last_playback_frame = None
            return
        if self._last_playback_frame is not None:
            fps = 1.0 / max(now - self._last_playback_frame, 1e-6)
            previous = self._playback_fps
            self._playback_fps = fps if previous is None else (
                (1 - PLAYBACK_FPS_SMOOTHING) * previous + PLAYBACK_FPS_SMOOTHING * fps)
        self._last_playback_frame = now

    def _start_startup_motion(self) -> None:
        """--play: open the motion once the first avatar shows (tasks run one at a time)."""
        if self._startup_motion is None or self.state.avatar is None or self.runner.status() is not None:
            return
        source, self._startup_motion = self._startup_motion, None
        self.open_motion(source)

    # -- --screenshot --------------------------------------------------------------------------

    def _screenshot_step(self, elapsed_s: float) -> bool:
        """After each frame: wait for the avatar (and --play's motion), run --frames more, save the PNG.
        True when written."""
        if self.state.gaussians is None or self._startup_motion is not None or self.runner.status() is not None:
            if self.failure is not None:
                raise AvatarStudioError(f"no screenshot: {self.failure.message}")
            if elapsed_s > FIRST_LOAD_TIMEOUT_S:
                raise AvatarStudioError(f"no screenshot: the avatar did not load within {FIRST_LOAD_TIMEOUT_S:.0f} s")
            return False
        self._frames_shown += 1
        if self._frames_shown == self.options.frames + 1:
            dpg.output_frame_buffer(callback=self._save_screenshot)
        if self._frames_shown > self.options.frames + 1 + SCREENSHOT_GRACE_FRAMES:
            raise AvatarStudioError("no screenshot: Dear PyGui did not hand over the frame buffer")
        return self._screenshot_saved

    def _save_screenshot(self, sender, buffer) -> None:
        """Frame-buffer callback: write the window as an RGB PNG, atomically (temp file, then rename)."""
        width, height = buffer.get_width(), buffer.get_height()
        rgba = np.asarray(buffer, dtype=np.float32).reshape(height, width, 4)
        rgb = (np.clip(rgba[..., :3], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        with atomic_write(self.options.screenshot) as f:
            iio.imwrite(f, rgb, extension=".png")
        self._screenshot_saved = True
        print(f"wrote {self.options.screenshot} ({width}x{height})")

    # -- actions -------------------------------------------------------------------------------

    # Generate: where avatars come from (app.generate holds the state and the builders).

    def load_avatar(self, seed: int) -> None:
        """Sample avatar `seed` from the current source in the background; it joins the gallery and shows.

        The first call also builds the body model and, with the source on Model, loads the generator:
        when none is installed (or it cannot be used) the sample comes from the wardrobe and the source
        falls back to it, with the reason in the Generate tab. The worker also prepares the avatar's
        `Reshaper`, so the first shape or expression change does not stall the window.
        """
        seed = int(seed)
        state, e = self.state, self.ellipsis
        gen = state.generate
        body, generator, steps = state.body, gen.generator, gen.steps
        use_model = gen.source == MODEL
        try_model = use_model and generator is None

        def work(ctx: TaskContext):
            ctx.report(0.0, f"Starting the generation core{e}")  # the first import of torch takes seconds
            from core.reshape import Reshaper
            from editor.composition import AvatarSource, Composition

            if body is None:
                self._share_cores()
            built_body = body if body is not None else self._load_body(ctx)
            start = 0.6 if body is None else 0.05
            model, failure, used_steps = generator, None, None
            if try_model:
                ctx.report(start, f"Loading the trained model{e}")
                try:
                    model = load_generator(built_body)
                except AvatarStudioError as error:
                    failure = one_line(error)
            composer = self.composer_for(built_body, model)
            if use_model and model is not None:
                used_steps = steps or model.config.diffusion.sample_steps
                span = 0.8 - start

                def progress(done: int, total: int) -> None:
                    ctx.report(start + span * done / total, f"Seed {seed}: denoising step {done}/{total}{e}")

                base = AvatarSource(MODEL, seed, steps=used_steps)
            else:
                ctx.report(start, f"Dressing wardrobe seed {seed}{e}")
                base, progress = AvatarSource(WARDROBE, seed), None
            built = build_composition(composer, Composition(base), progress)
            ctx.report(0.9, f"Preparing shape and expression editing{e}")
            return built_body, model, failure, used_steps, built, Reshaper(built.avatar), composer

        def done(result) -> None:
            built_body, model, failure, used_steps, built, reshaper, composer = result
            state.body, state.edit.composer = built_body, composer
            if failure is not None:
                gen.model_failed(failure)
            elif try_model:
                gen.model_loaded(model)
            source = MODEL if built.latent is not None else WARDROBE
            entry = gen.add(source, seed, used_steps, built.latent)
            self._show_built(built, reshaper)
            self._render_thumbnail(entry.key, built.avatar)
            state.notify(f"{SOURCE_LABELS[source]} seed {seed}: {len(state.gaussians):,} Gaussians")

        self._submit(f"Sample seed {seed}", work, done, kind="generate")

    def _share_cores(self) -> None:
        """Worker, first task: one torch thread beside software GL (viewer.gl_renderer.share_cores_with_software_gl),
        from the start rather than from the first render: the first sample is where it counts (the
        model's denoising measured 1 s a step on two threads under load, 0.2 s on one)."""
        from viewer.gl_renderer import share_cores_with_software_gl

        share_cores_with_software_gl(self.renderer_name)

    def _load_body(self, ctx: TaskContext) -> BodyModel:
        """Worker: the body model the studio was started with (Anny's first build takes minutes)."""
        from core.body import load_body
        from core.body.anny_body import anny_cache_ready

        first_start = self.options.body == "anny" and not anny_cache_ready()
        ctx.report(0.02, f"Building the Anny body model (first start, ~2 min){self.ellipsis}" if first_start
                   else f"Loading the {self.options.body} body model{self.ellipsis}")
        return load_body(self.options.body, self.options.body_dir, self.options.gender)

    def random_seed(self) -> None:
        seed = random.randint(0, MAX_SEED)
        if self.widgets is not None:
            dpg.set_value(self.widgets.generate.seed_input, seed)
        self.load_avatar(seed)

    def set_source(self, source: str) -> None:
        """Where the next samples come from; Model loads the generator first, in the background."""
        gen, e = self.state.generate, self.ellipsis
        if source == WARDROBE or gen.generator is not None:
            gen.set_source(source)
            return
        if self.state.body is None:  # the first sample is still loading: it tries the model itself
            gen.set_source(source)
            return
        body, previous = self.state.body, (gen.model_status, gen.model_note)

        def work(ctx: TaskContext):
            ctx.report(0.1, f"Loading the trained model{e}")
            try:
                return load_generator(body), None
            except AvatarStudioError as error:  # not a task failure: the tab says why and keeps the wardrobe
                return None, one_line(error)

        def done(result) -> None:
            generator, failure = result
            if failure is not None:
                gen.model_failed(failure)
                self.state.notify(failure, error=True)
                return
            gen.model_loaded(generator)
            gen.set_source(MODEL)
            self.state.notify("Trained model loaded: samples now come from it")

        def failed(failure: TaskFailure) -> None:  # cancelled (or broke): back to how it was
            gen.model_status, gen.model_note = previous
            gen.version += 1
            self._task_failed(failure)

        if self._submit("Load the trained model", work, done, kind="generate", on_failure=failed):
            gen.model_status, gen.model_note = "loading", f"Loading the trained model{e}"
            gen.version += 1

    def set_steps(self, steps: int) -> None:
        self.state.generate.set_steps(steps)

    def show_gallery_entry(self, key: int) -> None:
        """Show a gallery sample again, rebuilt in the background from its seed or latent (app.generate)."""
        gen, e = self.state.generate, self.ellipsis
        entry = gen.entry(key)
        if key == gen.shown:
            return
        body, generator = self.state.body, gen.generator

        composer = self.composer_for(body, generator)

        def work(ctx: TaskContext):
            from core.reshape import Reshaper
            from core.sources import latent_maps
            from editor.composition import Composition

            ctx.report(0.1, f"Rebuilding seed {entry.seed}{e}")
            source = gallery_source(entry)
            if entry.latent is not None:  # the gallery keeps model samples' latents: decode, never re-sample
                composer.put(source, latent_maps(generator, body, entry.latent))
            composition = Composition(source)
            if entry.edited is not None:  # harmonised paint stays with the sample
                composition = composition.with_latent(source, entry.edited)
            built = build_composition(composer, composition)
            ctx.report(0.8, f"Preparing shape and expression editing{e}")
            return built, Reshaper(built.avatar)

        def done(result) -> None:
            built, reshaper = result
            self._show_built(built, reshaper)
            gen.show(key)
            self.state.notify(f"{SOURCE_LABELS[entry.source]} seed {entry.seed}: {len(self.state.gaussians):,} "
                              "Gaussians")

        self._submit(f"Show seed {entry.seed}", work, done, kind="generate")

    def pick_interpolation(self, end: str, key: int) -> None:
        """Interpolation end `end` ("a" or "b") to a model sample of the gallery."""
        self.state.generate.pick(end, key)

    def set_interpolation(self, t: float) -> None:
        """The A <-> B slider: show the model's avatar at t (0 = A .. 1 = B).

        Each position is a full sampling run, so they run one at a time: a move while one runs is
        remembered, and only the latest position runs next (the slider may pass many on the way).
        """
        gen = self.state.generate
        gen.t = min(1.0, max(0.0, float(t)))
        reason = gen.interpolation_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return
        running = self.runner.status()
        if running is not None and running.kind == "interpolate":
            self._interpolation_pending = True
            return
        self._interpolate()

    def _interpolate(self) -> None:
        gen, e = self.state.generate, self.ellipsis
        a, b, t = gen.entry(gen.pick_a), gen.entry(gen.pick_b), gen.t
        generator, body = gen.generator, self.state.body
        composer = self.composer_for(body, generator)
        steps = gen.effective_steps
        # The path's ends are the seeds' own samples (same steps): their latents are at hand.
        end = a if t == 0.0 and a.steps == steps else b if t == 1.0 and b.steps == steps else None

        def work(ctx: TaskContext) -> Built:
            from core.sources import latent_maps
            from editor.composition import AvatarSource, Composition

            if end is not None:
                source = gallery_source(end)
                composer.put(source, latent_maps(generator, body, end.latent))
                composition = Composition(source)
                if end.edited is not None:
                    composition = composition.with_latent(source, end.edited)
                ctx.report(0.85, f"Decoding{e}")
                return build_composition(composer, composition)

            def progress(done: int, total: int) -> None:
                ctx.report(0.85 * done / total, f"Seed {a.seed} {self.arrow} {b.seed} at {t:.2f}: "
                                                f"step {done}/{total}{e}")

            # Harmonised paint at an end fades along the path (Generator.interpolate's edits).
            edits = tuple(None if x.edited is None or x.steps != steps else x.edited - x.latent for x in (a, b))
            latent = generator.interpolate(a.seed, b.seed, t, steps=steps, progress=progress, edits=edits)
            ctx.report(0.85, f"Decoding{e}")
            source = AvatarSource(MODEL, a.seed, b.seed, t, steps)
            composition = Composition(source)
            if any(x is not None for x in edits):  # not the plain path's sample: keep it out of the cache's key
                composition = composition.with_latent(source, latent)
            else:
                composer.put(source, latent_maps(generator, body, latent))
            return build_composition(composer, composition)

        def done(built: Built) -> None:
            label = None if end is not None else f"seed {a.seed} {self.arrow} {b.seed} at {t:.2f}"
            self._show_built(built, None, label)
            gen.show(end.key if end is not None else None)
            self.state.notify(f"Showing {self.state.source}")
            self._next_interpolation(t)

        def failed(failure: TaskFailure) -> None:
            self._interpolation_pending = False
            self._task_failed(failure)

        self._submit(f"Interpolate seed {a.seed} {self.arrow} {b.seed}", work, done, kind="interpolate",
                     on_failure=failed)

    def _next_interpolation(self, shown_t: float) -> None:
        """After an interpolation: run the slider's latest position, if it moved meanwhile."""
        pending, self._interpolation_pending = self._interpolation_pending, False
        gen = self.state.generate
        if pending and gen.t != shown_t and gen.interpolation_blocker() is None:
            self._interpolate()

    def _show_built(self, built: Built, reshaper: Reshaper | None, source: str | None = None) -> None:
        """Show a built avatar in the current pose (or motion), with its shape and maps: a new document
        (fresh paint and history, see app.edit)."""
        self.state.show_avatar(built.avatar, reshaper=reshaper, shape=built.shape, maps=built.maps, source=source)
        self.new_document(built)

    def _render_thumbnail(self, key: int, avatar: Avatar) -> None:
        """The gallery thumbnail of a new sample: relaxed pose, front view, on the main thread's GL context.
        Without a window (scripts, tests) there is none."""
        if self.viewport is None:
            return
        from app.pose_state import preset_pose

        gen = self.state.generate
        entry = gen.entry(key)
        if entry.thumbnail is None:  # a sample taken again keeps its thumbnail
            entry.thumbnail = self.viewport.render_thumbnail(avatar.posed(preset_pose("relaxed")), THUMB_SIZE)
            gen.version += 1

    # Pose, shape and expression: the state does the work (app.state); these are what widgets call.

    # Pose edits go into the one history (app.edit_actions): a slider drag is one entry, a preset or reset one.

    def set_pose(self, name: str) -> None:
        from app.state import POSE_LABELS

        self.pose_edit(f"pose {POSE_LABELS.get(name, name).lower()}", lambda: self.state.set_pose(name))

    def set_joint_angle(self, joint: str, axis: int, degrees: float) -> None:
        from app.pose_state import JOINTS

        slider = self.widgets.pose.joint_sliders.get((joint, axis)) if self.widgets is not None else None
        self.pose_drag(f"pose: {JOINTS[joint].label.lower()}", slider,
                       lambda: self.state.set_joint_angle(joint, axis, degrees))

    def reset_joint(self, joint: str) -> None:
        from app.pose_state import JOINTS

        self.pose_edit(f"reset {JOINTS[joint].label.lower()}", lambda: self.state.reset_joint(joint))

    def reset_pose(self) -> None:
        self.pose_edit("reset pose", self.state.reset_pose)

    def set_mirror(self, on: bool) -> None:
        self.state.set_mirror(on)

    def set_root_translation(self, axis: int, metres: float) -> None:
        slider = self.widgets.pose.translation_sliders[axis] if self.widgets is not None else None
        self.pose_drag("pose: root position", slider, lambda: self.state.set_root_translation(axis, metres))

    def stand_on_floor(self) -> None:
        self.pose_edit("stand on floor", self.state.stand_on_floor)

    def set_shape(self, name: str, value: float) -> None:
        self.state.set_shape(name, value)

    def set_expression(self, name: str, value: float) -> None:
        self.state.set_expression(name, value)

    def reset_shape(self) -> None:
        self.state.reset_shape()

    def reset_expression(self) -> None:
        self.state.reset_expression()

    # Motion and timeline.

    def ask_open_motion(self) -> None:
        dpg.show_item(self.widgets.motion_dialog)

    def pick_motion(self, name: str) -> None:
        """The timeline's motion list: a built-in motion, or none (close the one loaded)."""
        if name == NO_MOTION:
            self.close_motion()
        else:
            self.open_motion(name)

    def open_motion(self, source: str) -> None:
        """Read a motion (file or built-in name) in the background, put it on the timeline and play it."""
        name = Path(source).name

        def work(ctx: TaskContext):
            from core.motion import load_motion

            ctx.report(0.1, f"Reading motion {name}{self.ellipsis}")
            return load_motion(source)

        def done(clip) -> None:
            if self.state.avatar is None:
                self.state.notify("Load an avatar first: motions pose generated avatars", error=True)
                return
            self.state.load_clip(clip)

        self._submit(f"Open motion {name}", work, done)

    def close_motion(self) -> None:
        self.state.unload_clip()

    def toggle_play(self) -> None:
        self.state.toggle_play()

    def step_frames(self, frames: int) -> None:
        self.state.step_frames(frames)

    def go_to_start(self) -> None:
        self.state.go_to_start()

    def go_to_end(self) -> None:
        self.state.go_to_end()

    def set_loop(self, loop: bool) -> None:
        self.state.set_loop(loop)

    def set_speed(self, speed: float) -> None:
        self.state.set_speed(speed)

    def set_in_place(self, on: bool) -> None:
        self.state.set_in_place(on)

    def view_preset(self, name: str) -> None:
        self.state.view_preset(name)

    def frame(self) -> None:
        self.state.frame()

    def set_background(self, rgba) -> None:
        self.state.set_background(tuple(rgba[:3]) + (1.0,))

    def ask_open_ply(self) -> None:
        dpg.show_item(self.widgets.open_dialog)

    def open_ply(self, path: str) -> None:
        """Read any 3DGS PLY in the background and show it (unrigged: viewable and exportable)."""
        path = Path(path)

        def work(ctx: TaskContext):
            from core.ply import read_ply

            ctx.report(0.1, f"Reading {path.name}{self.ellipsis}")
            return read_ply(path)

        def done(gaussians) -> None:
            self.state.show_gaussians(gaussians, path.name)
            self.state.notify(f"Opened {path}: {len(gaussians):,} Gaussians")

        self._submit(f"Open {path.name}", work, done)

    # Export: app.export checks a request and snapshots what is shown; the worker writes it.

    def set_export_option(self, name: str, value) -> None:
        """One Export tab setting (app.export.ExportState.set_option)."""
        self.state.export.set_option(name, value)

    def set_export_layer(self, layer: str, on: bool) -> None:
        self.state.export.set_layer(layer, on)

    def set_sh_degree(self, degree: int) -> None:
        self.state.export.set_option("sh_degree", degree)

    def ask_export(self) -> None:
        """Open the save dialog of the Export tab's format, named after what is shown."""
        state = self.state
        reason = blocker(state)
        if reason is not None:
            state.export.finished(reason, error=True)
            state.notify(reason, error=True)
            return
        dpg.configure_item(self.widgets.export_dialogs[state.export.format], default_filename=default_name(state),
                           show=True)

    def export(self, path: str) -> None:
        """Export what is shown to `path` in the Export tab's format, in the background.

        A request that cannot work (no rig, no clip, a folder that cannot be written, a bad size)
        is one line in the status bar and the Export tab, and writes nothing.
        """
        state = self.state
        try:
            target, work = prepare(state, path, self.ellipsis)
        except AvatarStudioError as error:
            state.export.finished(one_line(error), error=True)
            state.notify(one_line(error), error=True)
            return

        def done(message: str) -> None:
            state.export.finished(message)
            state.notify(message)

        def failed(failure: TaskFailure) -> None:
            state.export.finished(failure.message, error=not failure.cancelled)
            self._task_failed(failure)

        if not self._submit(f"Export {target.name}", work, done, kind="export", on_failure=failed):
            state.export.finished(state.message, error=True)

    def export_ply(self, path: str) -> None:
        """Export a 3DGS PLY with the Export tab's PLY settings (for scripts: the format switches to PLY)."""
        self.state.export.set_option("format", "ply")
        self.export(path)

    def cancel_task(self) -> None:
        status = self.runner.status()
        if status is not None:
            self.runner.cancel()
            self.state.notify(f"Cancelling {status.name.lower()} after its current step{self.ellipsis}")

    def show_shortcuts(self) -> None:
        self._show_centred(self.widgets.shortcuts_modal)

    def quit(self) -> None:
        self.quit_requested = True

    def _submit(self, name: str, work, on_done, kind: str = "", on_failure=None) -> bool:
        """Start a background task (one at a time); False, with a busy message, while another runs."""
        running = self.runner.status()
        if running is not None:
            self.state.notify(f"Busy: {running.name.lower()} is still running; wait for it or cancel it", error=True)
            return False
        return self.runner.submit(name, work, on_done, on_failure or self._task_failed, kind)

    def _task_failed(self, failure: TaskFailure) -> None:
        self.failure = failure
        self.state.notify(failure.message, error=not failure.cancelled)
        if not failure.cancelled and self.options.screenshot is None and self.widgets is not None:
            dpg.set_value(self.widgets.error_text, failure.message)
            self._show_centred(self.widgets.error_modal)

    def _show_centred(self, window) -> None:
        """Show a modal window near the middle of the viewport (its own size is only known once drawn)."""
        width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        item_w = dpg.get_item_width(window) or 480
        item_h = dpg.get_item_height(window) or 240
        dpg.configure_item(window, show=True, pos=(max(0, (width - item_w) // 2), max(0, (height - item_h) // 3)))


def _call_job(job) -> None:
    """Run one queued Dear PyGui callback (callable, sender, app_data, user_data) with the arguments it takes."""
    callback = job[0]
    if callback is not None:
        callback(*job[1:1 + len(signature(callback).parameters)])
