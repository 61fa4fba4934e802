"""FBX export as other tools read it: assimp (Debian's assimp-utils) imports the file, and a small
reader written here from the format description checks what assimp does not report (units, axes,
record layout, animation curves)."""
import functools
import json
import math
import shutil
import struct
import subprocess
import zlib
from collections import namedtuple

import numpy as np
import pytest
import torch

from core.errors import AvatarStudioError
from core.export_fbx import export_fbx
from core.lbs import forward_kinematics
from core.motion import MotionClip
from core.pose import SMPLX_JOINT_INDEX, Pose
from core.rotations import quaternion_to_matrix

CM = 100.0

FbxNode = namedtuple("FbxNode", "name props children")


def assimp(*args):
    if shutil.which("assimp") is None:
        pytest.fail("assimp is missing: install Debian's assimp-utils (scripts/install.sh does)")
    result = subprocess.run(["assimp", *map(str, args)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def assimp_info(path):
    """`assimp info` as {key: value} for its 'Key: value' summary lines, plus the mesh table."""
    lines = assimp("info", path).splitlines()
    summary = {}
    for line in lines:
        if ":" in line and not line.startswith(" "):
            key, _, value = line.partition(":")
            summary.setdefault(key.strip(), value.strip())  # the first: later sections reuse names
    table = next(i for i, line in enumerate(lines) if line.startswith("Meshes:  (name)"))
    meshes = []
    for line in lines[table + 1:]:
        if not line.strip():
            break
        meshes.append(line.split("(", 1)[1].split(")", 1)[0])
    return summary, meshes


def assimp_bounds(path):
    """The scene's bounding box as `assimp info` prints it ("Minimum point   (x y z)"), in metres."""
    points = {}
    for line in assimp("info", path).splitlines():
        for key in ("Minimum point", "Maximum point"):
            if line.startswith(key):
                points[key] = np.array([float(v) for v in line[len(key):].strip().strip("()").split()]) / CM
    return points["Minimum point"], points["Maximum point"]


@functools.lru_cache(maxsize=8)
def assimp_json(path):
    out = path.with_suffix(".assimp.json")
    assimp("export", path, out)
    return json.loads(out.read_text())


def read_fbx(path):
    """Top-level nodes of a binary FBX 7.x file; asserts the record layout is consistent."""
    data = path.read_bytes()
    assert data[:23] == b"Kaydara FBX Binary  \x00\x1a\x00"
    assert struct.unpack_from("<I", data, 23)[0] == 7400

    def record(offset):
        end, count, length, name_length = struct.unpack_from("<IIIB", data, offset)
        if end == 0:
            return None, offset + 13
        pos = offset + 13 + name_length
        name = data[offset + 13:pos].decode()
        props = []
        for _ in range(count):
            code = chr(data[pos])
            pos += 1
            if code in "CYILFD":
                fmt = "<" + {"C": "?", "Y": "h", "I": "i", "L": "q", "F": "f", "D": "d"}[code]
                props.append(struct.unpack_from(fmt, data, pos)[0])
                pos += struct.calcsize(fmt)
            elif code in "SR":
                n = struct.unpack_from("<I", data, pos)[0]
                raw = data[pos + 4:pos + 4 + n]
                props.append(raw.decode() if code == "S" else raw)
                pos += 4 + n
            else:
                n, encoding, size = struct.unpack_from("<III", data, pos)
                raw = data[pos + 12:pos + 12 + size]
                array = np.frombuffer(zlib.decompress(raw) if encoding else raw,
                                      dtype={"i": "<i4", "l": "<i8", "f": "<f4", "d": "<f8", "b": "?"}[code])
                assert array.size == n
                props.append(array)
                pos += 12 + size
        assert pos == offset + 13 + name_length + length, f"{name}: property bytes disagree"
        children = []
        while pos < end:
            child, pos = record(pos)
            if child is not None:
                children.append(child)
        assert pos == end, f"{name}: end offset disagrees"
        return FbxNode(name, props, children), end

    nodes, pos = [], 27
    while True:
        node, pos = record(pos)
        if node is None:
            break
        nodes.append(node)
    assert data[pos:pos + 16] == b"\xfa\xbc\xab\x09\xd0\xc8\xd4\x66\xb1\x76\xfb\x83\x1c\xf7\x26\x7e", "footer id"
    return nodes


def child(node, name):
    return next(c for c in node.children if c.name == name)


def properties70(node):
    return {p.props[0]: p.props[4:] for p in child(node, "Properties70").children}


def node_tree(data):
    """{node name: (parent name, 4x4 local transform)} from assimp's JSON."""
    nodes = {}

    def walk(node, parent):
        nodes[node["name"]] = (parent, np.array(node["transformation"]).reshape(4, 4))
        for c in node.get("children", []):
            walk(c, node["name"])

    walk(data["rootnode"], None)
    return nodes


def world_transforms(nodes):
    def world(name):
        parent, local = nodes[name]
        return local if parent is None else world(parent) @ local

    return {name: world(name) for name in nodes}


@pytest.fixture(scope="module")
def clip():
    """Half a second at 24 fps: a full turn about Y (through Euler gimbal lock), an elbow bend, a step."""
    n = 12
    poses = torch.zeros(n, 55, 3)
    poses[:, 0, 1] = torch.linspace(0, math.radians(330), n)
    poses[:, SMPLX_JOINT_INDEX["left_elbow"], 1] = -torch.linspace(0, 1.5, n)
    poses[:, SMPLX_JOINT_INDEX["right_shoulder"]] = torch.tensor([0.3, 0.2, 1.1])
    translation = torch.zeros(n, 3)
    translation[:, 2] = torch.linspace(0, 0.5, n)
    return MotionClip(poses, translation, fps=24.0, name="tiny")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, avatar, clip):
    out = tmp_path_factory.mktemp("fbx")
    static = export_fbx(out / "static.fbx", avatar)
    animated = export_fbx(out / "animated.fbx", avatar, clip=clip)
    return static, animated


def present_layers(avatar):
    return [name for name, count in avatar.gaussians.layer_counts().items() if count > 0]


def test_assimp_imports_every_present_layer_as_a_textured_mesh(exported, avatar):
    static, _ = exported
    summary, meshes = assimp_info(static.path)
    layers = present_layers(avatar)
    assert meshes == layers == static.meshes
    assert int(summary["Meshes"]) == int(summary["Materials"]) == int(summary["Textures (embed.)"]) == len(layers)
    data = assimp_json(static.path)
    assert len(data["textures"]) == len(layers)
    for mesh in data["meshes"]:
        assert mesh["numuvcomponents"] == [2] and len(mesh["texturecoords"]) == 1, mesh["name"]
        uv = np.array(mesh["texturecoords"][0])
        assert uv.min() >= 0 and uv.max() <= 1
    for material in data["materials"]:
        embedded = [p["value"] for p in material["properties"] if p["key"] == "$raw.DiffuseColor|file"]
        assert embedded and embedded[0].startswith("*"), "the diffuse texture should be the embedded one"


def test_skeleton_is_the_whole_rig_with_its_names_hierarchy_and_skin(exported, avatar):
    static, _ = exported
    rest = avatar.rest
    data = assimp_json(static.path)
    nodes = node_tree(data)
    bones = [name for name in nodes if name in rest.bone_names]
    assert len(bones) == len(rest.bone_names) == static.bones == 104
    for j, name in enumerate(rest.bone_names):
        parent = int(rest.parents[j])
        assert nodes[name][0] == (rest.bone_names[parent] if parent >= 0 else "Armature"), name
    for mesh in data["meshes"]:
        weights = np.zeros(len(mesh["vertices"]) // 3)
        for bone in mesh["bones"]:
            assert bone["name"] in rest.bone_names
            for vertex, weight in bone["weights"]:
                weights[vertex] += weight
            j = rest.bone_names.index(bone["name"])
            inverse_bind = np.array(bone["offsetmatrix"]).reshape(4, 4)
            assert np.allclose(inverse_bind[:3, 3], -rest.joints[j].numpy() * CM, atol=1e-3)
            assert np.allclose(inverse_bind[:3, :3], np.eye(3), atol=1e-6)
        assert np.allclose(weights, 1.0, atol=1e-4), f"{mesh['name']}: skin weights should sum to 1"


def test_a_person_in_metres_standing_up_y_facing_z(exported, avatar):
    static, _ = exported
    lo, hi = assimp_bounds(static.path)
    height = hi[1] - lo[1]
    assert 1.55 < height < 1.75 and abs(height - avatar.rest.height) < 0.02
    assert abs(lo[1]) < 0.015, "feet on the floor"
    assert hi[0] - lo[0] > 1.4, "arms out along X (T-pose)"
    settings = properties70(next(n for n in read_fbx(static.path) if n.name == "GlobalSettings"))
    assert settings["UnitScaleFactor"] == [1.0], "lengths are declared in centimetres"
    assert [settings[k][0] for k in ("UpAxis", "UpAxisSign", "FrontAxis", "FrontAxisSign", "CoordAxis",
                                     "CoordAxisSign")] == [1, 1, 2, 1, 0, 1]
    shoes = next(m for m in assimp_json(static.path)["meshes"] if m["name"] == "shoes")
    z = np.array(shoes["vertices"]).reshape(-1, 3)[:, 2] / CM
    assert z.max() > 2 * -z.min(), "toes point along +Z: the avatar faces +Z"


def test_animation_plays_the_clip(exported, avatar, clip):
    _, animated = exported
    summary, _ = assimp_info(animated.path)
    assert summary["Animations"] == "1"
    animation = assimp_json(animated.path)["animations"][0]
    assert animation["duration"] / animation["tickspersecond"] == pytest.approx(clip.duration, abs=1e-6)
    assert animated.duration == pytest.approx(clip.duration)
    channels = {c["name"]: c for c in animation["channels"]}
    assert set(channels) == set(avatar.rest.bone_names)
    scale = avatar.rest.translation_scale
    for k in (0, 5, clip.num_frames - 1):
        pose = clip.frame(k, scale)
        local = avatar.body.bone_rotations(pose)
        for j, name in enumerate(avatar.rest.bone_names):
            time, q = channels[name]["rotationkeys"][k]
            assert time / animation["tickspersecond"] == pytest.approx(k / clip.fps, abs=1e-6)
            rotation = quaternion_to_matrix(torch.tensor(q, dtype=torch.float64)).numpy()
            assert np.allclose(rotation, local[j].numpy(), atol=1e-4), name
        _, root = channels[avatar.rest.bone_names[0]]["positionkeys"][k]
        expected = (avatar.rest.joints[0] + pose.translation).numpy() * CM
        assert np.allclose(root, expected, atol=1e-3)


def test_bones_stand_where_forward_kinematics_puts_them(exported, avatar, clip):
    """Without evaluating the animation, nodes hold the first frame: their chained transforms must
    equal our forward kinematics (checks Euler order, units and the hierarchy in one go)."""
    _, animated = exported
    world = world_transforms(node_tree(assimp_json(animated.path)))
    pose = clip.frame(0, avatar.rest.translation_scale)
    expected, _ = forward_kinematics(avatar.body.bone_rotations(pose), avatar.rest.joints, avatar.rest.parents,
                                     pose.translation)
    for j, name in enumerate(avatar.rest.bone_names):
        assert np.allclose(world[name][:3, :3], expected[j, :3, :3].numpy(), atol=1e-5), name
        assert np.allclose(world[name][:3, 3] / CM, expected[j, :3, 3].numpy(), atol=1e-5), name


def test_curves_are_continuous_through_a_full_turn(exported, clip):
    _, animated = exported
    objects = next(n for n in read_fbx(animated.path) if n.name == "Objects")
    curves = [child(n, "KeyValueFloat").props[0] for n in objects.children if n.name == "AnimationCurve"]
    assert len(curves) == 3 * 104 + 3
    assert all(len(c) == clip.num_frames for c in curves)
    steps = max(float(np.abs(np.diff(c)).max()) for c in curves)
    assert steps < 31, "a key jumped: Euler angles (degrees) must follow the nearest solution"


def test_layer_selection_and_missing_layers(tmp_path, avatar):
    done = export_fbx(tmp_path / "two.fbx", avatar, layers=("shoes", "hair"), pose=Pose.preset("a"))
    _, meshes = assimp_info(done.path)
    assert meshes == ["hair", "shoes"]
    bald = type(avatar)(avatar.body, avatar.rest, avatar.templates, avatar.gaussians.layer("body", "top"))
    with pytest.raises(AvatarStudioError, match="hair"):
        export_fbx(tmp_path / "bald.fbx", bald, layers=("hair",))
    assert not (tmp_path / "bald.fbx").exists()


def test_smplx_rig_exports_its_55_named_joints(tmp_path):
    from core.body import load_body
    from core.default_avatar import default_avatar
    from core.pose import SMPLX_JOINT_NAMES
    from tests.smplx_fixture import write_synthetic_smplx

    avatar = default_avatar(load_body("smplx", write_synthetic_smplx(tmp_path / "model")), seed=1)
    done = export_fbx(tmp_path / "smplx.fbx", avatar, layers=("top",))
    nodes = node_tree(assimp_json(done.path))
    assert sorted(name for name in nodes if name in SMPLX_JOINT_NAMES) == sorted(SMPLX_JOINT_NAMES)
    assert done.meshes == ["top"] and done.bones == 55
