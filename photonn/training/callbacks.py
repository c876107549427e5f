"""The callback interface of :class:`photonn.training.Trainer`, and the built-in callbacks.

A callback is any object with some of these methods; each one is optional and
the trainer calls only those that exist:

* ``on_fit_start(trainer)``: once at the start of :meth:`Trainer.fit`, after a
  resume has restored ``trainer.history``;
* ``on_batch_end(step, model, metrics)``: after every optimizer step; ``step``
  counts completed steps (1 after the first), ``metrics`` holds the batch's
  ``loss``, ``task_loss``, ``reg/<name>``, ``grad_max_abs``, ``lr`` and
  ``samples_per_s`` and may be extended in place;
* ``on_epoch_end(epoch, model, metrics)``: after every completed epoch,
  ``metrics`` being the epoch's row (training, validation and ``lr``) that is
  appended to ``trainer.history``; it may be extended in place;
* ``on_fit_end(trainer)``: once when :meth:`Trainer.fit` returns or raises.

Callbacks run in the order given. Raising :class:`StopTraining` from
``on_batch_end`` or ``on_epoch_end`` ends the run cleanly (a checkpoint is
written); any other exception propagates. :class:`Callback` is an optional base
class with no-op methods. Metric sinks (:mod:`photonn.training.sinks`) are
callbacks too.
"""

from __future__ import annotations

import time

from .._checks import positive_float


class StopTraining(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a callback to end training after the current batch or epoch."""


class Callback:
    """Optional base class: every hook of the interface, doing nothing."""

    def on_fit_start(self, trainer) -> None:
        pass

    def on_batch_end(self, step: int, model, metrics: dict) -> None:
        pass

    def on_epoch_end(self, epoch: int, model, metrics: dict) -> None:
        pass

    def on_fit_end(self, trainer) -> None:
        pass


class TimeLimit(Callback):
    """Stop training cleanly (with a checkpoint) once ``seconds`` have passed.

    The clock starts at the first ``on_fit_start`` (or at construction when the
    callback is driven by hand), so building a trainer long before fitting does
    not eat into the budget.
    """

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        if not self.seconds >= 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self.t0 = time.perf_counter()
        self._started = False

    def on_fit_start(self, trainer) -> None:
        if not self._started:
            self.t0 = time.perf_counter()
            self._started = True

    def on_batch_end(self, step, model, metrics):
        if time.perf_counter() - self.t0 > self.seconds:
            raise StopTraining


class LRDecay(Callback):
    """Multiply every learning rate of ``optimizer`` by ``gamma`` after each epoch.

    Kept for existing scripts; a scheduler passed to the trainer
    (``torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)``) does the same
    and is checkpointed. The rate used in the finished epoch is logged as ``lr``.
    """

    def __init__(self, optimizer, gamma: float):
        self.optimizer, self.gamma = optimizer, positive_float(gamma, "gamma")

    def on_epoch_end(self, epoch, model, metrics):
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        for g in self.optimizer.param_groups:
            g["lr"] *= self.gamma


class QuantizerSchedule(Callback):
    """Advance the annealing of every training-time quantiser in the model.

    Sets ``quantizer_progress = min(step / total_steps, 1)`` on every submodule that
    has that attribute (phase masks, SLMs and DAC-driven meshes with a quantiser,
    see :func:`photonn.functional.quantizers.make_quantizer`) at the start of
    training and after every optimisation step: the Gumbel temperature falls and the
    staircase steepness rises geometrically from their start to their end values
    over ``total_steps`` steps (e.g. ``epochs * batches_per_epoch``). A resumed run
    continues where it stopped (the trainer's step count).
    """

    def __init__(self, total_steps: int):
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"total_steps must be an int >= 1, got {total_steps!r}")
        self.total_steps = total_steps
        self.progress = 0.0

    def set(self, model, step: int) -> float:
        """Set the progress of ``model``'s quantisers for ``step``; returns it."""
        self.progress = min(max(step, 0) / self.total_steps, 1.0)
        for m in model.modules():
            if hasattr(m, "quantizer_progress"):
                m.quantizer_progress = self.progress
        return self.progress

    def on_fit_start(self, trainer) -> None:
        self.set(trainer.model, trainer.step)

    def on_batch_end(self, step, model, metrics):
        self.set(model, step)
