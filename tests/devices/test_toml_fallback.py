"""The TOML reader used on Python 3.10 (no tomllib): the subset profiles use, and clear
errors for what it does not support."""

from __future__ import annotations

import math
import sys

import pytest

from photonn.devices._toml import loads

DOC = r"""
# comment
a = 1
b = -2.5e-3   # trailing comment
c = "text with \"quotes\" and \u00b5"
d = 'literal \n'
e = [1, 2,
     3,  # inside an array
]
f = true
g = [[1, 2], ["x"]]
h = { x = 1, y = "z" }
"quoted key" = 1_000
i = +inf
j = 0x1F
k.l = 4

[t]
m = 1.0
[t.u]
n = false
"""


def test_subset_parses():
    out = loads(DOC)
    assert out["a"] == 1 and isinstance(out["a"], int)
    assert out["b"] == -2.5e-3
    assert out["c"] == 'text with "quotes" and \u00b5'
    assert out["d"] == "literal \\n"
    assert out["e"] == [1, 2, 3] and out["f"] is True
    assert out["g"] == [[1, 2], ["x"]] and out["h"] == {"x": 1, "y": "z"}
    assert out["quoted key"] == 1000 and math.isinf(out["i"]) and out["j"] == 31
    assert out["k"] == {"l": 4}
    assert out["t"] == {"m": 1.0, "u": {"n": False}}


def test_matches_tomllib():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is the reference (Python >= 3.11)")
    import tomllib

    assert loads(DOC) == tomllib.loads(DOC)


@pytest.mark.parametrize(
    "text, match",
    [
        ("a = 1\na = 2\n", "line 2: duplicate key 'a'"),
        ("a = \n", "line 1: expected a value"),
        ('a = "open\n', "unterminated string"),
        ('a = """x"""\n', "multi-line strings are not supported"),
        ("a = 1979-05-27\n", "dates and times are not supported"),
        ("[[t]]\n", "arrays of tables are not supported"),
        ("a = 1 2\n", "unexpected"),
        ("a = [1 2]\n", "expected ',' or ']'"),
        ("[t]\n[t]\n", r"table \[t\] defined twice"),
        ("a = 012\n", "leading zeros"),
        ("= 1\n", "expected a key"),
    ],
)
def test_errors_name_the_line(text, match):
    with pytest.raises(ValueError, match=match) as err:
        loads(text, "f.toml")
    assert "f.toml, line" in str(err.value)
