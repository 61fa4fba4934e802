"""Layers and paint as a user sees them: swaps that change only their layer, strokes that show on the
avatar where they were made (UV panel and viewport alike), and undo that restores the exact colours."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import AvatarStudioError
from core.gaussians import LAYER_IDS
from editor.composition import AvatarSource, Composer, Composition, LayerChoice
from editor.paint import Brush, PaintLayers
from editor.picking import pick, project

SIZE = 256

pytestmark = pytest.mark.skipif(not __import__("core.generator", fromlist=["Generator"]).Generator.shipped(),
                                reason="needs the shipped generator (assets/generator)")


@pytest.fixture(scope="module")
def composer(anny_body, one_torch_thread):
    from core.generator import Generator

    return Composer(anny_body, Generator.load())


@pytest.fixture(scope="module")
def base():
    return Composition(AvatarSource("model", 1))


@pytest.fixture(scope="module")
def swapped(base):
    return base.with_layer("top", LayerChoice.of(AvatarSource("model", 2)))


@pytest.fixture(scope="module")
def renderer():
    from viewer.gl_renderer import GLSplatRenderer, share_cores_with_software_gl

    r = GLSplatRenderer()
    share_cores_with_software_gl(r.ctx)
    return r


@pytest.fixture(scope="module")
def camera(composer, base):
    from viewer.camera import OrbitCamera

    avatar = composer.avatar(base)
    cam = OrbitCamera()
    cam.frame(*(b.tolist() for b in avatar.bounds()), 1.0)
    return cam


def render(renderer, camera, gaussians, colors=None, background=(0.16, 0.16, 0.18, 1.0)) -> np.ndarray:
    g = gaussians
    renderer.set_gaussians(g.means, g.quats, g.scales, g.opacities, g.colors if colors is None else colors)
    return renderer.render(camera, SIZE, SIZE, background=background)[..., :3].astype(np.float32) / 255


def layer_pixels(renderer, camera, avatar, layer: str) -> np.ndarray:
    """Pixels a layer covers: its Gaussians alone, white on black."""
    g = avatar.gaussians.layer(layer)
    image = render(renderer, camera, g, torch.ones_like(g.colors), background=(0, 0, 0, 1))
    return image.max(-1) > 2 / 255


def dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def test_swapping_the_top_changes_only_the_top_region(composer, base, swapped, renderer, camera):
    a, b = composer.avatar(base), composer.avatar(swapped)
    image_a, image_b = render(renderer, camera, a.gaussians), render(renderer, camera, b.gaussians)
    top = layer_pixels(renderer, camera, a, "top") | layer_pixels(renderer, camera, b, "top")
    top = dilate(top, 4)  # the splats' faint fringes
    diff = np.abs(image_a - image_b).max(-1)
    # The same up to the last bit of 8-bit rounding (tile blending sums in another order when counts differ).
    assert diff[~top].max() <= 1 / 255 + 1e-6, "outside the tops' pixels the two images must be the same"
    assert (diff[top] > 0.05).mean() > 0.2, "the top itself should look different"
    # The rest of the avatar is the very same Gaussians: body (outside the top), bottom, hair, shoes.
    for layer in ("bottom", "hair", "shoes"):
        assert torch.equal(a.gaussians.layer(layer).colors, b.gaussians.layer(layer).colors)


def test_a_swap_decodes_only_the_new_source(anny_body, composer, base, swapped):
    composer.avatar(base)
    decodes = composer.decodes
    composer.avatar(swapped)  # seed 2 may already be cached by the test above: at most one more
    after_swap = composer.decodes
    assert after_swap - decodes <= 1
    composer.avatar(base.with_layer("hair", LayerChoice.of(AvatarSource("model", 2))))
    composer.avatar(swapped)
    assert composer.decodes == after_swap, "swapping back and forth between known sources decodes nothing"


def test_removing_layers_shows_the_complete_body(composer, base, renderer, camera):
    bare = base.with_layer("top", LayerChoice.remove()).with_layer("hair", LayerChoice.remove())
    dressed, undressed = composer.avatar(base), composer.avatar(bare)
    assert undressed.gaussians.layer_counts()["top"] == 0 and undressed.gaussians.layer_counts()["hair"] == 0
    # Skin that the top hid comes back: every body anchor is visible again where the top was.
    assert undressed.gaussians.layer_counts()["body"] > dressed.gaussians.layer_counts()["body"]
    naked = base
    for layer in ("top", "bottom", "hair", "shoes"):
        naked = naked.with_layer(layer, LayerChoice.remove())
    # Where the top was and the body is (a loose top reaches past the body), the image shows no holes.
    torso = layer_pixels(renderer, camera, dressed, "top") & layer_pixels(renderer, camera, composer.avatar(naked),
                                                                          "body")
    image = render(renderer, camera, undressed.gaussians, background=(0, 0, 0, 1))
    assert (image.max(-1)[torso] > 0.05).mean() > 0.99, "the bare torso is complete"


@pytest.fixture()
def painted(anny_body, composer, base):
    """A fresh avatar, its maps and a paint bound to it."""
    maps, _ = composer.maps(base)
    avatar = composer.avatar(base)
    paint = PaintLayers(anny_body)
    return avatar, maps, paint, paint.bind(avatar, maps)


def _front_gaussian(avatar, camera, layer: str, height: float, x: float = 0.0) -> int:
    """A Gaussian of `layer` in front on screen near (x, height) metres (rest pose): a spot to paint.

    Found by picking, so it is whatever this avatar shows there (nothing is assumed about the sample)."""
    g = avatar.gaussians
    on_layer = torch.nonzero((g.layers == LAYER_IDS[layer]) & (g.opacities > 0.5))[:, 0]
    distance = (g.means[on_layer, 0] - x).abs() + (g.means[on_layer, 1] - height).abs()
    centre, _, _ = project(camera, SIZE, SIZE, g)
    for i in on_layer[torch.argsort(distance)][:200:4].tolist():
        hit = pick(camera, SIZE, SIZE, g, *centre[i].tolist())
        if hit is not None and hit.layer == layer:
            return hit.index
    raise AssertionError(f"no {layer} shows near ({x}, {height}) m")


def test_uv_and_viewport_strokes_show_in_one_frame_and_undo_exactly(painted, renderer, camera):
    avatar, maps, paint, target = painted
    before_colors = avatar.gaussians.colors.clone()
    before_image = render(renderer, camera, avatar.gaussians)

    # UV panel: a stroke through the chart point of a chest Gaussian of the top.
    chest = _front_gaussian(avatar, camera, "top", 1.3)
    layer, uv = target.chart_uv(chest)
    assert layer == "top"
    uv_record = paint.stroke_uv("top", [(uv[0] - 0.02, uv[1]), (uv[0] + 0.02, uv[1])], Brush((1, 0, 0), 0.04, 0.8))
    # Viewport: pick the thigh on screen and stroke there.
    thigh = _front_gaussian(avatar, camera, "bottom", 0.6, x=0.1)
    centre, _, _ = project(camera, SIZE, SIZE, avatar.gaussians)
    x, y = centre[thigh].tolist()
    hit = pick(camera, SIZE, SIZE, avatar.gaussians, x, y)
    assert hit is not None and hit.layer == "bottom"
    surface_record = paint.stroke_surface(hit.layer, [hit.canonical], Brush((0, 0, 1), 0.04, 0.8))
    target.recolor()
    image = render(renderer, camera, avatar.gaussians)

    changed = np.abs(image - before_image).max(-1) > 0.1
    for gaussian, colour in ((chest, (1, 0, 0)), (thigh, (0, 0, 1))):
        cx, cy = (int(v) for v in centre[gaussian].tolist())
        assert changed[cy - 2:cy + 3, cx - 2:cx + 3].mean() > 0.8, "the stroke shows where it was made"
        shown = image[cy - 1:cy + 2, cx - 1:cx + 2].reshape(-1, 3).mean(0)
        assert np.abs(shown - colour).max() < 0.25, f"painted colour {colour} shows there, got {shown}"
    assert changed.mean() < 0.05, "and nowhere much else"

    surface_record.undo()
    uv_record.undo()
    target.recolor()
    assert torch.equal(avatar.gaussians.colors, before_colors), "undo restores the exact previous colours"
    assert np.array_equal(render(renderer, camera, avatar.gaussians), before_image)
    uv_record.redo()
    surface_record.redo()
    target.recolor()
    assert np.array_equal(render(renderer, camera, avatar.gaussians), image), "redo brings the strokes back"


def test_a_viewport_stroke_continues_across_a_uv_seam(painted):
    avatar, maps, paint, target = painted
    g = avatar.gaussians
    index, uv = target.layers["top"]
    # A seam: two opaque Gaussians of the top next to each other on the body (< 1 cm) but far apart in the chart.
    sample = torch.nonzero(g.opacities[index] > 0.9)[:, 0][::2]
    d3 = torch.cdist(g.means[index[sample]], g.means[index[sample]])
    duv = torch.cdist(uv[sample], uv[sample])
    i, j = torch.nonzero((d3 < 0.01) & (duv > 0.2))[0].tolist()
    a, b = index[sample[i]], index[sample[j]]
    spot = ((g.means[a] + g.means[b]) / 2).tolist()
    record = paint.stroke_surface("top", [spot], Brush((0, 1, 0), 0.02, 1.0))
    assert record is not None
    target.recolor()
    green = torch.tensor([0.0, 1.0, 0.0])
    for side in (a, b):
        assert torch.allclose(g.colors[side], green, atol=0.02), "both sides of the seam are painted"
    # and in the chart, the paint lies on two islands far apart: one dab, two places
    r = paint.resolution("top")
    for side in (sample[i], sample[j]):
        col, row = int(uv[side, 0] * r), int((1 - uv[side, 1]) * r)
        assert paint.overlay("top")[3, row, col] > 0.99


def test_erase_restores_the_original_and_blur_softens_an_edge(painted):
    avatar, maps, paint, target = painted
    base = avatar.gaussians.colors.clone()
    line = [(0.2, 0.5), (0.8, 0.5)]
    paint.stroke_uv("top", line, Brush((1, 1, 0), 0.03, 1.0))
    target.recolor()
    assert not torch.equal(avatar.gaussians.colors, base)
    paint.stroke_uv("top", line, Brush(radius=0.05, hardness=1.0, mode="erase"))
    target.recolor()
    assert torch.equal(avatar.gaussians.colors, base), "erasing at full strength shows the exact original"

    r = paint.resolution("top")
    paint.stroke_uv("top", [(0.3, 0.5), (0.7, 0.5)], Brush((1, 1, 1), 0.03, 1.0))
    row = round((1 - 0.5) * r - 0.5) + round(0.03 / paint.metres_per_uv("top") * r) + 1  # just below the stripe
    edge = paint.shown("top")[:, row - 3:row + 3, int(0.5 * r)].clone()
    edge_v = 0.5 - 0.03 / paint.metres_per_uv("top")
    paint.stroke_uv("top", [(0.45, edge_v), (0.55, edge_v)], Brush(radius=0.02, hardness=1.0, mode="blur"))
    blurred = paint.shown("top")[:, row - 3:row + 3, int(0.5 * r)]
    jump = lambda column: (column[:, 1:] - column[:, :-1]).abs().max()  # noqa: E731
    assert jump(blurred) < 0.8 * jump(edge), "blur softens the stripe's edge"


def _run_inside(paint, maps_list, layer: str, length: float) -> tuple[float, float]:
    """(u0, v): a chart row where `layer` is opaque in every map of maps_list from u0 to u0 + length."""
    r = paint.resolution(layer)
    ok = paint.chart_mask(layer).clone()
    for maps in maps_list:
        opacity = torch.nn.functional.interpolate(maps[layer][None, :1], size=(r, r), mode="bilinear")[0, 0]
        ok &= opacity > 0.9
    n = int(length * r) + 1
    runs = torch.nn.functional.avg_pool2d(ok[None, None].float(), (9, n), 1)[0, 0] > 0.999  # 9 rows, n columns
    row, col = torch.nonzero(runs)[len(torch.nonzero(runs)) // 2].tolist()
    return (col + 0.5) / r, 1 - (row + 4.5) / r


def test_eyedropper_smudge_and_paint_survive_a_swap(anny_body, composer, base, swapped, painted):
    avatar, maps, paint, target = painted
    u0, v = _run_inside(paint, [maps, composer.maps(swapped)[0]], "top", 0.12)
    blue = np.array([0.1, 0.2, 0.9])
    paint.stroke_uv("top", [(u0, v), (u0 + 0.05, v)], Brush(tuple(blue), 0.02, 1.0))
    assert np.allclose(paint.eyedropper("top", (u0 + 0.03, v)), blue, atol=1e-5)
    beyond = np.asarray(paint.eyedropper("top", (u0 + 0.09, v)))
    record = paint.stroke_uv("top", [(u0 + 0.04, v), (u0 + 0.12, v)], Brush(radius=0.015, hardness=0.5, mode="smudge"))
    assert record is not None
    smudged = np.asarray(paint.eyedropper("top", (u0 + 0.09, v)))
    assert np.abs(smudged - blue).sum() < 0.8 * np.abs(beyond - blue).sum(), "smudge drags the blue along"
    # The paint lives in the chart: the swapped top (another decode) carries it at the same spot.
    other = composer.avatar(swapped, paint)
    index, uv = paint.target.layers["top"]
    spot = index[((uv - torch.tensor([u0 + 0.02, v])).norm(dim=-1) < 0.004)]
    assert spot.numel() > 0
    assert paint.target.avatar is other
    assert torch.allclose(other.gaussians.colors[spot], torch.tensor(blue).float().expand(spot.numel(), 3), atol=0.02)


def test_picking_finds_the_face_and_misses_the_background(composer, base, camera):
    avatar = composer.avatar(base)
    nose = _front_gaussian(avatar, camera, "body", 1.6)
    centre, _, depth = project(camera, SIZE, SIZE, avatar.gaussians)
    hit = pick(camera, SIZE, SIZE, avatar.gaussians, *centre[nose].tolist())
    assert hit is not None and hit.layer == "body"
    assert np.linalg.norm(np.subtract(hit.canonical, avatar.gaussians.means[nose].tolist())) < 0.03
    assert pick(camera, SIZE, SIZE, avatar.gaussians, 2.0, 2.0) is None


def test_harmonise_folds_paint_into_the_latent(anny_body, composer, base):
    from editor.harmonise import HarmoniseCancelled, harmonise

    maps, _ = composer.maps(base)
    paint = PaintLayers(anny_body)
    paint.set_originals(maps)
    paint.stroke_uv("top", [(0.2, 0.5), (0.8, 0.5)], Brush((0.1, 0.7, 0.2), 0.1, 0.8))
    latent = composer.latent(base, base.base)
    steps = []
    result = harmonise(composer.generator, latent, paint, "top", iterations=8, progress=lambda i, n: steps.append(i))
    assert steps == list(range(1, 9))
    assert result.error_after < 0.7 * result.error_before
    assert torch.equal(result.latent[:6], latent[:6]), "geometry channels never move"
    # The harmonised latent decodes (through the composer) to a top nearer the paint.
    harmonised = base.with_latent(base.base, result.latent)
    new_maps, _ = composer.maps(harmonised)
    mask = paint.painted_mask("top")
    target = paint.shown("top")
    r = new_maps["top"].shape[-1]
    small = torch.nn.functional.interpolate(target[None], size=(r, r), mode="area")[0]
    small_mask = torch.nn.functional.interpolate(mask[None, None].float(), size=(r, r), mode="area")[0, 0] > 0.99
    visible = maps["top"][0] > 0.05
    sel = small_mask & visible
    err_old = (maps["top"][1:4] - small).abs()[:, sel].mean()
    err_new = (new_maps["top"][1:4] - small).abs()[:, sel].mean()
    assert err_new < err_old
    # The edit survives interpolation: the path from the harmonised seed 1 to seed 2 starts at the
    # harmonised latent exactly, and carries the edit at half strength halfway.
    generator, delta = composer.generator, result.latent - latent
    path = generator.interpolate(1, 2, [0.0, 0.5, 1.0], edits=(delta, None))
    torch.testing.assert_close(path[0], result.latent, atol=1e-5, rtol=0)
    torch.testing.assert_close(path[2], composer.latent(base, AvatarSource("model", 2)), atol=1e-5, rtol=0)
    torch.testing.assert_close(path[1] - generator.interpolate(1, 2, 0.5), 0.5 * delta, atol=1e-5, rtol=0)
    with pytest.raises(HarmoniseCancelled):
        harmonise(composer.generator, latent, paint, "top", iterations=8, cancel=lambda: True)
    with pytest.raises(AvatarStudioError):
        harmonise(composer.generator, latent, PaintLayers(anny_body), "top", iterations=2)
