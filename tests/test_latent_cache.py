"""The latent cache (core.generator.cache): a warm start reads the exact latent sampling would give,
never another checkpoint's, and survives a damaged entry."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.generator import Generator
from core.sources import model_latent

pytestmark = pytest.mark.skipif(not Generator.shipped(), reason="no shipped generator checkpoint")


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATAR_STUDIO_CACHE", str(tmp_path))
    return tmp_path


def test_second_sample_comes_from_the_cache_bit_for_bit(cache_dir, monkeypatch, one_torch_thread):
    generator = Generator.load()
    steps = 4  # a short schedule keeps this test quick; the key includes it
    first = model_latent(generator, 11, steps=steps)
    stored = list(cache_dir.glob("latents/*/*.npy"))
    assert len(stored) == 1 and stored[0].parent.name == generator.config.weights_sha256[:16]

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled again instead of reading the cache")

    monkeypatch.setattr(generator, "sample", no_sampling)
    calls = []
    again = model_latent(generator, 11, steps=steps, progress=lambda done, total: calls.append((done, total)))
    assert torch.equal(again, first)
    assert calls == [(steps, steps)]  # a progress bar still reaches its end

    # Other steps, another seed, an interpolation: other entries, so they sample.
    with pytest.raises(AssertionError, match="sampled again"):
        model_latent(generator, 11, steps=steps + 1)
    with pytest.raises(AssertionError, match="sampled again"):
        model_latent(generator, 12, steps=steps)


def test_damaged_entries_and_other_checkpoints_sample_again(cache_dir, one_torch_thread):
    generator = Generator.load()
    first = model_latent(generator, 3, steps=2)
    (entry,) = cache_dir.glob("latents/*/*.npy")
    entry.write_bytes(entry.read_bytes()[:1000])  # truncated, as by a full disk
    again = model_latent(generator, 3, steps=2)
    assert torch.equal(again, first)
    assert np.array_equal(np.load(entry), first.numpy())  # rewritten whole

    other = Generator.load()
    other.config = dataclasses.replace(other.config, weights_sha256="f" * 64)
    calls = []
    model_latent(other, 3, steps=2, progress=lambda done, total: calls.append(done))
    assert calls == [1, 2]  # sampled step by step: a retrained checkpoint never reads these latents


def test_cache_off_writes_nothing(tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setenv("AVATAR_STUDIO_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model_latent(Generator.load(), 5, steps=2)
    assert not any(tmp_path.rglob("*.npy"))
