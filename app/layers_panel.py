"""The Layers tab: for the top, bottom, hair and shoes, where the layer comes from (the base's own, a gallery
sample, a typed seed) or that it is removed; and which layers the viewport shows.

Widgets forward to the studio's editing actions (app.edit_actions) and show `state.edit.composition`,
like every panel. Swaps run in the background; while one runs, the rows are disabled and its progress
shows here.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from app.edit import GARMENTS, LAYER_LABELS, REMOVED_LABELS
from app.generate import SOURCE_LABELS
from app.state import MAX_SEED, StudioState
from app.tasks import TaskStatus
from app.theme import Themes, show_task_progress, tooltip

if TYPE_CHECKING:
    from app.studio import Studio

OWN = "Own (the base's)"
SWAP_TASKS = ("swap",)
SCROLLBAR_ROOM = 40


@dataclasses.dataclass
class LayerRow:
    visible: int | str
    source: int | str  # one line: where it comes from now
    pick: int | str  # combo: own, or a gallery sample
    seed: int | str
    use_seed: int | str
    remove: int | str


@dataclasses.dataclass
class LayersWidgets:
    base: int | str
    body_visible: int | str
    rows: dict[str, LayerRow]
    progress_row: int | str
    progress: int | str
    cancel: int | str
    note: int | str
    pick_labels: dict[str, int] = dataclasses.field(default_factory=dict)  # combo item -> gallery key
    tab_bar: int | str | None = None  # set by app.panels: the tab bar and this tab in it
    tab: int | str | None = None
    synced: tuple | None = None

    @property
    def seed_inputs(self) -> list[int | str]:
        return [row.seed for row in self.rows.values()]





def build_layers_tab(studio: Studio, themes: Themes, width: int) -> LayersWidgets:
    """The tab's contents (call inside its dpg.tab)."""
    wrap = width - SCROLLBAR_ROOM
    rows: dict[str, LayerRow] = {}
    with dpg.child_window(border=False, height=-1, width=-1) as scroll:
        dpg.bind_item_theme(scroll, themes.scroll_area)
        note = themes.dim("", wrap)
        base = dpg.add_text("")
        themes.dim("Each garment can come from another avatar: pick a gallery sample or type a seed. Removing one "
                   "shows the complete body underneath. Swaps are undoable (Ctrl+Z) and saved with the project.", wrap)
        with dpg.group(horizontal=True, show=False) as progress_row:
            progress = dpg.add_progress_bar(width=-90, height=24)
            cancel = dpg.add_button(label="Cancel", width=-1, callback=lambda: studio.cancel_task())
        for layer in GARMENTS:
            dpg.add_spacer(height=4)
            with dpg.group(horizontal=True):
                visible = dpg.add_checkbox(label=LAYER_LABELS[layer], default_value=True,
                                           callback=lambda s, a, u: studio.set_layer_visible(u, a), user_data=layer)
                tooltip(visible, f"Show the {LAYER_LABELS[layer].lower()} in the viewport (a view setting: "
                                  "hidden layers are still part of the avatar and its exports).")
                source = themes.dim("", wrap - 90)
            with dpg.group(horizontal=True):
                pick = dpg.add_combo([OWN], default_value=OWN, width=150,
                                     callback=lambda s, a, u: _picked(studio, widgets, u, a), user_data=layer)
                tooltip(pick, "Take this layer from a gallery sample (Generate tab), or the base's own.")
                seed = dpg.add_input_int(default_value=0, min_value=0, max_value=MAX_SEED, min_clamped=True,
                                         max_clamped=True, width=70, step=0, on_enter=True,
                                         callback=lambda s, a, u: studio.take_layer_from_seed(u, a), user_data=layer)
                tooltip(seed, "A seed of the current source (Generate tab): Enter or Use takes this layer from it.")
                use = dpg.add_button(label="Use", callback=lambda s, a, u: studio.take_layer_from_seed(
                    u, dpg.get_value(rows[u].seed)), user_data=layer)
                remove = dpg.add_button(label="Remove", width=-1, callback=lambda s, a, u: _toggle_removed(studio, u),
                                        user_data=layer)
                tooltip(remove, f"Remove the {LAYER_LABELS[layer].lower()} ({REMOVED_LABELS[layer]}); press again "
                                 "to bring the base's own back.")
            rows[layer] = LayerRow(visible, source, pick, seed, use, remove)
        dpg.add_spacer(height=6)
        body_visible = dpg.add_checkbox(label=LAYER_LABELS["body"], default_value=True,
                                        callback=lambda s, a: studio.set_layer_visible("body", a))
        tooltip(body_visible, "Show the body (skin) in the viewport; it always comes from the base.")
    widgets = LayersWidgets(base, body_visible, rows, progress_row, progress, cancel, note)
    return widgets


def _picked(studio: Studio, widgets: LayersWidgets, layer: str, label: str) -> None:
    if label == OWN:
        studio.restore_layer(layer)
    else:
        studio.take_layer_from_gallery(layer, widgets.pick_labels[label])
    widgets.synced = None  # show the composition again (a refused swap puts the combo back)


def _toggle_removed(studio: Studio, layer: str) -> None:
    composition = studio.state.edit.composition
    if composition is not None and composition.choice(layer).removed:
        studio.restore_layer(layer)
    else:
        studio.remove_layer(layer)


def _gallery_label(entry) -> str:
    return f"{SOURCE_LABELS[entry.source]} seed {entry.seed}" + (f" ({entry.steps} steps)" if entry.steps else "")


def update_layers_tab(widgets: LayersWidgets, state: StudioState, themes: Themes, task: TaskStatus | None) -> None:
    """Progress every frame; the rows when the composition, the gallery or the visibility changed."""
    show_task_progress(widgets.progress_row, widgets.progress, widgets.cancel, task, SWAP_TASKS)
    edit, gen = state.edit, state.generate
    synced = (edit.version, gen.version, state.hidden_layers, task is not None, id(edit.composition))
    if synced == widgets.synced:
        return
    widgets.synced = synced
    composition = edit.composition
    editable = composition is not None and state.avatar is not None
    note = "" if editable else ("Opened PLY files have no layers to swap: layers apply to generated avatars."
                                if state.gaussians is not None else "Sample an avatar first (Generate tab).")
    dpg.set_value(widgets.note, note)
    dpg.configure_item(widgets.note, show=bool(note))
    dpg.set_value(widgets.base, f"Base: {composition.base.label}" if composition is not None else "Base: none")
    from app.generate import gallery_source

    labels: dict[str, int] = {}
    by_source = {}
    for entry in gen.gallery:
        label = _gallery_label(entry)
        labels[label] = entry.key
        by_source.setdefault(gallery_source(entry), label)
    widgets.pick_labels = labels
    for layer, row in widgets.rows.items():
        dpg.set_value(row.visible, layer not in state.hidden_layers)
        for item in (row.pick, row.seed, row.use_seed, row.remove):
            dpg.configure_item(item, enabled=editable and task is None)
        dpg.configure_item(row.pick, items=[OWN, *labels])
        if composition is None:
            dpg.set_value(row.source, "")
            continue
        choice = composition.choice(layer)
        if choice.removed:
            text, shown = f"removed: {REMOVED_LABELS[layer]}", OWN
        elif choice.source is None:
            text, shown = f"own ({composition.base.label})", OWN
        else:
            text, shown = f"from {choice.source.label}", by_source.get(choice.source, "")
        source = composition.source_of(layer)
        if source is not None and source in composition.latents:
            text += ", harmonised"
        dpg.set_value(row.source, text)
        dpg.set_value(row.pick, shown or source.label)
        if not dpg.is_item_active(row.seed):
            dpg.set_value(row.seed, (source or composition.base).seed)
        dpg.configure_item(row.remove, label="Restore" if choice.removed else "Remove")
    dpg.set_value(widgets.body_visible, "body" not in state.hidden_layers)
