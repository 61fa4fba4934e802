"""The command line's side of composition and projects: --layer, --project and export --avs.

main.py stays the argument parser; this module turns its options into a Composition (or opens a
project), builds the avatar through the same Composer the studio uses, and saves what the options
describe. So `export --seed 1 --layer top=2 --avs p.avs` and `render --project p.avs` go through one
path and agree pixel for pixel with `render --seed 1 --layer top=2`.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from core.attribute_maps import Maps
from core.avatar import Avatar
from core.errors import AvatarStudioError
from editor.composition import GARMENT_LAYERS, AvatarSource, Composer, Composition, LayerChoice
from editor.paint import PaintLayers
from editor.project import SUFFIX, MotionRef, Project, save_project


@dataclasses.dataclass
class Composed:
    """What the CLI composed: the project describing it, the composed maps, the paint, and the avatar
    (built on first use: `export --avs` alone needs only the latents)."""

    project: Project
    maps: Maps
    composer: Composer
    paint: PaintLayers
    _avatar: Avatar | None = None

    @property
    def avatar(self) -> Avatar:
        if self._avatar is None:
            self._avatar = self.composer.avatar(self.project.composition, self.paint, shape=self.project.shape)
        return self._avatar

    def painted_maps(self) -> Maps:
        return self.paint.painted_maps(self.maps)


def parse_layer_options(values: list[str]) -> dict[str, int | None]:
    """--layer LAYER=SEED|none options -> layer -> seed (None: removed); one-line errors."""
    out: dict[str, int | None] = {}
    for value in values:
        name, sep, seed = value.partition("=")
        name, seed = name.strip().lower(), seed.strip().lower()
        if not sep:
            raise AvatarStudioError(f"--layer {value}: write LAYER=SEED or LAYER=none, e.g. --layer top=7")
        if name not in GARMENT_LAYERS:
            raise AvatarStudioError(f"--layer {value}: unknown layer {name!r}, choose {', '.join(GARMENT_LAYERS)}")
        if name in out:
            raise AvatarStudioError(f"--layer {value}: layer {name} is given twice")
        if seed == "none":
            out[name] = None
            continue
        try:
            number = int(seed)
        except ValueError:
            raise AvatarStudioError(f"--layer {value}: the seed must be a whole number 0 or more, or none") from None
        if number < 0:
            raise AvatarStudioError(f"--layer {value}: the seed must be a whole number 0 or more, or none")
        out[name] = number
    return out


def generator_for(body):
    """The shipped generator when it was trained for this body model, else None (seeds then give the
    plain default)."""
    from core.generator import Generator

    generator = Generator.load() if Generator.shipped() else None
    return generator if generator is not None and generator.config.body_model == body.name else None


def composition_from_args(args: argparse.Namespace, generator_ok: bool, body_name: str) -> Composition:
    """The composition the avatar options describe; layer seeds sample the same source as the base."""
    interp = getattr(args, "interp", None)
    steps = getattr(args, "steps", None)
    wardrobe, plain = getattr(args, "wardrobe", None), getattr(args, "plain", None)  # bench has neither
    if interp is not None and (wardrobe is not None or plain is not None):
        raise AvatarStudioError("--interp B interpolates generator seeds: use it with --seed A")
    if interp is not None and not 0.0 <= args.t <= 1.0:
        raise AvatarStudioError(f"--t {args.t}: the interpolation position must be 0..1")
    if wardrobe is not None:
        kind, seed = "wardrobe", wardrobe
    elif plain is not None:
        kind, seed = "plain", plain
    elif generator_ok:
        kind, seed = "model", args.seed
    else:
        if interp is not None:
            raise AvatarStudioError("--interp needs a trained generator for this body model (assets/generator)")
        kind, seed = "plain", args.seed
        print(f"avatar-studio: no generator for --body {body_name}; --seed {args.seed} gives the plain seeded "
              f"avatar", file=sys.stderr)
    if seed < 0:
        raise AvatarStudioError(f"seed {seed}: seeds are whole numbers 0 or more")
    model_steps = steps if kind == "model" else None
    base = AvatarSource(kind, seed, interp if kind == "model" else None, args.t if interp is not None else 0.5,
                        model_steps)
    composition = Composition(base)
    for layer, layer_seed in parse_layer_options(getattr(args, "layer", [])).items():
        choice = LayerChoice.remove() if layer_seed is None else LayerChoice.of(
            AvatarSource(kind, layer_seed, steps=model_steps))
        composition = composition.with_layer(layer, choice)
    return composition


def composed_from_args(args: argparse.Namespace, project: Project | None) -> Composed:
    """Build the avatar of --project, or of the avatar options with --layer (see the module docstring)."""
    from core.body import load_body

    if project is not None:
        body = load_body(project.body, args.body_dir, getattr(args, "gender", "neutral"))
        needs_model = any(s.kind == "model" for s in project.composition.sources())
        generator = generator_for(body) if needs_model else None
        if needs_model and generator is None:
            raise AvatarStudioError(f"{args.project}: this project uses the trained generator for body "
                                    f"{project.body}, which is not installed (assets/generator)")
        composition = project.composition
    else:
        body = load_body(args.body, args.body_dir, args.gender)
        generator = generator_for(body) if args.wardrobe is None and args.plain is None else None
        composition = composition_from_args(args, generator is not None, body.name)
        project = Project(composition, body=body.name)
    composer = Composer(body, generator)
    for source, latent in project.latents.items():
        composer.remember(source, latent)
    paint = project.paint_layers(body)
    maps, _ = composer.maps(composition)
    project = dataclasses.replace(project, latents={
        s: composer.source_maps(s).latent for s in composition.sources() if s.kind == "model"})
    return Composed(project, maps, composer, paint)


def check_avs_output(path: Path) -> None:
    from core.atomic import check_writable

    if Path(path).suffix.lower() != SUFFIX:
        raise AvatarStudioError(f"{path}: project files end in {SUFFIX}")
    check_writable(path)


def save_cli_project(args: argparse.Namespace, composed: Composed, pose) -> Path:
    """export --avs: the composition, latents and paint, with the pose or motion the options name."""
    project = composed.project
    if args.motion is not None:
        motion_path = Path(args.motion)
        name = str(motion_path.resolve()) if motion_path.is_file() else str(args.motion)
        project = dataclasses.replace(project, motion=MotionRef(name, args.frame or 0), pose=None)
    elif pose is not None:
        project = dataclasses.replace(project, pose=(pose.joints.numpy(), pose.translation.numpy()), motion=None)
    path = save_project(args.avs, project)
    print(f"wrote {path}: project of {project.composition.base.label}"
          + "".join(f", {k} {v.label}" for k, v in project.composition.layers.items()))
    return path


__all__ = ["Composed", "generator_for", "parse_layer_options", "composition_from_args", "composed_from_args",
           "check_avs_output", "save_cli_project"]
