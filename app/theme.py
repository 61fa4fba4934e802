"""The studio's look: one dark theme, a readable font, and the few accent styles panels reuse.

Dear PyGui's built-in font is a 13 px bitmap font without typographic punctuation; DejaVu Sans
(present on most Linux desktops) reads better and carries the glyphs the labels use. Without it
the studio still works and falls back to the built-in font.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import dearpygui.dearpygui as dpg

from app.state import DEFAULT_BACKGROUND

FONT_SIZE = 15
ICON_FONT_SIZE = 24
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/dejavu"))

# Palette (0..255 RGB): neutral greys with one blue accent.
BG = (28, 29, 33)
PANEL = (36, 38, 43)
RAISED = (48, 51, 58)
RAISED_HOVER = (62, 66, 76)
RAISED_ACTIVE = (74, 79, 91)
BORDER = (56, 59, 67)
TEXT = (222, 224, 229)
TEXT_DIM = (138, 143, 153)
ACCENT = (64, 118, 214)
ACCENT_HOVER = (82, 136, 232)
ACCENT_ACTIVE = (52, 100, 190)
ERROR = (236, 110, 100)
JOINT_LABEL = (176, 190, 214)


@dataclasses.dataclass(frozen=True)
class Themes:
    """Tags of the styles panels bind to single items."""

    main_window: int | str
    side_column: int | str
    accent_button: int | str
    selected_button: int | str
    viewport_panel: int | str
    status_bar: int | str
    overlay_card: int | str
    dim_text: int | str
    error_text: int | str
    scroll_area: int | str  # a scrolling region inside a tab
    joint_label: int | str  # the name above a joint's sliders
    timeline_panel: int | str
    thumbnail: int | str  # a gallery thumbnail (an image button with a thin frame)
    thumbnail_selected: int | str  # the thumbnail of the avatar shown
    heading_font: int | str | None
    icon_font: int | str | None  # a larger size, for single-glyph buttons
    mono_font: int | str | None  # fixed-width digits, for counters that change every frame
    glyphs: bool  # the font has typographic glyphs (the ellipsis in labels)

    # The few styled widgets every panel uses, so they look the same everywhere.
    def heading(self, text: str) -> int | str:
        """A section heading (bold font where one was found)."""
        item = dpg.add_text(text)
        if self.heading_font is not None:
            dpg.bind_item_font(item, self.heading_font)
        return item

    def dim(self, text: str, wrap: int = 0) -> int | str:
        """Secondary text: hints and explanations."""
        item = dpg.add_text(text, wrap=wrap)
        dpg.bind_item_theme(item, self.dim_text)
        return item


def show_task_progress(row: int | str, bar: int | str, cancel: int | str, task, kinds) -> bool:
    """A panel's progress row (bar + Cancel) while a task of one of `kinds` runs; hidden otherwise.
    Returns whether it is shown. `task` is app.tasks.TaskStatus or None."""
    ours = task is not None and task.kind in kinds
    dpg.configure_item(row, show=ours)
    if ours:
        dpg.set_value(bar, task.progress)
        dpg.configure_item(bar, overlay=task.message)
        dpg.configure_item(cancel, enabled=not task.cancelling)
    return ours


def tooltip(item: int | str, text: str) -> None:
    """A hover explanation for an item."""
    with dpg.tooltip(item):
        dpg.add_text(text, wrap=320)


def _find_font(name: str) -> Path | None:
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def _button_colours(normal, hover, active) -> None:
    dpg.add_theme_color(dpg.mvThemeCol_Button, normal)
    dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, hover)
    dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, active)


def apply_theme() -> Themes:
    """Bind the global theme and font; return the item themes. Call after dpg.create_context()."""
    with dpg.theme() as global_theme:
        with dpg.theme_component(dpg.mvAll):
            colours = {
                dpg.mvThemeCol_WindowBg: BG, dpg.mvThemeCol_ChildBg: PANEL, dpg.mvThemeCol_PopupBg: (42, 44, 50),
                dpg.mvThemeCol_MenuBarBg: (23, 24, 27), dpg.mvThemeCol_Border: BORDER,
                dpg.mvThemeCol_Text: TEXT, dpg.mvThemeCol_TextDisabled: TEXT_DIM,
                dpg.mvThemeCol_FrameBg: RAISED, dpg.mvThemeCol_FrameBgHovered: RAISED_HOVER,
                dpg.mvThemeCol_FrameBgActive: RAISED_ACTIVE,
                dpg.mvThemeCol_Header: RAISED_HOVER, dpg.mvThemeCol_HeaderHovered: ACCENT,
                dpg.mvThemeCol_HeaderActive: ACCENT_ACTIVE,
                dpg.mvThemeCol_Tab: PANEL, dpg.mvThemeCol_TabHovered: ACCENT_HOVER,
                dpg.mvThemeCol_TabSelected: RAISED_ACTIVE, dpg.mvThemeCol_TabSelectedOverline: ACCENT,
                dpg.mvThemeCol_TabDimmed: PANEL, dpg.mvThemeCol_TabDimmedSelected: RAISED,
                dpg.mvThemeCol_CheckMark: ACCENT_HOVER, dpg.mvThemeCol_SliderGrab: ACCENT,
                dpg.mvThemeCol_SliderGrabActive: ACCENT_HOVER, dpg.mvThemeCol_PlotHistogram: ACCENT,
                dpg.mvThemeCol_Separator: BORDER, dpg.mvThemeCol_TitleBg: (23, 24, 27),
                dpg.mvThemeCol_TitleBgActive: (32, 34, 39), dpg.mvThemeCol_ModalWindowDimBg: (0, 0, 0, 110),
                dpg.mvThemeCol_ScrollbarBg: BG, dpg.mvThemeCol_ScrollbarGrab: RAISED,
                dpg.mvThemeCol_TableHeaderBg: RAISED, dpg.mvThemeCol_TableBorderLight: BORDER,
                dpg.mvThemeCol_TableBorderStrong: BORDER, dpg.mvThemeCol_TextSelectedBg: (64, 118, 214, 110),
            }
            for target, colour in colours.items():
                dpg.add_theme_color(target, colour)
            _button_colours(RAISED, RAISED_HOVER, RAISED_ACTIVE)
            styles = {
                dpg.mvStyleVar_WindowPadding: (12, 10), dpg.mvStyleVar_FramePadding: (9, 5),
                dpg.mvStyleVar_ItemSpacing: (8, 8), dpg.mvStyleVar_ItemInnerSpacing: (6, 5),
                dpg.mvStyleVar_CellPadding: (8, 4),
            }
            for target, (x, y) in styles.items():
                dpg.add_theme_style(target, x, y)
            for target, value in {
                dpg.mvStyleVar_FrameRounding: 4, dpg.mvStyleVar_ChildRounding: 5, dpg.mvStyleVar_PopupRounding: 5,
                dpg.mvStyleVar_WindowRounding: 6, dpg.mvStyleVar_TabRounding: 4, dpg.mvStyleVar_GrabRounding: 4,
                dpg.mvStyleVar_ScrollbarRounding: 4, dpg.mvStyleVar_ScrollbarSize: 12,
                dpg.mvStyleVar_WindowBorderSize: 0, dpg.mvStyleVar_ChildBorderSize: 0,
                dpg.mvStyleVar_PopupBorderSize: 1, dpg.mvStyleVar_TabBarBorderSize: 1,
            }.items():
                dpg.add_theme_style(target, value)
        for component in (dpg.mvButton, dpg.mvInputInt, dpg.mvRadioButton, dpg.mvSliderFloat, dpg.mvCheckbox,
                          dpg.mvCombo, dpg.mvImageButton):
            with dpg.theme_component(component, enabled_state=False):
                dpg.add_theme_color(dpg.mvThemeCol_Text, TEXT_DIM)
                _button_colours(PANEL, PANEL, PANEL)
    dpg.bind_theme(global_theme)

    with dpg.theme() as main_window:  # panels edge to edge, with thin gutters
        with dpg.theme_component(dpg.mvAll):
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 0, 0)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 10, 3)  # x: between menus; y: the gutter
    with dpg.theme() as side_column:
        with dpg.theme_component(dpg.mvAll):
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 12, 10)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 8, 8)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 0)
    with dpg.theme() as accent_button:
        with dpg.theme_component(dpg.mvButton):
            _button_colours(ACCENT, ACCENT_HOVER, ACCENT_ACTIVE)
            dpg.add_theme_color(dpg.mvThemeCol_Text, (255, 255, 255))
    with dpg.theme() as selected_button:
        with dpg.theme_component(dpg.mvButton):
            _button_colours((52, 84, 140), (66, 104, 170), ACCENT_ACTIVE)
    with dpg.theme() as viewport_panel:
        with dpg.theme_component(dpg.mvChildWindow):
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 0, 0)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 0)
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, tuple(round(255 * c) for c in DEFAULT_BACKGROUND[:3]))
    with dpg.theme() as status_bar:
        with dpg.theme_component(dpg.mvChildWindow):
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 12, 6)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 0)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 10, 4)
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (23, 24, 27))
        with dpg.theme_component(dpg.mvButton):
            dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 8, 1)
        with dpg.theme_component(dpg.mvProgressBar):
            dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 4, 1)
    with dpg.theme() as overlay_card:
        with dpg.theme_component(dpg.mvChildWindow):
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 18, 14)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 8)
            dpg.add_theme_style(dpg.mvStyleVar_ChildBorderSize, 1)
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (30, 32, 37, 235))
    with dpg.theme() as dim_text:
        with dpg.theme_component(dpg.mvText):
            dpg.add_theme_color(dpg.mvThemeCol_Text, TEXT_DIM)
    with dpg.theme() as error_text:
        with dpg.theme_component(dpg.mvText):
            dpg.add_theme_color(dpg.mvThemeCol_Text, ERROR)
    with dpg.theme() as scroll_area:
        with dpg.theme_component(dpg.mvChildWindow):
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0))
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 0, 4)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 8, 5)
    with dpg.theme() as joint_label:
        with dpg.theme_component(dpg.mvText):
            dpg.add_theme_color(dpg.mvThemeCol_Text, JOINT_LABEL)
    with dpg.theme() as timeline_panel:
        with dpg.theme_component(dpg.mvChildWindow):
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 12, 7)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 0)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 6, 6)
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, PANEL)
        with dpg.theme_component(dpg.mvImageButton):
            dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 8, 5)

    with dpg.theme() as thumbnail:
        with dpg.theme_component(dpg.mvImageButton):
            dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 2, 2)
            _button_colours(PANEL, RAISED_HOVER, RAISED_ACTIVE)
    with dpg.theme() as thumbnail_selected:
        with dpg.theme_component(dpg.mvImageButton):
            dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 2, 2)
            _button_colours(ACCENT, ACCENT_HOVER, ACCENT_ACTIVE)

    regular, bold = _find_font("DejaVuSans.ttf"), _find_font("DejaVuSans-Bold.ttf")
    mono = _find_font("DejaVuSansMono.ttf")
    heading_font = icon_font = mono_font = None
    if regular is not None:
        with dpg.font_registry():
            dpg.bind_font(dpg.add_font(str(regular), FONT_SIZE))
            icon_font = dpg.add_font(str(regular), ICON_FONT_SIZE)
            if bold is not None:
                heading_font = dpg.add_font(str(bold), FONT_SIZE)
            if mono is not None:
                mono_font = dpg.add_font(str(mono), FONT_SIZE)
    return Themes(
        main_window=main_window, side_column=side_column, accent_button=accent_button,
        selected_button=selected_button, viewport_panel=viewport_panel, status_bar=status_bar,
        overlay_card=overlay_card, dim_text=dim_text, error_text=error_text, scroll_area=scroll_area,
        joint_label=joint_label, timeline_panel=timeline_panel, thumbnail=thumbnail,
        thumbnail_selected=thumbnail_selected,
        heading_font=heading_font, icon_font=icon_font, mono_font=mono_font, glyphs=regular is not None,
    )
