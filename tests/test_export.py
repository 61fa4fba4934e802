"""The export command: every format from one avatar, posed files equal to the viewport's Gaussians,
and failures that cost the user one line and leave no file behind."""
import errno
import os
from pathlib import Path

import pytest
import torch

import main
from core.errors import AvatarStudioError
from core.export_fbx import export_fbx
from core.motion import MotionClip, load_motion, save_motion
from core.ply import read_ply
from core.pose import Pose
from core.splat_file import read_splat, write_splat


@pytest.fixture
def cli(monkeypatch, avatar, capsys):
    """main.main with the session's avatar (seed 0): the wiring is under test, not avatar building."""
    monkeypatch.setattr(main, "load_avatar", lambda args: avatar)

    def run(*args):
        code = main.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def tiny_clip(path):
    poses = torch.zeros(6, 55, 3)
    poses[:, 16, 2] = torch.linspace(0, -1.2, 6)  # left shoulder comes down
    return save_motion(MotionClip(poses, torch.zeros(6, 3), fps=30.0, name="tiny"), path)


def test_one_command_writes_ply_splat_and_fbx(tmp_path, cli, avatar):
    clip = tiny_clip(tmp_path / "clip.npz")
    code, out, err = cli("export", "--ply", tmp_path / "a.ply", "--splat", tmp_path / "a.splat",
                         "--fbx", tmp_path / "a.fbx", "--motion", clip, "--frame", 3, "--layers", "top,body")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 3
    pose = load_motion(clip).frame(3, avatar.rest.translation_scale)
    expected = avatar.posed(pose).layer("body", "top")
    ply = read_ply(tmp_path / "a.ply")
    assert torch.allclose(ply.means, expected.means, atol=1e-6), "the posed PLY is the viewport's posed avatar"
    assert torch.allclose(ply.quats, expected.quats, atol=1e-6)
    assert (tmp_path / "a.splat").stat().st_size == 32 * len(expected) == 32 * len(read_splat(tmp_path / "a.splat"))
    assert "meshes body,top, 104 bones, 6 frames at 30 fps" in out


def test_posed_ply_equals_avatar_posed(tmp_path, cli, avatar):
    code, _, err = cli("export", "--pose", "a", "--ply", tmp_path / "a.ply", "--sh-degree", 3)
    assert code == 0, err
    expected = avatar.posed(Pose.preset("a"))
    back = read_ply(tmp_path / "a.ply")
    for name in ("means", "quats", "scales", "opacities", "colors"):
        assert torch.allclose(getattr(back, name), getattr(expected, name), atol=1e-5), name


@pytest.mark.parametrize("args, words", [
    ([], "at least one output"),
    (["--ply", "{tmp}/no/such/dir/a.ply"], "does not exist"),
    (["--splat", "{tmp}/no/such/dir/a.splat"], "does not exist"),
    (["--fbx", "{tmp}/no/such/dir/a.fbx"], "does not exist"),
    (["--fbx", "{tmp}/a.obj"], "need a .fbx name"),
    (["--splat", "{tmp}/a.ply"], "need a .splat name"),
    (["--ply", "{tmp}/a.ply", "--layers", "body,cape"], "--layers"),
    (["--ply", "{tmp}/a.ply", "--fbx", "{tmp}/taken.fbx"], "it is a folder"),
])
def test_bad_requests_get_one_line_and_no_file(tmp_path, cli, args, words):
    (tmp_path / "taken.fbx").mkdir()
    code, _, err = cli("export", *[a.format(tmp=tmp_path) for a in args])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], err
    assert os.listdir(tmp_path) == ["taken.fbx"]


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder this process cannot create files in: read-only permissions, or for root (who ignores
    them) a sysfs folder."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    candidates = [locked, Path("/sys")]
    for folder in candidates:
        try:
            (folder / "probe").touch()
        except OSError:
            yield folder
            break
        (folder / "probe").unlink()
    else:
        pytest.skip("no unwritable folder available to this user")
    locked.chmod(0o700)


@pytest.mark.parametrize("flag, name", [("--ply", "a.ply"), ("--splat", "a.splat"), ("--fbx", "a.fbx")])
def test_unwritable_folder_gets_one_line(unwritable_folder, cli, flag, name):
    before = set(os.listdir(unwritable_folder))
    code, _, err = cli("export", flag, unwritable_folder / name)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0], err
    assert set(os.listdir(unwritable_folder)) == before


def test_failing_write_keeps_the_old_file_and_leaves_no_partial_one(tmp_path, monkeypatch, avatar):
    for name in ("a.splat", "a.fbx"):
        (tmp_path / name).write_bytes(b"old")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(AvatarStudioError, match="No space left"):
        write_splat(tmp_path / "a.splat", avatar.gaussians)
    with pytest.raises(AvatarStudioError, match="No space left"):
        export_fbx(tmp_path / "a.fbx", avatar, layers=("hair",))
    assert sorted(os.listdir(tmp_path)) == ["a.fbx", "a.splat"]
    assert (tmp_path / "a.splat").read_bytes() == (tmp_path / "a.fbx").read_bytes() == b"old"
