"""A small TOML reader for Python 3.10, which has no ``tomllib``.

It reads the subset of TOML that device profiles use: comments, bare or quoted
keys (dotted keys too), basic and literal strings (single line), integers,
floats, booleans, arrays (nested, spanning lines, trailing comma allowed),
inline tables, and ``[table]`` / ``[a.b]`` headers. Anything else (multi-line
strings, dates, arrays of tables) raises a ``ValueError`` naming the line; on
Python >= 3.11 photonn uses the standard ``tomllib`` instead.
"""

from __future__ import annotations

import re

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_NUMBER = re.compile(
    r"[+-]?(?:inf|nan|0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+|"
    r"(?:\d[\d_]*)(?:\.\d[\d_]*)?(?:[eE][+-]?\d[\d_]*)?)"
)
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class _Parser:
    def __init__(self, text: str, source: str):
        self.s = text.replace("\r\n", "\n")
        self.i = 0
        self.source = source

    # -- helpers -------------------------------------------------------------
    def error(self, msg: str) -> ValueError:
        line = self.s.count("\n", 0, self.i) + 1
        return ValueError(f"{self.source}, line {line}: {msg}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_ws_comments_newlines(self) -> None:
        while True:
            c = self.peek()
            if c in (" ", "\t", "\n"):
                self.i += 1
            elif c == "#":
                while self.peek() not in ("\n", ""):
                    self.i += 1
            else:
                return

    def end_of_line(self) -> None:
        self.skip_ws()
        if self.peek() == "#":
            while self.peek() not in ("\n", ""):
                self.i += 1
        if self.peek() not in ("\n", ""):
            raise self.error(f"unexpected {self.s[self.i :].splitlines()[0]!r} after a value")

    # -- grammar -------------------------------------------------------------
    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip_ws()
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                m = _BARE.match(self.s, self.i)
                if not m:
                    raise self.error("expected a key")
                parts.append(m.group())
                self.i = m.end()
            self.skip_ws()
            if self.peek() != ".":
                return parts
            self.i += 1

    def string(self) -> str:
        quote = self.peek()
        if self.s.startswith(quote * 3, self.i):
            raise self.error("multi-line strings are not supported by the Python 3.10 reader")
        self.i += 1
        out = []
        while True:
            c = self.peek()
            if c in ("", "\n"):
                raise self.error("unterminated string")
            self.i += 1
            if c == quote:
                return "".join(out)
            if c == "\\" and quote == '"':
                e = self.peek()
                self.i += 1
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                elif e in ("u", "U"):
                    n = 4 if e == "u" else 8
                    code = self.s[self.i : self.i + n]
                    if not re.fullmatch(r"[0-9A-Fa-f]+", code) or len(code) != n:
                        raise self.error(f"bad unicode escape \\{e}{code}")
                    out.append(chr(int(code, 16)))
                    self.i += n
                else:
                    raise self.error(f"unknown escape \\{e}")
            else:
                out.append(c)

    def value(self):
        self.skip_ws()
        c = self.peek()
        if c in ('"', "'"):
            return self.string()
        if c == "[":
            return self.array()
        if c == "{":
            return self.inline_table()
        for word, val in (("true", True), ("false", False)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val
        m = _NUMBER.match(self.s, self.i)
        if not m or not m.group():
            raise self.error("expected a value (string, number, boolean, array or table)")
        text = m.group()
        self.i = m.end()
        if self.peek() in ("-", ":", "T") and re.fullmatch(r"\d+", text):
            raise self.error("dates and times are not supported by the Python 3.10 reader")
        body = text.lstrip("+-").replace("_", "")
        sign = -1 if text.startswith("-") else 1
        if body[:2] in ("0x", "0o", "0b"):
            return sign * int(body[2:], {"0x": 16, "0o": 8, "0b": 2}[body[:2]])
        if body in ("inf", "nan") or any(ch in body for ch in ".eE"):
            return float(text.replace("_", ""))
        if len(body) > 1 and body.startswith("0"):
            raise self.error(f"leading zeros are not allowed in TOML integers: {text}")
        return int(text.replace("_", ""))

    def array(self) -> list:
        self.i += 1
        out = []
        while True:
            self.skip_ws_comments_newlines()
            if self.peek() == "]":
                self.i += 1
                return out
            out.append(self.value())
            self.skip_ws_comments_newlines()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c == "]":
                self.i += 1
                return out
            else:
                raise self.error("expected ',' or ']' in an array")

    def inline_table(self) -> dict:
        self.i += 1
        out: dict = {}
        self.skip_ws()
        if self.peek() == "}":
            self.i += 1
            return out
        while True:
            parts = self.key()
            if self.peek() != "=":
                raise self.error("expected '=' after a key")
            self.i += 1
            self.assign(out, parts, self.value())
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return out
            if c != ",":
                raise self.error("expected ',' or '}' in an inline table")

    def assign(self, table: dict, parts: list[str], value) -> None:
        for p in parts[:-1]:
            table = table.setdefault(p, {})
            if not isinstance(table, dict):
                raise self.error(f"key {'.'.join(parts)!r} redefines a value as a table")
        if parts[-1] in table:
            raise self.error(f"duplicate key {'.'.join(parts)!r}")
        table[parts[-1]] = value

    def document(self) -> dict:
        root: dict = {}
        current = root
        seen_tables = set()
        while True:
            self.skip_ws_comments_newlines()
            if self.i >= len(self.s):
                return root
            if self.peek() == "[":
                if self.s.startswith("[[", self.i):
                    raise self.error("arrays of tables are not supported by the Python 3.10 reader")
                self.i += 1
                parts = self.key()
                if self.peek() != "]":
                    raise self.error("expected ']' after a table name")
                self.i += 1
                self.end_of_line()
                name = ".".join(parts)
                if name in seen_tables:
                    raise self.error(f"table [{name}] defined twice")
                seen_tables.add(name)
                current = root
                for p in parts:
                    current = current.setdefault(p, {})
                    if not isinstance(current, dict):
                        raise self.error(f"table [{name}] redefines a value")
                continue
            parts = self.key()
            if self.peek() != "=":
                raise self.error("expected '=' after a key")
            self.i += 1
            self.assign(current, parts, self.value())
            self.end_of_line()


def loads(text: str, source: str = "<string>") -> dict:
    """Parse TOML ``text`` (the subset described in the module docstring) into a dict."""
    return _Parser(text, source).document()
