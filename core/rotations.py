"""Rotation conversions, in torch, batched over leading dimensions.

Conventions: axis-angle vectors (..., 3) in radians; rotation matrices (..., 3, 3) acting on
column vectors; unit quaternions (..., 4) stored w, x, y, z (the 3DGS PLY order).
"""
from __future__ import annotations

import torch


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula; exact at zero (no division by a vanishing angle)."""
    angle = axis_angle.norm(dim=-1, keepdim=True)
    safe = torch.where(angle > 1e-8, angle, torch.ones_like(angle))
    axis = axis_angle / safe
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis.shape[:-1], 3, 3)
    s = torch.sin(angle)[..., None]
    c = torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(K)
    R = eye + s * K + (1 - c) * (K @ K)
    return torch.where((angle > 1e-8)[..., None], R, eye)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`axis_angle_to_matrix` (via quaternions, stable near 0 and pi)."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def quaternion_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    q = standardize_quaternion(q)
    w = q[..., :1].clamp(-1.0, 1.0)
    xyz = q[..., 1:]
    sin_half = xyz.norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, w)
    scale = torch.where(sin_half > 1e-8, angle / sin_half.clamp_min(1e-12), 2.0 / w.clamp_min(1e-12))
    return xyz * scale


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    angle = axis_angle.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    k = torch.where(angle > 1e-8, torch.sin(half) / angle.clamp_min(1e-12), 0.5 - angle**2 / 48)
    return torch.cat([torch.cos(half), axis_angle * k], dim=-1)


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    m = torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    )
    return m.reshape(*q.shape[:-1], 3, 3)


def matrix_to_quaternion(m: torch.Tensor) -> torch.Tensor:
    """Shepperd's method: pick the largest of the four candidate denominators per element."""
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    candidates = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = diag.argmax(dim=-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    return standardize_quaternion(q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12))


def standardize_quaternion(q: torch.Tensor) -> torch.Tensor:
    """q and -q are the same rotation; keep w >= 0 so comparisons and files are canonical."""
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a * b (apply b first, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def rotation_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The smallest rotation matrix taking direction a onto direction b."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    axis = torch.cross(a, b, dim=-1)
    sin = axis.norm(dim=-1, keepdim=True)
    cos = (a * b).sum(-1, keepdim=True)
    angle = torch.atan2(sin, cos)
    return axis_angle_to_matrix(axis / sin.clamp_min(1e-12) * angle)


def frame_to_quaternion(tangent: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Unit quaternion of the right-handed frame whose x axis is `tangent` and z axis is `normal`.

    Used to orient surfel Gaussians: their thin third axis lies along the surface normal.
    """
    z = normal / normal.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    x = tangent - (tangent * z).sum(-1, keepdim=True) * z
    # A tangent parallel to the normal carries no direction: fall back to any perpendicular.
    helper = torch.where(z[..., :1].abs() < 0.9, torch.tensor([1.0, 0.0, 0.0]).to(z), torch.tensor([0.0, 1.0, 0.0]).to(z))
    fallback = torch.cross(helper, z, dim=-1)
    x = torch.where(x.norm(dim=-1, keepdim=True) < 1e-6, fallback, x)
    x = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    y = torch.cross(z, x, dim=-1)
    return matrix_to_quaternion(torch.stack([x, y, z], dim=-1))


def quaternion_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Constant-speed interpolation along the shorter arc from unit q0 (t = 0) to unit q1 (t = 1).

    q1 is flipped into q0's hemisphere first, so the blend never takes the long way round; nearly
    equal quaternions fall back to a normalised lerp, where the slerp formula divides by ~0.
    """
    t = torch.as_tensor(t, dtype=q0.dtype, device=q0.device)
    if t.dim():
        t = t[..., None]
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    angle = torch.acos(dot)
    sin = torch.sin(angle)
    near = sin < 1e-6
    safe = torch.where(near, torch.ones_like(sin), sin)
    w0 = torch.where(near, 1 - t, torch.sin((1 - t) * angle) / safe)
    w1 = torch.where(near, t, torch.sin(t * angle) / safe)
    q = w0 * q0 + w1 * q1
    return q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def twist_angle(q: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Signed angle (radians, -pi..pi) of the twist of q about the unit `axis`.

    Swing-twist decomposition q = swing * twist: twist turns about `axis`, swing about an axis
    perpendicular to it. The twist is q's vector part projected on `axis`, renormalised with w;
    a pure 180 degree swing has no defined twist and reports 0.
    """
    q = standardize_quaternion(q)
    along = (q[..., 1:] * axis).sum(-1)
    return 2.0 * torch.atan2(along, q[..., 0])


def euler_to_matrix(angles: torch.Tensor, order: str) -> torch.Tensor:
    """Rotation (..., 3, 3) from angles (..., 3) in radians about the fixed x, y, z axes.

    `order` names the axes in the order they are applied: "zxy" turns about z first, then about
    the (unmoved) x axis, then y, i.e. R = Ry @ Rx @ Rz. Used to author poses joint by joint.
    """
    if sorted(order) != ["x", "y", "z"]:
        raise ValueError(f"order must be a permutation of 'xyz', got {order!r}")
    eye = torch.eye(3, dtype=angles.dtype, device=angles.device)
    R = eye.expand(*angles.shape[:-1], 3, 3)
    for axis_name in order:
        k = "xyz".index(axis_name)
        R = axis_angle_to_matrix(angles[..., k : k + 1] * eye[k]) @ R
    return R


def matrix_to_euler(matrix: torch.Tensor, order: str) -> torch.Tensor:
    """Inverse of :func:`euler_to_matrix`: angles (..., 3) in radians about x, y, z.

    The middle axis of `order` gets an angle in [-pi/2, pi/2]; at gimbal lock (that angle at
    +-pi/2, where only the sum or difference of the other two is defined) the last axis takes 0.
    FBX and Blender store bone rotations as "xyz" Euler angles in degrees.
    """
    if sorted(order) != ["x", "y", "z"]:
        raise ValueError(f"order must be a permutation of 'xyz', got {order!r}")
    i, j, k = ("xyz".index(a) for a in order)
    s = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for the cyclic orders xyz, yzx, zxy
    m = matrix
    cos_b = torch.hypot(m[..., k, j], m[..., k, k])
    b = torch.atan2(-s * m[..., k, i], cos_b)
    # Below sqrt(eps), the two free angles are noise: fixing the last one at 0 is the accurate choice.
    locked = cos_b < torch.finfo(m.dtype).eps ** 0.5
    a = torch.where(locked, torch.atan2(-s * m[..., j, k], m[..., j, j]), torch.atan2(s * m[..., k, j], m[..., k, k]))
    c = torch.where(locked, torch.zeros_like(b), torch.atan2(s * m[..., j, i], m[..., i, i]))
    angles = torch.empty(*m.shape[:-2], 3, dtype=m.dtype, device=m.device)
    angles[..., i], angles[..., j], angles[..., k] = a, b, c
    return angles


def euler_near(angles: torch.Tensor, reference: torch.Tensor, order: str) -> torch.Tensor:
    """The Euler angles of the same rotation as `angles` that lie closest to `reference`.

    Every rotation has two Euler triples, (a, b, c) and (a + pi, pi - b, c + pi) in the order's
    axes, each up to whole turns. Animation curves interpolate angles one by one, so consecutive
    keys must be the nearest triple, or a bone spins the long way round between two frames.
    """
    i, j, k = ("xyz".index(a) for a in order)
    other = angles.clone()
    other[..., i] += torch.pi
    other[..., j] = torch.pi - other[..., j]
    other[..., k] += torch.pi
    candidates = torch.stack([angles, other])
    turns = torch.round((reference - candidates) / (2 * torch.pi))
    candidates = candidates + turns * 2 * torch.pi
    distance = (candidates - reference).abs().sum(-1)
    return torch.where((distance[0] <= distance[1])[..., None], candidates[0], candidates[1])
