"""Argument helpers shared by the reuse engine and the models on it (private)."""

from __future__ import annotations

import warnings

from .._checks import finite_float


def nonnegative(value, name: str, meaning: str) -> float:
    """``value`` as a finite float >= 0; ``meaning`` says why (e.g. ``"dB (a passive switch)"``)."""
    v = finite_float(value, name)
    if v < 0:
        raise ValueError(f"{name} must be >= 0 {meaning}, got {v}")
    return v


def renamed(new, old, *, new_name: str, old_name: str, owner: str):
    """The value of a keyword renamed from ``old_name`` to ``new_name``: ``old`` (not
    ``None``) warns and stands in for ``new`` (which must be left at its default: falsy)."""
    if old is None:
        return new
    if new:
        raise TypeError(f"{owner}: give {new_name}= only ({old_name}= is its deprecated name)")
    warnings.warn(
        f"{owner}({old_name}=...) is deprecated: use {new_name}=", DeprecationWarning, stacklevel=3
    )
    return old
