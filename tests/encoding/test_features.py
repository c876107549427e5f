"""ImageFeatures (resize + standardise) and RandomFlipErase (training-time augmentation)."""

from __future__ import annotations

import pytest
import torch

from photonn.encoding import ImageFeatures, RandomFlipErase, image_features, resize


def test_features_are_standardised_resized_pixels():
    x = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    f = ImageFeatures((14, 14), mean=0.1307, std=0.3081)(x)
    ref = (resize(x.float() / 255, (14, 14)) - 0.1307) / 0.3081
    assert f.shape == (3, 14, 14) and torch.allclose(f, ref, atol=1e-6)
    assert image_features(x, 7, mode="area", dtype=torch.float64).dtype == torch.float64
    # area mode on an integer factor: exact block means
    blocks = (x.double() / 255).reshape(3, 7, 4, 7, 4).mean((2, 4))
    assert torch.allclose(image_features(x, 7, mode="area", dtype=torch.float64), blocks)


def test_features_bad_input():
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        ImageFeatures()(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="std must be a finite number > 0"):
        ImageFeatures(std=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        ImageFeatures(mode="cubic")


def test_augmentation_is_seeded_and_only_in_training():
    x = torch.rand(64, 14, 14)
    a = RandomFlipErase(0.5, 0.5, generator=torch.Generator().manual_seed(1))
    b = RandomFlipErase(0.5, 0.5, generator=torch.Generator().manual_seed(1))
    ya, yb = a(x), b(x)
    assert torch.equal(ya, yb)  # same seed, same draws
    assert not torch.equal(a(x), ya)  # the generator advances
    flipped = (ya == x.flip(-1)).flatten(1).float().mean(1) > 0.6
    erased = (ya == 0).flatten(1).any(1)
    assert 15 < int(flipped.sum()) < 50 and 15 < int(erased.sum()) < 50
    a.eval()
    assert a(x) is x


def test_erased_rectangles_follow_scale_and_ratio():
    x = torch.ones(400, 20, 20)
    a = RandomFlipErase(0.0, 1.0, scale=(0.1, 0.2), generator=torch.Generator().manual_seed(2))
    frac = (a(x) == 0).flatten(1).float().mean(1)
    # every image erased, area within the scale range (rounding and clipping widen it a little)
    assert bool((frac > 0).all()) and 0.05 < float(frac.min()) and float(frac.max()) < 0.3


def test_augmentation_state_is_checkpointed(tmp_path):
    """Its generator is a module attribute: training checkpoints save and restore it."""
    from photonn.training import load_checkpoint, save_checkpoint
    from photonn.training.checkpoint import rng_states, set_rng_states

    model = torch.nn.Sequential(RandomFlipErase(0.5, 0.5, generator=torch.Generator()))
    model(torch.rand(4, 8, 8))
    save_checkpoint(tmp_path / "c.h5", model, rng=rng_states(model, None))
    expect = model(torch.rand(4, 8, 8) + 1)
    set_rng_states(load_checkpoint(tmp_path / "c.h5")["rng"], model, None)
    assert torch.equal(model(torch.rand(4, 8, 8) + 1).eq(0), expect.eq(0))


def test_augmentation_bad_arguments():
    with pytest.raises(ValueError, match="probability in"):
        RandomFlipErase(1.5)
    with pytest.raises(ValueError, match="scale must be"):
        RandomFlipErase(scale=(0.5, 0.1))
    with pytest.raises(ValueError, match="put it after ImageFeatures"):
        RandomFlipErase()(torch.zeros(4, 2, 8, 8))
