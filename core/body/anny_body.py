"""The default body: Anny (NAVER Labs, Apache-2.0, `pip install anny`), free of registration.

Anny is Z-up, pelvis at the origin, faces -Y and rests in an A-pose with bent elbows. We convert
once, here: rotate into our Y-up/+Z-facing frame, pose the arms straight out into the SMPL-X
T-pose with our own LBS, and lift the feet onto y = 0. Above this file Anny rests in a T-pose
like every body, and SMPL-X joint rotations reach its 104 bones through `SMPLX_TO_ANNY` and the
retarget in `AnnyBody.bone_rotations`.

Anny builds its model data once (~1-2 min) into its own cache (~/.cache/anny or
$ANNY_CACHE_DIR); later starts take well under a second. Only its commercial-use data is used:
the smpl/smplx topologies (non-commercial downloads) are never requested.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading

import torch

from core.body.base import BodyModel, BodyRest
from core.lbs import forward_kinematics, skin_points
from core.pose import SMPLX_JOINT_INDEX, SMPLX_JOINT_NAMES, Pose
from core.rotations import axis_angle_to_matrix, axis_angle_to_quaternion, rotation_between, twist_angle

# Anny (x, y, z) -> ours (x, z, -y): Z-up/face -Y becomes Y-up/face +Z; .L bones stay at +X.
ANNY_TO_WORLD = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

ANNY_SHAPE_NAMES = ["gender", "age", "muscle", "weight", "height", "proportions"]


def _build_joint_map() -> dict[str, list[str]]:
    """SMPL-X joint -> the Anny bones that carry its rotation (see `AnnyBody.bone_rotations`).

    Anny's rig has more bones than SMPL-X has joints: five spine bones for three, three neck bones for
    one, a shoulder bone after the clavicle, a twist bone halfway down each limb segment, metacarpals
    and one bone per toe. Heights above the pelvis (default shape) place SMPL-X spine1 (~0.11 m)
    between spine04 (0.07) and spine03 (0.14), spine2 (~0.24) at spine03..02 and spine3 (~0.30)
    at spine02..01, so spine3's bend is shared by spine02 and spine01; the collar (SMPL-X pivot
    ~7 cm from the midline) is shared by the clavicle (2 cm) and shoulder01 (10 cm). Bones no joint
    names (spine05 and pelvis.L/R at the root, the metacarpals) keep their rest rotation: SMPL-X
    bends the spine above the pelvis and the hand at the knuckles, not at the wrist's palm bones.
    """
    table: dict[str, list[str]] = {
        "pelvis": ["root"],
        "spine1": ["spine04"],
        "spine2": ["spine03"],
        "spine3": ["spine02", "spine01"],
        "neck": ["neck01", "neck02", "neck03"],
        "head": ["head"],
        "jaw": [],  # Anny moves its jaw with the jawOpen facial action, not a bone.
    }
    per_side = {
        "hip": ["upperleg01.*", "upperleg02.*"], "knee": ["lowerleg01.*", "lowerleg02.*"], "ankle": ["foot.*"],
        "foot": [f"toe{i}-1.*" for i in range(1, 6)],
        "collar": ["clavicle.*", "shoulder01.*"], "shoulder": ["upperarm01.*", "upperarm02.*"],
        "elbow": ["lowerarm01.*", "lowerarm02.*"], "wrist": ["wrist.*"],
    }
    fingers = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}
    for side, s in (("left", "L"), ("right", "R")):
        for joint, bones in per_side.items():
            table[f"{side}_{joint}"] = [b.replace("*", s) for b in bones]
        for finger, number in fingers.items():
            for segment in (1, 2, 3):
                table[f"{side}_{finger}{segment}"] = [f"finger{number}-{segment}.{s}"]
        table[f"{side}_eye_smplhf"] = [f"eye.{s}"]
    assert set(table) == set(SMPLX_JOINT_NAMES)
    return table


SMPLX_TO_ANNY: dict[str, list[str]] = _build_joint_map()

# Limb joints whose two Anny bones are (joint bone, twist bone halfway down the segment), and the SMPL-X
# joint at the segment's far end whose twist about the segment is shared with the twist bone (forearm
# pronation arrives in SMPL-X data on the wrist; foot turn on the ankle), or None.
TWIST_LIMBS: dict[str, str | None] = {
    f"{side}_{joint}": (f"{side}_{distal}" if distal else None)
    for side in ("left", "right")
    for joint, distal in (("shoulder", None), ("elbow", "wrist"), ("hip", None), ("knee", "ankle"))
}
TWIST_KEPT = 0.5  # share of a limb joint's own twist kept on its joint bone; the twist bone takes the rest
DISTAL_TWIST_SHARED = 0.5  # share of the wrist's / ankle's twist about the segment moved onto its twist bone

_BUILD_LOCK = threading.Lock()


class AnnyBody(BodyModel):
    name = "anny"
    shape_names = ANNY_SHAPE_NAMES

    def __init__(self) -> None:
        with _BUILD_LOCK, _quiet():
            import anny  # heavy import (and warp's banner): keep it out of module import time

            self._model = anny.Anny(facial_actions="all", skinning_method="lbs")
            self._version = getattr(anny, "__version__", "unknown")
        self.expression_names = list(self._model.facial_action_labels)
        self.bone_names: list[str] = list(self._model.bone_labels)
        self.parents = torch.tensor(self._model.bone_parents, dtype=torch.int64)
        index = {name: i for i, name in enumerate(self.bone_names)}
        self._joint_bones = [[index[b] for b in SMPLX_TO_ANNY[j]] for j in SMPLX_JOINT_NAMES]
        self.bone_regions = self._bone_regions(index)
        # Each driven bone's joint and the share of the joint's angle it takes: 1/n along a chain of n,
        # all of it on sibling bones and on a limb's joint bone (its twist bone is set apart).
        driven, driver, share = [], [], []
        for j, bones in enumerate(self._joint_bones):
            whole = self._check_bones(j, bones) or SMPLX_JOINT_NAMES[j] in TWIST_LIMBS
            for b in bones:
                driven.append(b)
                driver.append(j)
                share.append(1.0 if whole else 1.0 / len(bones))
        self._driven, self._driver = torch.tensor(driven), torch.tensor(driver)
        self._share = torch.tensor(share)[:, None]
        limbs = [SMPLX_JOINT_INDEX[joint] for joint in TWIST_LIMBS]
        self._limb_joint = torch.tensor(limbs)
        self._limb_bone = torch.tensor([self._joint_bones[j][0] for j in limbs])
        self._limb_twist_bone = torch.tensor([self._joint_bones[j][1] for j in limbs])
        distal = [(k, SMPLX_JOINT_INDEX[d]) for k, d in enumerate(TWIST_LIMBS.values()) if d is not None]
        self._distal_limb = torch.tensor([k for k, _ in distal])
        self._distal_joint = torch.tensor([j for _, j in distal])
        self._distal_bone = torch.tensor([self._joint_bones[j][0] for _, j in distal])
        self._limb_axes: torch.Tensor | None = None  # (limbs, 3), from the default rest on first use

    def identity(self) -> str:
        return f"anny-{self._version}"

    def default_shape(self) -> dict[str, float]:
        return {name: 0.5 for name in self.shape_names}

    def _bone_regions(self, index: dict[str, int]) -> torch.Tensor:
        """Each bone's SMPL-X joint: its own mapping, else its nearest mapped ancestor's."""
        owner = torch.full((len(self.bone_names),), -1, dtype=torch.int64)
        for joint, bones in enumerate(self._joint_bones):
            for b in bones:
                owner[b] = joint
        for b in range(len(self.bone_names)):  # parents come first, so one pass suffices
            if owner[b] < 0:
                owner[b] = owner[self.parents[b]] if self.parents[b] >= 0 else 0
        return owner

    def rest(self, shape: dict[str, float] | None = None, expression: dict[str, float] | None = None) -> BodyRest:
        shape = {**self.default_shape(), **(shape or {})}
        unknown = set(shape) - set(self.shape_names)
        if unknown:
            raise ValueError(f"unknown Anny shape parameters {sorted(unknown)}; known: {self.shape_names}")
        with torch.no_grad():
            out = self._model(phenotype_kwargs=shape, facial_actions=expression or None)
        m = self._model
        vertices = out["rest_vertices"][0].float() @ ANNY_TO_WORLD.T
        joints = out["rest_bone_heads"][0].float() @ ANNY_TO_WORLD.T
        weights = m.vertex_bone_weights.float()
        indices = m.vertex_bone_indices.long()
        # A-pose -> T-pose, by the same LBS that poses everything else.
        local = self._tpose_rotations(joints)
        world, skinning = forward_kinematics(local, joints, self.parents)
        vertices = skin_points(vertices, skinning, indices, weights)
        joints = world[:, :3, 3]
        lift = torch.tensor([0.0, -float(vertices[:, 1].min()), 0.0])
        return BodyRest(
            vertices=vertices + lift,
            faces=m.faces.long(),
            uvs=m.texture_coordinates.float(),
            face_uvs=m.face_texture_coordinate_indices.long(),
            joints=joints + lift,
            parents=self.parents,
            bone_names=self.bone_names,
            skin_indices=indices,
            skin_weights=weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12),
            bone_regions=self.bone_regions,
        )

    def _tpose_rotations(self, joints: torch.Tensor) -> torch.Tensor:
        """Local rotations that straighten Anny's A-pose arms along +-X (SMPL-X T-pose)."""
        index = {name: i for i, name in enumerate(self.bone_names)}
        local = torch.eye(3).repeat(len(self.bone_names), 1, 1)
        for s, direction in (("L", 1.0), ("R", -1.0)):
            target = torch.tensor([direction, 0.0, 0.0])
            chain = [("upperarm01", "lowerarm01"), ("lowerarm01", "wrist"), ("wrist", "finger3-1")]
            for bone, child in chain:
                b, c = index[f"{bone}.{s}"], index[f"{child}.{s}"]
                world, _ = forward_kinematics(local, joints, self.parents)
                R_parent = world[self.parents[b], :3, :3]
                current = world[c, :3, 3] - world[b, :3, 3]
                fix = rotation_between(current, target)  # world-frame correction at this bone
                local[b] = R_parent.T @ fix @ R_parent @ local[b]
        return local

    def _check_bones(self, joint: int, bones: list[int]) -> bool:
        """Whether a joint's bones are siblings (True) or a parent-to-child chain (False); else a bug."""
        parents = [int(self.parents[b]) for b in bones]
        if len(bones) > 1 and len(set(parents)) == 1:
            return True
        if any(parents[k] != bones[k - 1] for k in range(1, len(bones))):
            raise AssertionError(f"{SMPLX_JOINT_NAMES[joint]}: bones {bones} are neither a chain nor siblings")
        return False

    def _twist_axes(self) -> torch.Tensor:
        """Unit rest directions (limbs, 3) from each limb joint bone to its twist bone (default shape).

        Twisting about the line through both bone heads keeps the twist bone where the joint bone's
        rotation puts it. Shape changes these directions by a degree or two; that only shifts how the
        twist is shared between the two bones (and the joint after them by a millimetre or so).
        """
        if self._limb_axes is None:
            joints = self.rest().joints
            axes = joints[self._limb_twist_bone] - joints[self._limb_bone]
            self._limb_axes = torch.nn.functional.normalize(axes, dim=-1)
        return self._limb_axes

    def bone_rotations(self, pose: Pose) -> torch.Tensor:
        """The retarget: Anny's 104 local bone rotations for SMPL-X pose data.

        Both rigs use world-aligned rest frames and Anny rests in the SMPL-X T-pose (baked in `rest`),
        so a joint's rotation R applies to its bones as it is; what is decided here is how it is spread:
        - a chain of bones (spine3, neck, collar) shares it evenly, each turning by R^(1/n): the chain's
          end turns by exactly R and the bend is spread along it;
        - sibling bones (the five toes under SMPL-X's one foot joint) each take all of R;
        - a limb joint (shoulder, elbow, hip, knee) puts the swing and TWIST_KEPT of the twist about
          the segment on its joint bone and the rest of the twist on the twist bone halfway down; the
          twist bone also takes DISTAL_TWIST_SHARED of the wrist's / ankle's twist about the segment,
          which the wrist / foot bone gives back. Skin then twists gradually along the limb instead of
          wringing at one joint, and every joint past the limb still turns exactly as SMPL-X says;
        - a finger joint drives its one bone. Anny's fingers rest along the arm with the palm down like
          SMPL-X's, so a curl in SMPL-X data (about -Z on the left hand, +Z on the right) curls them
          into the palm. Anny's thumb rests pointing further down than SMPL-X's: a relaxed hand or a
          closed fist puts it under the index and middle fingers as in SMPL-X, a curl well past a fist
          tucks it further under the palm.
        Bones no joint names keep their rest rotation.
        """
        joints = pose.joints.float()
        local = torch.eye(3).repeat(len(self.bone_names), 1, 1)
        local[self._driven] = axis_angle_to_matrix(joints[self._driver] * self._share)
        axes = self._twist_axes()
        moved = (1.0 - TWIST_KEPT) * twist_angle(axis_angle_to_quaternion(joints[self._limb_joint]), axes)
        distal_axes = axes[self._distal_limb]
        shared = DISTAL_TWIST_SHARED * twist_angle(axis_angle_to_quaternion(joints[self._distal_joint]), distal_axes)
        local[self._distal_bone] = axis_angle_to_matrix(-shared[:, None] * distal_axes) @ local[self._distal_bone]
        local[self._limb_bone] = local[self._limb_bone] @ axis_angle_to_matrix(-moved[:, None] * axes)
        moved = moved.index_add(0, self._distal_limb, shared)
        local[self._limb_twist_bone] = axis_angle_to_matrix(moved[:, None] * axes)
        return local


def anny_cache_ready() -> bool:
    """Whether Anny's one-time model build is already cached (a hint for progress messages)."""
    from anny.paths import get_anny_cache_path

    root = get_anny_cache_path()
    return root is not None and any(root.glob("v*/build_compact_model_data_*.safetensors"))


@contextlib.contextmanager
def _quiet():
    """Anny's optional `warp` dependency prints a banner on import; keep the terminal clean."""
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    with contextlib.redirect_stdout(io.StringIO()):
        yield


__all__ = ["AnnyBody", "SMPLX_TO_ANNY", "TWIST_LIMBS", "ANNY_TO_WORLD", "anny_cache_ready"]
