""".splat: the antimatter15 layout byte for byte, a round trip within its quantization, bad files."""
import struct

import numpy as np
import pytest
import torch

from core.errors import AvatarStudioError
from core.gaussians import LayeredGaussians
from core.splat_file import read_splat, write_splat


def small_gaussians(n=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    quats = torch.randn(n, 4, generator=g)
    return LayeredGaussians.unskinned(
        means=torch.randn(n, 3, generator=g),
        quats=quats / quats.norm(dim=-1, keepdim=True),
        scales=torch.rand(n, 3, generator=g) * 0.02 + 1e-3,
        opacities=torch.rand(n, generator=g),
        colors=torch.rand(n, 3, generator=g),
    )


def test_layout_is_32_bytes_per_splat_most_important_first(tmp_path):
    g = small_gaussians()
    path = tmp_path / "a.splat"
    write_splat(path, g)
    data = path.read_bytes()
    assert len(data) == 32 * len(g)
    order = torch.argsort(-(g.scales.double().prod(dim=-1) * g.opacities.double()))
    first = order[0]
    x, y, z, sx, sy, sz, r, gr, b, a, qw, qx, qy, qz = struct.unpack_from("<3f3f4B4B", data, 0)
    assert (x, y, z) == tuple(g.means[first].tolist())
    assert (sx, sy, sz) == tuple(g.scales[first].tolist())
    assert [r, gr, b, a] == [round(v * 255) for v in g.colors[first].tolist() + [float(g.opacities[first])]]
    q = g.quats[first]
    assert [qw, qx, qy, qz] == [min(255, round(v * 128 + 128)) for v in q.tolist()]
    positions = np.frombuffer(data, dtype=np.float32).reshape(-1, 8)[:, :3]
    assert np.array_equal(positions, g.means[order].numpy()), "sorted by scale product x opacity, largest first"


def test_round_trip_within_quantization(tmp_path):
    g = small_gaussians()
    write_splat(tmp_path / "a.splat", g)
    back = read_splat(tmp_path / "a.splat")
    order = torch.argsort(-(g.scales.double().prod(dim=-1) * g.opacities.double()))
    g = g.select(order)
    assert torch.equal(back.means, g.means) and torch.equal(back.scales, g.scales)
    assert (back.colors - g.colors).abs().max() <= 0.5 / 255 + 1e-6
    assert (back.opacities - g.opacities).abs().max() <= 0.5 / 255 + 1e-6
    dot = (back.quats * g.quats).sum(dim=-1).abs()
    assert dot.min() > 0.9995
    assert not back.poseable


def test_avatar_round_trip(tmp_path, avatar):
    write_splat(tmp_path / "avatar.splat", avatar.gaussians)
    back = read_splat(tmp_path / "avatar.splat")
    assert (tmp_path / "avatar.splat").stat().st_size == 32 * len(avatar.gaussians) == 32 * len(back)
    key = lambda m: np.lexsort(m.numpy().T)  # noqa: E731
    assert torch.equal(back.means[key(back.means)], avatar.gaussians.means[key(avatar.gaussians.means)])


def test_bad_files_get_one_line(tmp_path):
    (tmp_path / "odd.splat").write_bytes(b"\x00" * 33)
    with pytest.raises(AvatarStudioError, match="multiple of 32"):
        read_splat(tmp_path / "odd.splat")
    with pytest.raises(AvatarStudioError, match="no such file"):
        read_splat(tmp_path / "none.splat")
