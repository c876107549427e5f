"""The TOML writer (the standard library reads TOML, it does not write it).

Writes tables (dicts), arrays of tables (lists of dicts), strings, booleans,
integers, floats (``repr``, so a float64 reads back bit for bit; ``inf`` and
``nan`` as TOML spells them) and arrays and inline tables of these. ``None``
values are left out (TOML has no null). Strings are written as UTF-8 text with
only ``"``, ``\\`` and control characters escaped, so every character, also one
outside the Basic Multilingual Plane, reads back with :mod:`tomllib`.
"""

from __future__ import annotations

import math
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def key(k) -> str:
    """A key: bare when it may be, else a quoted string."""
    k = str(k)
    return k if _BARE.match(k) else string(k)


def string(s: str) -> str:
    """A basic string: ``"``, ``\\`` and control characters escaped, the rest as it is."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def value(v) -> str:
    """A value: bool, int, float, str, list/tuple (an array) or dict (an inline table)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items() if x is not None)
        return "{" + items + "}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to TOML")


def _is_table_array(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def dumps(data: dict) -> str:
    """``data`` (a dict) as TOML text: plain keys first, then one ``[table]`` per dict."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"


def _table(data: dict, path: list[str], lines: list[str]) -> None:
    for k, v in data.items():
        if v is not None and not isinstance(v, dict) and not _is_table_array(v):
            lines.append(f"{key(k)} = {value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            sub = path + [key(k)]
            lines.append("")
            lines.append(f"[{'.'.join(sub)}]")
            _table(v, sub, lines)
        elif _is_table_array(v):
            sub = path + [key(k)]
            for item in v:
                lines.append("")
                lines.append(f"[[{'.'.join(sub)}]]")
                _table(item, sub, lines)
