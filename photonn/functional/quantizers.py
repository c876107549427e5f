"""Training-time quantisers onto a device's actual levels (codesign), for any quantised
device: SLM phases through their look-up table, MZI phases through their DAC.

Three quantisers, as pure functions and as one small interface (:class:`Quantizer`:
``q.quantize(x, levels, progress=...)``):

* :func:`gumbel_quantize`: Gumbel-softmax over the levels (LightRidge's codesign of
  diffractive layers with a device look-up table; Jang et al. 2017, Maddison et al.
  2017), with logits ``-((x - level_k) / spacing)^2`` from the value to each level,
  annealed temperature, and a hard straight-through draw (the forward value is one
  of the levels, the gradient is the soft one's);
* :func:`soft_staircase`: a sum of sigmoids stepping between neighbouring levels at
  their midpoints, with annealed steepness (large steepness: the nearest level);
* :func:`lsq_quantize`: learnable step size (Esser et al., "Learned step size
  quantization", ICLR 2020): ``round(clamp(x / s, qmin, qmax)) s``, straight-through
  round, the step's gradient scaled by ``1 / sqrt(numel qmax)``.

Levels are a sorted 1-D tensor (unsorted levels are refused,
:func:`~photonn.functional.weight_banks.check_levels`). Annealing is explicit: the
caller passes ``progress`` in ``[0, 1]`` (e.g. epoch / epochs), :func:`anneal`
interpolates geometrically; nothing keeps hidden state.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import torch

from .._checks import finite_float, one_of, positive_float, positive_int
from .weight_banks import check_levels

__all__ = [
    "anneal",
    "gumbel_quantize",
    "soft_staircase",
    "lsq_quantize",
    "Quantizer",
    "GumbelQuantizer",
    "StaircaseQuantizer",
    "LSQQuantizer",
]


def anneal(start: float, end: float, progress: float) -> float:
    """Geometric interpolation ``start (end / start)^progress``, ``progress`` clipped to
    ``[0, 1]`` (temperatures fall, steepnesses rise, by a constant factor per step)."""
    start, end = positive_float(start, "start"), positive_float(end, "end")
    p = min(max(finite_float(progress, "progress"), 0.0), 1.0)
    return start * (end / start) ** p


def _levels(levels, x: torch.Tensor) -> torch.Tensor:
    if isinstance(levels, torch.Tensor) and levels.ndim == 1 and levels.numel() >= 2:
        # checked cheaply: sorted strictly increasing
        if not bool((levels[1:] > levels[:-1]).all()):
            check_levels(levels)  # raises with the offending index
        return levels.to(dtype=x.dtype, device=x.device)
    return check_levels(levels).to(dtype=x.dtype, device=x.device)


def _mean_spacing(lv: torch.Tensor) -> torch.Tensor:
    return (lv[-1] - lv[0]) / (lv.numel() - 1)


def gumbel_quantize(
    x: torch.Tensor,
    levels,
    tau: float,
    *,
    hard: bool = True,
    generator: torch.Generator | None = None,
    period: float | None = None,
) -> torch.Tensor:
    """Gumbel-softmax quantisation of ``x`` onto ``levels``.

    Args:
        x: real tensor (any shape), e.g. phases [rad].
        levels: sorted 1-D levels (a device's look-up table), same unit as ``x``.
        tau: temperature (> 0); small: nearly one-hot.
        hard: forward value the drawn level, exactly (straight-through to the soft
            value; the draw does not depend on ``tau``, the gradient does);
            ``False``: the soft expectation ``sum_k p_k level_k``.
        generator: ``torch.Generator`` for the Gumbel noise; ``None`` draws no noise
            (a deterministic softmax, the evaluation setting).
        period: distances wrap modulo ``period`` (``2 pi`` for phases); ``None``: none.

    Returns:
        a tensor of ``x``'s shape.
    """
    tau = positive_float(tau, "tau")
    lv = _levels(levels, x)
    diff = x[..., None] - lv
    if period is not None:
        p = positive_float(period, "period")
        diff = torch.remainder(diff + p / 2, p) - p / 2
    logits = -((diff / _mean_spacing(lv)) ** 2)
    if generator is not None:
        u = torch.rand(logits.shape, generator=generator, dtype=x.dtype, device=generator.device)
        u = u.to(x.device).clamp(torch.finfo(x.dtype).tiny, 1.0)
        logits = logits - torch.log(-torch.log(u))
    prob = torch.softmax(logits / tau, -1)
    soft = (prob * lv).sum(-1)
    if not hard:
        return soft
    # the draw (Gumbel-max: argmax of the perturbed logits, whatever tau) is exactly a
    # level in the forward pass; tau shapes the surrogate gradient only
    drawn = lv[logits.argmax(-1)]
    return drawn + (soft - soft.detach())


def soft_staircase(x: torch.Tensor, levels, steepness: float) -> torch.Tensor:
    """``levels[0] + sum_k (levels[k+1] - levels[k]) sigmoid(steepness (x - m_k) / d_k)``,
    ``m_k`` the midpoint and ``d_k`` the gap of neighbouring levels; tends to the
    nearest level as ``steepness -> inf``. Differentiable everywhere."""
    beta = positive_float(steepness, "steepness")
    lv = _levels(levels, x)
    gap = lv[1:] - lv[:-1]
    mid = (lv[1:] + lv[:-1]) / 2
    return lv[0] + (gap * torch.sigmoid(beta * (x[..., None] - mid) / gap)).sum(-1)


def lsq_quantize(
    x: torch.Tensor, step: torch.Tensor, bits: int, *, signed: bool = False
) -> torch.Tensor:
    """Learned-step-size quantisation: ``round(clamp(x / step, qmin, qmax)) * step``.

    Args:
        x: real tensor.
        step: positive scalar tensor (learnable).
        bits: resolution; ``qmin, qmax = 0, 2^bits - 1`` (``signed``:
            ``-2^(bits-1), 2^(bits-1) - 1``).

    The round is straight-through; ``step``'s gradient is scaled by
    ``1 / sqrt(x.numel() qmax)`` (Esser et al. 2020).
    """
    bits = positive_int(bits, "bits")
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    g = 1.0 / math.sqrt(max(x.numel() * max(qmax, 1), 1))
    s = step * g + (step - step * g).detach()
    v = torch.clamp(x / s, qmin, qmax)
    v = v + (torch.round(v) - v).detach()
    return v * s


@typing.runtime_checkable
class Quantizer(typing.Protocol):
    """The interface (a protocol that the three quantisers below satisfy):
    ``quantize(x, levels, *, progress=1.0, step=None)`` returns ``x`` quantised onto
    ``levels`` (sorted 1-D) at training ``progress`` in ``[0, 1]``."""

    def quantize(self, x, levels, *, progress: float = 1.0, step=None) -> torch.Tensor: ...


@dataclasses.dataclass(frozen=True)
class GumbelQuantizer:
    """Gumbel-softmax with temperature annealed from ``tau_start`` to ``tau_end``."""

    tau_start: float = 1.0
    tau_end: float = 0.05
    hard: bool = True
    generator: torch.Generator | None = None
    period: float | None = None

    def quantize(self, x, levels, *, progress: float = 1.0, step=None):
        tau = anneal(self.tau_start, self.tau_end, progress)
        return gumbel_quantize(
            x, levels, tau, hard=self.hard, generator=self.generator, period=self.period
        )


@dataclasses.dataclass(frozen=True)
class StaircaseQuantizer:
    """Soft staircase with steepness annealed from ``start`` to ``end``."""

    start: float = 1.0
    end: float = 100.0

    def quantize(self, x, levels, *, progress: float = 1.0, step=None):
        return soft_staircase(x, levels, anneal(self.start, self.end, progress))


@dataclasses.dataclass(frozen=True)
class LSQQuantizer:
    """Learned step size on evenly spaced codes from ``levels[0]``: the number of
    codes is ``len(levels)`` (a power of two: ``bits`` of a DAC); ``step`` is the
    holder's learnable scalar tensor (initialise it to the level spacing)."""

    mode: str = "unsigned"

    def __post_init__(self):
        one_of(self.mode, ("unsigned", "signed"), "mode")

    def quantize(self, x, levels, *, progress: float = 1.0, step=None):
        if not isinstance(step, torch.Tensor):
            raise TypeError("LSQQuantizer needs step=<learnable scalar tensor>")
        lv = _levels(levels, x)
        n = lv.numel()
        bits = int(round(math.log2(n)))
        if 2**bits != n:
            raise ValueError(f"LSQ needs 2^bits levels, got {n}")
        return lv[0] + lsq_quantize(x - lv[0], step, bits, signed=self.mode == "signed")
