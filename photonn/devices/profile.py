"""Device profiles: TOML files of real device families, validated and converted to SI.

A profile file names its unit in every numeric key (``pixel_pitch_um = 8.0``,
``p_pi_mw = 25.0``); this module is the only place where file units become SI.
:func:`load_profile` returns a frozen :class:`DeviceProfile` whose ``values`` map
the key without its suffix to the SI value (``values["pixel_pitch"] = 8e-6`` [m],
``values["p_pi"] = 0.025`` [W]); keys in non-SI or counting units keep their full
name (``insertion_loss_db``, ``read_noise_e``, ``dark_current_e_per_s``).

Every problem (unknown key, missing key, missing/unknown/wrong unit suffix, wrong
type, out-of-range value, malformed TOML, bad look-up table) raises a
``ValueError`` naming the key, the file and the fix.

Values derived from a profile (``v_pi``, ``phase_range_at_vmax``, ``dac_step``,
``active_area``, ``gray_levels``, ``dynamic_range``, the SLM's ``phase_lut`` ...) are
properties and methods of :class:`DeviceProfile`, computed here once; the modules'
``from_profile`` and ``photonn devices show`` use them.

:func:`resolve_profile` is the one resolver behind every ``from_profile``: it takes
a ``DeviceProfile``, a shipped name, a ``.toml`` path or a mapping of SI values and
checks the kind.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import torch

from ..functional.slm import linear_lut

# -- units --------------------------------------------------------------------

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


def _suffixes(quantity: str) -> list[str]:
    return [f"_{s}" for s, (q, _) in UNIT_SUFFIXES.items() if q == quantity]


@dataclass(frozen=True)
class _Spec:
    """One value of a profile kind.

    ``quantity`` is a key of :data:`SI_UNIT` (the file key needs a unit suffix) or
    ``None`` (the file key is the name itself, e.g. ``bit_depth``, ``insertion_loss_db``).
    ``type`` is ``"float"``, ``"int"`` or ``"pair"`` (two positive ints, (ny, nx)).
    """

    quantity: str | None
    type: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    required: bool = True
    unit: str = ""  # display unit of non-convertible keys
    help: str = ""

    def range_text(self) -> str:
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        left = "(" if self.lo_open or self.lo is None else "["
        right = ")" if self.hi_open or self.hi is None else "]"
        return f"{left}{lo}, {hi}{right}"

    def in_range(self, v: float) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        return not (self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)))


_PITCH = _Spec("length", "float", 0.0, 1e-2, lo_open=True, help="pixel pitch")
_RES = _Spec(None, "pair", help="pixel count (ny, nx)")
_WAVELENGTH = _Spec("length", "float", 0.0, 1e-2, lo_open=True, help="wavelength")

KINDS: dict[str, dict[str, _Spec]] = {
    "slm": {
        "pixel_pitch": _PITCH,
        "resolution": _RES,
        "bit_depth": _Spec(None, "int", 1, 16, unit="bit", help="bits per gray level"),
        "fill_factor": _Spec(None, "float", 0.0, 1.0, lo_open=True, help="active area fraction"),
        "max_phase": _Spec("angle", "float", 0.0, 20 * math.pi, lo_open=True, help="phase stroke"),
        "wavelength": _Spec(
            "length", "float", 0.0, 1e-2, lo_open=True, help="design wavelength of max_phase"
        ),
        "frame_rate": _Spec("frequency", "float", 0.0, None, lo_open=True, required=False),
        "lut": _Spec(None, "str", required=False, help="CSV of gray level -> phase [rad]"),
        # -- export (photonn.export): the operating band of the panel ---------------------
        "lambda_min": _Spec(
            "length",
            "float",
            0.0,
            1e-2,
            lo_open=True,
            required=False,
            help="shortest operating wavelength",
        ),
        "lambda_max": _Spec(
            "length",
            "float",
            0.0,
            1e-2,
            lo_open=True,
            required=False,
            help="longest operating wavelength",
        ),
    },
    "camera": {
        "pixel_pitch": _PITCH,
        "resolution": _RES,
        "quantum_efficiency": _Spec(None, "float", 0.0, 1.0, lo_open=True, help="QE 0..1"),
        "read_noise_e": _Spec(None, "float", 0.0, None, unit="e-", help="rms read noise"),
        "full_well_e": _Spec(None, "float", 0.0, None, lo_open=True, unit="e-"),
        "bit_depth": _Spec(None, "int", 1, 32, unit="bit", help="ADC bits"),
        "dark_current_e_per_s": _Spec(None, "float", 0.0, None, unit="e-/s/pixel"),
        "wavelength": _Spec(
            "length",
            "float",
            0.0,
            1e-2,
            lo_open=True,
            required=False,
            help="wavelength at which quantum_efficiency is stated",
        ),
        "frame_rate": _Spec("frequency", "float", 0.0, None, lo_open=True, required=False),
    },
    "mzi_platform": {
        "wavelength": _WAVELENGTH,
        "p_pi": _Spec("power", "float", 0.0, 10.0, lo_open=True, help="heater power for pi"),
        "insertion_loss_db": _Spec(None, "float", 0.0, 60.0, unit="dB", help="loss per MZI"),
        "coupler_imbalance_sigma": _Spec(
            "angle",
            "float",
            0.0,
            math.pi / 4,
            hi_open=True,
            help="std of the coupler splitting-angle error around pi/4",
        ),
        "thermal_crosstalk": _Spec(
            None,
            "float",
            0.0,
            1.0,
            hi_open=True,
            help="fraction of a heater's phase seen by a nearest neighbour",
        ),
        "heater_resistance": _Spec("resistance", "float", 0.0, None, lo_open=True),
        "dac_bits": _Spec(None, "int", 1, 32, unit="bit"),
        "v_max": _Spec("voltage", "float", 0.0, None, lo_open=True, help="DAC full-scale voltage"),
        "response_time": _Spec("time", "float", 0.0, None, lo_open=True, required=False),
        # -- export (photonn.export): the controller and its limits ------------------------
        "dac_channels": _Spec(
            None,
            "int",
            1,
            None,
            required=False,
            unit="channels",
            help="DAC channels of the controller (one per phase shifter)",
        ),
        "channel_power_max": _Spec(
            "power",
            "float",
            0.0,
            None,
            lo_open=True,
            required=False,
            help="largest electrical power of one heater",
        ),
        "total_power_max": _Spec(
            "power",
            "float",
            0.0,
            None,
            lo_open=True,
            required=False,
            help="largest electrical power of all heaters of a chip together",
        ),
        "heater_iv": _Spec(
            None,
            "str",
            required=False,
            help="CSV current_A,voltage_V of a heater; fitted to V = r1 I + r3 I^3",
        ),
        "heater_calibration": _Spec(
            None,
            "str",
            required=False,
            help="CSV channel,power_W,phase_rad: measured phase against power per channel",
        ),
    },
}
_RELAX_KEYS: dict[str, _Spec] = {
    # -- ReLaX (photonn.reuse): switched reuse of the layers and its latency model --------
    "switch_time": _Spec(
        "time",
        "float",
        0.0,
        None,
        lo_open=True,
        required=False,
        help="switching time of the fast switch that routes a pass to a bank layer",
    ),
    "sw_loss_db": _Spec(
        None,
        "float",
        0.0,
        60.0,
        required=False,
        unit="dB",
        help="power loss of the switch per pass",
    ),
    "sw_xtalk_db": _Spec(
        None,
        "float",
        -100.0,
        0.0,
        required=False,
        unit="dB",
        help="power leaking from the other switch port per pass (<= 0 dB)",
    ),
    "pass_time": _Spec(
        "time",
        "float",
        0.0,
        None,
        lo_open=True,
        required=False,
        help="T_MM: time for the light to cross one bank layer (one pass)",
    ),
    "state_time": _Spec(
        "time",
        "float",
        0.0,
        None,
        required=False,
        help="T_state: time to hold or convert the state between passes (nonlinearity)",
    ),
}
for _kind in ("slm", "mzi_platform"):
    KINDS[_kind].update(_RELAX_KEYS)
HEADER_KEYS = ("name", "kind", "description", "provenance")


# -- the profile ----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceProfile:
    """A validated device profile with its values in SI units.

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

    ``profile["pixel_pitch"]`` is ``profile.values["pixel_pitch"]``.
    """

    name: str
    kind: str
    description: str
    provenance: object
    values: Mapping
    path: Path | None = field(default=None, compare=False)
    file_keys: Mapping = field(default_factory=lambda: MappingProxyType({}), compare=False)

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
        spec = KINDS[self.kind][key]
        return SI_UNIT[spec.quantity] if spec.quantity else spec.unit

    @property
    def lut_path(self) -> Path | None:
        """Path of the phase look-up table CSV (``values["lut"]`` beside the TOML), or None."""
        name = self.values.get("lut")
        if name is None or self.path is None:
            return None
        return self.path.parent / name

    def lut(self, dtype: torch.dtype = torch.float64) -> torch.Tensor | None:
        """The phase look-up table: tensor ``(2**bit_depth,)`` of phase [rad] per gray level.

        ``None`` when the profile has no ``lut``. The table was validated at load.
        """
        table = self.values.get("lut")
        if table is None:
            return None
        if not isinstance(table, str):  # a profile built from SI values may hold the phases
            return torch.tensor(table, dtype=dtype)
        path = self.lut_path
        if path is None:
            raise ValueError(
                f"lut = {table!r} of profile {self.name!r} names a file, but the profile has no "
                "file location: load it with photonn.devices.load_profile, or give the phases "
                "[rad] as a sequence"
            )
        return torch.tensor(read_lut(path, self.values["bit_depth"]), dtype=dtype)

    # -- derived values (computed here, once, for every user) ------------------------
    def _of(self, *kinds: str):
        if self.kind not in kinds:
            raise ValueError(
                f"profile {self.name!r} is a {self.kind!r} profile; this value belongs to "
                f"{' and '.join(repr(k) for k in kinds)} profiles"
            )
        return self

    def require(self, *keys: str) -> DeviceProfile:
        """Raise ``ValueError`` naming the keys this profile lacks (else return it)."""
        missing = [k for k in keys if k not in self.values]
        if missing:
            raise ValueError(
                f"the {self.kind} profile {self.name!r} lacks {missing}; it has "
                f"{sorted(self.values)}"
            )
        return self

    @property
    def active_area(self) -> tuple[float, float]:
        """``(height, width)`` [m] of the pixels: ``resolution * pixel_pitch`` (slm, camera)."""
        self._of("slm", "camera").require("resolution", "pixel_pitch")
        (ny, nx), pitch = self.values["resolution"], self.values["pixel_pitch"]
        return (ny * pitch, nx * pitch)

    @property
    def gray_levels(self) -> int:
        """``2 ** bit_depth``: SLM gray levels or camera ADC levels."""
        self._of("slm", "camera").require("bit_depth")
        return 2 ** self.values["bit_depth"]

    @property
    def dynamic_range(self) -> float:
        """``full_well_e / read_noise_e`` (camera; ``inf`` without read noise)."""
        self._of("camera").require("full_well_e", "read_noise_e")
        r = self.values["read_noise_e"]
        return math.inf if r == 0 else self.values["full_well_e"] / r

    @property
    def dynamic_range_db(self) -> float:
        """``20 log10(dynamic_range)`` [dB] (camera)."""
        dr = self.dynamic_range
        return math.inf if math.isinf(dr) else 20 * math.log10(dr)

    def phase_lut(self, wavelength: float | None = None, dtype=torch.float64) -> torch.Tensor:
        """SLM phase [rad] per gray level, ``(gray_levels,)``, at ``wavelength`` [m].

        The profile's look-up table if it has one, else the linear
        ``max_phase * g / 2**bit_depth``; scaled by ``wavelength_design / wavelength``
        (liquid-crystal dispersion neglected). Default: the design wavelength.
        """
        self._of("slm").require("bit_depth")
        bits = self.values["bit_depth"]
        table = self.lut(dtype=torch.float64)
        if table is None:
            self.require("max_phase")
            table = linear_lut(bits, float(self.values["max_phase"]))
        if table.numel() != 2**bits:
            raise ValueError(
                f"the look-up table of {self.name!r} holds {table.numel()} levels but "
                f"bit_depth = {bits} needs {2**bits}"
            )
        if wavelength is not None:
            self.require("wavelength")
            lam = float(wavelength)
            if not math.isfinite(lam) or lam <= 0:
                raise ValueError(f"wavelength must be a finite number > 0 [m], got {wavelength!r}")
            table = table * (self.values["wavelength"] / lam)
        return table.to(dtype)

    @property
    def p_pi(self) -> float:
        """Heater power [W] for a pi phase shift (mzi_platform)."""
        return self._of("mzi_platform").require("p_pi").values["p_pi"]

    @property
    def heater_resistance(self) -> float:
        """Heater resistance [ohm] (mzi_platform)."""
        return self._of("mzi_platform").require("heater_resistance").values["heater_resistance"]

    @property
    def v_pi(self) -> float:
        """Heater voltage [V] for a pi phase shift: ``sqrt(p_pi R)`` (mzi_platform)."""
        return math.sqrt(self.p_pi * self.heater_resistance)

    @property
    def p_max(self) -> float:
        """Heater power [W] at the DAC's full-scale voltage: ``v_max^2 / R`` (mzi_platform)."""
        self._of("mzi_platform").require("v_max")
        return self.values["v_max"] ** 2 / self.heater_resistance

    @property
    def phase_range_at_vmax(self) -> float:
        """Phase [rad] a heater reaches at ``v_max``: ``pi v_max^2 / (R p_pi)`` (mzi_platform).

        The full-scale phase of the heater DAC law (see
        :func:`photonn.functional.dac_quantize_phase`).
        """
        return math.pi * self.p_max / self.p_pi

    @property
    def dac_levels(self) -> int:
        """``2 ** dac_bits`` DAC codes (mzi_platform)."""
        return 2 ** self._of("mzi_platform").require("dac_bits").values["dac_bits"]

    @property
    def dac_step(self) -> float:
        """Voltage [V] of one DAC code: ``v_max / (2**dac_bits - 1)`` (mzi_platform)."""
        self._of("mzi_platform").require("v_max")
        return self.values["v_max"] / (self.dac_levels - 1)

    # -- export (photonn.export): operating band, controller, calibration files ----------
    @property
    def wavelength_range(self) -> tuple[float, float] | None:
        """``(lambda_min, lambda_max)`` [m], the operating band of an SLM (None: not given)."""
        self._of("slm")
        if "lambda_min" not in self.values or "lambda_max" not in self.values:
            return None
        return (self.values["lambda_min"], self.values["lambda_max"])

    def phase_range(self, wavelength: float | None = None) -> float:
        """Phase stroke [rad] of an SLM at ``wavelength`` [m]: ``max_phase * wavelength_design /
        wavelength`` (liquid-crystal dispersion neglected; default: the design wavelength)."""
        self._of("slm").require("max_phase", "wavelength")
        if wavelength is None:
            return self.values["max_phase"]
        return self.values["max_phase"] * self.values["wavelength"] / float(wavelength)

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
        keys = ("lut", "heater_iv", "heater_calibration")
        return [p for p in (self.file_path(k) for k in keys) if p is not None]

    def heater_iv_law(self) -> tuple[float, float] | None:
        """``(r1, r3)`` [V/A, V/A^3] of ``V = r1 I + r3 I^3`` fitted to the ``heater_iv``
        table (mzi_platform), or None without one (then ``V = R I``)."""
        self._of("mzi_platform")
        path = self.file_path("heater_iv")
        if path is None:
            return None
        from ..functional.heater import fit_iv_law

        current, voltage = read_iv_table(path)
        return fit_iv_law(current, voltage)

    def heater_calibration(self) -> dict[int, tuple[list[float], list[float]]] | None:
        """Measured phase against power per channel from ``heater_calibration``:
        ``{channel: (power [W], phase [rad])}`` (mzi_platform), or None."""
        self._of("mzi_platform")
        path = self.file_path("heater_calibration")
        return None if path is None else read_heater_calibration(path)

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


# -- loading --------------------------------------------------------------------


def _parse_toml(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}; fix the syntax") from None


def profiles_dir() -> Path:
    """The directory of the shipped profiles (package ``photonn.device_profiles``).

    Falls back to the ``devices/`` folder of a source checkout when the package
    is not installed.
    """
    from importlib import resources

    try:
        base = resources.files("photonn.device_profiles")
        path = Path(str(base))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "devices"


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted (pass one to :func:`load_profile`)."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def _resolve(name_or_path) -> Path:
    if isinstance(name_or_path, Path):
        path = name_or_path
    elif isinstance(name_or_path, str):
        if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
            path = Path(name_or_path).expanduser()
        else:
            path = profiles_dir() / f"{name_or_path}.toml"
            if not path.is_file():
                names = list_profiles()
                close = difflib.get_close_matches(name_or_path, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"no shipped device profile named {name_or_path!r}{hint}; shipped: "
                    f"{', '.join(names)}; or pass the path of a .toml file"
                )
            return path
    else:
        raise TypeError(
            f"load_profile takes a profile name or a path, got {type(name_or_path).__name__}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"device profile file not found: {path}")
    return path


def load_profile(name_or_path) -> DeviceProfile:
    """Load and validate a device profile.

    Args:
        name_or_path: a shipped profile name (see :func:`list_profiles`, e.g.
            ``"holoeye_pluto2"``) or the path of a TOML file.

    Returns:
        A frozen :class:`DeviceProfile` with SI values.

    Raises:
        ValueError: unknown or missing key, missing/unknown/mismatched unit suffix,
            wrong type, value out of range, invalid TOML, or a bad look-up table;
            the message names the key, the file and the fix.
        FileNotFoundError: the path does not exist.

    Example:
        >>> from photonn.devices import load_profile
        >>> slm = load_profile("holoeye_pluto2")
        >>> slm["pixel_pitch"], slm["bit_depth"], slm["resolution"]
        (8e-06, 8, (1080, 1920))
    """
    path = _resolve(name_or_path)
    data = _parse_toml(path.read_text(encoding="utf-8"), path)
    return profile_from_dict(data, path)


def resolve_profile(profile, /, kind: str | None = None) -> DeviceProfile:
    """The device profile behind ``profile``, checked to be of ``kind``.

    The one resolver of every ``from_profile`` in photonn. Those share one shape,
    ``Cls.from_profile(profile, /, **keywords)``: the profile is the only positional
    argument and everything else (geometry, ``generator``, ``dtype``, ``device`` ...)
    is keyword-only.

    Args:
        profile: a :class:`DeviceProfile`, a shipped profile name
            (``"holoeye_pluto2"``, see :func:`list_profiles`), the path of a ``.toml``
            file, or a mapping of SI values (``{"pixel_pitch": 8e-6, ...}``; needs
            ``kind``; each value is checked, missing ones are allowed and reported by
            the user that needs them).
        kind: the expected kind (``"slm"``, ``"camera"``, ``"mzi_platform"``), or None
            for any.

    Raises:
        TypeError: ``profile`` is none of the above.
        ValueError: a profile of another kind (the message names the expected kind
            and the shipped profiles of it), or a bad value.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(sorted(KINDS))}")
    if isinstance(profile, DeviceProfile):
        prof = profile
    elif isinstance(profile, (str, os.PathLike)):
        prof = load_profile(profile)
    elif isinstance(profile, Mapping):
        if kind is None:
            raise TypeError("a mapping of SI values needs kind=... to be checked")
        prof = profile_from_values(profile, kind)
    else:
        raise TypeError(
            "profile must be a photonn.devices.DeviceProfile, a shipped profile name, the path "
            f"of a .toml file or a mapping of SI values, got {type(profile).__name__}"
        )
    if kind is not None and prof.kind != kind:
        same = [n for n in list_profiles() if _kind_of(n) == kind]
        raise ValueError(
            f"profile {prof.name!r} is a {prof.kind!r}, not a {kind!r} profile; expected kind "
            f"{kind!r} (shipped: {', '.join(same) or 'none'})"
        )
    return prof


def _kind_of(name: str) -> str | None:
    try:
        return load_profile(name).kind
    except (ValueError, FileNotFoundError):
        return None


def profile_from_values(values: Mapping, kind: str, *, name: str = "<values>") -> DeviceProfile:
    """A :class:`DeviceProfile` from a mapping of SI values (no file, no unit suffixes).

    Keys are the SI names of ``kind`` (``pixel_pitch`` [m], ``p_pi`` [W], ...); each
    value is checked for type and range like a file's; keys may be missing (users
    of the profile report what they need). ``lut`` may also hold the phases [rad]
    themselves (a sequence of ``2**bit_depth`` numbers).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(sorted(KINDS))}")
    specs = KINDS[kind]
    out: dict = {}
    for key, raw in values.items():
        if key not in specs:
            close = difflib.get_close_matches(str(key), list(specs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{name}: unknown value {key!r} for kind {kind!r}{hint}; SI names: "
                f"{', '.join(specs)}"
            )
        spec = specs[key]
        if key == "lut" and not isinstance(raw, str):
            phases = torch.as_tensor(raw, dtype=torch.float64).reshape(-1)
            if phases.numel() < 2 or not bool(torch.isfinite(phases).all()):
                raise ValueError(f"{name}: lut must hold at least two finite phases [rad]")
            out[key] = tuple(phases.tolist())
            continue
        if spec.type == "pair" and isinstance(raw, tuple):
            raw = list(raw)
        out[key] = _convert(key, key, raw, spec, None, name)
    lut = out.get("lut")
    if lut is not None and not isinstance(lut, str) and "bit_depth" in out:
        if len(lut) != 2 ** out["bit_depth"]:
            raise ValueError(
                f"{name}: lut holds {len(lut)} phases but bit_depth = {out['bit_depth']} "
                f"needs {2 ** out['bit_depth']}"
            )
    if all(k in out for k in ("v_max", "heater_resistance", "p_pi")):
        _check_consistency(kind, out, name)
    else:
        _check_export_keys(kind, out, name)
    return DeviceProfile(
        name=name,
        kind=kind,
        description="built from SI values",
        provenance="given in code",
        values=MappingProxyType(out),
        path=None,
        file_keys=MappingProxyType({k: k for k in out}),
    )


def _header(data: dict, path) -> tuple[str, str, str, object]:
    for key in HEADER_KEYS:
        if key not in data:
            raise ValueError(
                f"{path}: missing key {key!r}; every profile needs {', '.join(HEADER_KEYS)} "
                f'(e.g. {key} = "...")'
            )
    out = []
    for key in ("name", "kind", "description"):
        v = data[key]
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"{path}: {key} must be a non-empty string, got {v!r}")
        out.append(v)
    if out[1] not in KINDS:
        raise ValueError(f"{path}: unknown kind {out[1]!r}; use one of {', '.join(sorted(KINDS))}")
    prov = data["provenance"]
    if isinstance(prov, str):
        if not prov.strip():
            raise ValueError(f"{path}: provenance must not be empty; name the datasheet or DOI")
    elif isinstance(prov, dict):
        if not isinstance(prov.get("source"), str) or not prov["source"].strip():
            raise ValueError(
                f"{path}: the [provenance] table needs a 'source' string (datasheet title, "
                'paper); add url = "..." or doi = "..." beside it'
            )
        for k, v in prov.items():
            ok = isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
            if not ok:
                raise ValueError(
                    f"{path}: provenance.{k} must be a string or a list of strings, got {v!r}"
                )
        prov = MappingProxyType(
            {k: tuple(v) if isinstance(v, list) else v for k, v in prov.items()}
        )
    else:
        raise ValueError(
            f"{path}: provenance must be a string or a table, got {type(prov).__name__}"
        )
    return out[0], out[1], out[2], prov


def _match_key(key: str, specs: dict[str, _Spec], kind: str, path) -> tuple[str, float | None]:
    """Map a file key to (SI name, factor) or raise the matching error."""
    allowed = ", ".join(_file_key_hint(n, s) for n, s in specs.items())
    if key in specs:
        spec = specs[key]
        if spec.quantity is None:
            return key, None
        units = _suffixes(spec.quantity)
        raise ValueError(
            f"{path}: key {key!r} has no unit suffix; {key} is a {spec.quantity}: write it as "
            f"{key}{units[0]} or with one of {', '.join(units)}"
        )
    # longest base name first: 'max_phase' before a hypothetical 'max'
    for name in sorted(specs, key=len, reverse=True):
        if not key.startswith(name + "_"):
            continue
        suffix = key[len(name) + 1 :]
        spec = specs[name]
        if spec.quantity is None:
            # e.g. 'bit_depth_um' or 'read_noise_e_rms'
            if suffix in UNIT_SUFFIXES:
                raise ValueError(
                    f"{path}: key {key!r}: {name} takes no unit suffix; write it as {name}"
                )
            continue
        if suffix not in UNIT_SUFFIXES:
            raise ValueError(
                f"{path}: key {key!r}: unknown unit suffix '_{suffix}'; {name} is a "
                f"{spec.quantity}, use one of {', '.join(_suffixes(spec.quantity))}"
            )
        quantity, factor = UNIT_SUFFIXES[suffix]
        if quantity != spec.quantity:
            raise ValueError(
                f"{path}: key {key!r}: '_{suffix}' is a unit of {quantity}, but {name} is a "
                f"{spec.quantity}; use one of {', '.join(_suffixes(spec.quantity))}"
            )
        return name, factor
    close = difflib.get_close_matches(key, [_file_key_hint(n, s) for n, s in specs.items()], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"{path}: unknown key {key!r} for kind {kind!r}{hint}; allowed keys: "
        f"{', '.join(HEADER_KEYS)}, {allowed}"
    )


def _file_key_hint(name: str, spec: _Spec) -> str:
    return name if spec.quantity is None else f"{name}_<unit>"


def _to_si(value: float, factor: float | None) -> float:
    """``value * factor``, dividing by the exact power of ten for small factors
    (``12.5 / 1e6`` is the float nearest 12.5e-6, ``12.5 * 1e-6`` is not)."""
    if factor is None or factor == 1.0:
        return value
    inverse = round(1.0 / factor)
    if factor < 1.0 and abs(inverse * factor - 1.0) < 1e-12:
        return value / inverse
    return value * factor


def _convert(name: str, key: str, raw, spec: _Spec, factor, path):
    where = f"{path}: {key} = {raw!r}"
    if spec.type == "str":
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"{where}: must be a non-empty string (a file name)")
        return raw
    if spec.type == "pair":
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in raw)
        ):
            raise ValueError(
                f"{where}: must be two positive integers [ny, nx] (rows, columns), "
                "e.g. resolution = [1080, 1920]"
            )
        return (raw[0], raw[1])
    if spec.type == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(
                f"{where}: must be an integer, got {type(raw).__name__}; write e.g. {key} = 8"
            )
        value = raw
    else:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(
                f"{where}: must be a number, got {type(raw).__name__}; write e.g. {key} = 1.5"
            )
        if not math.isfinite(raw):
            raise ValueError(f"{where}: must be finite")
        value = _to_si(float(raw), factor)
    if not spec.in_range(value):
        unit = SI_UNIT[spec.quantity] if spec.quantity else spec.unit
        shown = f"{value:g} {unit}".strip()
        raise ValueError(
            f"{where}: out of range; {name} = {shown} must lie in {spec.range_text()}"
            f"{' ' + unit if unit else ''}{' (' + spec.help + ')' if spec.help else ''}; "
            "check the value and its unit suffix"
        )
    return value


def profile_from_dict(data: dict, path="<dict>") -> DeviceProfile:
    """Validate a parsed profile (the TOML as a dict) and convert it to SI.

    ``path`` names the source in error messages and locates a ``lut`` file.
    """
    if not isinstance(data, dict):
        raise TypeError(f"a profile must be a table (dict), got {type(data).__name__}")
    name, kind, description, provenance = _header(data, path)
    specs = KINDS[kind]
    values: dict = {}
    file_keys: dict = {}
    for key, raw in data.items():
        if key in HEADER_KEYS:
            continue
        if isinstance(raw, dict):
            raise ValueError(f"{path}: unexpected table [{key}]; only [provenance] may be a table")
        si_name, factor = _match_key(key, specs, kind, path)
        if si_name in values:
            raise ValueError(
                f"{path}: {si_name} is given twice ({file_keys[si_name]!r} and {key!r}); keep one"
            )
        values[si_name] = _convert(si_name, key, raw, specs[si_name], factor, path)
        file_keys[si_name] = key
    missing = [n for n, s in specs.items() if s.required and n not in values]
    if missing:
        examples = ", ".join(
            n if specs[n].quantity is None else n + _suffixes(specs[n].quantity)[0] for n in missing
        )
        raise ValueError(
            f"{path}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)} for kind "
            f"{kind!r}; add {examples} (with the unit suffix that fits)"
        )
    _check_consistency(kind, values, path)
    p = Path(path) if isinstance(path, (str, Path)) and str(path) != "<dict>" else None
    profile = DeviceProfile(
        name=name,
        kind=kind,
        description=description,
        provenance=provenance,
        values=MappingProxyType(values),
        path=p,
        file_keys=MappingProxyType(file_keys),
    )
    if "lut" in values:
        if profile.lut_path is None:
            raise ValueError(f"{path}: lut = {values['lut']!r} needs the profile's file location")
        try:
            read_lut(profile.lut_path, values["bit_depth"])
        except ValueError as exc:
            raise ValueError(f"{path}: lut = {values['lut']!r}: {exc}") from None
    for key, reader in (
        ("heater_iv", read_iv_table),
        ("heater_calibration", read_heater_calibration),
    ):
        if key in values:
            try:
                reader(profile.file_path(key))
                if key == "heater_iv":
                    profile.heater_iv_law()
            except ValueError as exc:
                raise ValueError(f"{path}: {key} = {values[key]!r}: {exc}") from None
    return profile


def _check_export_keys(kind: str, values: dict, path) -> None:
    """The export keys (operating band, controller limits) agree with each other."""
    lo, hi = values.get("lambda_min"), values.get("lambda_max")
    if (lo is None) != (hi is None):
        raise ValueError(
            f"{path}: give both lambda_min and lambda_max (the operating band), or neither"
        )
    if lo is not None:
        if not lo < hi:
            raise ValueError(
                f"{path}: lambda_min = {lo * 1e9:.6g} nm must be below lambda_max = "
                f"{hi * 1e9:.6g} nm"
            )
        lam = values.get("wavelength")
        if lam is not None and not lo <= lam <= hi:
            raise ValueError(
                f"{path}: the design wavelength {lam * 1e9:.6g} nm lies outside the band "
                f"{lo * 1e9:.6g} .. {hi * 1e9:.6g} nm; check wavelength, lambda_min/max"
            )
    pc, pt = values.get("channel_power_max"), values.get("total_power_max")
    if pc is not None and pt is not None and pt < pc:
        raise ValueError(
            f"{path}: total_power_max = {pt:.6g} W is below channel_power_max = {pc:.6g} W; "
            "the total limit covers all heaters together"
        )


def _check_consistency(kind: str, values: dict, path) -> None:
    _check_export_keys(kind, values, path)
    if kind == "mzi_platform":
        p_max = values["v_max"] ** 2 / values["heater_resistance"]
        if p_max < 2 * values["p_pi"]:
            raise ValueError(
                f"{path}: v_max^2 / heater_resistance = {p_max * 1e3:.3g} mW is below "
                f"2 p_pi = {2e3 * values['p_pi']:.3g} mW, so a heater cannot reach a 2 pi "
                "phase shift; raise v_max or check heater_resistance and p_pi"
            )


def read_lut(path, bit_depth: int) -> list[float]:
    """Read a phase look-up table CSV: header ``gray,phase_rad``, one row per gray level.

    Rows must list gray levels ``0 .. 2**bit_depth - 1`` in order, with finite phases
    [rad]. Lines starting with ``#`` are comments. Returns the phases.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"look-up table {path} not found; put it beside the profile TOML")
    n = 2**bit_depth
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    if not rows or [c.strip() for c in rows[0]] != ["gray", "phase_rad"]:
        raise ValueError(f"{path}: the first row must be the header 'gray,phase_rad'")
    rows = rows[1:]
    if len(rows) != n:
        raise ValueError(
            f"{path}: {len(rows)} rows, but bit_depth = {bit_depth} needs {n} (gray 0..{n - 1})"
        )
    phases = []
    for i, row in enumerate(rows):
        try:
            gray, phase = int(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise ValueError(f"{path}: row {i + 2} {row!r} is not 'int,float'") from None
        if gray != i or not math.isfinite(phase):
            raise ValueError(
                f"{path}: row {i + 2} must be gray level {i} with a finite phase, got {row!r}"
            )
        phases.append(phase)
    return phases


def _table_rows(path, header: list[str]) -> list[list[str]]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"table {path} not found; put it beside the profile TOML")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    if not rows or [c.strip() for c in rows[0]] != header:
        raise ValueError(f"{path}: the first row must be the header '{','.join(header)}'")
    return rows[1:]


def _floats(path, i: int, row, n: int) -> list[float]:
    try:
        vals = [float(c) for c in row[:n]]
    except ValueError:
        raise ValueError(f"{path}: row {i + 2} {row!r} is not {n} numbers") from None
    if len(row) < n or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{path}: row {i + 2} {row!r} must hold {n} finite numbers")
    return vals


def read_iv_table(path) -> tuple[list[float], list[float]]:
    """A heater's measured V(I): CSV header ``current_A,voltage_V``, currents increasing, >= 2 rows.

    Returns ``(current [A], voltage [V])``.
    """
    rows = _table_rows(path, ["current_A", "voltage_V"])
    pts = [_floats(path, i, r, 2) for i, r in enumerate(rows)]
    if len(pts) < 2:
        raise ValueError(f"{path}: a V(I) table needs at least 2 rows, got {len(pts)}")
    cur = [p[0] for p in pts]
    if any(b <= a for a, b in zip(cur, cur[1:])) or cur[0] < 0:
        raise ValueError(f"{path}: currents must be >= 0 and strictly increasing")
    return cur, [p[1] for p in pts]


def read_heater_calibration(path) -> dict[int, tuple[list[float], list[float]]]:
    """Measured phase against electrical power per channel.

    CSV header ``channel,power_W,phase_rad``; for each channel (an integer >= 0) at
    least 2 rows with strictly increasing power and phase (rows of a channel in any
    order). Returns ``{channel: (power [W], phase [rad])}``, sorted by power.
    """
    rows = _table_rows(path, ["channel", "power_W", "phase_rad"])
    table: dict[int, list[tuple[float, float]]] = {}
    for i, row in enumerate(rows):
        try:
            ch = int(row[0])
        except (ValueError, IndexError):
            raise ValueError(f"{path}: row {i + 2} {row!r}: channel must be an integer") from None
        if ch < 0:
            raise ValueError(f"{path}: row {i + 2}: channel must be >= 0, got {ch}")
        p, ph = _floats(path, i, row[1:], 2)
        table.setdefault(ch, []).append((p, ph))
    if not table:
        raise ValueError(f"{path}: no calibration rows")
    out = {}
    for ch, pts in sorted(table.items()):
        pts.sort()
        pw, ph = [p for p, _ in pts], [q for _, q in pts]
        if (
            len(pts) < 2
            or any(b <= a for a, b in zip(pw, pw[1:]))
            or any(b <= a for a, b in zip(ph, ph[1:]))
        ):
            raise ValueError(
                f"{path}: channel {ch} needs >= 2 points with strictly increasing power and "
                f"phase, got {len(pts)} points"
            )
        out[ch] = (pw, ph)
    return out
