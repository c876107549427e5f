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
    from photonn.activations import ActivationMonitor, BoundaryLoss, ChebyshevActivation
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
        regularizers={"boundary": (0.1, BoundaryLoss(model))},
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


# -- the loss contract, validation, best model, schedulers, sinks -----------------------------


def smoothed_ce(output, target):
    """A custom loss: label smoothing 0.1 (a scalar, the batch mean)."""
    return nn.functional.cross_entropy(output, target, label_smoothing=0.1)


def one_hot_mse(output, target):
    """A custom loss on other targets: mean-squared error of softmax against one-hot (B, C)."""
    return ((output.softmax(-1) - target) ** 2).sum(-1).mean()


def test_custom_loss_in_fit_and_evaluate():
    data = synthetic()
    t = make(loss_fn=smoothed_ce)
    hist = t.fit(data, epochs=3, batch_size=16, validation=synthetic(seed=1))
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    ev = evaluate(t.model, synthetic(seed=1), loss_fn=smoothed_ce, batch_size=50)
    assert ev["loss"] == pytest.approx(hist[-1]["val_loss"], rel=1e-6)
    # MSE on one-hot targets: accuracy compares argmaxes
    x, y = data
    onehot = nn.functional.one_hot(y, 4).float()
    t2 = make(loss_fn=one_hot_mse)
    h2 = t2.fit((x, onehot), epochs=3, batch_size=16, validation=(x, onehot))
    assert h2[-1]["train_loss"] < h2[0]["train_loss"] and 0 <= h2[-1]["val_accuracy"] <= 1
    ev2 = evaluate(t2.model, (x, y), loss_fn=smoothed_ce)
    with torch.no_grad():
        direct = (t2.model(x).argmax(-1) == y).float().mean().item()
    assert ev2["accuracy"] == pytest.approx(direct)


def test_evaluate_weights_batches_by_size():
    """A last batch of 1 sample must weigh 1/N, not 1/(number of batches)."""
    data = synthetic(count=33)
    t = make()
    full = evaluate(t.model, data, batch_size=33)
    split = evaluate(t.model, data, batch_size=16)  # 16 + 16 + 1
    assert split["loss"] == pytest.approx(full["loss"], rel=1e-6)
    assert split["accuracy"] == full["accuracy"]


def test_a_loss_that_is_not_a_scalar_is_refused():
    t = make(loss_fn=lambda out, y: nn.functional.cross_entropy(out, y, reduction="none"))
    with pytest.raises(TypeError, match="loss_fn must return a real scalar tensor"):
        t.fit(synthetic(), epochs=1, batch_size=16)


def test_keep_best_is_chosen_on_validation(tmp_path):
    from photonn.training import split_validation

    train, val = split_validation(synthetic(), 32, generator=torch.Generator().manual_seed(3))
    assert train[0].shape[0] == 96 and val[0].shape[0] == 32
    t = make(tmp_path, keep_best="val_accuracy")
    hist = t.fit(train, epochs=4, batch_size=16, validation=val)
    best = max(range(4), key=lambda i: (hist[i]["val_accuracy"], -i))
    assert t.best["epoch"] == hist[best]["epoch"]
    ck = load_checkpoint(tmp_path / "ck-best.h5")
    assert ck["epoch"] == t.best["epoch"]
    assert evaluate(make().model, val)["loss"] != pytest.approx(hist[best]["val_loss"])
    m = make().model
    m.load_state_dict(t.best_model_state())
    assert evaluate(m, val)["accuracy"] == hist[best]["val_accuracy"]
    # the best survives a resume
    t2 = make(tmp_path, keep_best="val_accuracy")
    t2.load()
    assert t2.best == t.best


def test_keep_best_refuses_test_data_and_needs_validation():
    with pytest.raises(ValueError, match="never on test data"):
        make(keep_best="test_accuracy")
    with pytest.raises(ValueError, match="needs validation data"):
        make(keep_best="val_loss").fit(synthetic(), epochs=1, batch_size=16)


def test_split_validation():
    from photonn.training import split_validation

    data = synthetic(count=100)
    a = split_validation(data, 0.2, generator=torch.Generator().manual_seed(5))
    b = split_validation(data, 20, generator=torch.Generator().manual_seed(5))
    assert a[1][0].shape[0] == 20 and torch.equal(a[1][0], b[1][0])
    seen = torch.cat([a[0][0], a[1][0]]).reshape(100, -1)
    assert (
        torch.unique(seen, dim=0).shape[0] == torch.unique(data[0].reshape(100, -1), dim=0).shape[0]
    )
    assert split_validation(data, 0, generator=torch.Generator())[1] is None
    with pytest.raises(ValueError, match="leaves none to train on"):
        split_validation(data, 100, generator=torch.Generator())
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\)"):
        split_validation(data, 1.0, generator=torch.Generator())
    with pytest.raises(TypeError, match="sample count"):
        split_validation(data, "10", generator=torch.Generator())


@pytest.mark.parametrize(
    "name, interval, options",
    [
        ("cosine", "step", {}),
        ("cosine", "epoch", {"eta_min": 1e-3}),
        ("onecycle", "step", {}),
        ("plateau", "epoch", {"patience": 0, "factor": 0.5, "threshold": 10.0}),
        ("StepLR", "epoch", {"step_size": 1, "gamma": 0.7}),
    ],
)
def test_scheduler_state_resumes_bit_identically(tmp_path, name, interval, options):
    from photonn.training import build_scheduler

    data = synthetic()

    def trainer(ck=None):
        t = make(ck, noise=0.01)
        t.scheduler = build_scheduler(
            t.optimizer, name, epochs=3, steps_per_epoch=8, interval=interval, **options
        )
        t.scheduler_interval = interval
        return t

    ref = trainer()
    ref.fit(data, epochs=3, batch_size=16, validation=data)
    first = trainer(tmp_path)
    first.fit(data, epochs=3, batch_size=16, validation=data, max_steps=11)
    second = trainer(tmp_path)
    second.load()
    second.fit(data, epochs=3, batch_size=16, validation=data)
    assert [h["lr"] for h in second.history] == [h["lr"] for h in ref.history]
    assert len({h["lr"] for h in ref.history}) > 1  # the schedule did change the rate
    for k, v in params(ref.model).items():
        assert torch.equal(v, params(second.model)[k]), k


def test_build_optimizer_and_scheduler_errors():
    from photonn.training import build_optimizer, build_scheduler

    model = TinyOptical()
    opt = build_optimizer(model.parameters(), "AdamW", lr=0.1, weight_decay=0.01)
    assert isinstance(opt, torch.optim.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'.*Adam"):
        build_optimizer(model.parameters(), "adamx", lr=0.1)
    with pytest.raises(ValueError, match="needs a closure"):
        build_optimizer(model.parameters(), "lbfgs")
    with pytest.raises(TypeError, match="rejected the options.*momentum.*it takes: lr"):
        build_optimizer(model.parameters(), "adam", lr=0.1, momentum=0.9)
    kw = {"epochs": 2, "steps_per_epoch": 4}
    assert build_scheduler(opt, "none", **kw) is None
    assert build_scheduler(opt, "cosine", **kw).T_max == 2
    assert build_scheduler(opt, "cosine", interval="step", **kw).T_max == 8
    with pytest.raises(ValueError, match="unknown scheduler 'cosin'"):
        build_scheduler(opt, "cosin", **kw)
    with pytest.raises(ValueError, match="interval='step'"):
        build_scheduler(opt, "onecycle", **kw)
    with pytest.raises(TypeError, match="rejected the options.*gama"):
        build_scheduler(opt, "exponential", gama=0.5, **kw)


def test_sinks_write_every_row_and_keep_the_resumed_history(tmp_path):
    import csv
    import json

    from photonn.training import CSVSink, JSONSink

    data = synthetic()
    sinks = lambda: [JSONSink(tmp_path / "m.json"), CSVSink(tmp_path / "m.csv")]  # noqa: E731
    t = make(tmp_path, callbacks=sinks())
    t.fit(data, epochs=2, batch_size=32, validation=data)
    t2 = make(tmp_path, callbacks=sinks())
    t2.load()
    t2.fit(data, epochs=3, batch_size=32, validation=data)
    rows = json.loads((tmp_path / "m.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows == t2.history
    with open(tmp_path / "m.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [float(r["val_loss"]) for r in table] == [r["val_loss"] for r in rows]


def test_one_host_sync_per_step(monkeypatch):
    """The finiteness check is one fused reduction: a single device-to-host copy per step.

    SGD here: Adam reads its CPU step counters with ``.item()`` (no device sync).
    """
    torch.manual_seed(0)
    model = TinyOptical()
    t = Trainer(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        generator=torch.Generator().manual_seed(7),
        progress=False,
    )
    data = synthetic()
    calls = []
    real = torch.Tensor.tolist

    def counting(self):
        calls.append(self.shape)
        return real(self)

    monkeypatch.setattr(torch.Tensor, "tolist", counting)
    item_calls = []
    real_item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: item_calls.append(1) or real_item(self))
    t.fit(data, epochs=1, batch_size=16)
    # 8 steps; one stacked copy each (loss, task loss, max |grad|, correct count)
    assert len(calls) == 8 and all(c == (4,) for c in calls)
    assert item_calls == []


def test_fit_start_and_end_hooks():
    events = []

    class Hooks:
        def on_fit_start(self, trainer):
            events.append(("start", trainer.epoch))

        def on_fit_end(self, trainer):
            events.append(("end", trainer.epoch))

    t = make(callbacks=[Hooks()])
    t.fit(synthetic(), epochs=2, batch_size=64)
    assert events == [("start", 0), ("end", 2)]


def test_a_regression_reports_no_accuracy():
    """One output column with float targets is a regression: loss only."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(64, 3)
    y = x.sum(-1, keepdim=True)
    t = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=0.05),
        generator=torch.Generator().manual_seed(0),
        loss_fn=nn.functional.mse_loss,
        progress=False,
    )
    hist = t.fit((x, y), epochs=3, batch_size=16, validation=(x, y))
    assert "train_accuracy" not in hist[-1] and "val_accuracy" not in hist[-1]
    assert hist[-1]["val_loss"] < hist[0]["val_loss"]
    assert "accuracy" not in evaluate(model, (x, y), loss_fn=nn.functional.mse_loss)


# -- bad set-ups are refused before any training ---------------------------------------------
def test_keep_best_must_be_a_metric_the_loop_computes():
    with pytest.raises(ValueError, match=r"keep_best='val_acc' is not a metric") as e:
        make(keep_best="val_acc")
    assert "['val_loss', 'val_accuracy']" in str(e.value)


def test_keep_best_accuracy_of_a_regression_is_refused_at_fit_start(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(64, 3)
    y = x.sum(-1, keepdim=True)
    t = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=0.05),
        generator=torch.Generator().manual_seed(0),
        loss_fn=nn.functional.mse_loss,
        checkpoint=tmp_path / "ck.h5",
        keep_best="val_accuracy",
        progress=False,
    )
    before = params(model)
    with pytest.raises(ValueError, match=r"torch.float32 of shape \(64, 1\).*'val_loss'"):
        t.fit((x, y), epochs=1, batch_size=16, validation=(x, y))
    assert t.step == 0 and not (tmp_path / "ck.h5").exists()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_an_optimizer_of_other_parameters_is_refused():
    model = TinyOptical()
    other = nn.Linear(2, 2)
    g = torch.Generator()
    with pytest.raises(ValueError, match=r"holds none of the model's 2 trainable parameter"):
        Trainer(model, torch.optim.SGD(other.parameters(), lr=0.1), generator=g)
    model.requires_grad_(False)  # frozen: an optimizer over them would change nothing either
    with pytest.raises(ValueError, match=r"no trainable parameters.*requires_grad_\(True\)"):
        Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), generator=g)
    model.scale.requires_grad_(True)  # one trainable tensor held is enough
    Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), generator=g, progress=False)


def _trainer(**kw):
    model = TinyOptical()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return Trainer(model, opt, generator=torch.Generator(), progress=False, **kw)


def test_checkpoint_paths_that_cannot_be_files_are_refused(tmp_path):
    d = tmp_path / "runs"
    d.mkdir()
    with pytest.raises(ValueError, match="is a directory") as e:
        _trainer(checkpoint=d)
    assert repr(str(d)) in str(e.value) and repr(str(d / "checkpoint.h5")) in str(e.value)
    with pytest.raises(ValueError, match="best_checkpoint .* is a directory"):
        _trainer(keep_best="val_loss", best_checkpoint=d)
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ValueError, match=r"lies below .*afile'. which is a file"):
        _trainer(checkpoint=f / "ck.h5")
    with pytest.raises(ValueError, match="the same file"):
        ck = tmp_path / "ck.h5"
        _trainer(checkpoint=ck, keep_best="val_loss", best_checkpoint=ck)
    # save_checkpoint itself names the path (not a temporary file) and writes nothing
    with pytest.raises(ValueError, match="is a directory") as e:
        save_checkpoint(d, TinyOptical())
    assert repr(str(d)) in str(e.value) and ".tmp" not in str(e.value)
    assert list(d.iterdir()) == []
