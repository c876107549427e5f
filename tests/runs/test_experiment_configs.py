"""Every configuration shipped with an experiment resolves against the current schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from photonn.runs import load_config

ROOT = Path(__file__).resolve().parents[2] / "experiments"
CONFIGS = sorted(ROOT.glob("*/configs/*.toml")) + sorted(ROOT.glob("*/config.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_experiment_config_resolves(path):
    cfg = load_config(path, ["data.data_dir=/data"])
    assert cfg["model"]["kind"]
