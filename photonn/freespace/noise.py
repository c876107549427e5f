"""``DetectorNoise``: photon shot noise, read noise, saturation and ADC of a detector."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import (
    REAL_DTYPES,
    check_device,
    check_generator,
    fraction,
    input_dtype,
    non_negative_float,
    one_of,
    optional_dtype,
    positive_float,
    positive_int,
    renamed,
    renamed_attribute,
)
from ..devices import resolve_profile
from ..devices.profile import forward_keywords
from ..functional.detection import _adc, _photoelectrons, _read_noise, shot_noise
from ..units import c as C_LIGHT
from ..units import h as H_PLANCK

__all__ = ["DetectorNoise"]

OUTPUTS = ("power", "electrons", "counts")


class DetectorNoise(nn.Module):
    """Turn optical power on a detector (a pixel or a region) into a noisy reading.

    The chain, per detector element and exposure:

    1. mean electrons ``mu = QE P t lambda / (h c) + dark t`` (``P`` [W]);
    2. shot noise (variance ``mu``): ``"gaussian"`` (differentiable,
       ``mu + sqrt(mu) n``; the default) or ``"poisson"`` (exact, no gradient);
    3. read noise, Gaussian with ``read_noise_e`` electrons rms;
    4. saturation at ``full_well_e`` (when given; clipped at 0 below);
    5. an ADC of ``adc_bits`` bits over ``[0, full_well_e]`` (when given),
       rounding with a straight-through gradient.

    Random draws come from an explicit ``torch.Generator``: the one passed to
    ``forward`` or, if none, the one given at construction; with neither,
    ``forward`` raises.

    Args:
        wavelength: [m]. exposure_time: [s].
        quantum_efficiency: in (0, 1].
        read_noise_e: read noise [electrons rms].
        full_well_e: saturation [electrons] (None: no saturation).
        adc_bits: ADC bits (None: no ADC; needs ``full_well_e``); ``bit_depth=`` is its
            deprecated name.
        dark_current_e_per_s: [electrons/s].
        shot: ``"gaussian"`` or ``"poisson"``; ``None`` disables shot noise.
        output: ``"power"`` (default: the reading converted back to W, so the
            module can replace an ideal detector), ``"electrons"`` or ``"counts"`` (needs ADC).
        generator: default ``torch.Generator``.
        dtype: ``None`` (default: any real power, computed in its dtype) or
            ``torch.float32`` / ``torch.float64`` (other powers are refused).
        device: accepted like every element's; the module holds no tensor (the
            noise is drawn where the power is), so there is nothing to place.

    Shapes:
        real power ``(...)`` [W] -> real ``(...)``.
    """

    bit_depth = renamed_attribute("bit_depth", "adc_bits")

    def __init__(
        self,
        wavelength,
        exposure_time,
        *,
        quantum_efficiency: float = 1.0,
        read_noise_e: float = 0.0,
        full_well_e: float | None = None,
        adc_bits: int | None = None,
        dark_current_e_per_s: float = 0.0,
        shot: str | None = "gaussian",
        output: str = "power",
        generator: torch.Generator | None = None,
        dtype=None,
        device=None,
        bit_depth: int | None = None,
    ):
        super().__init__()
        self.dtype = optional_dtype(dtype, REAL_DTYPES)
        check_device(device)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.exposure_time = positive_float(exposure_time, "exposure_time")
        self.quantum_efficiency = fraction(quantum_efficiency, "quantum_efficiency")
        self.read_noise_e = non_negative_float(read_noise_e, "read_noise_e", "electrons")
        fw = full_well_e
        self.full_well_e = None if fw is None else positive_float(fw, "full_well_e")
        bits = renamed(
            adc_bits, bit_depth, new_name="adc_bits", old_name="bit_depth", owner="DetectorNoise"
        )
        self.adc_bits = None if bits is None else positive_int(bits, "adc_bits")
        if self.adc_bits is not None and self.full_well_e is None:
            raise ValueError("an ADC (adc_bits) needs full_well_e to set its range")
        self.dark_current = non_negative_float(dark_current_e_per_s, "dark_current_e_per_s")
        if shot is not None:
            one_of(shot, ("gaussian", "poisson"), "shot")
        self.shot = shot
        self.output = one_of(output, OUTPUTS, "output")
        if output == "counts" and self.adc_bits is None:
            raise ValueError("output='counts' needs an ADC: give adc_bits and full_well_e")
        self.generator = check_generator(generator)

    @property
    def electrons_per_joule(self) -> float:
        """``QE lambda / (h c)`` [electrons/J]."""
        return self.quantum_efficiency * self.wavelength / (H_PLANCK * C_LIGHT)

    @property
    def gain(self) -> float | None:
        """ADC gain [electrons per count], or None without ADC."""
        if self.adc_bits is None:
            return None
        return self.full_well_e / (2**self.adc_bits - 1)

    def mean_electrons(self, power: torch.Tensor) -> torch.Tensor:
        """Mean electrons for ``power`` [W] (no noise)."""
        # checked at construction, once
        return _photoelectrons(
            power, self.wavelength, self.exposure_time, self.quantum_efficiency, self.dark_current
        )

    def forward(self, power: torch.Tensor, generator: torch.Generator | None = None):
        if not isinstance(power, torch.Tensor) or power.is_complex():
            raise TypeError("power must be a real tensor [W]; detect |E|^2 first")
        input_dtype(self, power, self.dtype, "power")
        gen = generator if generator is not None else self.generator
        if gen is None and (self.shot is not None or self.read_noise_e > 0):
            raise ValueError(
                "DetectorNoise draws random numbers from an explicit generator: pass "
                "generator=torch.Generator().manual_seed(...) to the constructor or to forward"
            )
        e = self.mean_electrons(power)
        if self.shot is not None:
            e = shot_noise(e, gen, self.shot)
        e = _read_noise(e, self.read_noise_e, gen)
        if self.full_well_e is not None:
            e = e.clamp(0, self.full_well_e)
        if self.adc_bits is not None:
            counts = _adc(e, self.adc_bits, self.full_well_e)
            if self.output == "counts":
                return counts
            e = counts * self.gain
        if self.output == "electrons":
            return e
        dark = self.dark_current * self.exposure_time
        return (e - dark) / (self.electrons_per_joule * self.exposure_time)

    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        wavelength,
        exposure_time,
        **kwargs,
    ) -> DetectorNoise:
        """Build from a ``camera`` device profile.

        ``profile``: a ``DeviceProfile``, a shipped name, a ``.toml`` path or a
        mapping of SI values (see :func:`photonn.devices.resolve_profile`); the only
        positional argument, the rest are keywords of the constructor (``wavelength``
        [m], ``exposure_time`` [s], ``shot``, ``output``, ``generator``, ``dtype``,
        ``device``).

        Uses ``quantum_efficiency``, ``read_noise_e``, ``full_well_e``,
        ``adc_bits`` and ``dark_current_e_per_s``; the quantum efficiency is the
        profile's value at its stated wavelength.
        """
        prof = resolve_profile(profile, kind="camera")
        return cls(
            wavelength,
            exposure_time,
            quantum_efficiency=prof.quantum_efficiency,
            read_noise_e=prof.read_noise_e,
            full_well_e=prof.full_well_e,
            adc_bits=prof.adc_bits,
            dark_current_e_per_s=prof.get("dark_current_e_per_s", 0.0),
            **kwargs,
        )

    def extra_repr(self) -> str:
        return (
            f"wavelength={self.wavelength:.6g}, exposure_time={self.exposure_time:.6g}, "
            f"qe={self.quantum_efficiency}, read_noise_e={self.read_noise_e}, "
            f"full_well_e={self.full_well_e}, adc_bits={self.adc_bits}, shot={self.shot!r}"
        )


forward_keywords(
    DetectorNoise.from_profile,
    DetectorNoise,
    supplied=(
        "quantum_efficiency",
        "read_noise_e",
        "full_well_e",
        "adc_bits",
        "dark_current_e_per_s",
    ),
)
