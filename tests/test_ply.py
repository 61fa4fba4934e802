"""3DGS PLY: exact layout for other readers, lossless round trip, foreign files, bad files."""
import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from core.errors import AvatarStudioError
from core.gaussians import LayeredGaussians
from core.ply import SH_C0, property_names, read_ply, write_ply


def small_gaussians(n=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    quats = torch.randn(n, 4, generator=g)
    quats = quats / quats.norm(dim=-1, keepdim=True)
    quats = torch.where(quats[:, :1] < 0, -quats, quats)
    return LayeredGaussians.unskinned(
        means=torch.randn(n, 3, generator=g),
        quats=quats,
        scales=torch.rand(n, 3, generator=g) * 0.02 + 1e-3,
        opacities=torch.rand(n, generator=g) * 0.9 + 0.05,
        colors=torch.rand(n, 3, generator=g),
    )


@pytest.mark.parametrize("sh_degree", [0, 3])
def test_independent_reader_sees_the_standard_layout(tmp_path, sh_degree):
    g = small_gaussians()
    path = tmp_path / "a.ply"
    write_ply(path, g, sh_degree=sh_degree)
    ply = PlyData.read(str(path))
    vertex = ply["vertex"]
    names = [p.name for p in vertex.properties]
    assert names == property_names(sh_degree)
    assert len(names) == (17 if sh_degree == 0 else 62)
    assert all(p.val_dtype in ("f4", "float32", "float") for p in vertex.properties)
    assert ply.text is False and ply.byte_order == "<"
    assert np.allclose(vertex["x"], g.means[:, 0].numpy())
    assert np.allclose(vertex["opacity"], torch.logit(g.opacities.double()).numpy(), atol=1e-5)
    assert np.allclose(vertex["scale_1"], torch.log(g.scales[:, 1]).numpy(), atol=1e-6)
    assert np.allclose(vertex["f_dc_2"], ((g.colors[:, 2] - 0.5) / SH_C0).numpy(), atol=1e-6)


def test_round_trip(tmp_path):
    g = small_gaussians()
    write_ply(tmp_path / "a.ply", g)
    back = read_ply(tmp_path / "a.ply")
    for name in ("means", "quats", "scales", "opacities", "colors"):
        assert torch.allclose(getattr(back, name), getattr(g, name), atol=1e-5), name


def test_avatar_round_trip_keeps_its_shape(tmp_path, avatar):
    write_ply(tmp_path / "avatar.ply", avatar.gaussians)
    back = read_ply(tmp_path / "avatar.ply")
    assert len(back) == len(avatar.gaussians)
    assert torch.allclose(back.means, avatar.gaussians.means, atol=1e-6)


def test_reads_foreign_files(tmp_path):
    """A file from another tool: doubles, other property order, extra properties, SH degree 1."""
    n = 50
    rng = np.random.default_rng(1)
    fields = ["rot_0", "rot_1", "rot_2", "rot_3", "x", "y", "z", "opacity", "scale_0", "scale_1", "scale_2",
              "f_dc_0", "f_dc_1", "f_dc_2"] + [f"f_rest_{i}" for i in range(9)] + ["red"]
    data = np.zeros(n, dtype=[(f, "f8") if f != "red" else (f, "u1") for f in fields])
    for f in fields:
        data[f] = rng.normal(size=n) if f != "red" else 7
    data["rot_0"] = np.abs(data["rot_0"]) + 0.1
    for text in (False, True):
        path = tmp_path / f"foreign_{text}.ply"
        PlyData([PlyElement.describe(data, "vertex")], text=text, byte_order=">").write(str(path))
        g = read_ply(path)
        assert len(g) == n
        assert np.allclose(g.means[:, 1].numpy(), data["y"], atol=1e-5)
        assert torch.allclose(g.opacities, torch.sigmoid(torch.from_numpy(np.ascontiguousarray(data["opacity"]))).float(), atol=1e-5)
        assert not g.poseable


@pytest.mark.parametrize("content, problem", [
    (b"", "not a PLY"),
    (b"hello world\n", "not a PLY"),
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\n", "truncated PLY header"),
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\nend_header\n", "missing properties"),
])
def test_bad_files_get_one_clear_line(tmp_path, content, problem):
    path = tmp_path / "bad.ply"
    path.write_bytes(content)
    with pytest.raises(AvatarStudioError, match=problem) as e:
        read_ply(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_truncated_body_and_missing_file(tmp_path):
    path = tmp_path / "cut.ply"
    write_ply(path, small_gaussians(100))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(AvatarStudioError, match="truncated"):
        read_ply(path)
    with pytest.raises(AvatarStudioError, match="no such file"):
        read_ply(tmp_path / "nope.ply")


def test_a_save_that_dies_half_way_keeps_the_old_file(tmp_path):
    from core.atomic import atomic_write

    path = tmp_path / "keep.ply"
    write_ply(path, small_gaussians(10))
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write(b"ply\nformat binary_little_endian 1.0\n")  # half a file...
            raise RuntimeError("disk full")  # ...then the writer dies
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.ply"]


def test_unwritable_targets_are_refused_up_front(tmp_path):
    with pytest.raises(AvatarStudioError, match="does not exist"):
        write_ply(tmp_path / "missing" / "a.ply", small_gaussians(5))
    with pytest.raises(AvatarStudioError, match="is a folder"):
        write_ply(tmp_path, small_gaussians(5))


def test_saved_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    write_ply(tmp_path / "a.ply", small_gaussians(5))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "a.ply").st_mode) == 0o666 & ~umask
