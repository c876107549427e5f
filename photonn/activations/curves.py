"""Measured device curves from CSV or HDF5 files.

A curve is two columns, input and response (e.g. drive voltage [V] and
transmission), in SI units. :func:`load_curve` returns them as float64 numpy
arrays sorted by input, ready for :func:`~photonn.activations.fit_polynomial`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def _column(header, key, name: str, path) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if header is None or key not in header:
        raise ValueError(
            f"{path}: no column {key!r} for {name}; header is {header!r} "
            "(name a column of the header, or give its index)"
        )
    return header.index(key)


def _read_csv(path: Path, columns):
    with open(path, newline="", encoding="utf-8") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
        except csv.Error:
            dialect = csv.excel
        rows = [r for r in csv.reader(fh, dialect) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise ValueError(f"{path}: the file holds no data rows")
    header = None
    try:
        [float(v) for v in rows[0]]
    except ValueError:
        header = [h.strip() for h in rows[0]]
        rows = rows[1:]
    ix = _column(header, columns[0], "x", path)
    iy = _column(header, columns[1], "y", path)
    try:
        data = np.array([[float(r[ix]), float(r[iy])] for r in rows], dtype=np.float64)
    except (ValueError, IndexError) as err:
        raise ValueError(f"{path}: a data row is not numeric or too short ({err})") from err
    return data[:, 0], data[:, 1]


def _read_hdf5(path: Path, columns):
    import h5py

    with h5py.File(path, "r") as fh:
        kx, ky = columns
        if isinstance(kx, str) and isinstance(ky, str) and kx in fh and ky in fh:
            return np.asarray(fh[kx], dtype=np.float64), np.asarray(fh[ky], dtype=np.float64)
        two_col = [k for k, v in fh.items() if hasattr(v, "shape") and v.shape[-1:] == (2,)]
        if len(two_col) == 1 and _ndim(fh[two_col[0]]) == 2:
            data = np.asarray(fh[two_col[0]], dtype=np.float64)
            return data[:, 0], data[:, 1]
        raise ValueError(
            f"{path}: expected datasets {kx!r} and {ky!r} (or one (N, 2) dataset), "
            f"found {sorted(fh.keys())}"
        )


def _ndim(dataset) -> int:
    return len(dataset.shape)


def load_curve(path, columns=("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    """Load a measured curve ``(x, y)`` from a ``.csv`` or ``.h5``/``.hdf5`` file.

    CSV: comma, semicolon, tab or space separated, an optional header row and
    ``#`` comment lines; ``columns`` names two header columns or gives two
    indices (the default falls back to the first two columns when the file has
    no ``x``/``y`` header). HDF5: two 1-D datasets named by ``columns``, or a
    single ``(N, 2)`` dataset. Returns float64 arrays sorted by ``x``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"curve file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv" or suffix == ".txt":
        try:
            x, y = _read_csv(path, columns)
        except ValueError:
            if tuple(columns) != ("x", "y"):
                raise
            x, y = _read_csv(path, (0, 1))
    elif suffix in (".h5", ".hdf5"):
        x, y = _read_hdf5(path, columns)
    else:
        raise ValueError(f"{path}: unknown curve format {suffix!r}; use .csv, .h5 or .hdf5")
    x, y = x.reshape(-1), y.reshape(-1)
    if x.size != y.size or x.size < 2:
        raise ValueError(f"{path}: need two columns of equal length >= 2, got {x.size}, {y.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"{path}: the curve holds NaN or Inf values")
    order = np.argsort(x, kind="stable")
    return x[order], y[order]
