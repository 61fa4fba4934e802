"""The Paint tab (a UV view of the selected layer's colours, brush settings, eyedropper, harmonise) and the
viewport's paint tool (stroke on the avatar, brush cursor).

Widgets forward to the studio's editing actions (app.edit_actions) and show `state.edit` (app.edit), like
every panel. The mouse over the UV view is polled once per frame, as the viewport's is: press starts a
stroke, each move continues it, release makes it one history entry. The UV view's texture is rewritten
only when the paint, the layer or the decoded maps changed, at most once per frame.

Coordinates: the UV view is the chart as a picture (core.attribute_maps): its top-left is u = 0, v = 1.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Callable

import dearpygui.dearpygui as dpg
import numpy as np

from app.edit import BRUSH_RADIUS_RANGE, LAYER_LABELS, PAINT_LAYERS
from app.state import StudioState
from app.tasks import TaskStatus
from app.theme import Themes, show_task_progress, tooltip

if TYPE_CHECKING:
    from app.studio import Studio

MODE_LABELS = {"paint": "Paint", "erase": "Erase", "blur": "Blur", "smudge": "Smudge"}
MODE_BY_LABEL = {label: mode for mode, label in MODE_LABELS.items()}
LAYER_BY_LABEL = {label: layer for layer, label in LAYER_LABELS.items()}
CHECKER = 12  # checker squares across the UV view: the empty (off-chart) texels show it
CURSOR_COLOUR = (255, 255, 255, 220)
CURSOR_SHADOW = (0, 0, 0, 160)
EYEDROPPER_COLOUR = (255, 214, 64, 230)
SCROLLBAR_ROOM = 40
HARMONISE_TASKS = ("harmonise",)
PAINT_HINT = ("Paint tool (B): left-drag paints  \u00b7  Alt+left-drag orbit  \u00b7  right-drag pan  \u00b7  "
              "Ctrl+wheel or [ ] brush size")


@dataclasses.dataclass
class PaintWidgets:
    layer: int | str
    drawlist: int | str
    image: int | str
    cursor: int | str
    cursor_shadow: int | str
    caption: int | str
    tool: int | str
    eyedropper: int | str
    mode: int | str
    colour: int | str
    radius: int | str
    hardness: int | str
    opacity: int | str
    clear: int | str
    harmonise: int | str
    harmonise_row: int | str
    harmonise_progress: int | str
    harmonise_cancel: int | str
    harmonise_note: int | str
    note: int | str
    size: int  # pixels of the UV view (square)
    textures: dict[int, int | str]  # chart resolution -> dynamic texture
    editable_items: list[int | str]
    drawn: tuple | None = None  # what the texture shows: (paint id, paint version, layer, maps id)
    tab_bar: int | str | None = None  # set by app.panels: the tab bar and this tab in it
    tab: int | str | None = None
    synced_version: int = -1
    dragging: bool = False
    last_uv: tuple[float, float] | None = None





def build_paint_tab(studio: Studio, themes: Themes, width: int) -> PaintWidgets:
    """The tab's contents (call inside its dpg.tab)."""
    wrap = width - SCROLLBAR_ROOM
    size = width - SCROLLBAR_ROOM - 4
    textures = {}
    with dpg.texture_registry():
        for r in (384, 512):  # core.attribute_maps.MAP_RESOLUTION's sizes (not imported: it loads torch)
            textures[r] = dpg.add_dynamic_texture(r, r, np.zeros(r * r * 4, np.float32))
    editable: list[int | str] = []
    with dpg.child_window(border=False, height=-1, width=-1) as scroll:
        dpg.bind_item_theme(scroll, themes.scroll_area)
        note = themes.dim("", wrap)
        with dpg.group(horizontal=True):
            dpg.add_text("Layer")
            layer = dpg.add_combo([LAYER_LABELS[n] for n in PAINT_LAYERS], default_value=LAYER_LABELS["top"],
                                  width=-1, callback=lambda s, a: studio.set_paint_layer(LAYER_BY_LABEL[a]))
        tooltip(layer, "The layer the UV view shows and UV strokes paint. A stroke on the avatar paints the "
                        "layer under the brush and selects it here.")
        with dpg.drawlist(width=size, height=size) as drawlist:
            cell = size / CHECKER
            for row in range(CHECKER):
                for col in range(CHECKER):
                    shade = 58 if (row + col) % 2 else 44
                    dpg.draw_rectangle((col * cell, row * cell), ((col + 1) * cell, (row + 1) * cell),
                                       color=(0, 0, 0, 0), fill=(shade, shade, shade + 4, 255))
            image = dpg.draw_image(textures[384], (0, 0), (size, size))
            cursor_shadow = dpg.draw_circle((0, 0), 10, color=CURSOR_SHADOW, thickness=3, show=False)
            cursor = dpg.draw_circle((0, 0), 10, color=CURSOR_COLOUR, thickness=1.5, show=False)
        caption = themes.dim("", wrap)

        with dpg.group(horizontal=True):
            half = (size - 8) // 2
            tool = dpg.add_button(label="Paint on avatar (B)", width=half, callback=lambda: studio.toggle_paint_tool())
            tooltip(tool, "Left-drag on the viewport paints the surface under the brush (it crosses UV seams); "
                           "Alt+left-drag orbits meanwhile. Press again (or B) to go back to orbiting.")
            eyedropper = dpg.add_button(label="Eyedropper (I)", width=-1, callback=lambda: studio.arm_eyedropper())
            tooltip(eyedropper, "The next click on the UV view or the avatar picks the brush colour.")
        mode = dpg.add_radio_button(list(MODE_BY_LABEL), horizontal=True, default_value="Paint",
                                    callback=lambda s, a: studio.set_brush(mode=MODE_BY_LABEL[a]))
        tooltip(mode, "Paint: the brush colour. Erase: back to the generated colours. Blur: soften. "
                       "Smudge: drag the colours along.")
        with dpg.group(horizontal=True):
            colour = dpg.add_color_edit(default_value=(204, 31, 31, 255), no_alpha=True, width=-80,
                                        callback=lambda s, a: studio.set_brush(rgb=_rgb(a)))
            dpg.add_text("colour")
        tooltip(colour, "The brush colour: click the swatch for a picker.")
        lo, hi = BRUSH_RADIUS_RANGE
        radius = dpg.add_slider_float(label="radius", min_value=100 * lo, max_value=100 * hi, default_value=3.0,
                                      format="%.1f cm", width=-80, clamped=True,
                                      callback=lambda s, a: studio.set_brush(radius=a / 100.0))
        tooltip(radius, "Brush radius on the body, centimetres. [ and ] (or Ctrl+wheel over the viewport) "
                         "change it.")
        hardness = dpg.add_slider_float(label="hardness", min_value=0.0, max_value=1.0, default_value=0.6,
                                        format="%.2f", width=-80, clamped=True,
                                        callback=lambda s, a: studio.set_brush(hardness=a))
        tooltip(hardness, "The part of the radius at full strength: 1 is a hard edge, 0 fades from the centre.")
        opacity = dpg.add_slider_float(label="opacity", min_value=0.0, max_value=1.0, default_value=1.0,
                                       format="%.2f", width=-80, clamped=True,
                                       callback=lambda s, a: studio.set_brush(opacity=a))
        tooltip(opacity, "How strongly one stroke covers what is under it (overlapping dabs do not pile up).")
        clear = dpg.add_button(label="Clear this layer's paint", width=-1, callback=lambda: studio.clear_paint())
        editable += [layer, tool, eyedropper, mode, colour, radius, hardness, opacity, clear]

        dpg.add_spacer(height=4)
        themes.heading("Harmonise")
        harmonise_note = themes.dim("", wrap)
        harmonise = dpg.add_button(label="Fold paint into the latent", width=-1, callback=lambda: studio.harmonise())
        tooltip(harmonise, "Optimises the trained model's latent of this layer's source so that the model itself "
                            "draws the paint (shape and fit stay). The paint is then cleared; undo brings it back.")
        with dpg.group(horizontal=True, show=False) as harmonise_row:
            harmonise_progress = dpg.add_progress_bar(width=-90, height=24)
            harmonise_cancel = dpg.add_button(label="Cancel", width=-1, callback=lambda: studio.cancel_task())
    return PaintWidgets(layer, drawlist, image, cursor, cursor_shadow, caption, tool, eyedropper, mode, colour,
                        radius, hardness, opacity, clear, harmonise, harmonise_row, harmonise_progress,
                        harmonise_cancel, harmonise_note, note, size, textures, editable)


def _rgb(value) -> tuple[float, float, float]:
    """A colour widget's value as rgb 0..1. Dear PyGui hands colours back in the scale they were last set in
    (this panel sets 0..255); values all <= 1 are read as 0..1, which only misreads colours darker than 1/255."""
    rgb = [float(c) for c in value[:3]]
    scale = 255.0 if max(rgb) > 1.0 else 1.0
    return tuple(min(1.0, max(0.0, c / scale)) for c in rgb)  # type: ignore[return-value]


def update_paint_tab(widgets: PaintWidgets, state: StudioState, themes: Themes, task: TaskStatus | None,
                     harmonise_blocker: Callable[[], str | None]) -> None:
    """The UV view's texture when the paint changed, the controls when the edit state changed, progress."""
    edit = state.edit
    ours = show_task_progress(widgets.harmonise_row, widgets.harmonise_progress, widgets.harmonise_cancel, task,
                              HARMONISE_TASKS)
    editable = edit.editable and state.avatar is not None
    paint = edit.paint
    if editable:
        drawn = (id(paint), paint.version, edit.paint_layer, id(edit.original_maps))
        if drawn != widgets.drawn:
            r = paint.resolution(edit.paint_layer)
            dpg.set_value(widgets.textures[r], paint.colour_map(edit.paint_layer).ravel())
            dpg.configure_item(widgets.image, texture_tag=widgets.textures[r])
            widgets.drawn = drawn
    version = (edit.version, editable, task is not None)
    if version == widgets.synced_version:
        return
    widgets.synced_version = version
    blocker = harmonise_blocker()
    dpg.configure_item(widgets.image, show=editable)
    for item in widgets.editable_items:
        dpg.configure_item(item, enabled=editable and not ours)
    dpg.configure_item(widgets.harmonise, enabled=editable and task is None and blocker is None)
    dpg.set_value(widgets.harmonise_note, blocker or "Ready: the paint of this layer can be folded "
                                                               "into its source's latent.")
    if not editable:
        note = ("Opened PLY files have no UV charts: paint applies to generated avatars."
                if state.gaussians is not None else "Sample an avatar first (Generate tab).")
    else:
        note = ""
    dpg.set_value(widgets.note, note)
    dpg.configure_item(widgets.note, show=bool(note))
    brush = edit.the_brush() if editable else None
    if brush is not None:
        dpg.set_value(widgets.layer, LAYER_LABELS[edit.paint_layer])
        dpg.set_value(widgets.mode, MODE_LABELS[brush.mode])
        dpg.set_value(widgets.colour, [round(255 * c) for c in brush.rgb] + [255])  # Dear PyGui colours: 0..255
        dpg.set_value(widgets.radius, 100.0 * brush.radius)
        dpg.set_value(widgets.hardness, brush.hardness)
        dpg.set_value(widgets.opacity, brush.opacity)
        r = paint.resolution(edit.paint_layer)
        where = "the avatar" if edit.paint_tool else "this view"
        dpg.set_value(widgets.caption, f"{LAYER_LABELS[edit.paint_layer]}: {r}\u00d7{r} texels. Drag on {where} to "
                                       f"{brush.mode}; checkered = not part of the chart.")
    dpg.bind_item_theme(widgets.tool, themes.selected_button if edit.paint_tool else 0)
    dpg.bind_item_theme(widgets.eyedropper, themes.selected_button if edit.eyedropper else 0)


def poll_uv_view(widgets: PaintWidgets, studio: Studio) -> None:
    """Once per frame: strokes (or the eyedropper) in the UV view, and its brush cursor."""
    edit = studio.state.edit
    x, y = dpg.get_mouse_pos(local=False)
    left, top = dpg.get_item_rect_min(widgets.drawlist)
    size = widgets.size
    uv = (min(1.0, max(0.0, (x - left) / size)), min(1.0, max(0.0, 1.0 - (y - top) / size)))
    hovered = bool(dpg.is_item_hovered(widgets.drawlist))
    if widgets.dragging:
        if not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
            widgets.dragging, widgets.last_uv = False, None
            studio.end_stroke()
        elif uv != widgets.last_uv:
            widgets.last_uv = uv
            studio.continue_uv_stroke(uv)
    elif hovered and dpg.is_mouse_button_clicked(dpg.mvMouseButton_Left):
        widgets.dragging = studio.begin_uv_stroke(uv)
        widgets.last_uv = uv
    show = (hovered or widgets.dragging) and edit.editable and studio.state.avatar is not None
    for item in (widgets.cursor, widgets.cursor_shadow):
        dpg.configure_item(item, show=show)
    if show:
        radius = 4.0 if edit.eyedropper else \
            edit.the_brush().radius / edit.paint.metres_per_uv(edit.paint_layer) * size
        centre = (x - left, y - top)
        dpg.configure_item(widgets.cursor, center=centre, radius=radius,
                           color=EYEDROPPER_COLOUR if edit.eyedropper else CURSOR_COLOUR)
        dpg.configure_item(widgets.cursor_shadow, center=centre, radius=radius)


class ViewportPainter:
    """The viewport's paint tool (app.viewport asks it): strokes on the avatar and the brush cursor, drawn
    on a front viewport drawlist so it follows the mouse whatever the image shows."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self._drawlist = dpg.add_viewport_drawlist(front=True)
        self._shadow = dpg.draw_circle((0, 0), 10, color=CURSOR_SHADOW, thickness=3, parent=self._drawlist,
                                       show=False)
        self._circle = dpg.draw_circle((0, 0), 10, color=CURSOR_COLOUR, thickness=1.5, parent=self._drawlist,
                                       show=False)
        self._orbit_hint: str | None = None
        self._hint_for_tool = False

    def label_hint(self, hint: int | str) -> None:
        """The viewport's navigation hint says what the mouse does with the paint tool on."""
        tool = self.studio.state.edit.paint_tool
        if tool == self._hint_for_tool:
            return
        if self._orbit_hint is None:
            self._orbit_hint = dpg.get_value(hint)
        dpg.set_value(hint, PAINT_HINT if tool else self._orbit_hint)
        self._hint_for_tool = tool

    def active(self) -> bool:
        """Left-drag paints: the paint tool is on and Alt (orbit meanwhile) is not held."""
        alt = any(dpg.is_key_down(k) for k in (dpg.mvKey_ModAlt, dpg.mvKey_LAlt, dpg.mvKey_RAlt))
        return self.studio.state.edit.paint_tool and not alt

    def press(self, x: float, y: float) -> bool:
        return self.studio.begin_view_stroke(x, y)

    def drag(self, x: float, y: float) -> None:
        self.studio.continue_view_stroke(x, y)

    def release(self) -> None:
        self.studio.end_stroke()

    def wheel(self, delta: float) -> bool:
        """Ctrl+wheel with the paint tool resizes the brush (True: the wheel is used up)."""
        ctrl = any(dpg.is_key_down(k) for k in (dpg.mvKey_ModCtrl, dpg.mvKey_LControl, dpg.mvKey_RControl))
        if not (self.studio.state.edit.paint_tool and ctrl):
            return False
        self.studio.resize_brush(delta)
        return True

    def show_cursor(self, over: bool, x: float, y: float, screen: tuple[float, float]) -> None:
        """The brush as a circle of its size on the body (at the orbit target's depth) under the mouse."""
        state = self.studio.state
        edit = state.edit
        show = over and edit.paint_tool and state.avatar is not None and edit.editable
        for item in (self._circle, self._shadow):
            dpg.configure_item(item, show=show)
        if not show:
            return
        camera = state.camera
        height = state.viewport_size[1]
        focal = height / (2.0 * math.tan(math.radians(camera.fov_y_deg) / 2.0))
        radius = 4.0 if edit.eyedropper else edit.the_brush().radius * focal / max(camera.distance, 1e-3)
        colour = EYEDROPPER_COLOUR if edit.eyedropper else CURSOR_COLOUR
        dpg.configure_item(self._circle, center=screen, radius=radius, color=colour)
        dpg.configure_item(self._shadow, center=screen, radius=radius)
