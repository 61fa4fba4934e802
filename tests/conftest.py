"""Shared fixtures: the default body and avatar are built once per test session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WARP_LOG_LEVEL", "error")
# Every test samples for real (and the CLI tests' subprocesses inherit this): a latent cached by an
# earlier run would make "the same seed gives the same bits" hold trivially. tests/test_generator.py
# tests the cache itself in its own folder.
os.environ["AVATAR_STUDIO_CACHE"] = "off"


@pytest.fixture(scope="session")
def anny_body():
    from core.body.anny_body import AnnyBody

    return AnnyBody()


@pytest.fixture(scope="session")
def anny_rest(anny_body):
    return anny_body.rest()


@pytest.fixture(scope="session")
def avatar(anny_body):
    from core.default_avatar import default_avatar

    return default_avatar(anny_body, seed=0)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Painting and decoding are elementwise work on ~100k texels: a second thread only contends."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
