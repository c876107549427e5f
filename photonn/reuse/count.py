"""Parameter counts of a ReLaX: the shared bank and the per-pass fast elements apart."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ParameterCount", "count_real", "unique"]


def count_real(params) -> int:
    """Real numbers in ``params`` (a complex entry counts 2)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in params)


def unique(params) -> list:
    """``params`` without repeats (by identity), in order."""
    seen, out = set(), []
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


@dataclass(frozen=True)
class ParameterCount:
    """Trainable real numbers of a :class:`~photonn.reuse.ReLaX` (a complex entry counts 2).

    Attributes:
        bank: the shared slow layers (the physical weights).
        per_pass: the fast elements (per-pass biases, gains, nonlinearity parameters).
        inject: the input re-injection ``W_xh``.
        total: all three.
    """

    bank: int
    per_pass: int
    inject: int

    @property
    def total(self) -> int:
        return self.bank + self.per_pass + self.inject
