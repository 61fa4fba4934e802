"""core.reshape: shape and expression move every Gaussian with the body, and nothing else changes."""
from __future__ import annotations

import time

import pytest
import torch

from core.gaussians import LAYER_IDS
from core.pose import SMPLX_JOINT_INDEX as J


@pytest.fixture(scope="module")
def reshaper(avatar):
    from core.reshape import Reshaper

    return Reshaper(avatar)


def test_the_default_shape_gives_back_the_avatar(avatar, reshaper):
    same = reshaper()  # default shape, neutral face: the avatar as it was built
    g0, g1 = avatar.gaussians, same.gaussians
    assert torch.allclose(g1.means, g0.means, atol=1e-5)
    assert (g1.quats * g0.quats).sum(-1).abs().min() > 1 - 1e-5
    assert torch.allclose(g1.scales, g0.scales, rtol=1e-5)
    for name, template in avatar.templates.items():
        assert torch.allclose(same.templates[name].vertices, template.vertices, atol=1e-5), name
        assert torch.allclose(same.templates[name].anchor_position, template.anchor_position, atol=1e-5), name


def test_taller_avatar_keeps_its_gaussians_and_stands_on_the_floor(avatar, reshaper):
    tall = reshaper({"height": 0.9})
    g0, g1 = avatar.gaussians, tall.gaussians
    assert len(g1) == len(g0)
    assert torch.equal(g1.colors, g0.colors) and torch.equal(g1.opacities, g0.opacities)
    assert torch.equal(g1.layers, g0.layers) and torch.equal(g1.skin_indices, g0.skin_indices)
    assert tall.rest.height > avatar.rest.height + 0.1
    height = lambda g: float(g.means[:, 1].max() - g.means[:, 1].min())  # noqa: E731
    assert height(g1) / height(g0) == pytest.approx(tall.rest.height / avatar.rest.height, rel=0.03)
    body = g1.layers == LAYER_IDS["body"]
    assert abs(float(g1.means[body, 1].min())) < 0.01, "feet on y = 0"
    assert float(g1.means[:, 1].min()) > -0.012, "shoes only their shell offset below the floor"
    # Body Gaussians lie on the new skin as they lay on the old: as far from the nearest vertex,
    # scaled with the body.
    step = max(1, int(body.sum()) // 2000)
    gap = lambda g, rest: float(torch.cdist(g.means[body][::step], rest.vertices).min(dim=1).values.max())  # noqa: E731
    assert gap(g1, tall.rest) < 1.3 * gap(g0, avatar.rest) + 0.003
    # The sheets move with the body: the hair curtain's top follows the eyes up.
    hair = avatar.templates["hair"]
    sheet = hair.regions < 0
    rise = tall.templates["hair"].vertices[sheet, 1].max() - hair.vertices[sheet, 1].max()
    eye = lambda rest: rest.joints[torch.nonzero(rest.bone_regions == J["left_eye_smplhf"])[0, 0], 1]  # noqa: E731
    assert float(rise) == pytest.approx(float(eye(tall.rest) - eye(avatar.rest)), abs=0.02)


def test_expression_moves_the_face_only(avatar, reshaper):
    open_mouth = reshaper(expression={"jawOpen": 1.0})
    moved = (open_mouth.gaussians.means - avatar.gaussians.means).norm(dim=-1)
    assert float(moved.max()) > 0.01, "the jaw opens"
    below_neck = avatar.gaussians.means[:, 1] < 1.2
    assert float(moved[below_neck].max()) < 1e-4, "nothing below the neck moves"


def test_a_reshaped_avatar_poses_and_is_fast(avatar, reshaper):
    from core.pose import Pose

    heavy = reshaper({"weight": 0.9, "muscle": 0.7})
    posed = heavy.posed(Pose.preset("relaxed"))
    assert torch.isfinite(posed.means).all() and len(posed) == len(avatar.gaussians)
    start = time.perf_counter()
    reshaper({"height": 0.6})
    assert time.perf_counter() - start < 1.0, "slider-rate (~0.1 s here; 1 s leaves room for a loaded CI machine)"


def test_smplx_betas_and_expressions_reshape(tmp_path):
    from core.body import load_body
    from core.default_avatar import default_avatar
    from core.reshape import reshaped_avatar
    from tests.smplx_fixture import write_synthetic_smplx

    body = load_body("smplx", write_synthetic_smplx(tmp_path))
    avatar = default_avatar(body, seed=0)
    tall = reshaped_avatar(avatar, {"beta0": 1.0}, {"expr0": 1.0})  # +10% height; the jaw drops
    assert tall.rest.height == pytest.approx(1.1 * avatar.rest.height, rel=0.02)
    top = lambda a: float(a.gaussians.means[:, 1].max())  # noqa: E731
    assert top(tall) == pytest.approx(1.1 * top(avatar), rel=0.02)
    assert len(tall.gaussians) == len(avatar.gaussians) and abs(float(tall.gaussians.means[:, 1].min())) < 0.012
