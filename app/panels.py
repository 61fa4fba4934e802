"""The window's widgets: menu bar, the tabbed left column, the viewport panel with the timeline
strip under it, status bar, dialogs.

Widgets only forward to the studio's actions (`app.studio.Studio`) and show its state; they hold
no state of their own, so the same action behaves the same from a menu, a panel or a shortcut.
The Generate tab lives in app.generate_panel, Pose and Body in app.pose_panel, Layers in
app.layers_panel, Paint in app.paint_panel, Export in app.export_panel, the timeline strip in
app.timeline_panel.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Callable

import dearpygui.dearpygui as dpg

from app.export import EXTENSIONS, FORMATS
from app.export_panel import ExportWidgets, build_export_tab, update_export_tab
from app.generate_panel import GenerateWidgets, build_generate_tab, update_generate_tab
from app.layers_panel import LayersWidgets, build_layers_tab, update_layers_tab
from app.paint_panel import PaintWidgets, build_paint_tab, update_paint_tab
from app.pose_panel import BodyWidgets, PoseWidgets, build_body_tab, build_pose_tab, update_body_tab, update_pose_tab
from app.state import DEFAULT_BACKGROUND, StudioState
from app.tasks import TaskStatus
from app.theme import ACCENT, Themes
from app.timeline_panel import TIMELINE_HEIGHT, TimelineWidgets, build_timeline, update_timeline

if TYPE_CHECKING:
    from app.studio import Studio

# Wide enough for the six tabs at their natural width and no wider: Dear PyGui 2.3's tab bar gives
# any spare width to the first tab, which then looks oddly stretched.
LEFT_WIDTH = 412
STATUS_HEIGHT = 32
ROW_HEIGHT = 32  # the big buttons
GUTTER = 3  # pixels between the panels (the main window's item spacing)

# (keys, action) for the help window; app.studio.Studio.poll_shortcuts implements the keyboard ones.
SHORTCUTS = (
    ("Left-drag", "Orbit around the avatar"),
    ("Right- or middle-drag", "Pan"),
    ("Mouse wheel", "Zoom"),
    ("Double-click", "Frame the avatar"),
    ("F", "Frame the avatar"),
    ("1 / 2 / 3", "Front / side / back view"),
    ("Space", "Play / pause the motion"),
    ("Left / Right", "Previous / next frame"),
    ("Home / End", "First / last frame"),
    ("B", "Paint tool on / off (left-drag paints on the avatar)"),
    ("Alt+left-drag", "Orbit while the paint tool is on"),
    ("I", "Eyedropper: the next click picks the brush colour"),
    ("[ / ]", "Smaller / larger brush (also Ctrl+wheel)"),
    ("Ctrl+Z", "Undo (strokes, layer swaps, pose edits)"),
    ("Ctrl+Shift+Z, Ctrl+Y", "Redo"),
    ("Ctrl+S / Ctrl+Shift+S", "Save project / Save project as"),
    ("Ctrl+O", "Open a project (.avs)"),
    ("Ctrl+Shift+O", "Open a 3DGS PLY"),
    ("Ctrl+M", "Open a motion (.npz, .json)"),
    ("Ctrl+E", "Export, as set in the Export tab"),
    ("Ctrl+Q", "Quit"),
)


@dataclasses.dataclass
class Widgets:
    """Tags of the widgets the studio updates or opens after building."""

    viewport_panel: int | str
    generate: GenerateWidgets
    pose: PoseWidgets
    body: BodyWidgets
    export: ExportWidgets
    layers: LayersWidgets
    paint: PaintWidgets
    timeline: TimelineWidgets
    status_fps: int | str
    status_playback: int | str
    status_count: int | str
    status_renderer: int | str
    status_body: int | str
    status_task: int | str
    status_progress: int | str
    status_cancel: int | str
    status_message: int | str
    open_dialog: int | str
    motion_dialog: int | str
    export_dialogs: dict[str, int | str]  # app.export.FORMATS key -> its save dialog
    error_modal: int | str
    error_text: int | str
    shortcuts_modal: int | str
    undo_item: int | str
    redo_item: int | str
    project_open_dialog: int | str
    project_save_dialog: int | str
    recovery_modal: int | str
    recovery_text: int | str


def _note(text: str, themes: Themes, wrap: int = LEFT_WIDTH - 40) -> int | str:
    item = dpg.add_text(text, wrap=wrap)
    dpg.bind_item_theme(item, themes.dim_text)
    return item


def _status_separator(themes: Themes) -> None:
    item = dpg.add_text("|")
    dpg.bind_item_theme(item, themes.dim_text)


def build_window(studio: Studio, themes: Themes, builtin_motions: tuple[str, ...]) -> Widgets:
    """Create the primary window and its dialogs; callbacks call `studio`'s actions."""
    e = studio.ellipsis
    with dpg.window(no_scrollbar=True, no_scroll_with_mouse=True) as main:
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label=f"Open project{e}", shortcut="Ctrl+O",
                                  callback=lambda: studio.ask_open_project())
                dpg.add_menu_item(label="Save project", shortcut="Ctrl+S", callback=lambda: studio.save_project())
                dpg.add_menu_item(label=f"Save project as{e}", shortcut="Ctrl+Shift+S",
                                  callback=lambda: studio.ask_save_project_as())
                dpg.add_separator()
                dpg.add_menu_item(label=f"Open PLY{e}", shortcut="Ctrl+Shift+O", callback=lambda: studio.ask_open_ply())
                dpg.add_menu_item(label=f"Open motion{e}", shortcut="Ctrl+M", callback=lambda: studio.ask_open_motion())
                with dpg.menu(label="Built-in motion"):
                    for name in builtin_motions:
                        dpg.add_menu_item(label=name, callback=lambda s, a, u: studio.open_motion(u), user_data=name)
                dpg.add_separator()
                dpg.add_menu_item(label=f"Export{e}", shortcut="Ctrl+E", callback=lambda: studio.ask_export())
                dpg.add_separator()
                dpg.add_menu_item(label="Quit", shortcut="Ctrl+Q", callback=lambda: studio.quit())
            with dpg.menu(label="Edit"):
                undo_item = dpg.add_menu_item(label="Undo", shortcut="Ctrl+Z", callback=lambda: studio.undo())
                redo_item = dpg.add_menu_item(label="Redo", shortcut="Ctrl+Shift+Z", callback=lambda: studio.redo())
                dpg.add_separator()
                dpg.add_menu_item(label="Paint tool", shortcut="B", callback=lambda: studio.toggle_paint_tool())
                dpg.add_menu_item(label="Eyedropper", shortcut="I", callback=lambda: studio.arm_eyedropper())
            with dpg.menu(label="View"):
                for key, name in (("1", "front"), ("2", "side"), ("3", "back")):
                    dpg.add_menu_item(label=name.capitalize(), shortcut=key,
                                      callback=lambda s, a, u: studio.view_preset(u), user_data=name)
                dpg.add_separator()
                dpg.add_menu_item(label="Frame avatar", shortcut="F", callback=lambda: studio.frame())
                dpg.add_separator()
                with dpg.menu(label="Background colour"):
                    picker = dpg.add_color_picker(default_value=DEFAULT_BACKGROUND, no_alpha=True, width=220,
                                                  callback=lambda s: studio.set_background(dpg.get_value(s)))

                    def reset_background() -> None:
                        dpg.set_value(picker, DEFAULT_BACKGROUND)
                        studio.set_background(DEFAULT_BACKGROUND)

                    dpg.add_button(label="Reset to default", width=-1, callback=reset_background)
            with dpg.menu(label="Help"):
                dpg.add_menu_item(label="Keyboard shortcuts", callback=lambda: studio.show_shortcuts())

        with dpg.group(horizontal=True, horizontal_spacing=GUTTER):
            with dpg.child_window(width=LEFT_WIDTH, height=-(STATUS_HEIGHT + GUTTER), no_scrollbar=True,
                                  always_use_window_padding=True) as side_column:
                generate, pose, body, layers, paint, export = _build_tabs(studio, themes)
            dpg.bind_item_theme(side_column, themes.side_column)
            with dpg.group():
                with dpg.child_window(width=-1, height=-(STATUS_HEIGHT + TIMELINE_HEIGHT + 2 * GUTTER),
                                      no_scrollbar=True, no_scroll_with_mouse=True) as viewport_panel:
                    pass
                dpg.bind_item_theme(viewport_panel, themes.viewport_panel)
                timeline = build_timeline(studio, themes, builtin_motions)

        with dpg.child_window(width=-1, height=STATUS_HEIGHT, no_scrollbar=True,
                              always_use_window_padding=True) as status_bar:
            with dpg.group(horizontal=True):
                status_fps = dpg.add_text("-- fps")
                _status_separator(themes)
                status_playback = dpg.add_text("", show=False)
                status_count = dpg.add_text("no Gaussians")
                _status_separator(themes)
                status_renderer = dpg.add_text("")
                _status_separator(themes)
                status_body = dpg.add_text("")
                _status_separator(themes)
                status_task = dpg.add_text("", show=False)
                status_progress = dpg.add_progress_bar(width=140, height=18, show=False)
                status_cancel = dpg.add_button(label="Cancel", show=False, callback=lambda: studio.cancel_task())
                status_message = dpg.add_text("")
        dpg.bind_item_theme(status_bar, themes.status_bar)
    dpg.bind_item_theme(main, themes.main_window)
    dpg.set_primary_window(main, True)

    open_dialog = _file_dialog("Open 3DGS PLY", lambda s, a: studio.open_ply(_chosen_file(a)), "", (".ply",))
    motion_dialog = _file_dialog("Open motion", lambda s, a: studio.open_motion(_chosen_file(a)), "",
                                 (".npz", ".json"), "Motion clips (*.npz *.json)")
    # Saving takes the typed name (the dialog adds the extension); a highlighted entry may be a folder.
    project_open_dialog = _file_dialog("Open project", lambda s, a: studio.open_project(_chosen_file(a)), "",
                                       (".avs",), "avatar-studio projects (*.avs)")
    project_save_dialog = _file_dialog("Save project", lambda s, a: studio.save_project(a["file_path_name"]),
                                       "avatar", (".avs",))
    export_dialogs = {fmt: _file_dialog(f"Export {label}", lambda s, a: studio.export(a["file_path_name"]), "avatar",
                                        EXTENSIONS[fmt]) for fmt, label in FORMATS.items()}

    with dpg.window(label="Something went wrong", modal=True, show=False, no_resize=True, autosize=True,
                    no_collapse=True) as error_modal:
        error_text = dpg.add_text("", wrap=460)
        dpg.add_spacer(height=4)
        ok = dpg.add_button(label="OK", width=90, callback=lambda: dpg.configure_item(error_modal, show=False))
        dpg.bind_item_theme(ok, themes.accent_button)

    with dpg.window(label="Recover unsaved work?", modal=True, show=False, no_resize=True, autosize=True,
                    no_collapse=True, no_close=True) as recovery_modal:
        recovery_text = dpg.add_text("", wrap=460)
        dpg.add_spacer(height=4)
        with dpg.group(horizontal=True):
            recover = dpg.add_button(label="Recover", width=110, callback=lambda: studio.recover())
            dpg.bind_item_theme(recover, themes.accent_button)
            dpg.add_button(label="Discard", width=110, callback=lambda: studio.discard_recovery())

    with dpg.window(label="Keyboard shortcuts", modal=True, show=False, no_resize=True, autosize=True,
                    no_collapse=True) as shortcuts_modal:
        with dpg.table(header_row=True, borders_innerH=True, borders_outerH=True,
                       policy=dpg.mvTable_SizingFixedFit):
            dpg.add_table_column(label="Keys")
            dpg.add_table_column(label="Action")
            for keys, action in SHORTCUTS:
                with dpg.table_row():
                    dpg.add_text(keys)
                    dpg.add_text(action)
        dpg.add_spacer(height=4)
        dpg.add_text("Mouse navigation works while the pointer is over the viewport.", wrap=420)
        dpg.add_button(label="Close", width=90, callback=lambda: dpg.configure_item(shortcuts_modal, show=False))

    return Widgets(
        viewport_panel=viewport_panel, generate=generate, pose=pose, body=body, export=export, layers=layers,
        paint=paint, timeline=timeline,
        status_fps=status_fps, status_playback=status_playback,
        status_count=status_count, status_renderer=status_renderer, status_body=status_body,
        status_task=status_task, status_progress=status_progress, status_cancel=status_cancel,
        status_message=status_message, open_dialog=open_dialog, motion_dialog=motion_dialog,
        export_dialogs=export_dialogs, error_modal=error_modal, error_text=error_text, shortcuts_modal=shortcuts_modal,
        undo_item=undo_item, redo_item=redo_item, project_open_dialog=project_open_dialog,
        project_save_dialog=project_save_dialog, recovery_modal=recovery_modal, recovery_text=recovery_text,
    )


def _build_tabs(studio: Studio, themes: Themes) -> tuple[GenerateWidgets, PoseWidgets, BodyWidgets, LayersWidgets,
                                                         PaintWidgets, ExportWidgets]:
    with dpg.tab_bar() as tab_bar:
        with dpg.tab(label="Generate"):
            generate = build_generate_tab(studio, themes, LEFT_WIDTH, ROW_HEIGHT)

        with dpg.tab(label="Pose") as pose_tab:
            pose = build_pose_tab(studio, themes, LEFT_WIDTH)
            pose.tab_bar, pose.tab = tab_bar, pose_tab

        with dpg.tab(label="Body"):
            body = build_body_tab(studio, themes, LEFT_WIDTH)

        with dpg.tab(label="Layers") as layers_tab:
            layers = build_layers_tab(studio, themes, LEFT_WIDTH)
            layers.tab_bar, layers.tab = tab_bar, layers_tab

        with dpg.tab(label="Paint") as paint_tab:
            paint = build_paint_tab(studio, themes, LEFT_WIDTH)
            paint.tab_bar, paint.tab = tab_bar, paint_tab

        with dpg.tab(label="Export"):
            export = build_export_tab(studio, themes, LEFT_WIDTH, ROW_HEIGHT)
    return generate, pose, body, layers, paint, export


def _file_dialog(label: str, callback, default_filename: str, extensions: tuple[str, ...],
                 all_of_them: str | None = None) -> int | str:
    """A file dialog listing `extensions` (first, all of them together under the name `all_of_them`)."""
    with dpg.file_dialog(label=label, show=False, modal=True, width=760, height=480, callback=callback,
                         default_path=os.getcwd(), default_filename=default_filename) as dialog:
        if all_of_them is not None:
            dpg.add_file_extension(all_of_them + "{" + ",".join(extensions) + "}", color=(*ACCENT, 255))
        for extension in extensions:
            dpg.add_file_extension(extension, color=(*ACCENT, 255))
    return dialog


def _chosen_file(app_data: dict) -> str:
    """The file an open dialog returned: the clicked entry when there is one, else the typed name."""
    selections = list((app_data.get("selections") or {}).values())
    return selections[0] if selections else app_data["file_path_name"]


def update_panels(widgets: Widgets, state: StudioState, themes: Themes, task: TaskStatus | None,
                  harmonise_blocker: Callable[[], str | None] = lambda: None) -> None:
    """Sync the side panels and the timeline with the state (cheap: set_value calls where things changed)."""
    update_layers_tab(widgets.layers, state, themes, task)
    update_paint_tab(widgets.paint, state, themes, task, harmonise_blocker)
    history = state.edit.history
    dpg.configure_item(widgets.undo_item, label=f"Undo {history.undo_label}" if history.can_undo else "Undo",
                       enabled=history.can_undo)
    dpg.configure_item(widgets.redo_item, label=f"Redo {history.redo_label}" if history.can_redo else "Redo",
                       enabled=history.can_redo)
    update_generate_tab(widgets.generate, state, themes, task)
    update_pose_tab(widgets.pose, state, themes)
    update_body_tab(widgets.body, state, themes, LEFT_WIDTH)
    update_export_tab(widgets.export, state, themes, task)
    update_timeline(widgets.timeline, state)


def update_status_bar(widgets: Widgets, state: StudioState, themes: Themes, fps_text: str,
                      renderer: str, task: TaskStatus | None, playback_fps: float | None) -> None:
    """fps, playback rate, Gaussian count, renderer, body model, the running task (with Cancel), the last message."""
    dpg.set_value(widgets.status_fps, fps_text)
    clip = state.timeline.clip
    dpg.configure_item(widgets.status_playback, show=clip is not None)
    if clip is not None:
        if state.timeline.playing and playback_fps is not None:
            text = f"playback {playback_fps:.1f} of {clip.fps:g} fps"
        else:
            text = f"{'playing' if state.timeline.playing else 'paused'}  ({clip.fps:g} fps clip)"
        dpg.set_value(widgets.status_playback, text + "  |")
    count = "no Gaussians" if state.gaussians is None else f"{len(state.gaussians):,} Gaussians"
    dpg.set_value(widgets.status_count, count)
    dpg.set_value(widgets.status_renderer, renderer)
    dpg.set_value(widgets.status_body, f"body: {state.body_name}")
    for item in (widgets.status_task, widgets.status_progress, widgets.status_cancel):
        dpg.configure_item(item, show=task is not None)
    if task is not None:
        dpg.set_value(widgets.status_task, task.name)
        dpg.set_value(widgets.status_progress, task.progress)
        dpg.configure_item(widgets.status_cancel, enabled=not task.cancelling)
    dpg.set_value(widgets.status_message, state.message)
    dpg.bind_item_theme(widgets.status_message, themes.error_text if state.message_is_error else 0)
