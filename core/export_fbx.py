"""Rigged, skinned, textured FBX of an avatar, optionally animated by a motion clip.

The scene, as Blender, Unity and Unreal expect a character:

    Null "Armature"                        the armature object in Blender
      LimbNode bones (BodyRest.bone_names)  rest offsets from their parents, no rotation at bind
      Mesh per present layer               body, top, bottom, hair, shoes (core.layer_mesh)
    Material + Texture + Video per mesh     the layer's colour texture, embedded as PNG
    Skin + one Cluster per bone that moves a mesh's vertices; one BindPose (the T-pose)
    AnimationStack / Layer / CurveNodes / Curves when a clip is given: every bone's rotation and the
    root's translation, one linear key per clip frame at the clip's rate

Units and axes: FBX's native centimetres (GlobalSettings UnitScaleFactor = 1), every length written
as metres x 100, the convention of Maya, Mixamo and the FBX SDK. Unity ("Convert Units", on by
default) scales the file by 0.01 and Blender's importer applies UnitScaleFactor / 100 (a 0.01 scale
on the armature object), so both show a 1.7 m person as 1.7 m; Unreal, whose unit is the centimetre,
takes it as it is. Axes are the studio's own, declared as FBX's default Y-up frame (UpAxis Y,
FrontAxis Z, CoordAxis X, all positive, right-handed): the avatar stands up +Y and faces +Z, which
Blender turns into Z up facing -Y (its front view) and Unity into Y up facing +Z (its forward).

Bones: the body's joint frames are world-aligned at rest (docs/design-notes.md), so every bone's
bind matrix is a pure translation (its rest joint) and its local rotation is exactly what
`BodyModel.bone_rotations` returns, written as FBX's default Euler order XYZ in degrees.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from core.attribute_maps import Maps
from core.avatar import Avatar
from core.errors import AvatarStudioError
from core.export import check_output, save_bytes
from core.fbx_binary import Int64, Node, encode, identity_nodes, name_class
from core.gaussians import LAYER_NAMES
from core.layer_mesh import LayerMesh, layer_meshes, png_bytes
from core.motion import MotionClip
from core.pose import Pose
from core.rotations import euler_near, matrix_to_euler

CM_PER_M = 100.0  # lengths are written in centimetres (UnitScaleFactor 1)
KTIME_PER_SECOND = 46186158000  # FBX time unit
EULER_ORDER = "xyz"  # FBX RotationOrder 0 (eEulerXYZ): x applied first, R = Rz Ry Rx
# FBX TimeMode values of the frame rates FBX names; any other rate is "custom" (14) + CustomFrameRate.
TIME_MODES = {120.0: 1, 100.0: 2, 60.0: 3, 50.0: 4, 48.0: 5, 30.0: 6, 25.0: 10, 24.0: 11, 1000.0: 12,
              96.0: 15, 72.0: 16}
TIME_MODE_CUSTOM = 14
# Key attributes of every curve key (FbxAnimCurveDef): linear interpolation | auto tangent |
# generic time-independent | clamp progressive, with the default weights; as Blender writes them.
KEY_FLAGS_LINEAR = (1 << 2) | (1 << 8) | (1 << 13) | (1 << 14)
KEY_DATA = np.array([0.0, 0.0, 9.419963346924634e-30, 0.0], dtype=np.float32)
CREATOR = "avatar-studio FBX exporter"
# The Null above the root bone, named as Blender names armature objects: characters made in Blender
# carry the same node, so pipelines that take those take ours.
ARMATURE_NAME = "Armature"

# Properties70 entry kinds: (type, label, flags) as the FBX SDK names them.
_P_KINDS = {
    "int": ("int", "Integer", ""), "enum": ("enum", "", ""), "bool": ("bool", "", ""),
    "double": ("double", "Number", ""), "number": ("Number", "", "A"), "color": ("Color", "", "A"),
    "color_rgb": ("ColorRGB", "Color", ""), "translation": ("Lcl Translation", "", "A"),
    "rotation": ("Lcl Rotation", "", "A"), "scaling": ("Lcl Scaling", "", "A"),
    "string": ("KString", "", ""), "url": ("KString", "Url", ""), "xref": ("KString", "XRefUrl", ""),
    "time": ("KTime", "Time", ""), "object": ("object", "", ""), "datetime": ("DateTime", "", ""),
}


@dataclasses.dataclass
class FbxSummary:
    """What was written, for the user's one-line report."""

    path: Path
    meshes: list[str]
    bones: int
    frames: int  # 0 without animation
    fps: float
    bytes: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.frames else 0.0


def export_fbx(path: str | os.PathLike, avatar: Avatar, layers: tuple[str, ...] = LAYER_NAMES,
               clip: MotionClip | None = None, pose: Pose | None = None, maps: Maps | None = None) -> FbxSummary:
    """Write `avatar` as a binary FBX 7.4 file (atomically; one-line AvatarStudioError on failure).

    layers: which layers become meshes (those absent on the avatar are skipped; the body is complete).
    clip: animate the rig with it, one key per frame; the file's take lasts `clip.duration`.
    pose: without a clip, the pose the rig stands in (the bind pose stays the T-pose).
    maps: the avatar's attribute maps, for textures straight from them (core.layer_mesh).
    """
    path = check_output(path, "fbx")
    meshes = layer_meshes(avatar, layers, maps)
    if not meshes:
        raise AvatarStudioError(f"{path}: none of the layers {', '.join(layers)} is present on this avatar")
    poses = _clip_poses(clip, avatar) if clip is not None else [pose or Pose.zero()]
    data = encode(_document(path.stem, avatar, meshes, _rig_frames(avatar, poses), clip))
    save_bytes(path, data)
    return FbxSummary(path, [m.name for m in meshes], len(avatar.rest.bone_names),
                      clip.num_frames if clip is not None else 0, clip.fps if clip is not None else 0.0, len(data))


@dataclasses.dataclass
class _RigFrames:
    """Bone values per frame as FBX stores them: Lcl Rotation in degrees, the root's Lcl Translation in cm."""

    rotations: np.ndarray  # (N, J, 3) Euler XYZ degrees, continuous from frame to frame
    root_translation: np.ndarray  # (N, 3)


def _clip_poses(clip: MotionClip, avatar: Avatar) -> list[Pose]:
    scale = avatar.rest.translation_scale
    return [clip.frame(k, scale) for k in range(clip.num_frames)]


def _rig_frames(avatar: Avatar, poses: list[Pose]) -> _RigFrames:
    with torch.no_grad():
        local = torch.stack([avatar.body.bone_rotations(p) for p in poses]).double()
    euler = matrix_to_euler(local, EULER_ORDER)
    for k in range(1, euler.shape[0]):
        euler[k] = euler_near(euler[k], euler[k - 1], EULER_ORDER)
    root = avatar.rest.joints[0].double() + torch.stack([p.translation.double() for p in poses])
    return _RigFrames(np.degrees(euler.numpy()), root.numpy() * CM_PER_M)


class _Objects:
    """The Objects section under construction: ids, object nodes and the connections between them."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.connections: list[Node] = []
        self._next_id = 1_000_000

    def add(self, kind: str, name: str, cls: str, subclass: str) -> tuple[Int64, Node]:
        """A new object node `kind: id, "name\\0\\1cls", "subclass"` and its id."""
        self._next_id += 1
        uid = Int64(self._next_id)
        node = Node(kind, [uid, name_class(name, cls), subclass])
        self.nodes.append(node)
        return uid, node

    def connect(self, child: int, parent: int, prop: str | None = None) -> None:
        """OO: child object belongs to parent (0 = the scene root); OP: child drives parent's property."""
        if prop is None:
            self.connections.append(Node("C", ["OO", Int64(child), Int64(parent)]))
        else:
            self.connections.append(Node("C", ["OP", Int64(child), Int64(parent), prop]))


def _properties(node: Node, *entries: tuple) -> None:
    """A Properties70 child: entries (kind, name, *values) with kind from _P_KINDS."""
    p70 = node.add("Properties70")
    for kind, name, *values in entries:
        p70.add("P", name, *_P_KINDS[kind], *values)


def _document(stem: str, avatar: Avatar, meshes: list[LayerMesh], frames: _RigFrames,
              clip: MotionClip | None) -> list[Node]:
    """The file's top-level nodes, in the order the FBX SDK and Blender write them."""
    objects = _Objects()
    armature = _armature(objects, ARMATURE_NAME)
    bones = _skeleton(objects, avatar, armature, frames)
    bind_pose = [(armature, np.eye(4))]
    for mesh in meshes:
        model, geometry = _mesh(objects, stem, mesh, armature)
        _skin(objects, mesh, geometry, avatar, bones)
        bind_pose.append((model, np.eye(4)))
    joints = avatar.rest.joints.double().numpy() * CM_PER_M
    bind_pose += [(bone, _translation(joints[j])) for j, bone in enumerate(bones)]
    _bind_pose(objects, stem, bind_pose)
    take, span, fps = None, (0, 0), 30.0
    if clip is not None:
        take, span, fps = clip.name or "motion", (0, _ktime(clip.duration)), clip.fps
        _animation(objects, take, span, bones, frames, fps)
    return ([_header_extension()] + identity_nodes(CREATOR)
            + [_global_settings(fps, span), _documents(take), Node("References"), _definitions(objects.nodes),
               Node("Objects", children=objects.nodes), Node("Connections", children=objects.connections),
               _takes(take, span)])


def _armature(objects: _Objects, name: str) -> Int64:
    uid, model = objects.add("Model", name, "Model", "Null")
    _model_fields(model, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    attribute, node = objects.add("NodeAttribute", name, "NodeAttribute", "Null")
    node.add("TypeFlags", "Null")
    objects.connect(attribute, uid)
    objects.connect(uid, 0)
    return uid


def _skeleton(objects: _Objects, avatar: Avatar, armature: Int64, frames: _RigFrames) -> list[Int64]:
    """One LimbNode per bone, standing in the first frame's pose; bones come parents first."""
    rest = avatar.rest
    joints = rest.joints.double().numpy() * CM_PER_M
    bones: list[Int64] = []
    for j, bone_name in enumerate(rest.bone_names):
        parent = int(rest.parents[j])
        translation = frames.root_translation[0] if parent < 0 else joints[j] - joints[parent]
        uid, model = objects.add("Model", bone_name, "Model", "LimbNode")
        _model_fields(model, tuple(translation), tuple(frames.rotations[0, j]))
        attribute, node = objects.add("NodeAttribute", bone_name, "NodeAttribute", "LimbNode")
        node.add("TypeFlags", "Skeleton")
        objects.connect(attribute, uid)
        objects.connect(uid, armature if parent < 0 else bones[parent])
        bones.append(uid)
    return bones


def _model_fields(model: Node, translation: tuple, rotation: tuple) -> None:
    """What every Model carries: its local transform (cm, Euler XYZ degrees) and the usual flags."""
    model.add("Version", 232)
    _properties(model,
                ("translation", "Lcl Translation", *map(float, translation)),
                ("rotation", "Lcl Rotation", *map(float, rotation)),
                ("scaling", "Lcl Scaling", 1.0, 1.0, 1.0),
                ("int", "DefaultAttributeIndex", 0),
                ("enum", "InheritType", 1))
    model.add("MultiLayer", 0)
    model.add("MultiTake", 0)
    model.add("Shading", True)
    model.add("Culling", "CullingOff")


def _mesh(objects: _Objects, stem: str, mesh: LayerMesh, armature: Int64) -> tuple[Int64, Int64]:
    """Geometry, Model, Material, Texture and Video of one layer; returns the Model's and Geometry's ids."""
    geometry = _geometry(objects, mesh)
    model, node = objects.add("Model", mesh.name, "Model", "Mesh")
    _model_fields(node, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    objects.connect(geometry, model)
    objects.connect(model, armature)
    objects.connect(_material(objects, stem, mesh), model)
    return model, geometry


def _geometry(objects: _Objects, mesh: LayerMesh) -> Int64:
    """Triangles in cm with per-corner normals, one UV set and one material for all faces."""
    geometry, node = objects.add("Geometry", mesh.name, "Geometry", "Mesh")
    node.add("GeometryVersion", 124)
    faces = mesh.faces.numpy().astype(np.int32)
    polygon_index = faces.copy()
    polygon_index[:, 2] ^= -1  # the last corner of each polygon is stored as -(index + 1)
    node.add("Vertices", mesh.vertices.double().numpy() * CM_PER_M)
    node.add("PolygonVertexIndex", polygon_index)
    normals = node.add("LayerElementNormal", 0)
    normals.add("Version", 101)
    normals.add("Name", "")
    normals.add("MappingInformationType", "ByPolygonVertex")
    normals.add("ReferenceInformationType", "Direct")
    normals.add("Normals", mesh.normals.double().numpy()[faces])
    uv = node.add("LayerElementUV", 0)
    uv.add("Version", 101)
    uv.add("Name", "UVMap")
    uv.add("MappingInformationType", "ByPolygonVertex")
    uv.add("ReferenceInformationType", "IndexToDirect")
    uv.add("UV", mesh.uvs.double().numpy())
    uv.add("UVIndex", mesh.face_uvs.numpy().astype(np.int32))
    material_layer = node.add("LayerElementMaterial", 0)
    material_layer.add("Version", 101)
    material_layer.add("Name", "")
    material_layer.add("MappingInformationType", "AllSame")
    material_layer.add("ReferenceInformationType", "IndexToDirect")
    material_layer.add("Materials", np.zeros(1, dtype=np.int32))
    layer = node.add("Layer", 0)
    layer.add("Version", 100)
    for element in ("LayerElementNormal", "LayerElementUV", "LayerElementMaterial"):
        entry = layer.add("LayerElement")
        entry.add("Type", element)
        entry.add("TypedIndex", 0)
    return geometry


def _material(objects: _Objects, stem: str, mesh: LayerMesh) -> Int64:
    """A Lambert material whose diffuse colour is the layer's texture (white factor: the texture as is)."""
    material, node = objects.add("Material", mesh.name, "Material", "")
    node.add("Version", 102)
    node.add("ShadingModel", "lambert")
    node.add("MultiLayer", 0)
    _properties(node,
                ("string", "ShadingModel", "lambert"),
                ("color", "DiffuseColor", 1.0, 1.0, 1.0),
                ("number", "DiffuseFactor", 1.0),
                ("color", "AmbientColor", 0.0, 0.0, 0.0),
                ("color", "EmissiveColor", 0.0, 0.0, 0.0),
                ("number", "EmissiveFactor", 0.0))
    file_name = f"{stem}_{mesh.name}.png"
    texture, node = objects.add("Texture", mesh.name, "Texture", "")
    node.add("Type", "TextureVideoClip")
    node.add("Version", 202)
    node.add("TextureName", name_class(mesh.name, "Texture"))
    _properties(node, ("bool", "UseMaterial", 1))
    node.add("Media", name_class(mesh.name, "Video"))
    node.add("FileName", file_name)
    node.add("RelativeFilename", file_name)
    node.add("ModelUVTranslation", 0.0, 0.0)
    node.add("ModelUVScaling", 1.0, 1.0)
    node.add("Texture_Alpha_Source", "None")
    node.add("Cropping", 0, 0, 0, 0)
    video, node = objects.add("Video", mesh.name, "Video", "Clip")
    node.add("Type", "Clip")
    _properties(node, ("xref", "Path", file_name))
    node.add("UseMipMap", 0)
    node.add("Filename", file_name)
    node.add("RelativeFilename", file_name)
    node.add("Content", png_bytes(mesh.texture))
    objects.connect(video, texture)
    objects.connect(texture, material, "DiffuseColor")
    return material


def _skin(objects: _Objects, mesh: LayerMesh, geometry: Int64, avatar: Avatar, bones: list[Int64]) -> None:
    """A Skin deformer on the mesh's geometry with one Cluster per bone that weighs on its vertices."""
    skin, node = objects.add("Deformer", mesh.name, "Deformer", "Skin")
    node.add("Version", 101)
    node.add("Link_DeformAcuracy", 50.0)
    objects.connect(skin, geometry)
    n_bones = len(bones)
    dense = torch.zeros(mesh.vertices.shape[0], n_bones, dtype=torch.float64)
    dense.scatter_add_(1, mesh.skin_indices, mesh.skin_weights.double())
    joints = avatar.rest.joints.double().numpy() * CM_PER_M
    for j in torch.nonzero(dense.sum(0) > 0)[:, 0].tolist():
        vertices = torch.nonzero(dense[:, j] > 0)[:, 0]
        cluster, node = objects.add("Deformer", avatar.rest.bone_names[j], "SubDeformer", "Cluster")
        node.add("Version", 100)
        node.add("UserData", "", "")
        node.add("Indexes", vertices.numpy().astype(np.int32))
        node.add("Weights", dense[vertices, j].numpy())
        node.add("Transform", _column_major(_translation(-joints[j])))  # mesh -> bone space at bind
        node.add("TransformLink", _column_major(_translation(joints[j])))  # the bone's bind matrix
        objects.connect(cluster, skin)
        objects.connect(bones[j], cluster)


def _bind_pose(objects: _Objects, stem: str, entries: list[tuple[Int64, np.ndarray]]) -> None:
    _, node = objects.add("Pose", stem, "Pose", "BindPose")
    node.add("Type", "BindPose")
    node.add("Version", 100)
    node.add("NbPoseNodes", len(entries))
    for uid, matrix in entries:
        pose_node = node.add("PoseNode")
        pose_node.add("Node", uid)
        pose_node.add("Matrix", _column_major(matrix))


def _animation(objects: _Objects, take: str, span: tuple[int, int], bones: list[Int64], frames: _RigFrames,
               fps: float) -> None:
    """One stack and layer; per bone an R curve node (and T on the root) with a linear curve per axis.

    The take spans the clip's duration, N frames of 1 / fps each (MotionClip.duration): the last key
    holds for one frame, as in a video of the clip.
    """
    stack, node = objects.add("AnimationStack", take, "AnimStack", "")
    start, stop = Int64(span[0]), Int64(span[1])
    _properties(node, ("time", "LocalStart", start), ("time", "LocalStop", stop),
                ("time", "ReferenceStart", start), ("time", "ReferenceStop", stop))
    layer, _ = objects.add("AnimationLayer", "BaseLayer", "AnimLayer", "")
    objects.connect(layer, stack)
    times = np.array([_ktime(k / fps) for k in range(frames.rotations.shape[0])], dtype=np.int64)
    for j, bone in enumerate(bones):
        channels = [("R", "Lcl Rotation", frames.rotations[:, j])]
        if j == 0:
            channels.append(("T", "Lcl Translation", frames.root_translation))
        for short, prop, values in channels:
            curve_node, node = objects.add("AnimationCurveNode", short, "AnimCurveNode", "")
            _properties(node, *[("number", f"d|{axis}", float(values[0, a])) for a, axis in enumerate("XYZ")])
            objects.connect(curve_node, layer)
            objects.connect(curve_node, bone, prop)
            for a, axis in enumerate("XYZ"):
                curve = _curve(objects, times, values[:, a])
                objects.connect(curve, curve_node, f"d|{axis}")


def _curve(objects: _Objects, times: np.ndarray, values: np.ndarray) -> Int64:
    uid, node = objects.add("AnimationCurve", "", "AnimCurve", "")
    node.add("Default", float(values[0]))
    node.add("KeyVer", 4008)
    node.add("KeyTime", times)
    node.add("KeyValueFloat", values.astype(np.float32))
    node.add("KeyAttrFlags", np.array([KEY_FLAGS_LINEAR], dtype=np.int32))
    node.add("KeyAttrDataFloat", KEY_DATA)
    node.add("KeyAttrRefCount", np.array([len(times)], dtype=np.int32))
    return uid


def _ktime(seconds: float) -> int:
    return int(round(seconds * KTIME_PER_SECOND))


def _translation(t: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = t
    return m


def _column_major(m: np.ndarray) -> np.ndarray:
    """FBX stores 4x4 matrices column by column (translation in elements 12..14)."""
    return np.ascontiguousarray(m.T).reshape(-1).astype(np.float64)


def _header_extension() -> Node:
    now = datetime.datetime.now()
    header = Node("FBXHeaderExtension")
    header.add("FBXHeaderVersion", 1003)
    header.add("FBXVersion", 7400)
    header.add("EncryptionType", 0)
    stamp = header.add("CreationTimeStamp")
    stamp.add("Version", 1000)
    for field, value in (("Year", now.year), ("Month", now.month), ("Day", now.day), ("Hour", now.hour),
                         ("Minute", now.minute), ("Second", now.second), ("Millisecond", now.microsecond // 1000)):
        stamp.add(field, value)
    header.add("Creator", CREATOR)
    info = header.add("SceneInfo", name_class("GlobalInfo", "SceneInfo"), "UserData")
    info.add("Type", "UserData")
    info.add("Version", 100)
    meta = info.add("MetaData")
    meta.add("Version", 100)
    for field in ("Title", "Subject", "Author", "Keywords", "Revision", "Comment"):
        meta.add(field, "")
    gmt = now.astimezone(datetime.timezone.utc).strftime("%d/%m/%Y %H:%M:%S.000")
    _properties(info,
                ("url", "DocumentUrl", "avatar.fbx"), ("url", "SrcDocumentUrl", "avatar.fbx"),
                ("string", "Original|ApplicationVendor", "avatar-studio"),
                ("string", "Original|ApplicationName", "avatar-studio"),
                ("string", "Original|ApplicationVersion", "0.1"),
                ("datetime", "Original|DateTime_GMT", gmt),
                ("string", "LastSaved|ApplicationVendor", "avatar-studio"),
                ("string", "LastSaved|ApplicationName", "avatar-studio"),
                ("string", "LastSaved|ApplicationVersion", "0.1"),
                ("datetime", "LastSaved|DateTime_GMT", gmt))
    return header


def _global_settings(fps: float, span: tuple[int, int]) -> Node:
    settings = Node("GlobalSettings")
    settings.add("Version", 1000)
    _properties(settings,
                ("int", "UpAxis", 1), ("int", "UpAxisSign", 1),
                ("int", "FrontAxis", 2), ("int", "FrontAxisSign", 1),
                ("int", "CoordAxis", 0), ("int", "CoordAxisSign", 1),
                ("int", "OriginalUpAxis", 1), ("int", "OriginalUpAxisSign", 1),
                ("double", "UnitScaleFactor", 1.0), ("double", "OriginalUnitScaleFactor", 1.0),
                ("color_rgb", "AmbientColor", 0.0, 0.0, 0.0),
                ("string", "DefaultCamera", "Producer Perspective"),
                ("enum", "TimeMode", TIME_MODES.get(float(fps), TIME_MODE_CUSTOM)),
                ("time", "TimeSpanStart", Int64(span[0])), ("time", "TimeSpanStop", Int64(span[1])),
                ("double", "CustomFrameRate", float(fps)))
    return settings


def _documents(take: str | None) -> Node:
    documents = Node("Documents")
    documents.add("Count", 1)
    document = documents.add("Document", Int64(1), "Scene", "Scene")
    _properties(document, ("object", "SourceObject"), ("string", "ActiveAnimStackName", take or ""))
    document.add("RootNode", Int64(0))
    return documents


def _definitions(objects: list[Node]) -> Node:
    """How many objects of each type the file holds (importers size their tables from it)."""
    counts = Counter(node.name for node in objects)
    definitions = Node("Definitions")
    definitions.add("Version", 100)
    definitions.add("Count", 1 + sum(counts.values()))
    definitions.add("ObjectType", "GlobalSettings").add("Count", 1)
    for kind, count in counts.items():
        definitions.add("ObjectType", kind).add("Count", count)
    return definitions


def _takes(take: str | None, span: tuple[int, int]) -> Node:
    takes = Node("Takes")
    takes.add("Current", take or "")
    if take is not None:
        node = takes.add("Take", take)
        node.add("FileName", f"{take}.tak")
        node.add("LocalTime", Int64(span[0]), Int64(span[1]))
        node.add("ReferenceTime", Int64(span[0]), Int64(span[1]))
    return takes
