"""Editing in the studio: one undo history for strokes, swaps and pose edits; layers and paint driven
through the studio's own actions; project files; and a window test that swaps a layer and paints
(in the UV panel and on the viewport) and checks the screenshots changed where expected.
"""
from __future__ import annotations

import pytest
import torch

from editor.history import CallbackRecord, History
from test_studio_generate import tiny_checkpoint, tiny_model  # noqa: F401  (fixtures)


def test_history_undoes_and_redoes_in_order_and_drops_the_redo_branch():
    value = [0]
    changes = []

    def edit(to: int) -> CallbackRecord:
        before = value[0]
        value[0] = to
        return CallbackRecord(f"set {to}", lambda: value.__setitem__(0, before), lambda: value.__setitem__(0, to))

    history = History(depth=3, on_change=lambda: changes.append(history.version))
    assert history.undo() is None and history.redo() is None and not changes
    for to in (1, 2, 3, 4):
        history.push(edit(to))
    assert len(history) == 3 and history.undo_label == "set 4", "depth 3: the oldest record is forgotten"
    assert history.undo().label == "set 4" and value[0] == 3
    assert history.undo().label == "set 3" and value[0] == 2
    assert history.redo_label == "set 3" and history.redo() is not None and value[0] == 3
    history.push(edit(9))
    assert not history.can_redo and value[0] == 9, "a new edit drops what was undone"
    history.undo(), history.undo(), history.undo()
    assert value[0] == 1 and not history.can_undo, "back to before the oldest remembered edit"
    assert changes == list(range(1, len(changes) + 1)), "every change is announced, in order"


def test_a_record_that_fails_to_undo_stays_undoable():
    def broken() -> None:
        raise RuntimeError("no")

    history = History()
    history.push(CallbackRecord("broken", broken, lambda: None))
    with pytest.raises(RuntimeError):
        history.undo()
    assert history.can_undo and not history.can_redo
    with pytest.raises(ValueError):
        History(depth=0)


# --- the studio's editing actions, without a window ---------------------------------------------------------

@pytest.fixture()
def studio(anny_body, monkeypatch, tmp_path, one_torch_thread):
    """A studio (no window) showing wardrobe seed 3, with its autosave in tmp_path and no trained model."""
    import core.generator
    from app.studio import Studio, StudioOptions

    monkeypatch.setenv("AVATAR_STUDIO_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(core.generator, "DEFAULT_CHECKPOINT", tmp_path / "no-generator")
    s = Studio(StudioOptions(seed=3), body=anny_body)
    s.load_avatar(3)
    finish(s)
    return s


def finish(studio) -> None:
    assert studio.runner.wait(120)
    studio.runner.poll()


def layer_colors(studio, layer: str):
    from core.gaussians import LAYER_IDS

    g = studio.state.gaussians
    return g.colors[g.layers == LAYER_IDS[layer]].clone()


def test_swap_remove_and_undo_recompose_only_what_changed(studio):
    import torch

    from core.gaussians import LAYER_IDS

    state, edit = studio.state, studio.state.edit
    counts = state.gaussians.layer_counts()
    assert all(counts[n] > 0 for n in ("top", "bottom", "hair", "shoes"))
    bottom, decodes = layer_colors(studio, "bottom"), edit.composer.decodes
    for degrees in (20.0, 40.0, 60.0):  # a slider drag first (swaps keep the pose): three events, one entry
        studio.set_joint_angle("left_elbow", 0, degrees)
    studio.finish_pose_drag()
    assert len(edit.history) == 1 and edit.history.undo_label == "pose: left elbow"

    assert studio.take_layer_from_seed("top", 8)
    finish(studio)
    assert edit.composer.decodes == decodes + 1, "one new source decoded: wardrobe seed 8"
    assert edit.composition.choice("top").source.seed == 8 and state.message.startswith("Top from wardrobe 8")
    assert torch.equal(layer_colors(studio, "bottom"), bottom), "the other layers are untouched"
    assert state.pose_name == "custom", "the pose stays"

    studio.remove_layer("hair")
    finish(studio)
    assert state.gaussians.layer_counts()["hair"] == 0, "bald"
    assert state.gaussians.layer_counts()["body"] > counts["body"], "the scalp underneath shows"
    assert edit.history.undo_label == "remove hair (bald)"

    studio.undo()
    finish(studio)
    assert state.gaussians.layer_counts()["hair"] == counts["hair"]
    studio.undo()
    finish(studio)
    assert state.gaussians.layer_counts() == counts and edit.composer.decodes == decodes + 1, \
        "undo re-assembles from the composer's cache"
    studio.undo()  # the pose edit: one entry for the whole drag
    assert state.pose_name != "custom" and not edit.history.can_undo
    studio.redo()
    assert state.pose_name == "custom"
    assert set(state.gaussians.layers.unique().tolist()) == set(LAYER_IDS.values())


def test_uv_and_viewport_strokes_recolour_live_and_undo_exactly(studio):
    import torch

    from core.gaussians import LAYER_IDS

    state, edit = studio.state, studio.state.edit
    scene, before = state.scene_version, state.gaussians.colors.clone()
    studio.set_paint_layer("top")
    studio.set_brush(rgb=(0.0, 0.2, 1.0), radius=0.05, hardness=1.0)
    assert studio.begin_uv_stroke((0.3, 0.5))
    for u in (0.35, 0.4, 0.45):
        studio.continue_uv_stroke((u, 0.5))
        assert state.scene_version > scene, "each move shows at once"
        scene = state.scene_version
    studio.end_stroke()
    changed = (state.gaussians.colors - before).abs().sum(-1) > 1e-4
    top = state.gaussians.layers == LAYER_IDS["top"]
    assert changed.any() and not (changed & ~top).any(), "only the top changed"
    assert (state.gaussians.colors[changed][:, 2] > 0.6).float().mean() > 0.5, "towards blue"
    assert state.avatar.gaussians.colors.data_ptr() == state.gaussians.colors.data_ptr(), "recoloured in place"
    assert edit.history.undo_label == "paint stroke on top" and len(edit.history) == 1, "one entry per drag"
    assert not torch.equal(state.maps["top"][1:4], edit.original_maps["top"][1:4]), "FBX textures carry the paint"

    # On the viewport: the front of the chest, from the front view (the studio frames the avatar).
    width, height = state.viewport_size
    hit = None
    for y in range(height // 4, height // 2, 4):
        hit = studio._pick(width / 2, y)
        if hit is not None and hit.layer == "top":
            break
    assert hit is not None and hit.layer == "top"
    after_uv = state.gaussians.colors.clone()
    studio.set_brush(rgb=(1.0, 1.0, 0.0))
    assert studio.begin_view_stroke(width / 2, y)
    studio.continue_view_stroke(width / 2 + 10, y)
    studio.end_stroke()
    moved = (state.gaussians.colors - after_uv).abs().sum(-1) > 1e-4
    assert moved[hit.index] and not (moved & ~top).any(), "the stroke landed under the brush, on the top"
    assert edit.paint_layer == "top" and len(edit.history) == 2

    studio.undo()
    assert torch.equal(state.gaussians.colors, after_uv), "undo restores the exact previous colours"
    studio.undo()
    assert torch.equal(state.gaussians.colors, before)
    studio.redo()
    assert torch.equal(state.gaussians.colors, after_uv)


def test_eyedropper_and_brush_size(studio):
    edit = studio.state.edit
    studio.arm_eyedropper()
    assert not studio.begin_uv_stroke((0.4, 0.5)), "the click picks, it does not paint"
    assert not edit.eyedropper and edit.brush.rgb == edit.paint.eyedropper("top", (0.4, 0.5))
    radius = edit.brush.radius
    studio.resize_brush(2)
    assert edit.brush.radius == pytest.approx(radius * 1.15**2)
    studio.resize_brush(-100)
    assert edit.brush.radius == pytest.approx(0.003), "clamped to the smallest brush"


def test_project_saves_and_opens_the_same_avatar_and_autosaves(studio, anny_body, tmp_path):
    import threading

    import torch

    from app.studio import Studio, StudioOptions
    from editor.project import autosave_path, load_project

    state, edit = studio.state, studio.state.edit
    studio.take_layer_from_seed("shoes", 8)
    finish(studio)
    studio.set_brush(rgb=(0.0, 0.8, 0.2), radius=0.05)
    studio.begin_uv_stroke((0.4, 0.5))
    studio.continue_uv_stroke((0.5, 0.5))
    studio.end_stroke()
    studio.set_pose("arms_crossed")
    studio.set_shape("height", 0.6)
    state.refresh()
    assert edit.dirty

    assert studio.save_project(str(tmp_path / "me")) and (tmp_path / "me.avs").is_file(), "the suffix is added"
    assert not edit.dirty and edit.project_path == tmp_path / "me.avs" and not list(tmp_path.glob(".me*.tmp"))
    project = load_project(tmp_path / "me.avs")
    assert project.composition == edit.composition and set(project.paint) == {"top"}

    other = Studio(StudioOptions(), body=anny_body)
    assert other.open_project(str(tmp_path / "me.avs"))
    finish(other)
    shown = other.state
    assert shown.edit.composition == edit.composition and shown.pose_name == "custom"
    assert shown.shape == {"height": 0.6} and not shown.edit.history.can_undo and not shown.edit.dirty
    assert torch.equal(shown.gaussians.colors, state.gaussians.colors), "the same paint on the same layers"
    assert torch.allclose(shown.gaussians.means, state.gaussians.means, atol=1e-5), "same shape and pose"

    (tmp_path / "bad.avs").write_bytes(b"not a zip")
    other.open_project(str(tmp_path / "bad.avs"))
    finish(other)
    assert "bad.avs" in other.failure.message and "\n" not in other.failure.message

    studio.undo()  # an edit after the save: the autosave timer writes it in a thread of its own
    studio.poll_autosave(now=10**9)
    studio._autosave_thread.join(30)
    assert autosave_path().is_file() and load_project(autosave_path()).pose is not None
    assert studio._autosave_thread is not threading.current_thread()


def test_harmonise_folds_paint_into_the_latent_in_the_background_and_undoes(anny_body, tiny_model, tmp_path,
                                                                             monkeypatch, one_torch_thread):
    from app.studio import Studio, StudioOptions

    monkeypatch.setenv("AVATAR_STUDIO_STATE", str(tmp_path / "state"))
    studio = Studio(StudioOptions(seed=3), body=anny_body)
    studio.load_avatar(3)
    finish(studio)
    state, edit = studio.state, studio.state.edit
    assert edit.composition.base.kind == "model"
    assert "Nothing painted" in studio.harmonise_blocker()
    studio.set_brush(rgb=(0.1, 0.9, 0.1), radius=0.08)
    studio.begin_uv_stroke((0.3, 0.5))
    studio.continue_uv_stroke((0.6, 0.5))
    studio.end_stroke()
    assert studio.harmonise_blocker() is None
    assert studio.harmonise()
    assert studio.runner.status().kind == "harmonise"
    assert not studio.begin_uv_stroke((0.5, 0.5)) and "Harmonising" in state.message, "no painting meanwhile"
    finish(studio)
    assert edit.composition.base in edit.composition.latents, "the base's latent is replaced"
    assert not edit.paint.painted_mask("top").any(), "the paint it absorbed is cleared"
    assert edit.history.undo_label == "harmonise the top" and state.message.startswith("Harmonised the top")
    gen = state.generate
    sample = next(e for e in gen.gallery if e.seed == 3)
    assert sample.edited is not None, "the gallery sample keeps its harmonised latent"
    studio.undo()
    finish(studio)
    assert not edit.composition.latents and edit.paint.painted_mask("top").any(), "one undo brings both back"
    assert sample.edited is None
    studio.redo()
    finish(studio)
    assert sample.edited is not None
    # Interpolating from the harmonised sample keeps the edit: half of it halfway to another seed.
    studio.load_avatar(4)
    finish(studio)
    other = next(e for e in gen.gallery if e.seed == 4)
    studio.pick_interpolation("a", sample.key)
    studio.pick_interpolation("b", other.key)
    studio.set_interpolation(0.5)
    finish(studio)
    (source, shown), = edit.composition.latents.items()
    assert (source.seed, source.partner, source.t) == (3, 4, 0.5)
    expected = gen.generator.interpolate(3, 4, 0.5, steps=sample.steps, edits=(sample.edited - sample.latent, None))
    torch.testing.assert_close(shown, expected, atol=1e-5, rtol=0)


# --- the window: a swap, a UV stroke and a viewport stroke through the studio's own actions -----------------

DRIVER = r"""
import json, sys
sys.path.insert(0, {root!r})
import numpy as np
import torch
import dearpygui.dearpygui as dpg
import imageio.v3 as iio
from app.studio import Studio, StudioOptions
from core.gaussians import LAYER_IDS
from editor.picking import project

OUT = {out!r}
dpg.create_context()
studio = Studio(StudioOptions(seed=3))
state = studio.state
report, saved = {{}}, set()


def take(name):
    def save(sender, buffer):
        w, h = buffer.get_width(), buffer.get_height()
        rgba = np.asarray(buffer, dtype=np.float32).reshape(h, w, 4)
        iio.imwrite(f"{{OUT}}/{{name}}.png", (np.clip(rgba[..., :3], 0, 1) * 255 + 0.5).astype(np.uint8))
        saved.add(name)
    dpg.output_frame_buffer(callback=save)


def window_box(mask):
    # Window-pixel bounding box of the posed Gaussians under `mask`.
    w, h = state.viewport_size
    centre = project(state.camera, w, h, state.gaussians.select(mask))[0]
    ox, oy = studio.viewport._origin()
    lo, hi = centre.min(0).values.tolist(), centre.max(0).values.tolist()
    return [lo[0] + ox, lo[1] + oy, hi[0] + ox, hi[1] + oy]


def shown_under(changed):
    # The viewport image shown after this frame's render (drag size while edits are live on software GL),
    # at the mean screen position of the Gaussians whose colours `changed`; None if it was not rendered
    # with the latest scene.
    view = studio.viewport
    if view._rendered_key is None or view._rendered_key[0] != state.scene_version:
        return None
    w, h = state.viewport_size
    x, y = project(state.camera, w, h, state.gaussians.select(changed))[0].mean(0).tolist()
    r = view._shown_reduction
    return view._pixels[r][int(y / r), int(x / r), :3].tolist()


def script():
    while state.avatar is None or studio.runner.status() is not None:
        yield
    ox, oy = studio.viewport._origin()
    w, h = state.viewport_size
    report["viewport"] = [ox, oy, ox + w, oy + h]
    for _ in range(4):
        yield
    widgets = studio.widgets
    dpg.set_value(widgets.layers.tab_bar, widgets.layers.tab)
    for _ in range(3):
        yield
    yield from shoot("0_start")

    # A layer swap: the top from wardrobe seed 8.
    top = lambda: state.gaussians.layers == LAYER_IDS["top"]
    box = window_box(top())
    studio.take_layer_from_seed("top", 8)
    while studio.runner.status() is not None:
        yield
    for _ in range(3):
        yield
    after = window_box(top())
    report["swap_box"] = [min(box[0], after[0]), min(box[1], after[1]), max(box[2], after[2]), max(box[3], after[3])]
    yield from shoot("1_swap")

    # A stroke in the UV view, on the chest: the front-most top Gaussian at chest height gives its chart uv.
    dpg.set_value(widgets.paint.tab_bar, widgets.paint.tab)
    studio.set_brush(rgb=(0.1, 0.3, 1.0), radius=0.04, hardness=1.0, opacity=1.0)
    studio.set_paint_tool(True)  # from here on the brush cursor is in every shot (wherever Xvfb's pointer is)
    for _ in range(4):
        yield
    yield from shoot("2_paint_tab")
    canonical = state.avatar.gaussians
    on_top = torch.nonzero(canonical.layers == LAYER_IDS["top"])[:, 0]
    chest = on_top[torch.argmax(canonical.means[on_top, 2] - 4 * (canonical.means[on_top, 1] - 1.2).abs()
                                - 4 * canonical.means[on_top, 0].abs())]
    layer, uv = studio.state.edit.paint.target.chart_uv(int(chest))
    studio.set_paint_layer(layer)
    colours = state.gaussians.colors.clone()
    studio.begin_uv_stroke(uv)
    yield
    rgb = shown_under((state.gaussians.colors - colours).abs().sum(-1) > 1e-3)
    report["same_frame_uv"] = rgb is not None and rgb[2] > rgb[0] + 0.2
    for k in range(1, 6):
        studio.continue_uv_stroke((uv[0] + 0.012 * k, uv[1]))
        yield
    studio.end_stroke()
    changed = (state.gaussians.colors - colours).abs().sum(-1) > 1e-3
    report["uv_box"] = window_box(changed)
    report["uv_view"] = [*dpg.get_item_rect_min(widgets.paint.drawlist),
                         *(np.array(dpg.get_item_rect_min(widgets.paint.drawlist)) + widgets.paint.size).tolist()]
    after_uv = state.gaussians.colors.clone()
    for _ in range(3):
        yield
    yield from shoot("3_uv_stroke")

    # A stroke on the viewport with the paint tool: across the belly, through the studio's viewport actions.
    belly = on_top[torch.argmax(canonical.means[on_top, 2] - 4 * (canonical.means[on_top, 1] - 1.0).abs()
                                - 4 * (canonical.means[on_top, 0] + 0.05).abs())]
    centre = project(state.camera, w, h, state.gaussians.select(torch.tensor([int(belly)])))[0][0].tolist()
    x0, y0 = centre
    studio.set_brush(rgb=(1.0, 0.9, 0.0))
    assert studio.begin_view_stroke(x0, y0)
    yield
    rgb = shown_under((state.gaussians.colors - after_uv).abs().sum(-1) > 1e-3)
    report["same_frame_view"] = rgb is not None and rgb[0] > 0.6 and rgb[1] > 0.5 and rgb[2] < 0.45
    for k in range(1, 6):
        studio.continue_view_stroke(x0 + 8 * k, y0)
        yield
    studio.end_stroke()
    focal = h / (2 * np.tan(np.radians(state.camera.fov_y_deg) / 2))
    reach = 0.04 * focal / state.camera.distance
    report["view_box"] = [ox + x0 - reach, oy + y0 - reach, ox + x0 + 40 + reach, oy + y0 + reach]
    report["history"] = [studio.state.edit.history.undo_label, len(studio.state.edit.history)]
    for _ in range(3):
        yield
    yield from shoot("4_view_stroke")

    studio.undo()
    report["undo_exact"] = bool(torch.equal(state.gaussians.colors, after_uv))
    for _ in range(3):
        yield
    yield from shoot("5_undo")
    studio.undo()
    report["undo_exact_2"] = bool(torch.equal(state.gaussians.colors, colours))
    for _ in range(3):
        yield
    yield from shoot("6_undo")
    studio.quit()
    while True:
        yield


def shoot(name):
    # Once the viewport shows the full-size image of the latest scene (live edits draw at drag size first).
    view = studio.viewport
    while view._shown_reduction != 1 or view._rendered_key is None or view._rendered_key[:2] != (
            state.scene_version, state.view_version):
        yield
    for _ in range(3):  # a texture swapped in for the image shows a frame or two later in the frame buffer
        yield
    take(name)
    while name not in saved:
        yield


steps = script()


def before_frame():
    # One step of the script per frame, before the frame's own work: what a step does shows in that frame,
    # and the next step sees what it drew.
    next(steps)


studio.before_frame = before_frame
studio.run()
studio.close()
dpg.destroy_context()
print(json.dumps(report))
"""


def _changed(a, b, threshold: int = 24):
    import numpy as np

    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1) > threshold


def _inside(mask, box, margin: float):
    import numpy as np

    x0, y0, x1, y1 = box
    rows, cols = np.nonzero(mask)
    inside = (cols >= x0 - margin) & (cols <= x1 + margin) & (rows >= y0 - margin) & (rows <= y1 + margin)
    return inside.mean() if len(rows) else 1.0, len(rows)


def test_window_swap_and_strokes_change_the_picture_where_expected_and_undo_restores_it(tmp_path):
    import json
    import os
    import subprocess

    import numpy as np
    from PIL import Image

    from test_studio import ROOT, studio_command

    out = tmp_path / "shots"
    out.mkdir()
    command = [*studio_command()[:-1], "-c", DRIVER.format(root=str(ROOT), out=str(out))]
    env = {**os.environ, "AVATAR_STUDIO_STATE": str(tmp_path / "state"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    shots = {p.stem: np.asarray(Image.open(p).convert("RGB")) for p in out.glob("*.png")}
    assert len(shots) == 7, sorted(shots)
    vx0, vy0, vx1, vy1 = (int(round(v)) for v in report["viewport"])

    def viewport(image):
        # The viewport without its caption and hint lines (top and bottom 40 px), in window coordinates.
        masked = image.copy()
        masked[:vy0 + 40] = 0
        masked[vy1 - 40:] = 0
        masked[:, :vx0] = 0
        return masked

    # The swap changed the picture, inside where the old and new tops are.
    swap = _changed(viewport(shots["0_start"]), viewport(shots["1_swap"]))
    share, count = _inside(swap, report["swap_box"], 6)
    assert count > 500 and share > 0.98, (count, share)

    # The UV stroke: on the avatar, only around the Gaussians it recoloured; and in the UV view.
    assert report["same_frame_uv"] and report["same_frame_view"], "a stroke shows on the avatar in its own frame"
    uv = _changed(viewport(shots["2_paint_tab"]), viewport(shots["3_uv_stroke"]))
    share, count = _inside(uv, report["uv_box"], 6)
    assert count > 100 and share > 0.98, (count, share)
    x0, y0, x1, y1 = (int(v) for v in report["uv_view"])
    panel = _changed(shots["2_paint_tab"][y0:y1, x0:x1], shots["3_uv_stroke"][y0:y1, x0:x1])
    assert panel.sum() > 30, "the stroke shows in the UV view"
    blue = shots["3_uv_stroke"][uv]
    assert (blue[:, 2] > blue[:, 0] + 40).mean() > 0.6, "painted blue"

    # The viewport stroke: around the brush's path only.
    view = _changed(viewport(shots["3_uv_stroke"]), viewport(shots["4_view_stroke"]))
    share, count = _inside(view, report["view_box"], 8)
    assert count > 100 and share > 0.98, (count, share)
    yellow = shots["4_view_stroke"][view]
    assert ((yellow[:, 0] > 150) & (yellow[:, 1] > 130) & (yellow[:, 2] < 120)).mean() > 0.5, "painted yellow"
    assert report["history"][0] == "paint stroke on top", report["history"]

    # Undo brings the previous pixels (and the exact colours) back.
    assert report["undo_exact"] and report["undo_exact_2"]
    for a, b in (("5_undo", "3_uv_stroke"), ("6_undo", "2_paint_tab")):
        assert _changed(viewport(shots[a]), viewport(shots[b]), threshold=3).sum() == 0, a
    assert (tmp_path / "state" / "autosave.avs").is_file(), "closing with unsaved edits keeps them for recovery"
