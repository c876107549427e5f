"""S-matrices of photonic integrated-circuit components, as pure functions of wavelength.

Conventions (docs/circuits.md):

- Time dependence ``exp(-i w t)``: a guided wave picks up ``exp(+i beta L)`` over a
  length ``L``, ``beta = 2 pi neff / lambda``.
- ``S[..., out, in]``: column ``in`` holds the outgoing amplitudes when a unit wave
  enters port ``in``. Ports are named as in gdsfactory (``o1``, ``o2``, ...); the
  order of the port axis is the order of each component's ``PORTS`` entry.
- Symmetric couplers: through amplitude ``t = sqrt(1 - k)``, cross amplitude
  ``+i sqrt(k)`` (k: power coupling), as :mod:`photonn.functional.mzi`'s couplers.
- Every component here is reciprocal: ``S = S^T``.

Every function broadcasts: ``wavelengths`` [m] and every setting may be a float or a
real tensor; the result has shape ``broadcast(wavelengths, settings...) + (n, n)``
(so ``wavelengths`` of shape ``(n_wl,)`` and scalar settings give ``(n_wl, n, n)``).
The complex dtype follows the real dtype of ``wavelengths`` (float64 ->
complex128). Every output is differentiable in every tensor setting.
"""

from __future__ import annotations

import math

import torch

from .._checks import complex_of

__all__ = [
    "PORTS",
    "bend",
    "coupler",
    "crossing",
    "gap_coupling",
    "grating_coupler",
    "mmi1x2",
    "mmi2x2",
    "mzi",
    "phase_shifter",
    "photodetector",
    "ring_add_drop",
    "ring_allpass",
    "straight",
    "straight_transmission",
    "terminator",
    "thermo_optic_phase",
    "y_branch",
]

C0 = 299_792_458.0  # speed of light [m/s]

#: port names of each component, in the order of the S-matrix axes
PORTS = {
    "straight": ("o1", "o2"),
    "bend": ("o1", "o2"),
    "coupler": ("o1", "o2", "o3", "o4"),
    "mmi1x2": ("o1", "o2", "o3"),
    "mmi2x2": ("o1", "o2", "o3", "o4"),
    "y_branch": ("o1", "o2", "o3"),
    "crossing": ("o1", "o2", "o3", "o4"),
    "terminator": ("o1",),
    "phase_shifter": ("o1", "o2"),
    "mzi": ("o1", "o2", "o3", "o4"),
    "ring_allpass": ("o1", "o2"),
    "ring_add_drop": ("o1", "o2", "o3", "o4"),
    "grating_coupler": ("o1", "o2"),
}


def _t(x, wl: torch.Tensor) -> torch.Tensor:
    """``x`` as a real tensor of ``wl``'s dtype and device (differentiable if it was)."""
    if isinstance(x, torch.Tensor):
        return x.to(dtype=wl.dtype, device=wl.device)
    return torch.tensor(float(x), dtype=wl.dtype, device=wl.device)


def _amp_db(loss_db: torch.Tensor) -> torch.Tensor:
    return torch.pow(10.0, -loss_db / 20.0)


def _wl(wavelengths) -> torch.Tensor:
    if not isinstance(wavelengths, torch.Tensor):
        wavelengths = torch.as_tensor(wavelengths, dtype=torch.float64)
    if wavelengths.is_complex() or not wavelengths.is_floating_point():
        wavelengths = wavelengths.to(torch.float64)
    return wavelengths


def _bcast(*xs: torch.Tensor) -> list[torch.Tensor]:
    return list(torch.broadcast_tensors(*xs))


def _two_port(t: torch.Tensor) -> torch.Tensor:
    """``[[0, t], [t, 0]]`` of a reciprocal two-port with transmission ``t`` (...)."""
    z = torch.zeros_like(t)
    return torch.stack([torch.stack([z, t], -1), torch.stack([t, z], -1)], -2)


def _from_blocks(n: int, entries: dict) -> torch.Tensor:
    """An ``(..., n, n)`` reciprocal S-matrix from ``{(out, in): value}`` (each pair given
    once; its transpose is filled with the same value)."""
    vals = _bcast(*entries.values())
    shape = vals[0].shape
    z = torch.zeros(shape, dtype=vals[0].dtype, device=vals[0].device)
    grid = [[z for _ in range(n)] for _ in range(n)]
    for (o, i), v in zip(entries, vals):
        grid[o][i] = v
        grid[i][o] = v
    return torch.stack([torch.stack(row, -1) for row in grid], -2)


def _lr(t00, t01, t10, t11) -> torch.Tensor:
    """A four-port from its left-to-right transfer matrix.

    Ports as gdsfactory's couplers: ``o1`` bottom-left, ``o2`` top-left, ``o3``
    top-right, ``o4`` bottom-right. ``T`` has rows (bottom out ``o4``, top out ``o3``)
    and columns (bottom in ``o1``, top in ``o2``); right-to-left is ``T^T``.
    """
    return _from_blocks(4, {(3, 0): t00, (3, 1): t01, (2, 0): t10, (2, 1): t11})


def neff_at(wavelengths, neff, ng, wavelength0) -> torch.Tensor:
    """First-order dispersion: ``neff(l) = neff0 - (ng - neff0) (l - l0) / l0``.

    (From ``ng = neff - l dneff/dl`` taken at ``l0``.)
    """
    wl = _wl(wavelengths)
    n0, g, l0 = _t(neff, wl), _t(ng, wl), _t(wavelength0, wl)
    return n0 - (g - n0) * (wl - l0) / l0


def straight_transmission(
    wavelengths, length, neff=2.4, ng=4.2, wavelength0=1.55e-6, loss_db_per_m=0.0
) -> torch.Tensor:
    """Complex amplitude transmission ``10^(-loss L / 20) exp(+i 2 pi neff(l) L / l)``.

    Args:
        wavelengths: [m]; length: [m]; neff, ng: effective and group index at
            ``wavelength0`` [m]; loss_db_per_m: propagation loss [dB/m].
    """
    wl = _wl(wavelengths)
    L = _t(length, wl)
    n = neff_at(wl, neff, ng, wavelength0)
    phase = 2 * math.pi * n * L / wl
    amp = _amp_db(_t(loss_db_per_m, wl) * L)
    amp, phase = _bcast(amp, phase)
    return torch.polar(amp, phase)


def straight(
    wavelengths, length, neff=2.4, ng=4.2, wavelength0=1.55e-6, loss_db_per_m=0.0
) -> torch.Tensor:
    """Straight waveguide, ports ``o1``, ``o2``: ``(..., 2, 2)``."""
    return _two_port(
        straight_transmission(wavelengths, length, neff, ng, wavelength0, loss_db_per_m)
    )


def bend(
    wavelengths,
    radius,
    angle_deg=90.0,
    neff=2.4,
    ng=4.2,
    wavelength0=1.55e-6,
    loss_db_per_m=0.0,
    loss_db_per_90=0.0,
) -> torch.Tensor:
    """Circular bend of ``radius`` [m] over ``angle_deg`` [deg], ports ``o1``, ``o2``.

    Length ``radius * angle``; extra loss ``loss_db_per_90 * angle / 90 deg``.
    """
    wl = _wl(wavelengths)
    ang = _t(angle_deg, wl)
    length = _t(radius, wl) * ang * (math.pi / 180)
    t = straight_transmission(wl, length, neff, ng, wavelength0, loss_db_per_m)
    return _two_port(t * _amp_db(_t(loss_db_per_90, wl) * ang / 90))


def gap_coupling(gap, coupling_length, kappa0, gap_decay) -> torch.Tensor:
    """Power coupling of two parallel waveguides from their gap (coupled-mode theory).

    ``k = sin^2(kappa L)``, ``kappa = kappa0 exp(-gap / gap_decay)``.

    Args:
        gap: edge-to-edge gap [m]; coupling_length: [m]; kappa0: field coupling
            coefficient extrapolated to zero gap [1/m]; gap_decay: its 1/e length [m].
    """
    kappa = kappa0 * torch.exp(-torch.as_tensor(gap) / gap_decay)
    return torch.sin(kappa * coupling_length) ** 2


def coupler(
    wavelengths, coupling=0.5, coupling_slope=0.0, wavelength0=1.55e-6, loss_db=0.0
) -> torch.Tensor:
    """Directional coupler, ports ``o1`` (bottom-left), ``o2`` (top-left), ``o3``
    (top-right), ``o4`` (bottom-right).

    ``k(l) = coupling + coupling_slope (l - wavelength0)`` (power, ``coupling_slope`` in
    1/m), through ``sqrt(1 - k)`` (o1-o4, o2-o3), cross ``i sqrt(k)`` (o1-o3, o2-o4),
    times the amplitude of ``loss_db``. No coupling between ports on one side.
    """
    wl = _wl(wavelengths)
    k = _t(coupling, wl) + _t(coupling_slope, wl) * (wl - _t(wavelength0, wl))
    a = _amp_db(_t(loss_db, wl))
    cdt = complex_of(wl.dtype)
    t = (a * torch.sqrt(1 - k)).to(cdt)
    x = 1j * (a * torch.sqrt(k)).to(cdt)
    return _lr(t, x, x, t)


def mmi2x2(wavelengths, loss_db=0.0) -> torch.Tensor:
    """2x2 MMI (a 50:50 coupler with the coupler's ports and phases)."""
    return coupler(wavelengths, 0.5, 0.0, 1.55e-6, loss_db)


def mmi1x2(wavelengths, loss_db=0.0) -> torch.Tensor:
    """1x2 splitter, ports ``o1`` (input), ``o2``, ``o3`` (outputs): ``t / sqrt(2)`` to each
    output, no reflection. A Y-branch is the same model."""
    wl = _wl(wavelengths)
    a = (_amp_db(_t(loss_db, wl)) / math.sqrt(2)).expand(wl.shape).to(complex_of(wl.dtype))
    return _from_blocks(3, {(1, 0): a, (2, 0): a})


y_branch = mmi1x2


def crossing(wavelengths, loss_db=0.0, crosstalk_db=-60.0) -> torch.Tensor:
    """Waveguide crossing, ports ``o1`` (west), ``o2`` (north), ``o3`` (east), ``o4``
    (south). Each port leaks ``x^2 = 10^(crosstalk_db/10)`` of its power (relative) into
    each of its two neighbours, with a ``+i`` phase, and passes ``1 - 4 x^2`` to the
    opposite port (``o1-o3``, ``o2-o4``), so that the lossless crossing is passive
    (largest singular value exactly 1); everything is then scaled by the amplitude of
    ``loss_db``."""
    wl = _wl(wavelengths)
    cdt = complex_of(wl.dtype)
    a = _amp_db(_t(loss_db, wl))
    x = _amp_db(-_t(crosstalk_db, wl))
    t = (a * torch.sqrt(1 - 4 * x**2)).expand(wl.shape).to(cdt)
    x = 1j * (a * x).expand(wl.shape).to(cdt)
    return _from_blocks(4, {(2, 0): t, (3, 1): t, (1, 0): x, (3, 0): x, (2, 1): x, (3, 2): x})


def terminator(wavelengths, reflection=0.0) -> torch.Tensor:
    """One-port termination with amplitude reflection ``reflection`` (default: none)."""
    wl = _wl(wavelengths)
    r = _t(reflection, wl).expand(wl.shape).to(complex_of(wl.dtype))
    return r[..., None, None]


def thermo_optic_phase(p_pi, power=None, voltage=None, heater_resistance=None) -> torch.Tensor:
    """Phase [rad] of a thermo-optic shifter: ``pi P / P_pi``, ``P = V^2 / R``.

    Args:
        p_pi: power for a pi shift [W]; power: heater power [W]; or voltage [V] with
            heater_resistance [Ohm].
    """
    if (power is None) == (voltage is None):
        raise ValueError("thermo_optic_phase needs exactly one of power= [W] or voltage= [V]")
    if voltage is not None:
        if heater_resistance is None:
            raise ValueError("voltage= needs heater_resistance= [Ohm]")
        power = torch.as_tensor(voltage) ** 2 / heater_resistance
    return math.pi * torch.as_tensor(power) / p_pi


def phase_shifter(wavelengths, phase=0.0, loss_db=0.0) -> torch.Tensor:
    """Phase shifter, ports ``o1``, ``o2``: transmission ``10^(-loss_db/20) e^{i phase}``
    (wavelength-independent; its waveguide is a separate ``straight``)."""
    wl = _wl(wavelengths)
    amp, ph = _bcast(_amp_db(_t(loss_db, wl)), _t(phase, wl) + 0 * wl)
    return _two_port(torch.polar(amp, ph))


def mzi(
    wavelengths,
    length=100e-6,
    delta_length=0.0,
    phase=0.0,
    coupling1=0.5,
    coupling2=0.5,
    neff=2.4,
    ng=4.2,
    wavelength0=1.55e-6,
    loss_db_per_m=0.0,
) -> torch.Tensor:
    """Mach-Zehnder interferometer: coupler, two arms, coupler; ports as :func:`coupler`.

    The bottom arm is ``length`` long, the top arm ``length + delta_length`` with an
    extra phase ``phase`` [rad]. With 50:50 couplers the bar power (o1 -> o4) is
    ``sin^2(dphi / 2)`` and the cross power (o1 -> o3) ``cos^2(dphi / 2)``, where
    ``dphi`` is the top-minus-bottom arm phase.
    """
    wl = _wl(wavelengths)
    c1 = coupler(wl, coupling1)
    c2 = coupler(wl, coupling2)
    kw = dict(neff=neff, ng=ng, wavelength0=wavelength0, loss_db_per_m=loss_db_per_m)
    bot = straight_transmission(wl, length, **kw)
    top = straight_transmission(wl, _t(length, wl) + _t(delta_length, wl), **kw)
    top = top * torch.polar(torch.ones_like(_t(phase, wl)), _t(phase, wl))
    T1 = torch.stack([torch.stack([c1[..., 3, 0], c1[..., 3, 1]], -1),
                      torch.stack([c1[..., 2, 0], c1[..., 2, 1]], -1)], -2)  # fmt: skip
    T2 = torch.stack([torch.stack([c2[..., 3, 0], c2[..., 3, 1]], -1),
                      torch.stack([c2[..., 2, 0], c2[..., 2, 1]], -1)], -2)  # fmt: skip
    bot, top = _bcast(bot, top)
    D = torch.diag_embed(torch.stack([bot, top], -1))
    T = T2 @ D @ T1
    return _lr(T[..., 0, 0], T[..., 0, 1], T[..., 1, 0], T[..., 1, 1])


def _ring_terms(wl, coupling, length, neff, ng, wavelength0, loss_db_per_m):
    cdt = complex_of(wl.dtype)
    rt = straight_transmission(wl, length, neff, ng, wavelength0, loss_db_per_m)  # a e^{i phi}
    half = straight_transmission(wl, _t(length, wl) / 2, neff, ng, wavelength0, loss_db_per_m)
    return rt, half, cdt


def ring_allpass(
    wavelengths, coupling, length, neff=2.4, ng=4.2, wavelength0=1.55e-6, loss_db_per_m=0.0
) -> torch.Tensor:
    """All-pass ring: ports ``o1`` (input), ``o2`` (through).

    ``t = (r - a e^{i phi}) / (1 - r a e^{i phi})`` with ``r = sqrt(1 - coupling)``,
    ``a e^{i phi}`` the round trip of a ring of circumference ``length`` [m] (the
    ring built from :func:`coupler` and :func:`straight`).
    """
    wl = _wl(wavelengths)
    rt, _, cdt = _ring_terms(wl, coupling, length, neff, ng, wavelength0, loss_db_per_m)
    r = torch.sqrt(1 - _t(coupling, wl)).to(cdt)
    return _two_port((r - rt) / (1 - r * rt))


def ring_add_drop(
    wavelengths,
    coupling1,
    coupling2,
    length,
    neff=2.4,
    ng=4.2,
    wavelength0=1.55e-6,
    loss_db_per_m=0.0,
) -> torch.Tensor:
    """Add-drop ring: ports ``o1`` (input), ``o2`` (through), ``o3`` (drop), ``o4`` (add).

    ``coupling1`` couples the input bus, ``coupling2`` the drop bus; with
    ``r_j = sqrt(1 - coupling_j)``, ``k_j = sqrt(coupling_j)``:
    through ``(r1 - r2 a e^{i phi}) / (1 - r1 r2 a e^{i phi})``, drop
    ``-k1 k2 sqrt(a) e^{i phi/2} / (1 - r1 r2 a e^{i phi})``; add -> drop and add ->
    through by the mirror symmetry (``r1 <-> r2``).
    """
    wl = _wl(wavelengths)
    rt, half, cdt = _ring_terms(wl, coupling1, length, neff, ng, wavelength0, loss_db_per_m)
    k1, k2 = _t(coupling1, wl), _t(coupling2, wl)
    r1, r2 = torch.sqrt(1 - k1).to(cdt), torch.sqrt(1 - k2).to(cdt)
    den = 1 - r1 * r2 * rt
    through = (r1 - r2 * rt) / den
    drop = -(torch.sqrt(k1 * k2)).to(cdt) * half / den
    add_drop = (r2 - r1 * rt) / den
    return _from_blocks(4, {(1, 0): through, (2, 0): drop, (2, 3): add_drop, (1, 3): drop})


def grating_coupler(
    wavelengths, center_wavelength=1.55e-6, bandwidth=40e-9, peak_loss_db=0.0
) -> torch.Tensor:
    """Grating coupler, ports ``o1`` (waveguide), ``o2`` (fibre): Gaussian power passband
    ``T(l) = 10^(-peak_loss_db/10) exp(-4 ln2 (l - center)^2 / bandwidth^2)``
    (``bandwidth``: full width at half maximum [m]); real amplitude ``sqrt(T)``."""
    wl = _wl(wavelengths)
    d = (wl - _t(center_wavelength, wl)) / _t(bandwidth, wl)
    amp = _amp_db(_t(peak_loss_db, wl)) * torch.exp(-2 * math.log(2) * d**2)
    return _two_port(amp.to(complex_of(wl.dtype)))


def photodetector(field: torch.Tensor, responsivity=1.0, dark_current=0.0) -> torch.Tensor:
    """Photocurrent [A] ``R |E|^2 + I_dark`` of a field whose ``|E|^2`` is power [W].

    Args:
        field: complex amplitudes (...); responsivity: [A/W]; dark_current: [A].
    """
    return responsivity * field.abs() ** 2 + dark_current
