"""`avatar-studio bench` as a script reads it: one JSON object with the documented keys per case, and clear
one-line errors. No timing is asserted (speed figures go to docs/benchmarks.md)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.gaussians import LayeredGaussians
from viewer.bench import parse_size, resample_gaussians

ROOT = Path(__file__).resolve().parents[1]
CASE_KEYS = {"backend", "width", "height", "gaussians", "detail", "draw_ms", "frame_ms", "skin_ms", "sort_ms",
             "upload_ms", "readback_ms", "draw_vs_naive", "frame_vs_naive"}


def bench(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "bench", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_json_has_one_entry_per_case_with_the_documented_keys():
    result = bench("--json", "--size", "64", "48x32", "--frames", "1", "--gaussians", "5000", "--detail", "0.5")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert {"date", "machine", "load_average", "gl_renderer", "frames", "reference", "results"} <= set(report)
    rows = report["results"]
    assert [(r["backend"], r["width"], r["height"]) for r in rows] == [
        (backend, w, h) for w, h in ((64, 64), (48, 32)) for backend in ("gl-tiles", "gl-quads", "gl-naive")]
    for row in rows:
        assert CASE_KEYS <= set(row), CASE_KEYS - set(row)
        assert row["gaussians"] == 5000
        assert row["draw_ms"] > 0 and row["frame_ms"] >= row["draw_ms"]
        assert row["detail"] == (1.0 if row["backend"] == "gl-naive" else 0.5)
    naive = [r for r in rows if r["backend"] == "gl-naive"]
    assert all(r["draw_vs_naive"] == 1.0 for r in naive)


def test_bad_arguments_are_one_line_and_exit_2():
    for args, fragment in ((["--size", "12x"], "--size 12x"), (["--detail", "0"], "--detail 0"),
                           (["--frames", "0"], "--frames 0")):
        result = bench(*args)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_gsplat_backend_without_cuda_says_so():
    result = bench("--backend", "gsplat", "--size", "64", "--frames", "1")
    assert result.returncode == 2
    assert "CUDA" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def rig(n: int) -> LayeredGaussians:
    g = torch.Generator().manual_seed(0)
    return LayeredGaussians(
        means=torch.rand(n, 3, generator=g), quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=1),
        scales=torch.tensor([[0.02, 0.01, 1e-4]]).repeat(n, 1), opacities=torch.rand(n, generator=g),
        colors=torch.rand(n, 3, generator=g), layers=torch.zeros(n, dtype=torch.int64),
        skin_indices=torch.randint(0, 10, (n, 8), generator=g), skin_weights=torch.full((n, 8), 0.125),
        uvs=torch.rand(n, 2, generator=g),
    )


def test_resampling_keeps_the_avatar_poseable_and_its_coverage():
    gaussians = rig(1000)
    fewer = resample_gaussians(gaussians, 300)
    assert len(fewer) == 300 and fewer.poseable
    more = resample_gaussians(gaussians, 4000)  # 4 copies of each
    assert len(more) == 4000 and more.poseable
    assert torch.equal(more.skin_indices[:1000], gaussians.skin_indices)
    # Copies spread over their parent's footprint and shrink in-plane, keeping the covered area.
    area = lambda g: (g.scales[:, 0] * g.scales[:, 1]).sum()  # noqa: E731
    assert torch.isclose(area(more), area(gaussians), rtol=1e-4)
    offsets = (more.means[:1000] - gaussians.means).norm(dim=1)
    assert (offsets > 0).all() and (offsets <= 0.02 * 2**0.5 + 1e-6).all()


def test_parse_size():
    assert parse_size("512") == (512, 512)
    assert parse_size("1024x768") == (1024, 768)
