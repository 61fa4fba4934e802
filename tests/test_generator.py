"""The generation core on a CPU: the shipped checkpoint, seeds, interpolation, bad checkpoints, training."""
from __future__ import annotations

import json
import shutil
import threading

import pytest
import torch

from core.errors import AvatarStudioError
from core.generator import DEFAULT_CHECKPOINT, Generator, SamplingCancelled
from core.generator.checkpoint import CONFIG_NAME, WEIGHTS_NAME
from core.templates import TEMPLATE_VERSION

STEPS = 3  # few denoising steps keep the tests fast; determinism does not depend on the count


@pytest.fixture(scope="module")
def generator():
    return Generator.load()


def test_shipped_checkpoint_loads_on_cpu(generator):
    assert generator.device.type == "cpu"
    assert generator.config.body_model == "anny" and generator.config.template_version == TEMPLATE_VERSION
    assert generator.latent_shape == (12, 64, 192)
    assert generator.config.diffusion.sample_steps <= 25
    assert (DEFAULT_CHECKPOINT / WEIGHTS_NAME).stat().st_size <= 40 * 2**20


def test_same_seed_same_avatar_and_seeds_differ(generator, anny_body):
    a, again, b = generator.sample(7, steps=STEPS), generator.sample(7, steps=STEPS), generator.sample(8, steps=STEPS)
    assert torch.equal(a, again)
    da, db = generator.decode(a), generator.decode(b)
    assert all(torch.equal(da.maps[n], generator.decode(again).maps[n]) for n in da.maps)
    assert set(da.maps) == {"body", "top", "bottom", "hair", "shoes"} and da.maps["top"].shape == (9, 256, 256)
    assert set(da.shape) == set(generator.config.shape_names)
    rgb_change = sum((da.maps[n][1:4] - db.maps[n][1:4]).abs().mean() for n in da.maps) / len(da.maps)
    assert rgb_change > 0.02
    avatar = generator.avatar_from_latent(a, anny_body, seed=7)
    assert avatar.seed == 7 and len(avatar.gaussians) > 50_000
    assert set(avatar.gaussians.layer_counts()) == {"body", "top", "bottom", "hair", "shoes"}


def test_interpolation_endpoints_are_the_samples(generator):
    assert torch.equal(generator.interpolate(3, 11, 0.0, steps=STEPS), generator.sample(3, steps=STEPS))
    strip, batch = generator.interpolate(3, 11, [0.0, 1.0], steps=STEPS), generator.sample([3, 11], steps=STEPS)
    assert torch.equal(strip, batch)


def test_progress_and_cancel_from_a_worker_thread(generator):
    seen, result = [], {}

    def work():
        result["latent"] = generator.sample(5, steps=STEPS, progress=lambda i, n: seen.append((i, n)))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [(i, STEPS) for i in range(1, STEPS + 1)] and result["latent"].shape == (12, 64, 192)
    stop = threading.Event()
    stop.set()
    with pytest.raises(SamplingCancelled):
        generator.sample(5, steps=STEPS, cancel=stop.is_set)


def _copy_checkpoint(tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(DEFAULT_CHECKPOINT, folder)
    (folder / WEIGHTS_NAME).chmod(0o644)
    return folder


def _one_line_error(folder) -> str:
    with pytest.raises(AvatarStudioError) as info:
        Generator.load(folder)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_checkpoints_are_refused_in_one_line(tmp_path):
    assert "no generator checkpoint" in _one_line_error(tmp_path / "missing")
    folder = _copy_checkpoint(tmp_path)
    weights = folder / WEIGHTS_NAME
    blob = weights.read_bytes()
    weights.write_bytes(blob[: len(blob) // 2])
    assert "truncated" in _one_line_error(folder)
    weights.write_bytes(blob[:-1] + bytes([blob[-1] ^ 0xFF]))
    assert "SHA-256" in _one_line_error(folder)
    weights.write_bytes(blob)
    config = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(json.dumps({**config, "template_version": TEMPLATE_VERSION + 1}))
    assert "template version" in _one_line_error(folder)
    (folder / CONFIG_NAME).write_text(json.dumps({**config, "model": {**config["model"], "unet_channels": [32, 64, 96]}}))
    assert "do not fit" in _one_line_error(folder)
    (folder / CONFIG_NAME).write_text("{not json")
    assert "unreadable" in _one_line_error(folder)


def test_noise_scale_widens_the_start_and_is_read_from_the_checkpoint(generator, tmp_path, monkeypatch):
    """Sampling starts from noise_scale * x_T (the shipped checkpoint's diffusion.noise_scale); a config
    with a nonsensical scale is refused in one line."""
    import dataclasses

    import core.generator as generation
    from core.generator.diffusion import seeded_source

    assert generator.config.diffusion.noise_scale > 1.0  # the shipped model under-disperses (docs/generator.md)
    starts = []

    def recording_ddim(denoiser, schedule, noise, steps, eta, progress, cancel, device, noise_scale):
        starts.append(noise(0) * noise_scale)
        return torch.zeros_like(starts[-1])

    monkeypatch.setattr(generation, "ddim_sample", recording_ddim)
    generator.sample(4, steps=STEPS)
    plain = seeded_source([4], generator.latent_shape)(0)
    assert torch.equal(starts[0], plain * generator.config.diffusion.noise_scale)
    monkeypatch.undo()

    wide = Generator.load()
    wide.config = dataclasses.replace(wide.config, diffusion=dataclasses.replace(wide.config.diffusion, noise_scale=2.0))
    narrow = Generator.load()
    narrow.config = dataclasses.replace(narrow.config, diffusion=dataclasses.replace(narrow.config.diffusion,
                                                                                     noise_scale=0.5))
    spread = [g.nets.normalize(g.sample(list(range(4)), steps=STEPS)).std().item() for g in (narrow, wide)]
    assert spread[1] > 1.2 * spread[0]  # a wider start gives more varied latents

    folder = _copy_checkpoint(tmp_path)
    config = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(json.dumps({**config, "diffusion": {**config["diffusion"], "noise_scale": -1}}))
    assert "noise_scale" in _one_line_error(folder)


def test_a_body_of_another_model_is_refused(generator):
    class OtherBody:
        name = "smplx"

    with pytest.raises(AvatarStudioError, match="trained for body model 'anny'"):
        generator.avatar_from_latent(torch.zeros(generator.latent_shape), OtherBody())


def test_tiny_training_learns_writes_and_resumes(tmp_path, anny_body):
    from core.generator.dataset import build_training_set
    from core.generator.training import PRESETS, TrainConfig, train

    data = build_training_set(anny_body, range(4), PRESETS["tiny"].map_resolution, tmp_path / "data")
    assert data.maps.shape == (4, 5, 9, 64, 64) and data.shapes.shape == (4, 6)
    cfg = TrainConfig(steps=20, batch=4, diffusion_batch=4, warmup=2, log_every=5, checkpoint_every=10,
                      state_every=10, latent_lr=0.05, lr=2e-3)
    out = tmp_path / "run"
    first = train(out, data, PRESETS["tiny"], cfg, progress=False)
    reconstruction = [h["opacity"] + h["rgb"] + h["geometry"] for h in first.history]
    assert reconstruction[-1] < reconstruction[0]
    for name in (WEIGHTS_NAME, CONFIG_NAME, "loss.png", "losses.csv", "state/trainer.pt", "state/latents-0-of-1.pt"):
        assert (out / name).is_file(), name
    assert Generator.load(out).sample(0, steps=2).shape == PRESETS["tiny"].plane_shape
    resumed = train(out, data, PRESETS["tiny"], TrainConfig(**{**cfg.__dict__, "steps": 25}), progress=False)
    assert resumed.step == 25 and [h["step"] for h in resumed.history] == [5, 10, 15, 20, 25]


def test_denoiser_only_phase_freezes_latents_and_decoder_and_stores_exact_statistics(tmp_path, anny_body):
    from core.generator.dataset import build_training_set
    from core.generator.training import PRESETS, TrainConfig, train

    data = build_training_set(anny_body, range(4), PRESETS["tiny"].map_resolution, tmp_path / "data")
    cfg = TrainConfig(steps=20, batch=4, diffusion_batch=4, prior_batch=4, warmup=2, log_every=5, checkpoint_every=20,
                      state_every=20, latent_lr=0.05, lr=2e-3, prior_fraction=0.5)
    out = tmp_path / "run"
    trainer = train(out, data, PRESETS["tiny"], cfg, progress=False)
    assert trainer.prior_start is not None and trainer.prior_start[0] == 10
    # the prior phase logs the diffusion loss only: decoder terms stop at the switch
    assert "opacity" in trainer.history[1] and set(trainer.history[-1]) == {"step", "diffusion", "total"}
    latents = trainer.latents.weight.detach().clone()
    decoder = {k: v.clone() for k, v in trainer.nets.decoder.state_dict().items()}
    trainer.cfg.steps = 25
    trainer.train_step()
    assert torch.equal(trainer.latents.weight, latents)  # frozen table
    assert all(torch.equal(v, trainer.nets.decoder.state_dict()[k]) for k, v in decoder.items())
    # the checkpoint normalises with the table's exact statistics, so its latents come out unit-scaled
    shipped = Generator.load(out)
    c, h, w = PRESETS["tiny"].plane_shape
    normalised = shipped.nets.normalize(latents.reshape(-1, c, h, w))
    p = PRESETS["tiny"].panels
    per_panel = normalised.reshape(-1, c, h, p, w // p)
    assert torch.allclose(per_panel.mean(dim=(0, 2, 4)), torch.zeros(c, p), atol=1e-2)
    assert torch.allclose(per_panel.std(dim=(0, 2, 4), unbiased=False), torch.ones(c, p), atol=1e-2)


def test_latent_noise_reaches_the_decoder_only_and_is_recorded(tmp_path, anny_body):
    from core.generator.dataset import build_training_set
    from core.generator.training import PRESETS, TrainConfig, train, v_loss_weight

    data = build_training_set(anny_body, range(4), PRESETS["tiny"].map_resolution, tmp_path / "data")
    noise = 0.3
    cfg = TrainConfig(steps=5, batch=4, diffusion_batch=4, warmup=2, log_every=5, checkpoint_every=5,
                      state_every=5, latent_lr=0.05, lr=2e-3, latent_noise=noise)
    out = tmp_path / "run"
    trainer = train(out, data, PRESETS["tiny"], cfg, progress=False)
    recorded = json.loads((out / CONFIG_NAME).read_text())["training"]["config"]
    assert recorded["latent_noise"] == noise and recorded["latent_lr"] == 0.05

    seen = {}
    trainer.latents.register_forward_hook(lambda module, args, output: seen.__setitem__("clean", output.detach()))
    trainer.nets.decoder.register_forward_pre_hook(lambda module, args: seen.__setitem__("input", args[0].detach()))

    def step():
        trainer.cfg.steps = trainer.step + 1
        terms = trainer.train_step()
        return seen["clean"].reshape(seen["input"].shape), seen["input"], terms

    clean, seen_by_decoder, terms = step()
    assert torch.equal(terms["latent"], clean.square().mean())  # the L2 pulls on the clean latents
    assert not torch.allclose(seen_by_decoder, clean)
    # the difference is Gaussian noise of `noise` latent stds per channel and panel
    c, h, w = PRESETS["tiny"].plane_shape
    p = PRESETS["tiny"].panels
    relative = ((seen_by_decoder - clean).reshape(-1, c, h, p, w // p)
                / trainer.nets.latent_std[None, :, None, :, None])
    spread = relative.std(dim=(0, 2, 4))
    assert torch.allclose(spread, torch.full_like(spread, noise), rtol=0.15), spread
    trainer.cfg.latent_noise = 0.0
    clean, seen_by_decoder, _ = step()
    assert torch.equal(seen_by_decoder, clean)
    # the denoiser's loss weighting follows the config
    trainer.cfg.diffusion_weight = "min-snr+1"
    _, t, _, weight = trainer._noised_latents(64, update_stats=False)
    assert torch.equal(weight, v_loss_weight(trainer.schedule, t, "min-snr+1"))


def test_min_snr_plus_one_weights_the_noisiest_steps_fully():
    from core.generator.diffusion import DiffusionConfig, Schedule
    from core.generator.training import v_loss_weight

    schedule = Schedule(DiffusionConfig())
    t = torch.arange(schedule.cfg.timesteps)
    standard, plus_one = v_loss_weight(schedule, t, "min-snr"), v_loss_weight(schedule, t, "min-snr+1")
    _, _, reference = schedule.training_target(torch.zeros(len(t), 1, 1, 1), t, torch.zeros(len(t), 1, 1, 1))
    assert torch.equal(standard, reference)  # "min-snr" is the schedule's own weighting
    a, s = schedule.coefficients(t)
    snr = (a / s).square().flatten()
    gamma = schedule.cfg.min_snr_gamma
    assert torch.equal(plus_one[snr >= gamma], standard[snr >= gamma])  # nearly clean steps: unchanged
    assert torch.all(plus_one[snr < gamma - 1] == 1)  # noisy steps: the plain v-loss
    assert standard[-1] < 1e-6 and plus_one[-1] == 1  # t = T - 1, the first sampling step
    with pytest.raises(AvatarStudioError, match="unknown diffusion weighting"):
        v_loss_weight(schedule, t, "plain")
