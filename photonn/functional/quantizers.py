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

A quantised device uses them through :func:`device_quantize`: the quantiser shapes
the forward value and gradient while training; in evaluation (and so at export) the
value is exactly the level the device's own rounding picks (the SLM's nearest gray
level, the DAC's code), or for LSQ the level of its learnt code; ``"ste"``
(:class:`STEQuantizer`, the default of every device) is that rounding with an
identity gradient. :func:`make_quantizer` turns a name (``"ste"``, ``"gumbel"``,
``"staircase"``, ``"lsq"``) into a quantiser.

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
    "QUANTIZERS",
    "make_quantizer",
    "device_quantize",
    "quantizer_name",
    "lut_levels",
    "lut_round",
    "STEQuantizer",
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
            With a period, the soft value averages each level's copy nearest to ``x``
            (``x - wrap(x - level_k)``), so it stays near ``x`` across the wrap.

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
    # the expectation over the levels as seen from x (with a period: each level's copy
    # nearest to x, so that levels across the wrap pull towards it, not across the circle)
    soft = (prob * (x[..., None] - diff)).sum(-1) if period is not None else (prob * lv).sum(-1)
    if not hard:
        return soft
    # the draw (Gumbel-max: argmax of the perturbed logits, whatever tau) is exactly a
    # level in the forward pass; tau shapes the surrogate gradient only
    drawn = lv[logits.argmax(-1)]
    return drawn + (soft - soft.detach())


def _wrap_periodic(x: torch.Tensor, lv: torch.Tensor, period: float):
    """``x`` wrapped into one period starting half-way between the last level (less a
    period) and the first, and the levels with ``levels[0] + period`` appended (the
    same device level, reached from below)."""
    p = positive_float(period, "period")
    if float(lv[-1] - lv[0]) >= p:
        raise ValueError(
            f"periodic levels must span less than one period ({p:.6g}), got "
            f"{float(lv[0]):.6g} .. {float(lv[-1]):.6g}; wrap them into one period first"
        )
    start = (lv[-1] - p + lv[0]) / 2
    xw = torch.remainder(x - start, p) + start
    return xw, torch.cat([lv, lv[:1] + p])


def soft_staircase(
    x: torch.Tensor, levels, steepness: float, *, period: float | None = None
) -> torch.Tensor:
    """``levels[0] + sum_k (levels[k+1] - levels[k]) sigmoid(steepness (x - m_k) / d_k)``,
    ``m_k`` the midpoint and ``d_k`` the gap of neighbouring levels; tends to the
    nearest level as ``steepness -> inf``. Differentiable everywhere.

    ``period`` (``2 pi`` for phases): ``x`` is first wrapped into one period and the
    staircase closes the circle with a step from the last level to ``levels[0] +
    period``; the result then lies in ``[levels[0], levels[0] + period]``."""
    beta = positive_float(steepness, "steepness")
    lv = _levels(levels, x)
    if period is not None:
        x, lv = _wrap_periodic(x, lv, period)
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
    period: float | None = None

    def quantize(self, x, levels, *, progress: float = 1.0, step=None):
        return soft_staircase(x, levels, anneal(self.start, self.end, progress), period=self.period)


@dataclasses.dataclass(frozen=True)
class LSQQuantizer:
    """Learned step size on evenly spaced codes from ``levels[0]``: the number of
    codes is ``len(levels)`` (a power of two: ``bits`` of a DAC); ``step`` is the
    holder's learnable scalar tensor (initialise it to the level spacing)."""

    mode: str = "unsigned"
    period: float | None = None

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

    def device_value(self, x, levels, step):
        """The device level of LSQ's code: ``levels[round(clamp((x - levels[0]) / step,
        0, L - 1))]`` (``x`` wrapped into one ``period`` first, if any), exactly one of
        ``levels`` in the forward pass (any number of levels, unevenly spaced too:
        code ``k`` shows ``levels[k]``); the gradient (to ``x`` and ``step``) is LSQ's
        on the evenly spaced codes ``levels[0] + k step``."""
        if not isinstance(step, torch.Tensor):
            raise TypeError("LSQQuantizer needs step=<learnable scalar tensor>")
        lv = _levels(levels, x)
        if self.period is not None:
            start = lv[0] - step.detach() / 2
            x = torch.remainder(x - start, positive_float(self.period, "period")) + start
        n = lv.numel()
        g = 1.0 / math.sqrt(max(x.numel() * (n - 1), 1))
        s = step * g + (step - step * g).detach()
        v = torch.clamp((x - lv[0]) / s, 0, n - 1)
        code = torch.round(v.detach()).to(torch.int64)
        soft = lv[0] + (v + (torch.round(v) - v).detach()) * s  # LSQ's value and gradient
        return lv[code] + (soft - soft.detach())


@dataclasses.dataclass(frozen=True)
class STEQuantizer:
    """The device's own rounding with an identity (straight-through) gradient: the
    default of every quantised device (SLM, phase mask, DAC)."""

    def quantize(self, x, levels, *, progress: float = 1.0, step=None):
        from .weight_banks import nearest_level

        lv = _levels(levels, x)
        return nearest_level(x, lv) + (x - x.detach())


QUANTIZERS = ("ste", "gumbel", "staircase", "lsq")


def make_quantizer(spec, *, period: float | None = None, generator=None, anneal=None, **settings):
    """A quantiser from a name or an object.

    Args:
        spec: ``"ste"`` (default of every device), ``"gumbel"``, ``"staircase"``,
            ``"lsq"``, or an object with a ``quantize`` method (returned as is).
        period: the levels' period (``2 pi`` for phases) for the name's quantiser.
        generator: ``torch.Generator`` for Gumbel noise (``None``: Gumbel without
            noise, a softmax surrogate gradient around the nearest level).
        anneal: optional ``(start, end)``: the Gumbel temperature or the staircase
            steepness at the start and the end of training (others ignore it).
        settings: the quantiser's fields (e.g. ``tau_start``, ``tau_end``; ``start``,
            ``end``).
    """
    if isinstance(spec, Quantizer):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"quantizer must be one of {QUANTIZERS} or an object with a quantize(x, levels, "
            f"progress=, step=) method, got {type(spec).__name__}"
        )
    one_of(spec, QUANTIZERS, "quantizer")
    if spec == "ste":
        return STEQuantizer(**settings)
    if anneal is not None and spec in ("gumbel", "staircase"):
        a, b = (positive_float(v, "anneal") for v in anneal)
        settings = {
            **settings,
            **({"tau_start": a, "tau_end": b} if spec == "gumbel" else {"start": a, "end": b}),
        }
    if spec == "gumbel":
        return GumbelQuantizer(generator=generator, period=period, **settings)
    if spec == "staircase":
        return StaircaseQuantizer(period=period, **settings)
    return LSQQuantizer(period=period, **settings)


def quantizer_name(q) -> str:
    """``"ste"``, ``"gumbel"``, ``"staircase"``, ``"lsq"`` or the class name."""
    names = {
        STEQuantizer: "ste",
        GumbelQuantizer: "gumbel",
        StaircaseQuantizer: "staircase",
        LSQQuantizer: "lsq",
    }
    return names.get(type(q), type(q).__name__)


def device_quantize(
    x: torch.Tensor,
    levels: torch.Tensor,
    quantizer,
    device_round,
    *,
    training: bool,
    progress: float = 1.0,
    step: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x`` as a quantised device shows it, through ``quantizer``.

    Args:
        x: real tensor (phases [rad], any shape).
        levels: the device's levels, sorted 1-D (e.g. an SLM's look-up table in one
            period, a DAC's reachable phases).
        quantizer: a quantiser (:func:`make_quantizer`).
        device_round: ``f(x) -> values``: the device's own rounding (what its export
            writes), returning one of its levels (as a value) per entry of ``x``.
        training: the holder's ``training`` flag. In evaluation every quantiser but LSQ
            gives ``device_round(x)`` (straight-through gradient), LSQ the level of
            its learnt code (:meth:`LSQQuantizer.device_value`): always exactly a level
            the device shows.
        progress: annealing progress in ``[0, 1]`` (temperature, steepness).
        step: LSQ's learnable step (a scalar tensor).

    Returns:
        a tensor of ``x``'s shape: in training, the quantiser's value (Gumbel: a drawn
        level; staircase: the soft value; STE and LSQ: a device level).
    """
    if isinstance(quantizer, LSQQuantizer):
        return quantizer.device_value(x, levels, step)
    if training and not isinstance(quantizer, STEQuantizer):
        return quantizer.quantize(x, levels, progress=progress, step=step)
    # the level exactly in the forward pass (x - x.detach() is exactly 0), identity gradient
    return device_round(x.detach()) + (x - x.detach())


def lut_levels(lut: torch.Tensor) -> torch.Tensor:
    """The sorted phases [rad] an SLM with look-up table ``lut`` (``(2**bits,)``, phase
    per gray level) shows in one period: the levels ``lut[g]`` with ``lut[g] - lut[0]``
    in ``[0, 2 pi)`` (those an export picks,
    :func:`~photonn.functional.slm_export.first_period`), sorted."""
    from .slm_export import first_period

    lut = torch.as_tensor(lut)
    usable = lut[first_period(lut.to(torch.float64))]
    lv = torch.sort(usable).values
    if lv.numel() < 2 or not bool((lv[1:] > lv[:-1]).all()):
        raise ValueError(
            "the look-up table must show at least two distinct phases in its first period "
            f"(got {lv.numel()} levels, some repeated); check the table"
        )
    return lv


def lut_round(x: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """The phase ``lut[g]`` of the gray level ``g`` an export picks for ``x`` (nearest on
    the circle, :func:`~photonn.functional.slm_export.phase_to_gray`), ``x``'s dtype."""
    from .slm_export import phase_to_gray

    return lut.to(dtype=x.dtype, device=x.device)[phase_to_gray(x, lut).to(x.device)]
