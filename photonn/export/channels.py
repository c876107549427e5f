"""The controller files of an MZI chip: ``channels.csv`` (one row per phase shifter),
``channels.json`` (the same rows, the channel map, the elements, the units) and
``zero_channels.csv`` (every channel at code 0, 0 V), and :func:`read_channels`.

Floats are written as ``repr``, so they read back bit for bit; ``branch`` is empty
(CSV) or null (JSON) except for internal shifters.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .chip import COLUMNS, UNITS, Chip, channel_lists
from .manifest import SCHEMA_VERSION

__all__ = ["channel_rows", "channels_csv", "channels_json", "zero_channels_csv", "read_channels"]

# the numeric columns of channels.csv: floats carry a unit, these are integers
_INTS = ("column", "mzi", "channel", "dac_code")
_FLOATS = tuple(c for c in COLUMNS if c in UNITS)


def channel_rows(chip: Chip) -> list[dict]:
    """One dict per channel, keys :data:`~photonn.export.chip.COLUMNS`; ``branch`` None
    where the shifter has none."""
    lists = channel_lists(chip)
    rows = []
    for i in range(len(lists["name"])):
        row = {c: lists[c][i] for c in COLUMNS}
        if row["branch"] < 0:
            row["branch"] = None
        rows.append(row)
    return rows


def _csv_value(v) -> str:
    if v is None:
        return ""
    return repr(v) if isinstance(v, float) else str(v)


def channels_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_csv_value(r[c]) for c in COLUMNS])
    return buf.getvalue()


def channels_json(chip: Chip, rows: list[dict]) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "chip": chip.name,
        "device": chip.profile.name,
        "dac_bits": chip.bits,
        "v_max_V": chip.profile["v_max"],
        "columns": list(COLUMNS),
        "units": {c: UNITS[c] for c in _FLOATS},
        "channels": rows,
        "channel_map": {r["name"]: r["channel"] for r in rows},
        "elements": [e._asdict() for e in chip.elements],
    }
    return json.dumps(doc, indent=1) + "\n"


def zero_channels_csv(rows: list[dict]) -> str:
    return "channel,name,dac_code,voltage_V\n" + "".join(
        f"{r['channel']},{r['name']},0,0.0\n" for r in rows
    )


def read_channels(path) -> list[dict]:
    """The rows of a ``channels.csv`` (a file, or a chip directory), parsed with the
    standard library: ints and floats converted, ``branch`` ``""`` -> -1."""
    p = Path(path)
    if p.is_dir():
        p = p / "channels.csv"
    if not p.is_file():
        raise FileNotFoundError(f"channel table {p} not found")
    with open(p, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for i, r in enumerate(rows):
        if list(r) != list(COLUMNS):
            raise ValueError(f"{p}: columns {list(r)} are not {list(COLUMNS)}")
        try:
            row = dict(r)
            row.update({k: int(r[k]) for k in _INTS})
            row.update({k: float(r[k]) for k in _FLOATS})
            row["branch"] = -1 if r["branch"] == "" else int(r["branch"])
        except (TypeError, ValueError):
            raise ValueError(f"{p}: row {i + 2} is malformed: {r}") from None
        out.append(row)
    return out
