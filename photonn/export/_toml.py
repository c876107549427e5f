"""A small TOML writer for the manifest (the standard library reads TOML, it does not write it).

Supports what a manifest holds: tables (dicts), arrays of tables (lists of dicts),
strings, booleans, integers, floats (``repr``, so a float64 reads back bit for
bit; ``inf`` and ``nan`` as TOML spells them) and arrays of these. ``None`` values
are left out (TOML has no null).
"""

from __future__ import annotations

import math
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k) -> str:
    k = str(k)
    return k if _BARE.match(k) else _string(k)


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(v) -> str:
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
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None)
        return "{" + items + "}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to TOML")


def _is_table_array(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def dumps(data: dict) -> str:
    """``data`` (a dict) as TOML text."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"


def _table(data: dict, path: list[str], lines: list[str]) -> None:
    plain = {
        k: v
        for k, v in data.items()
        if v is not None and not isinstance(v, dict) and not _is_table_array(v)
    }
    for k, v in plain.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            sub = path + [_key(k)]
            lines.append("")
            lines.append(f"[{'.'.join(sub)}]")
            _table(v, sub, lines)
        elif _is_table_array(v):
            sub = path + [_key(k)]
            for item in v:
                lines.append("")
                lines.append(f"[[{'.'.join(sub)}]]")
                _table(item, sub, lines)
