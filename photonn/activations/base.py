"""The interface every polynomial activation shares.

A polynomial activation has a ``degree``, a ``coefficients`` parameter and a
valid input range ``interval = (low, high)``: the range on which it was
fitted or calibrated, outside which it is not trusted (a polynomial escapes
like ``|x|**degree`` there). It also carries a penalty bound ``bound`` (the
``B`` of the boundary loss, default ``max(|low|, |high|)``) and keeps its last
input in ``last_input`` (with its autograd graph) so that
:func:`photonn.activations.boundary_loss` can penalise inputs that left the
range.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_float
from ..functional.polynomial import check_interval


def as_coefficients(values, size: int | None, dtype, name: str = "coefficients") -> torch.Tensor:
    """A 1-D float tensor of coefficients (optionally of a required ``size``)."""
    if isinstance(values, torch.Tensor):
        t = values.detach().to(dtype=dtype).clone()
    else:
        try:
            t = torch.as_tensor(values, dtype=dtype).clone()
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from err
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {tuple(t.shape)}")
    if size is not None and t.numel() != size:
        raise ValueError(f"{name} must have {size} entries, got {t.numel()}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    return t


def check_degree(degree, minimum: int = 0) -> int:
    if isinstance(degree, bool) or not isinstance(degree, int):
        raise TypeError(f"degree must be an int, got {type(degree).__name__} {degree!r}")
    if degree < minimum:
        raise ValueError(f"degree must be >= {minimum}, got {degree}")
    return degree


class PolynomialActivation(nn.Module):
    """Base class: ``degree``, ``coefficients``, ``interval``, ``bound``, ``last_input``.

    Subclasses implement :meth:`evaluate` (a pure function of the input);
    :meth:`forward` records the input and calls it. ``trainable=False`` keeps
    the coefficients fixed (a calibrated device curve).
    """

    def __init__(
        self,
        degree: int,
        coefficients: torch.Tensor,
        interval,
        *,
        bound: float | None = None,
        trainable: bool = True,
        record_input: bool = True,
    ):
        super().__init__()
        self.degree = check_degree(degree)
        self.interval = check_interval(interval)
        self.bound = (
            max(abs(self.interval[0]), abs(self.interval[1]))
            if bound is None
            else positive_float(bound, "bound")
        )
        self.coefficients = nn.Parameter(coefficients, requires_grad=bool(trainable))
        self.record_input = bool(record_input)
        self.last_input: torch.Tensor | None = None

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define evaluate(x)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.record_input:
            self.last_input = x
        return self.evaluate(x)

    def __getstate__(self):
        # the recorded input belongs to one forward pass (and may carry a graph that
        # cannot be copied): copies and pickles start without it
        state = self.__dict__.copy()
        state["last_input"] = None
        return state

    def extra_repr(self) -> str:
        lo, hi = self.interval
        return f"degree={self.degree}, interval=({lo:g}, {hi:g}), bound={self.bound:g}"
