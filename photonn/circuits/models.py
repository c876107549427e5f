"""Component models a netlist can name: port names, settings with defaults, the S-matrix.

A :class:`Model` wraps one function of :mod:`photonn.functional.circuits` (or any
function ``fn(wavelengths, **settings) -> (..., n, n)`` that broadcasts its settings
against ``wavelengths``). :data:`MODELS` holds the built-in names; :data:`EXPORT_MODELS`
the components of the netlists ``photonn.export`` writes for MZI chips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .._checks import complex_of
from ..functional import circuits as F
from ..functional.mzi import mzi_entries

__all__ = ["EXPORT_MODELS", "MODELS", "REQUIRED", "Model"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: default of a setting a netlist must give
REQUIRED = _Required()


@dataclass(frozen=True)
class Model:
    """A component a netlist can instantiate.

    Args:
        name: the component name used in netlists.
        ports: port names, in the order of the S-matrix axes.
        fn: ``fn(wavelengths, **settings)`` -> complex ``(..., n_ports, n_ports)``,
            ``S[..., out, in]``; every setting broadcasts against ``wavelengths``.
        defaults: setting -> default (``REQUIRED`` if it must be given); these are
            the only settings the model accepts.
        prepare: optional ``prepare(settings) -> settings`` applied before ``fn``
            (derived settings: gap -> coupling, heater power -> phase).
        wavelength_range: optional ``wavelength_range(settings) -> (lo, hi)`` [m],
            the band over which the model is valid.
        ignored: settings accepted and not used (bookkeeping such as DAC channels).
        units: setting -> unit, for error messages and docs.
    """

    name: str
    ports: tuple[str, ...]
    fn: Callable
    defaults: dict
    prepare: Callable | None = None
    wavelength_range: Callable | None = None
    ignored: tuple[str, ...] = ()
    units: dict = field(default_factory=dict)


def _near_wavelength0(s):
    """First-order dispersion about wavelength0: trusted within +-10 % of it."""
    w0 = s["wavelength0"]
    return 0.9 * w0, 1.1 * w0


def _coupler_range(s):
    """Only a coupling with a wavelength slope is limited to +-10 % of wavelength0."""
    w0 = torch.as_tensor(s["wavelength0"], dtype=torch.float64)
    sloped = torch.as_tensor(s["coupling_slope"], dtype=torch.float64) != 0
    inf = torch.full_like(w0, float("inf"))
    return torch.where(sloped, 0.9 * w0, 0 * w0), torch.where(sloped, 1.1 * w0, inf)


_WG = {"neff": 2.4, "ng": 4.2, "wavelength0": 1.55e-6, "loss_db_per_m": 0.0}
_WG_UNITS = {"length": "m", "wavelength0": "m", "loss_db_per_m": "dB/m", "radius": "m"}


def _coupler_prepare(s):
    s = dict(s)
    gap_keys = ("gap", "coupling_length", "kappa0", "gap_decay")
    given = [k for k in gap_keys if s.get(k) is not None]
    if given:
        missing = [k for k in gap_keys if s.get(k) is None]
        if missing:
            raise ValueError(
                f"the gap model of 'coupler' needs all of {gap_keys}; missing {missing}"
            )
        s["coupling"] = F.gap_coupling(s["gap"], s["coupling_length"], s["kappa0"], s["gap_decay"])
    for k in gap_keys:
        s.pop(k)
    return s


def _shifter_prepare(s):
    s = dict(s)
    power, voltage, profile = s.pop("power"), s.pop("voltage"), s.pop("profile")
    p_pi, res = s.pop("p_pi"), s.pop("heater_resistance")
    if power is None and voltage is None:
        return s
    if profile is not None:
        from ..devices import load_profile

        prof = load_profile(profile) if isinstance(profile, str) else profile
        p_pi = prof["p_pi"] if p_pi is None else p_pi
        res = prof["heater_resistance"] if res is None else res
    if p_pi is None:
        raise ValueError(
            "a 'phase_shifter' driven by power or voltage needs p_pi [W] "
            "(or profile='si_thermo_optic_mzi' or another MZI platform profile)"
        )
    if voltage is not None and res is None:
        raise ValueError("a 'phase_shifter' driven by voltage needs heater_resistance [Ohm]")
    s["phase"] = s["phase"] + F.thermo_optic_phase(
        p_pi, power=power, voltage=voltage, heater_resistance=res
    )
    return s


def _export_mzi(wavelengths, theta_rad, phi_rad):
    wl = F._wl(wavelengths)
    theta = F._t(theta_rad, wl) + 0 * wl
    phi = F._t(phi_rad, wl) + 0 * wl
    t00, t01, t10, t11 = mzi_entries(theta, phi)
    # ports in0, in1 (upper, lower input), out0, out1: S[out, in] = T[out, in]
    return F._from_blocks(4, {(2, 0): t00, (2, 1): t01, (3, 0): t10, (3, 1): t11})


def _export_shifter(wavelengths, phase_rad):
    return F.phase_shifter(wavelengths, phase_rad)


def _export_attenuator(wavelengths, attenuation_theta_rad):
    wl = F._wl(wavelengths)
    t = torch.cos(F._t(attenuation_theta_rad, wl) + 0 * wl)
    return F._two_port(t.to(complex_of(wl.dtype)))


_R = REQUIRED
MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("straight", F.PORTS["straight"], F.straight, {"length": _R, **_WG},
              wavelength_range=_near_wavelength0, units=_WG_UNITS),
        Model("bend", F.PORTS["bend"], F.bend,
              {"radius": _R, "angle_deg": 90.0, **_WG, "loss_db_per_90": 0.0},
              wavelength_range=_near_wavelength0, units=_WG_UNITS),
        Model("coupler", F.PORTS["coupler"], F.coupler,
              {"coupling": 0.5, "coupling_slope": 0.0, "wavelength0": 1.55e-6, "loss_db": 0.0,
               "gap": None, "coupling_length": None, "kappa0": None, "gap_decay": None},
              prepare=_coupler_prepare, wavelength_range=_coupler_range,
              units={"coupling_slope": "1/m", "wavelength0": "m", "gap": "m",
                     "coupling_length": "m", "kappa0": "1/m", "gap_decay": "m"}),
        Model("mmi1x2", F.PORTS["mmi1x2"], F.mmi1x2, {"loss_db": 0.0}),
        Model("mmi2x2", F.PORTS["mmi2x2"], F.mmi2x2, {"loss_db": 0.0}),
        Model("y_branch", F.PORTS["y_branch"], F.y_branch, {"loss_db": 0.0}),
        Model("crossing", F.PORTS["crossing"], F.crossing,
              {"loss_db": 0.0, "crosstalk_db": -60.0}),
        Model("terminator", F.PORTS["terminator"], F.terminator, {"reflection": 0.0}),
        Model("phase_shifter", F.PORTS["phase_shifter"], F.phase_shifter,
              {"phase": 0.0, "loss_db": 0.0, "power": None, "voltage": None, "p_pi": None,
               "heater_resistance": None, "profile": None},
              prepare=_shifter_prepare,
              units={"phase": "rad", "power": "W", "voltage": "V", "p_pi": "W",
                     "heater_resistance": "Ohm"}),
        Model("mzi", F.PORTS["mzi"], F.mzi,
              {"length": 100e-6, "delta_length": 0.0, "phase": 0.0, "coupling1": 0.5,
               "coupling2": 0.5, **_WG},
              wavelength_range=_near_wavelength0, units=_WG_UNITS),
        Model("ring_allpass", F.PORTS["ring_allpass"], F.ring_allpass,
              {"coupling": _R, "length": _R, **_WG},
              wavelength_range=_near_wavelength0, units=_WG_UNITS),
        Model("ring_add_drop", F.PORTS["ring_add_drop"], F.ring_add_drop,
              {"coupling1": _R, "coupling2": _R, "length": _R, **_WG},
              wavelength_range=_near_wavelength0, units=_WG_UNITS),
        Model("grating_coupler", F.PORTS["grating_coupler"], F.grating_coupler,
              {"center_wavelength": 1.55e-6, "bandwidth": 40e-9, "peak_loss_db": 0.0},
              units={"center_wavelength": "m", "bandwidth": "m"}),
    )
}  # fmt: skip

#: the components of ``photonn.export``'s chip netlists (``chips/<chip>/netlist.json``):
#: ``mzi`` is the Clements block ``T(theta, phi)`` of docs/architecture.md, ports
#: ``in0``/``in1`` (upper/lower input) and ``out0``/``out1``; ``phase_shifter`` and
#: ``mzi_attenuator`` (amplitude ``cos(attenuation_theta_rad)``) have ``in0``, ``out0``.
EXPORT_MODELS: dict[str, Model] = {
    "mzi": Model("mzi", ("in0", "in1", "out0", "out1"), _export_mzi,
                 {"theta_rad": _R, "phi_rad": 0.0},
                 ignored=("column", "modes", "heater_theta_channel", "heater_phi_channel",
                          "dac_code_theta", "dac_code_phi")),
    "phase_shifter": Model("phase_shifter", ("in0", "out0"), _export_shifter,
                           {"phase_rad": 0.0}, ignored=("mode", "channel", "dac_code")),
    "mzi_attenuator": Model("mzi_attenuator", ("in0", "out0"), _export_attenuator,
                            {"attenuation_theta_rad": _R},
                            ignored=("mode", "channel", "dac_code")),
}  # fmt: skip
