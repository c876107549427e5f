"""Run directories: build data, model and optimizer from a configuration; train; evaluate.

This is the library side of ``photonn train`` / ``photonn eval``. A run
directory holds:

* ``config.toml``: the resolved configuration (every key, defaults included);
* ``checkpoint.h5``: the latest checkpoint (see :mod:`photonn.training.checkpoint`);
* ``metrics.json`` and ``metrics.csv``: one row per completed epoch;
* ``eval.json``: written by :func:`evaluate_run`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path

import torch

from .._io import atomic_write_text
from .config import dump_config, load_config, resolve_config
from .loop import StopTraining, Trainer, evaluate

CONFIG_FILE = "config.toml"
CHECKPOINT_FILE = "checkpoint.h5"
METRICS_JSON = "metrics.json"
METRICS_CSV = "metrics.csv"
# keys that may change when a run is resumed
RESUMABLE_KEYS = {
    "epochs",
    "progress",
    "pictures",
    "threads",
    "keep_freed_memory",
    "device",
    "eval_batch_size",
    "max_time_min",
}

_DTYPES = {"complex64": torch.complex64, "complex128": torch.complex128}


def load_data(cfg: dict):
    """``(train, test)``, each ``(uint8 images (N, 28, 28), int64 labels (N,))``."""
    from ..data import load_embedded_mnist, load_fashion_mnist, load_mnist

    d = cfg["data"]
    if d["dataset"] == "embedded":
        train, test = load_embedded_mnist("train"), load_embedded_mnist("test")
    elif d["dataset"] == "mnist":
        train, test = load_mnist(d["data_dir"], "train"), load_mnist(d["data_dir"], "test")
    else:
        train = load_fashion_mnist(d["data_dir"], "train")
        test = load_fashion_mnist(d["data_dir"], "test")
    if d["train_limit"]:
        train = (train[0][: d["train_limit"]], train[1][: d["train_limit"]])
    if d["test_limit"]:
        test = (test[0][: d["test_limit"]], test[1][: d["test_limit"]])
    return train, test


def build_model(cfg: dict, generator: torch.Generator | None = None, *, detector_noise=None):
    """The :class:`photonn.models.D2NN` of ``cfg["model"]`` (on ``cfg["device"]``).

    ``detector_noise`` (optional module, e.g. :class:`photonn.freespace.DetectorNoise`)
    turns region energies into noisy readings.
    """
    from ..grid import Grid
    from ..models import D2NN

    m = cfg["model"]
    grid = Grid(m["size"], m["pitch_m"])
    model = D2NN(
        grid,
        m["wavelength_m"],
        m["num_layers"],
        m["distance_m"],
        num_classes=10,
        input_size=m["input_size"],
        encoding=m["encoding"],
        method=m["method"],
        pad_factor=m["pad_factor"],
        phase_bits=m["phase_bits"] or None,
        region_size=m["detector_size"] * m["pitch_m"],
        span=m["detector_span"],
        readout=m["readout"],
        temperature=m["temperature"],
        learn_temperature=m["learn_temperature"],
        detector_noise=detector_noise,
        init=m["init"],
        generator=generator,
        dtype=_DTYPES[m["dtype"]],
    )
    return model.to(cfg["device"])


def build_optimizer(cfg: dict, model) -> torch.optim.Optimizer:
    o = cfg["optimizer"]
    if o["name"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=o["lr"], weight_decay=o["weight_decay"])
    return torch.optim.SGD(
        model.parameters(), lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"]
    )


def make_trainer(cfg: dict, run_dir, **kw) -> Trainer:
    """Model, optimizer and trainer of a configuration, seeded (init and shuffling)."""
    seed = cfg["seed"]
    torch.manual_seed(seed)
    model = build_model(cfg, torch.Generator().manual_seed(seed))
    return Trainer(
        model,
        build_optimizer(cfg, model),
        generator=torch.Generator().manual_seed(seed + 1),
        checkpoint=Path(run_dir) / CHECKPOINT_FILE,
        checkpoint_every=cfg["checkpoint_every"],
        config=cfg,
        device=cfg["device"],
        progress=cfg["progress"],
        **kw,
    )


def write_metrics(run_dir, history: list[dict]) -> None:
    """``metrics.json`` and ``metrics.csv`` (atomically)."""
    run_dir = Path(run_dir)
    atomic_write_text(run_dir / METRICS_JSON, json.dumps(history, indent=1) + "\n")
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(history)
    atomic_write_text(run_dir / METRICS_CSV, buf.getvalue())


def _resume_config(run_dir: Path, overrides) -> dict:
    stored = load_config(run_dir / CONFIG_FILE)
    cfg = resolve_config(stored, overrides)
    changed = sorted(f"{k}" for k in cfg if cfg[k] != stored[k] and k not in RESUMABLE_KEYS)
    if changed:
        raise ValueError(
            f"--resume continues the run in {run_dir} with its stored configuration; "
            f"only {sorted(RESUMABLE_KEYS)} may change, not {changed}"
        )
    return cfg


class TimeLimit:
    """Callback: stop training cleanly (with a checkpoint) after ``seconds`` from creation."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.t0 = time.perf_counter()

    def on_batch_end(self, step, model, metrics):
        if time.perf_counter() - self.t0 > self.seconds:
            raise StopTraining


class LRDecay:
    """Callback: multiply every learning rate of ``optimizer`` by ``gamma`` after each epoch.

    The rate used in the finished epoch is logged as ``lr``.
    """

    def __init__(self, optimizer, gamma: float):
        self.optimizer, self.gamma = optimizer, float(gamma)

    def on_epoch_end(self, epoch, model, metrics):
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        for g in self.optimizer.param_groups:
            g["lr"] *= self.gamma


def prepare_run(cfg: dict | None, run_dir, *, resume: bool = False, overrides=(), **trainer_kw):
    """Resolve the configuration, write it, load the data and build the trainer.

    Without ``resume``, ``run_dir`` must not hold a checkpoint yet. With
    ``resume``, the stored configuration is used (``overrides`` may change only
    :data:`RESUMABLE_KEYS`, e.g. ``epochs`` to train longer) and the trainer is
    restored from the checkpoint. Returns ``(trainer, train, test)``; the
    resolved configuration is ``trainer.config``. The callbacks of
    ``max_time_min`` and ``optimizer.lr_decay`` are attached, then
    ``trainer_kw["callbacks"]``.
    """
    run_dir = Path(run_dir)
    if resume:
        if not (run_dir / CHECKPOINT_FILE).is_file():
            raise FileNotFoundError(
                f"cannot resume: {run_dir / CHECKPOINT_FILE} does not exist "
                "(train without --resume first)"
            )
        cfg = _resume_config(run_dir, overrides)
    else:
        cfg = resolve_config(cfg, overrides)
        if (run_dir / CHECKPOINT_FILE).exists():
            raise ValueError(
                f"{run_dir} already holds a run; continue it with --resume "
                "or choose another --run-dir"
            )
    train, test = load_data(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / CONFIG_FILE, dump_config(cfg))
    extra = list(trainer_kw.pop("callbacks", ()))
    trainer = make_trainer(cfg, run_dir, **trainer_kw)
    if resume:
        trainer.load()
        trainer.config = cfg
    if cfg["max_time_min"]:
        trainer.callbacks.append(TimeLimit(60 * cfg["max_time_min"]))
    if cfg["optimizer"]["lr_decay"] != 1.0:
        trainer.callbacks.append(LRDecay(trainer.optimizer, cfg["optimizer"]["lr_decay"]))
    trainer.callbacks += extra
    return trainer, train, test


def fit_run(trainer: Trainer, run_dir, train, test) -> Trainer:
    """Train to the configured number of epochs; metrics files follow every epoch."""
    run_dir = Path(run_dir)
    cfg = trainer.config

    class _Writer:
        def on_epoch_end(self, epoch, model, metrics):
            write_metrics(run_dir, trainer.history + [metrics])

    trainer.callbacks.append(_Writer())
    trainer.fit(
        train,
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        test=test,
        eval_batch_size=cfg["eval_batch_size"],
    )
    write_metrics(run_dir, trainer.history)
    return trainer


def train_run(cfg: dict | None, run_dir, *, resume: bool = False, overrides=(), **trainer_kw):
    """:func:`prepare_run` then :func:`fit_run`; returns the :class:`Trainer`."""
    trainer, train, test = prepare_run(
        cfg, run_dir, resume=resume, overrides=overrides, **trainer_kw
    )
    return fit_run(trainer, run_dir, train, test)


def load_run(run_dir):
    """``(cfg, model)`` of a run directory, the model loaded from its checkpoint (eval mode)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    cfg = load_config(run_dir / CONFIG_FILE)
    model = build_model(cfg)
    from .checkpoint import load_checkpoint

    load_checkpoint(run_dir / CHECKPOINT_FILE, model, map_location=cfg["device"])
    model.eval()
    return cfg, model


def evaluate_run(run_dir, *, split: str = "test", data_dir: str | None = None) -> dict:
    """Accuracy and loss of a run's checkpoint on its data set; writes ``eval.json``."""
    run_dir = Path(run_dir)
    cfg, model = load_run(run_dir)
    if data_dir:
        cfg["data"]["data_dir"] = data_dir
    train, test = load_data(cfg)
    data = {"test": test, "train": train}[split]
    out = evaluate(model, data, batch_size=cfg["eval_batch_size"], device=cfg["device"])
    out = {"split": split, "dataset": cfg["data"]["dataset"], **out}
    if not math.isfinite(out["samples_per_s"]):
        out["samples_per_s"] = None
    atomic_write_text(run_dir / "eval.json", json.dumps(out, indent=1) + "\n")
    return out
