"""The Export tab: format, the options of that format, layers, the target file, progress and the outcome.

Widgets forward to the studio's actions and show `state.export` (app.export), like every panel.
Each option group is shown only for the formats it applies to (OPTION_GROUPS), so the tab lists
what the chosen format takes and nothing else. Number fields are written back from the state
(sizes are clamped, video sides made even) only while the user is not typing in them.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from app.export import EXTENSIONS, FORMATS, LAYERS, SIZE_LIMITS, TURNTABLE_FPS, blocker, layered
from app.state import StudioState
from app.tasks import TaskStatus
from app.theme import Themes, show_task_progress

if TYPE_CHECKING:
    from app.studio import Studio

FORMAT_BY_LABEL = {label: fmt for fmt, label in FORMATS.items()}
POSED_CHOICES = {"As shown (posed)": True, "Canonical (T-pose)": False}
SH_CHOICES = {"0  (base colour only)": 0, "3  (zero-padded)": 3}
OPTION_GROUPS = {"pose": ("ply", "splat"), "sh": ("ply",), "animate": ("fbx",), "image": ("png",),
                 "video": ("turntable", "motion"), "frames": ("turntable",), "layers": ("ply", "splat")}
FORMAT_NOTES = {
    "ply": "Standard 3DGS PLY: opens in Gaussian-splat viewers, and again in the studio.",
    "splat": "32 bytes per Gaussian for web splat viewers: colour and opacity only, no layers or rig.",
    "fbx": "Layer meshes with their textures, skeleton and skin weights, for Blender, Unity and Unreal.",
    "png": "Rendered from the viewport's camera.",
    "turntable": "One full turn of the camera around the avatar as shown, at 30 fps: MP4, or GIF by the name.",
    "motion": "The clip on the timeline at its frame rate, from the viewport's angle, as MP4.",
}


@dataclasses.dataclass
class ExportWidgets:
    format: int | str
    note: int | str
    groups: dict[str, int | str]  # OPTION_GROUPS key -> its group
    posed: int | str
    sh_degree: int | str
    animate: int | str
    image_size: int | str
    transparent: int | str
    video_size: int | str
    frames: int | str
    layers: dict[str, int | str]
    summary: int | str
    button: int | str
    progress_row: int | str
    progress: int | str
    cancel: int | str
    result: int | str
    synced: tuple | None = None  # the ExportState values the widgets show
    shown: tuple | None = None  # (summary, blocked, result) last shown

    @property
    def text_fields(self) -> list[int | str]:
        """Fields that take typed digits (the studio pauses plain-key shortcuts while they are active)."""
        return [self.image_size, self.video_size, self.frames]



def build_export_tab(studio: Studio, themes: Themes, width: int, row_height: int) -> ExportWidgets:
    """The tab's contents (call inside its dpg.tab); callbacks call `studio`'s actions."""
    e, wrap = studio.ellipsis, width - 40
    settings = studio.state.export
    option = studio.set_export_option
    groups: dict[str, int | str] = {}
    with dpg.child_window(border=False, height=-1, width=-1) as scroll:
        dpg.bind_item_theme(scroll, themes.scroll_area)
        themes.heading("Format")
        format_combo = dpg.add_combo(list(FORMAT_BY_LABEL), default_value=FORMATS[settings.format], width=-1,
                                     callback=lambda s, a: option("format", FORMAT_BY_LABEL[a]))
        note = dpg.add_text("", wrap=wrap)
        dpg.bind_item_theme(note, themes.dim_text)

        with dpg.group() as groups["pose"]:
            dpg.add_text("Pose")
            posed = dpg.add_radio_button(list(POSED_CHOICES), horizontal=True,
                                         callback=lambda s, a: option("posed", POSED_CHOICES[a]))
        with dpg.group() as groups["sh"]:
            dpg.add_text("Spherical harmonics degree")
            sh_degree = dpg.add_radio_button(list(SH_CHOICES), horizontal=True,
                                             callback=lambda s, a: option("sh_degree", SH_CHOICES[a]))
        with dpg.group() as groups["animate"]:
            animate = dpg.add_checkbox(label="Animate with the motion on the timeline",
                                       callback=lambda s, a: option("animate", a))
            with dpg.tooltip(animate):
                dpg.add_text("Every frame of the clip as skeleton animation; otherwise the avatar stands in the "
                             "pose shown.", wrap=320)
        lo, hi = SIZE_LIMITS
        with dpg.group() as groups["image"]:
            image_size = dpg.add_input_intx(label="width, height", size=2, width=200, min_value=lo, max_value=hi,
                                            callback=lambda s, a: option("image_size", a[:2]))
            transparent = dpg.add_checkbox(label="Transparent background",
                                           callback=lambda s, a: option("transparent", a))
        with dpg.group() as groups["video"]:
            video_size = dpg.add_input_intx(label="width, height", size=2, width=200, min_value=lo, max_value=hi,
                                            callback=lambda s, a: option("video_size", a[:2]))
        with dpg.group() as groups["frames"]:
            frames = dpg.add_input_int(label="frames", width=200, step=0,
                                       callback=lambda s, a: option("frames", a))
        with dpg.group() as groups["layers"]:
            dpg.add_text("Layers")
            layers: dict[str, int | str] = {}
            for row in (LAYERS[:3], LAYERS[3:]):
                with dpg.group(horizontal=True):
                    for name in row:
                        layers[name] = dpg.add_checkbox(label=name, default_value=True,
                                                        callback=lambda s, a, u: studio.set_export_layer(u, a),
                                                        user_data=name)

        dpg.add_spacer(height=2)
        summary = dpg.add_text("", wrap=wrap)
        button = dpg.add_button(label=f"Export{e}", width=-1, height=row_height, callback=lambda: studio.ask_export())
        dpg.bind_item_theme(button, themes.accent_button)
        with dpg.group(horizontal=True, show=False) as progress_row:
            progress = dpg.add_progress_bar(width=-90, height=24)
            cancel = dpg.add_button(label="Cancel", width=-1, callback=lambda: studio.cancel_task())
        result = dpg.add_text("", wrap=wrap)
    return ExportWidgets(
        format=format_combo, note=note, groups=groups, posed=posed, sh_degree=sh_degree, animate=animate,
        image_size=image_size, transparent=transparent, video_size=video_size, frames=frames, layers=layers,
        summary=summary, button=button, progress_row=progress_row, progress=progress, cancel=cancel, result=result)


def update_export_tab(widgets: ExportWidgets, state: StudioState, themes: Themes, task: TaskStatus | None) -> None:
    """Progress every frame; options when the settings changed; the summary when it reads differently."""
    show_task_progress(widgets.progress_row, widgets.progress, widgets.cancel, task, ("export",))
    settings = state.export
    synced = dataclasses.astuple(settings)
    if synced != widgets.synced:
        widgets.synced = synced
        _sync_options(widgets, state)
    _write_back_numbers(widgets, state)
    reason = blocker(state)
    shown = (reason or _summary(state), reason is not None, settings.result, settings.result_is_error,
             task is None, layered(state))
    if shown == widgets.shown:
        return
    widgets.shown = shown
    dpg.set_value(widgets.summary, shown[0])
    dpg.bind_item_theme(widgets.summary, themes.dim_text if reason is not None else 0)
    dpg.configure_item(widgets.button, enabled=reason is None and task is None)
    dpg.set_value(widgets.result, settings.result)
    dpg.bind_item_theme(widgets.result, themes.error_text if settings.result_is_error else themes.dim_text)
    for checkbox in widgets.layers.values():
        dpg.configure_item(checkbox, enabled=layered(state))


def _sync_options(widgets: ExportWidgets, state: StudioState) -> None:
    settings = state.export
    dpg.set_value(widgets.format, FORMATS[settings.format])
    dpg.set_value(widgets.note, FORMAT_NOTES[settings.format])
    for name, group in widgets.groups.items():
        dpg.configure_item(group, show=settings.format in OPTION_GROUPS[name])
    dpg.set_value(widgets.posed, next(label for label, on in POSED_CHOICES.items() if on == settings.posed))
    dpg.set_value(widgets.sh_degree, next(label for label, d in SH_CHOICES.items() if d == settings.sh_degree))
    dpg.set_value(widgets.animate, settings.animate)
    dpg.set_value(widgets.transparent, settings.transparent)
    for name, checkbox in widgets.layers.items():
        dpg.set_value(checkbox, name in settings.layers)


def _write_back_numbers(widgets: ExportWidgets, state: StudioState) -> None:
    settings = state.export
    for field, value in ((widgets.image_size, list(settings.image_size)), (widgets.video_size,
                         list(settings.video_size)), (widgets.frames, settings.frames)):
        shown = dpg.get_value(field)
        shown = list(shown[:2]) if isinstance(value, list) else shown
        if shown != value and not dpg.is_item_active(field):
            dpg.set_value(field, value + [0, 0] if isinstance(value, list) else value)


def _summary(state: StudioState) -> str:
    """What the Export button will write, in one line."""
    settings, clip = state.export, state.timeline.clip
    fmt = settings.format
    extensions = " or ".join(EXTENSIONS[fmt])
    if fmt in ("ply", "splat"):
        if not state.poseable:
            return f"The {len(state.gaussians):,} Gaussians of {state.source}, as {extensions}."
        how = f"as posed ({state.pose_label})" if settings.posed else "in the canonical T-pose"
        return f"{state.source.capitalize()} {how}, as {extensions}."
    if fmt == "fbx":
        if settings.animate and clip is not None:
            return f"{state.source.capitalize()} with {clip.name} ({clip.num_frames} frames) as animation."
        return f"{state.source.capitalize()} standing in the pose shown ({state.pose_label})."
    if fmt == "png":
        width, height = settings.image_size
        return f"{width}x{height} pixels of the viewport's view."
    width, height = settings.video_size
    if fmt == "turntable":
        seconds = settings.frames / TURNTABLE_FPS
        return f"{settings.frames} frames ({seconds:.1f} s) at {width}x{height}, as {extensions}."
    return f"{clip.name}: {clip.num_frames} frames at {width}x{height}, as {extensions}."
