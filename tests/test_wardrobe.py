"""The synthetic wardrobe: deterministic, every garment type occurs, layers stay in their shells and
stack outside the skin, maps survive the trip through Gaussians, and the CLI draws a contact sheet."""
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.attribute_maps import (MAP_RESOLUTION, OPACITY, anchor_attributes, attributes_to_gaussians, decode,
                                 fit_map, gaussians_to_samples, lookup, reference_templates, texel_geometry)
from core.avatar import VISIBLE_OPACITY, body_and_templates
from core.templates import BodyLandmarks, vertex_normals
from core.wardrobe import canvas_for, paint, sample, wardrobe_maps, wardrobe_shape
from core.wardrobe.canvas import SHEET
from core.wardrobe.spec import BOTTOM_KINDS, HAIR_STYLES, SHOE_KINDS, TOP_KINDS, WardrobeSpec

ROOT = Path(__file__).resolve().parents[1]
MIN_CLEARANCE = 0.002  # metres every garment Gaussian keeps above the skin at rest


def _find_seed(predicate) -> int:
    return next(seed for seed in range(10_000) if predicate(sample(seed)))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def canvas(anny_body):
    return canvas_for(anny_body)


def test_same_seed_same_maps_and_spec(anny_body, canvas):
    a, b = wardrobe_maps(anny_body, 7), wardrobe_maps(anny_body, 7)
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert set(a) == {"body", "top", "bottom", "hair", "shoes"}
    assert all(a[name].shape[1:] == (MAP_RESOLUTION[name],) * 2 for name in a)
    other = wardrobe_maps(anny_body, 8)
    assert any(not torch.equal(a[name], other[name]) for name in a)
    spec = sample(7)
    assert WardrobeSpec.from_json(spec.to_json()) == spec and len(spec.to_json()) < 2000


def test_every_garment_type_occurs_in_1000_seeds():
    specs = [sample(seed) for seed in range(1000)]
    for kinds, values in ((TOP_KINDS, [s.top.kind for s in specs]), (BOTTOM_KINDS, [s.bottom.kind for s in specs]),
                          (HAIR_STYLES, [s.hair.style for s in specs]), (SHOE_KINDS, [s.shoes.kind for s in specs])):
        counts = Counter(values)
        assert set(counts) == set(kinds), counts
    ages = np.array([s.body.phenotype.age_years for s in specs])
    assert ages.min() >= 18 and ages.max() <= 70
    assert np.std([np.mean(s.top.fabric.colour) for s in specs]) > 0.15  # light and dark clothes


def test_each_layer_stays_inside_its_chart(anny_body, canvas):
    _, templates = reference_templates(anny_body)
    masks = {name: texel_geometry(t, MAP_RESOLUTION[name]).mask() for name, t in templates.items()}
    for seed in range(6):
        maps = paint(sample(seed), canvas)
        for name, m in maps.items():
            assert (m[:, ~masks[name]] == 0).all(), (seed, name)
    # And garments cover what they are for: a t-shirt the chest, trousers the shins.
    seed = _find_seed(lambda s: s.top.kind == "t-shirt" and s.bottom.kind == "trousers")
    maps = paint(sample(seed), canvas)
    for layer, where in (("top", lambda c: (c.torso > 0.4) & (c.torso < 0.7) & (c.nz > 0.7)),
                         ("bottom", lambda c: (c.leg > 0.6) & (c.leg < 0.8) & (c.nz > 0.7) & (c.part != SHEET))):
        c = canvas.layers[layer]
        opacity = maps[layer][OPACITY].reshape(-1)[c.geometry.index]
        assert opacity[where(c)].mean() > 0.9, layer


def _heights_above_skin(rest, template, attributes):
    """Signed height of each visible anchor's Gaussian above the skin, along the skin normal beneath it."""
    visible = attributes["opacities"] > VISIBLE_OPACITY
    means = template.anchor_position + attributes["offsets"][:, None] * template.anchor_normal
    normals = vertex_normals(rest.vertices, rest.faces)
    body_face = template.body_faces[template.anchor_face]
    corners = rest.faces[body_face.clamp_min(0)]
    bary = template.anchor_bary[..., None]
    point, normal = (rest.vertices[corners] * bary).sum(1), (normals[corners] * bary).sum(1)
    height = ((means - point) * torch.nn.functional.normalize(normal, dim=-1)).sum(-1)
    sheet = torch.nonzero(body_face < 0)[:, 0]
    for chunk in sheet.split(2048):  # sheets: above the nearest skin vertex
        nearest = torch.cdist(means[chunk], rest.vertices).argmin(dim=1)
        height[chunk] = ((means[chunk] - rest.vertices[nearest]) * normals[nearest]).sum(-1)
    return visible, height, body_face


@pytest.fixture(scope="module")
def dressed(anny_body):
    """Seeds that stress the stacking: skirt over a tucked top, long hair over a hoodie, boots under trousers."""
    seeds = [_find_seed(lambda s: s.bottom.kind == "long-skirt" and s.top.kind in ("t-shirt", "long-sleeve")),
             _find_seed(lambda s: s.hair.style == "long" and s.top.kind == "hoodie"),
             _find_seed(lambda s: s.shoes.kind == "boots" and s.bottom.kind == "jeans" and s.top.kind == "jacket")]
    out = []
    for seed in seeds:
        spec = sample(seed)
        rest, templates = body_and_templates(anny_body, wardrobe_shape(anny_body, spec))
        attributes = decode(templates, paint(spec, canvas_for(anny_body)), reference_templates(anny_body)[1])
        out.append((seed, rest, templates, attributes))
    return out


def test_no_garment_gaussian_under_the_skin_at_rest(dressed):
    for seed, rest, templates, attributes in dressed:
        checked = 0
        for name in ("top", "bottom", "hair", "shoes"):
            visible, height, _ = _heights_above_skin(rest, templates[name], attributes[name])
            if visible.any():  # (a bald head has no hair)
                assert height[visible].min() >= MIN_CLEARANCE, (seed, name, float(height[visible].min()))
                checked += 1
        assert checked >= 3, seed


def test_layers_stack_top_over_bottom_and_hair_over_the_top(dressed):
    for seed, rest, templates, attributes in dressed:
        top_visible, top_height, top_face = _heights_above_skin(rest, templates["top"], attributes["top"])
        bottom = _heights_above_skin(rest, templates["bottom"], attributes["bottom"])
        bottom_visible, bottom_height, bottom_face = bottom
        faces = rest.faces.shape[0]
        top_lowest = torch.full((faces,), 1.0).scatter_reduce(
            0, top_face[top_visible & (top_face >= 0)], top_height[top_visible & (top_face >= 0)], "amin")
        shell = bottom_visible & (bottom_face >= 0)
        under = top_lowest[bottom_face[shell]] < 1.0  # bottom Gaussians on faces the top covers too
        if under.any():
            assert (bottom_height[shell][under] < top_lowest[bottom_face[shell]][under]).all(), seed
        # Hair falls over the collar: around the neck the curtain hangs outside the top, further from the
        # head's vertical axis, bin by bin. (Lower down, a curtain the template hangs too close to the
        # back is cut off or tucks under the top, hidden there; so is its faint cut edge.)
        hair = templates["hair"]
        marks = BodyLandmarks.of(rest)
        hair_means = hair.anchor_position + attributes["hair"]["offsets"][:, None] * hair.anchor_normal
        curtain = (attributes["hair"]["opacities"] > 0.5) & (hair.body_faces[hair.anchor_face] < 0) \
            & (hair_means[:, 1] > float(marks.neck[1]) - 0.08)
        if not curtain.any():
            continue
        axis_z = float(marks.head[2]) - 0.01
        top = templates["top"]
        top_means = (top.anchor_position + attributes["top"]["offsets"][:, None] * top.anchor_normal)[top_visible]

        def bins(p):
            angle = torch.atan2(p[:, 0], -(p[:, 2] - axis_z))
            return torch.floor(p[:, 1] / 0.02).long() * 1000 + torch.floor(angle / 0.1).long(), \
                torch.sqrt(p[:, 0] ** 2 + (p[:, 2] - axis_z) ** 2)

        hair_bin, hair_radius = bins(hair_means[curtain])
        top_bin, top_radius = bins(top_means)
        for b in torch.unique(hair_bin):
            near = top_bin == b
            if near.any():
                assert top_radius[near].max() < hair_radius[hair_bin == b].min() + 0.003, seed


def test_maps_to_gaussians_to_maps_round_trip(anny_body, canvas):
    _, templates = reference_templates(anny_body)
    seed = _find_seed(lambda s: s.top.kind == "t-shirt" and s.top.fabric.pattern == "stripes")
    maps = paint(sample(seed), canvas)["top"]
    t = templates["top"]
    first = attributes_to_gaussians(t, anchor_attributes(t, lookup(maps, t.anchor_uv)))
    fitted = fit_map(t, *gaussians_to_samples(t, first), MAP_RESOLUTION["top"])
    second = attributes_to_gaussians(t, anchor_attributes(t, lookup(fitted, t.anchor_uv)))
    in_second, in_first = torch.isin(first.uvs[:, 0], second.uvs[:, 0]), torch.isin(second.uvs[:, 0], first.uvs[:, 0])
    assert in_second.float().mean() > 0.99 and in_first.float().mean() > 0.99
    a, b = first.select(in_second), second.select(in_first)
    assert (a.colors - b.colors).abs().max(dim=1).values.median() < 0.01
    assert (a.means - b.means).norm(dim=1).quantile(0.99) < 1e-3


def test_cli_contact_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    command = ["wardrobe-sheet", "--count", "2", "--size", "64", "128", "--out", str(out)]
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), *command], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    image = np.asarray(Image.open(out).convert("RGB")).astype(np.float32) / 255
    assert image.shape[1] == 128 and image.shape[0] > 128
    cells = [image[:128, :64], image[:128, 64:]]
    for cell in cells:
        figure = np.abs(cell - cell[0, 0]).max(axis=-1) > 0.06
        assert 0.05 < figure.mean() < 0.6  # a person in each cell
    assert np.abs(cells[0] - cells[1]).mean() > 0.01  # two different people
