"""IDX reader/writer: round trips, and clear errors for corrupt, truncated or missing files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from photonn.data import read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / name, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_header_layout_big_endian(tmp_path):
    path = write_idx(tmp_path / "x", np.array([1, 258], dtype=np.int16))
    raw = path.read_bytes()
    assert raw == bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2) + struct.pack(">hh", 1, 258)


def test_gzip_bytes_reproducible(tmp_path):
    arr = np.arange(100, dtype=np.uint8).reshape(10, 10)
    a = write_idx(tmp_path / "a.gz", arr).read_bytes()
    b = write_idx(tmp_path / "b.gz", arr).read_bytes()
    assert a == b


def _good_bytes(n=4):
    return bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28) + bytes(n * 784)


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"\x00\x00", "shorter than the 4-byte magic"),
        (b"<html>not found</html>", "does not start with 0000"),
        (bytes([0, 0, 0x07, 1]) + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x07"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3]) + struct.pack(">I", 4), "header needs 16 bytes"),
        (_good_bytes()[:-100], "truncated: header shape"),
        (_good_bytes() + b"\x00\x00", "2 trailing bytes"),
    ],
)
@pytest.mark.parametrize("compressed", [False, True])
def test_corrupt_files_named(tmp_path, payload, match, compressed):
    path = tmp_path / ("bad.gz" if compressed else "bad")
    path.write_bytes(gzip.compress(payload) if compressed else payload)
    with pytest.raises(ValueError, match=match) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_good_bytes(50))[:-40])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_dataset_file_via_loader(tmp_path):
    from photonn.data import load_mnist

    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_good_bytes(10)[:-1]))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is truncated"):
        load_mnist(tmp_path, "train")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.gz"):
        read_idx(tmp_path / "nope.gz")


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="complex128"):
        write_idx(tmp_path / "c", np.zeros(3, np.complex128))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "s", np.array(3, np.uint8))
