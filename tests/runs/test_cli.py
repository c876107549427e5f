"""``photonn train`` / ``photonn eval`` through ``photonn.cli.main`` on tiny models."""

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
train_limit = 160
test_limit = 64
validation = 32

[model]
size = 20
distance_m = 0.005
method = "bl-asm"
input_size = 10
region_size_m = 8e-4
span = 0.8

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
    assert all("val_accuracy" in h and "test_accuracy" not in h for h in hist)
    assert hist[-1]["train_samples"] == 128  # 160 - 32 held out for validation
    res = json.loads((run / "results.json").read_text())
    acc = res["final"]["test_accuracy"]
    assert f"test accuracy: {acc:.4f}" in out
    best = res["best"]
    assert best["chosen_by"] == "val_accuracy"
    assert best["val_accuracy"] == max(h["val_accuracy"] for h in hist)
    assert f"test accuracy {best['test_accuracy']:.4f}" in out
    assert (run / "metrics.csv").read_text().splitlines()[0].startswith("epoch,step,train_loss")
    assert "size = 20" in (run / "config.toml").read_text()  # resolved config written

    assert main(["eval", str(run)]) == 0
    assert f"test accuracy: {acc:.4f} (64 images of embedded" in capsys.readouterr().out
    assert json.loads((run / "eval.json").read_text())["accuracy"] == acc
    assert main(["eval", str(run), "--which", "best", "--split", "validation"]) == 0
    assert f"validation accuracy: {best['val_accuracy']:.4f} (32 images" in (
        capsys.readouterr().out
    )


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
    assert [h["val_accuracy"] for h in ha] == [h["val_accuracy"] for h in hb]
    ra = json.loads((full / "results.json").read_text())
    rb = json.loads((split / "results.json").read_text())
    assert ra == rb


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
    # a run directory that is a file, or lies below one, is refused before any work
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["train", str(tiny), "--run-dir", str(f)]) == 2
    assert f"--run-dir {f} is a file, not a directory" in capsys.readouterr().err
    assert main(["train", str(tiny), "--run-dir", str(f / "run")]) == 2
    assert f"--run-dir {f / 'run'} lies below {f}, which is a file" in capsys.readouterr().err


def test_print_config_is_a_valid_config(tmp_path, capsys):
    from photonn.runs import load_config, resolve_config

    assert main(["train", "--print-config", "--set", "model.num_layers=3"]) == 0
    path = tmp_path / "c.toml"
    path.write_text(capsys.readouterr().out)
    assert load_config(path) == resolve_config({"model": {"num_layers": 3}})
    assert main(["train", "--print-config", "--set", "model.kind=photonic_mlp"]) == 0
    text = capsys.readouterr().out
    assert 'kind = "photonic_mlp"' in text and "hidden = [64]" in text


PHOTONIC = """
epochs = 2
batch_size = 32
progress = false
pictures = false
keep_best = "val_loss"
[data]
dataset = "embedded"
train_limit = 320
test_limit = 100
validation = 64
[model]
kind = "photonic_mlp"
features = 4
hidden = [16]
[optimizer]
name = "adamw"
lr = 0.02
weight_decay = 0.01
[scheduler]
name = "cosine"
interval = "step"
"""


def test_photonic_mlp_kind_with_a_cosine_schedule(tmp_path, capsys):
    """A second model kind through the same run layer; AdamW and a per-step cosine schedule."""
    path = tmp_path / "p.toml"
    path.write_text(PHOTONIC)
    run = tmp_path / "run"
    assert main(["train", str(path), "--run-dir", str(run)]) == 0
    hist = json.loads((run / "metrics.json").read_text())
    assert hist[1]["train_loss"] < hist[0]["train_loss"]
    # cosine over 2 epochs x 8 steps: the rate used at the last step of epoch 1 is
    # eta(7) = 0.01 (1 + cos(7 pi / 16)) of lr 0.02
    import math

    assert hist[0]["lr"] == pytest.approx(0.01 * (1 + math.cos(7 * math.pi / 16)), rel=1e-12)
    ck = load_checkpoint(run / "checkpoint.h5")
    assert ck["scheduler"]["last_epoch"] == 16
    assert ck["optimizer"]["param_groups"][0]["weight_decay"] == 0.01
    res = json.loads((run / "results.json").read_text())
    assert res["best"]["chosen_by"] == "val_loss"
    assert res["final"]["test_accuracy"] > 0.2  # chance is 0.1
    out = capsys.readouterr().out
    assert "best epoch" in out


def test_tensorboard_sink(tmp_path, tiny, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    assert main(["train", str(tiny), "--run-dir", str(run), "--log", "tensorboard"]) == 0
    files = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert files
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "epoch/train_loss" in tags and "epoch/val_accuracy" in tags
    hist = json.loads((run / "metrics.json").read_text())
    events = acc.Scalars("epoch/train_loss")
    assert [e.step for e in events] == [h["step"] for h in hist]
    assert [e.value for e in events] == pytest.approx([h["train_loss"] for h in hist], rel=1e-6)


def test_tensorboard_missing_names_the_extra(tmp_path, tiny, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    run = tmp_path / "run"
    assert main(["train", str(tiny), "--run-dir", str(run), "--log", "tensorboard"]) == 2
    assert "photonn[tensorboard]" in capsys.readouterr().err
    assert not run.exists()  # refused before anything was written


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("multivariate", ["model.image_size=7", "model.flip=0.5", "model.erase=0.25"]),
        ("isomorphic", ["model.image_size=7"]),
        ("coupled_mode", ["model.image_size=7", "model.hidden_modes=4"]),
        ("mlp", ["model.image_size=7", "model.hidden=[16]"]),
    ],
)
def test_every_kind_trains_through_the_cli(tmp_path, kind, extra):
    run = tmp_path / kind
    args = ["train", "--run-dir", str(run), "--set", f"model.kind={kind}"]
    for item in [
        "epochs=1",
        "progress=false",
        "pictures=false",
        "data.train_limit=96",
        "data.test_limit=32",
        "data.validation=32",
        *extra,
    ]:
        args += ["--set", item]
    assert main(args) == 0
    res = json.loads((run / "results.json").read_text())
    assert 0.0 <= res["final"]["test_accuracy"] <= 1.0 and "best" in res
    # and it resumes from its checkpoint (the augmentation generator included)
    assert main(["train", "--run-dir", str(run), "--resume", "--set", "epochs=2"]) == 0
