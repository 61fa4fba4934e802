"""The studio's editing state: where each layer comes from, the paint and the brush, the one undo history,
and the project file the work belongs to. No widgets here (app.layers_panel and app.paint_panel show it;
app.edit_actions holds the Studio's editing actions), and torch-backed types are only named for type
checking, so importing this module stays cheap.

What is one document, and why: the avatar shown is a `Composition` (editor.composition) plus paint
(editor.paint) plus the pose. Sampling a new person (Generate tab, gallery, interpolation) starts a new
document: fresh paint, an empty history, no project file. Everything done to the person from then on
(layer swaps, strokes, pose edits, harmonising) goes into one history, in the order it happened, so
Ctrl+Z walks back through all of it.

Dirty tracking counts changes rather than comparing snapshots: `edits` moves with every history change
(push, undo, redo), `saved_edits` and `autosaved_edits` remember where it stood at the last save and
autosave. Undoing back to the saved state still counts as a change, which errs on the safe side.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from editor.history import History

if TYPE_CHECKING:
    from app.state import PoseSnapshot
    from core.attribute_maps import Maps
    from editor.composition import Composer, Composition
    from editor.paint import Brush, PaintLayers, Stroke

GARMENTS = ("top", "bottom", "hair", "shoes")  # editor.composition.GARMENT_LAYERS, without importing torch
PAINT_LAYERS = ("top", "bottom", "hair", "shoes", "body")
LAYER_LABELS = {"body": "Body (skin)", "top": "Top", "bottom": "Bottom", "hair": "Hair", "shoes": "Shoes"}
REMOVED_LABELS = {"top": "bare torso", "bottom": "bare legs", "hair": "bald", "shoes": "barefoot"}
BRUSH_RADIUS_RANGE = (0.003, 0.25)  # metres on the rest surface
BRUSH_RESIZE_FACTOR = 1.15  # per [ ] key press or Ctrl+wheel notch
HISTORY_DEPTH = 100
AUTOSAVE_INTERVAL_S = 60.0


def _default_brush() -> Brush:
    from editor.paint import Brush

    return Brush(rgb=(0.80, 0.12, 0.12), radius=0.03, hardness=0.6, opacity=1.0, mode="paint")


@dataclasses.dataclass
class EditState:
    """The editing state of the document shown (see the module docstring)."""

    history: History = dataclasses.field(default_factory=lambda: History(depth=HISTORY_DEPTH))
    composer: Composer | None = None  # decodes sources once per session (made with the body)
    composition: Composition | None = None  # where each layer of the shown avatar comes from
    original_maps: Maps | None = None  # the maps the shown avatar was built from, without paint
    latents: dict = dataclasses.field(default_factory=dict)  # AvatarSource -> sampled latent (for saving)
    paint: PaintLayers | None = None  # the shown person's paint
    brush: Brush | None = None  # made on first use (editor.paint imports torch)
    paint_layer: str = "top"  # the layer the UV view shows and UV strokes paint
    paint_tool: bool = False  # left-drag in the viewport paints instead of orbiting
    eyedropper: bool = False  # the next click (UV view or viewport) picks the brush colour
    stroke: Stroke | None = None  # the stroke under the mouse
    stroke_in: str = ""  # "uv" or "viewport": where that stroke is drawn
    pose_before: PoseSnapshot | None = None  # the pose when the current slider drag started
    pose_label: str = ""
    pose_widget: int | str | None = None  # the slider being dragged (its drag ends when it lets go)
    project_path: Path | None = None  # the .avs file this document was opened from or saved to
    edits: int = 0
    saved_edits: int = 0
    autosaved_edits: int = 0
    version: int = 0  # bumped on any change the Layers and Paint tabs show

    def __post_init__(self) -> None:
        self.history.on_change = self._history_changed

    @property
    def dirty(self) -> bool:
        """Edits since the document was sampled, opened or saved."""
        return self.edits != self.saved_edits

    @property
    def editable(self) -> bool:
        return self.composition is not None and self.paint is not None

    def the_brush(self) -> Brush:
        if self.brush is None:
            self.brush = _default_brush()
        return self.brush

    def changed(self) -> None:
        self.version += 1

    def _history_changed(self) -> None:
        self.edits += 1
        self.version += 1


def clamp_radius(radius: float) -> float:
    lo, hi = BRUSH_RADIUS_RANGE
    return min(hi, max(lo, float(radius)))


__all__ = ["EditState", "GARMENTS", "PAINT_LAYERS", "LAYER_LABELS", "REMOVED_LABELS", "BRUSH_RADIUS_RANGE",
           "BRUSH_RESIZE_FACTOR", "AUTOSAVE_INTERVAL_S", "clamp_radius"]
