"""The timeline strip under the viewport: motion picker, transport, time and frame, loop, speed, ruler.

The ruler is drawn (a Dear PyGui drawlist) rather than made of a slider, so its ticks, labels and
playhead line up exactly: seconds as major ticks with labels, frames as minor ticks where they are
far enough apart, the played part tinted, the playhead a line with a handle. Clicking or dragging
on it scrubs (the studio polls the mouse once a frame, like the viewport's navigation); scrubbing
pauses playback. It is redrawn only when what it shows changed.

Transport icons are drawn with Pillow into small textures at start-up: the UI font (DejaVu Sans)
has the play and pause shapes but not the skip-to-end ones, and drawn icons stay crisp at any size.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Callable

import dearpygui.dearpygui as dpg
import numpy as np
from PIL import Image, ImageDraw

from app.state import StudioState
from app.theme import ACCENT, BORDER, RAISED, TEXT, TEXT_DIM, Themes
from app.timeline import SPEEDS, format_time

if TYPE_CHECKING:
    from app.studio import Studio

TIMELINE_HEIGHT = 82
RULER_HEIGHT = 34
RULER_MARGIN = 10  # pixels left and right of the ruler's first and last position
ICON_SIZE = 14
MIN_LABEL_SPACING = 70  # pixels between second labels
LABEL_CHAR_WIDTH = 7  # pixels per character of a ruler label (13 px text), for fitting it
MIN_FRAME_TICK_SPACING = 5  # pixels between frame ticks before they are left out
NO_MOTION = "(none)"
SPEED_LABELS = {f"{s:g}x": s for s in SPEEDS}


@dataclasses.dataclass
class TimelineWidgets:
    panel: int | str
    motion_combo: int | str
    transport: dict[str, int | str]  # start, back, play, forward, end
    time_text: int | str
    frame_text: int | str
    in_place: int | str
    loop: int | str
    speed: int | str
    close: int | str
    ruler: int | str
    icons: dict[str, int | str]
    drawn: tuple | None = None
    scrubbing: bool = False
    shown_controls: tuple | None = None


def _icon(name: str) -> np.ndarray:
    """A white transport icon on transparent, RGBA float (ICON_SIZE^2), drawn 4x and scaled down."""
    big = 4 * ICON_SIZE
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    s = big / 16.0  # design grid: 16 x 16

    def tri(x0: float, x1: float) -> None:  # pointing right if x1 > x0, else left
        draw.polygon([(x0 * s, 2 * s), (x1 * s, 8 * s), (x0 * s, 14 * s)], fill=255)

    def bar(x0: float, x1: float) -> None:
        draw.rectangle([x0 * s, 2 * s, x1 * s, 14 * s], fill=255)

    if name == "play":
        tri(3.5, 14.0)
    elif name == "pause":
        bar(3.5, 6.5)
        bar(9.5, 12.5)
    elif name == "start":
        bar(1.5, 3.5)
        tri(9.5, 3.5)
        tri(15.5, 9.5)
    elif name == "end":
        tri(0.5, 6.5)
        tri(6.5, 12.5)
        bar(12.5, 14.5)
    elif name == "back":
        tri(10.5, 2.5)
        bar(11.5, 13.5)
    elif name == "forward":
        bar(2.5, 4.5)
        tri(5.5, 13.5)
    alpha = np.asarray(image.resize((ICON_SIZE, ICON_SIZE), Image.LANCZOS), np.float32) / 255.0
    rgba = np.ones((ICON_SIZE, ICON_SIZE, 4), np.float32)
    rgba[..., 3] = alpha
    return rgba


def build_timeline(studio: Studio, themes: Themes, builtin_motions: tuple[str, ...]) -> TimelineWidgets:
    """The strip (call where it goes in the layout); callbacks call `studio`'s actions."""
    e = studio.ellipsis
    with dpg.texture_registry():
        icons = {name: dpg.add_static_texture(ICON_SIZE, ICON_SIZE, _icon(name).ravel())
                 for name in ("start", "back", "play", "pause", "forward", "end")}
    tips = {"start": "First frame (Home)", "back": "Previous frame (Left)", "play": "Play / pause (Space)",
            "forward": "Next frame (Right)", "end": "Last frame (End)"}
    actions: dict[str, Callable[[], None]] = {
        "start": studio.go_to_start, "back": lambda: studio.step_frames(-1), "play": studio.toggle_play,
        "forward": lambda: studio.step_frames(1), "end": studio.go_to_end,
    }
    with dpg.child_window(width=-1, height=TIMELINE_HEIGHT, no_scrollbar=True, no_scroll_with_mouse=True,
                          always_use_window_padding=True) as panel:
        # Two columns: what is playing and where on the left; how it plays on the right edge.
        with dpg.table(header_row=False, policy=dpg.mvTable_SizingStretchProp, borders_innerV=False,
                       pad_outerX=False, no_pad_innerX=True):
            dpg.add_table_column(width_stretch=True, init_width_or_weight=1.0)
            dpg.add_table_column(width_fixed=True)
            with dpg.table_row():
                with dpg.group(horizontal=True):
                    combo = dpg.add_combo([NO_MOTION, *builtin_motions], default_value=NO_MOTION, width=100,
                                          callback=lambda s, a: studio.pick_motion(a))
                    _tip(combo, "Built-in motions")
                    open_button = dpg.add_button(label=e, width=28, callback=lambda: studio.ask_open_motion())
                    _tip(open_button, "Open a motion file: AMASS .npz or our .npz / .json clip (Ctrl+M)")
                    close = dpg.add_button(label="\u00d7", width=28, callback=lambda: studio.close_motion())
                    _tip(close, "Close the motion; the pose shown stays, as a manual pose")
                    dpg.add_spacer(width=6)
                    transport = {}
                    for name in ("start", "back", "play", "forward", "end"):
                        button = dpg.add_image_button(icons[name], width=ICON_SIZE, height=ICON_SIZE,
                                                      tint_color=(*TEXT, 255), callback=actions[name])
                        _tip(button, tips[name])
                        transport[name] = button
                    dpg.add_spacer(width=6)
                    time_text = dpg.add_text("--:--.-- / --:--.--")
                    frame_text = dpg.add_text("")
                    dpg.bind_item_theme(frame_text, themes.dim_text)
                    if themes.mono_font is not None:
                        dpg.bind_item_font(time_text, themes.mono_font)
                        dpg.bind_item_font(frame_text, themes.mono_font)
                with dpg.group(horizontal=True):
                    in_place = dpg.add_checkbox(label="In place", default_value=True,
                                                callback=lambda s, a: studio.set_in_place(a))
                    _tip(in_place, "Keep the body where it stands: the clip's travel over the floor is left out "
                                   "(its turns and its height are kept)")
                    loop = dpg.add_checkbox(label="Loop", default_value=True, callback=lambda s, a: studio.set_loop(a))
                    _tip(loop, "Play the clip over and over; off: stop on its last frame")
                    speed = dpg.add_combo(list(SPEED_LABELS), default_value="1x", width=64,
                                          callback=lambda s, a: studio.set_speed(SPEED_LABELS[a]))
                    _tip(speed, "Playback speed")
        ruler = dpg.add_drawlist(width=100, height=RULER_HEIGHT)
    dpg.bind_item_theme(panel, themes.timeline_panel)
    return TimelineWidgets(panel, combo, transport, time_text, frame_text, in_place, loop, speed, close, ruler, icons)


def _tip(item: int | str, text: str) -> None:
    with dpg.tooltip(item):
        dpg.add_text(text, wrap=360)


def ruler_x(time_s: float, end_s: float, width: int) -> float:
    """Pixel x on the ruler of a time (0 .. end_s spans the ruler between its margins)."""
    span = max(1.0, width - 2 * RULER_MARGIN)
    return RULER_MARGIN + span * (time_s / end_s if end_s > 0 else 0.0)


def ruler_frame(x: float, width: int, end_s: float, fps: float, num_frames: int) -> int:
    """The frame nearest to pixel x on the ruler (inverse of `ruler_x`, clamped to the clip)."""
    span = max(1.0, width - 2 * RULER_MARGIN)
    time_s = (x - RULER_MARGIN) / span * end_s
    return min(max(0, round(time_s * fps)), num_frames - 1)


def _tick_step(pixels_per_second: float) -> float:
    """Seconds between labelled ticks so labels are at least MIN_LABEL_SPACING apart."""
    for step in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0):
        if step * pixels_per_second >= MIN_LABEL_SPACING:
            return step
    return 600.0


def _draw_ruler(widgets: TimelineWidgets, state: StudioState, width: int) -> None:
    ruler, timeline = widgets.ruler, state.timeline
    dpg.delete_item(ruler, children_only=True)
    top, bottom = 15, RULER_HEIGHT - 1
    dpg.draw_rectangle((0, top), (width, bottom), fill=(*RAISED, 255), color=(*BORDER, 255), rounding=3,
                       parent=ruler)
    clip = timeline.clip
    if clip is None:
        dpg.draw_text((RULER_MARGIN, top + 2), "No motion loaded: pick a built-in one, or File > Open motion",
                      color=(*TEXT_DIM, 255), size=13, parent=ruler)
        return
    end_s = timeline.end_s
    per_second = (width - 2 * RULER_MARGIN) / max(end_s, 1e-6)
    head = ruler_x(timeline.time_s, end_s, width)
    dpg.draw_rectangle((RULER_MARGIN, top + 1), (head, bottom - 1), fill=(*ACCENT, 70), color=(0, 0, 0, 0),
                       parent=ruler)
    if per_second / clip.fps >= MIN_FRAME_TICK_SPACING:
        for k in range(clip.num_frames + (1 if timeline.loop else 0)):
            x = ruler_x(k / clip.fps, end_s, width)
            dpg.draw_line((x, bottom - 5), (x, bottom - 1), color=(*TEXT_DIM, 110), parent=ruler)
    step = _tick_step(per_second)
    for i in range(int(math.floor(end_s / step + 1e-6)) + 1):
        t = i * step
        x = ruler_x(t, end_s, width)
        dpg.draw_line((x, top + 1), (x, bottom - 1), color=(*TEXT_DIM, 200), parent=ruler)
        label = f"{t:g}s" if step < 60 else format_time(t)[:5]
        if x + 3 + LABEL_CHAR_WIDTH * len(label) <= width:  # the last one may not fit at the end
            dpg.draw_text((x + 3, 0), label, color=(*TEXT_DIM, 255), size=13, parent=ruler)
    dpg.draw_line((head, 2), (head, bottom), color=(*ACCENT, 255), thickness=2, parent=ruler)
    dpg.draw_triangle((head - 6, top - 7), (head + 6, top - 7), (head, top), color=(*ACCENT, 255),
                      fill=(*ACCENT, 255), parent=ruler)


def update_timeline(widgets: TimelineWidgets, state: StudioState) -> None:
    """Texts, the play/pause icon, enabled controls, and the ruler (redrawn only when it changed)."""
    timeline = state.timeline
    clip = timeline.clip
    loaded = clip is not None
    controls = (loaded, timeline.playing, clip.name if loaded else None, timeline.loop, timeline.speed,
                state.in_place)
    if controls != widgets.shown_controls:
        for button in (*widgets.transport.values(), widgets.close, widgets.loop, widgets.speed, widgets.in_place):
            dpg.configure_item(button, enabled=loaded)
        icon = widgets.icons["pause" if timeline.playing else "play"]
        dpg.configure_item(widgets.transport["play"], texture_tag=icon)
        dpg.set_value(widgets.motion_combo, clip.name if loaded else NO_MOTION)
        dpg.set_value(widgets.loop, timeline.loop)
        dpg.set_value(widgets.in_place, state.in_place)
        dpg.set_value(widgets.speed, f"{timeline.speed:g}x")
        widgets.shown_controls = controls
    if loaded:
        dpg.set_value(widgets.time_text, f"{format_time(timeline.time_s)} / {format_time(clip.duration)}")
        dpg.set_value(widgets.frame_text, f"frame {timeline.frame:>3} / {clip.num_frames - 1}")
    else:
        dpg.set_value(widgets.time_text, "--:--.-- / --:--.--")
        dpg.set_value(widgets.frame_text, "")
    width = int(dpg.get_item_rect_size(widgets.panel)[0]) - 24
    if width < 50:
        return
    key = (width, id(clip), clip.name if loaded else None, timeline.time_s, timeline.loop)
    if key != widgets.drawn:
        dpg.configure_item(widgets.ruler, width=width)
        _draw_ruler(widgets, state, width)
        widgets.drawn = key


def poll_scrub(widgets: TimelineWidgets, state: StudioState) -> int | None:
    """The frame to scrub to while the left button is held on the ruler (pressed there first), else None."""
    timeline = state.timeline
    if timeline.clip is None:
        widgets.scrubbing = False
        return None
    x, y = dpg.get_mouse_pos(local=False)
    (x0, y0), (w, h) = dpg.get_item_rect_min(widgets.ruler), dpg.get_item_rect_size(widgets.ruler)
    if not widgets.scrubbing:
        over = x0 <= x <= x0 + w and y0 <= y <= y0 + h and dpg.is_item_hovered(widgets.panel)
        if not (over and dpg.is_mouse_button_clicked(dpg.mvMouseButton_Left)):
            return None
        widgets.scrubbing = True
    elif not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
        widgets.scrubbing = False
        return None
    return ruler_frame(x - x0, int(w), timeline.end_s, timeline.fps, timeline.num_frames)
