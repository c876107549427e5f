"""Measured curves a device profile names: CSV tables beside its TOML file.

* :func:`read_lut`: an SLM's phase per gray level (``gray,phase_rad``);
* :func:`read_iv_table`: a heater's voltage against current (``current_A,voltage_V``);
* :func:`read_heater_calibration`: measured phase against electrical power per
  channel (``channel,power_W,phase_rad``).

Lines starting with ``#`` are comments. A bad table raises ``ValueError`` naming
the file, the row and what it must hold.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from .._checks import positive_int, renamed


def _rows(path, header: list[str], what: str = "table") -> list[list[str]]:
    """The rows of the CSV at ``path`` after its header (which must be ``header``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} {path} not found; put it beside the profile TOML")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    if not rows or [c.strip() for c in rows[0]] != header:
        raise ValueError(f"{path}: the first row must be the header '{','.join(header)}'")
    return rows[1:]


def _floats(path, i: int, row, n: int) -> list[float]:
    try:
        vals = [float(c) for c in row[:n]]
    except ValueError:
        raise ValueError(f"{path}: row {i + 2} {row!r} is not {n} numbers") from None
    if len(row) < n or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{path}: row {i + 2} {row!r} must hold {n} finite numbers")
    return vals


def read_lut(path, gray_bits: int | None = None, *, bit_depth: int | None = None) -> list[float]:
    """Read a phase look-up table CSV: header ``gray,phase_rad``, one row per gray level.

    Rows must list gray levels ``0 .. 2**gray_bits - 1`` in order, with finite phases
    [rad]. Lines starting with ``#`` are comments. Returns the phases.
    (``bit_depth=``: the deprecated name of ``gray_bits``.)
    """
    gray_bits = positive_int(
        renamed(gray_bits, bit_depth, new_name="gray_bits", old_name="bit_depth", owner="read_lut"),
        "gray_bits",
    )
    rows = _rows(path, ["gray", "phase_rad"], "look-up table")
    n = 2**gray_bits
    if len(rows) != n:
        raise ValueError(
            f"{path}: {len(rows)} rows, but gray_bits = {gray_bits} needs {n} (gray 0..{n - 1})"
        )
    phases = []
    for i, row in enumerate(rows):
        try:
            gray, phase = int(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise ValueError(f"{path}: row {i + 2} {row!r} is not 'int,float'") from None
        if gray != i or not math.isfinite(phase):
            raise ValueError(
                f"{path}: row {i + 2} must be gray level {i} with a finite phase, got {row!r}"
            )
        phases.append(phase)
    return phases


def read_iv_table(path) -> tuple[list[float], list[float]]:
    """A heater's measured V(I): CSV header ``current_A,voltage_V``, currents increasing, >= 2 rows.

    Returns ``(current [A], voltage [V])``.
    """
    rows = _rows(path, ["current_A", "voltage_V"])
    pts = [_floats(path, i, r, 2) for i, r in enumerate(rows)]
    if len(pts) < 2:
        raise ValueError(f"{path}: a V(I) table needs at least 2 rows, got {len(pts)}")
    cur = [p[0] for p in pts]
    if any(b <= a for a, b in zip(cur, cur[1:])) or cur[0] < 0:
        raise ValueError(f"{path}: currents must be >= 0 and strictly increasing")
    return cur, [p[1] for p in pts]


def read_heater_calibration(path) -> dict[int, tuple[list[float], list[float]]]:
    """Measured phase against electrical power per channel.

    CSV header ``channel,power_W,phase_rad``; for each channel (an integer >= 0) at
    least 2 rows with strictly increasing power and phase (rows of a channel in any
    order). Returns ``{channel: (power [W], phase [rad])}``, sorted by power.
    """
    rows = _rows(path, ["channel", "power_W", "phase_rad"])
    table: dict[int, list[tuple[float, float]]] = {}
    for i, row in enumerate(rows):
        try:
            ch = int(row[0])
        except (ValueError, IndexError):
            raise ValueError(f"{path}: row {i + 2} {row!r}: channel must be an integer") from None
        if ch < 0:
            raise ValueError(f"{path}: row {i + 2}: channel must be >= 0, got {ch}")
        p, ph = _floats(path, i, row[1:], 2)
        table.setdefault(ch, []).append((p, ph))
    if not table:
        raise ValueError(f"{path}: no calibration rows")
    out = {}
    for ch, pts in sorted(table.items()):
        pts.sort()
        pw, ph = [p for p, _ in pts], [q for _, q in pts]
        if (
            len(pts) < 2
            or any(b <= a for a, b in zip(pw, pw[1:]))
            or any(b <= a for a, b in zip(ph, ph[1:]))
        ):
            raise ValueError(
                f"{path}: channel {ch} needs >= 2 points with strictly increasing power and "
                f"phase, got {len(pts)} points"
            )
        out[ch] = (pw, ph)
    return out
