"""A built wheel carries everything the installed studio reads at run time."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_shaders_assets_and_cli(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("avatar_studio-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shaders = {p.name for p in (ROOT / "shaders").iterdir() if p.suffix in (".vert", ".frag", ".glsl", ".comp")}
    assert shaders and all(f"shaders/{name}" in names for name in shaders)
    assert "main.py" in names and "assets/__init__.py" in names
    for package in ("core", "viewer", "editor", "app"):
        assert f"{package}/__init__.py" in names
    assert "core/body/anny_body.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "avatar-studio = main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
