"""Binary FBX 7.4 encoding: a tree of nodes with typed properties, written as Autodesk's readers expect.

Knows nothing of meshes or bones (core/export_fbx.py builds the tree). The layout follows the
format as Blender's io_scene_fbx writes it, which the FBX SDK (Unity, Unreal, Maya), Blender
and assimp all read:
- header "Kaydara FBX Binary  \\0", 0x1A 0x00, uint32 version;
- node record: uint32 end offset (absolute), uint32 property count, uint32 property bytes,
  uint8 name length, name, properties, child records, then a 13-byte null record closing the
  children (also written for a childless, propertyless node unless it is its parent's last);
- properties: one type code and the value, little-endian. Python values map to codes so that a
  node tree reads like the ASCII format: bool C, int I (int32), `Int64` L, float D (float64),
  str S, bytes R, numpy arrays i/l/f/d (int32/int64/float32/float64, zlib-compressed from
  ARRAY_COMPRESS_BYTES on);
- footer: the fixed FileId / CreationTime / footer id triple Blender writes. The FBX SDK checks
  that these three agree; any file carrying exactly these values passes.
"""
from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from typing import Union

import numpy as np

FBX_VERSION = 7400
HEADER_MAGIC = b"Kaydara FBX Binary  \x00\x1a\x00"
NULL_RECORD = b"\x00" * 13  # end offset, property count, property bytes (uint32 each), name length (uint8)
NAME_CLASS_SEPARATOR = "\x00\x01"  # object names are "name\x00\x01Class" in binary files
# The FileId / CreationTime / footer id that belong together (see the module docstring).
FILE_ID = b"\x28\xb3\x2a\xeb\xb6\x24\xcc\xc2\xbf\xc8\xb0\x2a\xa9\x2b\xfc\xf1"
CREATION_TIME = "1970-01-01 10:00:00:000"
FOOTER_ID = b"\xfa\xbc\xab\x09\xd0\xc8\xd4\x66\xb1\x76\xfb\x83\x1c\xf7\x26\x7e"
FOOTER_MAGIC = b"\xf8\x5a\x8c\x6a\xde\xf5\xd9\x7e\xec\xe9\x0c\xe3\x75\x8f\x29\x0b"
ARRAY_COMPRESS_BYTES = 128
# Nodes that always close with a null record, even without children (as the SDK writes them).
ALWAYS_CLOSED = frozenset({"AnimationStack", "AnimationLayer"})

_ARRAY_CODES = {np.dtype("<i4"): b"i", np.dtype("<i8"): b"l", np.dtype("<f4"): b"f", np.dtype("<f8"): b"d"}


class Int64(int):
    """An int written as FBX type L (object ids, times); a plain int is written as I (int32)."""


Property = Union[bool, int, float, str, bytes, np.ndarray]


@dataclasses.dataclass
class Node:
    name: str
    props: list[Property] = dataclasses.field(default_factory=list)
    children: list["Node"] = dataclasses.field(default_factory=list)

    def add(self, name: str, *props: Property) -> "Node":
        """Append a child node and return it (for nesting)."""
        child = Node(name, list(props))
        self.children.append(child)
        return child


def name_class(name: str, cls: str) -> str:
    """An object's name property as binary FBX spells it ("body" + "Model" -> "body\\x00\\x01Model")."""
    return f"{name}{NAME_CLASS_SEPARATOR}{cls}"


def identity_nodes(creator: str) -> list[Node]:
    """FileId, CreationTime and Creator: the top-level nodes that go right after FBXHeaderExtension."""
    return [Node("FileId", [FILE_ID]), Node("CreationTime", [CREATION_TIME]), Node("Creator", [creator])]


def encode(nodes: list[Node]) -> bytes:
    """The complete file: header, the top-level nodes, their closing null record and the footer."""
    out = io.BytesIO()
    out.write(HEADER_MAGIC)
    out.write(struct.pack("<I", FBX_VERSION))
    for i, node in enumerate(nodes):
        _write_node(out, node, is_last=i == len(nodes) - 1)
    out.write(NULL_RECORD)
    _write_footer(out)
    return out.getvalue()


def _write_node(out: io.BytesIO, node: Node, is_last: bool) -> None:
    start = out.tell()
    props = b"".join(_encode_property(p) for p in node.props)
    name = node.name.encode("ascii")
    out.write(struct.pack("<IIIB", 0, len(node.props), len(props), len(name)))
    out.write(name)
    out.write(props)
    for i, child in enumerate(node.children):
        _write_node(out, child, is_last=i == len(node.children) - 1)
    if node.children or (not node.props and not is_last) or node.name in ALWAYS_CLOSED:
        out.write(NULL_RECORD)
    end = out.tell()
    out.seek(start)
    out.write(struct.pack("<I", end))
    out.seek(end)


def _encode_property(value: Property) -> bytes:
    if isinstance(value, bool):
        return b"C" + struct.pack("<?", value)
    if isinstance(value, Int64):
        return b"L" + struct.pack("<q", value)
    if isinstance(value, int):
        return b"I" + struct.pack("<i", value)
    if isinstance(value, float):
        return b"D" + struct.pack("<d", value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"S" + struct.pack("<I", len(data)) + data
    if isinstance(value, bytes):
        return b"R" + struct.pack("<I", len(value)) + value
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    raise TypeError(f"no FBX property type for {type(value).__name__}")


def _encode_array(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array.reshape(-1))
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    code = _ARRAY_CODES.get(np.dtype(dtype))
    if code is None:
        raise TypeError(f"no FBX array type for {array.dtype}")
    data = array.astype(dtype, copy=False).tobytes()
    encoding = 0
    if len(data) >= ARRAY_COMPRESS_BYTES:
        data, encoding = zlib.compress(data, 6), 1
    return code + struct.pack("<III", array.size, encoding, len(data)) + data


def _write_footer(out: io.BytesIO) -> None:
    out.write(FOOTER_ID)
    out.write(b"\x00" * 4)
    pad = 16 - out.tell() % 16  # align to 16; a full 16 bytes when already aligned
    out.write(b"\x00" * pad)
    out.write(struct.pack("<I", FBX_VERSION))
    out.write(b"\x00" * 120)
    out.write(FOOTER_MAGIC)
