"""The 3DGS PLY layout (Kerbl et al. 2023), the one place it is written and read.

On disk values are raw: log scales, logit opacity, f_dc = (rgb - 0.5) / SH_C0, properties in the
order ``x y z nx ny nz f_dc_0..2 [f_rest_*] opacity scale_0..2 rot_0..3``, float32 little-endian.
The reader accepts any binary or ASCII PLY with at least those core properties, in any order.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from core.atomic import atomic_write
from core.errors import AvatarStudioError
from core.gaussians import LayeredGaussians

SH_C0 = 0.28209479177387814
SH_REST_COUNT = {0: 0, 1: 9, 2: 24, 3: 45}

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def property_names(sh_degree: int = 0) -> list[str]:
    if sh_degree not in SH_REST_COUNT:
        raise AvatarStudioError(f"SH degree must be 0..3, got {sh_degree}")
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + [f"f_rest_{i}" for i in range(SH_REST_COUNT[sh_degree])]
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def write_ply(path: str | os.PathLike, gaussians: LayeredGaussians, sh_degree: int = 0) -> None:
    """Write Gaussians as a standard 3DGS PLY; degree > 0 pads f_rest with zeros for viewers that need it."""
    names = property_names(sh_degree)
    n = len(gaussians)
    data = np.zeros(n, dtype=[(name, "<f4") for name in names])
    means = gaussians.means.detach().cpu().numpy()
    data["x"], data["y"], data["z"] = means.T
    f_dc = (gaussians.colors.detach().cpu().numpy() - 0.5) / SH_C0
    for i in range(3):
        data[f"f_dc_{i}"] = f_dc[:, i]
    opacity = gaussians.opacities.detach().cpu().double().clamp(1e-6, 1 - 1e-6)
    data["opacity"] = torch.logit(opacity).numpy()
    log_scale = torch.log(gaussians.scales.detach().cpu().clamp_min(1e-12)).numpy()
    quats = gaussians.quats.detach().cpu()
    quats = (quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)).numpy()
    for i in range(3):
        data[f"scale_{i}"] = log_scale[:, i]
    for i in range(4):
        data[f"rot_{i}"] = quats[:, i]
    header = "ply\nformat binary_little_endian 1.0\n"
    header += "comment written by avatar-studio\n"
    header += f"element vertex {n}\n" + "".join(f"property float {name}\n" for name in names) + "end_header\n"
    with atomic_write(path) as f:
        f.write(header.encode("ascii"))
        f.write(data.tobytes())


def read_ply(path: str | os.PathLike) -> LayeredGaussians:
    """Read a 3DGS PLY (ours or anyone's) into an unskinned container.

    Raises AvatarStudioError naming the file and the problem for anything that is not one.
    """
    path = Path(path)
    if not path.is_file():
        raise AvatarStudioError(f"{path}: no such file")
    fmt, count, props, body_offset = _read_header(path)
    required = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
                "rot_0", "rot_1", "rot_2", "rot_3"]
    missing = [name for name in required if name not in dict(props)]
    if missing:
        raise AvatarStudioError(f"{path}: not a 3DGS PLY, missing properties {', '.join(missing)}")
    vertex = _read_body(path, fmt, count, props, body_offset)

    def column(*names: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([vertex[name].astype(np.float32) for name in names], axis=1))

    means = column("x", "y", "z")
    colors = (0.5 + SH_C0 * column("f_dc_0", "f_dc_1", "f_dc_2")).clamp(0.0, 1.0)
    opacities = torch.sigmoid(column("opacity")[:, 0])
    scales = torch.exp(column("scale_0", "scale_1", "scale_2"))
    quats = column("rot_0", "rot_1", "rot_2", "rot_3")
    norms = quats.norm(dim=-1, keepdim=True)
    quats = torch.where(norms > 1e-12, quats / norms.clamp_min(1e-12), torch.tensor([1.0, 0, 0, 0]))
    values = torch.cat([means, colors, opacities[:, None], scales, quats], dim=1)
    if not torch.isfinite(values).all():
        raise AvatarStudioError(f"{path}: contains NaN or infinite values")
    return LayeredGaussians.unskinned(means, quats, scales, opacities, colors)


def _read_header(path: Path) -> tuple[str, int, list[tuple[str, str]], int]:
    """(format, vertex count, vertex properties as (name, numpy kind), byte offset of the body)."""
    with open(path, "rb") as f:
        if f.readline().strip() != b"ply":
            raise AvatarStudioError(f"{path}: not a PLY file (no 'ply' magic)")
        fmt = None
        elements: list[tuple[str, int, list[tuple[str, str]]]] = []
        while True:
            raw = f.readline()
            if not raw:
                raise AvatarStudioError(f"{path}: truncated PLY header (no end_header)")
            words = raw.decode("ascii", errors="replace").split()
            if not words or words[0] in ("comment", "obj_info"):
                continue
            if words[0] == "end_header":
                break
            if words[0] == "format" and len(words) >= 2:
                fmt = words[1]
            elif words[0] == "element" and len(words) == 3:
                elements.append((words[1], _parse_count(path, words[2]), []))
            elif words[0] == "property" and elements:
                if words[1] == "list":
                    elements[-1][2].append((words[-1], "list"))
                elif len(words) == 3 and words[1] in _PLY_TYPES:
                    elements[-1][2].append((words[2], _PLY_TYPES[words[1]]))
                else:
                    raise AvatarStudioError(f"{path}: unsupported PLY property line {raw.strip()!r}")
        if fmt not in ("binary_little_endian", "binary_big_endian", "ascii"):
            raise AvatarStudioError(f"{path}: unsupported PLY format {fmt!r}")
        body_offset = f.tell()
    if not elements or elements[0][0] != "vertex":
        raise AvatarStudioError(f"{path}: PLY has no leading vertex element")
    _, count, props = elements[0]
    if any(kind == "list" for _, kind in props):
        raise AvatarStudioError(f"{path}: vertex element has list properties, not a 3DGS PLY")
    return fmt, count, props, body_offset


def _read_body(path: Path, fmt: str, count: int, props: list[tuple[str, str]], body_offset: int) -> dict[str, np.ndarray]:
    if fmt == "ascii":
        try:
            table = np.loadtxt(path, dtype=np.float64, max_rows=count, ndmin=2,
                               **_ascii_skip(path, body_offset))
        except ValueError as e:
            raise AvatarStudioError(f"{path}: bad ASCII PLY body ({e})") from None
        table = table.reshape(count, len(props)) if count else np.zeros((0, len(props)))
        if table.shape[0] != count:
            raise AvatarStudioError(f"{path}: truncated, {table.shape[0]} of {count} vertices")
        return {name: table[:, i] for i, (name, _) in enumerate(props)}
    endian = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(name, endian + kind) for name, kind in props])
    expected = count * dtype.itemsize
    size = path.stat().st_size - body_offset
    if size < expected:
        raise AvatarStudioError(f"{path}: truncated, {size} of {expected} bytes of vertex data")
    data = np.fromfile(path, dtype=dtype, count=count, offset=body_offset)
    return {name: data[name] for name, _ in props}


def _parse_count(path: Path, word: str) -> int:
    try:
        count = int(word)
    except ValueError:
        raise AvatarStudioError(f"{path}: bad element count {word!r}") from None
    if count < 0:
        raise AvatarStudioError(f"{path}: negative element count {count}")
    return count


def _ascii_skip(path: Path, body_offset: int) -> dict:
    with open(path, "rb") as f:
        header_lines = f.read(body_offset).count(b"\n")
    return {"skiprows": header_lines}
