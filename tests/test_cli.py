"""The command line as a user meets it: images that show a person, files others read, clear errors."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BACKGROUND = (0.16, 0.16, 0.18)


def run(*args, check=True):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def figure_mask(path):
    image = np.asarray(Image.open(path).convert("RGB")).astype(np.float32) / 255
    return np.abs(image - np.array(BACKGROUND)).max(axis=-1) > 0.06, image


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    out = tmp_path_factory.mktemp("renders")
    for seed in (0, 1):
        run("render", "--seed", seed, "--size", 256, 256, "--out", out / f"seed{seed}.png")
    return out


def test_render_shows_a_centred_standing_person(renders):
    mask, image = figure_mask(renders / "seed0.png")
    rows, cols = np.nonzero(mask)
    height = rows.max() - rows.min()
    assert height > 0.7 * 256, "the figure should take most of the image height"
    assert abs((cols.min() + cols.max()) / 2 - 128) < 0.08 * 256, "the figure should be centred"
    # A standing person: the head is narrower than the shoulders and arms, the legs are apart.
    top = rows.min()
    head_width = mask[top + int(0.06 * height)].sum()
    chest_width = mask[top + int(0.25 * height)].sum()
    assert head_width < 0.6 * chest_width
    assert 0.1 < mask.mean() < 0.5


def test_different_seeds_differ(renders):
    _, a = figure_mask(renders / "seed0.png")
    _, b = figure_mask(renders / "seed1.png")
    assert np.abs(a - b).mean() > 0.02


def test_export_ply_is_read_back_by_an_independent_reader(tmp_path):
    from plyfile import PlyData

    from core.ply import property_names

    run("export", "--seed", 0, "--ply", tmp_path / "a.ply")
    vertex = PlyData.read(str(tmp_path / "a.ply"))["vertex"]
    assert [p.name for p in vertex.properties] == property_names(0)
    assert 60_000 <= vertex.count <= 120_000
    y = np.asarray(vertex["y"])
    assert 1.5 < y.max() - y.min() < 2.0
    assert abs(y.min()) < 0.015, "feet on the floor"
    x, z = np.asarray(vertex["x"]), np.asarray(vertex["z"])
    assert x.max() - x.min() < 2.0 and z.max() - z.min() < 0.8


def test_export_sh3_and_render_of_a_ply(tmp_path):
    run("export", "--seed", 2, "--pose", "a", "--sh-degree", 3, "--ply", tmp_path / "a.ply")
    run("render", "--ply", tmp_path / "a.ply", "--size", 128, 128, "--out", tmp_path / "a.png")
    mask, _ = figure_mask(tmp_path / "a.png")
    assert mask.mean() > 0.05


@pytest.mark.parametrize("args, words", [
    (["render", "--body", "nope", "--out", "{tmp}/a.png"], "unknown body model"),
    (["render", "--body", "smplx", "--out", "{tmp}/a.png"], "--body-dir"),
    (["render", "--body", "smplx", "--body-dir", "{tmp}/missing", "--out", "{tmp}/a.png"], "missing"),
    (["render", "--out", "{tmp}/no/such/dir/a.png"], "does not exist"),
    (["export", "--ply", "{tmp}/no/such/dir/a.ply"], "does not exist"),
    (["render", "--ply", "{tmp}/bad.ply", "--out", "{tmp}/a.png"], "not a PLY"),
    (["render", "--ply", "{tmp}/none.ply", "--out", "{tmp}/a.png"], "no such file"),
])
def test_bad_input_gets_one_clear_line(tmp_path, args, words):
    (tmp_path / "bad.ply").write_bytes(b"\x00garbage")
    result = run(*[a.format(tmp=tmp_path) for a in args], check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a.png").exists()


def test_missing_opengl_says_what_to_install(monkeypatch, tmp_path, capsys):
    import moderngl

    import main

    def no_gl(*args, **kwargs):
        raise Exception("eglGetDisplay failed")

    monkeypatch.setattr(moderngl, "create_standalone_context", no_gl)
    code = main.main(["render", "--out", str(tmp_path / "a.png")])
    err = capsys.readouterr().err
    assert code == 2 and "libegl1" in err and len(err.strip().splitlines()) == 1


def test_help_everywhere():
    for command in ([], ["render"], ["export"], ["bench"]):
        result = run(*command, "--help")
        assert "usage: avatar-studio" in result.stdout


def test_turntable_turns_around_the_avatar(tmp_path):
    import imageio.v3 as iio

    run("render", "--turntable", tmp_path / "turn.gif", "--frames", 4, "--size", 96, 96)
    frames = iio.imread(tmp_path / "turn.gif")
    assert frames.shape[:3] == (4, 96, 96)
    front, side = frames[0].astype(float), frames[1].astype(float)
    assert np.abs(front - side).mean() > 2  # the view changed
    # Seen from the side (yaw 90) the figure is narrower than from the front: arms hide behind it.
    def width(image):
        mask = np.abs(image / 255 - np.array(BACKGROUND)).max(-1) > 0.06
        cols = np.nonzero(mask.any(0))[0]
        return cols.max() - cols.min()
    assert width(side) < 0.8 * width(front)


def test_transparent_png_keeps_the_figure_opaque(tmp_path):
    run("render", "--transparent", "--size", 96, 96, "--out", tmp_path / "t.png")
    alpha = np.asarray(Image.open(tmp_path / "t.png"))[:, :, 3]
    assert alpha[0, 0] == 0 and alpha.max() == 255
    assert 0.05 < (alpha > 128).mean() < 0.6
