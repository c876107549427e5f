"""The interface every polynomial activation shares.

A polynomial activation has a ``degree``, a ``coefficients`` parameter and a
valid input range ``interval = (low, high)``: the range on which it was
fitted or calibrated, outside which it is not trusted (a polynomial escapes
like ``|x|**degree`` there). It also carries a penalty bound ``bound`` (the
``B`` of the boundary loss, default ``max(|low|, |high|)``).

Activations keep no state between calls: ``forward`` is a pure function of its
input and the coefficients. Tools that need the inputs (the boundary loss
:class:`~photonn.activations.BoundaryLoss`, the
:class:`~photonn.activations.ActivationMonitor`) register forward hooks, so
``torch.compile``, copies and memory are unaffected.
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


def real_dtype(dtype) -> torch.dtype:
    """``dtype`` if it is float32 or float64 (the dtypes of real activations), else raise."""
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"dtype must be torch.float32 or torch.float64 (real coefficients), got {dtype}"
        )
    return dtype


def check_degree(degree, minimum: int = 0) -> int:
    if isinstance(degree, bool) or not isinstance(degree, int):
        raise TypeError(f"degree must be an int, got {type(degree).__name__} {degree!r}")
    if degree < minimum:
        raise ValueError(f"degree must be >= {minimum}, got {degree}")
    return degree


class PolynomialActivation(nn.Module):
    """Base class: ``degree``, ``coefficients``, ``interval``, ``bound``.

    Subclasses implement :meth:`evaluate` (a pure function of the input);
    :meth:`forward` calls it and stores nothing. ``trainable=False`` keeps
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

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define evaluate(x)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.evaluate(x)

    def extra_repr(self) -> str:
        lo, hi = self.interval
        return f"degree={self.degree}, interval=({lo:g}, {hi:g}), bound={self.bound:g}"
