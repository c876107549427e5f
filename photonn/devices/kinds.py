"""Typed device profiles: :class:`DeviceProfile` and one frozen subclass per kind.

A kind declares each of its values once, as a :class:`Value` (a
:class:`photonn._spec.Spec`: type, SI unit, bounds, description, required or
optional) in its class body. From that one declaration come the file format
(:mod:`photonn.devices.validation` checks every key of a TOML file against it at
:func:`~photonn.devices.load_profile`), :data:`KINDS`, the typed attribute
(``profile.pixel_pitch`` [m], ``profile.p_pi`` [W]) and the derived values of the
kind (``v_pi``, ``phase_lut``, ``dynamic_range`` ...).

* ``"slm"``: :class:`SLMProfile`, a spatial light modulator (phase panel);
* ``"camera"``: :class:`CameraProfile`, an image sensor;
* ``"mzi_platform"``: :class:`MZIPlatformProfile`, an MZI mesh platform (couplers,
  heaters, DAC).

Mapping access (``profile["pixel_pitch"]``, ``"lut" in profile``,
``profile.values``) keeps working. A profile built from a mapping of SI values
may lack required values; reading a missing one raises ``ValueError`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import torch

from .._spec import REQUIRED, Spec
from ..functional.slm import linear_lut
from .tables import read_heater_calibration, read_iv_table, read_lut
from .units import quantity_of

_KIND_CLASSES: dict[str, type] = {}


class Value:
    """One declared value of a profile kind, read as an attribute of the profile.

    ``type`` is ``float``, ``int``, ``str`` (a file name beside the TOML) or ``tuple``
    (two positive ints ``(ny, nx)``); ``unit`` the SI unit (the file key needs a unit
    suffix of its quantity: ``pixel_pitch_um``) or a display unit written as it is
    (``"dB"``, ``"bit"``; the key is the name: ``insertion_loss_db``). ``key`` is the
    name in the file when it differs from the attribute. An optional value reads as
    None when absent.
    """

    def __init__(self, type, unit: str, description: str, *, optional=False, key="", **bounds):
        default = None if optional else REQUIRED
        self.spec = Spec(key, type, unit, default, description, **bounds)

    def __set_name__(self, owner, attr: str) -> None:
        self.attr = attr
        self.spec = replace(self.spec, name=self.spec.name or attr)

    @property
    def name(self) -> str:
        """The value's name (its key in :attr:`DeviceProfile.values`)."""
        return self.spec.name

    @property
    def required(self) -> bool:
        return self.spec.required

    @property
    def quantity(self) -> str | None:
        """``"length"``, ``"power"`` ... for a value whose file key carries a unit suffix."""
        return quantity_of(self.spec.unit)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        v = obj.values.get(self.spec.name)
        if v is None and self.spec.required:
            obj.require(self.spec.name)
        return v

    def __set__(self, obj, value) -> None:
        raise FrozenInstanceError(f"cannot assign to field {self.attr!r}")


@dataclass(frozen=True)
class DeviceProfile:
    """A validated device profile with its values in SI units.

    ``DeviceProfile(kind="slm", ...)`` builds the kind's class (:class:`SLMProfile`,
    :class:`CameraProfile`, :class:`MZIPlatformProfile`).

    Attributes:
        name: profile name (the file stem of a shipped profile).
        kind: ``"slm"``, ``"camera"`` or ``"mzi_platform"``.
        description: one line on the device.
        provenance: the source: a string, or a read-only mapping (``source``,
            ``url``/``doi``, ``notes``, ...).
        values: read-only mapping, SI name -> value: floats in SI units for keys
            with a unit suffix (``pixel_pitch`` [m], ``p_pi`` [W], ``max_phase``
            [rad]), the file's value for the others (``bit_depth`` int,
            ``resolution`` ``(ny, nx)`` ints, ``insertion_loss_db`` float,
            ``lut`` file name).
        path: the TOML file it was read from.
        file_keys: read-only mapping, SI name -> the key as written in the file.

    ``profile["pixel_pitch"]`` is ``profile.values["pixel_pitch"]``; the kind's
    typed attribute ``profile.pixel_pitch`` is the same value.
    """

    KIND: ClassVar[str] = ""
    FIELDS: ClassVar[Mapping[str, Value]] = MappingProxyType({})

    name: str
    kind: str
    description: str
    provenance: object
    values: Mapping
    path: Path | None = field(default=None, compare=False)
    file_keys: Mapping = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def __new__(cls, *args, **kwargs):
        kind = kwargs.get("kind", args[1] if len(args) > 1 else None)
        if cls is DeviceProfile and kind in _KIND_CLASSES:
            cls = _KIND_CLASSES[kind]
        return object.__new__(cls)

    def __post_init__(self) -> None:
        if self.KIND and self.kind != self.KIND:
            raise ValueError(f"{type(self).__name__} has kind {self.KIND!r}, got {self.kind!r}")

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        fields: dict[str, Value] = {}
        for klass in cls.__mro__:  # the class's own values first, then its mixins'
            for v in vars(klass).values():
                if isinstance(v, Value):
                    fields.setdefault(v.name, v)
        cls.FIELDS = MappingProxyType(fields)
        if "KIND" in vars(cls):
            _KIND_CLASSES[cls.KIND] = cls

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: a value or method of another kind
        owners = [k for k, c in _KIND_CLASSES.items() if name in _own_names(c)]
        if owners and not name.startswith("_"):
            raise ValueError(
                f"profile {self.__dict__.get('name')!r} is a {self.__dict__.get('kind')!r} "
                f"profile; this value belongs to {' and '.join(map(repr, owners))} profiles"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __hash__(self) -> int:
        # values and provenance are read-only mappings (unhashable); hash their items
        prov = self.provenance
        prov_items = prov if isinstance(prov, str) else tuple(sorted(prov.items()))
        return hash(
            (self.name, self.kind, self.description, prov_items, tuple(sorted(self.values.items())))
        )

    def __getitem__(self, key: str):
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(
                f"profile {self.name!r} ({self.kind}) has no value {key!r}; "
                f"it has: {', '.join(sorted(self.values))}"
            ) from None

    def __contains__(self, key) -> bool:
        return key in self.values

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def unit(self, key: str) -> str:
        """Unit of ``values[key]`` for display (``"m"``, ``"W"``, ``"dB"``, ``""`` ...)."""
        return self.FIELDS[key].spec.unit

    def require(self, *keys: str) -> DeviceProfile:
        """Raise ``ValueError`` naming the keys this profile lacks (else return it)."""
        missing = [k for k in keys if k not in self.values]
        if missing:
            units = {k: v.spec.unit for k, v in self.FIELDS.items()}
            fix = ", ".join(f"{k} [{units[k]}]" if units.get(k) else k for k in missing)
            raise ValueError(
                f"the {self.kind} profile {self.name!r} lacks {missing}; it has "
                f"{sorted(self.values)}; add {fix} to its mapping of SI values, or load a "
                "profile file (photonn.devices.load_profile)"
            )
        return self

    @classmethod
    def check(cls, values: Mapping, where) -> None:
        """Checks across the values of the kind (a band's ends in order ...); ``where``
        names the source in the message."""

    # -- files named by the profile ----------------------------------------------------
    def file_path(self, key: str) -> Path | None:
        """Path of a file named by ``key`` (``lut``, ``heater_iv``, ``heater_calibration``),
        beside the TOML; None when the key is absent (``ValueError`` when the profile
        has no file location to look in)."""
        name = self.values.get(key)
        if not isinstance(name, str):
            return None
        if self.path is None:
            raise ValueError(
                f"{key} = {name!r} of profile {self.name!r} names a file, but the profile has no "
                "file location: load it with photonn.devices.load_profile"
            )
        return self.path.parent / name

    def referenced_files(self) -> list[Path]:
        """The files the profile names (look-up table, heater tables), in key order."""
        keys = [k for k, v in self.FIELDS.items() if v.spec.type is str]
        return [p for p in (self.file_path(k) for k in keys) if p is not None]

    def check_files(self, where) -> None:
        """Read every file the profile names (raises ``ValueError`` naming ``where``)."""

    def content_hash(self) -> str:
        """SHA-256 (hex) of the profile: its TOML file and every file it names, byte for byte;
        for a profile built from values, of its values (JSON, sorted keys)."""
        import hashlib
        import json

        h = hashlib.sha256()
        if self.path is not None and self.path.is_file():
            h.update(self.path.read_bytes())
            for p in self.referenced_files():
                h.update(b"\0" + p.name.encode() + b"\0")
                h.update(p.read_bytes() if p.is_file() else b"<missing>")
        else:
            h.update(
                json.dumps(
                    {"name": self.name, "kind": self.kind, "values": dict(self.values)},
                    sort_keys=True,
                    default=list,
                ).encode()
            )
        return h.hexdigest()


def _own_names(cls) -> set[str]:
    return {n for k in cls.__mro__ if k not in DeviceProfile.__mro__ for n in vars(k)}


def _length(description: str, optional: bool = False) -> Value:
    return Value(float, "m", description, optional=optional, gt=0.0, le=1e-2)


def _positive(unit: str, description: str, optional: bool = True) -> Value:
    return Value(float, unit, description, optional=optional, gt=0.0)


class _PixelArray:
    """Derived values of a pixel array (SLM panel, camera sensor)."""

    @property
    def active_area(self) -> tuple[float, float]:
        """``(height, width)`` [m] of the pixels: ``resolution * pixel_pitch``."""
        (ny, nx), pitch = self.resolution, self.pixel_pitch
        return (ny * pitch, nx * pitch)

    @property
    def gray_levels(self) -> int:
        """``2 ** bit_depth``: SLM gray levels or camera ADC levels."""
        return 2**self.bit_depth


class _ReLaXSwitch:
    """ReLaX (photonn.reuse): switched reuse of the layers and its latency model."""

    switch_time = _positive("s", "switching time of the fast switch that routes a pass")
    sw_loss_db = Value(
        float, "dB", "power loss of the switch per pass", optional=True, ge=0.0, le=60.0
    )
    sw_xtalk_db = Value(
        float,
        "dB",
        "power leaking from the other switch port per pass (<= 0 dB)",
        optional=True,
        ge=-100.0,
        le=0.0,
    )
    pass_time = _positive("s", "T_MM: time for the light to cross one bank layer (one pass)")
    state_time = Value(
        float,
        "s",
        "T_state: time to hold or convert the state between passes (nonlinearity)",
        optional=True,
        ge=0.0,
    )


class SLMProfile(_PixelArray, _ReLaXSwitch, DeviceProfile):
    """A spatial light modulator: a panel of phase pixels (``kind = "slm"``)."""

    KIND = "slm"
    pixel_pitch = _length("pixel pitch")
    resolution = Value(tuple, "", "pixel count (ny, nx)")
    bit_depth = Value(int, "bit", "bits per gray level", ge=1, le=16)
    fill_factor = Value(float, "", "active area fraction", gt=0.0, le=1.0)
    max_phase = Value(float, "rad", "phase stroke", gt=0.0, le=20 * math.pi)
    wavelength = _length("design wavelength of max_phase")
    frame_rate = _positive("Hz", "frame rate of the panel")
    # the file name (from SI values: may be the phases [rad] themselves)
    lut_file = Value(str, "", "CSV of gray level -> phase [rad]", optional=True, key="lut")
    # -- export (photonn.export): the operating band of the panel
    lambda_min = _length("shortest operating wavelength", optional=True)
    lambda_max = _length("longest operating wavelength", optional=True)

    @classmethod
    def check(cls, values: Mapping, where) -> None:
        lo, hi = values.get("lambda_min"), values.get("lambda_max")
        if (lo is None) != (hi is None):
            raise ValueError(
                f"{where}: give both lambda_min and lambda_max (the operating band), or neither"
            )
        if lo is None:
            return
        if not lo < hi:
            raise ValueError(
                f"{where}: lambda_min = {lo * 1e9:.6g} nm must be below lambda_max = "
                f"{hi * 1e9:.6g} nm"
            )
        lam = values.get("wavelength")
        if lam is not None and not lo <= lam <= hi:
            raise ValueError(
                f"{where}: the design wavelength {lam * 1e9:.6g} nm lies outside the band "
                f"{lo * 1e9:.6g} .. {hi * 1e9:.6g} nm; check wavelength, lambda_min/max"
            )

    def check_files(self, where) -> None:
        if isinstance(self.lut_file, str):
            if self.path is None:
                raise ValueError(
                    f"{where}: lut = {self.lut_file!r} needs the profile's file location"
                )
            try:
                read_lut(self.lut_path, self.bit_depth)
            except ValueError as exc:
                raise ValueError(f"{where}: lut = {self.lut_file!r}: {exc}") from None

    @property
    def lut_path(self) -> Path | None:
        """Path of the phase look-up table CSV (``values["lut"]`` beside the TOML), or None."""
        if self.lut_file is None or self.path is None:
            return None
        return self.path.parent / self.lut_file

    def lut(self, dtype: torch.dtype = torch.float64) -> torch.Tensor | None:
        """The phase look-up table: tensor ``(2**bit_depth,)`` of phase [rad] per gray level.

        ``None`` when the profile has no ``lut``. The table was validated at load.
        """
        table = self.lut_file
        if table is None:
            return None
        if not isinstance(table, str):  # a profile built from SI values may hold the phases
            return torch.tensor(table, dtype=dtype)
        if self.path is None:
            raise ValueError(
                f"lut = {table!r} of profile {self.name!r} names a file, but the profile has no "
                "file location: load it with photonn.devices.load_profile, or give the phases "
                "[rad] as a sequence"
            )
        return torch.tensor(read_lut(self.lut_path, self.bit_depth), dtype=dtype)

    def phase_lut(self, wavelength: float | None = None, dtype=torch.float64) -> torch.Tensor:
        """SLM phase [rad] per gray level, ``(gray_levels,)``, at ``wavelength`` [m].

        The profile's look-up table if it has one, else the linear
        ``max_phase * g / 2**bit_depth``; scaled by ``wavelength_design / wavelength``
        (liquid-crystal dispersion neglected). Default: the design wavelength.
        """
        bits = self.bit_depth
        table = self.lut(dtype=torch.float64)
        if table is None:
            table = linear_lut(bits, float(self.max_phase))
        if table.numel() != 2**bits:
            raise ValueError(
                f"the look-up table of {self.name!r} holds {table.numel()} levels but "
                f"bit_depth = {bits} needs {2**bits}"
            )
        if wavelength is not None:
            lam = float(wavelength)
            if not math.isfinite(lam) or lam <= 0:
                raise ValueError(f"wavelength must be a finite number > 0 [m], got {wavelength!r}")
            table = table * (self.wavelength / lam)
        return table.to(dtype)

    # -- export (photonn.export): operating band --------------------------------------
    @property
    def wavelength_range(self) -> tuple[float, float] | None:
        """``(lambda_min, lambda_max)`` [m], the operating band of an SLM (None: not given)."""
        if self.lambda_min is None or self.lambda_max is None:
            return None
        return (self.lambda_min, self.lambda_max)

    def phase_range(self, wavelength: float | None = None) -> float:
        """Phase stroke [rad] of an SLM at ``wavelength`` [m]: ``max_phase * wavelength_design /
        wavelength`` (liquid-crystal dispersion neglected; default: the design wavelength)."""
        self.require("max_phase", "wavelength")
        if wavelength is None:
            return self.max_phase
        return self.max_phase * self.wavelength / float(wavelength)

    def check_wavelength(self, wavelength: float) -> None:
        """Raise ``ValueError`` naming both numbers when ``wavelength`` [m] is outside the
        profile's ``lambda_min .. lambda_max`` (no check without them)."""
        band = self.wavelength_range
        if band is None:
            return
        lo, hi = band
        if not lo * (1 - 1e-12) <= wavelength <= hi * (1 + 1e-12):
            raise ValueError(
                f"the wavelength {wavelength * 1e9:.6g} nm is outside the operating band "
                f"{lo * 1e9:.6g} .. {hi * 1e9:.6g} nm of {self.kind} profile {self.name!r} "
                "(lambda_min / lambda_max); choose a device for this wavelength"
            )


class CameraProfile(_PixelArray, DeviceProfile):
    """An image sensor (``kind = "camera"``)."""

    KIND = "camera"
    pixel_pitch = _length("pixel pitch")
    resolution = Value(tuple, "", "pixel count (ny, nx)")
    quantum_efficiency = Value(float, "", "QE 0..1", gt=0.0, le=1.0)
    read_noise_e = Value(float, "e-", "rms read noise", ge=0.0)
    full_well_e = Value(float, "e-", "full-well capacity", gt=0.0)
    bit_depth = Value(int, "bit", "ADC bits", ge=1, le=32)
    dark_current_e_per_s = Value(float, "e-/s/pixel", "dark current", ge=0.0)
    wavelength = _length("wavelength at which quantum_efficiency is stated", optional=True)
    frame_rate = _positive("Hz", "frame rate of the sensor")

    @property
    def dynamic_range(self) -> float:
        """``full_well_e / read_noise_e`` (``inf`` without read noise)."""
        self.require("full_well_e", "read_noise_e")
        r = self.read_noise_e
        return math.inf if r == 0 else self.full_well_e / r

    @property
    def dynamic_range_db(self) -> float:
        """``20 log10(dynamic_range)`` [dB]."""
        dr = self.dynamic_range
        return math.inf if math.isinf(dr) else 20 * math.log10(dr)


class MZIPlatformProfile(_ReLaXSwitch, DeviceProfile):
    """An MZI mesh platform: couplers, thermo-optic heaters and their DAC
    (``kind = "mzi_platform"``)."""

    KIND = "mzi_platform"
    wavelength = _length("wavelength")
    p_pi = Value(float, "W", "heater power for pi", gt=0.0, le=10.0)
    insertion_loss_db = Value(float, "dB", "loss per MZI", ge=0.0, le=60.0)
    coupler_imbalance_sigma = Value(
        float, "rad", "std of the coupler splitting-angle error around pi/4", ge=0.0, lt=math.pi / 4
    )
    thermal_crosstalk = Value(
        float, "", "fraction of a heater's phase seen by a nearest neighbour", ge=0.0, lt=1.0
    )
    heater_resistance = _positive("ohm", "heater resistance", optional=False)
    dac_bits = Value(int, "bit", "DAC bits", ge=1, le=32)
    v_max = _positive("V", "DAC full-scale voltage", optional=False)
    response_time = _positive("s", "settling time of a heater")
    # -- export (photonn.export): the controller and its limits
    dac_channels = Value(
        int,
        "channels",
        "DAC channels of the controller (one per phase shifter)",
        optional=True,
        ge=1,
    )
    channel_power_max = _positive("W", "largest electrical power of one heater")
    total_power_max = _positive("W", "largest electrical power of all heaters of a chip together")
    heater_iv_file = Value(
        str,
        "",
        "CSV current_A,voltage_V of a heater; fitted to V = r1 I + r3 I^3",
        optional=True,
        key="heater_iv",
    )
    heater_calibration_file = Value(
        str,
        "",
        "CSV channel,power_W,phase_rad: measured phase against power per channel",
        optional=True,
        key="heater_calibration",
    )

    @classmethod
    def check(cls, values: Mapping, where) -> None:
        pc, pt = values.get("channel_power_max"), values.get("total_power_max")
        if pc is not None and pt is not None and pt < pc:
            raise ValueError(
                f"{where}: total_power_max = {pt:.6g} W is below channel_power_max = {pc:.6g} W; "
                "the total limit covers all heaters together"
            )
        if all(k in values for k in ("v_max", "heater_resistance", "p_pi")):
            p_max = values["v_max"] ** 2 / values["heater_resistance"]
            if p_max < 2 * values["p_pi"]:
                raise ValueError(
                    f"{where}: v_max^2 / heater_resistance = {p_max * 1e3:.3g} mW is below "
                    f"2 p_pi = {2e3 * values['p_pi']:.3g} mW, so a heater cannot reach a 2 pi "
                    "phase shift; raise v_max or check heater_resistance and p_pi"
                )

    def check_files(self, where) -> None:
        for key, read in (
            ("heater_iv", self.heater_iv_law),
            ("heater_calibration", self.heater_calibration),
        ):
            if key in self.values:
                try:
                    read()
                except ValueError as exc:
                    raise ValueError(f"{where}: {key} = {self.values[key]!r}: {exc}") from None

    @property
    def v_pi(self) -> float:
        """Heater voltage [V] for a pi phase shift: ``sqrt(p_pi R)``."""
        return math.sqrt(self.p_pi * self.heater_resistance)

    @property
    def p_max(self) -> float:
        """Heater power [W] at the DAC's full-scale voltage: ``v_max^2 / R``."""
        return self.v_max**2 / self.heater_resistance

    @property
    def phase_range_at_vmax(self) -> float:
        """Phase [rad] a heater reaches at ``v_max``: ``pi v_max^2 / (R p_pi)``.

        The full-scale phase of the heater DAC law (see
        :func:`photonn.functional.dac_quantize_phase`).
        """
        return math.pi * self.p_max / self.p_pi

    @property
    def dac_levels(self) -> int:
        """``2 ** dac_bits`` DAC codes."""
        return 2**self.dac_bits

    @property
    def dac_step(self) -> float:
        """Voltage [V] of one DAC code: ``v_max / (2**dac_bits - 1)``."""
        return self.v_max / (self.dac_levels - 1)

    # -- export (photonn.export): calibration files --------------------------------------
    def heater_iv_law(self) -> tuple[float, float] | None:
        """``(r1, r3)`` [V/A, V/A^3] of ``V = r1 I + r3 I^3`` fitted to the ``heater_iv``
        table, or None without one (then ``V = R I``)."""
        path = self.file_path("heater_iv")
        if path is None:
            return None
        from ..functional.heater import fit_iv_law

        current, voltage = read_iv_table(path)
        return fit_iv_law(current, voltage)

    def heater_calibration(self) -> dict[int, tuple[list[float], list[float]]] | None:
        """Measured phase against power per channel from ``heater_calibration``:
        ``{channel: (power [W], phase [rad])}``, or None."""
        path = self.file_path("heater_calibration")
        return None if path is None else read_heater_calibration(path)


#: kind -> {value name: :class:`Value`}, the declared values of each kind in file order
KINDS: dict[str, Mapping[str, Value]] = {k: c.FIELDS for k, c in _KIND_CLASSES.items()}


def kind_class(kind: str) -> type[DeviceProfile]:
    """The profile class of ``kind`` (``ValueError`` naming the kinds when unknown)."""
    if kind not in _KIND_CLASSES:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(sorted(_KIND_CLASSES))}")
    return _KIND_CLASSES[kind]
