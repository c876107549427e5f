"""A device response acting on an optical field: the nonlinearity between the layers
(or the passes) of an optical network.

One vocabulary names how the device is wired to the light. It is the ``mode`` of
:class:`OpticalNonlinearity`, the ``nonlinearity`` of the ReLaX models
(:mod:`photonn.models.relax`) and the run key ``model.activation``
(``P = |z|^2`` the power of each mode, ``g`` the gain, ``b`` the bias, ``T`` the
transmission curve of the device, ``R`` an intensity response):

* ``"eo"``: electro-optic activation (Williamson et al., IEEE JSTQE 26, 7700412
  (2020)): a tap of the light is detected and drives a modulator that the rest of
  the light crosses, ``out = z sqrt(T(g P + b))``; the phase is kept.
* ``"oeo"``: optical-electrical-optical conversion: a photodiode and amplifier
  drive a modulator on a fresh carrier of amplitude ``a``,
  ``out = a sqrt(T(g P + b))`` (real, >= 0); the phase is lost.
* ``"sa"``: all-optical saturable absorption (or any intensity -> intensity
  response of a passive device), ``out = z sqrt(R(g P) / (g P))``; the phase is kept.
* ``"abs"``: detect and re-emit the amplitude, ``out = g |z|`` (no device curve).

The first ReLaX engine spelled two of them otherwise; those spellings still work
and warn (:data:`MODE_ALIASES`): ``"modulate"`` is ``"eo"``, ``"coherent"`` is ``"sa"``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
from torch import nn

from .._checks import (
    check_device,
    complex_dtype,
    finite_float,
    one_of,
    positive_int,
    real_of,
)

__all__ = ["MODES", "MODE_ALIASES", "OpticalNonlinearity", "nonlinearity_mode"]

MODES = ("eo", "oeo", "sa", "abs")
# deprecated spellings of the modes -> the mode
MODE_ALIASES = {"modulate": "eo", "coherent": "sa"}


def nonlinearity_mode(name: str, what: str = "mode") -> str:
    """The mode of :data:`MODES` that ``name`` spells; a deprecated alias warns."""
    if name in MODE_ALIASES:
        mode = MODE_ALIASES[name]
        warnings.warn(
            f"{what}={name!r} is deprecated: it is {mode!r} (photonn.activations."
            "optical_nonlinearity names the modes eo, oeo, sa, abs)",
            DeprecationWarning,
            stacklevel=3,
        )
        return mode
    return one_of(name, MODES, what)


class OpticalNonlinearity(nn.Module):
    """A device response acting on an optical state (complex ``(..., n)``).

    ``mode`` is one of :data:`MODES` (see the module docstring for the physics):
    ``"eo"``, ``"oeo"`` (the default), ``"sa"`` or ``"abs"``; ``"modulate"`` and
    ``"coherent"`` are deprecated spellings of ``"eo"`` and ``"sa"``.

    ``gain`` (stored as its logarithm, so it stays positive) and ``bias`` are the
    fast electronic settings (responsivity and transimpedance in ``gain``, the
    modulator bias voltage in ``bias``; ``"sa"`` and ``"abs"`` use the gain only);
    learnable with ``learnable=True`` (shapes ``()`` or ``(features,)``). In
    :class:`~photonn.reuse.ReLaX` with ``share="pass"`` each pass gets its own.

    Args:
        response: ``"eo"``, ``"oeo"``: a module or tensor function of the real drive ->
            power transmission, e.g. :class:`~photonn.activations.EOModulator`;
            ``"sa"``: intensity -> transmitted intensity, e.g.
            :class:`~photonn.activations.SaturableAbsorber`; ignored for ``"abs"``.
        mode: how the device is wired to the light.
        gain, bias: initial values (``gain > 0``).
        amplitude: carrier amplitude of ``"oeo"``.
        features: ``None`` (one gain and bias for every mode) or the mode count.
        learnable: make ``gain`` and ``bias`` parameters.
        dtype: complex dtype of the fields (complex64 default); the parameters are real.
        device: where to build the parameters.

    Shapes: ``(..., n)`` complex -> ``(..., n)`` of the same dtype.
    """

    def __init__(
        self,
        response=None,
        mode: str = "oeo",
        *,
        gain: float = 1.0,
        bias: float = 0.0,
        amplitude: float = 1.0,
        features: int | None = None,
        learnable: bool = True,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        self.dtype = complex_dtype(dtype)
        check_device(device)
        self.mode = nonlinearity_mode(mode)
        if self.mode != "abs":
            if response is None:
                raise ValueError(f"mode={mode!r} needs a device response (e.g. EOModulator(1.0))")
            if not callable(response):
                raise TypeError(f"response must be a module or a function, got {response!r}")
        self.response = response if isinstance(response, nn.Module) or response is None else None
        self._fn: Callable | None = None if isinstance(response, nn.Module) else response
        g = finite_float(gain, "gain")
        if g <= 0:
            raise ValueError(f"gain must be > 0, got {g}")
        self.amplitude = finite_float(amplitude, "amplitude")
        shape = () if features is None else (positive_int(features, "features"),)
        rdt = real_of(dtype)
        lg = torch.full(shape, math.log(g), dtype=rdt, device=device)
        b = torch.full(shape, finite_float(bias, "bias"), dtype=rdt, device=device)
        if learnable:
            self.log_gain, self.bias = nn.Parameter(lg), nn.Parameter(b)
        else:
            self.register_buffer("log_gain", lg)
            self.register_buffer("bias", b)

    def _response(self, x):
        return self.response(x) if self.response is not None else self._fn(x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.dtype != self.dtype:
            raise TypeError(
                f"OpticalNonlinearity was built for {self.dtype} fields, got "
                f"{getattr(z, 'dtype', type(z).__name__)}"
            )
        gain = self.log_gain.exp()
        if self.mode == "abs":
            return (gain * z.abs()).to(self.dtype)
        p = z.real**2 + z.imag**2
        if self.mode == "sa":
            i = gain * p
            ratio = self._response(i) / i.clamp_min(torch.finfo(i.dtype).tiny)
            return z * torch.sqrt(ratio.clamp_min(0)).to(self.dtype)
        # + 1e-30: a finite gradient where T = 0
        amplitude = torch.sqrt(self._response(gain * p + self.bias).clamp_min(0) + 1e-30)
        if self.mode == "eo":
            return z * amplitude.to(self.dtype)
        return (self.amplitude * amplitude).to(self.dtype)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, amplitude={self.amplitude:g}"
