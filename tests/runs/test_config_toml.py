"""The configuration's TOML text reads back with tomllib, whatever characters a path holds."""

from __future__ import annotations

import tomllib

import pytest

from photonn._toml import dumps
from photonn.runs import dump_config, load_config, resolve_config

# an emoji (outside the Basic Multilingual Plane), an accented letter, CJK, a quote,
# a backslash, a tab and a control character
ODD = '/data/\U0001f4f7 caméra/数据/"q"\\x\t\x01'


def test_config_with_a_non_bmp_path_reads_back(tmp_path):
    cfg = resolve_config(
        {"data": {"data_dir": ODD}, "optimizer": {"options": {"label": ODD, "é\U0001f600": 1}}}
    )
    text = dump_config(cfg)
    assert "\\ud83d" not in text.lower()  # no surrogate escape: TOML has none
    assert tomllib.loads(text)["data"]["data_dir"] == ODD
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    back = load_config(path)
    assert back == cfg
    assert back["optimizer"]["options"] == {"label": ODD, "é\U0001f600": 1}


@pytest.mark.parametrize(
    "value",
    [ODD, "", 0, -3, 0.1, 1e-300, float("inf"), True, [1, 2], ["a", ODD], {"k": [0.5]}],
)
def test_values_round_trip(value):
    assert tomllib.loads(dumps({"v": value, "t": {ODD: value}})) == {"v": value, "t": {ODD: value}}
