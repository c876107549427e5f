"""Optimizers and learning-rate schedulers by name, from ``torch.optim``.

:func:`build_optimizer` takes any ``torch.optim`` optimizer by its class name
(case-insensitive: ``"adam"``, ``"AdamW"``, ``"sgd"``, ``"rmsprop"``, ...).
:func:`build_scheduler` takes any ``torch.optim.lr_scheduler`` class by name,
plus short aliases with defaults that follow from the run's length:

========================  =================================================================
``"none"``                no scheduler
``"cosine"``              ``CosineAnnealingLR``; ``T_max`` defaults to the run's length in
                          scheduler steps (epochs, or optimizer steps with ``interval="step"``)
``"exponential"``         ``ExponentialLR`` (``gamma`` required)
``"step"``                ``StepLR`` (``step_size`` required)
``"multistep"``           ``MultiStepLR`` (``milestones`` required)
``"onecycle"``            ``OneCycleLR``; ``max_lr`` defaults to the optimizer's lr and
                          ``total_steps`` to the run's optimizer steps (``interval="step"`` only)
``"plateau"``             ``ReduceLROnPlateau``, stepped once per epoch on the validation loss
                          (the training loss without validation data)
========================  =================================================================

The trainer steps an ``interval="epoch"`` scheduler after every epoch and an
``interval="step"`` one after every optimizer step, and checkpoints its state.
"""

from __future__ import annotations

import inspect

import torch

ALIASES = {
    "cosine": "CosineAnnealingLR",
    "exponential": "ExponentialLR",
    "step": "StepLR",
    "multistep": "MultiStepLR",
    "onecycle": "OneCycleLR",
    "plateau": "ReduceLROnPlateau",
    "linear": "LinearLR",
    "cosine_restarts": "CosineAnnealingWarmRestarts",
}
INTERVALS = ("epoch", "step")
# optimizers whose step() needs a closure: the loop calls step() without one
_NEEDS_CLOSURE = {"LBFGS"}


def _classes(module, base) -> dict[str, type]:
    return {
        name.lower(): obj
        for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, base) and obj is not base
    }


def optimizer_names() -> list[str]:
    """Class names of the optimizers :func:`build_optimizer` accepts."""
    found = _classes(torch.optim, torch.optim.Optimizer)
    return sorted(c.__name__ for c in found.values() if c.__name__ not in _NEEDS_CLOSURE)


def scheduler_names() -> list[str]:
    """Aliases and class names :func:`build_scheduler` accepts (besides ``"none"``)."""
    base = torch.optim.lr_scheduler.LRScheduler
    found = _classes(torch.optim.lr_scheduler, base)
    found["reducelronplateau"] = torch.optim.lr_scheduler.ReduceLROnPlateau
    return sorted(ALIASES) + sorted({c.__name__ for c in found.values()})


def _options_error(kind: str, cls: type, options: dict, exc: Exception) -> TypeError:
    params = [p for p in inspect.signature(cls).parameters if p not in ("self", "params")]
    return TypeError(
        f"{kind} {cls.__name__} rejected the options {sorted(options)}: {exc}; "
        f"it takes: {', '.join(params)}"
    )


def optimizer_class(name: str) -> type:
    """The ``torch.optim`` optimizer class of a case-insensitive name.

    Raises:
        ValueError: unknown name (the known ones are listed), or an optimizer that
            needs a closure (L-BFGS).
    """
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    cls = _classes(torch.optim, torch.optim.Optimizer).get(name.lower())
    if cls is None:
        raise ValueError(
            f"unknown optimizer {name!r}; torch.optim has: {', '.join(optimizer_names())}"
        )
    if cls.__name__ in _NEEDS_CLOSURE:
        raise ValueError(
            f"optimizer {cls.__name__} needs a closure in step(); the training loop calls "
            f"step() without one. Choose one of: {', '.join(optimizer_names())}"
        )
    return cls


def build_optimizer(params, name: str, **options) -> torch.optim.Optimizer:
    """``torch.optim.<name>(params, **options)`` for a case-insensitive class name.

    Args:
        params: the parameters (or parameter groups) to optimise.
        name: e.g. ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``.
        options: keyword arguments of that optimizer (``lr``, ``weight_decay``, ...).

    Raises:
        ValueError: unknown name (the known ones are listed), or an optimizer that
            needs a closure (L-BFGS).
        TypeError: an option the optimizer does not take (its options are listed).
    """
    cls = optimizer_class(name)
    try:
        return cls(params, **options)
    except TypeError as exc:
        raise _options_error("optimizer", cls, options, exc) from exc


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str,
    *,
    epochs: int,
    steps_per_epoch: int,
    interval: str = "epoch",
    **options,
):
    """A learning-rate scheduler over ``optimizer`` by alias or class name; ``None`` for ``"none"``.

    Args:
        optimizer: the optimizer to schedule.
        name: an alias of the module docstring's table, or a class name of
            ``torch.optim.lr_scheduler`` (case-insensitive).
        epochs: the run's number of epochs (for the length defaults).
        steps_per_epoch: optimizer steps per epoch (for the length defaults).
        interval: ``"epoch"`` or ``"step"``: when the trainer steps it.
        options: keyword arguments of the scheduler.

    Raises:
        ValueError: unknown name or interval, or an interval the scheduler does not
            support (``onecycle`` needs ``"step"``, ``plateau`` needs ``"epoch"``).
        TypeError: an option the scheduler does not take (its options are listed).
    """
    if not isinstance(name, str):
        raise TypeError(f"scheduler name must be a string, got {type(name).__name__}")
    if interval not in INTERVALS:
        raise ValueError(f"scheduler interval must be one of {list(INTERVALS)}, got {interval!r}")
    if name.lower() == "none":
        return None
    lrs = torch.optim.lr_scheduler
    classes = _classes(lrs, lrs.LRScheduler)
    classes["reducelronplateau"] = lrs.ReduceLROnPlateau
    cls = classes.get(ALIASES.get(name.lower(), name).lower())
    if cls is None:
        raise ValueError(
            f"unknown scheduler {name!r}; use 'none' or one of: {', '.join(scheduler_names())}"
        )
    length = epochs * (steps_per_epoch if interval == "step" else 1)
    options = dict(options)
    if cls is lrs.CosineAnnealingLR:
        options.setdefault("T_max", max(1, length))
    elif cls is lrs.OneCycleLR:
        if interval != "step":
            raise ValueError("the onecycle scheduler steps per optimizer step: set interval='step'")
        options.setdefault("max_lr", [g["lr"] for g in optimizer.param_groups])
        options.setdefault("total_steps", max(1, length))
    elif cls is lrs.ReduceLROnPlateau and interval != "epoch":
        raise ValueError("the plateau scheduler steps on the epoch's loss: set interval='epoch'")
    try:
        return cls(optimizer, **options)
    except TypeError as exc:
        raise _options_error("scheduler", cls, options, exc) from exc
