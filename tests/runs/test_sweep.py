"""``photonn sweep``: the grid, one run directory per point, the summary table, both backends.

The local backend (in-process, one point after another) runs in the default
suite; the Ray Tune backend runs where the optional extra ``photonn[sweep]`` is
installed (it starts a local Ray, about 30-60 s on a loaded 2-core machine), and
must run where ``PHOTONN_TEST_REQUIRE`` includes ``sweep`` (CI sets it).
"""

from __future__ import annotations

import json
import sys

import pytest
import torch

from photonn.cli import main
from photonn.runs import sweep as sw
from photonn.training import load_checkpoint

TINY = """
epochs = 2
batch_size = 32
progress = false
pictures = false
threads = 1

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
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_grid_values_split_outside_brackets_and_quotes():
    assert sw.split_values("0.01,0.03") == ["0.01", "0.03"]
    assert sw.split_values("[16],[32, 32]") == ["[16]", "[32, 32]"]
    assert sw.split_values("'a,b',\"c\"") == ["'a,b'", '"c"']
    grid = sw.parse_grid(["optimizer.lr=0.01,0.03", "model.hidden=[16],[32,32]"])
    assert grid == [("optimizer.lr", ["0.01", "0.03"]), ("model.hidden", ["[16]", "[32,32]"])]


@pytest.mark.parametrize(
    "items, message",
    [
        ([], "at least one --grid"),
        (["optimizer.lr"], "key=v1,v2"),
        (["optimizer.lr=0.1,"], "empty key or value"),
        (["seed=1,1"], "repeats a value"),
        (["seed=1,2", "seed=3"], "names 'seed' twice"),
    ],
)
def test_grid_errors(items, message):
    with pytest.raises(ValueError, match=message):
        sw.parse_grid(items)


def test_points_are_the_product_and_are_validated_first(tmp_path, tiny):
    pts = sw.plan_sweep(tiny, ["optimizer.lr=0.01,0.03", "model.num_layers=1,2"], tmp_path)
    assert [(p.cfg["optimizer"]["lr"], p.cfg["model"]["num_layers"]) for p in pts] == [
        (0.01, 1),
        (0.01, 2),
        (0.03, 1),
        (0.03, 2),
    ]
    assert pts[3].name == "003-optimizer.lr=0.03-model.num_layers=2"
    assert len({p.run_dir for p in pts}) == 4
    with pytest.raises(ValueError, match=r"sweep point 1 \(model.size=0\).*model.size"):
        sw.plan_sweep(tiny, ["model.size=20,0"], tmp_path)


def test_local_sweep_trains_every_point_and_writes_the_summary(tmp_path, tiny, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", str(tiny), "--grid", "optimizer.lr=0.02,0.05", "--sweep-dir", str(out)]
    assert main([*args, "--backend", "local"]) == 0
    text = capsys.readouterr().out
    assert "2 points" in text and "(local)" in text and "| point | run_dir |" in text
    rows = json.loads((out / sw.SUMMARY_JSON).read_text())
    assert [r["optimizer.lr"] for r in rows] == ["0.02", "0.05"]
    assert all(r["status"] == "done" and r["epochs"] == 2 for r in rows)
    for r in rows:
        run = out / r["run_dir"]
        res = json.loads((run / "results.json").read_text())
        assert r["final_test_accuracy"] == res["final"]["test_accuracy"]
        assert r["best_test_accuracy"] == res["best"]["test_accuracy"]
        hist = json.loads((run / "metrics.json").read_text())
        assert r["best_val_accuracy"] == max(h["val_accuracy"] for h in hist)
    assert (out / sw.SUMMARY_CSV).read_text().startswith("point,run_dir,optimizer.lr,status")
    assert (out / sw.SUMMARY_MD).read_text() == sw.summary_markdown(rows)
    meta = json.loads((out / sw.SWEEP_FILE).read_text())
    assert meta["grid"] == {"optimizer.lr": ["0.02", "0.05"]} and meta["backend"] == "local"
    # a point is exactly the run `photonn train CONFIG --set optimizer.lr=0.05` makes
    ref = tmp_path / "ref"
    assert main(["train", str(tiny), "--run-dir", str(ref), "--set", "optimizer.lr=0.05"]) == 0
    a = load_checkpoint(ref / "checkpoint.h5")["model"]
    b = load_checkpoint(out / rows[1]["run_dir"] / "checkpoint.h5")["model"]
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    # running the sweep again keeps the finished points
    capsys.readouterr()
    assert main([*args, "--backend", "local"]) == 0
    assert capsys.readouterr().out.count("done earlier, kept") == 2
    again = json.loads((out / sw.SUMMARY_JSON).read_text())
    assert again == rows


def test_ray_backend_without_the_extra_names_it(tmp_path, tiny, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    args = ["sweep", str(tiny), "--grid", "seed=0,1", "--sweep-dir", str(tmp_path / "s")]
    assert main([*args, "--backend", "ray"]) == 2
    assert "pip install 'photonn[sweep]'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    assert main([*args, "--early-stop"]) == 2  # auto falls back to local: no early stopping
    assert "--early-stop" in capsys.readouterr().err


def test_a_sweep_dir_of_another_configuration_is_refused(tmp_path, tiny, capsys):
    out = tmp_path / "sweep"
    base = ["sweep", str(tiny), "--sweep-dir", str(out), "--backend", "local"]
    assert main([*base, "--grid", "optimizer.lr=0.05", "--set", "epochs=1"]) == 0
    assert main([*base, "--grid", "optimizer.lr=0.05", "--set", "seed=3"]) == 2
    assert "another configuration" in capsys.readouterr().err


def test_ray_sweep_with_early_stopping(ray_tune, tmp_path, tiny, capsys):
    """Two points on a local Ray, one at a time: the good one trains to the end, ASHA stops
    the poor one after its first epoch; the table is the local backend's."""
    out = tmp_path / "ray"
    args = ["sweep", str(tiny), "--grid", "optimizer.lr=0.05,0.0005", "--sweep-dir", str(out)]
    rc = main([*args, "--backend", "ray", "--early-stop", "--max-concurrent", "1"])
    assert rc == 0, capsys.readouterr()
    rows = json.loads((out / sw.SUMMARY_JSON).read_text())
    assert [r["status"] for r in rows] == ["done", "early-stopped"]
    assert rows[0]["epochs"] == 2 and rows[1]["epochs"] == 1
    assert rows[1]["final_test_accuracy"] is None  # a stopped trial is not tested
    # the same point, run locally, gives the same row (but for the time it took)
    local = tmp_path / "local"
    assert (
        main(
            [
                "sweep",
                str(tiny),
                "--grid",
                "optimizer.lr=0.05",
                "--sweep-dir",
                str(local),
                "--backend",
                "local",
            ]
        )
        == 0
    )
    ref = json.loads((local / sw.SUMMARY_JSON).read_text())[0]
    assert list(ref) == list(rows[0])
    skip = {"train_time_s", "run_dir", "point"}
    assert {k: v for k, v in rows[0].items() if k not in skip} == {
        k: v for k, v in ref.items() if k not in skip
    }
