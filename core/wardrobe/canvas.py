"""Where the wardrobe paints: every layer's chart texels placed on a reference body, with landmarks.

Garments are functions of a texel's 3D rest position on the reference body (stripes level in world y,
sleeves cut by the distance along the arm, necklines around the neck), so they stay right across
rotated UV islands. One reference body per body model (core.attribute_maps.reference_templates, an
average adult on Anny) serves every avatar: maps are made in its charts and dress any shape, and the
canvas is built once per process (about a second) and cached.
"""
from __future__ import annotations

import dataclasses
import functools
import math

import torch
import torch.nn.functional as F

from core.attribute_maps import MAP_RESOLUTION, NUM_CHANNELS, TexelGeometry, reference_templates, texel_geometry
from core.body.base import BodyModel, BodyRest
from core.gaussians import LAYER_NAMES
from core.pose import SMPLX_JOINT_INDEX as J
from core.templates import LayerTemplate, vertex_normals

# Body parts a texel belongs to (by its SMPL-X region); garments cut and pattern per part.
TORSO, ARM, LEG, HEAD, HAND, FOOT, SHEET = range(7)
_PART_OF = {"pelvis": TORSO, "spine1": TORSO, "spine2": TORSO, "spine3": TORSO, "neck": TORSO, "collar": TORSO,
            "shoulder": ARM, "elbow": ARM, "hip": LEG, "knee": LEG, "ankle": FOOT, "foot": FOOT,
            "head": HEAD, "jaw": HEAD, "eye_smplhf": HEAD, "wrist": HAND}
# Radii (metres) that turn angles round the torso, arms and legs into pattern coordinates.
TORSO_RADIUS, ARM_RADIUS, LEG_RADIUS = 0.15, 0.045, 0.07
OUTER_SEAM = LEG_RADIUS * math.pi / 2  # `around` on a leg's outer side
LIGHT = (0.3, 0.8, 0.5)  # baked key light direction (normalised below): top, front, a little from the left


@dataclasses.dataclass
class Landmarks:
    """Reference-body points and heights the garments are cut by (rest T-pose, metres)."""

    pelvis: torch.Tensor
    crotch_y: float
    knee: torch.Tensor  # left side (x > 0); the right mirrors it
    ankle: torch.Tensor
    neck: torch.Tensor  # base of the neck
    collar_y: float  # sternal notch
    shoulder: torch.Tensor
    wrist: torch.Tensor
    head: torch.Tensor
    head_top_y: float
    eye: torch.Tensor  # left eyeball centre
    eye_radius: float
    nose_tip: torch.Tensor

    def torso_height(self, y: torch.Tensor | float):
        """0 at the pelvis joint, 1 at the base of the neck."""
        return (y - self.pelvis[1]) / (self.neck[1] - self.pelvis[1])

    def torso_y(self, t: float) -> float:
        return float(self.pelvis[1] + t * (self.neck[1] - self.pelvis[1]))

    def leg_y(self, l: float) -> float:
        """Height of leg position l (0 crotch, 1 ankle joint)."""
        return float(self.crotch_y + l * (self.ankle[1] - self.crotch_y))

    @staticmethod
    def of(rest: BodyRest) -> "Landmarks":
        def joint(name: str) -> torch.Tensor:
            return rest.joints[torch.nonzero(rest.bone_regions == J[name])[0, 0]]

        v, region = rest.vertices, rest.vertex_regions()
        middle = (v[:, 0].abs() < 0.012) & (v[:, 1] < float(joint("spine1")[1])) \
            & (v[:, 1] > float(joint("left_knee")[1]))
        eye = v[region == J["left_eye_smplhf"]]
        head = v[region == J["head"]]
        front = head[head[:, 0].abs() < 0.01]
        return Landmarks(
            pelvis=joint("pelvis"), crotch_y=float(v[middle, 1].min()), knee=joint("left_knee"),
            ankle=joint("left_ankle"),
            neck=joint("neck"), collar_y=float(joint("left_collar")[1]), shoulder=joint("left_shoulder"),
            wrist=joint("left_wrist"), head=joint("head"), head_top_y=float(v[:, 1].max()),
            eye=eye.mean(0), eye_radius=float((eye - eye.mean(0)).norm(dim=-1).median()),
            nose_tip=front[front[:, 2].argmax()],
        )


@dataclasses.dataclass(eq=False)  # hashed by identity: painters cache derived fields per canvas
class LayerCanvas:
    """One layer's chart texels on the reference body, with the coordinates garments are cut by."""

    name: str
    geometry: TexelGeometry
    marks: Landmarks
    part: torch.Tensor  # (T,) TORSO .. SHEET
    side: torch.Tensor  # (T,) +1 on the body's left (x > 0), -1 on its right
    arm: torch.Tensor  # (T,) arm position: 0 at the shoulder joint, 1 at the wrist (negative on the torso)
    leg: torch.Tensor  # (T,) leg position: 0 at the crotch, 1 at the ankle
    torso: torch.Tensor  # (T,) torso height: 0 at the pelvis joint, 1 at the neck base
    around: torch.Tensor  # (T,) metres around the part's axis (pattern coordinate, seams at the back/inside)
    along: torch.Tensor  # (T,) metres along the part's axis (world y; along the arm on arms)
    shade: torch.Tensor  # (T,) baked lighting factor, ~0.75..1
    outward: torch.Tensor  # (T,) +1 where the template normal points away from the skin, -1 in, 0 askew
    above_skin: torch.Tensor  # (T,) metres above the nearest skin vertex, along its normal (sheets; 1 on shells)
    # Position and outward normal as contiguous (T,) components, and the positions as (3, T): painters
    # touch them dozens of times per avatar, and strided columns are several times slower.
    x: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    nx: torch.Tensor
    ny: torch.Tensor
    nz: torch.Tensor
    points: torch.Tensor

    @property
    def count(self) -> int:
        return int(self.geometry.index.shape[0])

    @functools.cached_property
    def shell(self) -> "LayerCanvas":
        """This canvas without its sheet texels: garments that never use the sheet paint half the texels."""
        keep = torch.nonzero(self.part != SHEET)[:, 0]
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        subset = {name: value[:, keep] if name == "points" else value[keep] if isinstance(value, torch.Tensor)
                  else value for name, value in fields.items()}
        g = self.geometry
        subset["geometry"] = TexelGeometry(g.resolution, *(getattr(g, f.name)[keep] for f in dataclasses.fields(g)[1:]))
        return LayerCanvas(**subset)

    def to_map(self, values: torch.Tensor) -> torch.Tensor:
        """Per-texel channel values (T, C) -> the layer's map (C, R, R), zero off the chart."""
        r = self.geometry.resolution
        out = torch.zeros(NUM_CHANNELS, r * r)
        out[:, self.geometry.index] = values.T
        return out.reshape(NUM_CHANNELS, r, r)


@dataclasses.dataclass(eq=False)
class Canvas:
    """All layers of one body model's reference body."""

    marks: Landmarks
    layers: dict[str, LayerCanvas]
    rest: BodyRest


@functools.lru_cache(maxsize=2)
def canvas_for(body: BodyModel) -> Canvas:
    """The body model's reference canvas (built once per process)."""
    rest, templates = reference_templates(body)
    marks = Landmarks.of(rest)
    layers = {name: _layer_canvas(templates[name], marks, rest) for name in LAYER_NAMES}
    return Canvas(marks, layers, rest)


def _layer_canvas(template: LayerTemplate, m: Landmarks, rest: BodyRest) -> LayerCanvas:
    name = template.name
    g = texel_geometry(template, MAP_RESOLUTION[name])
    p = g.position
    part = torch.full_like(g.region, SHEET)
    for region, value in _PART_OF.items():
        joints = [J[region]] if region in J else [J[f"left_{region}"], J[f"right_{region}"]]
        part[torch.isin(g.region, torch.tensor(joints))] = value
    fingers = (g.region >= J["left_index1"])
    part[fingers] = HAND
    side = torch.where(p[:, 0] >= 0, 1.0, -1.0)
    ax = p[:, 0].abs()
    arm = (ax - float(m.shoulder[0])) / float(m.wrist[0] - m.shoulder[0])
    leg = (m.crotch_y - p[:, 1]) / (m.crotch_y - float(m.ankle[1]))
    torso = m.torso_height(p[:, 1])
    # Pattern coordinates: around and along each part's axis, in metres.
    torso_around = torch.atan2(p[:, 0], p[:, 2] - float(m.pelvis[2])) * TORSO_RADIUS
    arm_around = torch.atan2(p[:, 2] - float(m.shoulder[2]), p[:, 1] - float(m.shoulder[1])) * ARM_RADIUS
    leg_axis_x = float(m.knee[0]) * (1 - leg.clamp(0, 1)) * 0.7 + float(m.ankle[0]) * leg.clamp(0, 1)
    leg_around = torch.atan2(ax - leg_axis_x, p[:, 2] - float(m.knee[2])) * LEG_RADIUS * side
    is_arm = (part == ARM) | (part == HAND)
    is_leg = (part == LEG) | (part == FOOT)
    around = torch.where(is_arm, arm_around, torch.where(is_leg, leg_around, torso_around))
    along = torch.where(is_arm, ax, p[:, 1])
    # "Outward" is away from the skin. On shells that is the skin normal beneath, which the template
    # normal follows except where offsetting folded the shell over (behind the ears): there it is
    # flipped. The sheets hang round a vertical axis (the skirt round the pelvis, the curtain round the
    # head), wound whichever way the template winds them.
    skin_normals = vertex_normals(rest.vertices, rest.faces)
    body_face = template.body_faces[g.face]
    beneath = (skin_normals[rest.faces[body_face.clamp_min(0)]] * g.bary[..., None]).sum(1)
    axis_z = float(m.head[2]) if name == "hair" else float(m.pelvis[2])
    radial = torch.stack([p[:, 0], torch.zeros_like(p[:, 0]), p[:, 2] - axis_z], dim=-1)
    reference = torch.where((body_face >= 0)[:, None], beneath, radial)
    away = (g.normal * reference).sum(-1) / reference.norm(dim=-1).clamp_min(1e-9)
    # Where a shell's normal is askew to the skin (folds: crotch, armpits) an offset has no reliable
    # direction, so none is applied there.
    facing = torch.where(away < 0, -1.0, 1.0)
    outward = _calm(facing * ((away.abs() > 0.8) | (body_face < 0)).float(), g)
    normal = g.normal * facing[:, None]
    light = torch.tensor(LIGHT) / math.sqrt(sum(c * c for c in LIGHT))
    shade = 0.8 + 0.2 * (normal @ light).clamp(0, 1)
    # The sheets are hung from radial profiles of the trunk and can dip into the body where the arms
    # or legs widen it (the curtain beside the chest): painters keep off texels too close to the skin.
    above_skin = torch.ones(g.index.shape[0])
    sheet = torch.nonzero(part == SHEET)[:, 0]
    for chunk in sheet.split(4096):
        nearest = torch.cdist(p[chunk], rest.vertices).argmin(dim=1)
        above_skin[chunk] = ((p[chunk] - rest.vertices[nearest]) * skin_normals[nearest]).sum(-1)
    return LayerCanvas(name, g, m, part, side, arm, leg, torso, around, along, shade, outward, above_skin,
                       *(p[:, i].contiguous() for i in range(3)), *(normal[:, i].contiguous() for i in range(3)),
                       p.T.contiguous())


def _calm(outward: torch.Tensor, g: TexelGeometry, reach: int = 2) -> torch.Tensor:
    """Zero where the outward sign changes within `reach` texels: a bilinear read across such a seam
    (a fold where the shell normal turns over) would mix opposite offsets."""
    r = g.resolution
    grid = torch.zeros(1, r * r)
    grid[0, g.index] = outward
    grid = grid.reshape(1, 1, r, r)
    size = 2 * reach + 1
    high = F.max_pool2d(grid, size, stride=1, padding=reach).reshape(-1)[g.index]
    low = -F.max_pool2d(-grid, size, stride=1, padding=reach).reshape(-1)[g.index]
    return torch.where((high > 0) & (low < 0), torch.zeros_like(outward), outward)
