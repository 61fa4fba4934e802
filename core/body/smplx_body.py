"""The SMPL-X body, for users who have the registration-gated model (`--body smplx --body-dir DIR`).

DIR holds the official files the way the E3Gen / LayerAvatar READMEs lay them out:
`SMPLX_NEUTRAL.npz` (and/or `SMPLX_MALE.npz`, `SMPLX_FEMALE.npz`) and the UV mesh `smplx_uv.obj`.
The npz is read through the `smplx` package, so its key conventions (shape and expression blocks of
`shapedirs`, `kintree_table`, ...) are the package's, not a re-implementation.

SMPL-X already rests in the T-pose, Y up, facing +Z with its left side at +X, so the only conversion
into our frame is a lift onto y = 0. Its 55 joints are exactly our pose joints: the retarget is the
identity. Pose corrective blend shapes (`posedirs`) are not applied: the studio poses every body with
the one LBS in core/lbs.py.

Every problem with the user's files becomes a one-line `AvatarStudioError` naming the file.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.lbs import blend_shapes, vertices2joints

from core.body.base import BodyModel, BodyRest, normalized_top_k
from core.errors import AvatarStudioError
from core.pose import NUM_JOINTS, SMPLX_JOINT_NAMES, Pose
from core.rotations import axis_angle_to_matrix

NUM_BETAS = 10
NUM_EXPRESSIONS = 10
SKIN_K = 4  # strongest joints kept per vertex; the faint tail is renormalised away, as in real-time skinning
UV_MESH_NAME = "smplx_uv.obj"

# What smplx.SMPLX(use_pca=False, use_face_contour=False) reads from the npz. Checked up front so a
# missing key is named instead of surfacing as an AttributeError from deep inside the package.
REQUIRED_KEYS = (
    "v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table",
    "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
    "lmk_faces_idx", "lmk_bary_coords",
)


class SMPLXBody(BodyModel):
    """SMPL-X loaded from the user's files: betas and expressions shape it, pose data drives it as is."""

    name = "smplx"
    shape_names = [f"beta{i}" for i in range(NUM_BETAS)]
    expression_names = [f"expr{i}" for i in range(NUM_EXPRESSIONS)]

    def __init__(self, body_dir: Path, gender: str = "neutral") -> None:
        self.model_path = _model_file(Path(body_dir), gender)
        model = _load_model(self.model_path, gender)
        # Keep only what the rest pose needs; the module's posedirs alone are ~60 MB we never use.
        self._template = model.v_template.detach().float()
        self._directions = torch.cat([model.shapedirs, model.expr_dirs], dim=-1).detach().float()
        self._regressor = model.J_regressor.detach().float()
        self._faces = model.faces_tensor.long()
        self._uvs, self._face_uvs = _read_uv_mesh(Path(body_dir) / UV_MESH_NAME, self._faces, self.model_path.name)
        self.bone_names: list[str] = list(SMPLX_JOINT_NAMES)
        self.parents = model.parents.long().clone()
        self.bone_regions = torch.arange(NUM_JOINTS)  # its bones ARE the SMPL-X joints
        dense = model.lbs_weights.detach().float()
        every_joint = torch.arange(NUM_JOINTS).expand(dense.shape[0], -1)
        self._skin_indices, self._skin_weights = normalized_top_k(every_joint, dense, SKIN_K)
        digest = hashlib.sha1(self._template.numpy().tobytes()).hexdigest()[:12]
        self._identity = f"smplx-{self.model_path.name}-{digest}"

    def identity(self) -> str:
        """File name plus a hash of the template, so caches never mix genders or model versions."""
        return self._identity

    def default_shape(self) -> dict[str, float]:
        return {name: 0.0 for name in self.shape_names}

    def rest(self, shape: dict[str, float] | None = None, expression: dict[str, float] | None = None) -> BodyRest:
        """Shaped T-pose: the zero-pose branch of SMPL-X's own LBS, then lifted onto y = 0.

        `smplx.SMPLX.forward` is not called: it also appends keypoints read at hard-coded vertex ids
        of the full 10,475-vertex mesh, which we do not need. At zero pose its vertices and joints are
        exactly template + blend_shapes(betas | expression) and the J_regressor of those, computed here
        with the package's own functions on the buffers it built.
        """
        betas = _coefficients(shape, self.shape_names, "shape")
        expr = _coefficients(expression, self.expression_names, "expression")
        with torch.no_grad():
            coefficients = torch.cat([betas, expr])[None]
            vertices = (self._template + blend_shapes(coefficients, self._directions))[0]
            joints = vertices2joints(self._regressor, vertices[None])[0]
        lift = torch.tensor([0.0, -float(vertices[:, 1].min()), 0.0])
        return BodyRest(
            vertices=vertices + lift,
            faces=self._faces,
            uvs=self._uvs,
            face_uvs=self._face_uvs,
            joints=joints + lift,
            parents=self.parents,
            bone_names=self.bone_names,
            skin_indices=self._skin_indices,
            skin_weights=self._skin_weights,
            bone_regions=self.bone_regions,
        )

    def bone_rotations(self, pose: Pose) -> torch.Tensor:
        """Identity retarget: SMPL-X pose data is this rig's own joint rotations."""
        return axis_angle_to_matrix(pose.joints.float())


def _coefficients(values: dict[str, float] | None, names: list[str], kind: str) -> torch.Tensor:
    """Named coefficients as a vector in `names` order; unnamed ones are 0."""
    values = values or {}
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"unknown SMPL-X {kind} parameters {sorted(unknown)}; known: {names}")
    return torch.tensor([float(values.get(name, 0.0)) for name in names], dtype=torch.float32)


def _model_file(body_dir: Path, gender: str) -> Path:
    """The npz for this gender in the user's folder, or a one-line error saying what is there."""
    if not body_dir.is_dir():
        what = "is a file, not a folder" if body_dir.exists() else "does not exist"
        raise AvatarStudioError(
            f"SMPL-X folder {body_dir} {what} (--body-dir should hold SMPLX_NEUTRAL.npz and {UV_MESH_NAME})")
    path = body_dir / f"SMPLX_{gender.upper()}.npz"
    if path.is_file():
        return path
    found = sorted(p.name for p in body_dir.glob("SMPLX_*.npz"))
    if found:
        hint = f"found {', '.join(found)}; choose the matching --gender"
    else:
        hint = "download the SMPL-X npz files from https://smpl-x.is.tue.mpg.de and put them there"
    raise AvatarStudioError(f"{path.name} not found in {body_dir}: {hint}")


def _reason(exc: BaseException) -> str:
    """An exception as one short line (numpy and smplx messages may span several)."""
    text = " ".join(str(exc).split()) or "no details"
    return f"{type(exc).__name__}: {text[:200]}"


def _load_model(path: Path, gender: str) -> smplx.SMPLX:
    """smplx.SMPLX for the file, with its keys and array shapes checked against what we use."""
    if not zipfile.is_zipfile(path):
        raise AvatarStudioError(f"{path.name} is not an .npz archive (a corrupt or incomplete download?)")
    try:
        with np.load(path, allow_pickle=False) as archive:  # lazy: only the zip directory is read here
            missing = [key for key in REQUIRED_KEYS if key not in archive.files]
    except Exception as exc:  # numpy raises many types for bad bytes; all mean "unreadable"
        raise AvatarStudioError(f"{path.name} is not a readable .npz archive ({_reason(exc)})") from None
    if missing:
        raise AvatarStudioError(f"{path.name} is not an SMPL-X model: missing {', '.join(missing)}")

    try:
        # smplx prints a warning for models with 10 (not 300) betas; keep the terminal clean.
        with contextlib.redirect_stdout(io.StringIO()):
            model = smplx.SMPLX(
                str(path), gender=gender, use_pca=False, flat_hand_mean=True,
                num_betas=NUM_BETAS, num_expression_coeffs=NUM_EXPRESSIONS, use_face_contour=False,
            )
    except Exception as exc:  # smplx asserts, indexes and reshapes the raw arrays without checks
        raise AvatarStudioError(f"{path.name} could not be loaded as SMPL-X ({_reason(exc)})") from None
    _check_model(model, path.name)
    return model


def _check_model(model: smplx.SMPLX, file_name: str) -> None:
    """The array shapes our rest mesh and rig rely on; anything else smplx keeps is unused."""
    V = model.v_template.shape[0] if model.v_template.dim() else 0
    F = model.faces_tensor.shape[0] if model.faces_tensor.dim() else 0
    expected = {
        "v_template": (model.v_template, (V, 3)),
        "f": (model.faces_tensor, (F, 3)),
        f"shapedirs (betas 0..{NUM_BETAS - 1})": (model.shapedirs, (V, 3, NUM_BETAS)),
        f"shapedirs (expressions 0..{NUM_EXPRESSIONS - 1})": (model.expr_dirs, (V, 3, NUM_EXPRESSIONS)),
        "J_regressor": (model.J_regressor, (NUM_JOINTS, V)),
        "weights": (model.lbs_weights, (V, NUM_JOINTS)),
        "kintree_table": (model.parents, (NUM_JOINTS,)),
    }
    for key, (array, shape) in expected.items():
        if tuple(array.shape) != shape:
            raise AvatarStudioError(f"{file_name}: {key} has shape {tuple(array.shape)}, expected {shape}")
    faces = model.faces_tensor
    if faces.numel() == 0 or int(faces.min()) < 0 or int(faces.max()) >= V:
        raise AvatarStudioError(f"{file_name}: f is empty or indexes vertices outside 0..{V - 1}")
    parents = model.parents
    ordered = (parents[1:] >= 0) & (parents[1:] < torch.arange(1, NUM_JOINTS))
    if not bool(ordered.all()):
        raise AvatarStudioError(f"{file_name}: kintree_table does not list every parent before its child")


def _read_uv_mesh(path: Path, faces: torch.Tensor, model_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Texture coordinates and per-corner UV indices from smplx_uv.obj, checked against the model's faces.

    The obj repeats SMPL-X's topology with `f v/vt` corners; the vertex indices must equal the npz
    faces (same order), else the UVs would land on the wrong triangles.
    """
    if not path.is_file():
        raise AvatarStudioError(
            f"{path.name} not found in {path.parent}: SMPL-X needs its UV mesh next to {model_name}")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AvatarStudioError(f"{path.name} could not be read ({_reason(exc)})") from None
    uvs: list[tuple[float, float]] = []
    corners_v: list[list[int]] = []
    corners_vt: list[list[int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0] not in ("vt", "f"):
            continue
        try:
            if parts[0] == "vt":
                if len(parts) < 3:
                    raise ValueError("a vt line without u and v")
                uvs.append((float(parts[1]), float(parts[2])))
                continue
            if len(parts) != 4:
                raise ValueError(f"a face with {len(parts) - 1} corners (triangles expected)")
            fields = [corner.split("/") for corner in parts[1:]]
            if any(len(f) < 2 or not f[1] for f in fields):
                raise ValueError("a face corner without a texture index (f v/vt expected)")
            corners_v.append([int(f[0]) - 1 for f in fields])
            corners_vt.append([int(f[1]) - 1 for f in fields])
        except ValueError as exc:
            raise AvatarStudioError(f"{path.name} line {number}: {' '.join(str(exc).split())}") from None
    obj_faces = torch.tensor(corners_v, dtype=torch.int64).reshape(-1, 3)
    face_uvs = torch.tensor(corners_vt, dtype=torch.int64).reshape(-1, 3)
    mismatch = f"{path.name} does not match {model_name}"
    advice = f"(use the {UV_MESH_NAME} of this SMPL-X version)"
    if obj_faces.shape != faces.shape:
        raise AvatarStudioError(f"{mismatch}: it has {len(obj_faces)} faces, the model {len(faces)} {advice}")
    if not torch.equal(obj_faces, faces):
        k = int((obj_faces != faces).any(dim=1).nonzero()[0, 0])
        raise AvatarStudioError(
            f"{mismatch}: its face {k} joins vertices {obj_faces[k].tolist()}, the model's {faces[k].tolist()} {advice}")
    if len(face_uvs) and (int(face_uvs.min()) < 0 or int(face_uvs.max()) >= len(uvs)):
        raise AvatarStudioError(f"{path.name}: faces use texture coordinates outside its {len(uvs)} vt lines")
    return torch.tensor(uvs, dtype=torch.float32).reshape(-1, 2), face_uvs


__all__ = ["SMPLXBody", "NUM_BETAS", "NUM_EXPRESSIONS", "SKIN_K", "UV_MESH_NAME", "REQUIRED_KEYS"]
