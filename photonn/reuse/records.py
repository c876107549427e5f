"""Per-pass gradient norms of a ReLaX: a diagnostic of exploding or vanishing gradients.

A :class:`GradientRecord` is what :meth:`ReLaX.recording() <photonn.reuse.ReLaX.recording>`
yields: it holds the forwards run inside the ``with`` block (and only those), and
their backward fills it in.
"""

from __future__ import annotations

import math

import torch

__all__ = ["GradientRecord"]


class GradientRecord:
    """Per-pass gradient norms of the recorded forwards of one ReLaX (``T`` passes each).

    Read :meth:`grad_norms` after ``backward``. ``len(record)`` is the number of
    recorded forwards.
    """

    def __init__(self, depth: int):
        self.depth = depth
        self._calls: list[dict] = []

    def __len__(self) -> int:
        return len(self._calls)

    def new_call(self) -> dict:
        """Start recording one forward; returns its record (``state`` and ``weight``)."""
        call = {"state": {}, "weight": {}}
        self._calls.append(call)
        return call

    @staticmethod
    def watch_weight(tensor: torch.Tensor, call: dict, t: int) -> torch.Tensor:
        """A view of a bank tensor used by pass ``t`` that adds the squared norm of its
        gradient to ``call`` (a layer's share of pass ``t``)."""
        v = tensor.view_as(tensor)
        if v.requires_grad:

            def hook(g, t=t):
                sq = (g.abs() ** 2).sum().detach()
                call["weight"][t] = call["weight"].get(t, 0) + sq

            v.register_hook(hook)
        return v

    @staticmethod
    def watch_state(h: torch.Tensor, call: dict, t: int) -> None:
        """Record ``||dL/dh||`` of the state ``h`` after pass ``t``."""
        if h.requires_grad:

            def hook(g, t=t):
                call["state"][t] = (g.abs() ** 2).sum().detach().sqrt()

            h.register_hook(hook)

    def grad_norms(self) -> dict[str, torch.Tensor]:
        """``{"state": (calls, T), "weight": (calls, T)}`` float64 tensors.

        ``state[c, t]`` is ``||dL/dh_t||`` (the state after pass ``t``), ``weight[c, t]``
        the norm of pass ``t``'s share of the gradient of the bank layer it used (of its
        parameters, or with ``fold`` of its matrix). Summed over the passes that use a
        layer, the shares are that layer's gradient. NaN where nothing flowed.
        """
        T = self.depth
        out = {}
        for key in ("state", "weight"):
            rows = []
            for call in self._calls:
                row = torch.full((T,), float("nan"), dtype=torch.float64)
                for t, v in call[key].items():
                    v = float(v)
                    row[t] = v if key == "state" else math.sqrt(v)
                rows.append(row)
            out[key] = torch.stack(rows) if rows else torch.empty(0, T, dtype=torch.float64)
        return out

    def clear(self) -> None:
        """Forget the recorded forwards."""
        self._calls.clear()
