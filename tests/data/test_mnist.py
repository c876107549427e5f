"""MNIST / Fashion-MNIST loaders against the reference statistics of the data README,
and the embedded subset (shape, balance, attribution, provenance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photonn.data import load_embedded_mnist, load_fashion_mnist, load_mnist
from photonn.data.mnist import EMBEDDED_DIR, expected_files
from photonn.data.subset import balanced_indices, make_embedded_subset

# Reference statistics from shared/data/README.md; means and stds are quoted to 3
# decimals there, so the tolerance is half a unit of the last digit (+ float64 slack).
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _mean_std(images: torch.Tensor) -> tuple[float, float]:
    x = images.to(torch.float64)
    return x.mean().item(), x.std(unbiased=False).item()


def test_mnist_train_statistics(data_dir):
    images, labels = load_mnist(data_dir, "train")
    assert images.shape == (60000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (60000,) and labels.dtype == torch.int64
    mean, std = _mean_std(images)
    assert mean == pytest.approx(33.318, abs=5e-4)
    assert std == pytest.approx(78.567, abs=5e-4)


def test_mnist_test_counts(data_dir):
    images, labels = load_mnist(data_dir / "mnist", split="test")
    assert images.shape == (10000, 28, 28)
    assert torch.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS


def test_fashion_mnist_statistics(data_dir):
    images, labels = load_fashion_mnist(data_dir, "train")
    assert images.shape == (60000, 28, 28) and labels.dtype == torch.int64
    mean, std = _mean_std(images)
    assert mean == pytest.approx(72.940, abs=5e-4)
    assert std == pytest.approx(90.021, abs=5e-4)
    assert torch.bincount(labels).tolist() == [6000] * 10
    _, test_labels = load_fashion_mnist(data_dir, "test")
    assert torch.bincount(test_labels).tolist() == [1000] * 10


def test_mnist_and_fashion_differ(data_dir):
    a, _ = load_mnist(data_dir, "test")
    b, _ = load_fashion_mnist(data_dir, "test")
    assert not torch.equal(a, b)


@pytest.mark.parametrize("split, per_class", [("train", 600), ("test", 100)])
def test_embedded_subset_shape_and_balance(split, per_class):
    images, labels = load_embedded_mnist(split)
    assert images.shape == (10 * per_class, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10 * per_class,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == [per_class] * 10
    # real digits, not blanks or noise: MNIST mean intensity ~33/255, mostly zeros
    mean = images.double().mean().item()
    assert 25 < mean < 45
    assert (images == 0).double().mean().item() > 0.7
    again, _ = load_mnist(None, split)
    assert torch.equal(again, images)


def test_embedded_subset_attribution():
    text = (EMBEDDED_DIR / "README.md").read_text(encoding="utf-8")
    for needle in ("LeCun", "Cortes", "Burges", "CC BY-SA 3.0"):
        assert needle in text
    assert "Attribution-Share Alike 3.0" in (EMBEDDED_DIR / "LICENSE").read_text(encoding="utf-8")


def test_embedded_subset_is_the_documented_selection(data_dir, tmp_path):
    """Regenerating from the full files gives exactly the shipped images and labels."""
    make_embedded_subset(data_dir / "mnist", tmp_path)
    for split in ("train", "test"):
        want = load_embedded_mnist(split)
        got = load_mnist(tmp_path, split)
        assert torch.equal(want[0], got[0]) and torch.equal(want[1], got[1])


def test_balanced_indices_evenly_spaced():
    labels = np.array([0, 1] * 10 + [0] * 5)  # 15 zeros, 10 ones
    idx = balanced_indices(labels, 3, num_classes=2)
    zeros = np.flatnonzero(labels == 0)
    ones = np.flatnonzero(labels == 1)
    assert idx.tolist() == sorted([*zeros[[0, 7, 14]], *ones[[0, 4, 9]]])
    with pytest.raises(ValueError, match="class 1 has 10 samples"):
        balanced_indices(labels, 11, num_classes=2)


def test_missing_files_named(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(tmp_path, "test")
    msg = str(err.value)
    for name in expected_files("test"):
        assert name in msg
    assert str(tmp_path) in msg


def test_bad_split_and_root():
    with pytest.raises(ValueError, match="split"):
        load_mnist(None, "validation")
    with pytest.raises(TypeError, match="root"):
        load_mnist(123, "train")
    with pytest.raises(ValueError, match="root"):
        load_fashion_mnist(None)


def test_uncompressed_files_and_count_mismatch(tmp_path):
    from photonn.data import write_idx

    images, labels = load_embedded_mnist("test")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images.numpy())
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels.numpy().astype(np.uint8))
    got_images, got_labels = load_mnist(tmp_path, "test")
    assert torch.equal(got_images, images) and torch.equal(got_labels, labels)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels.numpy()[:-1].astype(np.uint8))
    with pytest.raises(ValueError, match="1000 images but .* 999 labels"):
        load_mnist(tmp_path, "test")
    bad = labels.numpy().astype(np.uint8)
    bad[3] = 12
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", bad)
    with pytest.raises(ValueError, match="label 12 out of range"):
        load_mnist(tmp_path, "test")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images.numpy()[:, :27, :])
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        load_mnist(tmp_path, "test")


def test_embedded_files_match_their_documented_sha256():
    import hashlib

    text = (EMBEDDED_DIR / "README.md").read_text(encoding="utf-8")
    for split in ("train", "test"):
        for name in expected_files(split):
            digest = hashlib.sha256((EMBEDDED_DIR / name).read_bytes()).hexdigest()
            assert f"{digest}  {name}" in text
