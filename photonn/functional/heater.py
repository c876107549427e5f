"""Thermo-optic phase shifters: phase -> heater power -> current, voltage -> DAC code, and back.

Pure functions on float64 tensors (the math of ``photonn.export``'s chip files):

* Phase against power: ``phase = pi P / P_pi`` (a linear thermo-optic shifter), or a
  measured calibration curve per channel (:func:`interp_monotone` of the points).
* Electrical law: a resistor ``V = R I`` (``P = V^2 / R``), or a fitted law
  ``V = r1 I + r3 I^3`` (the resistance rising with current by self-heating);
  :func:`fit_iv_law` fits it to measured points.
* DAC: ``V = code * V_max / (2**bits - 1)``, codes ``0 .. 2**bits - 1``.
* Thermal crosstalk (the mesh's model, :class:`photonn.onchip.MZIMesh`): the phase
  of heater ``i`` is ``h_i + sum_j c_ij h_j`` for drives ``h`` in ``[0, 2 pi)``
  (``c``: sparse couplings, ``K = I + c``). :func:`precompensate_crosstalk` solves
  for the drives that give wanted phases modulo ``2 pi``.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "TWO_PI",
    "phase_to_power",
    "power_to_phase",
    "fit_iv_law",
    "current_from_power",
    "voltage_from_current",
    "current_from_voltage",
    "voltage_to_code",
    "code_to_voltage",
    "interp_monotone",
    "crosstalk_apply",
    "precompensate_crosstalk",
]

TWO_PI = 2.0 * math.pi


def phase_to_power(phase: torch.Tensor, p_pi: float) -> torch.Tensor:
    """Heater power [W] for ``phase`` [rad] >= 0: ``P = P_pi phase / pi``."""
    return phase.to(torch.float64) * (float(p_pi) / math.pi)


def power_to_phase(power: torch.Tensor, p_pi: float) -> torch.Tensor:
    """Phase [rad] of a heater dissipating ``power`` [W]: ``pi P / P_pi``."""
    return power.to(torch.float64) * (math.pi / float(p_pi))


def fit_iv_law(current, voltage) -> tuple[float, float]:
    """Least-squares fit of ``V = r1 I + r3 I^3`` to measured points; returns ``(r1, r3)``.

    Args:
        current: ``(n,)`` [A], voltage: ``(n,)`` [V], ``n >= 2``, finite.

    Raises ``ValueError`` unless the fitted law is increasing over the measured
    currents (``r1 > 0`` and ``r1 + 3 r3 I^2 > 0``), so that it can be inverted.
    """
    i = torch.as_tensor(current, dtype=torch.float64).reshape(-1)
    v = torch.as_tensor(voltage, dtype=torch.float64).reshape(-1)
    if i.numel() != v.numel() or i.numel() < 2:
        raise ValueError(
            f"a V(I) fit needs >= 2 (current, voltage) points of equal count, got "
            f"{i.numel()} currents and {v.numel()} voltages"
        )
    if not bool(torch.isfinite(i).all() and torch.isfinite(v).all()):
        raise ValueError("the V(I) points must be finite")
    A = torch.stack([i, i**3], 1)
    sol = torch.linalg.lstsq(A, v[:, None], driver="gelsd").solution.reshape(-1)
    r1, r3 = float(sol[0]), float(sol[1])
    imax = float(i.abs().max())
    if not r1 > 0 or not r1 + 3 * r3 * imax**2 > 0:
        raise ValueError(
            f"the fitted law V = {r1:.6g} I + {r3:.6g} I^3 is not increasing up to "
            f"{imax:.6g} A; check the measured points (current [A], voltage [V])"
        )
    return r1, r3


def current_from_power(power: torch.Tensor, resistance: float, iv=None) -> torch.Tensor:
    """Current [A] that dissipates ``power`` [W] >= 0.

    ``iv = None``: ``I = sqrt(P / R)``. ``iv = (r1, r3)``: ``P = V I = r1 I^2 + r3 I^4``,
    so ``I^2 = (sqrt(r1^2 + 4 r3 P) - r1) / (2 r3)`` (``P / r1`` when ``r3 = 0``).
    """
    p = power.to(torch.float64).clamp(min=0)
    if iv is None:
        return torch.sqrt(p / float(resistance))
    r1, r3 = float(iv[0]), float(iv[1])
    if r3 == 0:
        return torch.sqrt(p / r1)
    # the rationalised root (2 P / (r1 + sqrt(r1^2 + 4 r3 P))) is stable for small r3 P
    i2 = 2 * p / (r1 + torch.sqrt(r1 * r1 + 4 * r3 * p))
    return torch.sqrt(i2)


def voltage_from_current(current: torch.Tensor, resistance: float, iv=None) -> torch.Tensor:
    """Voltage [V] across the heater at ``current`` [A]: ``R I`` or ``r1 I + r3 I^3``."""
    i = current.to(torch.float64)
    if iv is None:
        return i * float(resistance)
    return float(iv[0]) * i + float(iv[1]) * i**3


def current_from_voltage(voltage: torch.Tensor, resistance: float, iv=None) -> torch.Tensor:
    """Current [A] at ``voltage`` [V] >= 0: ``V / R``, or the root of ``r1 I + r3 I^3 = V``.

    The cubic is solved by Newton's method from ``V / r1`` (the law is increasing),
    to float64 precision.
    """
    v = voltage.to(torch.float64)
    if iv is None:
        return v / float(resistance)
    r1, r3 = float(iv[0]), float(iv[1])
    i = v / r1
    for _ in range(60):
        f = r1 * i + r3 * i**3 - v
        step = f / (r1 + 3 * r3 * i * i)
        i = i - step
        if bool((step.abs() <= 1e-15 * (1 + i.abs())).all()):
            break
    return i


def voltage_to_code(voltage: torch.Tensor, v_max: float, bits: int) -> torch.Tensor:
    """Nearest DAC code (int64) of ``voltage`` [V]: ``round(V (2**bits - 1) / V_max)``, clamped."""
    levels = 2**bits - 1
    c = torch.round(voltage.to(torch.float64) * (levels / float(v_max)))
    return c.clamp(0, levels).to(torch.int64)


def code_to_voltage(code: torch.Tensor, v_max: float, bits: int) -> torch.Tensor:
    """Voltage [V] of DAC codes: ``code V_max / (2**bits - 1)`` (float64)."""
    return code.to(torch.float64) * (float(v_max) / (2**bits - 1))


def interp_monotone(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of the increasing points ``(xp, fp)`` at ``x``.

    Outside ``[xp[0], xp[-1]]`` the end segments are extended linearly. ``xp`` must
    be strictly increasing (checked by the callers that read tables).
    """
    x = x.to(torch.float64)
    xp, fp = xp.to(torch.float64), fp.to(torch.float64)
    i = (torch.searchsorted(xp, x.contiguous()) - 1).clamp(0, xp.numel() - 2)
    x0, x1, f0, f1 = xp[i], xp[i + 1], fp[i], fp[i + 1]
    return f0 + (x - x0) * (f1 - f0) / (x1 - x0)


def crosstalk_apply(drive: torch.Tensor, index: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Phases ``h + c @ h`` [rad] of drives ``h`` ``(m,)`` under sparse couplings.

    ``index``: int64 ``(2, nnz)`` rows ``i`` (receiver) and ``j`` (source); ``value``
    ``(nnz,)`` the fractions ``c_ij`` (the off-diagonal part of ``K``).
    """
    h = drive.to(torch.float64)
    if index.numel() == 0:
        return h
    i, j = index
    return h.index_add(0, i, value.to(torch.float64) * h[j])


def precompensate_crosstalk(
    target: torch.Tensor,
    index: torch.Tensor,
    value: torch.Tensor,
    *,
    upper: float | torch.Tensor = 2 * math.pi,
    max_iter: int = 500,
) -> tuple[torch.Tensor, bool]:
    """Drives ``h`` in ``[0, upper)`` with ``h + c @ h = target`` modulo ``2 pi``.

    Each wanted phase may be met on any branch ``target + 2 pi n``; the branch
    integers ``n`` start at 0 and move up (down) for every drive that comes out
    below 0 (at or above ``upper``), re-solving ``K h = target + 2 pi n`` each
    round; after 20 rounds one branch moves per round, the worst drive's (parallel
    moves can cycle). A heater's reach ``upper`` above ``2 pi`` (its power limit)
    leaves room: with drives confined to ``[0, 2 pi)`` some targets have no
    solution (``det K < 1``: ``K`` maps the cube of drives onto less than the
    torus of phases). The linear solve is a Jacobi iteration (the couplings of a
    heater sum to well below 1), or a dense float64 solve when they do not.

    Args:
        target: ``(m,)`` wanted heater phases [rad] (wrapped here into ``[0, 2 pi)``).
        index, value: the sparse couplings (see :func:`crosstalk_apply`).
        upper: the largest drive [rad] of each heater (scalar or ``(m,)``).

    Returns:
        ``(h, exact)``: float64 ``(m,)`` drives in ``[0, upper)``; ``exact`` is False
        when no round put every drive in range and the best round's drives were
        clipped into it (the caller reports the residual phase error).
    """
    t = torch.remainder(target.to(torch.float64), TWO_PI)
    m = t.numel()
    up = torch.as_tensor(upper, dtype=torch.float64).expand(m)
    if index.numel() == 0:
        return t, True
    val = value.to(torch.float64)
    i, j = index
    row_sum = torch.zeros(m, dtype=torch.float64).index_add(0, i, val.abs())
    dense = float(row_sum.max()) >= 0.5
    if dense:
        K = torch.eye(m, dtype=torch.float64)
        K[i, j] += val

    def solve(b, h):
        if dense:
            return torch.linalg.solve(K, b)
        for _ in range(400):
            new = b - torch.zeros_like(b).index_add(0, i, val * h[j])
            if bool(((new - h).abs() <= 1e-15 * (1 + b.abs())).all()):
                return new
            h = new
        return h

    n = torch.zeros(m, dtype=torch.float64)
    h = t.clone()
    best, best_bad = None, math.inf
    for it in range(max_iter):
        h = solve(t + TWO_PI * n, h)
        low, high = h < 0, h >= up
        viol = torch.where(low, -h, torch.where(high, h - up + 1e-300, 0.0))
        bad = float(viol.max())
        if bad == 0.0:
            return h, True
        if bad < best_bad:
            best, best_bad = h, bad
        if it < 20:
            n = n + low.to(torch.float64) - high.to(torch.float64)
        else:
            k = int(torch.argmax(viol))
            n[k] += 1.0 if h[k] < 0 else -1.0
    hi = torch.nextafter(up, torch.zeros_like(up))
    return torch.minimum(best.clamp(min=0.0), hi), False
