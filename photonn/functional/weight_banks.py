"""Pure math of incoherent weight banks: multi-operand microrings and phase-change cells.

Multi-operand microring (MORR) neuron (Gu et al., "SqueezeLight", DATE 2021; the MORR
layers of torchonn): the ``in_features`` inputs of output ``j`` drive segments of
one ring's phase shifter, so the ring's detuning (in linewidths) is

    d_j = bias_j + sum_i w_ji x_i,          w_ji >= 0 (segment lengths),

and the ring's through-port transmission ``T(d_j)`` is the neuron's nonlinearity.
Thermal crosstalk adds a fraction ``kappa`` of each neighbouring ring's detuning
(:func:`morr_detuning`). The transmission itself is the ring physics of
:mod:`photonn.onchip.microring` (used there, not repeated here).

Phase-change (GST-like) cells hold one of a finite, sorted set of transmission
levels; a signed weight ``w`` in ``[-1, 1]`` is a differential pair
``T+ = t_min + max(w, 0) (t_max - t_min)``, ``T- = t_min + max(-w, 0) (t_max - t_min)``
read by a balanced photodiode, ``(T+ - T-) / (t_max - t_min) = w``
(:func:`pcm_differential_pair`). Programming noise is Gaussian on the transmission;
drift follows a phenomenological power law of the programmed contrast,
``T(t) = t_min + (T(t0) - t_min) (t / t0)^(-nu)`` (:func:`pcm_drift`).
"""

from __future__ import annotations

import torch

__all__ = [
    "check_levels",
    "morr_detuning",
    "nearest_level",
    "pcm_differential_pair",
    "pcm_drift",
]


def check_levels(levels, name: str = "levels") -> torch.Tensor:
    """``levels`` as a float64 1-D tensor, checked: at least two, finite, strictly
    increasing (a device's look-up table lists its levels in increasing order)."""
    t = torch.as_tensor(levels, dtype=torch.float64).detach()
    if t.ndim != 1 or t.numel() < 2:
        raise ValueError(
            f"{name} must be a 1-D sequence of at least two values, got {tuple(t.shape)}"
        )
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf")
    bad = (t[1:] <= t[:-1]).nonzero()
    if bad.numel():
        i = int(bad[0, 0])
        raise ValueError(
            f"{name} must be sorted and strictly increasing: {name}[{i}] = {t[i].item():.6g} "
            f">= {name}[{i + 1}] = {t[i + 1].item():.6g}; sort them (torch.sort) and drop "
            f"duplicates"
        )
    return t


def nearest_level(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The nearest of the sorted ``levels`` ``(L,)`` to each entry of ``x`` (any shape);
    not differentiable (use a straight-through estimator to train through it)."""
    lv = levels.to(dtype=x.dtype, device=x.device)
    i = torch.bucketize(x.detach(), lv).clamp(1, lv.numel() - 1)
    lo, hi = lv[i - 1], lv[i]
    return torch.where((x - lo).abs() <= (hi - x).abs(), lo, hi)


def morr_detuning(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, crosstalk: float = 0.0
):
    """Detunings ``(..., out)`` [linewidths] of ``out`` multi-operand rings.

    Args:
        x: real ``(..., in)`` drive of the ring segments (>= 0, e.g. normalised
            heater powers).
        weight: real ``(out, in)`` segment weights (>= 0) [linewidths per unit drive].
        bias: real ``(out,)`` resting detuning [linewidths].
        crosstalk: fraction ``kappa`` of a neighbouring ring's tuning that a ring sees
            (rings ``j - 1`` and ``j + 1``; heat spreads from the tuned segments).
    """
    tuned = x @ weight.T
    if crosstalk:
        side = torch.zeros_like(tuned)
        side[..., 1:] = side[..., 1:] + tuned[..., :-1]
        side[..., :-1] = side[..., :-1] + tuned[..., 1:]
        tuned = tuned + crosstalk * side
    return bias + tuned


def pcm_differential_pair(w: torch.Tensor, t_min: float, t_max: float):
    """Transmissions ``(T+, T-)`` of the differential pair for weights ``w`` in [-1, 1]."""
    span = t_max - t_min
    return t_min + w.clamp(min=0) * span, t_min + (-w).clamp(min=0) * span


def pcm_drift(t: torch.Tensor, t_min: float, elapsed: float, t0: float, nu: float) -> torch.Tensor:
    """Transmissions after ``elapsed`` [s] (>= ``t0``): the contrast above ``t_min``
    decays as ``(elapsed / t0)^(-nu)``."""
    return t_min + (t - t_min) * (max(elapsed, t0) / t0) ** (-nu)
