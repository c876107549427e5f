"""Run directories: data, model, optimizer and scheduler from a configuration; train; evaluate.

This is the library side of ``photonn train`` / ``photonn eval``. A run
directory holds:

* ``config.toml``: the resolved configuration (every key, defaults included);
* ``checkpoint.h5``: the latest checkpoint (see :mod:`photonn.training.checkpoint`);
* ``best.h5``: the model of the best epoch by ``keep_best`` on the validation split;
* ``metrics.json`` and ``metrics.csv``: one row per completed epoch (training and
  validation metrics; no test metrics: the test set chooses nothing);
* ``results.json``: the test metrics of the final model and of the best model,
  each measured once after training;
* ``tensorboard/``: event files, when ``log`` includes ``"tensorboard"``;
* ``launch.json``: how a ``torchrun`` job launched the run (its job id, world
  size and backend), when it did;
* ``eval.json``: written by :func:`evaluate_run`.

Seeds: the model is initialised from ``seed``, the shuffling generator is
seeded with ``seed + 1`` and the validation split drawn with ``seed + 2`` (or with
``data.validation_seed`` when it is set: one split for every seed of a study).

``grad_clip`` (when set) clips the global L2 norm of the gradient of the trainable
parameters before every optimizer step (:class:`GradClip`).

Under ``torch.distributed`` (a process group initialised before
:func:`prepare_run`, e.g. by ``photonn train`` under ``torchrun``), every rank
runs the same calls: the ranks check that they resolved the same configuration
(a hash of it), the trainer trains data-parallel
(:mod:`photonn.training.distributed`), every rank resumes from the same
checkpoint, the validation and test sets are evaluated in shares, and rank 0
alone writes the run directory. Its files are the same as a single process
writes, and every metrics row records ``world_size`` and ``backend``.
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .._io import atomic_write_text
from .._version import __version__
from ..training import (
    CSVSink,
    JSONSink,
    TensorBoardSink,
    TimeLimit,
    Trainer,
    build_optimizer,
    build_scheduler,
    evaluate,
    load_checkpoint,
    split_validation,
)
from ..training import distributed as dist_
from ..training.optim import optimizer_class
from .config import dump_config, load_config, migrate, read_toml, resolve_config
from .datasets import get_dataset
from .models import get_kind

CONFIG_FILE = "config.toml"
CHECKPOINT_FILE = "checkpoint.h5"
BEST_FILE = "best.h5"
METRICS_JSON = "metrics.json"
METRICS_CSV = "metrics.csv"
RESULTS_FILE = "results.json"
TENSORBOARD_DIR = "tensorboard"
LAUNCH_FILE = "launch.json"
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
    "log",
}


@dataclass(frozen=True)
class RunData:
    """The data of a run: ``train`` and ``test`` pairs, and ``validation`` (or ``None``)."""

    train: tuple
    validation: tuple | None
    test: tuple


def load_data(cfg: dict) -> RunData:
    """The run's training, validation and test data (inputs and labels, as the dataset gives them).

    ``train_limit`` / ``test_limit`` cut the splits first; the validation
    samples are then drawn from the training samples with ``data.validation_seed``
    when it is set, else with ``seed + 2``.
    """
    d = cfg["data"]
    ds = get_dataset(d["dataset"])
    train = ds.load(d["data_dir"], "train")
    test = ds.load(d["data_dir"], "test")
    if d["train_limit"]:
        train = (train[0][: d["train_limit"]], train[1][: d["train_limit"]])
    if d["test_limit"]:
        test = (test[0][: d["test_limit"]], test[1][: d["test_limit"]])
    try:
        train, val = split_validation(
            train, d["validation"], generator=torch.Generator().manual_seed(validation_seed(cfg))
        )
    except ValueError as exc:
        raise ValueError(f"data.validation: {exc}") from exc
    return RunData(train, val, test)


def validation_seed(cfg: dict) -> int:
    """The seed of the validation split: ``data.validation_seed``, else ``seed + 2``."""
    fixed = cfg["data"].get("validation_seed")
    return cfg["seed"] + 2 if fixed is None else fixed


class GradClip:
    """``grad_clip`` of a run: clips the global L2 norm of the gradient of ``model``'s
    trainable parameters to ``max_norm`` (``torch.nn.utils.clip_grad_norm_``); returns
    the norm before clipping."""

    def __init__(self, max_norm: float):
        if not (isinstance(max_norm, (int, float)) and math.isfinite(max_norm) and max_norm > 0):
            raise ValueError(f"grad_clip must be a finite number > 0, got {max_norm!r}")
        self.max_norm = float(max_norm)

    def __call__(self, model) -> torch.Tensor:
        params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
        if not params:
            return torch.zeros(())
        return torch.nn.utils.clip_grad_norm_(params, self.max_norm)

    def __repr__(self) -> str:
        return f"GradClip({self.max_norm:g})"


def build_model(cfg: dict, generator: torch.Generator | None = None, **extra):
    """The model of ``cfg["model"]`` (its ``kind``), on ``cfg["device"]``.

    ``extra`` goes to the kind's builder (e.g. ``detector_noise=`` for a D2NN).
    """
    m = cfg["model"]
    kind = get_kind(m["kind"])
    ds = get_dataset(cfg["data"]["dataset"])
    return kind.build(
        m, num_classes=ds.num_classes, generator=generator, device=cfg["device"], **extra
    )


def _optimizer(cfg: dict, model) -> torch.optim.Optimizer:
    """The configured optimizer: ``lr`` and ``weight_decay`` always (when the optimizer has
    it), ``momentum`` when > 0, then ``options``."""
    o = cfg["optimizer"]
    try:
        takes = inspect.signature(optimizer_class(o["name"])).parameters
        options = {"lr": o["lr"]}
        if "weight_decay" in takes:
            options["weight_decay"] = o["weight_decay"]
        elif o["weight_decay"]:
            raise ValueError(f"optimizer {o['name']!r} takes no weight_decay; set it to 0")
        if o["momentum"]:
            options["momentum"] = o["momentum"]
        options.update(o["options"])
        return build_optimizer(model.parameters(), o["name"], **options)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"[optimizer]: {exc}") from exc


def _scheduler(cfg: dict, optimizer, steps_per_epoch: int):
    s, o = cfg["scheduler"], cfg["optimizer"]
    name, interval, options = s["name"], s["interval"], dict(s["options"])
    if o["lr_decay"] != 1.0:
        name, interval, options = "exponential", "epoch", {"gamma": o["lr_decay"]}
    try:
        sched = build_scheduler(
            optimizer,
            name,
            epochs=cfg["epochs"],
            steps_per_epoch=steps_per_epoch,
            interval=interval,
            **options,
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"[scheduler]: {exc}") from exc
    return sched, interval


def loss_function(cfg: dict):
    """The run's ``loss_fn``: the model kind's, else the dataset's, else cross-entropy."""
    kind = get_kind(cfg["model"]["kind"])
    if kind.loss is not None:
        return kind.loss(cfg["model"])
    ds = get_dataset(cfg["data"]["dataset"])
    return ds.loss if ds.loss is not None else torch.nn.functional.cross_entropy


def make_trainer(cfg: dict, run_dir, data: RunData, *, callbacks=(), **kw) -> Trainer:
    """Model, optimizer, scheduler, sinks and trainer of a configuration, seeded.

    Callbacks run in this order: the time limit, ``callbacks``, then the metric
    sinks (JSON, CSV, and TensorBoard when configured), so the rows the sinks
    write are complete.
    """
    run_dir = Path(run_dir)
    seed = cfg["seed"]
    torch.manual_seed(seed)
    model = build_model(cfg, torch.Generator().manual_seed(seed))
    optimizer = _optimizer(cfg, model)
    steps_per_epoch = math.ceil(data.train[0].shape[0] / cfg["batch_size"])
    scheduler, interval = _scheduler(cfg, optimizer, steps_per_epoch)
    cbs = []
    if cfg["max_time_min"]:
        cbs.append(TimeLimit(60 * cfg["max_time_min"]))
    cbs += list(callbacks)
    cbs += [JSONSink(run_dir / METRICS_JSON), CSVSink(run_dir / METRICS_CSV)]
    if "tensorboard" in cfg["log"]:
        cbs.append(TensorBoardSink(run_dir / TENSORBOARD_DIR))
    kw.setdefault("loss_fn", loss_function(cfg))
    if cfg.get("grad_clip") is not None:
        kw.setdefault("grad_clip", GradClip(cfg["grad_clip"]))
    return Trainer(
        model,
        optimizer,
        generator=torch.Generator().manual_seed(seed + 1),
        scheduler=scheduler,
        scheduler_interval=interval,
        callbacks=cbs,
        checkpoint=run_dir / CHECKPOINT_FILE,
        checkpoint_every=cfg["checkpoint_every"],
        keep_best=cfg["keep_best"] or None,
        best_checkpoint=run_dir / BEST_FILE,
        config=cfg,
        device=cfg["device"],
        progress=cfg["progress"],
        **kw,
    )


def stored_config(run_dir, overrides=()) -> dict:
    """The resolved configuration of a run directory (migrated from an older schema)."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    return load_config(path, overrides, stored=True)


def resume_config(run_dir, overrides=()) -> dict:
    """The configuration a resumed run continues with: the stored one (migrated from an
    older schema) with ``overrides`` of :data:`RESUMABLE_KEYS` only."""
    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise FileNotFoundError(
            f"cannot resume: {run_dir / CHECKPOINT_FILE} does not exist "
            "(train without --resume first)"
        )
    stored, _ = migrate(read_toml(run_dir / CONFIG_FILE))
    base = resolve_config(stored)
    cfg = resolve_config(stored, overrides)
    changed = sorted(k for k in cfg if cfg[k] != base[k] and k not in RESUMABLE_KEYS)
    if changed:
        raise ValueError(
            f"--resume continues the run in {run_dir} with its stored configuration; "
            f"only {sorted(RESUMABLE_KEYS)} may change, not {changed}"
        )
    return cfg


def check_ranks_agree(cfg: dict) -> None:
    """In a process group: raise unless every rank resolved the same configuration and runs
    the same photonn version (a SHA-256 of both per rank, gathered and compared)."""
    if dist_.world_size() > 1:
        dist_.check_same(
            {"config": cfg, "photonn": __version__},
            what="configuration",
            fix="launch every rank with the same CONFIG file, the same --set overrides and "
            "the same photonn version",
        )


def restart_resumes(run_dir, run_id: str, cfg: dict | None = None) -> bool:
    """Whether a restarted torchrun job (``--max-restarts``) continues the run in ``run_dir``.

    True when ``run_dir`` holds a checkpoint and its :data:`LAUNCH_FILE` names
    the same torchrun job id ``run_id``: the run was started by an earlier
    attempt of this very job. ``cfg`` (the configuration the job was launched
    with) must then equal the stored one, except :data:`RESUMABLE_KEYS`.
    """
    run_dir = Path(run_dir)
    path = run_dir / LAUNCH_FILE
    if not run_id or not (run_dir / CHECKPOINT_FILE).is_file() or not path.is_file():
        return False
    try:
        launched = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if launched.get("torchrun_run_id") != run_id:
        return False
    if cfg is not None:
        stored = resume_config(run_dir)
        changed = sorted(k for k in cfg if cfg[k] != stored.get(k) and k not in RESUMABLE_KEYS)
        if changed:
            raise ValueError(
                f"torchrun restarted the job, but the configuration differs from the one "
                f"stored in {run_dir} in {changed}: the run cannot continue"
            )
    return True


def prepare_run(
    cfg: dict | None,
    run_dir,
    *,
    resume: bool = False,
    overrides=(),
    launch: dict | None = None,
    **trainer_kw,
):
    """Resolve the configuration, write it, load the data and build the trainer.

    Without ``resume``, ``run_dir`` must not hold a checkpoint yet. With
    ``resume``, the stored configuration is used (``overrides`` may change only
    :data:`RESUMABLE_KEYS`, e.g. ``epochs`` to train longer) and the trainer is
    restored from the checkpoint. Returns ``(trainer, data)``; the resolved
    configuration is ``trainer.config``. ``trainer_kw["callbacks"]`` run after
    the time limit and before the metric sinks. ``launch`` (JSON-able, e.g.
    torchrun's job id) is written to :data:`LAUNCH_FILE`.

    In a process group every rank calls it: the ranks must agree on the
    configuration (:func:`check_ranks_agree`), ``batch_size`` must be a multiple
    of the world size, every rank loads the checkpoint, and rank 0 alone writes.
    """
    run_dir = Path(run_dir)
    if resume:
        cfg = resume_config(run_dir, overrides)
    else:
        cfg = resolve_config(cfg, overrides)
        if (run_dir / CHECKPOINT_FILE).exists():
            raise ValueError(
                f"{run_dir} already holds a run; continue it with --resume "
                "or choose another --run-dir"
            )
    check_ranks_agree(cfg)
    world = dist_.world_size()
    if world > 1:
        try:
            dist_.check_batch_size(cfg["batch_size"], world)
        except ValueError as exc:
            raise ValueError(f"config key 'batch_size': {exc}") from None
    data = load_data(cfg)
    trainer = make_trainer(cfg, run_dir, data, **trainer_kw)
    if dist_.is_main():
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / CONFIG_FILE, dump_config(cfg))
        if launch is not None:
            atomic_write_text(run_dir / LAUNCH_FILE, json.dumps(launch, indent=1) + "\n")
    if resume:
        trainer.load()
        trainer.config = cfg
    return trainer, data


def _test_results(trainer: Trainer, run_dir: Path, data: RunData) -> dict:
    """Test loss/accuracy of the final model and of the best-on-validation model, once each."""
    cfg = trainer.config
    kw = {"batch_size": cfg["eval_batch_size"], "progress": False}
    final = trainer.evaluate(data.test, **kw)
    out = {
        "final": {
            "epoch": trainer.epoch,
            "step": trainer.step,
            "test_loss": final["loss"],
            "test_accuracy": final.get("accuracy"),
        },
        "test_samples": final["samples"],
    }
    if trainer.history:
        last = trainer.history[-1]
        out["final"].update({k: v for k, v in last.items() if k.startswith("val_")})
    if trainer.best is not None and (run_dir / BEST_FILE).is_file():
        model = build_model(cfg)
        ck = load_checkpoint(run_dir / BEST_FILE, model, map_location=trainer.device)
        best = trainer.evaluate(data.test, model=model, **kw)
        row = next((h for h in ck["history"] if h["epoch"] == trainer.best["epoch"]), {})
        out["best"] = {
            "epoch": trainer.best["epoch"],
            "step": trainer.best["step"],
            "chosen_by": trainer.best["metric"],
            **{k: v for k, v in row.items() if k.startswith("val_")},
            "test_loss": best["loss"],
            "test_accuracy": best.get("accuracy"),
        }
    if dist_.is_main():
        atomic_write_text(run_dir / RESULTS_FILE, json.dumps(out, indent=1) + "\n")
    return out


def fit_run(trainer: Trainer, run_dir, data: RunData, *, test: bool = True) -> Trainer:
    """Train to the configured number of epochs, then test the final and the best model.

    The metric sinks follow every epoch; ``results.json`` is written at the end
    (also when a time limit stopped the run early). Returns the trainer, with
    the test results in ``trainer.results``. ``test=False`` trains only
    (:func:`test_results` tests later).
    """
    run_dir = Path(run_dir)
    cfg = trainer.config
    trainer.fit(
        data.train,
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        validation=data.validation,
        eval_batch_size=cfg["eval_batch_size"],
    )
    trainer.results = _test_results(trainer, run_dir, data) if test else None
    return trainer


def test_results(trainer: Trainer, run_dir, data: RunData) -> dict:
    """Test the final and the best model of a trained run once each; writes ``results.json``."""
    trainer.results = _test_results(trainer, Path(run_dir), data)
    return trainer.results


def train_run(
    cfg: dict | None,
    run_dir,
    *,
    resume: bool = False,
    overrides=(),
    launch: dict | None = None,
    **trainer_kw,
):
    """:func:`prepare_run` then :func:`fit_run`; returns the :class:`Trainer`."""
    trainer, data = prepare_run(
        cfg, run_dir, resume=resume, overrides=overrides, launch=launch, **trainer_kw
    )
    return fit_run(trainer, run_dir, data)


def load_run(run_dir, *, which: str = "final"):
    """``(cfg, model)`` of a run directory, the model loaded (eval mode).

    ``which`` is ``"final"`` (``checkpoint.h5``, the last epoch) or ``"best"``
    (``best.h5``, the best epoch on validation).
    """
    run_dir = Path(run_dir)
    if which not in ("final", "best"):
        raise ValueError(f"which must be 'final' or 'best', got {which!r}")
    cfg = stored_config(run_dir)
    path = run_dir / (CHECKPOINT_FILE if which == "final" else BEST_FILE)
    if not path.is_file():
        hint = (
            "it keeps a best model only with keep_best set and a validation split"
            if which == "best"
            else "train it first"
        )
        raise FileNotFoundError(f"{run_dir} has no {path.name}: {hint}")
    model = build_model(cfg)
    load_checkpoint(path, model, map_location=cfg["device"])
    model.eval()
    return cfg, model


def evaluate_run(
    run_dir, *, split: str = "test", which: str = "final", data_dir: str | None = None
) -> dict:
    """Loss and accuracy of a run's final or best model on one split; writes ``eval.json``."""
    run_dir = Path(run_dir)
    if split not in ("test", "validation", "train"):
        raise ValueError(f"split must be 'test', 'validation' or 'train', got {split!r}")
    cfg, model = load_run(run_dir, which=which)
    if data_dir:
        cfg["data"]["data_dir"] = data_dir
    data = load_data(cfg)
    chosen = {"test": data.test, "train": data.train, "validation": data.validation}[split]
    if chosen is None:
        raise ValueError(f"{run_dir} was trained without a validation split (data.validation = 0)")
    out = evaluate(
        model,
        chosen,
        batch_size=cfg["eval_batch_size"],
        device=cfg["device"],
        loss_fn=loss_function(cfg),
    )
    out = {"split": split, "model": which, "dataset": cfg["data"]["dataset"], **out}
    if not math.isfinite(out["samples_per_s"]):
        out["samples_per_s"] = None
    atomic_write_text(run_dir / "eval.json", json.dumps(out, indent=1) + "\n")
    return out


def run_pictures(run_dir, *, which: str = "final") -> list[Path]:
    """The model kind's pictures and the training curves, into ``run_dir`` (needs matplotlib)."""
    from ..plotting import plot_history

    run_dir = Path(run_dir)
    cfg, model = load_run(run_dir, which=which)
    history = (
        json.loads((run_dir / METRICS_JSON).read_text())
        if (run_dir / METRICS_JSON).is_file()
        else []
    )
    kind = get_kind(cfg["model"]["kind"])
    ds = get_dataset(cfg["data"]["dataset"])
    images, labels = ds.load(cfg["data"]["data_dir"], "test")
    if kind.pictures is not None:
        with torch.no_grad():
            return kind.pictures(model, run_dir, images[:1], labels[:1], history)
    return [plot_history(history, run_dir / "curves.png")] if history else []
