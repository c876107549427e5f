"""Non-idealities of programmed MZI meshes: DAC quantisation and thermal crosstalk.

* :func:`dac_quantize_phase`: the phase a phase shifter reaches when its drive goes
  through a DAC of ``bits`` bits, either linear in phase or through a resistive
  heater (phase proportional to power, i.e. to ``V^2``).
* :func:`thermal_crosstalk_matrix`: the coupling matrix ``K = I + kappa A`` of
  the heaters of a layout (``A``: nearest neighbours in the same column, i.e.
  MZIs on pairs ``m`` and ``m + 2``); actual phases are ``K @ programmed``.
* :func:`mesh_fidelity` is :func:`photonn.functional.unitary.fidelity`.
"""

from __future__ import annotations

import math

import torch

from .._checks import finite_float, one_of, positive_float, positive_int
from .mzi_mesh import MeshLayout

__all__ = [
    "dac_quantize_phase",
    "quantize_mzi_phases",
    "thermal_crosstalk_matrix",
    "crosstalk_pairs",
]

TWO_PI = 2 * math.pi


def dac_quantize_phase(phase: torch.Tensor, bits: int, *, law: str = "linear", max_phase=TWO_PI):
    """Nearest phase a DAC-driven phase shifter can reach, in ``[0, 2 pi)`` (wrapped).

    Args:
        phase: real tensor [rad] (any shape); it is wrapped into ``[0, 2 pi)``.
        bits: DAC resolution (>= 1).
        law: ``"linear"``: levels ``k * 2 pi / 2^bits``; ``"heater"``: the DAC sets the
            voltage ``V = V_max k / (2^bits - 1)`` of a resistive heater whose phase
            ``max_phase (V / V_max)^2`` grows with power; phases above ``max_phase``
            round to ``max_phase`` or to ``2 pi`` (= 0), whichever is nearer.
        max_phase: [rad] phase at full scale for ``"heater"`` (``pi V_max^2 / (R P_pi)``).

    Returns:
        the quantised phases in ``[0, 2 pi]`` (same shape); not differentiable (use a
        straight-through estimator to train through it).
    """
    bits = positive_int(bits, "bits")
    one_of(law, ("linear", "heater"), "law")
    p = torch.remainder(phase, TWO_PI)
    if law == "linear":
        step = TWO_PI / 2**bits
        return torch.round(p / step) * step
    pmax = positive_float(max_phase, "max_phase")
    levels = 2**bits - 1
    v = torch.sqrt(torch.clamp(p, max=pmax) / pmax)
    q = pmax * (torch.round(v * levels) / levels) ** 2
    return torch.where((TWO_PI - p) < (p - q).abs(), torch.full_like(p, TWO_PI), q)


def quantize_mzi_phases(theta, phi, bits: int, *, law: str = "linear", max_phase=TWO_PI):
    """Quantise MZI phases as their heaters see them, with a straight-through gradient.

    The internal shifter of an MZI sets ``2 theta`` and the external one ``phi``; the
    quantisation error is added to the unwrapped phases, so ``theta`` keeps its
    branch. Gradients pass through unchanged (straight-through estimator).
    """
    t2 = torch.remainder(2 * theta, TWO_PI)
    # the change of 2 theta, wrapped into [-pi, pi): float32 ``remainder`` can return 2 pi
    # itself for a small negative 2 theta, whose level is 0, and an unwrapped change of
    # -2 pi would move theta by -pi (the MZI's sign flips)
    d2 = dac_quantize_phase(t2, bits, law=law, max_phase=max_phase) - t2
    dt = (torch.remainder(d2 + math.pi, TWO_PI) - math.pi) / 2
    p = torch.remainder(phi, TWO_PI)
    dp = dac_quantize_phase(p, bits, law=law, max_phase=max_phase) - p
    return theta + dt.detach(), phi + dp.detach()


def crosstalk_pairs(layout: MeshLayout):
    """Index pairs ``(i, j)`` (both directions) of heaters that are nearest neighbours."""
    where = {(c, m): k for k, (c, m) in enumerate(zip(layout.columns, layout.tops))}
    rows, cols = [], []
    for (c, m), k in where.items():
        for dm in (-2, 2):
            j = where.get((c, m + dm))
            if j is not None:
                rows.append(k)
                cols.append(j)
    return rows, cols


def thermal_crosstalk_matrix(layout: MeshLayout, kappa: float, *, dtype=torch.float64, device=None):
    """Heater coupling matrix ``K = I + kappa A`` ``(n_mzi, n_mzi)`` of a layout.

    ``A[i, j] = 1`` when MZIs ``i`` and ``j`` sit in the same column on pairs two
    modes apart (adjacent heaters on the chip); ``kappa`` is the fraction of a
    heater's phase that its neighbour sees. The mesh applies ``K`` to ``2 theta``
    and to ``phi`` alike (it is linear, so equally to ``theta``).
    """
    kappa = finite_float(kappa, "kappa")
    n = layout.n_mzi
    K = torch.eye(n, dtype=dtype, device=device)
    rows, cols = crosstalk_pairs(layout)
    if rows:
        K[torch.tensor(rows), torch.tensor(cols)] = kappa
    return K
