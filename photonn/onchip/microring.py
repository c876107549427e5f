"""Microring resonators and a WDM microring weight bank (broadcast-and-weight).

Add-drop ring (Bogaerts et al., Laser Photonics Rev. 6, 47 (2012)), power
transmissions for self-coupling coefficients ``r1`` (input bus), ``r2`` (drop
bus), single-pass amplitude transmission ``a`` and round-trip phase ``phase``:

    through = (r2^2 a^2 - 2 r1 r2 a cos(phase) + r1^2) / (1 - 2 r1 r2 a cos(phase) + (r1 r2 a)^2)
    drop    = (1 - r1^2)(1 - r2^2) a / (1 - 2 r1 r2 a cos(phase) + (r1 r2 a)^2)

Near a resonance (``phase = 2 pi m + 2 pi detuning / FSR``) both are Lorentzians of
full width at half maximum ``FWHM = FSR (1 - r1 r2 a) / (pi sqrt(r1 r2 a))``:

    drop(d)    = drop_peak / (1 + (2 d / FWHM)^2)
    through(d) = 1 - (1 - through_min) / (1 + (2 d / FWHM)^2)

(the second form assumes negligible off-resonance loss).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import positive_float, positive_floats, positive_int

__all__ = [
    "ring_add_drop",
    "ring_lorentzian",
    "ring_linewidth",
    "MicroringWeightBank",
]


def _unit(x, name):
    x = float(x)
    if not (0 <= x <= 1):
        raise ValueError(f"{name} must lie in [0, 1], got {x}")
    return x


def ring_add_drop(phase: torch.Tensor, r1: float, r2: float, a: float = 1.0):
    """Exact add-drop ring power transmissions ``(through, drop)`` versus round-trip phase [rad]."""
    r1, r2, a = _unit(r1, "r1"), _unit(r2, "r2"), _unit(a, "a")
    c = torch.cos(phase)
    den = 1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2
    through = (r2**2 * a**2 - 2 * r1 * r2 * a * c + r1**2) / den
    drop = (1 - r1**2) * (1 - r2**2) * a / den
    return through, drop


def ring_linewidth(fsr: float, r1: float, r2: float, a: float = 1.0) -> float:
    """FWHM of the resonance in the units of ``fsr``: ``FSR (1 - r1 r2 a) / (pi sqrt(r1 r2 a))``."""
    x = _unit(r1, "r1") * _unit(r2, "r2") * _unit(a, "a")
    if x <= 0:
        raise ValueError("r1 r2 a must be > 0 for a resonance")
    return positive_float(fsr, "fsr") * (1 - x) / (math.pi * math.sqrt(x))


def ring_lorentzian(
    detuning: torch.Tensor, linewidth: float, *, drop_peak: float = 1.0, through_min: float = 0.0
):
    """Lorentzian ``(through, drop)`` power transmissions versus detuning.

    Args:
        detuning: tensor, same unit as ``linewidth`` (m or Hz).
        linewidth: full width at half maximum (> 0).
        drop_peak: drop transmission on resonance (1 for a lossless critically coupled ring).
        through_min: through transmission on resonance.
    """
    w = positive_float(linewidth, "linewidth")
    lor = 1.0 / (1.0 + (2.0 * detuning / w) ** 2)
    return 1.0 - (1.0 - _unit(through_min, "through_min")) * lor, _unit(
        drop_peak, "drop_peak"
    ) * lor


class MicroringWeightBank(nn.Module):
    """A broadcast-and-weight bank (Tait et al., Sci. Rep. 7, 7430 (2017)).

    ``in_features`` WDM channels at ``wavelengths`` feed ``out_features`` buses (the
    names of :class:`~photonn.onchip.SVDLinear` and ``nn.Linear``); bus ``j``
    carries one ring per channel, ring ``(j, i)`` resonant at
    ``wavelengths[i] + tuning[j, i] * linewidth``. Each channel ``k`` meets every ring of
    its bus in turn (Lorentzian through/drop, so neighbouring channels leak); the
    drop and through ports of the bus go to a balanced photodiode, so the weight
    of channel ``k`` on output ``j`` is ``drop - through`` in ``[-1, 1]``.

    Args:
        in_features, out_features: channel and output counts.
        wavelengths: ``in_features`` channel wavelengths [m].
        linewidth: ring FWHM [m].
        drop_peak, through_min: on-resonance transmissions (defaults: lossless, critical).
        dtype: real dtype of the parameters.

    Parameters: ``tuning`` ``(out_features, in_features)`` ring detunings in linewidths
    (initialised three linewidths off resonance, weights near ``-1``; set them with
    :meth:`set_tuning` or train them).

    Shapes: input powers ``(..., in_features)`` [W] -> photocurrents ``(..., out_features)``
    [A] at ``responsivity`` [A/W].
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        wavelengths,
        linewidth: float,
        *,
        drop_peak: float = 1.0,
        through_min: float = 0.0,
        responsivity: float = 1.0,
        dtype=torch.float32,
        device=None,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        lams = positive_floats(wavelengths, "wavelengths")
        if len(lams) != in_features:
            raise ValueError(f"wavelengths must have {in_features} entries, got {len(lams)}")
        self.linewidth = positive_float(linewidth, "linewidth")
        self.drop_peak = _unit(drop_peak, "drop_peak")
        self.through_min = _unit(through_min, "through_min")
        self.responsivity = positive_float(responsivity, "responsivity")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        lam = torch.tensor(lams, dtype=torch.float64)
        # channel offsets from each channel, in linewidths: (ring i, channel k)
        rel = (lam[None, :] - lam[:, None]) / self.linewidth
        self.register_buffer("channel_offset", rel.to(dtype=dtype, device=device))
        self.tuning = nn.Parameter(
            torch.full((out_features, in_features), 3.0, dtype=dtype, device=device)
        )

    def set_tuning(self, tuning: torch.Tensor) -> None:
        """Set the ring detunings ``(out_features, in_features)`` [linewidths]."""
        if tuning.shape != self.tuning.shape:
            raise ValueError(
                f"tuning must be {tuple(self.tuning.shape)}, got {tuple(tuning.shape)}"
            )
        with torch.no_grad():
            self.tuning.copy_(tuning)

    def transmissions(self):
        """``(through, drop)`` of each bus for each channel, ``(out_features, in_features)``."""
        # detuning of channel k from ring (j, i), in linewidths: offset[i, k] - tuning[j, i]
        d = self.channel_offset[None] - self.tuning[:, :, None]  # (j, i, k)
        thr, drp = ring_lorentzian(d, 1.0, drop_peak=self.drop_peak, through_min=self.through_min)
        before = torch.cat([torch.ones_like(thr[:, :1]), torch.cumprod(thr, dim=1)[:, :-1]], 1)
        drop = (drp * before).sum(1)
        through = torch.prod(thr, dim=1)
        return through, drop

    def weights(self) -> torch.Tensor:
        """Weight matrix ``drop - through``, ``(out_features, in_features)``, in [-1, 1]."""
        through, drop = self.transmissions()
        return drop - through

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        if power.shape[-1] != self.in_features:
            raise ValueError(
                f"input must have last dimension {self.in_features}, got {tuple(power.shape)}"
            )
        if power.is_complex():
            raise TypeError("input must be real channel powers [W]; detect complex fields first")
        return self.responsivity * power @ self.weights().T

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"linewidth={self.linewidth:.4g}"
        )
