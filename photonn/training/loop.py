"""A thin, explicit training loop: seeded, resumable, guarded against NaNs.

Data are in-memory tensors ``(inputs, targets)``; each epoch draws a
permutation from an explicit ``torch.Generator``, so the batches (and hence the
whole run) reproduce exactly from the seed. ``uint8`` inputs are scaled to
``[0, 1]`` per batch.

Extension points (each optional):

* ``regularizers``: ``{name: (weight, fn)}`` with ``fn(model) -> scalar tensor``;
  ``weight * fn(model)`` is added to the loss and logged as ``reg/<name>``.
* ``grad_clip``: ``callable(model)``, applied after ``backward`` and before the
  optimizer step.
* ``callbacks``: objects with optional methods
  ``on_batch_end(step, model, metrics)`` and ``on_epoch_end(epoch, model, metrics)``;
  they may add entries to ``metrics``; raising :class:`StopTraining` ends the
  run cleanly (a checkpoint is written), any other exception propagates.

Hardware effects (noise, quantisation) are properties of the model's modules;
the loop only trains.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from .checkpoint import load_checkpoint, rng_states, save_checkpoint, set_rng_states


class StopTraining(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a callback to end training after the current batch."""


class NonFiniteLossError(FloatingPointError):
    """The loss or a gradient became NaN or infinite; training stopped."""


def _check_data(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(data, Sequence) and len(data) == 2):
        raise TypeError(f"{name} must be a pair (inputs, targets) of tensors, got {type(data)}")
    x, y = data
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must hold two tensors, got {type(x).__name__}, {type(y).__name__}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: inputs have {x.shape[0]} samples but targets have {y.shape[0]}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return x, y


def as_input(x: torch.Tensor, device) -> torch.Tensor:
    """Move a batch to ``device``; ``uint8`` images become float32 in ``[0, 1]``."""
    x = x.to(device, non_blocking=True)
    if x.dtype == torch.uint8:
        x = x.to(torch.float32) / 255.0
    return x


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


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
    """Mean loss and accuracy of ``model`` on ``data = (inputs, targets)``.

    Returns ``{"loss", "accuracy", "samples", "samples_per_s"}``. The model is
    put in eval mode and restored afterwards.
    """
    x, y = _check_data(data, "data")
    _positive_int(batch_size, "batch_size")
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    t0 = time.perf_counter()
    starts = range(0, x.shape[0], batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="eval", leave=False, mininterval=2.0)
    try:
        for s in starts:
            xb = as_input(x[s : s + batch_size], device)
            yb = y[s : s + batch_size].to(device)
            logits = model(xb)
            loss_sum += float(loss_fn(logits, yb, reduction="sum"))
            correct += int((logits.argmax(-1) == yb).sum())
            total += yb.shape[0]
    finally:
        model.train(was_training)
    dt = time.perf_counter() - t0
    return {
        "loss": loss_sum / total,
        "accuracy": correct / total,
        "samples": total,
        "samples_per_s": total / dt if dt > 0 else math.inf,
    }


def _jsonable_loop(loop: dict) -> dict:
    out = dict(loop)
    if "epoch_rng" in out:
        out["epoch_rng"] = out["epoch_rng"].tolist()
    return out


def _model_device(model):
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


class Trainer:
    """Train ``model`` with ``optimizer``; checkpoint, resume, stop on NaN.

    Args:
        model: maps a batch of inputs to logits ``(B, C)`` (or whatever
            ``loss_fn`` takes).
        optimizer: built over ``model.parameters()``.
        generator: the shuffling generator; seed it for a reproducible run.
            Its state is checkpointed.
        loss_fn: ``loss_fn(output, target) -> scalar`` (default: softmax
            cross-entropy).
        regularizers, grad_clip, callbacks: see the module docstring.
        checkpoint: HDF5 path written at the end of every epoch (and every
            ``checkpoint_every`` steps when > 0); ``None`` writes none.
        config: JSON-able resolved configuration stored in the checkpoint.
        device: where batches go (default: where the model's parameters are).
        progress: show tqdm progress bars.

    Attributes:
        epoch: completed epochs. step: completed optimizer steps.
        history: one metrics dict per completed epoch.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        generator: torch.Generator,
        loss_fn: Callable = nn.functional.cross_entropy,
        regularizers: Mapping[str, tuple[float, Callable]] | None = None,
        grad_clip: Callable | None = None,
        callbacks: Sequence = (),
        checkpoint=None,
        checkpoint_every: int = 0,
        config: dict | None = None,
        device=None,
        progress: bool = True,
    ):
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                "generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
                f"got {type(generator).__name__}"
            )
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
        self.model = model
        self.optimizer = optimizer
        self.generator = generator
        self.loss_fn = loss_fn
        self.grad_clip = grad_clip
        self.callbacks = list(callbacks)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.checkpoint_every = checkpoint_every
        self.config = config or {}
        self.device = torch.device(device) if device is not None else _model_device(model)
        self.progress = progress
        self.epoch = 0
        self.step = 0
        self.history: list[dict] = []
        # state of a partly done epoch (restored on resume)
        self._loop: dict = {}
        self._halt = False

    # -- checkpoints ----------------------------------------------------------
    def save(self, path=None) -> Path:
        """Write a checkpoint (default: ``self.checkpoint``)."""
        path = Path(path) if path is not None else self.checkpoint
        if path is None:
            raise ValueError("no checkpoint path: pass one or build the Trainer with checkpoint=")
        return save_checkpoint(
            path,
            self.model,
            self.optimizer,
            epoch=self.epoch,
            step=self.step,
            rng=rng_states(self.model, self.generator),
            history=self.history,
            config=self.config,
            loop=_jsonable_loop(self._loop),
        )

    def load(self, path=None) -> dict:
        """Restore model, optimizer, generators and counters from a checkpoint."""
        path = Path(path) if path is not None else self.checkpoint
        if path is None:
            raise ValueError("no checkpoint path: pass one or build the Trainer with checkpoint=")
        ck = load_checkpoint(path, self.model, self.optimizer, map_location=self.device)
        set_rng_states(ck["rng"], self.model, self.generator)
        self.epoch, self.step = ck["epoch"], ck["step"]
        self.history = ck["history"]
        self._loop = ck["loop"]
        if self._loop:
            self._loop["epoch_rng"] = torch.tensor(self._loop["epoch_rng"], dtype=torch.uint8)
        return ck

    # -- one batch --------------------------------------------------------------
    def _batch(self, xb, yb) -> dict:
        model = self.model
        out = model(xb)
        task = self.loss_fn(out, yb)
        loss = task
        terms = {}
        for name, (weight, fn) in self.regularizers.items():
            value = fn(model)
            terms[f"reg/{name}"] = value
            loss = loss + weight * value
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            self._nan(f"the loss is {loss_value} (task loss {float(task.detach())})")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            self.grad_clip(model)
        bad = [
            n
            for n, p in model.named_parameters()
            if p.grad is not None and not p.grad.isfinite().all()
        ]
        if bad:
            self._nan(f"the gradient of {', '.join(bad[:5])} is not finite (loss {loss_value:.6g})")
        self.optimizer.step()
        metrics = {"loss": loss_value, "task_loss": float(task.detach())}
        metrics.update({k: float(torch.as_tensor(v).detach()) for k, v in terms.items()})
        if out.ndim == 2 and yb.ndim == 1:
            metrics["correct"] = int((out.detach().argmax(-1) == yb).sum())
        return metrics

    def _nan(self, what: str):
        where = f"at epoch {self.epoch + 1}, step {self.step + 1}"
        keep = (
            f"the last good checkpoint {self.checkpoint} (epoch {self.epoch}, step {self.step}) "
            "is kept; lower the learning rate or add gradient clipping and resume from it"
            if self.checkpoint is not None and self.checkpoint.is_file()
            else "no checkpoint was written yet"
        )
        raise NonFiniteLossError(f"training stopped {where}: {what}; {keep}")

    # -- epochs -------------------------------------------------------------------
    def train_epoch(self, data, batch_size: int, *, max_steps: int | None = None) -> dict:
        """One pass over ``data`` (shuffled); returns the epoch's training metrics.

        ``max_steps`` stops early after that many steps in total (``self.step``),
        leaving the epoch resumable from the checkpoint.
        """
        x, y = _check_data(data, "train data")
        _positive_int(batch_size, "batch_size")
        n = x.shape[0]
        nb = math.ceil(n / batch_size)
        if self._loop:
            st = self._loop
            self.generator.set_state(st["epoch_rng"])
        else:
            st = {
                "epoch_rng": self.generator.get_state(),
                "batch": 0,
                "loss_sum": 0.0,
                "correct": 0,
                "seen": 0,
                "time": 0.0,
            }
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
                xb = as_input(x[idx], self.device)
                yb = y[idx].to(self.device)
                self._loop = st
                m = self._batch(xb, yb)
                self.step += 1
                now = time.perf_counter()
                st["time"] += now - t_last
                t_last = now
                st["batch"] = b + 1
                st["loss_sum"] += m["loss"] * yb.shape[0]
                st["correct"] += m.pop("correct", 0)
                st["seen"] += yb.shape[0]
                m["samples_per_s"] = st["seen"] / st["time"] if st["time"] > 0 else math.inf
                stop = None
                try:
                    for cb in self.callbacks:
                        hook = getattr(cb, "on_batch_end", None)
                        if hook is not None:
                            hook(self.step, self.model, m)
                except StopTraining as exc:
                    stop = exc
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{m['loss']:.4f}", acc=f"{st['correct'] / st['seen']:.3f}"
                    )
                done = st["batch"] == nb
                halt = stop is not None or (max_steps is not None and self.step >= max_steps)
                if halt:
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
        return {
            "train_loss": st["loss_sum"] / st["seen"],
            "train_accuracy": st["correct"] / st["seen"],
            "train_samples_per_s": st["seen"] / st["time"] if st["time"] > 0 else math.inf,
            "train_time_s": st["time"],
            "train_samples": st["seen"],
        }

    def fit(
        self,
        train,
        *,
        epochs: int,
        batch_size: int,
        test=None,
        eval_batch_size: int = 256,
        max_steps: int | None = None,
    ) -> list[dict]:
        """Train until ``epochs`` epochs are complete (counting resumed ones).

        After each epoch the test set (if given) is evaluated, the metrics are
        appended to :attr:`history`, the callbacks' ``on_epoch_end`` run and a
        checkpoint is written. Returns the history.
        """
        _positive_int(epochs, "epochs")
        while self.epoch < epochs:
            self._halt = False
            m = self.train_epoch(train, batch_size, max_steps=max_steps)
            if not m:  # stopped in the middle of an epoch (callback or max_steps)
                break
            self.epoch += 1
            m = {"epoch": self.epoch, "step": self.step, **m}
            if test is not None:
                ev = evaluate(
                    self.model,
                    test,
                    batch_size=eval_batch_size,
                    loss_fn=self.loss_fn,
                    device=self.device,
                    progress=self.progress,
                )
                m["test_loss"], m["test_accuracy"] = ev["loss"], ev["accuracy"]
            stop = self._halt
            for cb in self.callbacks:
                hook = getattr(cb, "on_epoch_end", None)
                if hook is not None:
                    try:
                        hook(self.epoch, self.model, m)
                    except StopTraining:
                        stop = True
            self.history.append(m)
            if self.checkpoint is not None:
                self.save()
            if stop:
                break
        return self.history
