"""The HDF5 bundle: a tree of named arrays with attributes, written and read bit for bit.

``write_bundle(path, tree)`` writes a nested ``dict`` as HDF5 groups; the leaves
are numpy arrays, torch tensors, Python scalars or strings, optionally wrapped in
:class:`Array` to carry attributes (``unit="rad"``, ``description=...``).
:func:`read_bundle` returns the same tree: numpy arrays come back as numpy arrays
of the same dtype, torch tensors as torch tensors of the same dtype (also the
dtypes numpy lacks, such as ``bfloat16``, stored as their bytes), Python scalars
and strings as themselves.

Nothing is pickled: object arrays are refused, strings are HDF5 UTF-8 strings.
Every read error (missing, truncated or corrupt file, unknown schema, missing
entry) raises :class:`BundleError`, a ``ValueError`` that names the file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_path

__all__ = ["Array", "BundleError", "write_bundle", "read_bundle", "FORMAT"]

FORMAT = "photonn-export-bundle"

_TORCH_TO_NUMPY = {
    torch.bool: np.bool_,
    torch.uint8: np.uint8,
    torch.int8: np.int8,
    torch.int16: np.int16,
    torch.int32: np.int32,
    torch.int64: np.int64,
    torch.uint16: np.uint16,
    torch.uint32: np.uint32,
    torch.uint64: np.uint64,
    torch.float16: np.float16,
    torch.float32: np.float32,
    torch.float64: np.float64,
    torch.complex64: np.complex64,
    torch.complex128: np.complex128,
}


class BundleError(ValueError):
    """A bundle that cannot be read: missing, truncated, corrupt, of another schema."""


@dataclass
class Array:
    """A leaf of a bundle tree with HDF5 attributes (e.g. ``unit="W"``)."""

    value: object
    attrs: dict = field(default_factory=dict)

    def __init__(self, value, **attrs):
        self.value = value
        self.attrs = attrs


def _torch_dtype(name: str) -> torch.dtype:
    dt = getattr(torch, name.removeprefix("torch."), None)
    if not isinstance(dt, torch.dtype):
        raise BundleError(f"unknown torch dtype {name!r} in the bundle")
    return dt


def _write_leaf(group, name: str, value, attrs: dict) -> None:
    import h5py

    kind = None
    extra = {}
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        extra["torch_dtype"] = str(t.dtype)
        extra["shape"] = np.asarray(t.shape, dtype=np.int64)
        if t.dtype in _TORCH_TO_NUMPY:
            data = t.numpy()
        else:  # bfloat16, complex32, float8 ...: their bytes
            data = t.reshape(-1).view(torch.uint8).numpy()
        kind = "torch"
    elif isinstance(value, str):
        data = np.array(value, dtype=h5py.string_dtype("utf-8"))
        kind = "str"
    elif isinstance(value, bool):
        data, kind = np.bool_(value), "bool"
    elif isinstance(value, int):
        data, kind = np.int64(value), "int"
    elif isinstance(value, float):
        data, kind = np.float64(value), "float"
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        data = np.array(list(value), dtype=h5py.string_dtype("utf-8"))
        kind = "str_list"
    else:
        data = np.asarray(value)
        if data.dtype == object:
            raise TypeError(
                f"bundle entry {name!r}: object arrays are not stored (no pickle); give "
                "numbers, strings or tensors"
            )
        if data.dtype.kind == "U":
            data = data.astype(h5py.string_dtype("utf-8"))
            kind = "str_array"
        else:
            kind = "numpy"
    big = isinstance(data, np.ndarray) and data.ndim > 0 and data.nbytes > 65536
    if big and data.dtype.kind in "biufc":  # lossless gzip for the large arrays
        ds = group.create_dataset(name, data=data, compression="gzip", compression_opts=4)
    else:
        ds = group.create_dataset(name, data=data)
    ds.attrs["photonn_kind"] = kind
    for k, v in {**extra, **attrs}.items():
        ds.attrs[k] = v


def _write_group(group, tree: dict) -> None:
    for key, value in tree.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"bundle keys must be non-empty strings without '/', got {key!r}")
        if isinstance(value, dict):
            _write_group(group.create_group(key), value)
        elif isinstance(value, Array):
            _write_leaf(group, key, value.value, value.attrs)
        else:
            _write_leaf(group, key, value, {})


def write_bundle(path, tree: dict, *, attrs: dict | None = None) -> Path:
    """Write ``tree`` to the HDF5 file ``path`` (atomically: temporary file, then rename).

    Args:
        tree: nested dict; leaves as in the module docstring.
        attrs: root attributes (strings and numbers), e.g. the schema version.
    """
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            for k, v in (attrs or {}).items():
                f.attrs[k] = v
            _write_group(f, tree)
    return path


def _read_leaf(ds):
    kind = ds.attrs.get("photonn_kind", "numpy")
    if kind == "torch":
        dt = _torch_dtype(str(ds.attrs["torch_dtype"]))
        shape = tuple(int(s) for s in ds.attrs["shape"])
        data = ds[()]
        if dt in _TORCH_TO_NUMPY:
            return torch.from_numpy(np.array(data, dtype=_TORCH_TO_NUMPY[dt])).reshape(shape)
        raw = torch.from_numpy(np.array(data, dtype=np.uint8).reshape(-1))
        if raw.numel() == 0:
            return torch.empty(shape, dtype=dt)
        return raw.view(dt).reshape(shape)
    if kind == "str":
        return ds.asstr()[()]
    if kind in ("str_list", "str_array"):
        out = ds.asstr()[()]
        return list(out) if kind == "str_list" else np.asarray(out, dtype=str)
    if kind == "bool":
        return bool(ds[()])
    if kind == "int":
        return int(ds[()])
    if kind == "float":
        return float(ds[()])
    return np.array(ds[()])


def _read_group(group) -> dict:
    import h5py

    out = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _read_group(item)
        else:
            out[key] = _read_leaf(item)
    return out


def read_bundle(path, *, with_attrs: bool = False):
    """Read a bundle written by :func:`write_bundle`.

    Returns:
        the tree (``dict``); with ``with_attrs=True`` the pair ``(tree, attrs)``
        where ``attrs`` maps every dataset path (``"slm/masks.0/gray"``) to its
        attributes and ``""`` to the root's.

    Raises:
        FileNotFoundError: no file at ``path``.
        BundleError: not a readable HDF5 file (truncated, corrupt), or not a
            photonn bundle.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"bundle {path} not found; export the model again")
    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
            if fmt != FORMAT:
                raise BundleError(
                    f"{path} is an HDF5 file but not a photonn export bundle (format "
                    f"{fmt!r}, expected {FORMAT!r})"
                )
            tree = _read_group(f)
            if not with_attrs:
                return tree
            attrs = {"": {k: _attr(v) for k, v in f.attrs.items()}}

            def visit(name, obj):
                attrs[name] = {k: _attr(v) for k, v in obj.attrs.items()}

            f.visititems(visit)
            return tree, attrs
    except BundleError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise BundleError(
            f"{path} cannot be read as an HDF5 bundle (truncated or corrupt: {exc}); "
            "export the model again"
        ) from None


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v
