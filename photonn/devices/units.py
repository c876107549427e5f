"""File units of device profiles: the unit suffix of a key and its factor to SI.

A profile file names its unit in every numeric key (``pixel_pitch_um = 8.0``,
``p_pi_mw = 25.0``); :data:`UNIT_SUFFIXES` maps each suffix to its quantity and
factor, :data:`SI_UNIT` each quantity to its SI unit. This module and
:mod:`photonn.devices.validation` are the only places where file units become SI.
"""

from __future__ import annotations

import math

# suffix -> (quantity, factor to SI)
UNIT_SUFFIXES: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "cm": ("length", 1e-2),
    "mm": ("length", 1e-3),
    "um": ("length", 1e-6),
    "nm": ("length", 1e-9),
    "w": ("power", 1.0),
    "mw": ("power", 1e-3),
    "uw": ("power", 1e-6),
    "v": ("voltage", 1.0),
    "mv": ("voltage", 1e-3),
    "ohm": ("resistance", 1.0),
    "kohm": ("resistance", 1e3),
    "rad": ("angle", 1.0),
    "mrad": ("angle", 1e-3),
    "deg": ("angle", math.pi / 180.0),
    "pi": ("angle", math.pi),  # in multiples of pi rad: max_phase_pi = 2.0 is 2 pi rad
    "s": ("time", 1.0),
    "ms": ("time", 1e-3),
    "us": ("time", 1e-6),
    "ns": ("time", 1e-9),
    "hz": ("frequency", 1.0),
    "khz": ("frequency", 1e3),
    "mhz": ("frequency", 1e6),
}
SI_UNIT = {
    "length": "m",
    "power": "W",
    "voltage": "V",
    "resistance": "ohm",
    "angle": "rad",
    "time": "s",
    "frequency": "Hz",
}
_QUANTITY = {unit: quantity for quantity, unit in SI_UNIT.items()}


def quantity_of(unit: str) -> str | None:
    """The quantity whose SI unit is ``unit`` (``"m"`` -> ``"length"``); None for a unit
    that a file writes as it is (``"dB"``, ``"bit"``, ``"e-"``, ``""``)."""
    return _QUANTITY.get(unit)


def suffixes(quantity: str) -> list[str]:
    """The key suffixes of ``quantity``: ``["_m", "_cm", "_mm", "_um", "_nm"]`` for length."""
    return [f"_{s}" for s, (q, _) in UNIT_SUFFIXES.items() if q == quantity]


def to_si(value: float, factor: float | None) -> float:
    """``value * factor``, dividing by the exact power of ten for small factors
    (``12.5 / 1e6`` is the float nearest 12.5e-6, ``12.5 * 1e-6`` is not)."""
    if factor is None or factor == 1.0:
        return value
    inverse = round(1.0 / factor)
    if factor < 1.0 and abs(inverse * factor - 1.0) < 1e-12:
        return value / inverse
    return value * factor
