"""A small synthetic SMPL-X-format model for tests (the real files are registration-gated).

`write_synthetic_smplx(dir)` writes `SMPLX_NEUTRAL.npz` with every key and array shape the `smplx`
package reads, and a matching `smplx_uv.obj`. The body is a crude humanoid: one box per joint around
a plausible 55-joint T-pose skeleton (metres, Y up, facing +Z, left side at +X, pelvis ~0.95 m above
the soles, arms along +-X at shoulder height, palms down, thumbs forward, head on top).

Each box runs along its joint's bone and is bound rigidly to that joint. The joint lies on the box's
axis, so J_regressor can reproduce it exactly as a blend of the box's start and end corners, and
it keeps doing so when shape directions move the vertices. Like the real model, the file keeps the
pelvis at the origin, so a loader has to lift the feet onto y = 0 itself.
Shape: beta0 scales height (+10% per unit), beta1 width, beta2 depth; expr0 drops the jaw, expr1 pushes it forward.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.pose import NUM_JOINTS, SMPLX_JOINT_INDEX, SMPLX_JOINT_NAMES

NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9  # posedirs: one 3x3 (R - I) per non-root joint

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # SMPL-X order within a hand


def _parents() -> list[int]:
    """SMPL-X's kinematic tree, by name so it reads like the skeleton."""
    body = {
        "left_hip": "pelvis", "right_hip": "pelvis", "spine1": "pelvis",
        "left_knee": "left_hip", "right_knee": "right_hip", "spine2": "spine1",
        "left_ankle": "left_knee", "right_ankle": "right_knee", "spine3": "spine2",
        "left_foot": "left_ankle", "right_foot": "right_ankle", "neck": "spine3",
        "left_collar": "spine3", "right_collar": "spine3", "head": "neck",
        "left_shoulder": "left_collar", "right_shoulder": "right_collar",
        "left_elbow": "left_shoulder", "right_elbow": "right_shoulder",
        "left_wrist": "left_elbow", "right_wrist": "right_elbow",
        "jaw": "head", "left_eye_smplhf": "head", "right_eye_smplhf": "head",
    }
    for side in ("left", "right"):
        for finger in _FINGERS:
            body[f"{side}_{finger}1"] = f"{side}_wrist"
            body[f"{side}_{finger}2"] = f"{side}_{finger}1"
            body[f"{side}_{finger}3"] = f"{side}_{finger}2"
    return [-1] + [SMPLX_JOINT_INDEX[body[name]] for name in SMPLX_JOINT_NAMES[1:]]


PARENTS: list[int] = _parents()

# Left-side and centre bones, feet on y = 0: joint -> (joint position, box end, box half sizes, how far
# the box reaches back past the joint). A box end is a joint name or a point; half sizes run across the
# bone (see `_box`). Right-side bones mirror the left ones in x.
_BONES: dict[str, tuple[tuple[float, float, float], object, tuple[float, float], float]] = {
    "pelvis": ((0.0, 0.95, 0.0), (0.0, 0.80, 0.0), (0.16, 0.10), 0.08),
    "left_hip": ((0.09, 0.88, 0.0), "left_knee", (0.075, 0.075), 0.0),
    "spine1": ((0.0, 1.06, -0.01), "spine2", (0.15, 0.10), 0.03),
    "left_knee": ((0.10, 0.50, 0.01), "left_ankle", (0.055, 0.055), 0.0),
    "spine2": ((0.0, 1.19, -0.01), "spine3", (0.16, 0.10), 0.0),
    "left_ankle": ((0.11, 0.09, -0.03), "left_foot", (0.045, 0.04), 0.04),
    "spine3": ((0.0, 1.26, -0.01), "neck", (0.17, 0.10), 0.0),
    "left_foot": ((0.12, 0.04, 0.09), (0.12, 0.03, 0.16), (0.045, 0.02), 0.0),
    "neck": ((0.0, 1.47, -0.02), "head", (0.05, 0.05), 0.0),
    "left_collar": ((0.07, 1.40, -0.02), "left_shoulder", (0.05, 0.05), 0.0),
    "head": ((0.0, 1.56, 0.0), (0.0, 1.76, 0.0), (0.085, 0.10), 0.0),
    "left_shoulder": ((0.18, 1.42, -0.02), "left_elbow", (0.05, 0.05), 0.0),
    "left_elbow": ((0.44, 1.42, -0.03), "left_wrist", (0.04, 0.04), 0.0),
    "left_wrist": ((0.70, 1.42, -0.02), "left_middle1", (0.045, 0.015), 0.0),
    "jaw": ((0.0, 1.53, 0.03), (0.0, 1.50, 0.09), (0.05, 0.015), 0.0),
    "left_eye_smplhf": ((0.032, 1.62, 0.08), (0.032, 1.62, 0.095), (0.012, 0.012), 0.0),
}

# Finger joints relative to the wrist (first) and to the previous segment, then the fingertip.
_HAND = {
    "index": [(0.095, 0.0, 0.025), (0.035, 0.0, 0.0), (0.025, 0.0, 0.0), (0.022, 0.0, 0.0)],
    "middle": [(0.10, 0.0, 0.005), (0.04, 0.0, 0.0), (0.028, 0.0, 0.0), (0.024, 0.0, 0.0)],
    "pinky": [(0.085, 0.0, -0.035), (0.028, 0.0, 0.0), (0.02, 0.0, 0.0), (0.018, 0.0, 0.0)],
    "ring": [(0.095, 0.0, -0.015), (0.035, 0.0, 0.0), (0.026, 0.0, 0.0), (0.022, 0.0, 0.0)],
    "thumb": [(0.025, -0.01, 0.03), (0.03, 0.0, 0.022), (0.025, 0.0, 0.015), (0.02, 0.0, 0.01)],
}


def _left_and_centre_bones() -> dict[str, tuple[np.ndarray, np.ndarray, tuple[float, float], float]]:
    """Every non-right bone with positions resolved: name -> (joint, box end, half sizes, reach back)."""
    bones = {name: (np.array(p, dtype=np.float64), end, half, back) for name, (p, end, half, back) in _BONES.items()}
    wrist = bones["left_wrist"][0]
    for finger, steps in _HAND.items():
        points = [wrist + steps[0]]
        for step in steps[1:]:
            points.append(points[-1] + step)
        half = (0.01, 0.009) if finger == "thumb" else (0.009, 0.008)
        for segment in range(3):
            bones[f"left_{finger}{segment + 1}"] = (points[segment], points[segment + 1], half, 0.0)
    resolved = {}
    for name, (joint, end, half, back) in bones.items():
        end_point = bones[end][0] if isinstance(end, str) else np.array(end, dtype=np.float64)
        resolved[name] = (joint, end_point, half, back)
    return resolved


def _all_bones() -> list[tuple[np.ndarray, np.ndarray, tuple[float, float], float]]:
    """Bones in SMPL-X joint order; right_* mirror left_* in x."""
    left = _left_and_centre_bones()
    mirror = np.array([-1.0, 1.0, 1.0])
    bones = []
    for name in SMPLX_JOINT_NAMES:
        if name.startswith("right_"):
            joint, end, half, back = left["left_" + name[len("right_"):]]
            bones.append((joint * mirror, end * mirror, half, back))
        else:
            bones.append(left[name])
    return bones


def _box(joint: np.ndarray, end: np.ndarray, half: tuple[float, float], back: float):
    """A box along joint -> end (reaching `back` behind the joint): 8 corners, 6 outward quads, and the
    weights on the corners whose blend is the joint.

    Across the bone, half[1] runs along the world axis nearest "up" for horizontal bones (Y) or
    "forward" for vertical ones (Z), half[0] along the remaining direction.
    """
    axis = (end - joint) / np.linalg.norm(end - joint)
    start = joint - back * axis
    hint = np.array([0.0, 0.0, 1.0]) if abs(axis[1]) > 0.7 else np.array([0.0, 1.0, 0.0])
    e2 = hint - hint.dot(axis) * axis
    e2 /= np.linalg.norm(e2)
    e1 = np.cross(e2, axis)
    corners = np.array([
        (start if s == 0 else end) + (2 * i - 1) * half[0] * e1 + (2 * k - 1) * half[1] * e2
        for s in (0, 1) for i in (0, 1) for k in (0, 1)
    ])  # corner index = 4 s + 2 i + k
    centre = corners.mean(axis=0)
    quads = []
    for quad in ([0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]):
        a, b, c = corners[quad[:3]]
        if np.cross(b - a, c - a).dot(corners[quad].mean(axis=0) - centre) < 0:
            quad = quad[::-1]  # counter-clockwise seen from outside
        quads.append(quad)
    t = back / np.linalg.norm(end - start)  # the joint sits this far along start -> end
    regressor = np.array([(1 - t) / 4] * 4 + [t / 4] * 4)
    return corners, quads, regressor


def _build():
    """Template vertices (feet on y = 0), faces, UVs, J_regressor and weights of the boxes."""
    vertices, faces, uvs, face_uvs = [], [], [], []
    regressor = np.zeros((NUM_JOINTS, NUM_JOINTS * 8))
    weights = np.zeros((NUM_JOINTS * 8, NUM_JOINTS))
    columns = 8
    cell = 1.0 / columns
    for j, (joint, end, half, back) in enumerate(_all_bones()):
        corners, quads, blend = _box(joint, end, half, back)
        base = len(vertices)
        vertices.extend(corners)
        regressor[j, base:base + 8] = blend
        weights[base:base + 8, j] = 1.0
        # Each box owns one atlas cell; each of its six sides a 3 x 2 sub-rectangle (UV seams at every edge).
        u0, v0 = (j % columns) * cell, (j // columns) * cell
        for side, quad in enumerate(quads):
            su, sv = u0 + (side % 3) * cell / 3, v0 + (side // 3) * cell / 2
            w, h = 0.9 * cell / 3, 0.9 * cell / 2
            uv_base = len(uvs)
            uvs.extend([(su, sv), (su + w, sv), (su + w, sv + h), (su, sv + h)])
            corner_ids = [base + c for c in quad]
            faces.extend([[corner_ids[0], corner_ids[1], corner_ids[2]], [corner_ids[0], corner_ids[2], corner_ids[3]]])
            face_uvs.extend([[uv_base, uv_base + 1, uv_base + 2], [uv_base, uv_base + 2, uv_base + 3]])
    vertices = np.array(vertices)
    lift = -vertices[:, 1].min()
    vertices[:, 1] += lift
    return vertices, np.array(faces), np.array(uvs), np.array(face_uvs), regressor, weights


def write_synthetic_smplx(directory: Path) -> Path:
    """Write SMPLX_NEUTRAL.npz and smplx_uv.obj into `directory`; returns it (the --body-dir to use)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vertices, faces, uvs, face_uvs, regressor, weights = _build()
    pelvis = regressor[0] @ vertices
    template = vertices - np.array([0.0, pelvis[1], 0.0])  # SMPL-X files keep the pelvis near the origin
    V = len(template)

    shapedirs = np.zeros((V, 3, 20))  # 10 betas then 10 expressions, as in the 20-component SMPL-X files
    shapedirs[:, 1, 0] = 0.1 * (template[:, 1] - template[:, 1].min())  # beta0: taller from the soles up
    shapedirs[:, 0, 1] = 0.1 * template[:, 0]  # beta1: wider
    shapedirs[:, 2, 2] = 0.1 * template[:, 2]  # beta2: deeper
    jaw = weights[:, SMPLX_JOINT_INDEX["jaw"]] > 0
    shapedirs[jaw, 1, 10] = -0.01  # expr0: mouth open
    shapedirs[jaw, 2, 11] = 0.005  # expr1: jaw forward

    head_faces = np.flatnonzero(np.isin(faces[:, 0], np.flatnonzero(weights[:, SMPLX_JOINT_INDEX["head"]] > 0)))
    kintree = np.array([PARENTS, list(range(NUM_JOINTS))], dtype=np.int64)
    kintree[0, 0] = 2**32 - 1  # the official files store the root's parent as uint32 -1
    np.savez_compressed(
        directory / "SMPLX_NEUTRAL.npz",
        v_template=template.astype(np.float64),
        f=faces.astype(np.uint32),
        shapedirs=shapedirs,
        posedirs=np.zeros((V, 3, NUM_POSE_BASIS)),
        J_regressor=regressor,
        weights=weights,
        kintree_table=kintree,
        hands_componentsl=np.eye(45),
        hands_componentsr=np.eye(45),
        hands_meanl=np.zeros(45),
        hands_meanr=np.zeros(45),
        lmk_faces_idx=np.resize(head_faces, 51).astype(np.int64),
        lmk_bary_coords=np.full((51, 3), 1.0 / 3.0),
        dynamic_lmk_faces_idx=np.resize(head_faces, (79, 17)).astype(np.int64),
        dynamic_lmk_bary_coords=np.full((79, 17, 3), 1.0 / 3.0),
    )
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in template]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uvs]
    lines += ["f " + " ".join(f"{v + 1}/{t + 1}" for v, t in zip(fv, ft)) for fv, ft in zip(faces, face_uvs)]
    (directory / "smplx_uv.obj").write_text("\n".join(lines) + "\n")
    return directory


__all__ = ["write_synthetic_smplx", "PARENTS", "NUM_POSE_BASIS"]
