"""Run directories written before the run layer (configuration schema 1) still work.

``fixtures/run_v1`` was written by ``photonn train`` at commit 7aaaeff (the last
release of the D2NN-only training layer): a 20x20 D2NN on 128 embedded images,
one epoch, ``optimizer.lr_decay = 0.5``. ``fixtures/run_v1_resumed_to_2_epochs.h5``
is the checkpoint that the same old code wrote when it resumed that run to two
epochs. The current code must evaluate the run and resume it to the same bits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from photonn.cli import main
from photonn.runs import stored_config
from photonn.training import load_checkpoint

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _copy(tmp_path) -> Path:
    run = tmp_path / "run_v1"
    shutil.copytree(FIXTURES / "run_v1", run)
    return run


def test_old_run_reads_as_trained(tmp_path):
    cfg = stored_config(_copy(tmp_path))
    assert cfg["model"]["kind"] == "d2nn"
    assert cfg["data"]["validation"] == 0 and cfg["keep_best"] == ""
    assert cfg["optimizer"]["lr_decay"] == 0.5


def test_old_run_evaluates(tmp_path, capsys):
    run = _copy(tmp_path)
    assert main(["eval", str(run)]) == 0
    out = json.loads((run / "eval.json").read_text())
    # the accuracy the old code printed after its one epoch
    assert out["accuracy"] == 0.109375 and out["samples"] == 64


def test_old_run_resumes_bit_identically(tmp_path):
    run = _copy(tmp_path)
    assert main(["train", "--run-dir", str(run), "--resume", "--set", "epochs=2"]) == 0
    new = load_checkpoint(run / "checkpoint.h5")
    ref = load_checkpoint(FIXTURES / "run_v1_resumed_to_2_epochs.h5")
    assert new["step"] == ref["step"] == 8
    for k, v in ref["model"].items():
        assert torch.equal(new["model"][k], v), k
    for a, b in zip(new["history"], ref["history"]):
        assert a["train_loss"] == b["train_loss"] and a["lr"] == b["lr"]
    # the resumed run now carries the current schema
    assert "schema = 2" in (run / "config.toml").read_text()
