"""The generator checkpoint: a folder with config.json and the EMA weights as fp16 safetensors.

    config.json          format, body model, template version, map channels, model and diffusion sizes,
                         the weights file's size and SHA-256, and the training recipe (for the record)
    model.safetensors    GeneratorNets state dict (EMA weights), float16

Loading checks everything a wrong file could get wrong and says it in one line (AvatarStudioError):
a missing or unreadable folder, a config from something else, another body model or template version,
a weights file of the wrong size or hash (truncated, corrupt, or from another run), and weights whose
names or shapes do not fit the config. The hash is what catches a truncated download before safetensors
parses it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from core.attribute_maps import CHANNELS
from core.atomic import atomic_write
from core.errors import AvatarStudioError
from core.generator.diffusion import DiffusionConfig
from core.generator.model import GeneratorNets, ModelConfig
from core.templates import TEMPLATE_VERSION

FORMAT = "avatar-studio-generator"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "generator"


@dataclasses.dataclass
class CheckpointConfig:
    """What config.json holds (see the module docstring)."""

    body_model: str  # BodyModel.name the maps' charts belong to
    body_identity: str  # BodyModel.identity() at training time (recorded; the name is what is checked)
    template_version: int  # core.templates.TEMPLATE_VERSION the charts were built with
    shape_names: list[str]  # the body shape parameters the decoder predicts, in order
    model: ModelConfig
    diffusion: DiffusionConfig
    training: dict  # the recipe and its numbers, for the record
    weights_bytes: int = 0
    weights_sha256: str = ""

    def to_json(self) -> str:
        d = {"format": FORMAT, "format_version": FORMAT_VERSION, "body_model": self.body_model,
             "body_identity": self.body_identity, "template_version": self.template_version,
             "map_channels": list(CHANNELS), "shape_names": self.shape_names,
             "model": dataclasses.asdict(self.model), "diffusion": dataclasses.asdict(self.diffusion),
             "weights": {"file": WEIGHTS_NAME, "bytes": self.weights_bytes, "sha256": self.weights_sha256},
             "training": self.training}
        return json.dumps(d, indent=1)


def save_checkpoint(folder: str | Path, nets: GeneratorNets, config: CheckpointConfig) -> Path:
    """Write the weights (float16) and config.json into `folder` (created), each file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in nets.state_dict().items()}
    blob = save(state, metadata={"format": FORMAT})
    with atomic_write(folder / WEIGHTS_NAME) as f:
        f.write(blob)
    config = dataclasses.replace(config, weights_bytes=len(blob), weights_sha256=hashlib.sha256(blob).hexdigest())
    with atomic_write(folder / CONFIG_NAME, "w") as f:
        f.write(config.to_json())
    return folder


def read_config(folder: str | Path) -> CheckpointConfig:
    """Parse and check config.json of a checkpoint folder (or the path of the config itself)."""
    path = Path(folder)
    path = path / CONFIG_NAME if path.is_dir() else path
    if not path.is_file():
        raise AvatarStudioError(f"{path}: no generator checkpoint there (expected a folder with {CONFIG_NAME} "
                                f"and {WEIGHTS_NAME})")
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AvatarStudioError(f"{path}: unreadable generator config ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise AvatarStudioError(f"{path}: not an avatar-studio generator config")
    if d.get("format_version") != FORMAT_VERSION:
        raise AvatarStudioError(f"{path}: generator format version {d.get('format_version')}, this build reads "
                                f"{FORMAT_VERSION}")
    if d.get("template_version") != TEMPLATE_VERSION:
        raise AvatarStudioError(f"{path}: checkpoint made for template version {d.get('template_version')}, this "
                                f"build has version {TEMPLATE_VERSION}; retrain it (avatar-studio train)")
    if d.get("map_channels") != list(CHANNELS):
        raise AvatarStudioError(f"{path}: checkpoint decodes map channels {d.get('map_channels')}, this build "
                                f"uses {list(CHANNELS)}")
    try:
        return CheckpointConfig(
            body_model=str(d["body_model"]), body_identity=str(d["body_identity"]),
            template_version=int(d["template_version"]), shape_names=list(d["shape_names"]),
            model=ModelConfig.from_dict(d["model"]), diffusion=DiffusionConfig.from_dict(d["diffusion"]),
            training=dict(d.get("training", {})), weights_bytes=int(d["weights"]["bytes"]),
            weights_sha256=str(d["weights"]["sha256"]))
    except (KeyError, TypeError, ValueError) as e:
        raise AvatarStudioError(f"{path}: incomplete generator config ({type(e).__name__}: {e})") from None


def load_checkpoint(folder: str | Path, device: torch.device | str = "cpu") -> tuple[GeneratorNets, CheckpointConfig]:
    """The networks (float32, eval mode, on `device`) and config of a checkpoint folder."""
    folder = Path(folder)
    folder = folder.parent if folder.is_file() else folder
    config = read_config(folder)
    weights = folder / WEIGHTS_NAME
    try:
        blob = weights.read_bytes()
    except OSError as e:
        raise AvatarStudioError(f"{weights}: cannot read generator weights ({e.strerror or e})") from None
    if len(blob) != config.weights_bytes:
        raise AvatarStudioError(f"{weights}: {len(blob)} bytes where the config says {config.weights_bytes}: "
                                f"truncated or replaced; fetch or train the checkpoint again")
    if hashlib.sha256(blob).hexdigest() != config.weights_sha256:
        raise AvatarStudioError(f"{weights}: contents do not match the config's SHA-256: corrupt or from another "
                                f"training run")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise AvatarStudioError(f"{weights}: not a readable safetensors file ({e})") from None
    try:
        nets = GeneratorNets(config.model)
    except (ValueError, RuntimeError, TypeError) as e:
        raise AvatarStudioError(f"{folder / CONFIG_NAME}: model sizes do not build a network ({e})") from None
    expected = nets.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        first = (missing or unexpected or wrong)[0]
        raise AvatarStudioError(f"{weights}: weights do not fit the config ({len(missing)} missing, "
                                f"{len(unexpected)} unexpected, {len(wrong)} of another shape, e.g. {first!r})")
    nets.load_state_dict({k: v.float() for k, v in state.items()})
    return nets.to(device).eval(), config
