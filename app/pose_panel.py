"""The Pose and Body tabs: joint sliders by region, presets, mirror, root; shape and expression sliders.

Widgets forward to the studio's actions and show the state, like every panel (app.panels). What
each slider means, its label and its limits come from the joint table in app.pose_state; nothing is
decided here. Sliders are synced from the state when the pose changed (`pose_version`), and only
where they can be seen (the Pose tab, open headers): while a clip plays that is every frame.

The Body tab's sliders depend on the body model, which (for Anny) is only known once the first
avatar has loaded, so they are built then, into a placeholder group.
"""
from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from app.pose_state import JOINT_TABLE, JOINTS, PRESETS, REGIONS, ROOT_REGION, ROOT_TRANSLATION_RANGE, joint_index
from app.state import StudioState
from app.theme import Themes, tooltip

if TYPE_CHECKING:
    from app.studio import Studio

SLIDER_LABEL_WIDTH = 84  # room right of each slider for its label
SCROLLBAR_ROOM = 40  # the side column's padding plus the tab's scrollbar
PRESET_COLUMNS = 3
RESET_GLYPH = "\u21ba"  # anticlockwise open circle arrow
TRANSLATION_LABELS = ("side", "up", "forward")  # root translation along world x, y, z
TRANSLATION_HINTS = ("towards the body's left", "up", "forward (the way the body faces at rest)")
# Slider ranges of body parameters, per body model (the models state no ranges of their own).
SHAPE_RANGES = {"anny": (0.0, 1.0), "smplx": (-3.0, 3.0)}
EXPRESSION_RANGES = {"anny": (0.0, 1.0), "smplx": (-2.0, 2.0)}
# Anny's 52 facial actions (ARKit blend-shape names) grouped by the prefixes they start with; the
# group's own word is left out of the slider labels ("mouthSmileLeft" reads "smile left" under Mouth).
EXPRESSION_GROUPS = (("Brows", ("brow",), "brow"), ("Eyes", ("eye",), "eye"), ("Mouth", ("mouth", "tongue"), "mouth"),
                     ("Jaw", ("jaw",), "jaw"), ("Cheeks & nose", ("cheek", "nose"), ""))


@dataclasses.dataclass
class SliderSection:
    """Joint sliders shown only while all of `headers` (collapsing headers, tree nodes) are open.

    Syncing only visible sections keeps playback cheap: a Dear PyGui set_value costs ~0.1-0.3 ms
    under load, and a clip changes every joint every frame.
    """

    headers: list[int | str]
    sliders: list[tuple[str, int, int | str]] = dataclasses.field(default_factory=list)  # (joint, axis, slider)
    translation: list[int | str] = dataclasses.field(default_factory=list)  # the root's x, y, z (Root only)
    synced_version: int = -1


@dataclasses.dataclass
class PoseWidgets:
    note: int | str
    preset_buttons: dict[str, int | str]
    mirror: int | str
    joint_sliders: dict[tuple[str, int], int | str]  # (joint, world axis) -> slider
    translation_sliders: list[int | str]
    editable_items: list[int | str]  # disabled while there is no avatar
    sections: list[SliderSection]
    joint_items: dict[str, list[int | str]]  # each joint's reset button and sliders
    joint_notes: dict[str, int | str]  # shown where the body has no bone for the joint
    tab_bar: int | str | None = None  # set by app.panels: the tab bar and the Pose tab in it
    tab: int | str | None = None
    enabled: tuple | None = None  # (poseable, driven joints) the controls were last enabled for


@dataclasses.dataclass
class BodyWidgets:
    container: int | str
    note: int | str
    studio: Studio  # the sliders' callbacks, for when they are built
    shape_sliders: dict[str, int | str] = dataclasses.field(default_factory=dict)
    expression_sliders: dict[str, int | str] = dataclasses.field(default_factory=dict)
    built_for: str | None = None  # the body model the sliders were built for
    shown: tuple | None = None  # the (built shape, shape, expression, poseable) the sliders show





def build_pose_tab(studio: Studio, themes: Themes, width: int) -> PoseWidgets:
    """The Pose tab's contents (call inside its dpg.tab): presets, mirror, root, joints by region."""
    editable: list[int | str] = []
    sliders: dict[tuple[str, int], int | str] = {}
    sections: list[SliderSection] = []
    blocks = _Blocks(studio, themes, sliders, {}, {})
    with dpg.child_window(border=False, height=-1, width=-1) as scroll:
        dpg.bind_item_theme(scroll, themes.scroll_area)
        note = themes.dim("", wrap=width - 40)
        themes.heading("Presets")
        buttons: dict[str, int | str] = {}
        keys = list(PRESETS)
        content = width - SCROLLBAR_ROOM
        button_width = (content - 8 * (PRESET_COLUMNS - 1)) // PRESET_COLUMNS
        for row in range(0, len(keys), PRESET_COLUMNS):
            with dpg.group(horizontal=True):
                for key in keys[row:row + PRESET_COLUMNS]:
                    buttons[key] = dpg.add_button(label=PRESETS[key].label, width=button_width, height=28,
                                                  callback=lambda s, a, u: studio.set_pose(u), user_data=key)
                    tooltip(buttons[key], PRESETS[key].description)
        editable += buttons.values()
        mirror = dpg.add_checkbox(label="Mirror left/right", callback=lambda s, a: studio.set_mirror(a))
        tooltip(mirror, "Editing a joint on one side sets the same angles on the other side "
                         "(reflected across the body's middle plane).")
        with dpg.group(horizontal=True):
            reset_all = dpg.add_button(label="Reset all", width=(content - 8) // 2,
                                       callback=lambda: studio.reset_pose())
            tooltip(reset_all, "Every joint back to rest: the T-pose.")
            floor = dpg.add_button(label="Stand on floor", width=(content - 8) // 2,
                                   callback=lambda: studio.stand_on_floor())
            tooltip(floor, "Move the root up or down until the lowest point of the body touches the floor.")
        editable += [mirror, reset_all, floor]

        with dpg.collapsing_header(label=ROOT_REGION, default_open=True) as header:
            sections.append(SliderSection([header]))
            blocks.add(JOINTS["pelvis"], sections[-1])
            translation = sections[-1].translation
            dpg.add_spacer(height=2)
            position = dpg.add_text("Root position")
            dpg.bind_item_theme(position, themes.joint_label)
            for axis, (label, hint) in enumerate(zip(TRANSLATION_LABELS, TRANSLATION_HINTS)):
                slider = dpg.add_slider_float(
                    label=label, min_value=-ROOT_TRANSLATION_RANGE, max_value=ROOT_TRANSLATION_RANGE,
                    format="%.2f m", width=-SLIDER_LABEL_WIDTH, clamped=True,
                    callback=lambda s, a, u: studio.set_root_translation(u, a), user_data=axis)
                tooltip(slider, f"Root translation along world {'xyz'[axis]}, metres: + moves the body {hint}.")
                translation.append(slider)
            editable += translation
        for region in REGIONS:
            with dpg.collapsing_header(label=region, default_open=False) as header:
                specs = [spec for spec in JOINT_TABLE if spec.region == region]
                if region == "Hands":
                    _hand_blocks(blocks, specs, header, sections)
                else:
                    sections.append(SliderSection([header]))
                    for spec in specs:
                        blocks.add(spec, sections[-1])
        dpg.add_spacer(height=8)
        themes.dim("Angles are degrees about the world axes of the rest pose; hover a slider for what a "
                   "positive value does. Ctrl+click a slider to type a value.", wrap=width - 40)
    return PoseWidgets(note, buttons, mirror, sliders, translation, editable, sections, blocks.items, blocks.notes)


@dataclasses.dataclass
class _Blocks:
    """Builds joint blocks and keeps their widgets."""

    studio: Studio
    themes: Themes
    sliders: dict[tuple[str, int], int | str]
    items: dict[str, list[int | str]]
    notes: dict[str, int | str]

    def add(self, spec, section: SliderSection) -> None:
        """A joint's name with its reset button, a note (for bodies without the joint), its three sliders."""
        studio = self.studio
        dpg.add_spacer(height=2)
        with dpg.group(horizontal=True):
            reset = dpg.add_button(label=RESET_GLYPH, width=24, callback=lambda s, a, u: studio.reset_joint(u),
                                   user_data=spec.name)
            tooltip(reset, f"Reset the {spec.label.lower()} to rest (with mirror on, its partner too).")
            label = dpg.add_text(spec.label)
            dpg.bind_item_theme(label, self.themes.joint_label)
        self.notes[spec.name] = self.themes.dim("")
        dpg.configure_item(self.notes[spec.name], show=False)
        items = [reset]
        for axis in spec.axes:
            slider = dpg.add_slider_float(
                label=axis.label, min_value=axis.lo, max_value=axis.hi, format="%.1f\u00b0", clamped=True,
                width=-SLIDER_LABEL_WIDTH, callback=lambda s, a, u: studio.set_joint_angle(u[0], u[1], a),
                user_data=(spec.name, axis.axis))
            tooltip(slider, f"{spec.label}: rotation about world {'XYZ'[axis.axis]}. + {axis.hint}. "
                             f"Range {axis.lo:.0f}\u00b0 to {axis.hi:.0f}\u00b0.")
            self.sliders[(spec.name, axis.axis)] = slider
            section.sliders.append((spec.name, axis.axis, slider))
            items.append(slider)
        self.items[spec.name] = items


def _hand_blocks(blocks: _Blocks, specs, header: int | str, sections: list[SliderSection]) -> None:
    """Hands: one tree per hand, one node per finger with its three segments."""
    for side in ("left", "right"):
        with dpg.tree_node(label=f"{side.capitalize()} hand", default_open=False) as hand:
            for finger in ("thumb", "index", "middle", "ring", "pinky"):
                with dpg.tree_node(label=finger.capitalize(), default_open=False) as node:
                    sections.append(SliderSection([header, hand, node]))
                    for spec in specs:
                        if spec.name.startswith(f"{side}_{finger}"):
                            blocks.add(spec, sections[-1])


def update_pose_tab(widgets: PoseWidgets, state: StudioState, themes: Themes) -> None:
    """Enable the controls with an avatar; show the current pose in the sliders when it changed."""
    enabled = (state.poseable, state.driven_joints)
    if enabled != widgets.enabled:
        for item in widgets.editable_items:
            dpg.configure_item(item, enabled=state.poseable)
        for joint, items in widgets.joint_items.items():
            driven = joint in state.driven_joints
            for item in items:
                dpg.configure_item(item, enabled=state.poseable and driven)
            note = widgets.joint_notes[joint]
            dpg.set_value(note, "" if driven else f"{state.body_name.capitalize()} has no bone for it"
                          + (": open the mouth with the jaw expressions (Body tab)." if joint == "jaw" else "."))
            dpg.configure_item(note, show=state.poseable and not driven)
        widgets.enabled = enabled
    if state.gaussians is not None and not state.poseable:
        note = f"{state.source} has no rig: poses apply to generated avatars."
    elif state.following_clip:
        note = (f"The sliders follow {state.timeline.clip.name}. Editing one pauses it and makes the frame "
                "shown a manual pose.")
    else:
        note = ""
    dpg.set_value(widgets.note, note)
    dpg.configure_item(widgets.note, show=bool(note))
    for key, button in widgets.preset_buttons.items():
        selected = state.poseable and key == state.pose_name and not state.following_clip
        dpg.bind_item_theme(button, themes.selected_button if selected else 0)
    dpg.set_value(widgets.mirror, state.editor.mirror)
    if not state.poseable or dpg.get_value(widgets.tab_bar) != widgets.tab:
        return
    angles, version = state.editor.angles, state.pose_version
    for section in widgets.sections:
        if section.synced_version == version or not all(dpg.get_value(h) for h in section.headers):
            continue
        for joint, axis, slider in section.sliders:
            dpg.set_value(slider, float(angles[joint_index(joint), axis]) + 0.0)  # + 0.0: no "-0.0"
        for axis, slider in enumerate(section.translation):
            dpg.set_value(slider, float(state.editor.translation[axis]) + 0.0)
        section.synced_version = version


def build_body_tab(studio: Studio, themes: Themes, width: int) -> BodyWidgets:
    """The Body tab's frame (call inside its dpg.tab); its sliders come with the body (`update_body_tab`)."""
    with dpg.child_window(border=False, height=-1, width=-1) as scroll:
        dpg.bind_item_theme(scroll, themes.scroll_area)
        note = themes.dim("The body's shape and expression sliders appear once the first avatar has loaded.",
                          wrap=width - 40)
        container = dpg.add_group()
    return BodyWidgets(container, note, studio)


def _words(name: str, strip: str) -> str:
    """A camelCase facial action as words without its group's word: ('eyeBlinkLeft', 'eye') -> 'blink left'."""
    if strip and name.startswith(strip):
        name = name[len(strip):]
    return " ".join(re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)).lower()


def _build_body_sliders(widgets: BodyWidgets, state: StudioState, themes: Themes, width: int) -> None:
    body, studio = state.body, widgets.studio
    shape_lo, shape_hi = SHAPE_RANGES.get(body.name, (-3.0, 3.0))
    expr_lo, expr_hi = EXPRESSION_RANGES.get(body.name, (-2.0, 2.0))
    parent = widgets.container
    dpg.add_spacer(height=2, parent=parent)
    with dpg.group(parent=parent):
        with dpg.group(horizontal=True):
            themes.heading("Shape")
            reset = dpg.add_button(label="Reset", small=True, callback=lambda: studio.reset_shape())
            tooltip(reset, "Back to the body's default shape.")
        for name in body.shape_names:
            slider = dpg.add_slider_float(label=name.replace("_", " "), min_value=shape_lo, max_value=shape_hi,
                                          format="%.2f", width=-SLIDER_LABEL_WIDTH, clamped=True,
                                          callback=lambda s, a, u: studio.set_shape(u, a), user_data=name)
            widgets.shape_sliders[name] = slider
        themes.dim("Shape changes the body under every layer: clothes, hair and shoes follow it.", wrap=width - 40)
        dpg.add_spacer(height=4)
        with dpg.group(horizontal=True):
            themes.heading("Expression")
            reset = dpg.add_button(label="Reset", small=True, callback=lambda: studio.reset_expression())
            tooltip(reset, "Back to a neutral face.")
        groups = EXPRESSION_GROUPS if body.name == "anny" else (("Expression", ("",), ""),)
        placed: set[str] = set()
        for title, prefixes, strip in groups:
            names = [n for n in body.expression_names if n.startswith(prefixes) and n not in placed]
            if not names:
                continue
            placed.update(names)
            opened = title in ("Mouth", "Expression")
            with dpg.collapsing_header(label=f"{title} ({len(names)})", default_open=opened):
                for name in names:
                    label = _words(name, strip) if body.name == "anny" else name
                    slider = dpg.add_slider_float(label=label, min_value=expr_lo, max_value=expr_hi, format="%.2f",
                                                  width=-SLIDER_LABEL_WIDTH - 30, clamped=True,
                                                  callback=lambda s, a, u: studio.set_expression(u, a), user_data=name)
                    tooltip(slider, name)
                    widgets.expression_sliders[name] = slider
    widgets.built_for = body.name
    dpg.configure_item(widgets.note, show=False)


def update_body_tab(widgets: BodyWidgets, state: StudioState, themes: Themes, width: int) -> None:
    """Build the sliders once the body is known; show the state's values when they changed elsewhere."""
    if state.body is None:
        return
    if widgets.built_for != state.body.name:
        _build_body_sliders(widgets, state, themes, width)
    shown = (tuple(sorted(state.built_shape.items())), tuple(sorted(state.shape.items())),
             tuple(sorted(state.expression.items())), state.poseable)
    if shown == widgets.shown:
        return
    for name, slider in widgets.shape_sliders.items():
        dpg.set_value(slider, state.shape_value(name))
        dpg.configure_item(slider, enabled=state.poseable)
    for name, slider in widgets.expression_sliders.items():
        dpg.set_value(slider, state.expression.get(name, 0.0))
        dpg.configure_item(slider, enabled=state.poseable)
    widgets.shown = shown
