"""Reader and writer of the IDX format (the MNIST file format), gzip or plain.

An IDX file is a 4-byte magic ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 dimensions, then the row-major data in big-endian order.
Every read checks the magic, the type code, the dimensions and the data length,
so a truncated or corrupt file raises a ``ValueError`` naming the file.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .._io import atomic_path

# IDX type code -> big-endian numpy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _raw_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (detected from its content)."""
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    data = path.read_bytes()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"corrupt or truncated gzip file {path}: {exc}; re-download or re-copy the file"
        ) from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) into a native-endian numpy array.

    Args:
        path: file path. Gzip compression is detected from the content, not the name.

    Returns:
        Array of the file's shape and type (uint8 for MNIST images ``(N, 28, 28)``
        and labels ``(N,)``), writable and native-endian.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad magic, unknown type code, zero dimensions, or a data length
            that does not match the header (truncated file or trailing bytes).
    """
    path = Path(path)
    data = _raw_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"{path} is not an IDX file: {len(data)} bytes, shorter than the 4-byte magic"
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{path} is not an IDX file: magic {data[:4].hex()} does not start with 0000 "
            "(is it an HTML error page or a different format?)"
        )
    if code not in IDX_DTYPES:
        raise ValueError(
            f"{path}: unknown IDX type code 0x{code:02x} (known: "
            f"{', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}); the file is corrupt"
        )
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions; the file is corrupt")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{path} is truncated: the header needs {header} bytes for {ndim} dimensions, "
            f"the file has {len(data)}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise ValueError(
            f"{path} is truncated: header shape {dims} needs {expected} data bytes, "
            f"found {found}; re-download or re-copy the file"
        )
    if found > expected:
        raise ValueError(
            f"{path} is corrupt: header shape {dims} needs {expected} data bytes, "
            f"found {found} ({found - expected} trailing bytes)"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array, *, compress: bool | None = None, compresslevel: int = 9) -> Path:
    """Write ``array`` as an IDX file, atomically.

    Args:
        path: target file; gzip-compressed when ``compress`` is True, or when it is
            None and the name ends in ``.gz``. The gzip header carries no time stamp,
            so the same array always gives the same bytes.
        array: numpy array (or tensor) of type uint8, int8, int16, int32, float32 or
            float64 with at least one dimension.
        compresslevel: gzip level 1..9.

    Returns:
        The path written.
    """
    path = Path(path)
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(
            f"write_idx cannot store dtype {arr.dtype}; use one of uint8, int8, int16, int32, "
            "float32, float64"
        )
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx needs 1 to 255 dimensions, got {arr.ndim}")
    code = _CODES[native]
    payload = (
        bytes([0, 0, code, arr.ndim])
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    )
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, compresslevel=compresslevel, mtime=0)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(payload)
    return path
