"""photonn train --dry-run: prints an estimate, trains nothing, refuses what cannot fit."""

from __future__ import annotations

import sys

import pytest

from photonn.cli import main
from photonn.runs import resolve_config
from photonn.runs.estimate import _measure, estimate_run

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="peak memory is read from Linux /proc"
)

TINY = [
    "model.num_layers=2",
    "batch_size=8",
    "model.size=40",
    "model.input_size=20",
    "model.region_size_m=8e-4",
]


def _args(settings):
    return [a for s in settings for a in ("--set", s)]


def test_dry_run_prints_estimate_and_trains_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dry-run", "--run-dir", str(tmp_path / "run"), *_args(TINY)]) == 0
    out = capsys.readouterr().out
    assert "estimated peak memory:" in out and "MiB" in out
    assert "estimated time of one training step:" in out and "masks.0.raw" in out
    assert "nothing trained" in out
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()


def test_absurd_configuration_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    absurd = ["model.size=60000", "model.input_size=100", "batch_size=4096", "model.num_layers=2"]
    assert main(["train", "--dry-run", *_args(absurd)]) == 2
    err = capsys.readouterr().err
    assert "exceeds the available memory" in err
    for key in ("batch_size", "model.size", "model.recompute"):
        assert key in err
    assert not (tmp_path / "runs").exists()


def test_estimate_within_2x_of_measured_peak(tmp_path):
    """A D2NN at twice the probe size (256 neurons: measured at 128, memory x4) at batch
    16 (extrapolated from batches 2 and 4): the estimated peak lies within a factor 2 of
    the peak measured by running that configuration, and so do the part above the
    process's base (interpreter, torch, data) and the training step's own extra, the
    part that grows with grid and batch."""
    from photonn.runs import dump_config

    cfg = resolve_config(
        None,
        [
            "model.size=256",
            "model.input_size=128",
            "batch_size=16",
            "model.num_layers=3",
            "model.region_size_m=8e-4",
        ],
    )
    est = estimate_run(cfg)
    path = tmp_path / "config.toml"
    path.write_text(dump_config(cfg))
    real = _measure(path, [], 2)
    peak = real["rss0"] + real["extra"]
    assert 0.5 * peak <= est.peak_bytes <= 2 * peak, (est.peak_bytes, peak)
    grown, est_grown = peak - real["rss_base"], est.peak_bytes - est.base_bytes
    assert 0.5 * grown <= est_grown <= 2 * grown, (est_grown, grown)
    step = real["extra"]
    assert 0.5 * step <= est.step_extra_bytes <= 2 * step, (est.step_extra_bytes, step)
