"""MZI chips: mesh phases -> heater drives -> power, current, voltage -> DAC codes, and back.

A chip is every MZI element of a network that is mapped to one ``mzi_platform``
profile: the meshes (``theta``, ``phi`` per MZI and the output phase screen) and
the attenuator columns of SVD layers. Its phase shifters are numbered
consecutively (the controller channels), element by element: per mesh, MZI
``k``'s internal (``theta``) and external (``phi``) shifter, then the output
screen; per attenuator column, one internal shifter per attenuator.

Heater phases (the mesh's convention, :class:`photonn.onchip.MZIMesh`): an internal
shifter holds ``2 theta`` and an external one ``phi``, both wrapped into
``[0, 2 pi)``. The convention ``T(theta, phi)`` drops a single-arm heater's
common-mode phase, so ``theta`` and ``theta + pi`` (the same heater setting) give
blocks of opposite sign; the export records that ``branch`` (0 or 1) per internal
shifter so that the read-back rebuilds the simulated mesh exactly.

Thermal crosstalk acts on the drives as they are (a drive may exceed ``2 pi`` when
the pre-compensation needs it, up to the heater's reach): heater ``i`` produces
``h_i + kappa sum_j h_j``, and the simulation adds the error
``wrap(actual - intended)`` to the intended phase, on the trained branch
(:func:`element_settings`). :class:`photonn.onchip.MeshImperfections` ``crosstalk`` is the
same model while the phases stay below ``2 pi``; past it the mesh does not wrap
``2 theta`` and flips the sign of that block, which a physical heater does not do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from ..devices import DeviceProfile
from ..functional.heater import (
    code_to_voltage,
    crosstalk_apply,
    current_from_power,
    current_from_voltage,
    phase_to_power,
    power_to_phase,
    precompensate_crosstalk,
    voltage_from_current,
)
from ..functional.mzi_errors import crosstalk_pairs
from ..functional.mzi_mesh import mesh_layout
from ..functional.slm_export import phase_error
from .calibration import HeaterCalibration

__all__ = [
    "ChipElement",
    "ElementChannels",
    "Chip",
    "plan_chip",
    "realised_phases",
    "chip_crosstalk",
    "element_settings",
    "settings_by_element",
    "channel_lists",
    "COLUMNS",
    "UNITS",
]

TWO_PI = 2 * math.pi
# the columns of channels.csv, in order
COLUMNS = (
    "name",
    "element",
    "column",
    "mzi",
    "shifter",
    "channel",
    "phase_rad",
    "power_W",
    "current_A",
    "voltage_V",
    "dac_code",
    "drive_phase_rad",
    "realised_phase_rad",
    "branch",
)
# the unit of each numeric channel quantity (channels.json, bundle.h5 attributes)
UNITS = {
    "phase_rad": "rad",
    "power_W": "W",
    "current_A": "A",
    "voltage_V": "V",
    "drive_phase_rad": "rad",
    "realised_phase_rad": "rad",
    "actual_phase_rad": "rad",
}


@dataclass
class ChipElement:
    """An MZI element: ``kind`` ``"mesh"`` (an ``MZIMesh``) or ``"attenuators"`` (the
    attenuator column of an ``SVDLinear``, ``module`` the layer)."""

    name: str
    kind: str
    module: object


class ElementChannels(NamedTuple):
    """The consecutive controller channels of one element on a chip.

    The field names are the keys of the element records in ``manifest.toml`` and
    ``channels.json`` (``rec = e._asdict()``, ``e = ElementChannels(**rec)``).
    """

    name: str  # the module name, e.g. "layers.0.mesh_in"
    kind: str  # "mesh" or "attenuators"
    first_channel: int
    channels: int  # how many channels, from first_channel on
    modes: int
    layout: str  # the mesh layout name ("clements", ...); "column" for attenuators


@dataclass
class Chip:
    """The controller settings of one chip (see the module docstring).

    ``channels``: one entry per column of :data:`COLUMNS` (lists for strings, float64
    or int64 tensors for numbers), plus ``actual_phase_rad``: the phase each heater
    produces with its neighbours' heat (:func:`~photonn.functional.heater.crosstalk_apply`
    on the realised drives; the phases the simulation uses).
    ``elements``: one :class:`ElementChannels` per element, in channel order.
    ``report``: channel count, total and largest power, residual phase error.
    """

    name: str
    profile: DeviceProfile
    bits: int
    kappa: float
    compensated: bool
    law: str
    calibration: str | None
    channels: dict
    elements: list[ElementChannels]
    crosstalk_index: torch.Tensor
    crosstalk_value: torch.Tensor
    report: dict = field(default_factory=dict)


def channel_lists(chip: Chip) -> dict[str, list]:
    """The chip's channel columns as plain lists."""
    return {k: (v if isinstance(v, list) else v.tolist()) for k, v in chip.channels.items()}


class _Heaters(NamedTuple):
    """The phase shifters of one element, one entry per shifter (float64 / int64)."""

    column: torch.Tensor
    mzi: torch.Tensor
    shifter: list[str]
    target: torch.Tensor  # [rad], in [0, 2 pi)
    branch: torch.Tensor  # 0 or 1 for internal shifters, -1 for the others
    modes: int
    layout: str


def _heater_targets(el: ChipElement) -> _Heaters:
    """The phase shifters of one element and the phases they must hold."""
    if el.kind == "mesh":
        mesh = el.module
        lay = mesh.layout
        theta = mesh.theta.detach().cpu().to(torch.float64)
        phi = mesh.phi.detach().cpu().to(torch.float64)
        out = mesh.output_phase.detach().cpu().to(torch.float64)
        m = lay.n_mzi
        cols = torch.tensor(lay.columns, dtype=torch.int64)
        t_int = torch.remainder(2 * theta, TWO_PI)
        br = torch.remainder(torch.floor(theta / math.pi), 2).to(torch.int64)
        column = torch.cat(
            [torch.stack([cols, cols], 1).reshape(-1), torch.full((lay.n_modes,), lay.n_columns)]
        )
        mzi = torch.cat([torch.arange(m).repeat_interleave(2), torch.arange(lay.n_modes)])
        shifter = ["theta", "phi"] * m + ["output"] * lay.n_modes
        target = torch.cat(
            [
                torch.stack([t_int, torch.remainder(phi, TWO_PI)], 1).reshape(-1),
                torch.remainder(out, TWO_PI),
            ]
        )
        branch = torch.cat(
            [
                torch.stack([br, torch.full_like(br, -1)], 1).reshape(-1),
                torch.full((lay.n_modes,), -1, dtype=torch.int64),
            ]
        )
        return _Heaters(column, mzi, shifter, target, branch, lay.n_modes, lay.name)
    att = el.module.attenuation_theta.detach().cpu().to(torch.float64)
    k = att.numel()
    return _Heaters(
        torch.zeros(k, dtype=torch.int64),
        torch.arange(k),
        ["attenuator"] * k,
        torch.remainder(2 * att, TWO_PI),
        torch.remainder(torch.floor(att / math.pi), 2).to(torch.int64),
        k,
        "column",
    )


def chip_crosstalk(elements: list[ElementChannels], kappa: float):
    """Global sparse couplings ``(index (2, nnz), value)`` of a chip's heaters: the mesh's
    nearest-neighbour model (same column, pairs two modes apart), on the internal
    (``2 theta``) and on the external (``phi``) shifters."""
    rows, cols = [], []
    for e in elements:
        if e.kind != "mesh" or kappa == 0:
            continue
        i, j = crosstalk_pairs(mesh_layout(e.modes, e.layout))
        for s in (0, 1):  # theta channels 2k, phi channels 2k + 1
            rows += [e.first_channel + 2 * a + s for a in i]
            cols += [e.first_channel + 2 * b + s for b in j]
    index = torch.tensor([rows, cols], dtype=torch.int64).reshape(2, -1)
    return index, torch.full((index.shape[1],), float(kappa), dtype=torch.float64)


def _law(profile: DeviceProfile):
    profile.require("p_pi", "heater_resistance", "v_max", "dac_bits")
    return profile["p_pi"], profile["heater_resistance"], profile.heater_iv_law()


def realised_phases(
    code: torch.Tensor,
    channel: torch.Tensor,
    profile: DeviceProfile,
    bits: int,
    calibration: HeaterCalibration | None = None,
):
    """``(phase [rad], power [W], current [A], voltage [V])`` of DAC codes, float64.

    ``V = code V_max / (2**bits - 1)``, ``I`` from the heater law (``V / R`` or the
    fitted ``V(I)``), ``P = V I``, phase ``pi P / P_pi`` or, for channels in
    ``calibration``, the measured curve.
    """
    p_pi, R, iv = _law(profile)
    v = code_to_voltage(code, profile["v_max"], bits)
    i = current_from_voltage(v, R, iv)
    p = v * i
    phase = power_to_phase(p, p_pi)
    if calibration is not None:
        phase = calibration.phase_of(channel, p, phase)
    return phase, p, i, v


def _codes(drive, channel, profile, bits, calibration, circular: bool):
    """The DAC code per channel whose realised phase is nearest to ``drive``: among the two
    codes around the exact voltage, and (``circular``, no crosstalk: only the phase
    modulo 2 pi matters) code 0, never a code reaching 2 pi."""
    p_pi, R, iv = _law(profile)
    power = phase_to_power(drive, p_pi)
    if calibration is not None:
        power = calibration.power_of(channel, drive, power)
    v_exact = voltage_from_current(current_from_power(power, R, iv), R, iv)
    levels = 2**bits - 1
    step = profile["v_max"] / levels
    lo = torch.floor(v_exact / step).clamp(0, levels).to(torch.int64)
    cands = torch.stack([lo, (lo + 1).clamp(max=levels), torch.zeros_like(lo)], 1)
    if not circular:
        cands = cands[:, :2]
    k = cands.shape[1]
    ph, _, _, _ = realised_phases(
        cands.reshape(-1), channel.repeat_interleave(k), profile, bits, calibration
    )
    ph = ph.reshape(-1, k)
    if circular:
        dist = phase_error(ph, drive[:, None]).abs()
        dist = torch.where(ph >= TWO_PI, torch.full_like(dist, math.inf), dist)
    else:
        dist = (ph - drive[:, None]).abs()
    best = dist.argmin(1)
    return cands.gather(1, best[:, None])[:, 0], v_exact


def _reach(channel, profile, bits, calibration) -> torch.Tensor:
    """The largest phase [rad] each channel reaches: at ``v_max`` (the top DAC code) or at
    ``channel_power_max``, whichever is lower."""
    top = torch.full_like(channel, 2**bits - 1)
    ph, p, _, _ = realised_phases(top, channel, profile, bits, calibration)
    pmax = profile.get("channel_power_max")
    if pmax is not None:
        lim = power_to_phase(torch.full_like(p, pmax), profile["p_pi"])
        if calibration is not None:
            lim = calibration.phase_of(channel, torch.full_like(p, pmax), lim)
        ph = torch.minimum(ph, lim)
    return ph


def plan_chip(
    name: str,
    elements: list[ChipElement],
    profile: DeviceProfile,
    *,
    bits: int | None = None,
    crosstalk: bool = True,
    compensate: bool = True,
    calibration: HeaterCalibration | None = None,
) -> Chip:
    """Drives, electrical settings and DAC codes of one chip; refuses what the profile cannot do.

    Args:
        elements: the chip's MZI elements, in channel order.
        profile: ``mzi_platform`` profile (``p_pi``, ``heater_resistance``, ``v_max``,
            ``dac_bits``; optional ``heater_iv``, limits ``dac_channels``,
            ``channel_power_max``, ``total_power_max``).
        bits: DAC bits (default: the profile's ``dac_bits``).
        crosstalk: model the profile's ``thermal_crosstalk`` between heaters.
        compensate: pre-compensate it (solve for the drives that give the intended
            phases); else drive the intended phases and let the crosstalk act.
        calibration: measured phase against power per channel (overrides the ideal
            ``pi P / P_pi`` for its channels).

    Raises:
        ValueError: too few DAC channels; a channel above ``v_max`` or
            ``channel_power_max``; the chip above ``total_power_max``. The message
            names the channel (element, MZI, shifter) and both numbers.
    """
    prof = profile
    p_pi, R, iv = _law(prof)
    bits = int(prof["dac_bits"]) if bits is None else int(bits)
    if not 1 <= bits <= 32:
        raise ValueError(f"bits must lie in [1, 32] for a DAC, got {bits}")
    kappa = float(prof.get("thermal_crosstalk", 0.0)) if crosstalk else 0.0
    parts, info, off = [], [], 0
    for el in elements:
        part = _heater_targets(el)
        parts.append(part)
        count = part.target.numel()
        info.append(ElementChannels(el.name, el.kind, off, count, part.modes, part.layout))
        off += count
    n_ch = off
    limit = prof.get("dac_channels")
    if limit is not None and n_ch > limit:
        raise ValueError(
            f"chip {name!r}: too few DAC channels: the network needs {n_ch} phase shifters, "
            f"profile {prof.name!r} has dac_channels = {limit}; use a larger controller or "
            "map some elements to another profile"
        )
    names, element, shifter = [], [], []
    for el, part in zip(elements, parts):
        element += [el.name] * len(part.shifter)
        shifter += part.shifter
        names += [
            f"{el.name}/{'out' if s == 'output' else 'mzi'}{int(k)}/{s}"
            for k, s in zip(part.mzi.tolist(), part.shifter)
        ]
    column = torch.cat([p.column for p in parts])
    mzi = torch.cat([p.mzi for p in parts])
    target = torch.cat([p.target for p in parts])
    branch = torch.cat([p.branch for p in parts])
    channel = torch.arange(n_ch, dtype=torch.int64)
    index, value = chip_crosstalk(info, kappa)
    exact = True
    if compensate and kappa:
        reach = _reach(channel, prof, bits, calibration)
        drive, exact = precompensate_crosstalk(target, index, value, upper=reach)
    else:
        drive = target
    code, v_exact = _codes(drive, channel, prof, bits, calibration, circular=not kappa)
    phase, power, current, voltage = realised_phases(code, channel, prof, bits, calibration)
    over_v = v_exact > prof["v_max"] * (1 + 1e-12)
    if bool(over_v.any()):
        c = int(torch.nonzero(over_v)[0])
        raise ValueError(
            f"chip {name!r}: channel {c} ({names[c]}) needs {float(v_exact[c]):.6g} V for "
            f"{float(drive[c]):.6g} rad, above v_max = {prof['v_max']:.6g} V of profile "
            f"{prof.name!r}"
        )
    pmax = prof.get("channel_power_max")
    if pmax is not None and bool((power > pmax * (1 + 1e-12)).any()):
        c = int(torch.argmax(power))
        raise ValueError(
            f"chip {name!r}: channel {c} ({names[c]}) needs {float(power[c]) * 1e3:.6g} mW, "
            f"above channel_power_max = {pmax * 1e3:.6g} mW of profile {prof.name!r}"
        )
    total = float(power.sum())
    tmax = prof.get("total_power_max")
    if tmax is not None and total > tmax * (1 + 1e-12):
        raise ValueError(
            f"chip {name!r}: the {n_ch} heaters draw {total:.6g} W in total, above "
            f"total_power_max = {tmax:.6g} W of profile {prof.name!r}; split the network over "
            "several chips (map elements to separate profiles) or use a larger budget"
        )
    actual = crosstalk_apply(phase, index, value)
    err = phase_error(actual, target)
    channels = {
        "name": names,
        "element": element,
        "column": column,
        "mzi": mzi,
        "shifter": shifter,
        "channel": channel,
        "phase_rad": target,
        "power_W": power,
        "current_A": current,
        "voltage_V": voltage,
        "dac_code": code,
        "drive_phase_rad": drive,
        "realised_phase_rad": phase,
        "branch": branch,
        "actual_phase_rad": actual,
    }
    report = {
        "channels": n_ch,
        "total_power_W": total,
        "max_channel_power_W": float(power.max()) if n_ch else 0.0,
        "residual_phase_rms_rad": float(err.pow(2).mean().sqrt()) if n_ch else 0.0,
        "residual_phase_max_abs_rad": float(err.abs().max()) if n_ch else 0.0,
        "precompensation_exact": bool(exact) if compensate and kappa else None,
    }
    return Chip(
        name=name,
        profile=prof,
        bits=bits,
        kappa=kappa,
        compensated=bool(compensate and kappa),
        law="V = r1 I + r3 I^3 (heater_iv fit)" if iv else "V = R I",
        calibration=None if calibration is None else str(calibration.source),
        channels=channels,
        elements=info,
        crosstalk_index=index,
        crosstalk_value=value,
        report=report,
    )


def element_settings(
    kind: str, actual: torch.Tensor, target: torch.Tensor, branch: torch.Tensor, n: int
) -> dict:
    """Model parameters [rad] of one element from the phases its heaters produce (float64).

    ``actual``: the heater phases after crosstalk (``actual_phase_rad``); ``target``: the
    intended ones (``phase_rad``, in ``[0, 2 pi)``). The heater phase is taken as
    ``h = target + wrap(actual - target)`` (the error wrapped into ``[-pi, pi)``), so
    that an error across ``0 = 2 pi`` does not flip the block's sign in the ``T``
    convention; then a mesh gets ``theta = branch pi + h_theta / 2``, ``phi = h_phi``,
    ``output_phase = h_out``, and an attenuator column
    ``attenuation_theta = branch pi + h / 2``: the trained parameters plus the physical
    error (half of it for ``theta``, which the heater sets as ``2 theta``).
    """
    t = target.to(torch.float64)
    h = t + phase_error(actual.to(torch.float64), t)
    if kind == "mesh":
        m = (h.numel() - n) // 2
        hm = h[: 2 * m].reshape(m, 2)
        b = branch[: 2 * m].reshape(m, 2)[:, 0].to(torch.float64)
        return {"theta": b * math.pi + hm[:, 0] / 2, "phi": hm[:, 1], "output_phase": h[2 * m :]}
    return {"attenuation_theta": branch.to(torch.float64) * math.pi + h / 2}


def settings_by_element(
    elements: list[ElementChannels],
    actual: torch.Tensor,
    target: torch.Tensor,
    branch: torch.Tensor,
) -> dict:
    """Element name -> ``(kind, parameters)`` of a chip (:func:`element_settings` on each
    element's channels): ``actual``, ``target`` and ``branch`` run over all channels."""
    out = {}
    for e in elements:
        sl = slice(e.first_channel, e.first_channel + e.channels)
        s = element_settings(e.kind, actual[sl], target[sl], branch[sl], e.modes)
        out[e.name] = (e.kind, s)
    return out
