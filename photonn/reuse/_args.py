"""Argument helpers shared by the reuse engine and the models on it (private)."""

from __future__ import annotations

from .._checks import finite_float, renamed

__all__ = ["nonnegative", "renamed"]


def nonnegative(value, name: str, meaning: str) -> float:
    """``value`` as a finite float >= 0; ``meaning`` says why (e.g. ``"dB (a passive switch)"``)."""
    v = finite_float(value, name)
    if v < 0:
        raise ValueError(f"{name} must be >= 0 {meaning}, got {v}")
    return v
