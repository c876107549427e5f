"""Multi-operand microring (MORR) neurons and WDM microring banks from a device profile.

A MORR layer has one all-pass ring per output on a shared WDM bus (ring ``j`` on
channel ``j``, channels ``channel_spacing`` apart). The inputs of output ``j``
drive segments of ring ``j``'s phase shifter
(:func:`photonn.functional.weight_banks.morr_detuning`), and the output is the power
left on channel ``j`` after the bus: the through-port
Lorentzian of ring ``j`` (:func:`photonn.onchip.microring.ring_lorentzian`, the
transmission is the neuron's nonlinearity) times the off-resonance through
transmissions of the other rings on the bus (leakage between channels).
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import finite_float, positive_float, positive_int
from .._module import ComplexModule
from ..devices import resolve_profile
from ..functional.weight_banks import morr_detuning
from .microring import MicroringWeightBank, ring_lorentzian

__all__ = ["MORRLayer", "microring_bank_from_profile"]


class MORRLayer(ComplexModule):
    """Multi-operand microring neurons: ``y_j = P_j T(d_j)``, ``d_j`` the detuning of
    ring ``j`` in linewidths.

    Args:
        in_features: drives per ring (segments of its phase shifter).
        out_features: rings (outputs), one WDM channel each.
        channel_spacing: spacing of the channels in ring linewidths (> 0); ``None``
            leaves the channels isolated (no leakage).
        through_min: through transmission on resonance (0: critical coupling).
        crosstalk: thermal crosstalk ``kappa`` in ``[0, 1)`` between neighbouring rings.
        dtype: real dtype (``torch.float32`` default, or ``torch.float64``).

    Parameters: ``weight`` ``(out, in)`` (its absolute value is the segment weight
    [linewidths per unit drive]; segments cannot tune backwards) and ``bias``
    ``(out,)`` resting detuning [linewidths].

    Shapes: drives ``(..., in)`` (real, >= 0) -> transmitted channel powers
    ``(..., out)`` (per unit input power of each channel).
    Non-idealities, each off unless given: ``channel_spacing`` (leakage), ``crosstalk``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        channel_spacing: float | None = None,
        through_min: float = 0.0,
        crosstalk: float = 0.0,
        generator: torch.Generator | None = None,
        dtype=torch.float32,
        device=None,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.channel_spacing = (
            None if channel_spacing is None else positive_float(channel_spacing, "channel_spacing")
        )
        self.through_min = finite_float(through_min, "through_min")
        if not 0 <= self.through_min < 1:
            raise ValueError(f"through_min must lie in [0, 1), got {self.through_min}")
        self.crosstalk = finite_float(crosstalk, "crosstalk")
        if not 0 <= self.crosstalk < 1:
            raise ValueError(f"crosstalk must lie in [0, 1), got {self.crosstalk}")
        w = torch.rand(out_features, in_features, generator=generator, dtype=torch.float64)
        self.weight = nn.Parameter((w / in_features).to(dtype=dtype, device=device))
        # resting half a linewidth off resonance: the steepest part of the Lorentzian
        self.bias = nn.Parameter(torch.full((out_features,), -0.5, dtype=dtype, device=device))
        self.dtype = dtype

    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        in_features: int,
        out_features: int,
        leakage: bool = True,
        crosstalk: bool = True,
        dtype=torch.float32,
        device=None,
    ):
        """A layer on a ``microring_bank`` profile: channel spacing in linewidths,
        ``through_min`` and thermal crosstalk from the profile (switch ``leakage`` and
        ``crosstalk`` off one at a time)."""
        p = resolve_profile(profile, kind="microring_bank")
        return cls(
            in_features,
            out_features,
            channel_spacing=p.spacing_in_linewidths if leakage else None,
            through_min=p.through_min,
            crosstalk=p.thermal_crosstalk if crosstalk else 0.0,
            dtype=dtype,
            device=device,
        )

    def detuning(self, x: torch.Tensor) -> torch.Tensor:
        """Ring detunings ``(..., out)`` [linewidths] for drives ``x`` ``(..., in)``."""
        return morr_detuning(x, self.weight.abs(), self.bias, self.crosstalk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_complex():
            raise TypeError("MORRLayer drives must be real (>= 0), e.g. normalised heater powers")
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"input must have last dimension {self.in_features}, got {tuple(x.shape)}"
            )
        d = self.detuning(x)
        own, _ = ring_lorentzian(d, 1.0, through_min=self.through_min)
        if self.channel_spacing is None:
            return own
        # channel j passes ring k at offset (j - k) spacing from its resting resonance
        n = self.out_features
        j = torch.arange(n, device=d.device, dtype=d.dtype)
        offset = (j[:, None] - j[None, :]) * self.channel_spacing  # (channel j, ring k)
        thr, _ = ring_lorentzian(
            offset - d[..., None, :], 1.0, through_min=self.through_min
        )  # (..., j, k)
        eye = torch.eye(n, dtype=torch.bool, device=d.device)
        others = torch.where(eye, torch.ones_like(thr), thr).prod(-1)
        return own * others

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"channel_spacing={self.channel_spacing}, crosstalk={self.crosstalk}"
        )


def microring_bank_from_profile(
    profile, /, *, in_features: int, out_features: int, leakage: bool = True, **kwargs
) -> MicroringWeightBank:
    """A broadcast-and-weight :class:`MicroringWeightBank` (balanced detection) on a
    ``microring_bank`` profile: channels ``channel_spacing`` apart around
    ``wavelength``, the profile's linewidth, drop peak and through minimum.
    ``leakage=False`` spaces the channels 10^6 linewidths apart (isolated channels:
    leakage below 1e-12)."""
    p = resolve_profile(profile, kind="microring_bank")
    spacing = p.channel_spacing if leakage else 1e6 * p.linewidth
    if leakage:
        lams = [p.wavelength + (i - (in_features - 1) / 2) * spacing for i in range(in_features)]
    else:  # a modelling device, not a real grid: channels upward from the wavelength
        lams = [p.wavelength + i * spacing for i in range(in_features)]
    return MicroringWeightBank(
        in_features,
        out_features,
        lams,
        p.linewidth,
        drop_peak=p.drop_peak,
        through_min=p.through_min,
        **kwargs,
    )
