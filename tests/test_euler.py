"""Euler angles for FBX curves: exact inverse of euler_to_matrix in every order, and continuity."""
import itertools
import math

import pytest
import torch

from core.rotations import euler_near, euler_to_matrix, matrix_to_euler

ORDERS = ["".join(p) for p in itertools.permutations("xyz")]


@pytest.mark.parametrize("order", ORDERS)
def test_matrix_to_euler_inverts_euler_to_matrix(order):
    g = torch.Generator().manual_seed(0)
    angles = (torch.rand(2000, 3, generator=g, dtype=torch.float64) * 2 - 1) * math.pi
    R = euler_to_matrix(angles, order)
    assert torch.allclose(euler_to_matrix(matrix_to_euler(R, order), order), R, atol=1e-12)
    middle = "xyz".index(order[1])
    locked = angles.clone()
    locked[:, middle] = math.pi / 2 * torch.sign(torch.randn(2000, generator=g, dtype=torch.float64))
    R = euler_to_matrix(locked, order)
    back = matrix_to_euler(R, order)
    assert torch.allclose(euler_to_matrix(back, order), R, atol=1e-7), "gimbal lock"
    assert torch.all(back[:, middle].abs() <= math.pi / 2 + 1e-12)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_near_follows_a_full_turn_without_jumps(order):
    axis = "xyz".index(order[1])  # turning about the middle axis crosses gimbal lock twice
    turn = torch.zeros(73, 3, dtype=torch.float64)
    turn[:, axis] = torch.linspace(0, 2 * math.pi, 73, dtype=torch.float64)
    turn[:, "xyz".index(order[0])] = 0.3
    R = euler_to_matrix(turn, order)
    angles = matrix_to_euler(R, order)
    for k in range(1, len(angles)):
        angles[k] = euler_near(angles[k], angles[k - 1], order)
    assert torch.allclose(euler_to_matrix(angles, order), R, atol=1e-7), "still the same rotations"
    assert angles.diff(dim=0).abs().max() < math.radians(5.1), "5 degree steps stay 5 degree steps"
