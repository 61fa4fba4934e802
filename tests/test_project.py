"""Project files (.avs) as a user meets them: what is saved comes back, a save killed half-way never
damages the file already there, a broken file is one clear line, and the CLI's project round trip
renders the very same pixels."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import AvatarStudioError
from editor.composition import AvatarSource, Composition, LayerChoice
from editor.project import (MotionRef, Project, autosave, autosave_path, discard_autosave, load_project,
                            recovery_available, save_project)

ROOT = Path(__file__).resolve().parents[1]


def a_project(seed: int = 1) -> Project:
    base = AvatarSource("model", seed)
    top = AvatarSource("model", seed + 6, steps=12)
    composition = (Composition(base).with_layer("top", LayerChoice.of(top))
                   .with_layer("hair", LayerChoice.remove())
                   .with_latent(base, torch.full((12, 64, 192), 0.25)))
    paint = np.zeros((4, 384, 384), np.float32)
    paint[:, 100:120, 50:90] = np.random.default_rng(seed).random((4, 20, 40), dtype=np.float32)
    joints = np.random.default_rng(seed).normal(0, 0.2, (55, 3)).astype(np.float32)
    return Project(composition, body="anny",
                   latents={base: torch.randn(12, 64, 192, generator=torch.Generator().manual_seed(seed)),
                            top: torch.randn(12, 64, 192, generator=torch.Generator().manual_seed(seed + 1))},
                   paint={"top": paint}, shape={"age": 0.4, "height": 0.6}, expression={"smile": 0.5},
                   pose=(joints, np.array([0.0, 0.1, 0.0], np.float32)), motion=MotionRef("walk", 12),
                   camera={"target": [0.0, 0.9, 0.0], "distance": 3.0, "yaw_deg": 20.0, "pitch_deg": 5.0,
                           "fov_y_deg": 30.0})


def assert_same(a: Project, b: Project) -> None:
    assert a.composition == b.composition  # base, layer choices and harmonised latents (torch.equal)
    assert a.latents.keys() == b.latents.keys()
    assert all(torch.equal(a.latents[k], b.latents[k]) for k in a.latents)
    assert a.paint.keys() == b.paint.keys() and all(np.array_equal(a.paint[k], b.paint[k]) for k in a.paint)
    assert (a.shape, a.expression, a.motion, a.camera, a.body) == (b.shape, b.expression, b.motion, b.camera, b.body)
    assert np.array_equal(a.pose[0], b.pose[0]) and np.array_equal(a.pose[1], b.pose[1])


def test_a_saved_project_comes_back_exactly(tmp_path):
    project = a_project()
    path = save_project(tmp_path / "me.avs", project)
    assert_same(load_project(path), project)
    with zipfile.ZipFile(path) as z:  # an ordinary zip another program can list and read
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["schema"] == "avatar-studio-project" and manifest["version"] == 1
        assert manifest["composition"]["layers"]["hair"]["removed"] is True
        assert z.testzip() is None


def test_a_save_that_fails_half_way_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "me.avs"
    save_project(path, a_project(1))
    old = path.read_bytes()
    calls = []
    real = zipfile.ZipFile.writestr

    def fail_on_third(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:
            raise RuntimeError("disk pulled out")
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_third)
    with pytest.raises(RuntimeError):
        save_project(path, a_project(2))
    assert path.read_bytes() == old
    assert_same(load_project(path), a_project(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.avs"], "no temp file is left behind"


def test_a_save_killed_half_way_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "me.avs"
    save_project(path, a_project(1))
    old = path.read_bytes()
    # A second process saves a new project over it and is killed (SIGKILL) in the middle of writing.
    script = textwrap.dedent(f"""
        import sys, time, zipfile
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'tests')!r})
        from test_project import a_project
        from editor.project import save_project
        real = zipfile.ZipFile.writestr
        def slow(self, name, data, *a, **k):
            real(self, name, data, *a, **k)
            if name.startswith("latents/"):
                self.fp.flush()
                print("writing", flush=True)
                time.sleep(60)
        zipfile.ZipFile.writestr = slow
        save_project({str(path)!r}, a_project(2))
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        partial = [p for p in tmp_path.iterdir() if p.name != "me.avs"]
        assert partial and partial[0].stat().st_size > 0, "the new file is being written beside the old one"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == old
    assert_same(load_project(path), a_project(1))


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]), "truncated or not a zip"),
    (lambda p: p.write_bytes(b"hello, not a zip"), "truncated or not a zip"),
    (lambda p: _rewrite(p, manifest={"schema": "something-else", "version": 1}), "not an avatar-studio project"),
    (lambda p: _rewrite(p, manifest={"version": 99}), "version 99 is newer"),
    (lambda p: _rewrite(p, drop="paint/top.npy"), "paint/top.npy is missing"),
    (lambda p: _rewrite(p, drop="manifest.json"), "no manifest.json"),
    (lambda p: _rewrite(p, corrupt="latents/0.npy"), "corrupt"),
])
def test_a_broken_project_is_one_clear_line(tmp_path, damage, message):
    path = save_project(tmp_path / "broken.avs", a_project())
    damage(path)
    with pytest.raises(AvatarStudioError) as error:
        load_project(path)
    text = str(error.value)
    assert str(path) in text and message in text and "\n" not in text


def _rewrite(path: Path, manifest: dict | None = None, drop: str | None = None, corrupt: str | None = None) -> None:
    with zipfile.ZipFile(path) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    if manifest is not None:
        entries["manifest.json"] = json.dumps({**json.loads(entries["manifest.json"]), **manifest}).encode()
    if drop is not None:
        del entries[drop]
    if corrupt is not None:
        entries[corrupt] = b"\x93NUMPY garbage"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)


def test_autosave_and_recovery(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATAR_STUDIO_STATE", str(tmp_path / "state"))
    assert recovery_available() is None
    autosave(a_project())
    assert recovery_available() == autosave_path() == tmp_path / "state" / "autosave.avs"
    assert_same(load_project(recovery_available()), a_project())
    discard_autosave()
    assert recovery_available() is None


# --- the command line --------------------------------------------------------------------------------------
def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


needs_generator = pytest.mark.skipif(not (ROOT / "assets/generator/config.json").is_file(),
                                     reason="needs the shipped generator")


@needs_generator
def test_export_avs_then_render_project_equals_render_with_layers(tmp_path):
    from PIL import Image

    import main

    size = ("--size", "160", "160")
    fast = ("--steps", "5")  # fewer denoising steps: a quicker test, and steps are part of what is saved
    assert main.main(["export", "--seed", "1", "--layer", "top=2", *fast, "--avs", str(tmp_path / "p.avs")]) == 0
    assert main.main(["render", "--seed", "1", "--layer", "top=2", *fast, *size,
                      "--out", str(tmp_path / "direct.png")]) == 0
    # The project is rendered by another process: nothing shared but the file.
    reopened = run("render", "--project", tmp_path / "p.avs", *size, "--out", tmp_path / "project.png")
    assert reopened.returncode == 0, reopened.stderr
    a = np.asarray(Image.open(tmp_path / "direct.png"))
    b = np.asarray(Image.open(tmp_path / "project.png"))
    assert np.array_equal(a, b), "the project renders pixel for pixel what its options render"
    project = load_project(tmp_path / "p.avs")
    assert project.composition.base == AvatarSource("model", 1, steps=5)
    assert project.composition.source_of("top") == AvatarSource("model", 2, steps=5)
    assert set(project.latents) == {AvatarSource("model", 1, steps=5), AvatarSource("model", 2, steps=5)}


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    import main

    bad = tmp_path / "bad.avs"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = run("render", "--project", bad, "--out", tmp_path / "x.png")  # one real process: no traceback
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "bad.avs" in result.stderr
    for args, words in [
        (("render", "--seed", 1, "--layer", "tops=2", "--out", tmp_path / "x.png"), "unknown layer 'tops'"),
        (("render", "--seed", 1, "--layer", "top=seven", "--out", tmp_path / "x.png"), "whole number"),
        (("export", "--seed", 1, "--layer", "hair", "--ply", tmp_path / "x.ply"), "LAYER=SEED"),
        (("export", "--seed", 1, "--avs", tmp_path / "x.zip"), "end in .avs"),
        (("export", "--project", bad, "--ply", tmp_path / "x.ply"), "not a zip"),
        (("open", tmp_path / "missing.avs"), "no such project file"),
    ]:
        assert main.main([str(a) for a in args]) == 2, args
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, lines)


@needs_generator
def test_paint_saved_in_a_project_shows_in_its_render(tmp_path, anny_body, one_torch_thread):
    import main
    from PIL import Image

    from core.generator import Generator
    from editor.composition import Composer
    from editor.paint import Brush, PaintLayers

    composition = Composition(AvatarSource("model", 3))
    composer = Composer(anny_body, Generator.load())
    maps, _ = composer.maps(composition)
    latents = {composition.base: composer.latent(composition, composition.base)}  # the render only decodes
    paint = PaintLayers(anny_body)
    paint.set_originals(maps)
    # Paint the whole top pure red: everything the top shows turns red.
    paint.stroke_uv("top", [(u, v) for v in np.linspace(0.05, 0.95, 13) for u in (0.02, 0.98)],
                    Brush((1, 0, 0), 0.2, 1.0))
    save_project(tmp_path / "red.avs", Project(composition, latents=latents, paint=paint.to_arrays()))
    save_project(tmp_path / "plain.avs", Project(composition, latents=latents))
    for name in ("red", "plain"):
        assert main.main(["render", "--project", str(tmp_path / f"{name}.avs"), "--size", "128", "128",
                          "--out", str(tmp_path / f"{name}.png")]) == 0
    red = np.asarray(Image.open(tmp_path / "red.png").convert("RGB")).astype(int)
    plain = np.asarray(Image.open(tmp_path / "plain.png").convert("RGB")).astype(int)
    changed = np.abs(red - plain).max(-1) > 30
    assert 0.02 < changed.mean() < 0.3, "the top's pixels change, the rest does not"
    assert (red[changed][:, 0] > 2 * red[changed][:, 1:].max(-1)).mean() > 0.9, "and they are red"
