"""In-memory training data: ``(inputs, targets)`` pairs of tensors, and batches of them."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_data(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``data`` as a pair ``(inputs, targets)`` of tensors with equal, non-zero length."""
    if not (isinstance(data, Sequence) and len(data) == 2):
        raise TypeError(f"{name} must be a pair (inputs, targets) of tensors, got {type(data)}")
    x, y = data
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must hold two tensors, got {type(x).__name__}, {type(y).__name__}")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{name}: inputs and targets need a leading sample axis")
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


def correct_count(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """Correct classifications in a batch as a 0-d tensor, or ``None`` when not a classification.

    A classification is ``output (B, C)`` with ``C >= 2`` and integer labels
    ``target (B,)``, or with ``target (B, C)`` scores (one-hot or soft labels,
    compared by argmax). A single output column is a regression: no accuracy.
    """
    if output.ndim != 2 or output.is_complex() or output.shape[-1] < 2:
        return None
    if target.ndim == 1 and not target.is_floating_point() and not target.is_complex():
        return (output.argmax(-1) == target).sum()
    if target.shape == output.shape and not target.is_complex():
        return (output.argmax(-1) == target.argmax(-1)).sum()
    return None
