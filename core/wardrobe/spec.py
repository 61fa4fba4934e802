"""A dressed person as a small, serialisable spec, and the seeded sampler of specs.

`sample(seed)` draws every discrete choice and continuous parameter of one avatar with one
numpy Generator, so the same seed gives the same spec on every machine. The painters
(`core.wardrobe.paint`) turn a spec into attribute maps; the spec itself (a few hundred bytes of
JSON) is the most compact cache of a training set.

Lengths are in body-relative units so one spec dresses any body:
- torso height t: 0 at the pelvis joint, 1 at the base of the neck;
- arm position a: 0 at the shoulder joint, 1 at the wrist;
- leg position l: 0 at the crotch, 1 at the ankle joint.
Colours are sRGB in 0..1. The body prior is described in docs/wardrobe.md.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

TOP_KINDS = ("none", "tank", "t-shirt", "long-sleeve", "hoodie", "jacket")
NECKLINES = ("crew", "v-neck", "scoop", "collar", "turtleneck")
PATTERNS = ("solid", "stripes", "plaid", "dots", "colour-block", "print")  # tops: all; bottoms: not print
BOTTOM_PATTERNS = PATTERNS[:-1]
PRINTS = ("circle", "ring", "diamond", "bars", "chevron")
BOTTOM_KINDS = ("shorts", "trousers", "jeans", "short-skirt", "long-skirt")
HAIR_STYLES = ("bald", "buzz", "short", "bob", "long", "ponytail", "bun")
SHOE_KINDS = ("sneakers", "boots", "sandals", "dress-shoes")
FACIAL_HAIR = ("none", "stubble", "moustache", "beard")

RGB = tuple[float, float, float]

# Skin tones from very light to very deep (sRGB), after measured skin reflectance ranges
# (Fitzpatrick I-VI); a tone in 0..1 interpolates along them.
SKIN_RAMP: tuple[RGB, ...] = (
    (0.97, 0.84, 0.76), (0.94, 0.78, 0.67), (0.88, 0.70, 0.57), (0.80, 0.61, 0.46),
    (0.69, 0.50, 0.36), (0.56, 0.39, 0.27), (0.43, 0.29, 0.20), (0.30, 0.20, 0.14),
)
EYE_COLOURS: dict[str, tuple[RGB, float]] = {  # colour, weight
    "dark brown": ((0.18, 0.10, 0.05), 0.45), "brown": ((0.36, 0.21, 0.09), 0.2), "hazel": ((0.45, 0.35, 0.16), 0.1),
    "green": ((0.30, 0.42, 0.24), 0.07), "blue": ((0.32, 0.48, 0.66), 0.12), "grey": ((0.48, 0.52, 0.55), 0.06),
}
NATURAL_HAIR: dict[str, tuple[RGB, float]] = {
    "black": ((0.045, 0.035, 0.035), 0.3), "dark brown": ((0.15, 0.095, 0.06), 0.25),
    "brown": ((0.29, 0.18, 0.10), 0.15), "light brown": ((0.46, 0.32, 0.19), 0.1),
    "dark blonde": ((0.60, 0.46, 0.28), 0.06), "blonde": ((0.80, 0.67, 0.43), 0.06),
    "auburn": ((0.42, 0.16, 0.07), 0.04), "ginger": ((0.68, 0.32, 0.12), 0.04),
}
GREY_HAIR: tuple[RGB, RGB] = ((0.56, 0.54, 0.52), (0.86, 0.85, 0.83))  # salt-and-pepper .. white
DYED_HAIR: tuple[RGB, ...] = ((0.85, 0.40, 0.60), (0.20, 0.35, 0.75), (0.45, 0.22, 0.60), (0.10, 0.55, 0.55),
                              (0.75, 0.10, 0.12), (0.80, 0.80, 0.84), (0.92, 0.88, 0.70))
# Garment colours (sRGB), weighted towards the neutrals clothes mostly come in.
GARMENT_COLOURS: dict[str, tuple[RGB, float]] = {
    "white": ((0.91, 0.91, 0.89), 1.6), "cream": ((0.89, 0.85, 0.75), 0.6), "light grey": ((0.70, 0.70, 0.70), 0.8),
    "heather grey": ((0.52, 0.52, 0.54), 1.0), "charcoal": ((0.22, 0.22, 0.24), 1.0),
    "black": ((0.07, 0.07, 0.08), 1.8),
    "navy": ((0.10, 0.14, 0.30), 1.4), "royal blue": ((0.16, 0.28, 0.64), 0.5), "sky blue": ((0.55, 0.70, 0.86), 0.6),
    "teal": ((0.10, 0.42, 0.45), 0.4), "forest green": ((0.13, 0.30, 0.18), 0.5), "olive": ((0.35, 0.36, 0.20), 0.7),
    "sage": ((0.60, 0.66, 0.54), 0.4), "mustard": ((0.80, 0.62, 0.18), 0.4), "burgundy": ((0.42, 0.08, 0.14), 0.6),
    "red": ((0.74, 0.12, 0.12), 0.5), "coral": ((0.92, 0.46, 0.38), 0.3), "pink": ((0.93, 0.66, 0.72), 0.4),
    "lavender": ((0.68, 0.62, 0.82), 0.3), "purple": ((0.35, 0.18, 0.46), 0.3), "camel": ((0.72, 0.56, 0.38), 0.6),
    "khaki": ((0.66, 0.60, 0.44), 0.6), "brown": ((0.36, 0.24, 0.15), 0.6), "rust": ((0.62, 0.28, 0.13), 0.3),
    "orange": ((0.92, 0.50, 0.15), 0.2), "yellow": ((0.95, 0.85, 0.30), 0.3),
}
DENIM: dict[str, tuple[RGB, float]] = {
    "indigo": ((0.11, 0.16, 0.30), 1.0), "mid wash": ((0.24, 0.35, 0.52), 1.0), "light wash": ((0.50, 0.60, 0.72), 0.5),
    "black denim": ((0.11, 0.11, 0.13), 0.5), "grey denim": ((0.38, 0.39, 0.42), 0.3),
}
TROUSER_COLOURS = ("black", "navy", "charcoal", "khaki", "olive", "camel", "brown", "cream", "heather grey", "white")
SHOE_COLOURS: dict[str, tuple[str, ...]] = {
    "sneakers": ("white", "white", "black", "light grey", "navy", "red", "cream", "royal blue"),
    "boots": ("brown", "black", "camel", "charcoal"),
    "sandals": ("brown", "camel", "black", "cream"),
    "dress-shoes": ("black", "brown", "burgundy"),
}
NAIL_POLISH: tuple[RGB, ...] = ((0.70, 0.05, 0.10), (0.90, 0.45, 0.55), (0.10, 0.08, 0.10), (0.85, 0.65, 0.58),
                                (0.45, 0.10, 0.35))

# Adult heights from Anny's own calibration (anny 0.6.2, data/shape_calibration/{boys,girls}.pth, the
# anchor at the oldest age): Beta(alpha, beta) of the `height` phenotype, matched to WHO statistics.
ANNY_HEIGHT_BETA = {"male": (16.496, 25.656), "female": (13.684, 25.748)}
# Anny's morphological-age mapping (same files): years -> the `age` phenotype, piecewise linear.
ANNY_AGE_YEARS = (0.0, 1.0, 4.0, 11.0, 16.0, 18.0, 64.0, 110.0)
ANNY_AGE_VALUE = (0.0, 0.05, 0.215, 0.415, 0.67, 0.77, 0.83, 1.0)


@dataclasses.dataclass(frozen=True)
class Phenotype:
    """Who wears the clothes; `anny_shape` turns it into Anny's phenotype parameters."""

    sex: str  # "male" | "female" (drives the prior and a few wardrobe choices)
    gender: float  # Anny gender, 0 = male .. 1 = female
    age_years: float  # 18..70
    height: float  # Anny phenotypes, 0..1
    weight: float
    muscle: float
    proportions: float

    def anny_shape(self) -> dict[str, float]:
        age = float(np.interp(self.age_years, ANNY_AGE_YEARS, ANNY_AGE_VALUE))
        return {"gender": self.gender, "age": age, "muscle": self.muscle, "weight": self.weight,
                "height": self.height, "proportions": self.proportions}


@dataclasses.dataclass(frozen=True)
class BodySpec:
    phenotype: Phenotype
    skin: RGB
    eyes: RGB
    brows: RGB  # eyebrow (and facial hair) colour
    lips: RGB
    facial_hair: str  # FACIAL_HAIR
    nails: RGB  # natural or polished


@dataclasses.dataclass(frozen=True)
class Fabric:
    """Colour and surface of one garment."""

    colour: RGB
    accent: RGB  # second colour of patterns, trims, prints
    pattern: str  # PATTERNS
    motif: str  # PRINTS, for pattern == "print"
    scale: float  # metres: stripe period, check size, dot spacing
    noise: float  # per-texel brightness noise (fabric grain), relative
    folds: float  # metres: amplitude of fold offsets


@dataclasses.dataclass(frozen=True)
class TopSpec:
    kind: str  # TOP_KINDS
    neckline: str  # NECKLINES
    sleeve: float  # arm position the sleeve ends at (0 = sleeveless)
    hem: float  # torso height of the hem
    fit: float  # metres off the shell
    fabric: Fabric
    inner: RGB  # jacket: the shirt showing in the open front; hoodie: drawstrings
    open_front: bool  # jacket worn open (else zipped)


@dataclasses.dataclass(frozen=True)
class BottomSpec:
    kind: str  # BOTTOM_KINDS
    waist: float  # torso height of the waistband
    hem: float  # leg position of the hem
    fit: float  # metres off the shell at the hem (wide legs, flared skirts)
    fabric: Fabric
    denim: bool  # jeans, and some shorts and skirts
    belt: RGB | None


@dataclasses.dataclass(frozen=True)
class HairSpec:
    style: str  # HAIR_STYLES
    colour: RGB
    dyed: bool
    hairline: float  # metres above the eyes at the forehead
    recession: float  # metres the temples recede (0 = full hairline)
    volume: float  # metres of lift on the crown
    length: float  # torso height the ends reach (long, ponytail); ignored otherwise
    parting: float  # -1 left .. 1 right, 0 centre
    fringe: bool


@dataclasses.dataclass(frozen=True)
class ShoeSpec:
    kind: str  # SHOE_KINDS
    colour: RGB
    sole: RGB
    accent: RGB
    shaft: float  # boots: leg position of the top (from the knee down: 0.5 mid-calf .. 0.9 ankle)


@dataclasses.dataclass(frozen=True)
class WardrobeSpec:
    seed: int
    body: BodySpec
    top: TopSpec
    bottom: BottomSpec
    hair: HairSpec
    shoes: ShoeSpec

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> "WardrobeSpec":
        d = json.loads(text)
        tup = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731 (JSON has no tuples)
        fabric = lambda f: Fabric(**{k: tup(v) for k, v in f.items()})  # noqa: E731
        part = lambda cls, f, **extra: cls(**{**{k: tup(v) for k, v in f.items()}, **extra})  # noqa: E731
        body = d["body"]
        return WardrobeSpec(
            seed=d["seed"],
            body=part(BodySpec, body, phenotype=Phenotype(**body["phenotype"])),
            top=part(TopSpec, d["top"], fabric=fabric(d["top"]["fabric"])),
            bottom=part(BottomSpec, d["bottom"], fabric=fabric(d["bottom"]["fabric"])),
            hair=part(HairSpec, d["hair"]),
            shoes=part(ShoeSpec, d["shoes"]),
        )


def sample(seed: int) -> WardrobeSpec:
    """The spec of wardrobe avatar `seed` (any int >= 0): deterministic, one numpy Generator."""
    rng = np.random.default_rng(seed)
    phenotype = _sample_phenotype(rng)
    hair = _sample_hair(rng, phenotype)
    body = _sample_body(rng, phenotype, hair)
    top = _sample_top(rng, phenotype)
    bottom = _sample_bottom(rng, phenotype, top)
    shoes = _sample_shoes(rng, bottom)
    return WardrobeSpec(seed, body, top, bottom, hair, shoes)


def _pick(rng: np.random.Generator, options: dict[str, Any] | tuple, weights=None):
    """One of `options` (a tuple, with optional weights) or of a {name: (value, weight)} table."""
    if isinstance(options, dict):
        names = list(options)
        p = np.array([options[n][1] for n in names], dtype=float)
        return options[names[rng.choice(len(names), p=p / p.sum())]][0]
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return options[rng.choice(len(options), p=p)]


def _jitter(rng: np.random.Generator, colour: RGB, amount: float = 0.04) -> RGB:
    """A colour nudged in brightness and hue, so two navy shirts are not identical."""
    c = np.asarray(colour) * (1 + rng.normal(0, amount)) + rng.normal(0, amount * 0.5, 3)
    return tuple(float(v) for v in np.clip(c, 0.02, 0.98))


def _sample_phenotype(rng: np.random.Generator) -> Phenotype:
    """Adults 18-70: sex 50/50; Anny's calibrated height; weight rising gently with age."""
    sex = "male" if rng.random() < 0.5 else "female"
    lean = rng.beta(1.5, 10.0)  # how far from the prototype: mostly near it, some androgyny
    gender = lean if sex == "male" else 1 - lean
    age = float(rng.uniform(18, 70))
    height = rng.beta(*ANNY_HEIGHT_BETA[sex])
    mean_weight = 0.42 + 0.16 * (age - 18) / 52
    weight = rng.beta(6 * mean_weight, 6 * (1 - mean_weight))
    mean_muscle = (0.56 if sex == "male" else 0.46) - 0.08 * (age - 18) / 52
    muscle = rng.beta(6 * mean_muscle, 6 * (1 - mean_muscle))
    proportions = rng.beta(2.0, 2.0)
    return Phenotype(sex, float(gender), age, float(height), float(weight), float(muscle), float(proportions))


def _skin(rng: np.random.Generator) -> RGB:
    tone = rng.uniform(0, 1) * (len(SKIN_RAMP) - 1)
    i = min(int(tone), len(SKIN_RAMP) - 2)
    base = np.asarray(SKIN_RAMP[i]) * (1 - (tone - i)) + np.asarray(SKIN_RAMP[i + 1]) * (tone - i)
    undertone = rng.normal(0, 0.02) * np.array([1.0, 0.0, -1.0]) + rng.normal(0, 0.012) * np.array([0.0, 1.0, 0.0])
    return tuple(float(v) for v in np.clip(base * (1 + rng.normal(0, 0.03)) + undertone, 0.05, 0.99))


def _natural_hair_colour(rng: np.random.Generator, age: float) -> RGB:
    colour = np.asarray(_pick(rng, NATURAL_HAIR))
    grey = np.clip((age - 35) / 35 + rng.normal(0, 0.2), 0, 1) if rng.random() < 0.75 else 0.0
    if grey > 0:
        white = np.asarray(GREY_HAIR[0]) * (1 - grey) + np.asarray(GREY_HAIR[1]) * grey
        colour = colour * (1 - grey) + white * grey
    return _jitter(rng, tuple(colour), 0.05)


def _sample_body(rng: np.random.Generator, ph: Phenotype, hair: "HairSpec") -> BodySpec:
    skin = _skin(rng)
    dark_skin = float(np.mean(skin)) < 0.5
    eyes = _pick(rng, {k: EYE_COLOURS[k] for k in ("dark brown", "brown")} if dark_skin else EYE_COLOURS)
    natural = _natural_hair_colour(rng, ph.age_years * 0.8) if hair.dyed else hair.colour
    brows = tuple(float(v) * 0.8 for v in natural)  # brows and beard a shade darker than the hair
    lips = np.asarray(skin) * np.array([0.80, 0.62, 0.63]) + rng.normal(0, 0.015, 3)
    lips = tuple(float(v) for v in np.clip(lips, 0, 1))
    if ph.sex == "female" and rng.random() < 0.25:
        lips = _jitter(rng, _pick(rng, ((0.62, 0.10, 0.16), (0.78, 0.38, 0.40), (0.55, 0.25, 0.25))), 0.05)
    facial_hair = _pick(rng, FACIAL_HAIR, (0.45, 0.2, 0.1, 0.25)) if ph.sex == "male" else "none"
    nails = tuple(float(v) for v in np.clip(np.asarray(skin) * 0.35 + np.array([0.60, 0.45, 0.45]), 0, 1))
    if rng.random() < (0.4 if ph.sex == "female" else 0.03):
        nails = _jitter(rng, _pick(rng, NAIL_POLISH), 0.05)
    return BodySpec(ph, skin, _jitter(rng, eyes, 0.08), brows, lips, facial_hair, nails)


def _sample_hair(rng: np.random.Generator, ph: Phenotype) -> HairSpec:
    if ph.sex == "male":
        bald = np.clip((ph.age_years - 30) / 40, 0, 1) * 0.35
        weights = (0.04 + bald, 0.14, 0.55 - bald, 0.04, 0.08, 0.08, 0.07)
    else:
        weights = (0.005, 0.02, 0.12, 0.2, 0.33, 0.18, 0.145)
    style = _pick(rng, HAIR_STYLES, weights)
    dyed = bool(rng.random() < 0.08)
    colour = _jitter(rng, _pick(rng, DYED_HAIR), 0.04) if dyed else _natural_hair_colour(rng, ph.age_years)
    recession = float(np.clip(rng.normal((ph.age_years - 25) / 45 * 0.035, 0.01), 0, 0.05)) if ph.sex == "male" else 0.0
    return HairSpec(
        style=style, colour=colour, dyed=dyed,
        hairline=float(rng.uniform(0.062, 0.085)), recession=recession,
        volume=float(rng.uniform(0.006, 0.02) if style != "buzz" else 0.0),
        length=float(rng.uniform(0.35, 0.85) if style in ("long", "ponytail") else 1.0),
        parting=float(rng.choice([-1.0, 0.0, 1.0]) * rng.uniform(0.3, 1.0)),
        fringe=bool(rng.random() < (0.35 if style in ("short", "bob", "long") else 0.0)),
    )


def _fabric(rng: np.random.Generator, colour: RGB, patterns: tuple[float, ...], folds: float) -> Fabric:
    """A fabric; `patterns` weighs the first len(patterns) PATTERNS."""
    pattern = _pick(rng, PATTERNS[:len(patterns)], patterns)
    accent = _jitter(rng, _pick(rng, GARMENT_COLOURS))
    while float(np.abs(np.asarray(accent) - np.asarray(colour)).sum()) < 0.45:  # patterns need contrast
        accent = _jitter(rng, _pick(rng, GARMENT_COLOURS))
    scale = {"stripes": rng.uniform(0.02, 0.07), "plaid": rng.uniform(0.06, 0.14), "dots": rng.uniform(0.03, 0.06)}
    return Fabric(colour=colour, accent=accent, pattern=pattern, motif=_pick(rng, PRINTS),
                  scale=float(scale.get(pattern, 0.05)), noise=float(rng.uniform(0.015, 0.05)),
                  folds=float(folds * rng.uniform(0.5, 1.5)))


def _sample_top(rng: np.random.Generator, ph: Phenotype) -> TopSpec:
    weights = (0.05, 0.1, 0.32, 0.2, 0.15, 0.18) if ph.sex == "male" else (0.0, 0.2, 0.3, 0.2, 0.12, 0.18)
    kind = _pick(rng, TOP_KINDS, weights)
    neckline = _pick(rng, NECKLINES, (0.45, 0.2, 0.15 if ph.sex == "female" else 0.03, 0.15, 0.08))
    colour = _jitter(rng, _pick(rng, GARMENT_COLOURS))
    if kind == "jacket":
        colour = _jitter(rng, _pick(rng, ((0.08, 0.08, 0.09), (0.30, 0.19, 0.11), (0.10, 0.14, 0.28),
                                          (0.33, 0.34, 0.20), (0.66, 0.56, 0.40), (0.27, 0.37, 0.54))))
    patterns = {"none": (1, 0, 0, 0, 0, 0), "tank": (0.6, 0.2, 0, 0.1, 0.05, 0.05),
                "t-shirt": (0.45, 0.15, 0.05, 0.05, 0.1, 0.2),
                "long-sleeve": (0.45, 0.2, 0.15, 0.05, 0.1, 0.05), "hoodie": (0.6, 0.05, 0.0, 0.0, 0.2, 0.15),
                "jacket": (0.8, 0.0, 0.1, 0.0, 0.1, 0.0)}[kind]
    sleeve = {"none": 0.0, "tank": 0.0, "t-shirt": rng.uniform(0.22, 0.45)}.get(kind, rng.uniform(0.93, 1.0))
    fit = {"hoodie": rng.uniform(0.012, 0.024), "jacket": rng.uniform(0.016, 0.028)}.get(kind, rng.uniform(0.0, 0.012))
    hem = rng.uniform(-0.42, -0.22) if kind in ("hoodie", "jacket") else rng.uniform(-0.38, -0.12)
    if ph.sex == "female" and kind in ("tank", "t-shirt") and rng.random() < 0.15:
        hem = rng.uniform(0.05, 0.15)  # cropped
    inner = _jitter(rng, _pick(rng, ((0.92, 0.92, 0.90), (0.10, 0.10, 0.11), (0.55, 0.55, 0.57), (0.85, 0.80, 0.70))))
    return TopSpec(kind=kind, neckline=neckline, sleeve=float(sleeve), hem=float(hem), fit=float(fit),
                   fabric=_fabric(rng, colour, patterns, folds=0.006 if kind in ("hoodie", "jacket") else 0.004),
                   inner=inner, open_front=bool(rng.random() < 0.6))


def _sample_bottom(rng: np.random.Generator, ph: Phenotype, top: TopSpec) -> BottomSpec:
    weights = (0.22, 0.43, 0.35, 0.0, 0.0) if ph.sex == "male" else (0.16, 0.24, 0.24, 0.18, 0.18)
    kind = _pick(rng, BOTTOM_KINDS, weights)
    denim = kind == "jeans" or (kind != "trousers" and rng.random() < 0.25)
    if denim:
        colour = _jitter(rng, _pick(rng, DENIM), 0.05)
        patterns = (1, 0, 0, 0, 0)
    elif kind in ("trousers", "shorts"):
        colour = _jitter(rng, GARMENT_COLOURS[_pick(rng, TROUSER_COLOURS)][0])
        patterns = (0.85, 0.08, 0.07, 0, 0)
    else:
        colour = _jitter(rng, _pick(rng, GARMENT_COLOURS))
        patterns = (0.55, 0.1, 0.15, 0.12, 0.08)
    hem = {"shorts": rng.uniform(0.12, 0.42), "short-skirt": rng.uniform(0.12, 0.38),
           "long-skirt": rng.uniform(0.5, 0.68)}.get(kind, rng.uniform(0.96, 1.0))
    fit = {"shorts": rng.uniform(0.0, 0.02), "short-skirt": rng.uniform(0.0, 0.03),
           "long-skirt": rng.uniform(0.0, 0.05),
           "jeans": rng.uniform(0.0, 0.012)}.get(kind, rng.uniform(0.0, 0.035))
    belt = _pick(rng, ((0.07, 0.06, 0.06), (0.30, 0.18, 0.10), (0.50, 0.33, 0.18))) if rng.random() < 0.3 else None
    return BottomSpec(kind=kind, waist=float(rng.uniform(0.0, 0.22)), hem=float(hem), fit=float(fit),
                      fabric=_fabric(rng, colour, patterns, folds=0.004), denim=bool(denim),
                      belt=None if kind in ("short-skirt", "long-skirt") or belt is None else tuple(belt))


def _sample_shoes(rng: np.random.Generator, bottom: BottomSpec) -> ShoeSpec:
    skirt = bottom.kind in ("short-skirt", "long-skirt")
    kind = _pick(rng, SHOE_KINDS, (0.45, 0.22, 0.13 if bottom.kind != "long-skirt" else 0.2, 0.2))
    colour = _jitter(rng, GARMENT_COLOURS[_pick(rng, SHOE_COLOURS[kind])][0], 0.05)
    sole = {"sneakers": (0.93, 0.93, 0.91), "boots": (0.10, 0.08, 0.07), "sandals": (0.45, 0.32, 0.20),
            "dress-shoes": (0.09, 0.07, 0.06)}[kind]
    if kind == "sneakers" and rng.random() < 0.25:
        sole = (0.12, 0.12, 0.13) if float(np.mean(colour)) < 0.3 else (0.85, 0.75, 0.55)
    accent = _jitter(rng, _pick(rng, GARMENT_COLOURS))
    shaft = float(rng.uniform(0.45, 0.85) if not skirt or rng.random() < 0.5 else rng.uniform(0.45, 0.6))
    return ShoeSpec(kind=kind, colour=colour, sole=_jitter(rng, sole, 0.02), accent=accent, shaft=shaft)
