"""Paint: per-layer colour overlays in UV space, brushes, strokes that undo exactly, and live recolouring.

    paint = PaintLayers(body)
    target = paint.bind(avatar, maps)               # the avatar on screen and the maps it was built from
    record = paint.stroke_uv("top", [(0.3, 0.5), (0.4, 0.5)], Brush((1, 0, 0), radius=0.03))
    colors = target.recolor()                       # the Gaussians' new colours (also written into avatar)
    record.undo(); target.recolor()                 # exactly the colours before the stroke

What paint is: per layer an RGBA overlay (premultiplied colour P and coverage a, MAP_RESOLUTION[layer]
texels square, in the layer's *reference* chart) over the decoded colour map: shown colour =
original * (1 - a) + P. Living in UV space (not on Gaussians) is why it survives re-decoding: a swap,
a reshape or a new decoder read the same chart (core.attribute_maps), so the paint lands on the same
spot of the garment. Premultiplied, because the recolour reads it bilinearly like any map.

Brushes are measured in metres on the rest surface. A viewport stroke (`stroke_surface`) covers the
texels whose rest position (texel_geometry, on the avatar's own shape) lies within the radius of the
stroke, on the side facing the stroke, so a stroke crosses UV seams by itself: both sides of a seam are
near in 3D however far apart their islands are in the chart. A UV stroke (`stroke_uv`) is a disc in
the chart whose radius is the brush's through the chart's median metres-per-uv, so one brush makes
similar marks both ways.

Within one stroke, paint and erase take the strongest coverage each texel received (overlapping dabs
do not pile up, as in Krita/Photoshop "stroke opacity"); blur and smudge work dab after dab on what is
there. A stroke is recorded as the overlay texels before and after in its bounding box: undo and redo
write them back bit for bit, and `recolor` is a pure function of the overlay, so colours come back
exactly (torch.equal).

`recolor` updates only Gaussians whose chart position falls in the texels changed since the last call:
no avatar rebuild, so it keeps up with the mouse (docs/editor.md has the timings).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.attribute_maps import MAP_RESOLUTION, RGB, Maps, _match_uvs, chart_uv, lookup, reference_templates, \
    texel_geometry
from core.avatar import Avatar
from core.body.base import BodyModel
from core.errors import AvatarStudioError
from core.gaussians import LAYER_IDS, LAYER_NAMES
from core.templates import LayerTemplate

MODES: tuple[str, ...] = ("paint", "erase", "blur", "smudge")
DAB_SPACING = 0.25  # dabs every quarter radius along a stroke: no visible beads at hardness 1
BLUR_SIGMA = 1.5  # texels: one blur dab's kernel; repeated dabs blur further
SMUDGE_PICKUP = 0.3  # how much of the colour under it the smudge brush takes up per radius travelled


@dataclasses.dataclass
class Brush:
    """A brush: colour, size (metres on the rest surface), hardness (the fraction of the radius at full
    strength; 1 = hard edge), opacity (0..1) and mode (paint, erase to the original, blur, smudge)."""

    rgb: tuple[float, float, float] = (0.8, 0.1, 0.1)
    radius: float = 0.02
    hardness: float = 0.5
    opacity: float = 1.0
    mode: str = "paint"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise AvatarStudioError(f"unknown brush mode {self.mode!r} (choose {', '.join(MODES)})")
        if not self.radius > 0:
            raise AvatarStudioError(f"brush radius must be positive, got {self.radius}")
        self.hardness = min(1.0, max(0.0, float(self.hardness)))
        self.opacity = min(1.0, max(0.0, float(self.opacity)))
        self.rgb = tuple(min(1.0, max(0.0, float(c))) for c in self.rgb)  # type: ignore[assignment]

    def falloff(self, distance_over_radius: torch.Tensor) -> torch.Tensor:
        """Strength 0..1 at a distance (in radii): 1 inside the hard core, smoothstep down to 0 at the rim."""
        x = distance_over_radius
        s = ((x - self.hardness) / max(1e-6, 1.0 - self.hardness)).clamp(0, 1)
        return torch.where(x < 1.0, 1.0 - s * s * (3 - 2 * s), torch.zeros(()))


Box = tuple[int, int, int, int]  # rows y0:y1, cols x0:x1 (end exclusive)


def _union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


_CACHE: dict[tuple, tuple] = {}  # (what, id(template)...) -> (templates kept alive, value)
_CACHE_SIZE = 32


def _cached(what: str, templates: tuple[LayerTemplate, ...], resolution: int, make):
    """Per-template results (templates are unhashable dataclasses, cached by identity; the entry holds
    the templates so their ids stay theirs)."""
    key = (what, *map(id, templates), resolution)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (templates, make())
    return _CACHE[key][1]


def _chart(template: LayerTemplate, resolution: int):
    """texel_geometry of a template, cached (0.1-0.5 s at 384-512 texels)."""
    return _cached("chart", (template,), resolution, lambda: texel_geometry(template, resolution))


def _chart_transform(template: LayerTemplate, reference: LayerTemplate) -> tuple[float, torch.Tensor]:
    """Scale and offset taking a shell uv of `template` into the reference chart (chart_uv's transform)."""
    ref_uv = chart_uv(template, reference).double()
    on_shell = template.body_faces[template.anchor_face] >= 0
    if template is reference or int(on_shell.sum()) < 3:
        return 1.0, torch.zeros(2, dtype=torch.float64)
    a, b = template.anchor_uv.double()[on_shell], ref_uv[on_shell]
    am, bm = a.mean(0), b.mean(0)
    scale = float(((a - am) * (b - bm)).sum() / ((a - am) ** 2).sum())
    return scale, bm - scale * am


@dataclasses.dataclass
class SurfaceTexels:
    """Where the texels of one layer's reference chart lie on an avatar's rest surface."""

    index: torch.Tensor  # (T,) flat texel index in the overlay (row * R + col)
    position: torch.Tensor  # (T, 3) metres, rest pose of the avatar's shape
    normal: torch.Tensor  # (T, 3)


def surface_texels(template: LayerTemplate, reference: LayerTemplate, resolution: int) -> SurfaceTexels:
    """Rest positions of the reference chart's texels on `template` (the avatar's own shape).

    The avatar's template has its own chart (a scaled, shifted copy on the shells); each reference texel
    is read (nearest) from the avatar's rasterized chart at the inverse of that transform.
    """
    ref = _chart(reference, resolution)
    if template is reference:
        return SurfaceTexels(ref.index, ref.position, ref.normal)
    own = _chart(template, resolution)
    r = resolution
    scale, offset = _chart_transform(template, reference)
    col, row = (ref.index % r).double(), (ref.index // r).double()
    uv = torch.stack([(col + 0.5) / r, 1 - (row + 0.5) / r], -1)
    on_shell = (reference.body_faces[ref.face] >= 0)[:, None]
    uv_own = torch.where(on_shell, (uv - offset) / scale, uv)
    own_col = (uv_own[:, 0] * r).floor().long().clamp(0, r - 1)
    own_row = ((1 - uv_own[:, 1]) * r).floor().long().clamp(0, r - 1)
    lookup_index = torch.full((r * r,), -1, dtype=torch.int64)
    lookup_index[own.index] = torch.arange(own.index.shape[0])
    found = lookup_index[own_row * r + own_col]
    ok = found >= 0
    return SurfaceTexels(ref.index[ok], own.position[found[ok]], own.normal[found[ok]])


@dataclasses.dataclass
class StrokeRecord:
    """One finished stroke (or clear): the overlay texels of `layer` in `box`, before and after.

    undo()/redo() write them back exactly; the next `recolor` shows it."""

    paint: "PaintLayers"
    layer: str
    box: Box
    before: torch.Tensor  # (4, h, w)
    after: torch.Tensor
    label: str = "paint stroke"

    def _write(self, values: torch.Tensor) -> None:
        y0, y1, x0, x1 = self.box
        self.paint.overlay(self.layer)[:, y0:y1, x0:x1] = values
        self.paint._changed(self.layer, self.box)

    def undo(self) -> None:
        self._write(self.before)

    def redo(self) -> None:
        self._write(self.after)


class Stroke:
    """A stroke in progress: feed it points as the mouse moves, then `end()` for its undo record."""

    def __init__(self, paint: "PaintLayers", layer: str, brush: Brush) -> None:
        self.paint, self.layer, self.brush = paint, layer, dataclasses.replace(brush)
        self.r = paint.resolution(layer)
        self.start = paint.overlay(layer).clone()  # 4 x R x R floats: ~4 MB at 512, copied once per stroke
        self.coverage = torch.zeros(self.r * self.r)  # strongest dab weight so far (paint, erase)
        self.box: Box | None = None
        self.carried: torch.Tensor | None = None  # smudge: the colour on the brush
        self._last_uv: np.ndarray | None = None
        self._last_point: torch.Tensor | None = None
        self._last_normal: torch.Tensor | None = None

    # --- where dabs fall -------------------------------------------------------------------------------
    def add_uv(self, uv_points: Iterable[Sequence[float]]) -> None:
        """Continue the stroke through chart points (u, v in 0..1, v up; the UV panel's coordinates)."""
        radius = self.brush.radius / self.paint.metres_per_uv(self.layer)  # in uv units
        for p in np.asarray(list(uv_points), dtype=np.float64).reshape(-1, 2):
            for centre in self._resample(self._last_uv, p, radius * DAB_SPACING):
                self._dab_uv(centre, radius)
            self._last_uv = p

    def add_surface(self, canonical_points: Iterable[Sequence[float]]) -> None:
        """Continue the stroke through rest-pose points on the avatar (from editor.picking)."""
        texels = self.paint.surface(self.layer)
        points = torch.as_tensor(np.asarray(list(canonical_points), dtype=np.float32).reshape(-1, 3))
        for p in points:
            nearest = int(torch.argmin(((texels.position - p) ** 2).sum(-1)))
            point, normal = texels.position[nearest], texels.normal[nearest]
            if self._last_point is None:
                centres = [point]
                normals = [normal]
            else:
                steps = max(1, math.ceil(float((point - self._last_point).norm()) / (self.brush.radius * DAB_SPACING)))
                ts = torch.arange(1, steps + 1, dtype=torch.float32) / steps
                centres = list(self._last_point + ts[:, None] * (point - self._last_point))
                normals = [normal] * steps
            # One pass over the layer's texels for the segment's box, then each dab reads only those.
            ends = torch.stack([centres[0], centres[-1]])
            lo, hi = ends.min(0).values - self.brush.radius, ends.max(0).values + self.brush.radius
            box = torch.nonzero(((texels.position >= lo) & (texels.position <= hi)).all(dim=1))[:, 0]
            position, facing, index = texels.position[box], texels.normal[box], texels.index[box]
            for centre, n in zip(centres, normals):
                d = (position - centre).norm(dim=-1)
                near = (d < self.brush.radius) & ((facing * n).sum(-1) > 0.0)
                self._apply(index[near], self.brush.falloff(d[near] / self.brush.radius))
            self._last_point, self._last_normal = point, normal

    @staticmethod
    def _resample(last: np.ndarray | None, p: np.ndarray, spacing: float) -> list[np.ndarray]:
        if last is None:
            return [p]
        steps = max(1, math.ceil(float(np.linalg.norm(p - last)) / max(spacing, 1e-9)))
        return [last + (p - last) * (i / steps) for i in range(1, steps + 1)]

    def _dab_uv(self, centre: np.ndarray, radius: float) -> None:
        r = self.r
        cx, cy = centre[0] * r - 0.5, (1 - centre[1]) * r - 0.5  # texel coordinates of the centre
        rt = radius * r
        x0, x1 = max(0, math.floor(cx - rt)), min(r, math.ceil(cx + rt) + 1)
        y0, y1 = max(0, math.floor(cy - rt)), min(r, math.ceil(cy + rt) + 1)
        if x0 >= x1 or y0 >= y1:
            return
        ys, xs = torch.meshgrid(torch.arange(y0, y1), torch.arange(x0, x1), indexing="ij")
        d = torch.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) / rt
        index = (ys * r + xs).reshape(-1)
        inside = (d.reshape(-1) < 1) & self.paint.chart_mask(self.layer).reshape(-1)[index]
        self._apply(index[inside], self.brush.falloff(d.reshape(-1)[inside]))

    # --- what a dab does -------------------------------------------------------------------------------
    def _apply(self, index: torch.Tensor, weight: torch.Tensor) -> None:
        if index.numel() == 0:
            return
        overlay = self.paint.overlay(self.layer).view(4, -1)
        strength = weight * self.brush.opacity
        mode = self.brush.mode
        if mode in ("paint", "erase"):
            self.coverage[index] = torch.maximum(self.coverage[index], strength)
            w = self.coverage[index]
            before = self.start.view(4, -1)[:, index]
            if mode == "paint":
                colour = torch.tensor(self.brush.rgb, dtype=torch.float32)[:, None]
                after = torch.cat([before[:3] * (1 - w) + colour * w, before[3:] * (1 - w) + w])
            else:
                after = before * (1 - w)
        else:
            current = overlay[:, index]
            if mode == "blur":
                colour = self.paint._blurred(self.layer, index)
            else:
                under = self.paint._composite_at(self.layer, index)
                mean = (under * weight).sum(1, keepdim=True) / weight.sum().clamp_min(1e-6)
                if self.carried is None:
                    self.carried = mean
                colour = self.carried.expand(-1, index.numel())
                pickup = 1 - (1 - SMUDGE_PICKUP) ** DAB_SPACING  # per dab, so the drag length ignores spacing
                self.carried = self.carried * (1 - pickup) + mean * pickup
            # Composite (colour over what is shown): premultiplied colour and coverage both move towards it.
            original = self.paint._original_at(self.layer, index)
            shown = original * (1 - current[3:]) + current[:3]
            target = shown + (colour - shown) * strength
            a = current[3:] + (1 - current[3:]) * strength
            after = torch.cat([target - original * (1 - a), a])
        overlay[:, index] = after
        rows, cols = index // self.r, index % self.r
        box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
        self.box = _union(self.box, box)
        self.paint._changed(self.layer, box)

    def end(self) -> StrokeRecord | None:
        """The stroke's undo record (None when it touched nothing)."""
        if self.box is None:
            return None
        y0, y1, x0, x1 = self.box
        after = self.paint.overlay(self.layer)[:, y0:y1, x0:x1].clone()
        label = {"paint": "paint stroke", "erase": "erase stroke", "blur": "blur stroke", "smudge": "smudge stroke"}
        return StrokeRecord(self.paint, self.layer, self.box, self.start[:, y0:y1, x0:x1].clone(), after,
                            label[self.brush.mode])


class PaintTarget:
    """An avatar bound to the paint: which Gaussians read which chart texels, and their unpainted colours."""

    def __init__(self, paint: "PaintLayers", avatar: Avatar, maps: Maps) -> None:
        self.paint, self.avatar = paint, avatar
        reference = reference_templates(avatar.body)[1]
        g = avatar.gaussians
        self.base = g.colors.clone()
        self.layers: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # layer -> (Gaussian index, chart uv)
        for name in LAYER_NAMES:
            index = torch.nonzero(g.layers == LAYER_IDS[name])[:, 0]
            if index.numel() == 0 or name not in maps:
                continue
            template = avatar.templates[name]
            ref_uv = chart_uv(template, reference[name])
            anchor = _match_uvs(template.anchor_uv.float(), g.uvs[index])
            # The unpainted colour exactly as core.attribute_maps.decode computed it (same lookup, all anchors).
            self.base[index] = lookup(maps[name], ref_uv)[:, RGB].float().clamp(0, 1)[anchor]
            self.layers[name] = (index, ref_uv[anchor].float())
        self._pending: dict[str, Box | None] = {name: (0, 1 << 30, 0, 1 << 30) for name in paint.overlays}

    def chart_uv(self, gaussian: int) -> tuple[str, tuple[float, float]] | None:
        """Layer and reference-chart uv of one Gaussian (the UV panel's cursor for a viewport pick)."""
        layer = LAYER_NAMES[int(self.avatar.gaussians.layers[gaussian])]
        if layer not in self.layers:
            return None
        index, uv = self.layers[layer]
        where = torch.nonzero(index == gaussian)[:, 0]
        return (layer, tuple(float(v) for v in uv[int(where[0])])) if where.numel() else None

    def mark(self, layer: str, box: Box) -> None:
        self._pending[layer] = _union(self._pending.get(layer), box)

    def recolor(self, everything: bool = False) -> torch.Tensor:
        """Write the painted colours of the Gaussians under texels changed since the last call into
        avatar.gaussians.colors (posed copies share it) and return it (N, 3)."""
        colors = self.avatar.gaussians.colors
        pending = {name: (0, 1 << 30, 0, 1 << 30) for name in self.layers} if everything else self._pending
        self._pending = {}
        for name, box in pending.items():
            if box is None or name not in self.layers:
                continue
            index, uv = self.layers[name]
            r = self.paint.resolution(name)
            y0, y1, x0, x1 = box
            if (y0, x0) != (0, 0) or y1 < r or x1 < r:  # only the Gaussians whose bilinear read touches the box
                col, row = uv[:, 0] * r - 0.5, (1 - uv[:, 1]) * r - 0.5
                near = (col > x0 - 1) & (col < x1) & (row > y0 - 1) & (row < y1)
                index, uv = index[near], uv[near]
            if index.numel() == 0:
                continue
            overlay = self.paint.overlays.get(name)
            if overlay is None:
                colors[index] = self.base[index]
                continue
            read = lookup(overlay, uv)
            colors[index] = (self.base[index] * (1 - read[:, 3:]) + read[:, :3]).clamp(0, 1)
        return colors


class PaintLayers:
    """The paint of one avatar: an overlay per painted layer, in reference charts (see the module docstring)."""

    def __init__(self, body: BodyModel) -> None:
        self.body = body
        self.overlays: dict[str, torch.Tensor] = {}  # layer -> (4, R, R): premultiplied rgb, coverage
        self._originals: Maps = {}
        self._original_cache: dict[str, torch.Tensor] = {}
        self._target: PaintTarget | None = None
        self.version = 0  # bumped on every change (the UV panel redraws when it moves)

    # --- layers and charts -----------------------------------------------------------------------------
    @staticmethod
    def resolution(layer: str) -> int:
        if layer not in MAP_RESOLUTION:
            raise AvatarStudioError(f"unknown layer {layer!r}: choose {', '.join(MAP_RESOLUTION)}")
        return MAP_RESOLUTION[layer]

    @property
    def empty(self) -> bool:
        return not any(bool((o[3] > 0).any()) for o in self.overlays.values())

    def overlay(self, layer: str) -> torch.Tensor:
        if layer not in self.overlays:
            r = self.resolution(layer)
            self.overlays[layer] = torch.zeros(4, r, r)
        return self.overlays[layer]

    def chart_mask(self, layer: str) -> torch.Tensor:
        """(R, R) bool: the chart's texels (islands and gutter) in the reference chart."""
        return self._reference_chart(layer).mask()

    def _reference_chart(self, layer: str):
        return _chart(reference_templates(self.body)[1][layer], self.resolution(layer))

    def metres_per_uv(self, layer: str) -> float:
        """Median metres per unit of uv over the chart: converts a brush radius for UV strokes."""
        return _metres_per_uv(reference_templates(self.body)[1][layer], self.resolution(layer))

    def surface(self, layer: str) -> SurfaceTexels:
        """Rest positions of the layer's texels on the bound avatar (the reference body when none is bound)."""
        reference = reference_templates(self.body)[1][layer]
        template = self._target.avatar.templates[layer] if self._target is not None else reference
        return _surface(template, reference, self.resolution(layer))

    # --- the avatar ------------------------------------------------------------------------------------
    def set_originals(self, maps: Maps) -> None:
        """The decoded maps the paint lies on (composition changed): blur, smudge, eyedropper and the UV
        view read them. The overlays stay: paint lives in the chart, not on a decode."""
        self._originals = maps
        self._original_cache = {}
        self.version += 1

    def bind(self, avatar: Avatar, maps: Maps) -> PaintTarget:
        """Bind a freshly built avatar and the maps it was built from; the next recolor paints all of it."""
        self.set_originals(maps)
        self._target = PaintTarget(self, avatar, maps)
        return self._target

    @property
    def target(self) -> PaintTarget | None:
        return self._target

    def recolor(self, target: PaintTarget | None = None) -> torch.Tensor:
        """The bound avatar's colours after the changes since the last call (see PaintTarget.recolor)."""
        target = target or self._target
        if target is None:
            raise AvatarStudioError("no avatar is bound to the paint (PaintLayers.bind)")
        return target.recolor()

    def _changed(self, layer: str, box: Box) -> None:
        self.version += 1
        if self._target is not None:
            self._target.mark(layer, box)

    # --- strokes ---------------------------------------------------------------------------------------
    def begin_stroke(self, layer: str, brush: Brush) -> Stroke:
        """A live stroke: feed it with add_uv / add_surface on every mouse move, end() on release."""
        self.resolution(layer)
        return Stroke(self, layer, brush)

    def stroke_uv(self, layer: str, uv_points: Iterable[Sequence[float]], brush: Brush) -> StrokeRecord | None:
        """A whole stroke through chart points (u, v in 0..1, v up); its undo record."""
        stroke = self.begin_stroke(layer, brush)
        stroke.add_uv(uv_points)
        return stroke.end()

    def stroke_surface(self, layer: str, canonical_points: Iterable[Sequence[float]],
                       brush: Brush) -> StrokeRecord | None:
        """A whole stroke through rest-pose points on the bound avatar (metres); its undo record."""
        stroke = self.begin_stroke(layer, brush)
        stroke.add_surface(canonical_points)
        return stroke.end()

    def clear(self, layer: str) -> StrokeRecord | None:
        """Remove all paint of a layer (e.g. after harmonising it into the latent); undoable."""
        if layer not in self.overlays:
            return None
        r = self.resolution(layer)
        before = self.overlays[layer].clone()
        self.overlays[layer].zero_()
        record = StrokeRecord(self, layer, (0, r, 0, r), before, self.overlays[layer].clone(), "clear paint")
        self._changed(layer, record.box)
        return record

    # --- reading ---------------------------------------------------------------------------------------
    def _original(self, layer: str) -> torch.Tensor:
        """The original colour map (3, R, R) at the overlay's resolution (bilinear = lookup at texel centres)."""
        if layer not in self._original_cache:
            r = self.resolution(layer)
            source = self._originals.get(layer)
            if source is None:
                rgb = torch.zeros(3, r, r)
            elif source.shape[-1] == r:
                rgb = source[RGB].float()
            else:
                rgb = F.interpolate(source[None, RGB].float(), size=(r, r), mode="bilinear", align_corners=False)[0]
            self._original_cache[layer] = rgb.contiguous()
        return self._original_cache[layer]

    def _original_at(self, layer: str, index: torch.Tensor) -> torch.Tensor:
        return self._original(layer).view(3, -1)[:, index]

    def _composite_at(self, layer: str, index: torch.Tensor) -> torch.Tensor:
        overlay = self.overlay(layer).view(4, -1)[:, index]
        return self._original_at(layer, index) * (1 - overlay[3:]) + overlay[:3]

    def _blurred(self, layer: str, index: torch.Tensor) -> torch.Tensor:
        """The shown colours blurred (Gaussian, BLUR_SIGMA texels, chart texels only) at `index` (3, n)."""
        r = self.resolution(layer)
        pad = math.ceil(3 * BLUR_SIGMA)
        rows, cols = index // r, index % r
        y0, y1 = max(0, int(rows.min()) - pad), min(r, int(rows.max()) + pad + 1)
        x0, x1 = max(0, int(cols.min()) - pad), min(r, int(cols.max()) + pad + 1)
        overlay = self.overlay(layer)[:, y0:y1, x0:x1]
        shown = self._original(layer)[:, y0:y1, x0:x1] * (1 - overlay[3:]) + overlay[:3]
        mask = self.chart_mask(layer)[y0:y1, x0:x1].float()[None]
        x = torch.arange(-pad, pad + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (x / BLUR_SIGMA) ** 2)
        k = k / k.sum()
        stack = torch.cat([shown * mask, mask])[:, None]  # (4, 1, h, w)
        stack = F.conv2d(F.pad(stack, (pad, pad, 0, 0)), k.view(1, 1, 1, -1))
        stack = F.conv2d(F.pad(stack, (0, 0, pad, pad)), k.view(1, 1, -1, 1))[:, 0]
        blurred = stack[:3] / stack[3:].clamp_min(1e-6)
        local = (rows - y0) * (x1 - x0) + (cols - x0)
        return blurred.reshape(3, -1)[:, local]

    def colour_map(self, layer: str) -> np.ndarray:
        """(R, R, 4) float32 for the UV panel: the shown colours, alpha 1 on the chart and 0 off it."""
        overlay = self.overlay(layer)
        shown = (self._original(layer) * (1 - overlay[3:]) + overlay[:3]).clamp(0, 1)
        return torch.cat([shown, self.chart_mask(layer).float()[None]]).permute(1, 2, 0).contiguous().numpy()

    def eyedropper(self, layer: str, uv: Sequence[float]) -> tuple[float, float, float]:
        """The shown colour at a chart point (bilinear)."""
        overlay = self.overlay(layer)
        shown = self._original(layer) * (1 - overlay[3:]) + overlay[:3]
        rgb = lookup(shown, torch.tensor([[float(uv[0]), float(uv[1])]]))[0].clamp(0, 1)
        return tuple(float(v) for v in rgb)  # type: ignore[return-value]

    def painted_mask(self, layer: str, threshold: float = 0.0) -> torch.Tensor:
        """(R, R) bool: texels with paint coverage above `threshold` (harmonise's region)."""
        return self.overlay(layer)[3] > threshold

    def shown(self, layer: str) -> torch.Tensor:
        """(3, R, R): what the layer shows now (the original under the paint)."""
        overlay = self.overlay(layer)
        return (self._original(layer) * (1 - overlay[3:]) + overlay[:3]).clamp(0, 1)

    def painted_maps(self, maps: Maps) -> Maps:
        """`maps` with the paint baked into their colour channels (FBX textures, exports), each at its
        own resolution; layers without paint are the same tensors."""
        self.set_originals(maps)
        out = dict(maps)
        for name, overlay in self.overlays.items():
            if name not in maps or not bool((overlay[3] > 0).any()):
                continue
            shown, r = self.shown(name), maps[name].shape[-1]
            if shown.shape[-1] != r:
                mode = "area" if r < shown.shape[-1] else "bilinear"
                shown = F.interpolate(shown[None], size=(r, r), mode=mode,
                                      **({} if mode == "area" else {"align_corners": False}))[0]
            baked = maps[name].clone()
            baked[RGB] = shown
            out[name] = baked
        return out

    # --- files -----------------------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Painted layers only, float32 (4, R, R), for editor.project."""
        return {name: o.numpy().astype(np.float32) for name, o in self.overlays.items() if bool((o[3] > 0).any())}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the overlays (a project's); shapes are checked by the caller."""
        self.overlays = {name: torch.from_numpy(np.array(a, dtype=np.float32)) for name, a in arrays.items()}
        if self._target is not None:
            for name in self.overlays:
                self._target.mark(name, (0, 1 << 30, 0, 1 << 30))
        self.version += 1


def _metres_per_uv(template: LayerTemplate, resolution: int) -> float:
    return _cached("scale", (template,), resolution, lambda: _median_scale(template, resolution))


def _median_scale(template: LayerTemplate, resolution: int) -> float:
    chart = _chart(template, resolution)
    r = resolution
    flat = torch.full((r * r,), -1, dtype=torch.int64)
    flat[chart.index] = torch.arange(chart.index.shape[0])
    col = chart.index % r
    right = torch.where(col + 1 < r, flat[(chart.index + 1).clamp_max(r * r - 1)], torch.full_like(col, -1))
    has = right >= 0
    steps = (chart.position[has] - chart.position[right[has]]).norm(dim=-1)
    same_face = chart.face[has] == chart.face[right[has]]  # steps across seams are not the chart's scale
    steps = steps[same_face] if bool(same_face.any()) else steps
    return float(steps.median()) * r


def _surface(template: LayerTemplate, reference: LayerTemplate, resolution: int) -> SurfaceTexels:
    return _cached("surface", (template, reference), resolution,
                   lambda: surface_texels(template, reference, resolution))


__all__ = ["MODES", "Brush", "Stroke", "StrokeRecord", "PaintTarget", "PaintLayers", "SurfaceTexels",
           "surface_texels"]
