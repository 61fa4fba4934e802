"""The attribute-map format and its one lookup: orientation, exactness, gradients, strands, round trips."""
import math

import pytest
import torch

from core.attribute_maps import (MAP_RESOLUTION, NUM_CHANNELS, OFFSET, OPACITY, QUANT_RANGE, RGB, STRETCH, THICKNESS,
                                 anchor_attributes, attributes_to_gaussians, chart_uv, fit_map, from_uint8,
                                 gaussians_to_samples, lookup, reference_templates, texel_geometry, to_uint8)
from core.avatar import VISIBLE_OPACITY


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def reference(anny_body):
    return reference_templates(anny_body)[1]


def test_lookup_reads_texel_centres_exactly_with_v_up():
    r = 8
    maps = torch.arange(NUM_CHANNELS * r * r, dtype=torch.float32).reshape(NUM_CHANNELS, r, r)
    row, col = 1, 5  # row 0 is the top of the chart (v = 1)
    uv = torch.tensor([[(col + 0.5) / r, 1 - (row + 0.5) / r]])
    assert torch.equal(lookup(maps, uv)[0], maps[:, row, col])
    halfway = torch.tensor([[(col + 1) / r, 1 - (row + 0.5) / r]])  # between two columns: their mean
    assert torch.allclose(lookup(maps, halfway)[0], 0.5 * (maps[:, row, col] + maps[:, row, col + 1]))
    batched = lookup(torch.stack([maps, 2 * maps]), torch.stack([uv, uv]))
    assert torch.equal(batched[1, 0], 2 * maps[:, row, col])


def test_lookup_is_differentiable_in_the_maps():
    maps = torch.zeros(NUM_CHANNELS, 16, 16, requires_grad=True)
    uv = torch.rand(50, 2, generator=torch.Generator().manual_seed(0))
    lookup(maps, uv)[:, OPACITY].sum().backward()
    assert maps.grad[OPACITY].sum().item() == pytest.approx(50.0, rel=1e-5)  # bilinear weights sum to 1
    assert maps.grad[1:].abs().sum() == 0


def _strand_samples(n: int, angle: torch.Tensor, major: float, minor: float) -> torch.Tensor:
    samples = torch.zeros(n, NUM_CHANNELS)
    c, s = torch.cos(angle), torch.sin(angle)
    samples[:, STRETCH] = torch.stack([major * c**2 + minor * s**2, major * s**2 + minor * c**2,
                                       (major - minor) * c * s], -1)
    return samples


def test_stretch_tensor_decodes_to_axes_and_has_no_angle_seam(reference):
    t = reference["hair"]
    n = t.anchor_uv.shape[0]
    angle = torch.rand(n, generator=torch.Generator().manual_seed(1)) * 2 * math.pi
    a = anchor_attributes(t, _strand_samples(n, angle, math.log(3.0), math.log(0.5)))
    b = anchor_attributes(t, _strand_samples(n, angle + math.pi, math.log(3.0), math.log(0.5)))
    assert torch.allclose(a["scale_factors"], torch.tensor([3.0, 0.5, 1.0]).expand(n, 3), atol=1e-4)
    # The long axis lies at `angle` in the (tangent, bitangent) frame, and angle + pi is the same ellipse.
    tangent = t.anchor_tangent - (t.anchor_tangent * t.anchor_normal).sum(-1, keepdim=True) * t.anchor_normal
    tangent = tangent / tangent.norm(dim=-1, keepdim=True)
    bitangent = torch.cross(t.anchor_normal, tangent, dim=-1)
    expected = torch.cos(angle)[:, None] * tangent + torch.sin(angle)[:, None] * bitangent
    assert torch.allclose((a["tangents"] * expected).sum(-1).abs(), torch.ones(n), atol=1e-4)
    assert torch.allclose((a["tangents"] * b["tangents"]).sum(-1).abs(), torch.ones(n), atol=1e-4)
    round_ = anchor_attributes(t, torch.zeros(n, NUM_CHANNELS))  # isotropic: finite, along the tangent
    assert torch.allclose(round_["scale_factors"], torch.ones(n, 3), atol=1e-5)


def test_gaussians_back_to_samples_is_exact(reference):
    t = reference["top"]
    n = t.anchor_uv.shape[0]
    g = torch.Generator().manual_seed(2)
    samples = _strand_samples(n, torch.rand(n, generator=g) * math.pi, 0.8, -0.3)
    samples[:, OPACITY] = torch.rand(n, generator=g)
    samples[:, RGB] = torch.rand(n, 3, generator=g)
    samples[:, OFFSET] = torch.rand(n, generator=g) * 0.02
    samples[:, THICKNESS] = torch.rand(n, generator=g)
    back, present = gaussians_to_samples(t, attributes_to_gaussians(t, anchor_attributes(t, samples)))
    assert torch.equal(present, samples[:, OPACITY] > VISIBLE_OPACITY)
    assert torch.allclose(back[present], samples[present], atol=2e-4)


def test_maps_to_gaussians_to_maps_round_trip(reference):
    """A smooth map survives maps -> Gaussians -> fitted maps -> Gaussians (what a PLY import would do)."""
    t = reference["bottom"]
    r = MAP_RESOLUTION["bottom"]
    mask = texel_geometry(t, r).mask()
    yy, xx = torch.meshgrid(torch.linspace(0, 1, r), torch.linspace(0, 1, r), indexing="ij")
    maps = torch.zeros(NUM_CHANNELS, r, r)
    maps[OPACITY] = 0.9 * (xx < 0.45).float()  # a hard garment edge through the chart
    maps[1], maps[2], maps[3] = 0.5 + 0.4 * torch.sin(6 * xx), yy, 0.3 + 0.2 * xx * yy
    maps[OFFSET] = 0.01 * yy
    maps = maps * mask
    first = attributes_to_gaussians(t, anchor_attributes(t, lookup(maps, t.anchor_uv)))
    fitted = fit_map(t, *gaussians_to_samples(t, first), r)
    assert (fitted[:, ~mask] == 0).all()
    second = attributes_to_gaussians(t, anchor_attributes(t, lookup(fitted, t.anchor_uv)))
    assert len(first) > 5000 and abs(len(second) - len(first)) <= 0.01 * len(first)
    in_second, in_first = torch.isin(first.uvs[:, 0], second.uvs[:, 0]), torch.isin(second.uvs[:, 0], first.uvs[:, 0])
    assert in_second.float().mean() > 0.99
    a, b = first.select(in_second), second.select(in_first)  # both in anchor order
    assert (a.colors - b.colors).abs().max(dim=1).values.quantile(0.99) < 0.02
    assert (a.means - b.means).norm(dim=1).quantile(0.99) < 5e-4


def test_every_anchor_reads_inside_its_chart(reference):
    for name, t in reference.items():
        r = MAP_RESOLUTION[name]
        mask = texel_geometry(t, r).mask().float()[None]
        inside = lookup(mask, t.anchor_uv)[:, 0]
        assert (inside > 0.999).float().mean() > 0.999, name  # the gutter covers the bilinear footprint


def test_charts_of_another_shape_align_to_the_reference(anny_body, reference):
    from core.avatar import body_and_templates

    assert chart_uv(reference["top"], reference["top"]) is reference["top"].anchor_uv
    _, shaped = body_and_templates(anny_body, {"gender": 0.0, "age": 0.8, "weight": 0.8, "height": 0.5})
    for name in ("top", "hair"):
        r = MAP_RESOLUTION[name]
        mask = texel_geometry(reference[name], r).mask().float()[None]
        aligned = lookup(mask, chart_uv(shaped[name], reference[name]))[:, 0]
        assert (aligned > 0.5).float().mean() > 0.995, name


def test_uint8_storage_is_exact_to_half_a_step():
    maps = {"top": torch.rand(NUM_CHANNELS, 32, 32, generator=torch.Generator().manual_seed(3))}
    lo, hi = (torch.tensor(v)[:, None, None] for v in zip(*QUANT_RANGE))
    maps["top"] = lo + (hi - lo) * maps["top"]
    packed = to_uint8(maps)
    assert packed["top"].dtype.name == "uint8"
    error = (from_uint8(packed)["top"] - maps["top"]).abs()
    assert (error <= 0.5 * (hi - lo) / 255 + 1e-6).all()
