"""Linear blend skinning: the single implementation every part of the studio poses with.

Joint frames are aligned with the world in the rest pose (as in SMPL/SMPL-X), so a joint's
local rotation is expressed in world axes of the rest pose, and the rest pose itself is the
zero pose. Posed = sum_k w_k A_k x with A_j = G_j T(-rest_j), G_j the joint's world transform.
"""
from __future__ import annotations

import torch

from core.gaussians import LayeredGaussians
from core.rotations import matrix_to_quaternion, quaternion_multiply


def forward_kinematics(
    local_rotations: torch.Tensor,
    rest_joints: torch.Tensor,
    parents: torch.Tensor,
    root_translation: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """World transforms of every joint and the skinning transforms that move rest points.

    local_rotations: (..., J, 3, 3); rest_joints: (J, 3); parents: (J,) with parents[0] = -1 and
    parents[j] < j. Returns (world (..., J, 4, 4), skinning (..., J, 3, 4)).
    """
    batch = local_rotations.shape[:-3]
    J = rest_joints.shape[0]
    rest = rest_joints.to(local_rotations)
    offsets = rest.clone()
    offsets[1:] = rest[1:] - rest[parents[1:]]
    rotations = [None] * J
    positions = [None] * J
    for j in range(J):
        p = int(parents[j])
        if p < 0:
            rotations[j] = local_rotations[..., j, :, :]
            t = offsets[j].expand(*batch, 3)
            positions[j] = t if root_translation is None else t + root_translation.to(rest)
        else:
            rotations[j] = rotations[p] @ local_rotations[..., j, :, :]
            positions[j] = positions[p] + (rotations[p] @ offsets[j].unsqueeze(-1)).squeeze(-1)
    R = torch.stack(rotations, dim=-3)
    t = torch.stack(positions, dim=-2)
    world = torch.zeros(*batch, J, 4, 4, dtype=R.dtype, device=R.device)
    world[..., :3, :3] = R
    world[..., :3, 3] = t
    world[..., 3, 3] = 1.0
    skin_t = t - (R @ rest.unsqueeze(-1)).squeeze(-1)
    skinning = torch.cat([R, skin_t.unsqueeze(-1)], dim=-1)
    return world, skinning


def skin_points(
    points: torch.Tensor, skinning: torch.Tensor, skin_indices: torch.Tensor, skin_weights: torch.Tensor
) -> torch.Tensor:
    """Pose rest points (N, 3) with sparse weights (N, K) by skinning transforms (J, 3, 4)."""
    blended = blend_transforms(skinning, skin_indices, skin_weights)
    return (blended[:, :, :3] @ points.unsqueeze(-1)).squeeze(-1) + blended[:, :, 3]


def blend_transforms(skinning: torch.Tensor, skin_indices: torch.Tensor, skin_weights: torch.Tensor) -> torch.Tensor:
    """Per-point weighted sum of its bones' 3x4 transforms: (N, 3, 4)."""
    gathered = skinning[skin_indices]  # (N, K, 3, 4)
    return (gathered * skin_weights[..., None, None].to(gathered)).sum(dim=1)


def blend_rotations(bone_rotations: torch.Tensor, skin_indices: torch.Tensor, skin_weights: torch.Tensor) -> torch.Tensor:
    """Per-point rotation as the normalised weighted sum of its bones' quaternions (N, 4).

    The blended 3x3 of LBS is not a rotation (it shrinks near bends); blending quaternions gives
    the unit rotation closest to it for the small angle spreads between neighbouring bones.
    """
    q = matrix_to_quaternion(bone_rotations)[skin_indices]  # (N, K, 4)
    # q and -q are the same rotation: align every quaternion with the point's strongest bone.
    lead = q.gather(1, skin_weights.argmax(dim=1)[:, None, None].expand(-1, 1, 4))
    sign = torch.where((q * lead).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(q)
    blended = (q * sign * skin_weights[..., None].to(q)).sum(dim=1)
    return blended / blended.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def posed_gaussians(gaussians: LayeredGaussians, skinning: torch.Tensor) -> LayeredGaussians:
    """Gaussians moved by the rig: means by LBS, orientations by the blended bone rotation."""
    if not gaussians.poseable:
        return gaussians
    skinning = skinning.to(gaussians.means)
    means = skin_points(gaussians.means, skinning, gaussians.skin_indices, gaussians.skin_weights)
    rotation = blend_rotations(skinning[:, :, :3], gaussians.skin_indices, gaussians.skin_weights)
    quats = quaternion_multiply(rotation, gaussians.quats)
    return gaussians.replace(means=means, quats=quats)
