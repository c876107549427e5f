"""Run-configuration keys of the training recipe: ``grad_clip``, ``data.validation_seed``,
and the ReLaX update the configuration expresses (re-injection with a leak at a fixed
width, in the image nets and the over-time language model)."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.runs import build_model, resolve_config
from photonn.runs.run import GradClip, load_data, make_trainer, train_run


def _tiny(**top) -> dict:
    """One SGD step (lr 1) of a small digital ReLaX on the embedded digits."""
    batch = 16
    update = {
        "seed": 3,
        "epochs": 1,
        "batch_size": batch,
        "progress": False,
        "pictures": False,
        "keep_best": "",
        "threads": 1,
        "data": {"dataset": "embedded", "train_limit": batch, "test_limit": 32, "validation": 0},
        "model": {"kind": "relax", "l_w": 2, "l_t": 2, "width": 16, "image_size": 8},
        "optimizer": {"name": "sgd", "lr": 1.0},
    }
    update.update(top)
    return resolve_config(update)


def _update_norm(cfg: dict, run_dir) -> float:
    before = build_model(cfg, torch.Generator().manual_seed(cfg["seed"]))
    trainer = train_run(cfg, run_dir)
    assert trainer.step == 1
    sq = sum(
        float(((a.detach() - b.detach()) ** 2).sum())
        for a, b in zip(before.parameters(), trainer.model.parameters())
    )
    return math.sqrt(sq)


@pytest.mark.parametrize("value", [0, -1.0, float("inf")])
def test_grad_clip_must_be_positive(value):
    with pytest.raises(ValueError, match="grad_clip"):
        resolve_config({"grad_clip": value})


def test_grad_clip_unset_by_default():
    cfg = resolve_config({})
    assert "grad_clip" not in cfg
    assert resolve_config({"grad_clip": 1})["grad_clip"] == 1.0
    with pytest.raises(ValueError, match="finite number > 0"):
        GradClip(0.0)


def test_grad_clip_limits_the_step(tmp_path):
    # with SGD at lr 1 the parameters move by the (clipped) gradient: its norm is the clip
    free = _update_norm(_tiny(), tmp_path / "free")
    assert free > 1e-2  # the unclipped gradient is far above the clip below
    clip = 1e-3
    clipped = _update_norm(_tiny(grad_clip=clip), tmp_path / "clipped")
    assert clipped == pytest.approx(clip, rel=1e-3)  # float32 parameters


def test_trainer_gets_the_clip(tmp_path):
    cfg = _tiny(grad_clip=0.5)
    trainer = make_trainer(cfg, tmp_path, load_data(cfg))
    assert isinstance(trainer.grad_clip, GradClip) and trainer.grad_clip.max_norm == 0.5
    cfg = _tiny()
    assert make_trainer(cfg, tmp_path / "b", load_data(cfg)).grad_clip is None


def test_validation_seed_holds_out_one_split_for_every_seed():
    def val(seed, fixed=None):
        data = {"dataset": "embedded", "validation": 50}
        if fixed is not None:
            data["validation_seed"] = fixed
        return load_data(resolve_config({"seed": seed, "data": data})).validation[1]

    assert not torch.equal(val(0), val(1)) or not torch.equal(val(0), val(2))
    assert torch.equal(val(0, 7), val(1, 7)) and torch.equal(val(0, 7), val(2, 7))
    assert torch.equal(val(5), val(0, 7))  # unset: seed + 2, as before the key existed
    with pytest.raises(ValueError, match="validation_seed"):
        resolve_config({"data": {"validation_seed": -1}})


# -- the ReLaX update the configuration builds -----------------------------------------------
def _relax_cfg(**model) -> dict:
    m = {"kind": "relax", "budget": 0, "width": 64, "inject": True, "leak": 0.5}
    m.update(model)
    data = {"dataset": "embedded"}
    if m.get("input") == "text":  # the language model's vocabulary: no files needed to build
        data = {"dataset": "shakespeare", "data_dir": "/nonexistent"}
    return resolve_config({"data": data, "model": m})


@pytest.mark.parametrize("leak", [0.0, 0.5])
def test_digital_image_net_reinjects_with_a_leak(leak):
    cfg = _relax_cfg(l_w=2, l_t=2, image_size=8, leak=leak)
    model = build_model(cfg, torch.Generator().manual_seed(0))
    features, net = model[:-1], model[-1]
    assert net.width == 64 and net.relax.leak == leak and net.inject
    n = net.num_parameters
    assert n["bank"] == 2 * (64 * 64 + 64)
    assert n["total"] == sum(p.numel() for p in net.parameters())
    x = features(torch.rand(5, 8, 8, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        u = net.input(x)
        h = torch.zeros(5, 64)
        for t in range(4):  # h = alpha h + tanh(W[t mod 2] h + b + W_in x)
            layer = net.relax.bank[t % 2]
            h = leak * h + torch.tanh(layer(h) + u)
        want = net.readout(h)
        got = net(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_mzi_image_net_reinjects_with_a_leak():
    cfg = _relax_cfg(
        l_w=2,
        l_t=2,
        image_size=8,
        bank={"kind": "mzi", "activation": "abs", "errors": False, "switch": False},
    )
    net = build_model(cfg, torch.Generator().manual_seed(0))[-1]
    assert net.width == 64 and net.relax.leak == 0.5 and net.inject
    assert net.relax.inject is not None
    assert net.num_parameters["bank"] == 2 * 64 * 64
    # the leak is in the forward: without it the output differs
    x = torch.rand(3, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a = net(x)
        net.relax.leak = 0.0
        b = net(x)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("leak", [0.0, 0.5])
def test_over_time_language_model_reinjects_with_a_leak(leak):
    cfg = _relax_cfg(input="text", mode="over_time", l_w=4, l_t=1, leak=leak)
    lm = build_model(cfg, torch.Generator().manual_seed(0))
    assert lm.width == 64 and lm.mode == "over_time" and lm.relax.leak == leak
    tokens = torch.randint(0, 84, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        e = lm.embed(tokens)
        h = torch.zeros(2, 64)
        outs = []
        for t in range(9):  # h_{t+1} = alpha h_t + tanh(e_t + W[t mod 4] h_t + b)
            h = leak * h + torch.tanh(lm.relax.bank[t % 4](h) + e[:, t])
            outs.append(h)
        want = lm.readout(torch.stack(outs, 1))
        got = lm(tokens)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
