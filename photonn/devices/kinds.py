"""The typed profile kinds: one frozen subclass of :class:`DeviceProfile` per kind.

A kind declares each of its values once, as a :class:`~photonn.devices.base.Value`
(a :class:`photonn._spec.Spec`: type, SI unit, bounds, description, required or
optional) in its class body. From that one declaration come the file format
(:mod:`photonn.devices.validation` checks every key of a TOML file against it at
:func:`~photonn.devices.load_profile`), :data:`KINDS`, the typed attribute
(``profile.pixel_pitch`` [m], ``profile.p_pi`` [W]) and the derived values of the
kind (``v_pi``, ``phase_lut``, ``dynamic_range`` ...).

* ``"slm"``: :class:`SLMProfile`, a spatial light modulator (phase panel);
* ``"camera"``: :class:`CameraProfile`, an image sensor;
* ``"mzi_platform"``: :class:`MZIPlatformProfile`, an MZI mesh platform (couplers,
  heaters, DAC);
* ``"material"``: :class:`MaterialProfile`, an optical material for printed or etched
  layers (complex refractive index ``n + i kappa`` at a wavelength, or a table).

Mapping access (``profile["pixel_pitch"]``, ``"lut" in profile``,
``profile.values``) keeps working. A profile built from a mapping of SI values
may lack required values; reading a missing one raises ``ValueError`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import torch

from .._checks import positive_float
from ..functional.slm import linear_lut
from .base import DeviceProfile, Value
from .tables import read_heater_calibration, read_iv_table, read_lut


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
        """``2 ** gray_bits`` SLM gray levels, or ``2 ** adc_bits`` camera ADC levels (the
        value each kind once called ``bit_depth``)."""
        return 2 ** getattr(self, self.RENAMED["bit_depth"])


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


class _OnChipEnergy:
    """The electrical and optical constants of the energy model of
    :func:`photonn.onchip.energy_per_inference` (all optional)."""

    sample_rate = _positive("Hz", "inference rate: input samples per second per channel")
    laser_power = _positive("W", "optical laser power per input channel")
    laser_efficiency = Value(
        float,
        "",
        "laser wall-plug efficiency (optical / electrical)",
        optional=True,
        gt=0.0,
        le=1.0,
    )
    dac_power = _positive("W", "power of one input DAC channel at sample_rate")
    adc_power = _positive("W", "power of one output ADC channel at sample_rate")
    receiver_power = _positive("W", "power of one photodetector and its amplifier")


class SLMProfile(_PixelArray, _ReLaXSwitch, DeviceProfile):
    """A spatial light modulator: a panel of phase pixels (``kind = "slm"``)."""

    KIND = "slm"
    RENAMED = MappingProxyType({"bit_depth": "gray_bits"})
    pixel_pitch = _length("pixel pitch")
    resolution = Value(tuple, "", "pixel count (ny, nx)")
    gray_bits = Value(int, "bit", "bits of the gray level that drives a pixel", ge=1, le=16)
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
            try:  # file_path refuses a profile without a file location
                read_lut(self.file_path("lut"), self.gray_bits)
            except ValueError as exc:
                raise ValueError(f"{where}: lut = {self.lut_file!r}: {exc}") from None

    @property
    def lut_path(self) -> Path | None:
        """Path of the phase look-up table CSV (``values["lut"]`` beside the TOML), or None."""
        if self.lut_file is None or self.path is None:
            return None
        return self.path.parent / self.lut_file

    def lut(self, dtype: torch.dtype = torch.float64) -> torch.Tensor | None:
        """The phase look-up table: tensor ``(2**gray_bits,)`` of phase [rad] per gray level.

        ``None`` when the profile has no ``lut``. The table was validated at load.
        """
        table = self.lut_file
        if table is None:
            return None
        if not isinstance(table, str):  # a profile built from SI values may hold the phases
            return torch.tensor(table, dtype=dtype)
        return torch.tensor(read_lut(self.file_path("lut"), self.gray_bits), dtype=dtype)

    def phase_lut(self, wavelength: float | None = None, dtype=torch.float64) -> torch.Tensor:
        """SLM phase [rad] per gray level, ``(gray_levels,)``, at ``wavelength`` [m].

        The profile's look-up table if it has one, else the linear
        ``max_phase * g / 2**gray_bits``; scaled by ``wavelength_design / wavelength``
        (liquid-crystal dispersion neglected). Default: the design wavelength.
        """
        bits = self.gray_bits
        table = self.lut(dtype=torch.float64)
        if table is None:
            table = linear_lut(bits, float(self.max_phase))
        if table.numel() != 2**bits:
            raise ValueError(
                f"the look-up table of {self.name!r} holds {table.numel()} levels but "
                f"gray_bits = {bits} needs {2**bits}"
            )
        if wavelength is not None:
            table = table * (self.wavelength / positive_float(wavelength, "wavelength [m]"))
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
    RENAMED = MappingProxyType({"bit_depth": "adc_bits"})
    pixel_pitch = _length("pixel pitch")
    resolution = Value(tuple, "", "pixel count (ny, nx)")
    quantum_efficiency = Value(float, "", "QE 0..1", gt=0.0, le=1.0)
    read_noise_e = Value(float, "e-", "rms read noise", ge=0.0)
    full_well_e = Value(float, "e-", "full-well capacity", gt=0.0)
    adc_bits = Value(int, "bit", "ADC bits", ge=1, le=32)
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


class MZIPlatformProfile(_ReLaXSwitch, _OnChipEnergy, DeviceProfile):
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


class MicroringBankProfile(_OnChipEnergy, DeviceProfile):
    """A WDM microring platform: rings on shared buses, one wavelength channel each, for
    broadcast-and-weight banks and multi-operand ring neurons (``kind = "microring_bank"``)."""

    KIND = "microring_bank"
    wavelength = _length("centre wavelength of the channel grid")
    channel_spacing = _length("wavelength spacing of neighbouring WDM channels")
    linewidth = _length("ring resonance full width at half maximum")
    fsr = _length("free spectral range of a ring", optional=True)
    drop_peak = Value(float, "", "drop-port transmission on resonance", gt=0.0, le=1.0)
    through_min = Value(float, "", "through-port transmission on resonance", ge=0.0, lt=1.0)
    thermal_crosstalk = Value(
        float, "", "fraction of a ring's tuning seen by a neighbouring ring", ge=0.0, lt=1.0
    )
    tuning_power_fsr = _positive("W", "heater power that shifts a ring by one FSR")

    @property
    def finesse(self) -> float | None:
        """``fsr / linewidth`` (None without ``fsr``)."""
        return None if self.values.get("fsr") is None else self.fsr / self.linewidth

    @property
    def spacing_in_linewidths(self) -> float:
        """Channel spacing in resonance linewidths (the leakage between channels
        falls as its square)."""
        return self.channel_spacing / self.linewidth


class PCMCrossbarProfile(_OnChipEnergy, DeviceProfile):
    """A phase-change (GST-like) photonic crossbar: cells with a finite number of
    transmission levels (``kind = "pcm_crossbar"``)."""

    KIND = "pcm_crossbar"
    wavelength = _length("operating wavelength")
    n_levels = Value(int, "levels", "distinguishable transmission levels per cell", ge=2, le=4096)
    t_min = Value(float, "", "lowest cell transmission (crystalline)", ge=0.0, lt=1.0)
    t_max = Value(float, "", "highest cell transmission (amorphous)", gt=0.0, le=1.0)
    programming_sigma = Value(
        float, "", "std of the programmed transmission (absolute, Gaussian)", ge=0.0, lt=1.0
    )
    drift_nu = Value(float, "", "power-law exponent of the contrast drift", ge=0.0, lt=1.0)
    drift_t0 = _positive("s", "reference time of the drift law (after programming)")

    @classmethod
    def check(cls, values: Mapping, where) -> None:
        lo, hi = values.get("t_min"), values.get("t_max")
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"{where}: t_min = {lo} must be below t_max = {hi}")

    @property
    def levels(self) -> torch.Tensor:
        """The ``n_levels`` transmissions, evenly spaced from ``t_min`` to ``t_max``
        (float64, increasing)."""
        return torch.linspace(self.t_min, self.t_max, self.n_levels, dtype=torch.float64)


class MaterialProfile(DeviceProfile):
    """An optical material of printed or etched layers (``kind = "material"``).

    The complex refractive index ``n + i kappa`` (a field crossing a thickness ``h``
    gains ``exp(i 2 pi (n + i kappa) h / lambda)``, so its amplitude falls as
    ``exp(-2 pi kappa h / lambda)``) at the stated ``wavelength``; with
    ``index_table`` (a CSV ``wavelength_nm,n,kappa`` beside the TOML) at any
    wavelength inside the table, linearly interpolated. The stated values must
    agree with the table at their wavelength.
    """

    KIND = "material"
    refractive_index = Value(float, "", "real part n of the refractive index", ge=1.0, le=10.0)
    extinction_coefficient = Value(
        float, "", "extinction coefficient kappa (imaginary part of the index)", ge=0.0, le=10.0
    )
    wavelength = Value(
        float, "m", "wavelength of refractive_index and extinction_coefficient", gt=0.0, le=1e-2
    )
    index_file = Value(
        str, "", "CSV wavelength_nm,n,kappa over wavelength", optional=True, key="index_table"
    )

    def index_table(self) -> tuple[list[float], list[float], list[float]] | None:
        """``(wavelength [m], n, kappa)`` of the ``index_table`` file, or None without one."""
        path = self.file_path("index_table")
        if path is None:
            return None
        from .tables import _floats, _rows

        rows = _rows(path, ["wavelength_nm", "n", "kappa"], "index table")
        table = [_floats(path, i, r, 3) for i, r in enumerate(rows)]
        lam = [r[0] * 1e-9 for r in table]
        if len(lam) < 2 or any(b <= a for a, b in zip(lam, lam[1:])):
            raise ValueError(
                f"{path}: needs at least two rows with wavelength_nm strictly increasing"
            )
        if any(r[1] < 1.0 or r[2] < 0.0 for r in table):
            raise ValueError(f"{path}: every n must be >= 1 and every kappa >= 0")
        return lam, [r[1] for r in table], [r[2] for r in table]

    def index(self, wavelength: float | None = None) -> tuple[float, float]:
        """``(n, kappa)`` at ``wavelength`` [m] (default: the stated wavelength).

        Without a table only the stated wavelength is known (relative tolerance 1e-6);
        with one, any wavelength in its range (linear interpolation).

        Raises:
            ValueError: a wavelength the profile does not cover, naming its range and
                the fix.
        """
        if wavelength is None:
            return self.refractive_index, self.extinction_coefficient
        lam = positive_float(wavelength, "wavelength [m]")
        if abs(lam - self.wavelength) <= 1e-6 * self.wavelength:
            return self.refractive_index, self.extinction_coefficient
        table = self.index_table()
        if table is None:
            raise ValueError(
                f"material {self.name!r} states its index only at {self.wavelength * 1e9:.6g} "
                f"nm, not at {lam * 1e9:.6g} nm; use a profile measured at this wavelength or "
                "add an index_table (wavelength_nm,n,kappa) to it"
            )
        ls, ns, ks = table
        if not ls[0] * (1 - 1e-12) <= lam <= ls[-1] * (1 + 1e-12):
            raise ValueError(
                f"{lam * 1e9:.6g} nm is outside the index table of material {self.name!r} "
                f"({ls[0] * 1e9:.6g} .. {ls[-1] * 1e9:.6g} nm); choose a material for this "
                "wavelength or extend its table"
            )
        return self._interpolate(lam, ls, ns, ks)

    def check_files(self, where) -> None:
        if self.index_file is None:
            return
        ls, ns, ks = self.index_table()  # file_path refuses a profile without a file location
        lam = self.wavelength
        if not ls[0] <= lam <= ls[-1]:
            raise ValueError(
                f"{where}: the stated wavelength {lam * 1e9:.6g} nm lies outside the index "
                f"table ({ls[0] * 1e9:.6g} .. {ls[-1] * 1e9:.6g} nm)"
            )
        n, k = self._interpolate(lam, ls, ns, ks)
        if abs(n - self.refractive_index) > 1e-3 or abs(k - self.extinction_coefficient) > 1e-3:
            raise ValueError(
                f"{where}: the table gives n = {n:.6g}, kappa = {k:.6g} at "
                f"{lam * 1e9:.6g} nm, the file states n = {self.refractive_index:.6g}, kappa = "
                f"{self.extinction_coefficient:.6g}; make them agree (within 1e-3)"
            )

    @staticmethod
    def _interpolate(lam, ls, ns, ks) -> tuple[float, float]:
        i = max(1, min(len(ls) - 1, next((j for j, v in enumerate(ls) if v >= lam), len(ls) - 1)))
        t = (lam - ls[i - 1]) / (ls[i] - ls[i - 1])
        return ns[i - 1] + t * (ns[i] - ns[i - 1]), ks[i - 1] + t * (ks[i] - ks[i - 1])


#: kind -> {value name: :class:`~photonn.devices.base.Value`}, each kind's declared values
KINDS: dict[str, Mapping[str, Value]] = {
    c.KIND: c.FIELDS
    for c in (
        SLMProfile,
        CameraProfile,
        MZIPlatformProfile,
        MaterialProfile,
        MicroringBankProfile,
        PCMCrossbarProfile,
    )
}
