"""The ``polarization_d2nn`` run kind: configuration, building, training, evaluation, export.

Break tests: drop ``"polarization_d2nn"``'s registration in ``photonn/runs/models.py``
and 8 of the 10 fail; read ``[:, 0]`` instead of ``[:, self.channel]`` in
``PolarizationTask.forward`` and the channel test fails; skip the options'
``__post_init__`` length check and the analyser_angles case fails (the network's own
check then refuses too late); detach the energies in ``PolarizationD2NN.forward`` and
the training test fails (only the temperature learns); drop the Jones-modulator clause
of ``photonn.export.spec.describe`` and the export test fails.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import tomllib

import pytest
import torch

from photonn.cli import main
from photonn.models import PolarizationD2NN, PolarizationD2NNOptions
from photonn.models.polarization_d2nn import PolarizationTask
from photonn.runs import build_model, default_config, dump_config, resolve_config

SMALL = [
    "model.kind=polarization_d2nn",
    "model.size=20",
    "model.input_size=10",
    "model.distance_m=0.005",
    "model.method=bl-asm",
]


def _cfg(*extra):
    return resolve_config(None, [*SMALL, *extra])


def test_config_round_trip_and_build():
    """The printed configuration reads back equal, and builds the declared network."""
    cfg = _cfg("model.polarization=y", "model.analyser_angles=[0.1, 1.6]", "model.num_layers=2")
    text = dump_config(cfg)
    assert resolve_config(tomllib.loads(text)) == cfg
    assert "polarization_d2nn" in dump_config(default_config("polarization_d2nn"))
    model = build_model(cfg, torch.Generator().manual_seed(0))
    assert isinstance(model, PolarizationTask) and model.channel == 1
    net = model.network
    assert isinstance(net, PolarizationD2NN)
    assert net.num_layers == 2 and net.grid.shape == (20, 20)
    assert net.analyser_angles == (0.1, 1.6)
    assert net.learn_temperature and isinstance(net.log_temperature, torch.nn.Parameter)
    out = model(torch.rand(3, 12, 12))
    assert out.shape == (3, 10)


def test_task_reads_its_polarizations_channel():
    """Identity layers: x light reaches only the first analyser, y light only the second;
    each task's logits are its channel's, so they differ from the other channel's."""
    net = PolarizationD2NN.from_options(
        PolarizationD2NNOptions(size=20, input_size=10, distance=0.005, method="bl-asm"),
        4,
        dtype=torch.complex128,
    )
    x = torch.rand(2, 10, 10, generator=torch.Generator().manual_seed(1))
    for pol, ch in (("x", 0), ("y", 1)):
        full = net(x, pol)
        assert torch.equal(PolarizationTask(net, pol)(x), full[:, ch])
        e = net.channel_energies(x, pol)
        assert (e[:, 1 - ch].sum() / e[:, ch].sum()).item() < 1e-28


def test_options_are_the_constructor_keywords():
    keywords = set(inspect.signature(PolarizationD2NN).parameters) | {"size", "pitch"}
    for f in dataclasses.fields(PolarizationD2NNOptions):
        if f.name != "polarization":  # PolarizationTask's
            assert f.name in keywords, f.name
        assert f.metadata["spec"].description, f.name
    opts = PolarizationD2NNOptions(
        size=16, input_size=8, num_layers=2, distance=0.004, method="bl-asm", init="uniform"
    )
    a = PolarizationD2NN.from_options(opts, 3, generator=torch.Generator().manual_seed(0))
    kw = dataclasses.asdict(opts)
    from photonn import Grid

    b = PolarizationD2NN(
        Grid(kw.pop("size"), kw.pop("pitch")),
        kw.pop("wavelength"),
        kw.pop("num_layers"),
        kw.pop("distance"),
        3,
        **{k: v for k, v in kw.items() if k != "polarization"},
        generator=torch.Generator().manual_seed(0),
    )
    x = torch.rand(2, 8, 8)
    assert torch.equal(a(x, "x"), b(x, "x"))
    with pytest.raises(TypeError, match="PolarizationD2NNOptions"):
        PolarizationD2NN.from_options(dataclasses.asdict(opts))


@pytest.mark.parametrize(
    "override, match",
    [
        ("model.num_layer=3", r"unknown config key 'model.num_layer'"),
        ("model.polarization=z", r"polarization.*\['x', 'y'\]"),
        ("model.analyser_angles=[0.0, 1.0, 2.0]", "analyser_angles must hold two angles"),
        ("model.input_size=40", "model.input_size = 40 does not fit in model.size = 20"),
        ("model.size=-1", "size"),
    ],
)
def test_bad_keys_give_clear_errors(override, match):
    """Refused when the configuration is read, before any model is built."""
    with pytest.raises(ValueError, match=match):
        _cfg(override)


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = build_model(_cfg("model.init=uniform"), torch.Generator().manual_seed(0))
    x = torch.rand(16, 10, 10, generator=torch.Generator().manual_seed(2))
    y = torch.arange(16) % 10
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(6):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


def test_photonn_train_eval_and_export_refusal(tmp_path, capsys):
    """``photonn train`` trains the kind on the embedded MNIST subset; ``photonn eval``
    evaluates it; ``photonn export`` refuses it, naming the Jones modulators."""
    run = tmp_path / "pol"
    args = ["train", "--run-dir", str(run)]
    for item in [
        *SMALL,
        "epochs=1",
        "progress=false",
        "pictures=false",
        "data.train_limit=96",
        "data.test_limit=32",
        "data.validation=32",
        "optimizer.lr=0.05",
    ]:
        args += ["--set", item]
    assert main(args) == 0
    res = json.loads((run / "results.json").read_text())
    acc = res["final"]["test_accuracy"]
    assert 0.0 <= acc <= 1.0 and math.isfinite(res["final"]["test_loss"])
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    assert f"test accuracy: {acc:.4f}" in capsys.readouterr().out
    assert (
        main(["export", str(run), "--device", "holoeye_pluto2", "--out", str(tmp_path / "e")]) == 2
    )
    err = capsys.readouterr().err
    assert "PolarizationTask" in err and "Jones modulators" in err
    assert not (tmp_path / "e").exists()
