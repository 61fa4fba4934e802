"""The viewport panel: the splat image in a raw texture sized to the panel, mouse navigation, overlays.

Why it is built this way:
- Rendering happens only when the picture would change (scene, camera, size, background: the
  state's version counters); otherwise the texture keeps the last image.
- The texture is a dynamic one, exactly the panel's size (re-created on resize): it is uploaded
  only when a new image is set. A raw texture is re-uploaded on every frame, which under llvmpipe
  made an idle frame of a 1040x800 viewport cost 74 ms instead of 29 ms.
- The splat renderer draws through moderngl on Dear PyGui's own OpenGL context, on the main
  thread. A second (EGL) context made current on the same thread stole GL dispatch from Dear
  PyGui, which then drew garbage; sharing its context avoids any context switch. After each render
  the default framebuffer is bound again, because Dear PyGui draws into whatever is bound.
- While a drag moves the camera, frames render at half size into a second, smaller texture that
  the image stretches over the panel; the full-size render follows on release. On llvmpipe the tile
  path's binning and kernel cost per (tile, splat) pair, which halving the size cuts ~3x, plus 4x
  less pixel conversion and upload.
  Motion playback and pose or shape slider drags do the same while a full-size render takes longer
  than LIVE_BUDGET_MS (software GL): a clip then plays, and a slider follows the mouse, at a rate
  that reads as motion; the full-size image follows on pause or release. On a GPU full-size renders
  fit the budget and stay full size.
- Live frames on software GL also draw fewer Gaussians (level of detail, `GLSplatRenderer.render`'s
  `detail`: an even sample, grown to cover), which saves the per-splat part of the work (projection,
  sort, list loads). The fraction adapts so a live render takes about LIVE_TARGET_MS; pausing or
  releasing renders everything at full size again.
- The renderer's path is `viewer.gl_renderer.preferred_mode`: the tile path (its per-tile kernel on llvmpipe).
- Gallery thumbnails render here too (`render_thumbnail`), with a second renderer on the same
  context: it keeps its own buffers, so the viewport's uploaded scene stays as it is.
- Mouse input is polled once per frame: a drag belongs to the button that started it over the
  viewport and continues outside it until released, as in any 3D tool.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Callable

import dearpygui.dearpygui as dpg
import moderngl
import numpy as np

from app.state import StudioState
from app.tasks import TaskStatus
from app.theme import Themes

if TYPE_CHECKING:
    from core.gaussians import LayeredGaussians

MIN_SIZE = 16
DRAG_BUTTONS = (dpg.mvMouseButton_Left, dpg.mvMouseButton_Right, dpg.mvMouseButton_Middle)
CARD_WIDTH = 460
DRAG_REDUCTION = 2  # while dragging, render at 1/2 of the panel's width and height
LIVE_BUDGET_MS = 40.0  # a full-size render slower than this plays motion and slider drags at the drag size
SLIDER_SETTLE_S = 0.3  # a slider counts as dragged this long after its last move
LIVE_TARGET_MS = 15.0  # a live frame's render aims at this (software GL), by drawing fewer Gaussians
MIN_DETAIL = 0.15  # never fewer than this fraction of the Gaussians (below, faces and hands blur away)


def renderer_name(ctx: moderngl.Context) -> str:
    """The GL_RENDERER string without its version details: 'llvmpipe', 'NVIDIA H100 80GB HBM3/PCIe/SSE2'."""
    return ctx.info["GL_RENDERER"].split(" (")[0]


class Viewport:
    """Owns the render texture, the renderer, navigation and the overlays of one panel."""

    def __init__(self, panel: int | str, state: StudioState, ctx: moderngl.Context, themes: Themes,
                 on_cancel: Callable[[], None], ellipsis: str) -> None:
        self.panel = panel
        self.state = state
        self.ctx = ctx
        self.last_render_ms: float | None = None
        self._full_size_ms = 0.0  # the last full-size render
        self._live_detail = 1.0  # fraction of the Gaussians live frames draw on slow GL (adapts)
        self._renderer = None  # GLSplatRenderer, created with the first scene (its module loads torch)
        self._thumbnail_renderer = None  # another one for gallery thumbnails, created with the first
        self._uploaded_scene = -1
        self._rendered_key: tuple | None = None
        self._drag_button: int | None = None
        self._last_mouse = (0.0, 0.0)
        self._size = (0, 0)
        self._registry = dpg.add_texture_registry()
        self._pixels: dict[int, np.ndarray] = {}  # reduction -> the float RGBA image shown at that size
        self._texture: int | str | None = None  # the raw texture over the shown reduction's pixels
        self._shown_reduction = 1
        self._image: int | str | None = None
        self._ellipsis = ellipsis
        self.painter = None  # app.paint_panel.ViewportPainter: with the paint tool on, left-drag paints
        self._painting = False

        # Overlays, drawn over the image (later children of the panel draw on top).
        self._caption = dpg.add_text("", parent=panel, pos=(14, 10))
        self._hint = dpg.add_text(
            "Left-drag orbit  ·  right-drag pan  ·  wheel zoom  ·  double-click frame",
            parent=panel, pos=(14, 0),
        )
        dpg.bind_item_theme(self._hint, themes.dim_text)
        with dpg.child_window(parent=panel, width=CARD_WIDTH, auto_resize_y=True, show=False, no_scrollbar=True,
                              always_use_window_padding=True) as card:
            self._card = card
            self._card_title = dpg.add_text("", wrap=CARD_WIDTH - 40)
            if themes.heading_font is not None:
                dpg.bind_item_font(self._card_title, themes.heading_font)
            self._card_progress = dpg.add_progress_bar(width=-1, height=22)
            with dpg.group(horizontal=True) as row:
                self._card_row = row
                self._card_cancel = dpg.add_button(label="Cancel", width=90, callback=lambda: on_cancel())
                self._card_detail = dpg.add_text("")
                dpg.bind_item_theme(self._card_detail, themes.dim_text)
            self._card_hint = dpg.add_text("", wrap=CARD_WIDTH - 40)
            dpg.bind_item_theme(self._card_hint, themes.dim_text)
        dpg.bind_item_theme(card, themes.overlay_card)

    # -- per frame -----------------------------------------------------------------------------

    def update(self, task: TaskStatus | None) -> bool:
        """Fit, navigate, render if needed, place overlays. True when something moved or changed."""
        resized = self._fit_to_panel()
        navigated = self._navigate()
        if self.painter is not None:
            x, y = dpg.get_mouse_pos(local=False)
            left, top = self._origin()
            self.painter.show_cursor(self._painting or (self._drag_button is None and self._hovered()),
                                     x - left, y - top, (x, y))
            self.painter.label_hint(self._hint)
        rendered = self._render_if_changed()
        self._update_overlays(task)
        return resized or navigated or rendered

    def on_wheel(self, delta: float) -> None:
        """Mouse-wheel handler: zoom when the pointer is over the viewport."""
        if self.state.gaussians is not None and self._hovered():
            if self.painter is not None and self.painter.wheel(delta):
                return  # Ctrl+wheel with the paint tool: brush size
            self.state.zoom(delta)

    def render_thumbnail(self, gaussians: LayeredGaussians, size: tuple[int, int]) -> np.ndarray:
        """A front view of `gaussians` filling a `size` (width, height) image: RGBA float32 0..1 for a
        Dear PyGui texture. Rendered at twice the size and averaged down, which smooths the edges."""
        from viewer.camera import OrbitCamera
        from viewer.gl_renderer import GLSplatRenderer

        if self._thumbnail_renderer is None:
            from viewer.gl_renderer import preferred_mode

            self._thumbnail_renderer = GLSplatRenderer(ctx=self.ctx, mode=preferred_mode(self.ctx))
        width, height = size
        camera = OrbitCamera()
        camera.frame(gaussians.means.min(0).values.tolist(), gaussians.means.max(0).values.tolist(), width / height)
        g = gaussians
        self._thumbnail_renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors)
        try:
            image = self._thumbnail_renderer.render(camera, 2 * width, 2 * height, background=self.state.background)
        finally:
            self.ctx.screen.use()  # Dear PyGui draws into whatever framebuffer is bound
        image = image.astype(np.float32).reshape(height, 2, width, 2, 4).mean(axis=(1, 3))
        return np.ascontiguousarray(image / 255.0, dtype=np.float32)

    def release(self) -> None:
        """Free the renderers' GL objects (before the context goes away)."""
        for renderer in (self._renderer, self._thumbnail_renderer):
            if renderer is not None:
                renderer.release()
        self._renderer = self._thumbnail_renderer = None

    # -- pieces --------------------------------------------------------------------------------

    def _fit_to_panel(self) -> bool:
        """(Re)create the full-size and the drag-size pixel buffers when the panel's size changes, and the
        raw texture that shows the full-size one."""
        width, height = (int(v) for v in dpg.get_item_rect_size(self.panel))
        if width < MIN_SIZE or height < MIN_SIZE or (width, height) == self._size:
            return False
        old = [self._image, self._texture]
        self._pixels = {}
        for reduction in (1, DRAG_REDUCTION):
            w, h = -(-width // reduction), -(-height // reduction)
            self._pixels[reduction] = np.zeros((h, w, 4), np.float32)
        self._texture = self._raw_texture(1)
        self._image = dpg.add_image(self._texture, width=width, height=height, parent=self.panel,
                                    before=self._caption, pos=(0, 0))
        self._shown_reduction = 1
        for item in old:
            if item is not None:
                dpg.delete_item(item)
        self._size = (width, height)
        self.state.set_viewport_size(width, height)
        dpg.configure_item(self._hint, pos=(14, height - 30))
        return True

    def _raw_texture(self, reduction: int) -> int | str:
        """A raw texture over the pixel buffer of `reduction`. Dear PyGui reads a raw texture's buffer in
        place and uploads it every frame; a dynamic texture's `set_value` instead copies the values one
        by one (measured here: 50 ms for the 984x715 float image, 12 ms at half size, against ~2-6 ms of
        upload), so only the shown buffer has a texture: each registered raw texture uploads every frame."""
        pixels = self._pixels[reduction]
        return dpg.add_raw_texture(pixels.shape[1], pixels.shape[0], pixels, format=dpg.mvFormat_Float_rgba,
                                   parent=self._registry)

    def _origin(self) -> tuple[float, float]:
        """Screen position of the image's top-left pixel (child windows report no rect of their own)."""
        return tuple(dpg.get_item_rect_min(self._image)) if self._image is not None else (0.0, 0.0)

    def _hovered(self) -> bool:
        """Pointer over the viewport and not blocked by a menu, popup or modal dialog."""
        return bool(dpg.is_item_hovered(self.panel))

    def _navigate(self) -> bool:
        """Left-drag orbits, right/middle-drag pans, double-click frames. True when anything happened."""
        state = self.state
        if state.gaussians is None:
            self._drag_button = None
            return False
        x, y = dpg.get_mouse_pos(local=False)
        left, top = self._origin()
        if self._drag_button is None:
            if not self._hovered():
                return False
            if self.painter is not None and self.painter.active() and dpg.is_mouse_button_clicked(
                    dpg.mvMouseButton_Left):  # the paint tool: left-drag paints (Alt+left-drag still orbits)
                self._drag_button, self._last_mouse = dpg.mvMouseButton_Left, (x, y)
                self._painting = self.painter.press(x - left, y - top)
                return True
            if dpg.is_mouse_button_double_clicked(dpg.mvMouseButton_Left):
                state.frame()
                return True
            for button in DRAG_BUTTONS:
                if dpg.is_mouse_button_clicked(button):
                    self._drag_button, self._last_mouse = button, (x, y)
                    return True
            return False
        if not dpg.is_mouse_button_down(self._drag_button):
            if self._painting:
                self.painter.release()
            self._drag_button, self._painting = None, False
            return True
        dx, dy = x - self._last_mouse[0], y - self._last_mouse[1]
        self._last_mouse = (x, y)
        if dx == 0 and dy == 0:
            return False
        if self._painting:
            self.painter.drag(x - left, y - top)
        elif self._drag_button == dpg.mvMouseButton_Left:
            state.orbit(dx, dy)
        else:
            state.pan(dx, dy)
        return True

    def _render_if_changed(self) -> bool:
        """Render when the picture would change; while dragging (or playing or moving a slider, if full
        size is slow) at reduced size, once more at full size after."""
        state = self.state
        key = (state.scene_version, state.view_version, self._size)
        live = state.timeline.playing or time.perf_counter() - state.last_slider_edit_s < SLIDER_SETTLE_S
        slow = self._full_size_ms > LIVE_BUDGET_MS
        dragging = (self._drag_button is not None or (live and slow)) and state.gaussians is not None
        refine = self._shown_reduction != 1 and not dragging
        if not self._pixels or (key == self._rendered_key and not refine):
            return False
        reduction = DRAG_REDUCTION if dragging else 1
        pixels = self._pixels[reduction]
        if state.gaussians is None:
            pixels[:] = state.background
        else:
            detail = self._live_detail if dragging and slow else 1.0
            image = self._render(pixels.shape[1], pixels.shape[0], detail)
            np.multiply(image, np.float32(1 / 255), out=pixels, casting="unsafe")
            if reduction == 1:
                self._full_size_ms = self.last_render_ms
            elif slow:  # steer the next live frame's detail towards the target time
                step = min(1.5, max(0.5, LIVE_TARGET_MS / max(self.last_render_ms, 1e-3)))
                self._live_detail = min(1.0, max(MIN_DETAIL, detail * step))
        if reduction != self._shown_reduction:  # the raw texture reads `pixels` in place from now on
            old, self._texture = self._texture, self._raw_texture(reduction)
            dpg.configure_item(self._image, texture_tag=self._texture)
            dpg.delete_item(old)
            self._shown_reduction = reduction
        self._rendered_key = key
        return True

    def _render(self, width: int, height: int, detail: float = 1.0) -> np.ndarray:
        state = self.state
        if self._renderer is None:
            from viewer.gl_renderer import GLSplatRenderer, preferred_mode, share_cores_with_software_gl

            self._renderer = GLSplatRenderer(ctx=self.ctx, mode=preferred_mode(self.ctx))
            share_cores_with_software_gl(self.ctx)
        if self._uploaded_scene != state.scene_version:
            g = state.gaussians
            self._renderer.set_gaussians(g.means, g.quats, g.scales, state.shown_opacities(), g.colors)
            self._uploaded_scene = state.scene_version
        start = time.perf_counter()
        try:
            return self._renderer.render(state.camera, width, height, background=state.background, detail=detail)
        finally:
            self.ctx.screen.use()  # Dear PyGui draws into whatever framebuffer is bound
            self.last_render_ms = 1e3 * (time.perf_counter() - start)

    def _update_overlays(self, task: TaskStatus | None) -> None:
        state = self.state
        showing = state.gaussians is not None
        caption = ""
        if showing:
            caption = state.source
            if state.poseable:
                caption = f"{state.source.capitalize()}  ·  {state.pose_label}"
        dpg.set_value(self._caption, caption)
        dpg.configure_item(self._hint, show=showing)
        dpg.configure_item(self._card, show=not showing)
        if showing:
            return
        busy = task is not None
        for item in (self._card_progress, self._card_row):
            dpg.configure_item(item, show=busy)
        dpg.configure_item(self._card_hint, show=not busy)
        if busy:
            minutes, seconds = divmod(int(task.elapsed_s), 60)
            dpg.set_value(self._card_title, task.message)
            dpg.set_value(self._card_progress, task.progress)
            dpg.configure_item(self._card_progress, overlay=f"{math.floor(100 * task.progress)}%")
            detail = f"{minutes}:{seconds:02d} elapsed"
            if task.cancelling:
                detail += f"  ·  cancelling after this step{self._ellipsis}"
            dpg.set_value(self._card_detail, detail)
            dpg.configure_item(self._card_cancel, enabled=not task.cancelling)
        else:
            dpg.set_value(self._card_title, "No avatar loaded")
            dpg.set_value(self._card_hint, "Generate > Sample builds an avatar from a seed.\n"
                                           f"File > Open PLY{self._ellipsis} shows any 3DGS PLY.")
        card_w, card_h = dpg.get_item_rect_size(self._card)
        width, height = self._size
        dpg.configure_item(self._card, pos=(max(0, (width - card_w) // 2), max(0, (height - card_h) // 2)))
