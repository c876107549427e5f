"""``photonn train`` / ``photonn eval`` through ``photonn.cli.main`` on a tiny D2NN."""

from __future__ import annotations

import json

import pytest
import torch

from photonn.cli import main
from photonn.training import load_checkpoint

TINY = """
epochs = 2
batch_size = 32
progress = false
pictures = false

[data]
dataset = "embedded"
train_limit = 128
test_limit = 64

[model]
size = 20
distance_m = 0.005
method = "bl-asm"
input_size = 10
detector_size = 2
detector_span = 0.8

[optimizer]
lr = 0.05
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_train_then_eval(tmp_path, tiny, capsys):
    pytest.importorskip("matplotlib")
    run = tmp_path / "run"
    assert main(["train", str(tiny), "--run-dir", str(run), "--set", "pictures=true"]) == 0
    out = capsys.readouterr().out
    for name in ("config.toml", "checkpoint.h5", "metrics.json", "metrics.csv"):
        assert (run / name).is_file(), name
    for name in ("phase_masks.png", "planes.png", "detector.png", "curves.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG", name
    hist = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[1]["train_loss"] < hist[0]["train_loss"]  # it learns
    acc = hist[-1]["test_accuracy"]
    assert f"test accuracy: {acc:.4f}" in out
    assert (run / "metrics.csv").read_text().splitlines()[0].startswith("epoch,step,train_loss")
    assert "size = 20" in (run / "config.toml").read_text()  # resolved config written

    assert main(["eval", str(run)]) == 0
    assert f"test accuracy: {acc:.4f} (64 images of embedded" in capsys.readouterr().out
    assert json.loads((run / "eval.json").read_text())["accuracy"] == acc


def test_resume_continues_exactly(tmp_path, tiny):
    full, split = tmp_path / "full", tmp_path / "split"
    assert main(["train", str(tiny), "--run-dir", str(full)]) == 0
    assert main(["train", str(tiny), "--run-dir", str(split), "--set", "epochs=1"]) == 0
    assert load_checkpoint(split / "checkpoint.h5")["epoch"] == 1
    assert main(["train", "--run-dir", str(split), "--resume", "--set", "epochs=2"]) == 0
    a = load_checkpoint(full / "checkpoint.h5")
    b = load_checkpoint(split / "checkpoint.h5")
    assert a["step"] == b["step"] == 8
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    ha = json.loads((full / "metrics.json").read_text())
    hb = json.loads((split / "metrics.json").read_text())
    assert [h["train_loss"] for h in ha] == [h["train_loss"] for h in hb]
    assert [h["test_accuracy"] for h in ha] == [h["test_accuracy"] for h in hb]


def test_errors(tmp_path, tiny, capsys):
    assert (
        main(["train", str(tiny), "--set", "model.sise=3", "--run-dir", str(tmp_path / "x")]) == 2
    )
    assert "unknown config key 'model.sise'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["train", "--resume"]) == 2
    assert "--resume needs --run-dir" in capsys.readouterr().err
    assert main(["train", "--resume", "--run-dir", str(tmp_path / "none")]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(["train", str(tiny), "--run-dir", str(run), "--set", "epochs=1"]) == 0
    assert main(["train", str(tiny), "--run-dir", str(run)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(run), "--resume", "--set", "model.size=32"]) == 2
    assert "only [" in capsys.readouterr().err


def test_print_config_is_a_valid_config(tmp_path, capsys):
    from photonn.training import load_config, resolve_config

    assert main(["train", "--print-config", "--set", "model.num_layers=3"]) == 0
    path = tmp_path / "c.toml"
    path.write_text(capsys.readouterr().out)
    assert load_config(path) == resolve_config({"model": {"num_layers": 3}})
