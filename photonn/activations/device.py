"""Device-response nonlinearities as ``nn.Module``s built from datasheet parameters.

Thin modules over :mod:`photonn.functional.poly_device`. Each keeps its
datasheet parameters and a valid input range ``interval`` (the calibrated
range of the drive voltage or optical power), so that
:func:`~photonn.activations.fit_polynomial` can turn it into a polynomial
activation valid on that range, and the activation monitor can watch it.
Inputs and outputs are in SI units (V, W, W/m^2).

They hold no tensor (their parameters are Python floats): ``dtype=None`` (the
default) accepts any real input and computes in its dtype; ``dtype=torch.float32``
or ``torch.float64`` makes ``forward`` refuse other inputs. ``device`` is accepted
so that every module takes the same keywords; there is nothing to place.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import REAL_DTYPES, check_device, input_dtype, optional_dtype
from ..functional import poly_device as F
from ..functional.polynomial import check_interval

# a zero input to validate parameters at construction
_PROBE = torch.zeros(1)


class _Device(nn.Module):
    def __init__(self, interval, dtype=None, device=None):
        super().__init__()
        self.interval = check_interval(interval)
        self.dtype = optional_dtype(dtype, REAL_DTYPES)
        check_device(device)

    def _check(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return input_dtype(self, x, self.dtype, name)


class EOModulator(_Device):
    """Mach-Zehnder electro-optic modulator: voltage [V] -> intensity transmission.

    ``T = T_max [(1 - e) cos^2(pi (V + V_bias) / (2 V_pi)) + e]``; default valid
    range one half-period ``(0, V_pi)`` of drive voltage.
    """

    def __init__(
        self,
        v_pi,
        v_bias=0.0,
        *,
        insertion_loss_db=0.0,
        extinction_ratio_db=None,
        interval=None,
        dtype=None,
        device=None,
    ):
        F.eo_modulator(
            _PROBE,
            v_pi,
            v_bias,
            insertion_loss_db=insertion_loss_db,
            extinction_ratio_db=extinction_ratio_db,
        )
        super().__init__((0.0, float(v_pi)) if interval is None else interval, dtype, device)
        self.v_pi, self.v_bias = v_pi, v_bias
        self.insertion_loss_db, self.extinction_ratio_db = insertion_loss_db, extinction_ratio_db

    def forward(self, voltage):
        return F.eo_modulator(
            self._check(voltage, "voltage"),
            self.v_pi,
            self.v_bias,
            insertion_loss_db=self.insertion_loss_db,
            extinction_ratio_db=self.extinction_ratio_db,
        )


class SaturableAbsorber(_Device):
    """Fast saturable absorber: intensity [W/m^2] -> transmitted intensity [W/m^2].

    Default valid range ``(0, 10 I_sat)``.
    """

    def __init__(
        self,
        saturation_intensity,
        modulation_depth,
        nonsaturable_loss=0.0,
        *,
        interval=None,
        dtype=None,
        device=None,
    ):
        F.saturable_absorber(_PROBE, saturation_intensity, modulation_depth, nonsaturable_loss)
        super().__init__(
            (0.0, 10.0 * float(saturation_intensity)) if interval is None else interval,
            dtype,
            device,
        )
        self.saturation_intensity = saturation_intensity
        self.modulation_depth = modulation_depth
        self.nonsaturable_loss = nonsaturable_loss

    def forward(self, intensity):
        return F.saturable_absorber(
            self._check(intensity, "intensity"),
            self.saturation_intensity,
            self.modulation_depth,
            self.nonsaturable_loss,
        )


class SOAGain(_Device):
    """Saturated semiconductor optical amplifier: input power [W] -> output power [W].

    ``P_out = G(P) P`` with ``G = G0 exp(-(G - 1) P / P_sat)``; default valid
    range ``(0, 10 P_sat)``.
    """

    def __init__(
        self, small_signal_gain_db, saturation_power, *, interval=None, dtype=None, device=None
    ):
        F.soa_gain(_PROBE, small_signal_gain_db, saturation_power)
        super().__init__(
            (0.0, 10.0 * float(saturation_power)) if interval is None else interval, dtype, device
        )
        self.small_signal_gain_db = small_signal_gain_db
        self.saturation_power = saturation_power

    def forward(self, power):
        power = self._check(power, "power")
        return F.soa_gain(power, self.small_signal_gain_db, self.saturation_power) * power


class OEConverter(_Device):
    """Photodetector -> transimpedance amplifier -> modulator: input power [W] -> output power [W].

    Default valid range: input powers up to the one that drives the modulator
    over one ``V_pi``, ``(0, V_pi / (R Z tap))``.
    """

    def __init__(
        self,
        responsivity,
        transimpedance,
        v_pi,
        v_bias=0.0,
        tap=0.1,
        *,
        interval=None,
        dtype=None,
        device=None,
    ):
        F.oe_converter(_PROBE, responsivity, transimpedance, v_pi, v_bias, tap)
        if interval is None:
            interval = (0.0, float(v_pi) / (float(responsivity) * float(transimpedance) * tap))
        super().__init__(interval, dtype, device)
        self.responsivity, self.transimpedance = responsivity, transimpedance
        self.v_pi, self.v_bias, self.tap = v_pi, v_bias, tap

    def forward(self, power):
        return F.oe_converter(
            self._check(power, "power"),
            self.responsivity,
            self.transimpedance,
            self.v_pi,
            self.v_bias,
            self.tap,
        )
