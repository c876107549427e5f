"""Plain ``photonn train`` refuses, before training, a configuration whose memory
estimate exceeds the available memory; ``--force`` trains anyway."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

import photonn.runs.estimate as estimate
from photonn.cli import main
from photonn.runs import load_config

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="memory is read from Linux /proc"
)

TINY = """
epochs = 1
batch_size = 16
progress = false
pictures = false

[data]
dataset = "embedded"
train_limit = 32
test_limit = 16
validation = 16

[model]
size = 20
num_layers = 2
distance_m = 0.005
method = "bl-asm"
input_size = 10
region_size_m = 8e-4
span = 0.8
"""
# a D2NN of 60000^2 neurons at batch 4096: terabytes
HUGE = ["model.size=60000", "model.input_size=100", "batch_size=4096", "model.num_layers=2"]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _status_kib(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _args(settings):
    return [a for s in settings for a in ("--set", s)]


def test_huge_configuration_is_refused_cheaply(tmp_path, tiny, capsys, monkeypatch):
    """Refused with the estimate, the available memory, the keys to change and the
    escape hatch named; nothing trained or written; the check allocates no more than
    a small model's worth (resident high-water mark within 200 MiB) and takes seconds."""
    monkeypatch.chdir(tmp_path)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    rss, t0 = _status_kib("VmRSS"), time.perf_counter()
    run = tmp_path / "run"
    assert main(["train", str(tiny), "--run-dir", str(run), *_args(HUGE)]) == 2
    took, grown = time.perf_counter() - t0, (_status_kib("VmHWM") - rss) / 1024
    err = capsys.readouterr().err
    assert "exceeds the available memory" in err
    m = re.search(r"peak memory, (\d+) MiB, exceeds the available memory, (\d+) MiB", err)
    assert m, err
    est = estimate.quick_estimate(load_config(tiny, HUGE))  # again (the base RSS moves)
    assert int(m[1]) == pytest.approx(est.peak_bytes / 2**20, rel=1e-3)
    assert int(m[2]) == pytest.approx(estimate.available_memory() / 2**20, rel=0.2)
    for key in ("batch_size", "model.size", "model.recompute", "--force", "--dry-run"):
        assert key in err, key
    assert not run.exists() and not (tmp_path / "runs").exists()
    assert grown < 200, f"the check grew the resident peak by {grown:.0f} MiB"
    assert took < 60


def test_force_trains_what_the_estimate_refuses(tmp_path, tiny, capsys, monkeypatch):
    """With the available memory reported as 1 MiB, the tiny run is refused; --force
    trains it all the same."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(estimate, "available_memory", lambda: 2**20)
    run = tmp_path / "run"
    assert main(["train", str(tiny), "--run-dir", str(run)]) == 2
    assert "available memory, 1 MiB" in capsys.readouterr().err
    assert not run.exists()
    assert main(["train", str(tiny), "--run-dir", str(run), "--force"]) == 0
    assert (run / "checkpoint.h5").is_file()


def test_estimate_is_below_the_measured_peak_and_fits(tiny):
    """At a size the check builds as configured (96 neurons per side, batch 32): the
    estimate above the process's base stays below the measured full-size peak above
    the measuring process's base (it leaves out the backward's transients and the
    libraries' lazy initialisation), and its activation part is within a factor 2 of
    the step's measured extra memory (the saved tensors are what the step holds at
    the end of forward). So a run that fits is not refused."""
    from photonn.runs.estimate import _measure

    over = ["model.size=96", "model.input_size=48", "batch_size=32"]
    est = estimate.quick_estimate(load_config(tiny, over))
    assert est.fits and est.peak_bytes is not None
    real = _measure(tiny, over, 2)
    grown = real["rss0"] + real["extra"] - real["rss_base"]
    assert est.peak_bytes - est.base_bytes <= grown, (est.peak_bytes, grown)
    step = real["extra"]
    assert step / 2 <= est.step_extra_bytes <= 2 * step, (est.step_extra_bytes, step)
