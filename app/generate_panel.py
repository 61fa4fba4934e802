"""The Generate tab: source, seed, steps, Sample with its progress, the gallery, A <-> B interpolation.

Widgets forward to the studio's actions and show `state.generate` (app.generate), like every panel.
The gallery is GALLERY_SIZE image buttons built once and pointed at the entries' thumbnail textures
whenever the gallery changes (`GenerateState.version`): a texture is made when its thumbnail first
shows and deleted once its entry has left the gallery, so twelve small textures exist at most.
Thumbnails themselves are rendered by the studio (app.viewport, on the main thread's GL context).
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg
import numpy as np

from app.generate import GALLERY_SIZE, MAX_STEPS, MODEL, SOURCE_LABELS, WARDROBE, GalleryEntry, GenerateState
from app.state import MAX_SEED, StudioState
from app.tasks import TaskStatus
from app.theme import Themes, show_task_progress

if TYPE_CHECKING:
    from app.studio import Studio

THUMB_SIZE = (80, 106)  # pixels of one thumbnail image: 3:4, a standing person
GALLERY_COLUMNS = 4
PROGRESS_HEIGHT = 32
GENERATE_TASKS = ("generate", "interpolate")  # task kinds whose progress this tab shows
SOURCE_BY_LABEL = {label: source for source, label in SOURCE_LABELS.items()}


@dataclasses.dataclass
class GallerySlot:
    group: int | str
    button: int | str
    caption: int | str
    tooltip: int | str


@dataclasses.dataclass
class GenerateWidgets:
    source: int | str
    model_note: int | str
    seed_input: int | str
    sample: int | str
    steps_row: int | str
    steps: int | str
    progress_row: int | str
    progress: int | str
    cancel: int | str
    gallery_note: int | str
    slots: list[GallerySlot]
    pick_a: int | str
    pick_b: int | str
    interpolation: int | str
    interpolation_note: int | str
    registry: int | str
    blank: int | str  # an empty texture for slots whose thumbnail is not rendered
    textures: dict[int, int | str] = dataclasses.field(default_factory=dict)  # entry key -> thumbnail texture
    pick_labels: dict[str, int] = dataclasses.field(default_factory=dict)  # combo item -> entry key
    synced_version: int = -1
    synced_shown: int | None = None  # the gallery entry whose seed the seed field was set to




def build_generate_tab(studio: Studio, themes: Themes, width: int, row_height: int) -> GenerateWidgets:
    """The tab's contents (call inside its dpg.tab); callbacks call `studio`'s actions."""
    wrap = width - 40
    with dpg.texture_registry() as registry:
        blank = dpg.add_static_texture(*THUMB_SIZE, np.zeros(THUMB_SIZE[0] * THUMB_SIZE[1] * 4, np.float32))
    with dpg.child_window(border=False, height=-1, width=-1) as scroll:
        dpg.bind_item_theme(scroll, themes.scroll_area)
        with dpg.group(horizontal=True):
            themes.heading("Source")
            source = dpg.add_radio_button(list(SOURCE_BY_LABEL), horizontal=True,
                                          default_value=SOURCE_LABELS[WARDROBE],
                                          callback=lambda s, a: studio.set_source(SOURCE_BY_LABEL[a]))
        model_note = themes.dim("", wrap)

        with dpg.group(horizontal=True):
            seed_input = dpg.add_input_int(
                default_value=studio.state.seed, min_value=0, max_value=MAX_SEED, min_clamped=True,
                max_clamped=True, width=150, on_enter=True, callback=lambda s: studio.load_avatar(dpg.get_value(s)))
            with dpg.tooltip(seed_input):
                dpg.add_text("Seed: the same seed gives the same person (Enter samples it)")
            dice = dpg.add_button(label="\u2684" if themes.icon_font is not None else "?", width=row_height,
                                  height=row_height, callback=lambda: studio.random_seed())
            if themes.icon_font is not None:
                dpg.bind_item_font(dice, themes.icon_font)
            with dpg.tooltip(dice):
                dpg.add_text("Random seed, then sample it")
            sample = dpg.add_button(label="Sample", width=-1, height=row_height,
                                    callback=lambda: studio.load_avatar(dpg.get_value(seed_input)))
            dpg.bind_item_theme(sample, themes.accent_button)
        with dpg.group(horizontal=True, show=False) as steps_row:
            steps = dpg.add_slider_int(label="denoising steps", min_value=1, max_value=MAX_STEPS, width=-130,
                                       clamped=True, callback=lambda s, a: studio.set_steps(a))
        # A slot of fixed height for the progress, so the gallery does not jump when a task starts.
        with dpg.child_window(height=PROGRESS_HEIGHT, border=False, no_scrollbar=True) as slot:
            dpg.bind_item_theme(slot, themes.scroll_area)
            with dpg.group(horizontal=True, show=False) as progress_row:
                progress = dpg.add_progress_bar(width=-90, height=24)
                cancel = dpg.add_button(label="Cancel", width=-1, callback=lambda: studio.cancel_task())

        dpg.add_spacer(height=2)
        themes.heading(f"Gallery (last {GALLERY_SIZE})")
        gallery_note = themes.dim("Samples appear here; click one to show it again.", wrap)
        slots: list[GallerySlot] = []
        for row in range(math.ceil(GALLERY_SIZE / GALLERY_COLUMNS)):
            with dpg.group(horizontal=True):
                for _ in range(GALLERY_COLUMNS):
                    with dpg.group(show=False) as group:
                        button = dpg.add_image_button(blank, width=THUMB_SIZE[0], height=THUMB_SIZE[1],
                                                      callback=lambda s, a, u: studio.show_gallery_entry(u))
                        dpg.bind_item_theme(button, themes.thumbnail)
                        caption = dpg.add_text("")
                        with dpg.tooltip(button):
                            tooltip = dpg.add_text("")
                    slots.append(GallerySlot(group, button, caption, tooltip))

        dpg.add_spacer(height=2)
        themes.heading("Interpolate")
        with dpg.group(horizontal=True):
            dpg.add_text("A")
            pick_a = dpg.add_combo([], width=(width - 110) // 2, callback=lambda s, a: studio.pick_interpolation(
                "a", widgets.pick_labels[a]))
            dpg.add_text("B")
            pick_b = dpg.add_combo([], width=-1, callback=lambda s, a: studio.pick_interpolation(
                "b", widgets.pick_labels[a]))
        interpolation = dpg.add_slider_float(min_value=0.0, max_value=1.0, format="A  %.2f  B", width=-1,
                                             clamped=True, callback=lambda s, a: studio.set_interpolation(a))
        interpolation_note = themes.dim("", wrap)

        dpg.add_spacer(height=2)
        themes.heading("Body model")
        dpg.add_text(studio.body_label, wrap=wrap)

    widgets = GenerateWidgets(  # the pick combos' callbacks read its pick_labels
        source=source, model_note=model_note, seed_input=seed_input, sample=sample, steps_row=steps_row,
        steps=steps, progress_row=progress_row, progress=progress, cancel=cancel, gallery_note=gallery_note,
        slots=slots, pick_a=pick_a, pick_b=pick_b, interpolation=interpolation,
        interpolation_note=interpolation_note, registry=registry, blank=blank)
    return widgets


def update_generate_tab(widgets: GenerateWidgets, state: StudioState, themes: Themes, task: TaskStatus | None) -> None:
    """Progress every frame; everything else only when `state.generate` changed."""
    show_task_progress(widgets.progress_row, widgets.progress, widgets.cancel, task, GENERATE_TASKS)
    dpg.configure_item(widgets.sample, enabled=task is None)
    gen = state.generate
    if gen.version == widgets.synced_version:
        return
    widgets.synced_version = gen.version
    shown_source = MODEL if gen.source == MODEL or gen.model_status == "loading" else WARDROBE
    dpg.set_value(widgets.source, SOURCE_LABELS[shown_source])
    dpg.set_value(widgets.model_note, gen.model_note)
    dpg.configure_item(widgets.model_note, show=bool(gen.model_note))
    dpg.configure_item(widgets.steps_row, show=gen.source == MODEL and gen.generator is not None)
    if gen.effective_steps is not None:
        dpg.set_value(widgets.steps, gen.effective_steps)
    if gen.shown is not None and gen.shown != widgets.synced_shown and not dpg.is_item_active(widgets.seed_input):
        dpg.set_value(widgets.seed_input, gen.entry(gen.shown).seed)  # a gallery click shows its seed
        widgets.synced_shown = gen.shown
    _sync_gallery(widgets, gen, themes)
    _sync_interpolation(widgets, gen)


def _sync_gallery(widgets: GenerateWidgets, gen: GenerateState, themes: Themes) -> None:
    dpg.configure_item(widgets.gallery_note, show=not gen.gallery)
    for i, slot in enumerate(widgets.slots):
        entry = gen.gallery[i] if i < len(gen.gallery) else None
        dpg.configure_item(slot.group, show=entry is not None)
        if entry is None:
            continue
        dpg.configure_item(slot.button, texture_tag=_texture(widgets, entry), user_data=entry.key)
        dpg.bind_item_theme(slot.button, themes.thumbnail_selected if entry.key == gen.shown else themes.thumbnail)
        marks = [end for end, key in (("A", gen.pick_a), ("B", gen.pick_b)) if key == entry.key]
        dpg.set_value(slot.caption, f"{entry.seed}" + (f"  \u00b7 {'+'.join(marks)}" if marks else ""))
        steps = f", {entry.steps} steps" if entry.steps is not None else ""
        dpg.set_value(slot.tooltip, f"{SOURCE_LABELS[entry.source]} seed {entry.seed}{steps}: click to show it")
    keys = {entry.key for entry in gen.gallery}
    for key in [k for k in widgets.textures if k not in keys]:  # slots point elsewhere now: safe to delete
        dpg.delete_item(widgets.textures.pop(key))


def _texture(widgets: GenerateWidgets, entry: GalleryEntry) -> int | str:
    """The entry's thumbnail texture, made the first time it is needed."""
    if entry.key not in widgets.textures:
        if entry.thumbnail is None:
            return widgets.blank
        widgets.textures[entry.key] = dpg.add_static_texture(*THUMB_SIZE, entry.thumbnail.ravel(),
                                                             parent=widgets.registry)
    return widgets.textures[entry.key]


def _sync_interpolation(widgets: GenerateWidgets, gen: GenerateState) -> None:
    entries = gen.model_entries()
    counts: dict[int, int] = {}
    for entry in entries:
        counts[entry.seed] = counts.get(entry.seed, 0) + 1
    labels = {entry.key: entry.label + (f" ({entry.steps} steps)" if counts[entry.seed] > 1 else "")
              for entry in entries}
    widgets.pick_labels = {label: key for key, label in labels.items()}
    for combo, key in ((widgets.pick_a, gen.pick_a), (widgets.pick_b, gen.pick_b)):
        dpg.configure_item(combo, items=list(labels.values()), enabled=bool(entries))
        dpg.set_value(combo, labels.get(key, ""))
    blocker = gen.interpolation_blocker()
    dpg.configure_item(widgets.interpolation, enabled=blocker is None)
    dpg.set_value(widgets.interpolation, gen.t)
    dpg.set_value(widgets.interpolation_note, blocker or "Drag to blend A into B: each position is sampled "
                                                        "again by the model, in the background.")
