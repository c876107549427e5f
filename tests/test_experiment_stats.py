"""The statistics that every experiment's aggregate script reports (experiments/_stats.py)."""

import importlib.util
import math
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "experiments" / "_stats.py"
_spec = importlib.util.spec_from_file_location("experiments_stats", _PATH)
stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stats)


def test_seed_and_binomial_standard_errors_by_hand():
    # 90, 92, 94: mean 92, std 2 (n - 1), seed SE 2 / sqrt(3) = 1.1547;
    # binomial SE at p = 0.92 over 100 images: 100 sqrt(0.92 * 0.08 / 100) = 2.7129
    s = stats.accuracy_stats([90.0, 92.0, 94.0], 100)
    assert s["mean"] == pytest.approx(92.0, abs=1e-12)
    assert s["std"] == pytest.approx(2.0, abs=1e-12)
    assert s["seed_se"] == pytest.approx(2 / math.sqrt(3), abs=1e-12)
    assert s["binomial_se"] == pytest.approx(100 * math.sqrt(0.92 * 0.08 / 100), abs=1e-12)
    assert s["se"] == s["binomial_se"] and s["se_used"] == "binomial"
    # a large test set: the seed SE dominates
    big = stats.accuracy_stats([90.0, 92.0, 94.0], 10**7)
    assert big["se"] == big["seed_se"] and big["se_used"] == "seed"


def test_one_seed_uses_the_binomial_error_and_no_seed_spread():
    s = stats.accuracy_stats([50.0], 400)
    assert math.isnan(s["std"]) and math.isnan(s["seed_se"])
    assert s["se"] == pytest.approx(2.5, abs=1e-12)


def test_verdict_needs_more_than_two_standard_errors():
    assert stats.verdict(2.01, 1.0, "X") == "beats X"
    assert stats.verdict(2.0, 1.0, "X") == "matches X within noise"
    assert stats.verdict(-2.01, 1.0, "X") == "falls short of X"


def test_no_accuracies_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        stats.accuracy_stats([], 100)
