"""The switched schedule of a ReLaX: which bank layer every pass uses."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._checks import positive_int
from ._args import renamed

__all__ = ["relax_schedule"]


def relax_schedule(
    l_w: int | None = None,
    l_t: int | None = None,
    schedule=None,
    *,
    num_layers: int | None = None,
    repeats: int | None = None,
) -> tuple[int, ...]:
    """The bank index ``s(t)`` of every pass ``t = 0 .. T-1``.

    Args:
        l_w: ``L_W``, the bank size.
        l_t: ``L_T``, how often the schedule's period is run.
        schedule: ``None`` or ``"periodic"`` (``s(t) = t mod L_W``, ``T = L_W L_T``),
            ``"block"`` (each layer held for ``L_T`` passes, ``s(t) = t // L_T``), or a
            sequence of bank indices: one period, repeated ``l_t`` times
            (``T = len(schedule) * L_T``).
        num_layers, repeats: deprecated names of ``l_w`` and ``l_t``.

    Raises ``ValueError`` for an index outside ``0 .. L_W - 1`` or an empty sequence.
    """
    l_w = renamed(l_w, num_layers, new_name="l_w", old_name="num_layers", owner="relax_schedule")
    l_t = renamed(l_t, repeats, new_name="l_t", old_name="repeats", owner="relax_schedule")
    n = positive_int(l_w, "l_w")
    r = positive_int(l_t, "l_t")
    if schedule is None or (isinstance(schedule, str) and schedule == "periodic"):
        return tuple(t % n for t in range(n * r))
    if isinstance(schedule, str):
        if schedule == "block":
            return tuple(t // r for t in range(n * r))
        raise ValueError(
            f"schedule must be 'periodic', 'block' or a sequence of bank indices, got {schedule!r}"
        )
    if isinstance(schedule, torch.Tensor):
        schedule = schedule.reshape(-1).tolist()
    if not isinstance(schedule, Sequence) or len(schedule) == 0:
        raise ValueError(
            "schedule must be 'periodic', 'block' or a non-empty sequence of bank indices, "
            f"got {schedule!r}"
        )
    for i, k in enumerate(schedule):
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"schedule[{i}] must be an int bank index, got {k!r}")
        if not 0 <= k < n:
            raise ValueError(
                f"schedule[{i}] = {k} is outside the bank of {n} layer(s): bank indices run "
                f"from 0 to {n - 1}"
            )
    return tuple(schedule) * r
