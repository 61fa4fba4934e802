"""The Generate panel: sampling from the wardrobe or the model, the gallery, the model's fallback and
A <-> B interpolation, driven through the studio's actions without a window; plus one window test
that shows the gallery's thumbnails.

The model tests run on a tiny checkpoint with random weights, written here: they check the studio's
plumbing (latents kept, picks, throttled interpolation), not what a trained model draws.
"""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from app.generate import GALLERY_SIZE, MODEL, NO_MODEL_NOTE, WARDROBE, GenerateState
from app.state import DEFAULT_BACKGROUND
from app.studio import Studio, StudioOptions

from test_studio import ROOT, studio_command

LAYER_IDS = {0, 1, 2, 3, 4}  # body, top, bottom, hair, shoes


def finish(studio: Studio) -> None:
    """Wait for the running task and deliver its result, as the main loop would."""
    assert studio.runner.wait(120)
    studio.runner.poll()


@pytest.fixture()
def no_model(monkeypatch, tmp_path):
    """No generator checkpoint installed, whatever assets/generator holds right now."""
    import core.generator

    monkeypatch.setattr(core.generator, "DEFAULT_CHECKPOINT", tmp_path / "no-generator")


@pytest.fixture(scope="module")
def tiny_checkpoint(anny_body, tmp_path_factory):
    from core.generator.checkpoint import CheckpointConfig, save_checkpoint
    from core.generator.dataset import shape_names
    from core.generator.diffusion import DiffusionConfig
    from core.generator.model import GeneratorNets
    from core.generator.training import PRESETS
    from core.templates import TEMPLATE_VERSION

    torch.manual_seed(0)
    config = CheckpointConfig(body_model=anny_body.name, body_identity=anny_body.identity(),
                              template_version=TEMPLATE_VERSION, shape_names=shape_names(anny_body),
                              model=PRESETS["tiny"], diffusion=DiffusionConfig(sample_steps=4), training={})
    return save_checkpoint(tmp_path_factory.mktemp("generator"), GeneratorNets(PRESETS["tiny"]), config)


@pytest.fixture()
def tiny_model(monkeypatch, tiny_checkpoint):
    import core.generator

    monkeypatch.setattr(core.generator, "DEFAULT_CHECKPOINT", tiny_checkpoint)


def test_wardrobe_sample_without_a_model_falls_back_and_keeps_the_pose(anny_body, no_model):
    from core.wardrobe import sample, wardrobe_shape

    studio = Studio(StudioOptions(seed=5), body=anny_body)
    state, gen = studio.state, studio.state.generate
    assert gen.source == MODEL, "the model is tried first, so it is used the day it is installed"
    studio.load_avatar(5)
    finish(studio)
    assert (gen.source, gen.model_status, gen.model_note) == (WARDROBE, "unavailable", NO_MODEL_NOTE)
    assert state.avatar.seed == 5 and state.source == "seed 5"
    assert set(state.gaussians.layers.tolist()) == LAYER_IDS, "a dressed person: every layer"
    assert set(state.maps) == {"body", "top", "bottom", "hair", "shoes"}, "its maps, for FBX textures"
    shape = wardrobe_shape(anny_body, sample(5))
    assert state.built_shape == shape and state.shape_value("height") == shape["height"], \
        "the Body tab starts from the person's own shape"
    assert [(e.source, e.seed, e.latent) for e in gen.gallery] == [(WARDROBE, 5, None)] and gen.shown == 0
    assert "wardrobe" in gen.interpolation_blocker()

    studio.set_source(MODEL)  # trying again still finds no checkpoint: one line, the wardrobe stays
    finish(studio)
    assert gen.source == WARDROBE and state.message == NO_MODEL_NOTE and state.message_is_error

    studio.set_pose("t")
    studio.load_avatar(6)
    finish(studio)
    assert state.avatar.seed == 6 and state.pose_name == "t"
    assert np.ptp(state.gaussians.means[:, 0].numpy()) > 1.4, "the new avatar stands in the T-pose chosen before"


def test_clicking_a_gallery_entry_shows_that_avatar_again(anny_body, no_model):
    from test_studio_pose import clip

    studio = Studio(StudioOptions(), body=anny_body)
    state, gen = studio.state, studio.state.generate
    gen.set_source(WARDROBE)
    studio.load_avatar(7)
    finish(studio)
    first = state.avatar.gaussians.means.clone()
    state.load_clip(clip(), play=False)
    state.step_frames(5)
    studio.load_avatar(8)
    finish(studio)
    assert [e.seed for e in gen.gallery] == [8, 7], "newest first"

    studio.show_gallery_entry(gen.gallery[1].key)
    finish(studio)
    assert state.avatar.seed == 7 and gen.shown == gen.gallery[1].key
    assert [e.seed for e in gen.gallery] == [8, 7], "showing an entry does not reorder the gallery"
    assert torch.equal(state.avatar.gaussians.means, first), "rebuilt from its seed: the same person"
    assert state.following_clip and state.timeline.frame == 5
    assert torch.allclose(state.gaussians.means, state.avatar.posed(state.clip_pose()).means), \
        "posed by the motion on the timeline"


def test_gallery_keeps_the_last_twelve_and_picks_the_last_two_model_samples():
    gen = GenerateState()
    for seed in range(GALLERY_SIZE + 3):
        gen.add(WARDROBE, seed)
    assert len(gen.gallery) == GALLERY_SIZE
    assert [e.seed for e in gen.gallery] == list(range(GALLERY_SIZE + 2, 2, -1))
    gen.add(WARDROBE, 9)
    assert [e.seed for e in gen.gallery[:2]] == [9, 14] and len(gen.gallery) == GALLERY_SIZE, \
        "a sample taken again moves to the front instead of appearing twice"

    a = gen.add(MODEL, 1, steps=4, latent=torch.zeros(1))
    b = gen.add(MODEL, 2, steps=4, latent=torch.zeros(1))
    assert (gen.pick_a, gen.pick_b) == (a.key, b.key) and gen.shown == b.key
    with pytest.raises(Exception, match="model samples"):
        gen.pick("a", gen.gallery[-1].key)
    for seed in range(100, 100 + GALLERY_SIZE - 1):
        gen.add(WARDROBE, seed)
    assert gen.pick_a is None and gen.pick_b == b.key, "a pick that left the gallery is cleared"


def test_model_samples_keep_latents_and_interpolate_one_at_a_time(anny_body, tiny_model):
    studio = Studio(StudioOptions(), body=anny_body)
    state, gen = studio.state, studio.state.generate
    studio.load_avatar(3)
    finish(studio)
    assert gen.source == MODEL and gen.model_status == "ready" and "4 denoising steps" in gen.model_note
    studio.load_avatar(4)
    finish(studio)
    a, b = gen.gallery[1], gen.gallery[0]
    assert (a.seed, b.seed, a.steps, b.steps) == (3, 4, 4, 4) and a.latent is not None
    assert (gen.pick_a, gen.pick_b) == (a.key, b.key) and gen.interpolation_blocker() is None
    assert set(state.built_shape) <= set(anny_body.shape_names) and state.avatar.seed == 4

    studio.set_interpolation(0.3)
    studio.set_interpolation(0.6)  # while 0.3 runs: remembered, and only the latest runs next
    studio.set_interpolation(0.7)
    finish(studio)
    assert state.source == "seed 3 -> 4 at 0.30" and gen.shown is None
    assert studio.runner.status() is not None and studio.runner.status().kind == "interpolate"
    finish(studio)
    assert state.source == "seed 3 -> 4 at 0.70" and studio.runner.status() is None
    expected = gen.generator.interpolate(3, 4, 0.7, steps=4)
    assert torch.allclose(state.maps["top"], gen.generator.decode(expected).maps["top"], atol=1e-5)

    studio.set_interpolation(0.0)  # an end of the path is seed A's own sample
    finish(studio)
    assert gen.shown == a.key and state.source == "seed 3"
    assert torch.allclose(state.maps["body"], gen.generator.decode(a.latent).maps["body"])

    studio.set_steps(2)
    studio.load_avatar(3)  # other steps: another sample of seed 3, kept beside the first
    finish(studio)
    assert [(e.seed, e.steps) for e in gen.gallery] == [(3, 2), (4, 4), (3, 4)]

    studio.set_source(WARDROBE)
    studio.set_interpolation(0.5)
    assert studio.runner.status() is None and "wardrobe" in state.message and state.message_is_error


def test_window_shows_a_gallery_of_thumbnails(tmp_path):
    """Two samples in the real window (from the installed model, else the wardrobe): the Generate tab
    shows them as thumbnails."""
    shot = tmp_path / "generate.png"
    driver = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import dearpygui.dearpygui as dpg
from app.studio import Studio, StudioOptions
dpg.create_context()
studio = Studio(StudioOptions(seed=0, screenshot={str(shot)!r}, frames=10))
seeds = [1]
def before_frame():
    if studio.state.avatar is not None and studio.runner.status() is None and seeds:
        studio.load_avatar(seeds.pop(0))
studio.before_frame = before_frame
step = studio._screenshot_step
studio._screenshot_step = lambda elapsed: False if seeds else step(elapsed)
studio.run()
slots = [s for s in studio.widgets.generate.slots if dpg.is_item_shown(s.group)]
print(json.dumps([[*dpg.get_item_rect_min(s.button), *dpg.get_item_rect_size(s.button)] for s in slots]))
studio.close()
dpg.destroy_context()
"""
    command = [*studio_command()[:-1], "-c", driver]  # python under xvfb-run when there is no display
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rects = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(rects) == 2
    image = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    background = np.round(np.array(DEFAULT_BACKGROUND[:3]) * 255).astype(np.int16)
    crops = []
    for x, y, w, h in rects:
        assert x + w < 412, "in the side column"
        crop = image[y + 3:y + h - 3, x + 3:x + w - 3]  # inside the button's frame
        figure = np.abs(crop - background).max(axis=-1) > 12
        rows = np.nonzero(figure.any(axis=1))[0]
        assert 0.08 < figure.mean() < 0.6, "a figure on the viewport's background"
        assert rows.max() - rows.min() > 0.7 * crop.shape[0], "a standing person filling the thumbnail's height"
        crops.append(crop)
    assert np.abs(crops[0] - crops[1]).mean() > 3, "two different people"
