"""The body layer: skin over the human range, a painted face (eyes, brows, lips, facial hair), nails.

Face features are placed by the reference body's own geometry: an open eye (sclera, iris, pupil, lash
line) is painted on each eyeball and the lids just in front of it, brows arch above, lips sit between
the nose tip and the chin, the beard below a line from the mouth corners to the sideburns. These placements do not depend on the spec, so they are computed once per
canvas (`_features`) and each avatar only mixes colours.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from core.attribute_maps import NUM_CHANNELS, OFFSET, OPACITY, RGB, STRETCH
from core.pose import SMPLX_JOINT_INDEX as J
from core.wardrobe.canvas import FOOT, HAND, HEAD, TORSO, Canvas, LayerCanvas
from core.wardrobe.fabric import frame_angle, grain, layer_values, set_strands, smooth_noise, step
from core.wardrobe.spec import BodySpec

SCLERA = (0.90, 0.88, 0.84)
EYE_HALF_WIDTH = 0.0135  # metres, half the width of the open eye
SKIN_SPREAD = 0.2  # log factor on the skin surfels' size: closes the pinholes between random anchors
FINGER_TIPS = ("index3", "middle3", "ring3", "pinky3", "thumb3")


Sparse = tuple[torch.Tensor, torch.Tensor]  # (texel indices, weights in 0..1) of a feature that covers few texels


@dataclasses.dataclass
class _Features:
    """Face and hand features of the body canvas, each only where it is non-zero."""

    sclera: Sparse  # on the eyeballs
    iris: Sparse
    pupil: Sparse
    lash: Sparse  # lid rims
    brow: Sparse
    lips: Sparse
    lip_line: Sparse
    cheeks: Sparse
    stubble: Sparse  # the beard area
    moustache: Sparse
    beard: Sparse  # stubble area and moustache
    nails: Sparse
    palms: Sparse
    areola: Sparse
    down: torch.Tensor  # (T, 2) (cos, sin) of world -y in the texel frame: beard strands


def paint_body(canvas: Canvas, spec: BodySpec, rng: np.random.Generator, generator: torch.Generator) -> torch.Tensor:
    """The body layer's map (C, R, R)."""
    c = canvas.layers["body"]
    f = _features(canvas)
    skin = torch.tensor(spec.skin)
    tone = smooth_noise(c.points, rng, waves=5, wavelength=(0.06, 0.25))
    colour = skin * ((1 + 0.03 * tone + 0.012 * grain(c.count, generator)) * c.shade)[:, None]
    fine = (0.5 + 0.5 * grain(c.count, generator)).clamp(0, 1)  # hair-by-hair coverage
    paint = functools.partial(_blend, colour, c.shade)
    paint(f.cheeks, skin * torch.tensor([1.0, 0.82, 0.8]), 0.35)
    paint(f.palms, (skin * 1.18 + torch.tensor([0.06, 0.03, 0.03])).clamp(0, 1), 0.5)
    paint(f.areola, skin * torch.tensor([0.72, 0.58, 0.55]), 0.6)
    paint(f.lips, torch.tensor(spec.lips))
    paint(f.lip_line, torch.tensor(spec.lips) * 0.55, 0.6)
    paint(f.nails, torch.tensor(spec.nails), 0.9)
    brows = torch.tensor(spec.brows) * 0.85
    paint(f.brow, brows, 0.75 + 0.25 * fine[f.brow[0]])
    paint(f.lash, brows * 0.35, 0.75)
    values = layer_values(c)
    if spec.facial_hair != "none":
        index, weight = {"stubble": f.stubble, "moustache": f.moustache, "beard": f.beard}[spec.facial_hair]
        density = {"stubble": 0.5 * (0.4 + 0.6 * fine[index]), "moustache": 0.75 + 0.25 * fine[index],
                   "beard": 0.8 + 0.2 * fine[index]}[spec.facial_hair]
        paint((index, weight), brows, density)
        if spec.facial_hair != "stubble":  # hair standing off the skin, in strands pointing down
            strands = torch.zeros(index.shape[0], NUM_CHANNELS)
            down = f.down[index]
            set_strands(strands, down[:, 0], down[:, 1], 0.9 * weight, -0.3 * weight, weight)
            strands[:, OFFSET] = (0.004 if spec.facial_hair == "beard" else 0.0015) * weight
            values[index] = strands
    paint(f.sclera, torch.tensor(SCLERA))
    paint(f.iris, torch.tensor(spec.eyes))
    paint(f.pupil, torch.tensor([0.02, 0.02, 0.02]))
    values[:, OPACITY] = 0.98
    values[:, RGB] = colour.clamp(0, 1)
    values[:, STRETCH.start] += SKIN_SPREAD
    values[:, STRETCH.start + 1] += SKIN_SPREAD
    return c.to_map(values)


def _blend(colour: torch.Tensor, shade: torch.Tensor, field: Sparse, target: torch.Tensor,
           strength: torch.Tensor | float = 1.0) -> None:
    """Paint a (lit) target colour over `colour` in place, where the sparse field covers."""
    index, weight = field
    old = colour[index]
    colour[index] = old + (target * shade[index, None] - old) * (weight * strength)[:, None]


def _sparse(dense: torch.Tensor) -> Sparse:
    index = torch.nonzero(dense > 1e-3)[:, 0]
    return index, dense[index].clamp(0, 1)


@functools.lru_cache(maxsize=2)
def _features(canvas: Canvas) -> _Features:
    c = canvas.layers["body"]
    m = c.marks
    p, n = c.geometry.position, c.geometry.normal  # the body has no sheets: its normals point out
    region = c.geometry.region
    head = (c.part == HEAD).float()
    # Eyes: Anny's eyeballs carry the iris and pupil around their forward pole.
    sclera = torch.zeros(c.count)
    iris = torch.zeros(c.count)
    pupil = torch.zeros(c.count)
    lash = torch.zeros(c.count)
    brow = torch.zeros(c.count)
    for side, joint in ((1.0, "left_eye_smplhf"), (-1.0, "right_eye_smplhf")):
        centre = m.eye * torch.tensor([side, 1.0, 1.0])
        d = p - centre
        x = d[:, 0] * side  # towards the temple
        # The open eye, painted on the eyeball and on the lid skin right in front of it: Anny's lids
        # leave a narrow slit that surfels of skin size would close.
        front_of_eye = ((region == J[joint]) | (head > 0) & (d.norm(dim=-1) < m.eye_radius + 0.005)).float() \
            * step(d[:, 2], 0.004, 0.002)
        span = (1 - (x / EYE_HALF_WIDTH) ** 2).clamp_min(0)
        upper, lower = 0.0062 * span**0.7 + 0.0008, -0.0048 * span + 0.0004
        opening = front_of_eye * step(d[:, 1], lower, 0.0008) * (1 - step(d[:, 1], upper, 0.0008))
        sclera += opening
        r = torch.sqrt(x**2 + (d[:, 1] - 0.0004) ** 2)
        iris += opening * (1 - step(r, 0.0062, 0.0008))
        pupil += opening * (1 - step(r, 0.0024, 0.0006))
        within = front_of_eye * (1 - step(x.abs(), EYE_HALF_WIDTH, 0.001))
        lash += within * (1 - step((d[:, 1] - upper).abs(), 0.0011, 0.0006))
        lash += 0.4 * within * (1 - step((d[:, 1] - lower).abs(), 0.0007, 0.0005))
        arch = centre[1] + 0.021 + 0.004 * (1 - ((x - 0.002) / 0.02) ** 2)
        width = 0.0032 - 0.0012 * (x + 0.016).clamp(0, 0.04) / 0.04
        brow += head * (1 - step((p[:, 1] - arch).abs(), width, 0.0015)) * step(x, -0.016, 0.003) \
            * (1 - step(x, 0.024, 0.004)) * step(n[:, 2], 0.3, 0.1)
    lash = lash.clamp(0, 1) * (1 - sclera.clamp(0, 1))
    # Mouth: between the nose tip and the chin, on the front of the face.
    mouth_y = float(m.nose_tip[1]) - 0.034
    front = head * step(n[:, 2], 0.2, 0.1) * step(p[:, 2], float(m.nose_tip[2]) - 0.06, 0.004)
    lx = p[:, 0] / 0.024
    upper = (1 - step(lx**2 + ((p[:, 1] - mouth_y) / 0.0085) ** 2, 1.0, 0.15)) * step(p[:, 1], mouth_y, 0.0015)
    lower = (1 - step(lx**2 + ((p[:, 1] - mouth_y) / 0.011) ** 2, 1.0, 0.15)) * (1 - step(p[:, 1], mouth_y, 0.0015))
    lips = front * (upper + lower).clamp(0, 1) * 0.85
    lip_line = front * (1 - step((p[:, 1] - mouth_y).abs(), 0.0012, 0.001)) * (1 - step(lx.abs(), 0.95, 0.1))
    cheek_dist = torch.sqrt((p[:, 0].abs() - 0.045) ** 2 + (p[:, 1] - (mouth_y + 0.03)) ** 2)
    cheeks = front * (1 - step(cheek_dist, 0.025, 0.02))
    # Beard area: the lower face below a line from the mouth corners up to the sideburns.
    ax = p[:, 0].abs()
    sideburn = ((ax - 0.062) / 0.012).clamp(0, 1)
    cheek_line = mouth_y + 0.012 + 0.03 * ((ax - 0.025) / 0.04).clamp(0, 1) \
        + (float(m.eye[1]) - 0.02 - (mouth_y + 0.042)) * sideburn
    face_front = step(p[:, 2], float(m.head[2]) - 0.01, 0.01)
    stubble = head * face_front * (1 - step(p[:, 1], cheek_line, 0.005)) * (1 - lips / 0.85)
    moustache = front * (1 - step(ax, 0.028, 0.004)) * step(p[:, 1], mouth_y + 0.008, 0.002) \
        * (1 - step(p[:, 1], mouth_y + 0.02, 0.003))
    # Nails: the last 11 mm of each fingertip on the back of the hand (palms face down in the T-pose).
    nails = torch.zeros(c.count)
    for side in ("left", "right"):
        for tip in FINGER_TIPS:
            joint = J[f"{side}_{tip}"]
            on = region == joint
            if not bool(on.any()):
                continue
            base = _joint(canvas, joint)
            axis = base - _joint(canvas, joint - 1)
            axis = axis / axis.norm()
            reach = (p - base) @ axis
            dorsal = torch.tensor([0.0, 1.0, 0.0]) if tip != "thumb3" else torch.tensor([0.0, 0.55, 0.83])
            nails += on.float() * step(reach, float(reach[on].max()) - 0.011, 0.002) * step(n @ dorsal, 0.45, 0.15)
    foot = (c.part == FOOT).float() * (region == J["left_foot"]).logical_or(region == J["right_foot"]).float()
    bins = torch.floor(p[:, 0] / 0.009).long()
    bins -= int(bins.min())
    toe_z = torch.where(foot > 0, p[:, 2], -1.0)
    tip_z = torch.full((int(bins.max()) + 1,), -1.0).scatter_reduce(0, bins, toe_z, "amax")
    nails += foot * step(p[:, 2], tip_z[bins] - 0.009, 0.002) * step(n[:, 1], 0.35, 0.15)
    hand = (c.part == HAND).float()
    palms = hand * step(-n[:, 1], 0.3, 0.3)
    nipple_y = m.torso_y(0.6)
    areola = (c.part == TORSO).float() * step(n[:, 2], 0.5, 0.1) * (1 - step(
        torch.sqrt((p[:, 0].abs() - 0.095) ** 2 + (p[:, 1] - nipple_y) ** 2), 0.011, 0.004))
    down = _down_frame(c)
    beard = torch.maximum(stubble, moustache)
    return _Features(*map(_sparse, (sclera, iris, pupil, lash, brow, lips, lip_line, cheeks, stubble, moustache, beard,
                                    nails, palms, areola)), down)


def _joint(canvas: Canvas, joint: int) -> torch.Tensor:
    rest = canvas.rest
    return rest.joints[torch.nonzero(rest.bone_regions == joint)[0, 0]]


def _down_frame(c: LayerCanvas) -> torch.Tensor:
    cos, sin = frame_angle(c, torch.tensor([0.0, -1.0, 0.0])[:, None])
    return torch.stack([cos, sin], -1)
