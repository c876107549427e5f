"""Run directories written before the run layer (configuration schema 1) still work.

``fixtures/run_v1`` was written by ``photonn train`` at commit 7aaaeff (the last
release of the D2NN-only training layer): a 20x20 D2NN on 128 embedded images,
one epoch, ``optimizer.lr_decay = 0.5``. ``fixtures/run_v1_resumed_to_2_epochs.h5``
is the checkpoint that the same old code wrote when it resumed that run to two
epochs. The current code must load the run, evaluate it and resume it.

What is exact and what is not. The fixtures were computed on one CPU; torch picks
its float kernels by instruction set (AVX-512, AVX2, scalar), so another machine
rounds differently in the last bits, and torch promises no bit-identity across
machines. Hence:

- resuming is compared bit for bit (``torch.equal``) only with an uninterrupted
  run that this test computes in the same process;
- numbers stored in the fixtures are compared within a tolerance derived here.
  Per training step the two machines' gradients may differ by ``256 eps`` of the
  largest entry (``eps`` of float32; the bound ``tests/test_compile.py`` derives
  for reordered float32 kernels along a D2NN's forward and backward chain); Adam
  passes a relative change of the gradient on to its step of size ``<= lr``, and
  the update itself rounds within ``eps |p|``. Over the ``n`` steps taken since
  the stored checkpoint: ``|p - p_ref| <= n (256 lr + max|p|) eps`` (for the
  4 steps here: 7.1e-6), and the training loss within ``n 256 eps`` relative;
- a stored accuracy may change only by the test samples whose two largest
  outputs are closer than the forward pass's rounding (``64 eps`` of the largest
  output, the forward bound of ``tests/test_compile.py``).

Measured: the resumed masks differ from the fixture by at most 8.9e-8 (0.75 eps)
on an AVX-512 CPU natively and with ``ATEN_CPU_CAPABILITY`` set to ``avx2`` or
``default``; no test sample is that close to a tie, so the stored accuracy is met
exactly there. CI runs this file with both settings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from photonn.cli import main
from photonn.runs import load_data, load_run, stored_config
from photonn.runs.config import SCHEMA_VERSION
from photonn.training import load_checkpoint
from photonn.training.data import as_input

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EPS = torch.finfo(torch.float32).eps
FORWARD_ULPS = 64  # rounding bound of one forward pass, in eps of the largest output
GRADIENT_ULPS = 256  # rounding bound of one gradient, in eps of its largest entry


def _copy(tmp_path) -> Path:
    run = tmp_path / "run_v1"
    shutil.copytree(FIXTURES / "run_v1", run)
    return run


def _params_close(new: dict, ref: dict, steps: int, lr: float) -> None:
    """``new`` equals ``ref`` within ``steps`` training steps' float32 rounding."""
    assert new.keys() == ref.keys()
    scale = max(v.abs().max().item() for v in ref.values())
    tol = steps * (GRADIENT_ULPS * lr + scale) * EPS
    for k, v in ref.items():
        assert new[k].shape == v.shape and new[k].dtype == v.dtype, k
        diff = (new[k] - v).abs().max().item()
        assert diff <= tol, f"{k}: differs from the fixture by {diff:.3g} > {tol:.3g}"


def test_old_run_reads_as_trained(tmp_path):
    cfg = stored_config(_copy(tmp_path))
    assert cfg["model"]["kind"] == "d2nn"
    assert cfg["data"]["validation"] == 0 and cfg["keep_best"] == ""
    assert cfg["optimizer"]["lr_decay"] == 0.5


def test_old_run_evaluates(tmp_path, capsys):
    """``photonn eval`` of the old run gives its stored test accuracy (up to the samples
    whose decision is within rounding) and loss (within one forward pass's rounding)."""
    run = _copy(tmp_path)
    assert main(["eval", str(run)]) == 0
    out = json.loads((run / "eval.json").read_text())
    stored = json.loads((run / "metrics.json").read_text())[-1]
    assert out["samples"] == 64
    # the same numbers, computed here from the loaded model
    cfg, model = load_run(run)
    x, y = load_data(cfg).test
    with torch.no_grad():
        scores = model(as_input(x, "cpu"))
    correct = int((scores.argmax(-1) == y).sum())
    assert out["accuracy"] == correct / 64
    # the accuracy the old code printed after its one epoch (7 of 64), on another CPU
    assert stored["test_accuracy"] == 0.109375
    top2 = scores.topk(2, dim=-1).values
    ties = int((top2[:, 0] - top2[:, 1] <= FORWARD_ULPS * EPS * scores.abs().max()).sum())
    assert abs(correct - 7) <= ties, (correct, ties)
    assert out["loss"] == pytest.approx(stored["test_loss"], rel=FORWARD_ULPS * EPS)


def test_old_run_resumes_as_the_old_code_did(tmp_path):
    """Resumed to two epochs, the old run matches the checkpoint the old code wrote,
    within the rounding of the steps taken since the stored one (module docstring)."""
    run = _copy(tmp_path)
    assert main(["train", "--run-dir", str(run), "--resume", "--set", "epochs=2"]) == 0
    new = load_checkpoint(run / "checkpoint.h5")
    ref = load_checkpoint(FIXTURES / "run_v1_resumed_to_2_epochs.h5")
    start = load_checkpoint(FIXTURES / "run_v1" / "checkpoint.h5")
    assert new["step"] == ref["step"] == 8 and start["step"] == 4
    lr = max(h["lr"] for h in ref["history"])
    _params_close(new["model"], ref["model"], ref["step"] - start["step"], lr)
    assert len(new["history"]) == len(ref["history"]) == 2
    # the first epoch is the stored one, carried over; the second was computed here
    assert new["history"][0]["train_loss"] == ref["history"][0]["train_loss"]
    a, b = new["history"][1], ref["history"][1]
    steps = ref["step"] - start["step"]
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=steps * GRADIENT_ULPS * EPS)
    assert [h["lr"] for h in new["history"]] == [h["lr"] for h in ref["history"]]
    # the resumed run now carries the current schema
    assert f"schema = {SCHEMA_VERSION}" in (run / "config.toml").read_text()


def test_old_configuration_resumes_bit_identically_on_this_machine(tmp_path):
    """The old run's configuration, trained here one epoch and resumed to two, gives the
    bits of an uninterrupted two-epoch run (both computed in this process)."""
    config = FIXTURES / "run_v1" / "config.toml"
    split, whole = tmp_path / "split", tmp_path / "whole"
    assert main(["train", str(config), "--run-dir", str(split), "--set", "epochs=1"]) == 0
    assert main(["train", "--run-dir", str(split), "--resume", "--set", "epochs=2"]) == 0
    assert main(["train", str(config), "--run-dir", str(whole), "--set", "epochs=2"]) == 0
    a, b = load_checkpoint(split / "checkpoint.h5"), load_checkpoint(whole / "checkpoint.h5")
    assert a["step"] == b["step"] == 8
    assert a["model"].keys() == b["model"].keys()
    for k, v in b["model"].items():
        assert torch.equal(a["model"][k], v), k
    skip = {"train_samples_per_s", "train_time_s"}
    assert [{k: v for k, v in h.items() if k not in skip} for h in a["history"]] == [
        {k: v for k, v in h.items() if k not in skip} for h in b["history"]
    ]
