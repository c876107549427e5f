"""The training loop: learning, exact reproduction and resume, checkpoints, NaN guard, hooks."""

from __future__ import annotations

import h5py
import pytest
import torch
from torch import nn

from photonn import Grid
from photonn.freespace import Propagator
from photonn.training import (
    NonFiniteLossError,
    StopTraining,
    Trainer,
    evaluate,
    load_checkpoint,
    save_checkpoint,
)
from photonn.units import mm


class TinyOptical(nn.Module):
    """Phase mask -> propagation -> energies in 4 quadrant-ish regions; optional noise.

    The noise is drawn from a generator held by the module, so exact resume must
    restore that generator too.
    """

    def __init__(self, n=16, noise=0.0, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        grid = Grid(n, 0.4 * mm)
        self.phase = nn.Parameter(2 * torch.pi * torch.rand(n, n, generator=g))
        self.prop = Propagator(grid, 0.75 * mm, 5 * mm, method="bl-asm", pad_factor=2)
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.noise = noise
        self.noise_gen = torch.Generator().manual_seed(seed + 1)
        h = n // 2
        masks = torch.zeros(4, n, n)
        masks[0, :h, :h] = masks[1, :h, h:] = masks[2, h:, :h] = masks[3, h:, h:] = 1
        self.register_buffer("masks", masks)

    def forward(self, x):
        field = x.to(torch.complex64) * torch.exp(1j * self.phase)
        out = self.prop(field).abs() ** 2
        e = torch.einsum("bij,kij->bk", out, self.masks)
        e = e / e.sum(-1, keepdim=True)
        if self.noise:
            e = e + self.noise * torch.randn(e.shape, generator=self.noise_gen)
        return self.scale * 10 * e


def synthetic(n=16, count=128, seed=0):
    """Bright square in one of four quadrants: class = quadrant (learnable by a phase mask)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (count,), generator=g)
    x = torch.zeros(count, n, n)
    h = n // 2
    for i, c in enumerate(y.tolist()):
        r0, c0 = (c // 2) * h, (c % 2) * h
        x[i, r0 + 1 : r0 + h - 1, c0 + 1 : c0 + h - 1] = 0.5 + 0.5 * torch.rand(
            h - 2, h - 2, generator=g
        )
    # shuffle the quadrant geometry: the mask must learn to route, not copy
    x = torch.flip(x, dims=(-1,))
    return x, y


def make(tmp_path=None, noise=0.0, lr=0.05, **kw):
    torch.manual_seed(0)
    model = TinyOptical(noise=noise)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ck = None if tmp_path is None else tmp_path / "ck.h5"
    return Trainer(
        model, opt, generator=torch.Generator().manual_seed(7), checkpoint=ck, progress=False, **kw
    )


def params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_smoke_loss_falls():
    data = synthetic()
    t = make()
    before = evaluate(t.model, data)["loss"]
    hist = t.fit(data, epochs=4, batch_size=16, test=data)
    assert len(hist) == 4 and t.step == 4 * 8
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["test_loss"] < 0.8 * before
    assert hist[-1]["test_accuracy"] > 0.5  # chance is 0.25
    assert hist[-1]["train_samples_per_s"] > 0


def test_same_seed_same_run():
    data = synthetic()
    a, b = make(), make()
    ha = a.fit(data, epochs=2, batch_size=16)
    hb = b.fit(data, epochs=2, batch_size=16)
    assert [h["train_loss"] for h in ha] == [h["train_loss"] for h in hb]
    for k, v in params(a.model).items():
        assert torch.equal(v, params(b.model)[k])


@pytest.mark.parametrize("stop_at", [5, 8, 12])  # mid-epoch, epoch boundary, mid second epoch
def test_resume_is_bit_identical(tmp_path, stop_at):
    data = synthetic()
    ref = make(noise=0.01)
    ref.fit(data, epochs=3, batch_size=16)

    first = make(tmp_path, noise=0.01)
    first.fit(data, epochs=3, batch_size=16, max_steps=stop_at)
    assert first.step == stop_at
    # fresh objects with different init, restored from disk
    second = make(tmp_path, noise=0.01)
    with torch.no_grad():
        second.model.phase.zero_()
    torch.manual_seed(999)  # the global generator is restored too
    second.load()
    assert second.step == stop_at
    second.fit(data, epochs=3, batch_size=16)
    assert second.step == ref.step
    for k, v in params(ref.model).items():
        assert torch.equal(v, params(second.model)[k]), k
    assert [h["train_loss"] for h in second.history] == [h["train_loss"] for h in ref.history]
    assert [h["train_accuracy"] for h in second.history] == [
        h["train_accuracy"] for h in ref.history
    ]


def test_checkpoint_round_trip(tmp_path):
    t = make(tmp_path)
    t.config = {"model": {"n": 16}, "seed": 3}
    t.fit(synthetic(), epochs=1, batch_size=32)
    ck = load_checkpoint(tmp_path / "ck.h5")
    assert ck["epoch"] == 1 and ck["step"] == 4
    assert ck["config"] == {"model": {"n": 16}, "seed": 3}
    assert ck["history"][0]["train_loss"] == t.history[0]["train_loss"]
    for k, v in t.model.state_dict().items():
        assert torch.equal(ck["model"][k], v) and ck["model"][k].dtype == v.dtype
    sd = t.optimizer.state_dict()
    for idx, entry in sd["state"].items():
        for name, v in entry.items():
            assert torch.equal(ck["optimizer"]["state"][idx][name], v)
    assert ck["rng"]["shuffle"].equal(t.generator.get_state())
    assert ck["rng"]["module/<root>:noise_gen"].equal(t.model.noise_gen.get_state())
    # complex tensors survive
    m = nn.Module()
    m.register_buffer("c", torch.randn(3, 2, dtype=torch.complex128))
    save_checkpoint(tmp_path / "c.h5", m)
    assert torch.equal(load_checkpoint(tmp_path / "c.h5")["model"]["c"], m.c)


def test_checkpoint_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5"):
        load_checkpoint(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(ValueError, match="not a photonn checkpoint"):
        load_checkpoint(tmp_path / "other.h5")


def test_crash_mid_write_keeps_old_checkpoint(tmp_path, monkeypatch):
    t = make(tmp_path)
    t.fit(synthetic(), epochs=1, batch_size=32)
    path = tmp_path / "ck.h5"
    old = path.read_bytes()

    import photonn.training.checkpoint as ckmod

    def boom(group, name, tensor):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ckmod, "_write_tensor", boom)
    with pytest.raises(OSError, match="simulated"):
        t.save()
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["ck.h5"]  # no temporary left behind
    assert load_checkpoint(path)["epoch"] == 1


def test_nan_guard_names_step_and_keeps_checkpoint(tmp_path):
    data = synthetic()
    t = make(tmp_path)
    t.fit(data, epochs=1, batch_size=32)
    good = (tmp_path / "ck.h5").read_bytes()

    class Poison:
        def on_batch_end(self, step, model, metrics):
            if step == 6:
                with torch.no_grad():
                    model.scale.fill_(float("nan"))

    t.callbacks = [Poison()]
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 7: the loss is nan") as ei:
        t.fit(data, epochs=2, batch_size=32)
    assert "last good checkpoint" in str(ei.value) and "ck.h5" in str(ei.value)
    assert (tmp_path / "ck.h5").read_bytes() == good


def test_nan_gradient_is_caught():
    t = make()

    def bad_reg(model):
        return torch.sqrt(model.scale - model.scale.detach())  # value 0, gradient inf

    t.regularizers = {"bad": (1.0, bad_reg)}
    with pytest.raises(NonFiniteLossError, match="step 1: the gradient of .*scale"):
        t.fit(synthetic(), epochs=1, batch_size=32)


def test_regularizers_clip_and_callbacks():
    seen = []

    class Record:
        def on_batch_end(self, step, model, metrics):
            metrics["extra"] = 1.0
            seen.append((step, dict(metrics)))
            if step == 3:
                raise StopTraining

    clipped = []

    def clip(model):
        clipped.append(float(model.phase.grad.abs().max()))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)

    t = make(
        regularizers={"l2": (0.5, lambda m: (m.scale**2).sum())},
        grad_clip=clip,
        callbacks=[Record()],
    )
    t.fit(synthetic(), epochs=5, batch_size=16)
    assert t.step == 3 and [s for s, _ in seen] == [1, 2, 3] and len(clipped) == 3
    m = seen[0][1]
    assert m["reg/l2"] == pytest.approx(1.0)  # scale starts at 1
    assert m["loss"] == pytest.approx(m["task_loss"] + 0.5 * m["reg/l2"], rel=1e-6)


def test_bad_arguments():
    model = TinyOptical()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        Trainer(model, opt, generator=0)
    g = torch.Generator()
    with pytest.raises(TypeError, match="regularizers"):
        Trainer(model, opt, generator=g, regularizers={"x": lambda m: 0})
    with pytest.raises(TypeError, match="grad_clip"):
        Trainer(model, opt, generator=g, grad_clip=1.0)
    t = Trainer(model, opt, generator=g, progress=False)
    with pytest.raises(ValueError, match="inputs have 3 samples but targets have 2"):
        t.fit((torch.zeros(3, 16, 16), torch.zeros(2, dtype=torch.long)), epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        t.fit(synthetic(), epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="no checkpoint path"):
        t.save()


def test_polynomial_tools_plug_in():
    """Boundary loss, activation monitor and selective clipping through the agreed interface."""
    from photonn.activations import ActivationMonitor, ChebyshevActivation, boundary_loss
    from photonn.training import SelectiveGradClip

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(16 * 16, 8),
        nn.LayerNorm(8),
        ChebyshevActivation(3),
        nn.Linear(8, 4),
    )
    monitor = ActivationMonitor(model, raise_on_escape=False)
    seen = []

    class Keep:
        def on_batch_end(self, step, model, metrics):
            seen.append(dict(metrics))

    t = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=0.01),
        generator=torch.Generator().manual_seed(0),
        regularizers={"boundary": (0.1, boundary_loss)},
        grad_clip=SelectiveGradClip(1.0),
        callbacks=[monitor, Keep()],
        progress=False,
    )
    hist = t.fit(synthetic(), epochs=3, batch_size=32)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert "reg/boundary" in seen[0]
    assert any(k.startswith("act/") and k.endswith(".max_abs") for k in seen[0])


def test_time_limit_stops_cleanly_with_checkpoint(tmp_path):
    from photonn.training import TimeLimit

    t = make(tmp_path)
    t.callbacks = [TimeLimit(0.0)]
    hist = t.fit(synthetic(), epochs=3, batch_size=16)
    assert t.step == 1 and hist == []
    ck = load_checkpoint(tmp_path / "ck.h5")
    assert ck["step"] == 1 and ck["loop"]["batch"] == 1  # resumable mid-epoch


def test_lr_decay_per_epoch():
    from photonn.training import LRDecay

    t = make(lr=0.1)
    t.callbacks = [LRDecay(t.optimizer, 0.5)]
    hist = t.fit(synthetic(), epochs=3, batch_size=64)
    assert [h["lr"] for h in hist] == [0.1, 0.05, 0.025]
    assert t.optimizer.param_groups[0]["lr"] == 0.0125
