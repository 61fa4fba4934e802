"""The Studio's editing actions: layer swaps, paint strokes (UV view and viewport), the eyedropper, undo
and redo, pose edits as history entries, harmonising, and .avs projects with autosave and recovery.

`app.studio.Studio` inherits them, so menus, panels, shortcuts, the viewport's mouse and tests call the
same methods. They live here, beside the state they edit (app.edit), rather than in app.studio, which
holds the window and its frame loop.

Why strokes are cheap: a mouse move adds dabs to the paint overlay (editor.paint) and `recolor` rewrites
only the colours of the Gaussians under the changed texels, in place. The shown, posed Gaussians share
that colour tensor with the avatar, so the viewport only uploads again: no rebuild, no re-pose. A drag
is one stroke and one history entry.

Why swaps run in the background: a layer from a source the composer has not decoded yet means sampling
(seconds with the model); swapping to one it has costs ~0.2 s of assembly. Both go through one task, so
the window never stalls and Cancel works the same way. Undo of a swap starts the same task with the
composition before.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import dearpygui.dearpygui as dpg

from app.edit import (AUTOSAVE_INTERVAL_S, BRUSH_RESIZE_FACTOR, GARMENTS, LAYER_LABELS, PAINT_LAYERS, REMOVED_LABELS,
                      EditState, clamp_radius)
from app.tasks import TaskContext
from core.errors import AvatarStudioError

if TYPE_CHECKING:
    from app.generate import Built
    from app.state import StudioState
    from core.body.base import BodyModel
    from core.generator import Generator
    from core.reshape import Reshaper
    from editor.composition import Composer, Composition, LayerChoice
    from editor.picking import Pick

EDIT_TASKS = ("swap", "harmonise")  # task kinds that change the composition: undo waits for them


class EditActions:
    """Mixed into app.studio.Studio: every method uses its `state`, `_submit`, `runner` and `ellipsis`."""

    state: StudioState

    @property
    def edit(self) -> EditState:
        return self.state.edit

    def init_editing(self) -> None:
        """Hook the history to the view: after any undo or redo, the paint shows on the Gaussians."""
        history = self.edit.history
        own = history.on_change

        def changed() -> None:
            if own is not None:
                own()
            self._paint_changed()

        history.on_change = changed
        self._last_autosave = time.monotonic()
        self._autosave_thread: threading.Thread | None = None
        self._pending_open: tuple[str, bool] | None = None  # (project, recovered) to open once no task runs

    # -- documents -------------------------------------------------------------------------------

    def composer_for(self, body: BodyModel, generator: Generator | None) -> Composer:
        """The session's composer (kept across samples: swapping a layer to a recent seed needs no decode)."""
        from editor.composition import Composer

        composer = self.edit.composer
        if composer is None or composer.body is not body:
            composer = Composer(body, generator)
        if generator is not None:
            composer.generator = generator
        return composer

    def new_document(self, built: Built) -> None:
        """A new person is shown (sample, gallery, interpolation): its composition, fresh paint, empty history."""
        from editor.paint import PaintLayers

        edit = self.edit
        edit.composition, edit.original_maps, edit.latents = built.composition, built.maps, built.latents
        edit.paint = PaintLayers(self.state.body)
        edit.paint.bind(self.state.avatar, built.maps)
        edit.stroke, edit.pose_before = None, None
        edit.history.clear()
        edit.project_path = None
        edit.saved_edits = edit.autosaved_edits = edit.edits
        edit.changed()

    def _show_composed(self, built: Built, reshaper: Reshaper | None) -> None:
        """Show a re-composed avatar of the same document; its paint goes back on."""
        edit = self.edit
        self.state.replace_avatar(built.avatar, built.maps, reshaper)
        edit.composition, edit.original_maps, edit.latents = built.composition, built.maps, built.latents
        edit.paint.bind(self.state.avatar, built.maps)
        self._paint_changed(everything=True)
        self.state.maps = self.painted_maps()

    def _paint_changed(self, everything: bool = False) -> None:
        """Paint changed (a dab, an undo, a new avatar): recolour the Gaussians under it and redraw."""
        edit, state = self.edit, self.state
        if edit.paint is None or state.avatar is None:
            return
        target = self._paint_target()
        target.recolor(everything)
        state.colors_changed()
        # A stroke is a live edit like a slider drag: where full-size renders are slow (software GL) the
        # viewport draws it at drag size and refines once the mouse rests (app.viewport).
        state.last_slider_edit_s = time.perf_counter()
        edit.changed()

    def _paint_target(self):
        """The paint bound to the avatar shown (a shape change makes a new avatar: bind that one)."""
        edit, state = self.edit, self.state
        target = edit.paint.target
        if target is None or target.avatar is not state.avatar:
            target = edit.paint.bind(state.avatar, edit.original_maps)
        return target

    def painted_maps(self):
        """The shown avatar's maps with the paint in their colour channels (what an FBX export should carry)."""
        import torch
        import torch.nn.functional as F

        from core.attribute_maps import RGB

        edit = self.edit
        maps = dict(edit.original_maps or {})
        for layer in list(edit.paint.overlays) if edit.paint is not None else []:
            if layer not in maps or not bool((edit.paint.overlay(layer)[3] > 0).any()):
                continue
            shown = edit.paint.shown(layer)
            r = maps[layer].shape[-1]
            if shown.shape[-1] != r:
                shown = F.interpolate(shown[None], size=(r, r), mode="area")[0]
            original = maps[layer]
            maps[layer] = torch.cat([original[:RGB.start], shown.to(original.dtype), original[RGB.stop:]])
        return maps

    def _editing_blocker(self) -> str | None:
        """Why the shown avatar cannot be edited now, in one line; None when it can."""
        state = self.state
        if state.gaussians is not None and state.avatar is None:
            return f"{state.source} has no layers or charts: layers and paint apply to generated avatars"
        if not self.edit.editable or state.avatar is None:
            return "Sample an avatar first (Generate tab)"
        return None

    # -- layers ----------------------------------------------------------------------------------

    def set_layer_choice(self, layer: str, choice: LayerChoice) -> bool:
        """Take `layer` from another source, the base's own, or remove it; undoable. False if nothing started."""
        reason = self._editing_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return False
        if layer not in GARMENTS:
            raise AvatarStudioError(f"unknown layer {layer!r}: choose {', '.join(GARMENTS)}")
        before = self.edit.composition
        after = before.with_layer(layer, choice)
        if after == before:
            return False
        if choice.removed:
            label = f"remove {LAYER_LABELS[layer].lower()} ({REMOVED_LABELS[layer]})"
        elif choice.source is None:
            label = f"{LAYER_LABELS[layer].lower()} back to the base's own"
        else:
            label = f"{LAYER_LABELS[layer].lower()} from {choice.source.label}"
        return self._compose(after, before, label)

    def take_layer_from_gallery(self, layer: str, key: int) -> bool:
        """The Layers tab's gallery pick: `layer` from that sample."""
        from app.generate import gallery_source
        from editor.composition import LayerChoice

        entry = self.state.generate.entry(key)
        source = gallery_source(entry)
        choice = LayerChoice.own() if self.edit.composition is not None and source == self.edit.composition.base \
            else LayerChoice.of(source)
        return self.set_layer_choice(layer, choice)

    def take_layer_from_seed(self, layer: str, seed: int) -> bool:
        """The Layers tab's seed field: `layer` from that seed of the current source (model or wardrobe)."""
        from app.generate import MODEL, WARDROBE
        from editor.composition import AvatarSource, LayerChoice

        gen = self.state.generate
        if gen.source == MODEL and gen.generator is not None:
            source = AvatarSource(MODEL, int(seed), steps=gen.effective_steps)
        else:
            source = AvatarSource(WARDROBE, int(seed))
        choice = LayerChoice.own() if self.edit.composition is not None and source == self.edit.composition.base \
            else LayerChoice.of(source)
        return self.set_layer_choice(layer, choice)

    def remove_layer(self, layer: str) -> bool:
        from editor.composition import LayerChoice

        return self.set_layer_choice(layer, LayerChoice.remove())

    def restore_layer(self, layer: str) -> bool:
        """The base's own layer again (after a removal or a swap)."""
        from editor.composition import LayerChoice

        return self.set_layer_choice(layer, LayerChoice.own())

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        self.state.set_layer_visible(layer, visible)
        self.edit.changed()

    def _compose(self, after: Composition, before: Composition | None, label: str) -> bool:
        """Build `after` in the background and show it; with `before`, push the swap to the history."""
        from editor.composition import SwapRecord

        edit, state, e = self.edit, self.state, self.ellipsis
        composer = edit.composer
        keep_shape = bool(state.shape or state.expression)
        decodes = composer.decodes

        def work(ctx: TaskContext):
            from app.generate import build_composition
            from core.reshape import Reshaper

            ctx.report(0.05, f"Composing layers{e}")

            def progress(done: int, total: int) -> None:
                ctx.report(0.05 + 0.75 * done / total, f"Sampling a new source: step {done}/{total}{e}")

            built = build_composition(composer, after, progress)
            ctx.report(0.85, f"Fitting the layers to the body{e}")
            return built, Reshaper(built.avatar) if keep_shape else None

        def done(result) -> None:
            built, reshaper = result
            self._show_composed(built, reshaper)
            if before is not None:
                edit.history.push(SwapRecord(before, after, self._apply_composition, label))
            fresh = composer.decodes - decodes
            state.notify(f"{label[:1].upper()}{label[1:]}" + (f" ({fresh} new source decoded)" if fresh else ""))

        return self._submit(label[:1].upper() + label[1:], work, done, kind="swap")

    def _apply_composition(self, composition: Composition) -> None:
        """Undo/redo of a swap: show that composition (in the background). Raises when it cannot start, so
        the history keeps the record where it was."""
        if not self._compose(composition, None, "restore layers"):
            raise AvatarStudioError(self.state.message or "busy: try again when the running task ends")
        self._keep_edits_in_gallery(composition)

    def _keep_edits_in_gallery(self, composition: Composition) -> None:
        """Gallery samples remember the harmonised latent a composition gives them (or lose it on undo),
        so showing the sample again or interpolating from it keeps the edit."""
        from app.generate import MODEL, gallery_source

        for entry in self.state.generate.gallery:
            if entry.source == MODEL:
                source = gallery_source(entry)
                if source in composition.sources():
                    entry.edited = composition.latents.get(source)

    # -- paint -----------------------------------------------------------------------------------

    def set_paint_layer(self, layer: str) -> None:
        if layer not in PAINT_LAYERS:
            raise AvatarStudioError(f"unknown layer {layer!r}: choose {', '.join(PAINT_LAYERS)}")
        self.edit.paint_layer = layer
        self.edit.changed()

    def set_brush(self, **values) -> None:
        """Brush settings by name: rgb, radius (metres), hardness, opacity, mode."""
        from editor.paint import Brush

        brush = self.edit.the_brush()
        if "radius" in values:
            values["radius"] = clamp_radius(values["radius"])
        self.edit.brush = Brush(**{**dataclasses.asdict(brush), **values})
        self.edit.changed()

    def resize_brush(self, steps: float) -> None:
        """Grow (positive steps) or shrink the brush by BRUSH_RESIZE_FACTOR per step ([ ] keys, Ctrl+wheel)."""
        radius = self.edit.the_brush().radius * BRUSH_RESIZE_FACTOR ** steps
        self.set_brush(radius=radius)
        self.state.notify(f"Brush radius {100 * self.edit.brush.radius:.1f} cm")

    def set_paint_tool(self, on: bool) -> None:
        """Viewport left-drag paints (on) or orbits (off); Alt+left-drag orbits while painting."""
        self.edit.paint_tool = bool(on)
        self.edit.changed()
        self.state.notify("Paint tool: left-drag paints on the avatar, Alt+left-drag orbits" if on
                          else "Orbit tool: left-drag orbits")

    def toggle_paint_tool(self) -> None:
        self.set_paint_tool(not self.edit.paint_tool)

    def arm_eyedropper(self, on: bool = True) -> None:
        """The next click in the UV view or on the avatar picks the brush colour."""
        self.edit.eyedropper = bool(on)
        self.edit.changed()
        if on:
            self.state.notify("Eyedropper: click the UV view or the avatar to pick a colour")

    def clear_paint(self) -> None:
        """Remove the selected layer's paint (one history entry)."""
        reason = self._paint_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return
        edit = self.edit
        record = edit.paint.clear(edit.paint_layer)
        if record is None or not bool((record.before[3] > 0).any()):
            self.state.notify(f"No paint on the {LAYER_LABELS[edit.paint_layer].lower()}")
            return
        record.label = f"clear paint on {LAYER_LABELS[edit.paint_layer].lower()}"
        edit.history.push(record)
        self.state.maps = self.painted_maps()
        self.state.notify(f"Cleared the paint on the {LAYER_LABELS[edit.paint_layer].lower()}")

    def _paint_blocker(self) -> str | None:
        reason = self._editing_blocker()
        if reason is not None:
            return reason
        task = self.runner.status()
        if task is not None and task.kind == "harmonise":
            return "Harmonising reads the paint: wait for it or cancel it"
        return None

    def begin_uv_stroke(self, uv: tuple[float, float]) -> bool:
        """Mouse down in the UV view: start a stroke on the selected layer (or pick a colour). False if refused."""
        reason = self._paint_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return False
        edit = self.edit
        if edit.eyedropper:
            self._pick_colour(edit.paint_layer, uv)
            return False
        self._paint_target()
        edit.stroke, edit.stroke_in = edit.paint.begin_stroke(edit.paint_layer, edit.the_brush()), "uv"
        self.continue_uv_stroke(uv)
        return True

    def continue_uv_stroke(self, uv: tuple[float, float]) -> None:
        """Mouse moved with the button down: the stroke goes on through `uv`, shown at once."""
        edit = self.edit
        if edit.stroke is None or edit.stroke_in != "uv":
            return
        edit.stroke.add_uv([uv])
        self._paint_changed()

    def begin_view_stroke(self, x: float, y: float) -> bool:
        """Mouse down on the viewport (paint tool): a stroke on the layer under the brush, which the
        Paint tab then shows. False over the background, or when refused."""
        reason = self._paint_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return False
        edit = self.edit
        hit = self._pick(x, y)
        if hit is None:
            self.state.notify("Nothing under the brush: paint on the avatar", error=True)
            return False
        if edit.eyedropper:
            where = self._paint_target().chart_uv(hit.index)
            if where is not None:
                self._pick_colour(*where)
            return False
        edit.paint_layer = hit.layer
        self._paint_target()
        edit.stroke, edit.stroke_in = edit.paint.begin_stroke(hit.layer, edit.the_brush()), "viewport"
        edit.stroke.add_surface([hit.canonical])
        self._paint_changed()
        return True

    def continue_view_stroke(self, x: float, y: float) -> None:
        """The brush moved on the viewport: continue on the stroke's layer (other layers do not catch it)."""
        edit = self.edit
        if edit.stroke is None or edit.stroke_in != "viewport":
            return
        hit = self._pick(x, y, layer=edit.stroke.layer)
        if hit is None:
            return
        edit.stroke.add_surface([hit.canonical])
        self._paint_changed()

    def end_stroke(self) -> None:
        """Mouse up: the stroke becomes one history entry."""
        edit = self.edit
        stroke, edit.stroke = edit.stroke, None
        if stroke is None:
            return
        record = stroke.end()
        if record is not None:
            record.label = f"{record.label} on {LAYER_LABELS[stroke.layer].lower()}"
            edit.history.push(record)
            self.state.maps = self.painted_maps()

    def _pick(self, x: float, y: float, layer: str | None = None) -> Pick | None:
        """The Gaussian under viewport pixel (x, y) among the visible layers (or only `layer`'s)."""
        from core.gaussians import layer_mask
        from editor.picking import pick

        state = self.state
        posed, canonical = state.gaussians, state.avatar.gaussians
        opacities = state.shown_opacities()
        if layer is not None:
            keep = layer_mask(canonical.layers, [layer])
            posed, canonical, opacities = posed.select(keep), canonical.select(keep), opacities[keep]
        width, height = state.viewport_size
        return pick(state.camera, width, height, posed.replace(opacities=opacities), x, y, canonical)

    def _pick_colour(self, layer: str, uv: tuple[float, float]) -> None:
        rgb = self.edit.paint.eyedropper(layer, uv)
        self.set_brush(rgb=rgb)
        self.edit.eyedropper = False
        hex_colour = "#" + "".join(f"{round(255 * c):02x}" for c in rgb)
        self.state.notify(f"Picked {hex_colour} from the {LAYER_LABELS[layer].lower()}")

    # -- history ---------------------------------------------------------------------------------

    def undo(self) -> None:
        self._step_history(undo=True)

    def redo(self) -> None:
        self._step_history(undo=False)

    def _step_history(self, undo: bool) -> None:
        edit, state = self.edit, self.state
        if edit.stroke is not None:
            return  # mid-stroke: the stroke ends first
        self.finish_pose_drag()
        task = self.runner.status()
        if task is not None and task.kind in EDIT_TASKS:
            state.notify(f"Busy: {task.name.lower()} is still running; undo when it has finished", error=True)
            return
        record = edit.history.undo() if undo else edit.history.redo()
        if record is None:
            state.notify("Nothing to undo" if undo else "Nothing to redo")
            return
        state.maps = self.painted_maps() if edit.original_maps is not None else state.maps
        state.notify(f"{'Undid' if undo else 'Redid'} {record.label}")

    # -- pose edits as history entries -------------------------------------------------------------

    def pose_edit(self, label: str, action: Callable[[], None]) -> None:
        """A discrete pose edit (preset, reset, stand on floor): one history entry when the pose changed."""
        self.finish_pose_drag()
        state = self.state
        if state.avatar is None:
            action()
            return
        before = state.pose_snapshot()
        action()
        self._push_pose(label, before)

    def pose_drag(self, label: str, widget: int | str | None, action: Callable[[], None]) -> None:
        """One event of a slider drag: the drag (until the slider lets go) is one history entry."""
        edit, state = self.edit, self.state
        if edit.pose_before is not None and edit.pose_widget != widget:
            self.finish_pose_drag()  # another slider: the previous drag is over
        if edit.pose_before is None and state.avatar is not None:
            edit.pose_before, edit.pose_label, edit.pose_widget = state.pose_snapshot(), label, widget
        action()

    def finish_pose_drag(self) -> None:
        """The slider drag is over: push it as one entry (the frame loop calls this once the slider lets go)."""
        edit = self.edit
        before, edit.pose_before, edit.pose_widget = edit.pose_before, None, None
        if before is not None:
            self._push_pose(edit.pose_label, before)

    def _push_pose(self, label: str, before) -> None:
        from editor.history import CallbackRecord

        state = self.state
        after = state.pose_snapshot()
        if after.same_as(before):
            return
        self.edit.history.push(CallbackRecord(label, lambda: state.restore_pose(before),
                                              lambda: state.restore_pose(after)))

    # -- harmonise -------------------------------------------------------------------------------

    def harmonise_blocker(self) -> str | None:
        """Why the selected layer's paint cannot be folded into a latent, in one line; None when it can."""
        reason = self._editing_blocker()
        if reason is not None:
            return reason
        edit = self.edit
        layer = edit.paint_layer
        if not bool((edit.paint.overlay(layer)[3] > 0).any()):
            return f"Nothing painted on the {LAYER_LABELS[layer].lower()} yet"
        source = edit.composition.source_of(layer)
        if source is None:
            return f"The {LAYER_LABELS[layer].lower()} is removed"
        if source.kind != "model" or edit.composer.generator is None:
            return "Harmonise folds paint into the trained model's latent; this layer comes from the wardrobe"
        return None

    def harmonise(self) -> bool:
        """Fold the selected layer's paint into its source's latent, in the background (progress, cancel);
        one history entry: the new latent, and the paint it absorbed cleared."""
        from editor.composition import SwapRecord
        from editor.history import GroupRecord

        reason = self.harmonise_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return False
        edit, state, e = self.edit, self.state, self.ellipsis
        layer, composer, before = edit.paint_layer, edit.composer, edit.composition
        source = before.source_of(layer)
        paint = edit.paint
        keep_shape = bool(state.shape or state.expression)
        name = LAYER_LABELS[layer].lower()

        def work(ctx: TaskContext):
            from app.generate import build_composition
            from core.reshape import Reshaper
            from editor.harmonise import harmonise

            ctx.report(0.02, f"Harmonising the {name}{e}")
            latent = composer.latent(before, source)

            def progress(done: int, total: int) -> None:
                ctx.report(0.02 + 0.83 * done / total, f"Harmonising the {name}: step {done}/{total}{e}")

            result = harmonise(composer.generator, latent, paint, layer, progress=progress)
            after = before.with_latent(source, result.latent)
            ctx.report(0.9, f"Decoding the harmonised latent{e}")
            built = build_composition(composer, after)
            return result, built, Reshaper(built.avatar) if keep_shape else None

        def done(outcome) -> None:
            result, built, reshaper = outcome
            self._show_composed(built, reshaper)
            cleared = paint.clear(layer)
            self._keep_edits_in_gallery(built.composition)
            records = [SwapRecord(before, built.composition, self._apply_composition, "harmonise")]
            edit.history.push(GroupRecord(f"harmonise the {name}", records + ([cleared] if cleared else [])))
            state.maps = self.painted_maps()
            state.notify(f"Harmonised the {name}: colour error {result.error_before:.3f} -> {result.error_after:.3f} "
                         f"in {result.seconds:.0f} s")

        return self._submit(f"Harmonise the {name}", work, done, kind="harmonise")

    # -- projects --------------------------------------------------------------------------------

    def project_snapshot(self):
        """What is shown and edited, as an editor.project.Project (arrays copied: safe to write from a thread)."""
        from editor.project import MotionRef, Project, camera_to_dict

        reason = self._editing_blocker()
        if reason is not None:
            raise AvatarStudioError(f"nothing to save: {reason[:1].lower()}{reason[1:]}")
        state, edit = self.state, self.edit
        shape = {**state.built_shape, **state.shape} if state.shape else None
        clip = state.timeline.clip
        motion = MotionRef(clip.name, state.timeline.frame) if clip is not None and state.following_clip else None
        pose = (state.editor.axis_angle.astype("float32"), state.editor.translation.astype("float32"))
        return Project(composition=edit.composition, body=state.body_name, latents=dict(edit.latents),
                       paint=edit.paint.to_arrays(), shape=shape, expression=dict(state.expression) or None,
                       pose=pose, motion=motion, camera=camera_to_dict(state.camera))

    def save_project(self, path: str | None = None) -> bool:
        """Save to `path` (default: the document's file; none yet: ask where, Save As). Atomic. True when saved."""
        from editor.project import SUFFIX, save_project

        edit, state = self.edit, self.state
        if path is None and edit.project_path is None:
            self.ask_save_project_as()
            return False
        target = Path(path) if path is not None else edit.project_path
        if target.suffix.lower() != SUFFIX:
            target = target.with_name(target.name + SUFFIX)
        try:
            save_project(target, self.project_snapshot())
        except AvatarStudioError as error:
            state.notify(str(error), error=True)
            return False
        edit.project_path, edit.saved_edits = target, edit.edits
        edit.changed()
        state.notify(f"Saved {target}")
        return True

    def open_project(self, path: str, recovered: bool = False) -> bool:
        """Open a .avs in the background: the body (first start), the model if its layers need it, every
        source from its saved latent (no re-sampling), then paint, shape, expression, pose and camera.
        `recovered`: the autosave, opened as unsaved work that belongs to no file."""
        from app.generate import load_generator

        path, state, e = Path(path), self.state, self.ellipsis
        gen = state.generate
        body, generator = state.body, gen.generator

        def work(ctx: TaskContext):
            from app.generate import build_composition
            from core.reshape import Reshaper
            from core.sources import latent_maps
            from editor.project import load_project

            ctx.report(0.0, f"Reading {path.name}{e}")
            project = load_project(path)
            if project.body != self.options.body:
                raise AvatarStudioError(f"{path}: made on the {project.body} body; start the studio with "
                                        f"--body {project.body} to open it")
            if body is None:
                self._share_cores()
            built_body = body if body is not None else self._load_body(ctx)
            model = generator
            needs_model = any(s.kind == "model" for s in project.composition.sources())
            if needs_model and model is None:
                ctx.report(0.6, f"Loading the trained model{e}")
                model = load_generator(built_body)
            composer = self.composer_for(built_body, model)
            for source, latent in project.latents.items():
                composer.put(source, latent_maps(model, built_body, latent))
            ctx.report(0.7, f"Composing the layers{e}")

            def progress(done: int, total: int) -> None:
                ctx.report(0.7 + 0.2 * done / total, f"Sampling a source: step {done}/{total}{e}")

            built = build_composition(composer, project.composition, progress)
            ctx.report(0.9, f"Preparing shape and expression editing{e}")
            return project, built_body, model, composer, built, Reshaper(built.avatar)

        def done(result) -> None:
            from editor.project import apply_camera

            project, built_body, model, composer, built, reshaper = result
            state.body, self.edit.composer = built_body, composer
            if model is not None and gen.generator is None:
                gen.model_loaded(model)
            state.show_avatar(built.avatar, reshaper=reshaper, shape=built.shape, maps=built.maps,
                              source=f"{path.stem} ({built.composition.base.label})")
            gen.show(None)
            self.new_document(built)
            self._restore_project(project)
            edit = self.edit
            if recovered:  # unsaved work: Save asks where, and the autosave stays until then
                edit.project_path, edit.saved_edits = None, edit.edits - 1
            else:
                edit.project_path, edit.saved_edits = path, edit.edits
            if project.camera:
                apply_camera(state.camera, project.camera)
                state.view_version += 1
            if project.motion is not None:
                self._startup_motion = project.motion.name
            state.notify("Recovered the unsaved work of the last session" if recovered else f"Opened {path}")

        return self._submit("Recover unsaved work" if recovered else f"Open {path.name}", work, done)

    def _restore_project(self, project) -> None:
        """Paint, shape, expression and pose of an opened project onto the document just shown."""
        state, edit = self.state, self.edit
        edit.paint.load_arrays(project.paint)
        if project.shape:
            state.shape = {k: v for k, v in project.shape.items() if state.built_shape.get(k) != v}
        state.expression = dict(project.expression or {})
        if state.shape or state.expression:
            state.replace_avatar(state.avatar, state.maps, state.reshaper)
        if project.pose is not None:
            from app.state import PoseSnapshot
            from app.pose_state import axis_angle_to_angles

            joints, translation = (a.astype("float64") for a in project.pose)
            state.restore_pose(PoseSnapshot(joints, axis_angle_to_angles(joints), translation, "custom"))
        self._paint_changed(everything=True)
        state.maps = self.painted_maps()
        edit.changed()

    def ask_save_project_as(self) -> None:
        reason = self._editing_blocker()
        if reason is not None:
            self.state.notify(reason, error=True)
            return
        if self.widgets is not None:
            name = self.edit.project_path.stem if self.edit.project_path is not None else f"avatar-{self.state.seed}"
            dpg.configure_item(self.widgets.project_save_dialog, default_filename=name, show=True)

    def ask_open_project(self) -> None:
        if self.widgets is not None:
            dpg.show_item(self.widgets.project_open_dialog)

    # -- autosave and recovery --------------------------------------------------------------------

    def poll_autosave(self, now: float | None = None) -> None:
        """Every AUTOSAVE_INTERVAL_S, when something changed since the last autosave, write the autosave file:
        the snapshot on this thread (copies), the zip in a thread of its own so the window does not stall."""
        edit = self.edit
        now = time.monotonic() if now is None else now
        if edit.edits == edit.autosaved_edits or now - self._last_autosave < AUTOSAVE_INTERVAL_S:
            return
        if self._autosave_thread is not None and self._autosave_thread.is_alive():
            return
        self._last_autosave = now
        self.autosave_now(background=True)

    def autosave_now(self, background: bool = False) -> None:
        """Write the autosave file now (on exit with unsaved edits, and from the timer)."""
        from editor.project import autosave

        if self._editing_blocker() is not None:
            return
        edit = self.edit
        project = self.project_snapshot()
        edit.autosaved_edits = edit.edits

        def write() -> None:
            try:
                autosave(project)
            except AvatarStudioError as error:  # the status bar says so on the next frame
                self.state.notify(f"Autosave failed: {error}", error=True)

        if background:
            self._autosave_thread = threading.Thread(target=write, name="autosave", daemon=True)
            self._autosave_thread.start()
        else:
            write()

    def finish_autosave(self) -> None:
        """On a clean exit: keep unsaved edits in the autosave for the next start, else remove it."""
        from editor.project import discard_autosave

        if self._autosave_thread is not None:
            self._autosave_thread.join(30)
        if self.edit.dirty and self._editing_blocker() is None:
            self.autosave_now()
        else:
            discard_autosave()

    def offer_recovery(self) -> None:
        """At start: an autosave left behind (a crash, or closed with unsaved edits) is offered back."""
        from editor.project import recovery_available

        path = recovery_available()
        if path is None or self.widgets is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        dpg.set_value(self.widgets.recovery_text, f"Unsaved work from {stamp} was kept when the studio last "
                                                  f"closed. Open it again?\n({path})")
        self._show_centred(self.widgets.recovery_modal)

    def recover(self) -> None:
        from editor.project import autosave_path

        dpg.configure_item(self.widgets.recovery_modal, show=False)
        self._pending_open = (str(autosave_path()), True)

    def discard_recovery(self) -> None:
        from editor.project import discard_autosave

        dpg.configure_item(self.widgets.recovery_modal, show=False)
        discard_autosave()
        self.state.notify("Discarded the unsaved work of the last session")

    def poll_edit(self) -> None:
        """Once per frame, from the frame loop: a slider drag that let go becomes one history entry; a
        project waiting for the running task opens; the autosave timer."""
        edit = self.edit
        if edit.pose_before is not None and (edit.pose_widget is None or not dpg.is_item_active(edit.pose_widget)):
            self.finish_pose_drag()
        if self._pending_open is not None and self.runner.status() is None:
            (path, recovered), self._pending_open = self._pending_open, None
            self.open_project(path, recovered)
        if self.widgets is not None:
            from app.paint_panel import poll_uv_view

            poll_uv_view(self.widgets.paint, self)
        self.poll_autosave()
