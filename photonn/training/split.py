"""Held-out validation data drawn from a training set, reproducibly from a seed."""

from __future__ import annotations

import math

import torch

from .data import check_data


def validation_count(validation, n: int) -> int:
    """Samples to hold out: ``validation`` is a count (int >= 0) or a fraction in ``[0, 1)``.

    Raises ``ValueError`` when the count leaves no training sample, naming both sizes.
    """
    if isinstance(validation, bool) or not isinstance(validation, (int, float)):
        raise TypeError(
            f"validation must be a sample count (int) or a fraction (float in [0, 1)), "
            f"got {type(validation).__name__} {validation!r}"
        )
    if isinstance(validation, float):
        if not (math.isfinite(validation) and 0.0 <= validation < 1.0):
            raise ValueError(
                f"a validation fraction must be in [0, 1), got {validation!r}; "
                "give a sample count as an int (e.g. 5000)"
            )
        k = int(round(validation * n))
    else:
        if validation < 0:
            raise ValueError(f"validation must be >= 0 samples, got {validation}")
        k = validation
    if k >= n:
        raise ValueError(
            f"validation = {validation!r} holds out {k} of {n} training samples and leaves none "
            "to train on; choose a smaller count or a fraction (e.g. 0.1)"
        )
    return k


def split_validation(data, validation, *, generator: torch.Generator):
    """Split ``data = (inputs, targets)`` into ``(train, validation)`` pairs.

    The held-out samples are a random subset drawn with ``generator`` (seed it
    with the run's seed: the same seed gives the same split); both parts keep
    the original order of their samples. ``validation = 0`` returns
    ``(data, None)``.

    Args:
        data: ``(inputs (N, ...), targets (N, ...))``.
        validation: a count (int) or a fraction of ``N`` (float in ``[0, 1)``).
        generator: the ``torch.Generator`` that draws the subset.

    Returns:
        ``((x_train, y_train), (x_val, y_val))``, or ``(data, None)``.
    """
    x, y = check_data(data, "data")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    k = validation_count(validation, x.shape[0])
    if k == 0:
        return (x, y), None
    perm = torch.randperm(x.shape[0], generator=generator)
    val = perm[:k].sort().values
    train = perm[k:].sort().values
    return (x[train], y[train]), (x[val], y[val])
