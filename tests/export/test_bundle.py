"""The HDF5 bundle: bit-for-bit round trip of every dtype, clear errors, no pickle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photonn.export import Array, BundleError, read_bundle, write_bundle

TORCH_DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint16,
    torch.uint32,
    torch.uint64,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.complex64,
    torch.complex128,
    torch.float8_e4m3fn,
    torch.float8_e5m2,
]
NUMPY_DTYPES = [
    np.bool_,
    np.uint8,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
]


def _bits(t: torch.Tensor) -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def _special(dt: torch.dtype, shape) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    if dt == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if not (dt.is_floating_point or dt.is_complex):
        info = torch.iinfo(dt)
        lo, hi = max(info.min, -(2**62)), min(info.max, 2**62)
        t = torch.randint(lo, hi, shape, generator=g, dtype=torch.int64).to(dt)
        t.view(-1)[:2] = torch.tensor([info.min, info.max]).to(dt) if dt != torch.uint64 else 0
        return t
    base = (
        torch.float32
        if dt in (torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16, torch.float16)
        else dt
    )
    t = torch.randn(shape, generator=g, dtype=base) * 1e3
    flat = t.view(-1)
    flat[0], flat[1] = -0.0, float("inf") if dt != torch.float8_e4m3fn else 1.0
    flat[2] = float("nan")
    flat[3] = 1e-40 if dt in (torch.float32, torch.float64) else flat[3]  # a subnormal
    return t.to(dt)


@pytest.mark.parametrize("dt", TORCH_DTYPES, ids=str)
def test_torch_round_trip_is_bit_for_bit(tmp_path, dt):
    for shape in [(), (1,), (3, 5), (2, 0, 4)]:
        if len(shape) == 0 or 0 in shape:
            t = torch.zeros(shape, dtype=dt)
        else:
            t = _special(dt, shape if np.prod(shape) >= 4 else (4,))
        write_bundle(tmp_path / "b.h5", {"a": {"b": t}})
        r = read_bundle(tmp_path / "b.h5")["a"]["b"]
        assert isinstance(r, torch.Tensor) and r.dtype == dt and r.shape == t.shape
        assert _bits(r) == _bits(t)


@pytest.mark.parametrize("dt", NUMPY_DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_round_trip_is_bit_for_bit(tmp_path, dt):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((4, 3)) * 100).astype(dt) if dt != np.bool_ else rng.random(5) > 0.5
    write_bundle(tmp_path / "b.h5", {"x": Array(a, unit="rad")})
    tree, attrs = read_bundle(tmp_path / "b.h5", with_attrs=True)
    assert tree["x"].dtype == a.dtype and tree["x"].tobytes() == a.tobytes()
    assert attrs["x"]["unit"] == "rad"


def test_scalars_and_strings(tmp_path):
    tree = {"s": "phase [rad] é", "i": -3, "f": 0.1, "b": True, "l": ["a", "b"]}
    write_bundle(tmp_path / "b.h5", tree, attrs={"schema_version": 1})
    r, attrs = read_bundle(tmp_path / "b.h5", with_attrs=True)
    assert r == tree and attrs[""]["schema_version"] == 1


def test_no_pickle_objects_refused(tmp_path):
    with pytest.raises(TypeError, match="no pickle"):
        write_bundle(tmp_path / "b.h5", {"x": np.array([{"a": 1}], dtype=object)})
    assert not (tmp_path / "b.h5").exists()  # the failed write left nothing


def test_missing_truncated_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_bundle(tmp_path / "nope.h5")
    write_bundle(tmp_path / "b.h5", {"x": torch.arange(100_000)})
    data = (tmp_path / "b.h5").read_bytes()
    (tmp_path / "t.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated or corrupt"):
        read_bundle(tmp_path / "t.h5")
    (tmp_path / "c.h5").write_bytes(b"\0" * 4096)
    with pytest.raises(BundleError, match="truncated or corrupt"):
        read_bundle(tmp_path / "c.h5")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(BundleError, match="not a photonn export bundle"):
        read_bundle(tmp_path / "other.h5")
