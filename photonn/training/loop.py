"""A thin, explicit training loop for any ``nn.Module``: seeded, resumable, guarded against NaNs.

Data are in-memory tensors ``(inputs, targets)``; each epoch draws a
permutation from an explicit ``torch.Generator``, so the batches (and hence the
whole run) reproduce exactly from the seed. ``uint8`` inputs are scaled to
``[0, 1]`` per batch. The loop knows no model and no dataset.

The loss contract is one: ``loss_fn(output, target) -> scalar tensor``, the
mean over the batch. Training and :func:`evaluate` both call it so; evaluation
weights each batch's loss by its size, so the reported loss is the mean over
samples whatever the batch sizes. Accuracy is reported when the output is
``(B, C)`` and the target holds labels ``(B,)`` or scores ``(B, C)``.

Extension points (each optional):

* ``regularizers``: ``{name: (weight, fn)}`` with ``fn(model) -> scalar tensor``;
  ``weight * fn(model)`` is added to the loss and logged as ``reg/<name>``.
* ``grad_clip``: ``callable(model)``, applied after ``backward`` and before the
  optimizer step.
* ``scheduler`` (any ``torch.optim.lr_scheduler``), stepped per epoch or per
  optimizer step; its state is checkpointed.
* ``callbacks``: see :mod:`photonn.training.callbacks` (metric sinks are
  callbacks too, :mod:`photonn.training.sinks`).
* ``keep_best``: a validation metric (``"val_accuracy"``, ``"val_loss"``); the
  model of the best epoch by it is written to ``best_checkpoint``. Test data
  never choose anything.

Every step makes one host synchronisation: the loss, the task loss, the
regularizer terms, the largest absolute gradient entry (one fused
``torch.nn.utils.get_total_norm(..., inf)`` reduction over every gradient) and
the correct count are stacked and copied to the host together. A non-finite
loss or gradient stops the run before the optimizer step, naming the step (and
the parameters, found only then).

Hardware effects (noise, quantisation) are properties of the model's modules;
the loop only trains.

Under ``torch.distributed`` (a process group initialised, e.g. by ``torchrun``
and :func:`photonn.training.distributed.init_from_env`), the trainer trains
data-parallel: the model runs inside ``DistributedDataParallel``, each rank
takes its slice of every global batch of the shared permutation, the step's
metrics are all-reduced in the tensor that is copied to the host anyway, and
rank 0 alone writes checkpoints, sinks and progress bars. A model holding a
:class:`~photonn.training.distributed.WavelengthParallel` module is trained
model-parallel instead (every rank sees the whole batch). See
:mod:`photonn.training.distributed`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from .._checks import positive_int
from . import distributed as dist_
from .callbacks import StopTraining
from .checkpoint import (
    check_checkpoint_path,
    load_checkpoint,
    rng_states,
    save_checkpoint,
    set_rng_states,
)
from .data import as_input, check_data, correct_count
from .optim import INTERVALS
from .sinks import TensorBoardSink, _RowSink

__all__ = ["NonFiniteLossError", "StopTraining", "Trainer", "evaluate"]

#: the validation metrics of an epoch row, the names ``keep_best`` may take
KEEP_BEST = ("val_loss", "val_accuracy")


class NonFiniteLossError(FloatingPointError):
    """The loss or a gradient became NaN or infinite; training stopped.

    Attributes:
        epoch: the epoch being trained (1-based). step: the step that failed
        (1-based; ``step - 1`` steps completed).
    """

    def __init__(self, message: str, *, epoch: int = 0, step: int = 0):
        super().__init__(message)
        self.epoch, self.step = epoch, step


def _scalar_loss(value, where: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.is_complex():
        what = (
            f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
            if isinstance(value, torch.Tensor)
            else type(value).__name__
        )
        raise TypeError(
            f"{where} must return a real scalar tensor (the mean over the batch), got {what}; "
            "the contract is loss_fn(output, target) -> scalar"
        )
    return value.reshape(())


def _model_device(model):
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data,
    *,
    batch_size: int = 256,
    loss_fn: Callable = nn.functional.cross_entropy,
    device=None,
    progress: bool = False,
) -> dict:
    """Mean loss (and accuracy, for classifications) of ``model`` on ``data = (inputs, targets)``.

    ``loss_fn(output, target) -> scalar`` is the batch mean; each batch is
    weighted by its size. Returns ``{"loss", "samples", "samples_per_s"}`` plus
    ``"accuracy"`` when the output is ``(B, C)`` with labels ``(B,)`` or scores
    ``(B, C)``. The model is put in eval mode and restored afterwards. One host
    synchronisation at the end.
    """
    x, y = check_data(data, "data")
    positive_int(batch_size, "batch_size")
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    total = 0
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    classify = True
    t0 = time.perf_counter()
    starts = range(0, x.shape[0], batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="eval", leave=False, mininterval=2.0)
    try:
        for s in starts:
            xb = as_input(x[s : s + batch_size], device)
            yb = y[s : s + batch_size].to(device)
            out = model(xb)
            loss = _scalar_loss(loss_fn(out, yb), "loss_fn")
            loss_sum += loss.detach().to(torch.float64) * yb.shape[0]
            c = correct_count(out, yb) if classify else None
            if c is None:
                classify = False
            else:
                correct += c
            total += yb.shape[0]
        values = torch.stack([loss_sum, correct.to(torch.float64)]).tolist()
    finally:
        model.train(was_training)
    dt = time.perf_counter() - t0
    out = {"loss": values[0] / total}
    if classify:
        out["accuracy"] = values[1] / total
    out.update(samples=total, samples_per_s=total / dt if dt > 0 else math.inf)
    return out


def _rank_zero_only(callback) -> bool:
    """Whether a callback runs on rank 0 only: its ``rank_zero_only`` attribute, else True
    for the metric sinks (they write files) and False for the rest."""
    flag = getattr(callback, "rank_zero_only", None)
    if flag is not None:
        return bool(flag)
    return isinstance(callback, (_RowSink, TensorBoardSink))


def _jsonable_loop(loop: dict) -> dict:
    out = dict(loop)
    if "epoch_rng" in out:
        out["epoch_rng"] = out["epoch_rng"].tolist()
    return out


class Trainer:
    """Train ``model`` with ``optimizer``; validate, keep the best, checkpoint, resume, stop on NaN.

    Args:
        model: any module; ``model(inputs)`` is passed to ``loss_fn``.
        optimizer: built over ``model.parameters()`` (one holding none of the
            model's trainable parameters is refused).
        generator: the shuffling generator; seed it for a reproducible run.
            Its state is checkpointed.
        loss_fn: ``loss_fn(output, target) -> scalar``, the batch mean (default:
            softmax cross-entropy).
        scheduler: a ``torch.optim.lr_scheduler`` over ``optimizer`` (optional).
        scheduler_interval: ``"epoch"`` (stepped after each epoch) or ``"step"``
            (after each optimizer step). ``ReduceLROnPlateau`` is stepped per
            epoch on ``val_loss`` (``train_loss`` without validation data).
        regularizers, grad_clip, callbacks: see the module docstring.
        checkpoint: HDF5 path written at the end of every epoch (and every
            ``checkpoint_every`` steps when > 0); ``None`` writes none. A directory
            (or a path below a file) is refused here, before any training.
        keep_best: a validation metric of the epoch rows, ``"val_accuracy"``
            (higher is better; classifications only) or ``"val_loss"`` (lower is
            better); ``None`` keeps nothing. Other names are refused here.
        best_checkpoint: where the best model goes (default: beside
            ``checkpoint``, ``<stem>-best.h5``; without any path the best state
            is kept in memory, :attr:`best_state`).
        config: JSON-able resolved configuration stored in the checkpoint.
        device: where batches go (default: where the model's parameters are).
        progress: show tqdm progress bars.
        data_parallel: ``None`` (default): data-parallel when a process group of
            two or more ranks is initialised (see
            :mod:`photonn.training.distributed`); ``False``: every rank trains on
            its own. A model already wrapped in ``DistributedDataParallel`` is used
            as it is.
        ddp_options: keyword arguments for ``DistributedDataParallel`` (e.g.
            ``{"find_unused_parameters": True}``).

    In a process group, rank 0 alone writes checkpoints and runs the metric
    sinks (callbacks with ``rank_zero_only = True``, and the built-in sinks);
    the other callbacks run on every rank. :meth:`save` is then collective
    (call it on every rank). A ``StopTraining`` raised on any rank in
    ``on_batch_end`` stops every rank one step later (the flag travels in the
    next step's all-reduce, so no extra synchronisation is needed); in
    ``on_epoch_end`` it stops every rank after that epoch.

    Attributes:
        epoch: completed epochs. step: completed optimizer steps.
        history: one metrics row per completed epoch.
        best: ``{"metric", "value", "epoch", "step"}`` of the best epoch so far, or ``None``.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        generator: torch.Generator,
        loss_fn: Callable = nn.functional.cross_entropy,
        scheduler=None,
        scheduler_interval: str = "epoch",
        regularizers: Mapping[str, tuple[float, Callable]] | None = None,
        grad_clip: Callable | None = None,
        callbacks: Sequence = (),
        checkpoint=None,
        checkpoint_every: int = 0,
        keep_best: str | None = None,
        best_checkpoint=None,
        config: dict | None = None,
        device=None,
        progress: bool = True,
        data_parallel: bool | None = None,
        ddp_options: Mapping | None = None,
    ):
        from torch.nn.parallel import DistributedDataParallel

        net = model
        if isinstance(model, DistributedDataParallel):
            model = model.module
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                "generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
                f"got {type(generator).__name__}"
            )
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable(output, target), got {loss_fn!r}")
        self.regularizers = dict(regularizers or {})
        for name, entry in self.regularizers.items():
            if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[1])):
                raise TypeError(
                    f"regularizers[{name!r}] must be a pair (weight, fn(model) -> scalar), "
                    f"got {entry!r}"
                )
        if grad_clip is not None and not callable(grad_clip):
            raise TypeError(f"grad_clip must be callable(model), got {type(grad_clip).__name__}")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int):
            raise TypeError(f"checkpoint_every must be an int, got {checkpoint_every!r}")
        if checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {checkpoint_every}")
        if scheduler_interval not in INTERVALS:
            raise ValueError(
                f"scheduler_interval must be one of {list(INTERVALS)}, got {scheduler_interval!r}"
            )
        if scheduler is not None and not hasattr(scheduler, "step"):
            raise TypeError(f"scheduler must be a torch.optim.lr_scheduler, got {scheduler!r}")
        plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if plateau and scheduler_interval != "epoch":
            raise ValueError("ReduceLROnPlateau steps on the epoch's loss: use interval 'epoch'")
        if keep_best is not None:
            if not isinstance(keep_best, str) or not keep_best.startswith("val_"):
                raise ValueError(
                    f"keep_best must name a validation metric such as 'val_accuracy' or "
                    f"'val_loss', got {keep_best!r}: the best model is chosen on validation "
                    "data, never on test data"
                )
            if keep_best not in KEEP_BEST:
                raise ValueError(
                    f"keep_best={keep_best!r} is not a metric the loop computes; the "
                    f"validation metrics are {list(KEEP_BEST)} ('val_accuracy' for "
                    "classifications only)"
                )
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        held = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if not trainable:
            raise ValueError(
                "the model has no trainable parameters (none with requires_grad=True), so "
                "training would change nothing; unfreeze them with model.requires_grad_(True)"
            )
        if not trainable & held:
            raise ValueError(
                f"the optimizer holds none of the model's {len(trainable)} trainable parameter "
                f"tensors (it holds {len(held)} other tensors), so training would change nothing; "
                "build it over this model, e.g. torch.optim.Adam(model.parameters())"
            )
        self.model = model
        self.optimizer = optimizer
        self.generator = generator
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.grad_clip = grad_clip
        self.callbacks = list(callbacks)
        self.checkpoint = None if checkpoint is None else check_checkpoint_path(checkpoint)
        self.checkpoint_every = checkpoint_every
        self.keep_best = keep_best
        if best_checkpoint is not None:
            self.best_checkpoint = check_checkpoint_path(best_checkpoint, "best_checkpoint")
        elif keep_best is not None and self.checkpoint is not None:
            c = self.checkpoint
            self.best_checkpoint = c.with_name(f"{c.stem}-best{c.suffix}")
        else:
            self.best_checkpoint = None
        if self.best_checkpoint is not None:
            check_checkpoint_path(self.best_checkpoint, "best_checkpoint")
            if self.best_checkpoint == self.checkpoint:
                raise ValueError(
                    f"best_checkpoint and checkpoint are the same file {str(self.checkpoint)!r}; "
                    "the best model would overwrite the resumable state: give another path"
                )
        self.config = config or {}
        self.device = torch.device(device) if device is not None else _model_device(model)
        self.plan = dist_.plan_for(model, data_parallel)
        if net is not model and self.plan.mode != "data":
            raise ValueError(
                "the model is wrapped in DistributedDataParallel but the trainer is not "
                "data-parallel: pass the bare module (and an initialised process group)"
            )
        if self.plan.mode == "data" and net is model:
            net = dist_.wrap_ddp(model, self.device, **dict(ddp_options or {}))
            if self.plan.rank:  # independent noise draws per rank (rank 0 as one process)
                dist_.decorrelate_generators(model, self.plan.rank)
        self._net = net
        self.progress = progress and self.plan.main
        self.epoch = 0
        self.step = 0
        self.history: list[dict] = []
        self.best: dict | None = None
        self.best_state: dict | None = None
        # state of a partly done epoch (restored on resume)
        self._loop: dict = {}
        self._halt = False
        self._stop_local = False  # a rank's StopTraining, not yet agreed with the others
        self._stop_all = False  # agreed in the step's all-reduce
        self._last_lr = optimizer.param_groups[0]["lr"]
        self._params = [p for p in model.parameters() if p.requires_grad]

    # -- checkpoints ----------------------------------------------------------
    def _state(self) -> dict:
        return {"best": self.best}

    def save(self, path=None) -> Path:
        """Write a checkpoint (default: ``self.checkpoint``).

        In a process group this is collective: every rank calls it, the random
        generator states of every rank are gathered and rank 0 writes them all.
        """
        path = Path(path) if path is not None else self.checkpoint
        if path is None:
            raise ValueError("no checkpoint path: pass one or build the Trainer with checkpoint=")
        rng = rng_states(self.model, self.generator)
        if self.plan.parallel:
            every = dist_.gather_objects(rng)
            if not self.plan.main:
                return path
            for r, states in enumerate(every[1:], 1):
                rng.update({f"rank{r}/{k}": v for k, v in states.items()})
        return save_checkpoint(
            path,
            self.model,
            self.optimizer,
            epoch=self.epoch,
            step=self.step,
            rng=rng,
            history=self.history,
            config=self.config,
            loop=_jsonable_loop(self._loop),
            scheduler=self.scheduler,
            trainer=self._state(),
        )

    def load(self, path=None) -> dict:
        """Restore model, optimizer, scheduler, generators and counters from a checkpoint."""
        path = Path(path) if path is not None else self.checkpoint
        if path is None:
            raise ValueError("no checkpoint path: pass one or build the Trainer with checkpoint=")
        ck = load_checkpoint(
            path, self.model, self.optimizer, scheduler=self.scheduler, map_location=self.device
        )
        states = ck["rng"]
        own = None
        if self.plan.parallel and self.plan.rank:
            prefix = f"rank{self.plan.rank}/"
            own = {k[len(prefix) :]: v for k, v in states.items() if k.startswith(prefix)}
        set_rng_states(own or states, self.model, self.generator)
        if self.plan.parallel:
            if not own and self.plan.rank and self.plan.mode == "data":
                # a checkpoint of fewer ranks: this rank draws its own noise again
                dist_.decorrelate_generators(self.model, self.plan.rank)
            dist_.check_same(
                {
                    "epoch": ck["epoch"],
                    "step": ck["step"],
                    "loop": dist_.digest(ck["loop"]),
                    "shuffle": dist_.digest(self.generator.get_state().tolist()),
                },
                what="checkpoint they resume from",
                fix=f"every rank must read the same {path} (a file system all nodes share)",
            )
        self.epoch, self.step = ck["epoch"], ck["step"]
        self.history = ck["history"]
        self._loop = ck["loop"]
        if self._loop:
            self._loop["epoch_rng"] = torch.tensor(self._loop["epoch_rng"], dtype=torch.uint8)
        self.best = (ck.get("trainer") or {}).get("best")
        return ck

    # -- one batch --------------------------------------------------------------
    def _batch(self, xb, yb, share=None) -> tuple[dict, int | None]:
        """One optimizer step. ``share = (n_r, n)``: data-parallel, this rank holds ``n_r``
        of the global batch's ``n`` samples (``n_r = 0``: a placeholder sample, weight 0)."""
        model = self.model
        out = self._net(xb)
        task = _scalar_loss(self.loss_fn(out, yb), "loss_fn")
        loss = task
        terms = []
        for name, (weight, fn) in self.regularizers.items():
            value = _scalar_loss(fn(model), f"regularizer {name!r}")
            terms.append(value)
            loss = loss + weight * value
        self.optimizer.zero_grad(set_to_none=True)
        if share is not None:
            # DDP averages over ranks: N n_r / n makes it the mean over the global batch
            scale = self.plan.world * share[0] / share[1]
            (loss * scale if scale != 1.0 else loss).backward()
        else:
            loss.backward()
        if self.grad_clip is not None:
            self.grad_clip(model)
        grads = [p.grad for p in self._params if p.grad is not None]
        dev = loss.device
        gmax = (
            torch.nn.utils.get_total_norm(grads, norm_type=math.inf)
            if grads
            else torch.zeros((), device=dev)
        )
        correct = correct_count(out.detach(), yb)
        parts = [loss.detach(), task.detach(), gmax.to(dev)]
        parts += [t.detach() for t in terms]
        if correct is not None:
            parts.append(correct)
        if self.plan.parallel:
            values = self._reduced(parts, correct is not None, share)
        else:
            # the step's one host synchronisation
            values = torch.stack([p.to(torch.float64) for p in parts]).tolist()
        loss_value, task_value, gmax_value = values[:3]
        if not math.isfinite(loss_value):
            self._nan(f"the loss is {loss_value} (task loss {task_value})")
        if not math.isfinite(gmax_value):
            bad = [
                n
                for n, p in model.named_parameters()
                if p.grad is not None and not bool(p.grad.isfinite().all())
            ]
            self._nan(f"the gradient of {', '.join(bad[:5])} is not finite (loss {loss_value:.6g})")
        self.optimizer.step()
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        metrics = {"loss": loss_value, "task_loss": task_value}
        for name, v in zip(self.regularizers, values[3 : 3 + len(terms)]):
            metrics[f"reg/{name}"] = v
        metrics["grad_max_abs"] = gmax_value
        metrics["lr"] = lr
        self._last_lr = lr
        return metrics, (int(values[-1]) if correct is not None else None)

    def _reduced(self, parts, counted: bool, share) -> list:
        """The step's values summed over ranks, in the layout of ``parts``, with the stop flag.

        Means (losses, regularizer terms) are weighted by the rank's share of the
        global batch, counts summed; in model-parallel mode every rank holds the
        same values and rank 0's are taken. The largest gradient entry is this
        rank's: after the gradient all-reduce it is the same everywhere. One
        all-reduce, then the step's one host copy; the pending stop flag of the
        callbacks rides along and comes back as ``self._stop_all``.
        """
        if share is not None:
            weight = share[0] / share[1]
            count_weight = 1.0 if share[0] else 0.0
        else:
            weight = count_weight = 1.0 if self.plan.main else 0.0
        dev = parts[0].device
        means = [parts[0], parts[1], *parts[3 : len(parts) - counted]]
        vec = [p.to(torch.float64) * weight for p in means]
        if counted:
            vec.append(parts[-1].to(torch.float64) * count_weight)
        vec.append(torch.tensor(1.0 if self._stop_local else 0.0, dtype=torch.float64, device=dev))
        red = dist_.all_reduce_sum(torch.stack(vec))
        # the step's one host synchronisation
        got = torch.cat([red, parts[2].to(torch.float64).reshape(1)]).tolist()
        gmax, stop = got[-1], got[-2]
        self._stop_all = stop > 0
        k = len(means)
        out = [got[0], got[1], gmax, *got[2:k]]
        if counted:
            out.append(got[k])
        return out

    def _nan(self, what: str):
        where = f"at epoch {self.epoch + 1}, step {self.step + 1}"
        keep = (
            f"the last good checkpoint {self.checkpoint} (epoch {self.epoch}, step {self.step}) "
            "is kept; lower the learning rate or add gradient clipping and resume from it"
            if self.checkpoint is not None and self.checkpoint.is_file()
            else "no checkpoint was written yet"
        )
        raise NonFiniteLossError(
            f"training stopped {where}: {what}; {keep}", epoch=self.epoch + 1, step=self.step + 1
        )

    # -- epochs -------------------------------------------------------------------
    def train_epoch(
        self, data, batch_size: int, *, max_steps: int | None = None, drop_last: bool = False
    ) -> dict:
        """One pass over ``data`` (shuffled); returns the epoch's training metrics.

        ``max_steps`` stops early after that many steps in total (``self.step``),
        leaving the epoch resumable from the checkpoint. ``drop_last`` skips the
        last, smaller batch of each epoch.
        """
        x, y = check_data(data, "train data")
        positive_int(batch_size, "batch_size")
        world = self.plan.data_world
        if world > 1:
            dist_.check_batch_size(batch_size, world)
        n = x.shape[0]
        nb = n // batch_size if drop_last else math.ceil(n / batch_size)
        if nb == 0:
            raise ValueError(
                f"drop_last with batch_size {batch_size} leaves no batch of the {n} training "
                "samples; lower batch_size"
            )
        if self._loop:
            st = self._loop
            self.generator.set_state(st["epoch_rng"])
        else:
            st = {
                "epoch_rng": self.generator.get_state(),
                "batch": 0,
                "loss_sum": 0.0,
                "correct": 0,
                "classify": True,
                "seen": 0,
                "time": 0.0,
            }
        st.setdefault("classify", True)
        perm = torch.randperm(n, generator=self.generator)
        self.model.train()
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            # refresh at most every 2 s: a log file or CI output gets a line per refresh
            bar = tqdm(
                total=nb,
                initial=st["batch"],
                desc=f"epoch {self.epoch + 1}",
                leave=False,
                mininterval=2.0,
            )
        t_last = time.perf_counter()
        try:
            for b in range(st["batch"], nb):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                share = None
                if world > 1:  # this rank's slice of the global batch
                    lo, hi = dist_.shard_bounds(idx.numel(), self.plan.rank, world)
                    share = (hi - lo, idx.numel())
                    idx = idx[lo:hi] if hi > lo else idx[:1]
                xb = as_input(x[idx], self.device)
                yb = y[idx].to(self.device)
                self._loop = st
                m, correct = self._batch(xb, yb, share)
                count = yb.shape[0] if share is None else share[1]
                self.step += 1
                now = time.perf_counter()
                st["time"] += now - t_last
                t_last = now
                st["batch"] = b + 1
                st["loss_sum"] += m["loss"] * count
                if correct is None:
                    st["classify"] = False
                else:
                    st["correct"] += correct
                st["seen"] += count
                m["samples_per_s"] = st["seen"] / st["time"] if st["time"] > 0 else math.inf
                stop = None
                try:
                    for cb in self._callbacks():
                        hook = getattr(cb, "on_batch_end", None)
                        if hook is not None:
                            hook(self.step, self.model, m)
                except StopTraining as exc:
                    stop = exc
                if bar is not None:
                    bar.update(1)
                    post = {"loss": f"{m['loss']:.4f}"}
                    if st["classify"]:
                        post["acc"] = f"{st['correct'] / st['seen']:.3f}"
                    bar.set_postfix(post)
                done = st["batch"] == nb
                if self.plan.parallel:  # every rank stops at the same step
                    self._stop_local = self._stop_local or stop is not None
                    stopped = self._stop_all
                else:
                    stopped = stop is not None
                halt = stopped or (max_steps is not None and self.step >= max_steps)
                if halt:
                    if stopped:
                        self._stop_local = self._stop_all = False
                    self._halt = True
                    if not done:
                        if self.checkpoint is not None:
                            self.save()
                        return {}
                elif (
                    not done
                    and self.checkpoint is not None
                    and self.checkpoint_every
                    and self.step % self.checkpoint_every == 0
                ):
                    self.save()
        finally:
            if bar is not None:
                bar.close()
        self._loop = {}
        out = {"train_loss": st["loss_sum"] / st["seen"]}
        if st["classify"]:
            out["train_accuracy"] = st["correct"] / st["seen"]
        out.update(
            train_samples_per_s=st["seen"] / st["time"] if st["time"] > 0 else math.inf,
            train_time_s=st["time"],
            train_samples=st["seen"],
        )
        return out

    def _callbacks(self) -> list:
        """The callbacks that run in this process (rank 0 runs all)."""
        if self.plan.main:
            return self.callbacks
        return [cb for cb in self.callbacks if not _rank_zero_only(cb)]

    def evaluate(
        self,
        data,
        *,
        batch_size: int = 256,
        model: nn.Module | None = None,
        progress: bool | None = None,
    ) -> dict:
        """:func:`evaluate` of ``model`` (default: the trained one) with the trainer's loss.

        Data-parallel, each rank evaluates its contiguous share of ``data`` and
        the sums are all-reduced: every rank returns the whole set's numbers.
        Call it on every rank then. ``progress`` defaults to the trainer's.
        """
        model = self.model if model is None else model
        progress = self.progress if progress is None else progress and self.plan.main
        kw = {"batch_size": batch_size, "loss_fn": self.loss_fn, "device": self.device}
        kw["progress"] = progress
        if self.plan.mode != "data":
            return evaluate(model, data, **kw)
        x, y = check_data(data, "data")
        lo, hi = dist_.shard_bounds(x.shape[0], self.plan.rank, self.plan.world)
        t0 = time.perf_counter()
        # loss sum, correct count, samples, shares evaluated, shares with an accuracy
        vec = [0.0] * 5
        if hi > lo:
            ev = evaluate(model, (x[lo:hi], y[lo:hi]), **kw)
            n, acc = ev["samples"], ev.get("accuracy")
            if acc is None:
                vec = [ev["loss"] * n, 0.0, n, 1.0, 0.0]
            else:
                vec = [ev["loss"] * n, round(acc * n), n, 1.0, 1.0]
        comm = self.device if self.plan.backend == "nccl" else torch.device("cpu")
        t = dist_.all_reduce_sum(torch.tensor(vec, dtype=torch.float64, device=comm))
        loss_sum, correct, total, shares, classify = t.tolist()
        dt = time.perf_counter() - t0
        out = {"loss": loss_sum / total}
        if classify == shares:
            out["accuracy"] = correct / total
        out.update(samples=int(total), samples_per_s=total / dt if dt > 0 else math.inf)
        return out

    def _evaluate(self, data, prefix: str, batch_size: int) -> dict:
        ev = self.evaluate(data, batch_size=batch_size)
        out = {f"{prefix}_loss": ev["loss"]}
        if "accuracy" in ev:
            out[f"{prefix}_accuracy"] = ev["accuracy"]
        return out

    def _better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        lower = self.keep_best.endswith("loss")
        return value < self.best["value"] if lower else value > self.best["value"]

    def _keep_best(self, row: dict) -> None:
        if self.keep_best is None:
            return
        if self.keep_best not in row:
            raise KeyError(
                f"keep_best={self.keep_best!r} is not among the epoch metrics "
                f"{sorted(row)}; pass validation data or choose one of the val_* metrics"
            )
        value = float(row[self.keep_best])
        if not self._better(value):
            return
        self.best = {
            "metric": self.keep_best,
            "value": value,
            "epoch": self.epoch,
            "step": self.step,
        }
        if self.best_checkpoint is not None:
            if self.plan.main:
                save_checkpoint(
                    self.best_checkpoint,
                    self.model,
                    epoch=self.epoch,
                    step=self.step,
                    history=self.history + [row],
                    config=self.config,
                    trainer={"best": self.best},
                )
        else:
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _epoch_scheduler_step(self, row: dict) -> None:
        if self.scheduler is None or self.scheduler_interval != "epoch":
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(row.get("val_loss", row["train_loss"]))
        else:
            self.scheduler.step()

    def fit(
        self,
        train,
        *,
        epochs: int,
        batch_size: int,
        validation=None,
        test=None,
        eval_batch_size: int = 256,
        max_steps: int | None = None,
        drop_last: bool = False,
    ) -> list[dict]:
        """Train until ``epochs`` epochs are complete (counting resumed ones).

        After each epoch the validation data (if given) are evaluated
        (``val_loss``, ``val_accuracy``), the epoch-interval scheduler steps,
        the best model by ``keep_best`` is kept, the callbacks' ``on_epoch_end``
        run, the row is appended to :attr:`history` and a checkpoint is written.
        ``test`` (optional) is evaluated after each epoch too, as ``test_*``, for
        monitoring only: nothing is chosen by it. Returns the history.
        """
        positive_int(epochs, "epochs")
        positive_int(eval_batch_size, "eval_batch_size")
        check_data(train, "train data")
        if validation is not None:
            _, yv = check_data(validation, "validation data")
            labels = yv.ndim == 1 and not (yv.is_floating_point() or yv.is_complex())
            scores = yv.ndim == 2 and yv.shape[1] >= 2 and not yv.is_complex()
            if self.keep_best == "val_accuracy" and not (labels or scores):
                raise ValueError(
                    "keep_best='val_accuracy' needs a classification, but the validation "
                    f"targets are {yv.dtype} of shape {tuple(yv.shape)} (accuracy needs integer "
                    "labels (B,) or class scores (B, C >= 2)); use keep_best='val_loss'"
                )
        elif self.keep_best is not None:
            raise ValueError(
                f"keep_best={self.keep_best!r} needs validation data: pass validation=(x, y) "
                "(photonn.training.split_validation draws it from the training set)"
            )
        if test is not None:
            check_data(test, "test data")
        for cb in self._callbacks():
            hook = getattr(cb, "on_fit_start", None)
            if hook is not None:
                hook(self)
        try:
            while self.epoch < epochs:
                self._halt = False
                m = self.train_epoch(train, batch_size, max_steps=max_steps, drop_last=drop_last)
                if not m:  # stopped in the middle of an epoch (callback or max_steps)
                    break
                self.epoch += 1
                row = {"epoch": self.epoch, "step": self.step, **m}
                if validation is not None:
                    row.update(self._evaluate(validation, "val", eval_batch_size))
                if test is not None:
                    row.update(self._evaluate(test, "test", eval_batch_size))
                # the rate of the epoch's last optimizer step
                row["lr"] = self._last_lr
                row["world_size"] = self.plan.world
                row["backend"] = self.plan.backend
                self._epoch_scheduler_step(row)
                self._keep_best(row)
                stop = self._halt
                for cb in self._callbacks():
                    hook = getattr(cb, "on_epoch_end", None)
                    if hook is not None:
                        try:
                            hook(self.epoch, self.model, row)
                        except StopTraining:
                            stop = True
                if self.plan.parallel:
                    stop = dist_.agree(stop or self._stop_local)
                    self._stop_local = self._stop_all = False
                self.history.append(row)
                if self.checkpoint is not None:
                    self.save()
                if stop:
                    break
            if self.plan.parallel:  # rank 0's files are complete before any rank reads them
                dist_.barrier()
        finally:
            for cb in self._callbacks():
                hook = getattr(cb, "on_fit_end", None)
                if hook is not None:
                    hook(self)
        return self.history

    def best_model_state(self) -> dict:
        """The ``state_dict`` of the best epoch by ``keep_best`` (from disk or memory)."""
        if self.best is None:
            raise ValueError(
                "no best model: build the Trainer with keep_best='val_accuracy' (or another "
                "val_* metric) and fit with validation data"
            )
        if self.best_checkpoint is not None:
            return load_checkpoint(self.best_checkpoint, map_location=self.device)["model"]
        if self.best_state is None:
            raise ValueError("the best model of a resumed run without best_checkpoint is lost")
        return copy.copy(self.best_state)
