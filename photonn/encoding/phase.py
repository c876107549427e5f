"""Data -> device parameters: learnable phase and amplitude encoders, replicas and passes.

The multivariate-nonlinearity encoding of Savinson et al. (2025, arXiv:2509.05420)
writes the input into tunable device parameters, ``theta = a ⊙ x + b`` per pixel
or per mode, so that a linear optical system that the light crosses once or many
times computes a nonlinear function of the data:

* :class:`PhaseEncoder`: the transmission ``t = exp(i theta)`` of a phase-only
  device (SLM pixel, phase shifter); :meth:`PhaseEncoder.phase` is the phase
  itself [rad], the value sent to the device.
* :class:`AmplitudeEncoder`: the amplitude transmission ``t = sigmoid(theta)``
  in ``(0, 1)`` of a passive amplitude modulator.

Copies, planes and passes (the input written several times):

* ``copies``: the leading shape of ``a`` and ``b``, e.g. ``(R,)`` replicas or
  ``(C, R)`` per class and replica. Every copy has its own ``a`` and ``b``.
* ``passes=P`` adds a pass axis in front of the copies. With
  ``share_passes=False`` (default) each pass has its own ``a`` and ``b``
  (parameters ``(P, *copies, *F)``): the same input written at ``P`` different
  planes (devices), or at ``P`` passes through a device reprogrammed between
  passes. With ``share_passes=True`` the ``P`` passes go through *one* device
  holding one setting (parameters ``(*copies, *F)``): the output is the same
  transmission repeated along the pass axis (a broadcast view, no copy), and
  the gradients of all passes add up in the one ``a`` and ``b``.

Shapes: ``F`` is ``in_features`` (``(N,)`` modes or ``(H, W)`` pixels); the
input ``x`` is real ``(..., *F)``; the output is ``(..., [P,] *copies, *F)``
(the pass axis only when ``passes`` is given).

Bounding to the device's phase range ``[0, phase_range]`` [rad]
(:class:`PhaseEncoder` with ``phase_range``; :meth:`PhaseEncoder.from_profile`
reads it from an SLM or MZI-platform profile):

* ``bound="wrap"`` (default): the exported phase is ``theta mod 2 pi``, in
  ``[0, 2 pi) ⊆ [0, phase_range]``; it needs ``phase_range >= 2 pi``. Wrapping
  does not change the transmission (``exp(i theta)`` is ``2 pi``-periodic), so
  the forward pass uses ``exp(i theta)`` unwrapped and the gradients are those
  of the unbounded encoder (the wrap has derivative 1 almost everywhere).
* ``bound="sigmoid"``: ``phase = phase_range * sigmoid(theta)``, a smooth map
  onto ``(0, phase_range)`` for devices whose range is shorter than ``2 pi``.
  This changes the encoded function: gradients are scaled by
  ``phase_range * s (1 - s)`` (``s = sigmoid(theta)``) and fade as ``theta``
  saturates, but never vanish and never jump.

Initialisation (``init=``):

* ``"authors"`` (default): the authors' code, ``a_rho ~ N(0, (0.1 * 10^rho)^2)``
  with ``rho`` the index along the *last* copy axis (the replica axis), one
  random vector per replica shared by every leading axis (passes, classes);
  ``b ~ N(0, 1)`` independently everywhere. Drawn in the order and shapes of
  :class:`photonn.models.MultivariatePNN` (``a`` as ``(R, *F)`` then ``b``), so
  ``copies=(C, R)`` with the same generator gives that model's ``a`` and ``b``.
  Without copies, ``a ~ N(0, 0.1^2)``.
* ``"constant"``: ``a = a0`` and ``b = b0`` everywhere.

Precision: ``dtype`` is the output dtype; ``a`` and ``b`` are the matching real
dtype, and ``x`` is cast to it. ``forward`` makes no host synchronisation (no
finiteness check of ``x``: a NaN input gives a NaN field, which the training
loop's guard reports).
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from .._checks import (
    COMPLEX_DTYPES,
    REAL_DTYPES,
    check_generator,
    complex_dtype,
    finite_float,
    one_of,
    positive_float,
    positive_int,
    real_of,
    tensor,
)
from .._module import ComplexModule
from ..devices import resolve_profile
from ..devices.profile import forward_keywords

BOUNDS = ("wrap", "sigmoid")
INITS = ("authors", "constant")
TWO_PI = 2 * math.pi

__all__ = [
    "AmplitudeEncoder",
    "BOUNDS",
    "INITS",
    "PhaseEncoder",
    "affine_encoding",
    "bounded_phase",
]


# -- pure functions -------------------------------------------------------------------------
def affine_encoding(
    x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, feature_dims: int = 1
) -> torch.Tensor:
    """``theta = a ⊙ x + b`` for every copy: real ``(..., *F)`` -> ``(..., *copies, *F)``.

    Args:
        x: real ``(..., *F)``, ``F`` the last ``feature_dims`` axes.
        a, b: real ``(*copies, *F)`` (the same shape).
        feature_dims: the number of feature axes ``len(F)`` (1 for modes, 2 for pixels).

    Returns:
        ``(..., *copies, *F)`` in the dtype of ``a``: ``x`` broadcast over the copies.
    """
    nf = positive_int(feature_dims, "feature_dims")
    if a.shape != b.shape or a.ndim < nf:
        raise ValueError(
            f"a and b must share one shape (*copies, *F) with {nf} feature axes, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    feat = tuple(a.shape[a.ndim - nf :])
    if x.ndim < nf or tuple(x.shape[x.ndim - nf :]) != feat:
        raise ValueError(
            f"x must end in the feature shape {feat}, got {tuple(x.shape)}; "
            "reshape the data to (..., *in_features)"
        )
    return _affine(x, a, b, nf)


def _affine(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, nf: int) -> torch.Tensor:
    """:func:`affine_encoding` of checked arguments."""
    feat = tuple(a.shape[a.ndim - nf :])
    ncopy = a.ndim - nf
    lead = x.shape[: x.ndim - nf]
    xb = x.to(a.dtype).reshape(*lead, *((1,) * ncopy), *feat)
    return a * xb + b


def bounded_phase(theta: torch.Tensor, phase_range: float, bound: str = "wrap") -> torch.Tensor:
    """The device phase [rad] of an encoded ``theta``, in the range ``[0, phase_range]``.

    Args:
        theta: real tensor, any shape [rad].
        phase_range: the device's largest phase [rad] (> 0).
        bound: ``"wrap"`` (``theta mod 2 pi``; needs ``phase_range >= 2 pi``; the
            transmission is unchanged) or ``"sigmoid"`` (``phase_range *
            sigmoid(theta)``, smooth, in ``(0, phase_range)``).

    Returns:
        Real tensor of ``theta``'s shape and dtype.
    """
    return _bounded(theta, _phase_range(phase_range, bound), bound)


def _bounded(theta: torch.Tensor, rng: float, bound: str) -> torch.Tensor:
    """:func:`bounded_phase` of a checked range and bound."""
    if bound == "wrap":
        return torch.remainder(theta, TWO_PI)
    return rng * torch.sigmoid(theta)


# -- argument checks --------------------------------------------------------------------------
def _phase_range(phase_range, bound) -> float:
    one_of(bound, BOUNDS, "bound")
    rng = positive_float(phase_range, "phase_range")
    if bound == "wrap" and rng < TWO_PI * (1 - 1e-12):
        raise ValueError(
            f"phase_range = {rng:.6g} rad is below 2 pi: wrapping cannot keep the "
            "transmission on this device; use bound='sigmoid' (a smooth map onto "
            "(0, phase_range))"
        )
    return rng


def _shape(value, name: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (positive_int(value, name),)
    if isinstance(value, (tuple, list, torch.Size)):
        return tuple(positive_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")


# -- modules ----------------------------------------------------------------------------------
class _AffineEncoder(ComplexModule):
    """Holds ``a`` and ``b`` of shape ``(*param_copies, *F)``; see the module docstring.

    The keywords are declared here, once; a subclass that adds its own (or other
    defaults) declares its public signature and hands these on with
    ``super().__init__(**_affine_keywords(locals()))``. ``_check_dtype`` is the
    subclass's rule for ``dtype`` (checked first).
    """

    _a0_default = 1.0

    @staticmethod
    def _check_dtype(dtype) -> torch.dtype:
        if dtype not in COMPLEX_DTYPES + REAL_DTYPES:
            raise TypeError(
                "dtype must be torch.complex64 / complex128 (a complex transmission) or "
                f"torch.float32 / float64 (the real transmission), got {dtype}"
            )
        return dtype

    def __init__(
        self,
        in_features,
        copies=(),
        *,
        passes: int | None = None,
        share_passes: bool = False,
        init: str = "authors",
        a0: float | None = None,
        b0: float = 0.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.complex64,
        device=None,
    ):
        dtype = self._check_dtype(dtype)
        super().__init__()
        self.in_features = _shape(in_features, "in_features")
        if len(self.in_features) == 0:
            raise ValueError("in_features must not be empty: give N (modes) or (H, W) (pixels)")
        self.copies = _shape(copies, "copies")
        self.passes = None if passes is None else positive_int(passes, "passes")
        if not isinstance(share_passes, bool):
            raise TypeError(f"share_passes must be a bool, got {share_passes!r}")
        if share_passes and self.passes is None:
            raise ValueError("share_passes=True needs passes=P (the number of passes)")
        self.share_passes = share_passes
        self.init = one_of(init, INITS, "init")
        check_generator(generator)
        self.dtype = dtype
        real = real_of(dtype)
        own_passes = () if self.passes is None or share_passes else (self.passes,)
        shape = (*own_passes, *self.copies, *self.in_features)
        if init == "constant":
            a0 = self._a0_default if a0 is None else finite_float(a0, "a0")
            b0 = finite_float(b0, "b0")
            a = torch.full(shape, a0, dtype=real, device=device)
            b = torch.full(shape, b0, dtype=real, device=device)
        else:
            if a0 is not None or b0 != 0.0:
                raise ValueError("a0 and b0 set the constant initialisation: pass init='constant'")
            a, b = _authors_init(shape, len(self.in_features), generator, real, device)
        self.a = nn.Parameter(a)
        self.b = nn.Parameter(b)

    # -- shapes ------------------------------------------------------------------------
    @property
    def out_shape(self) -> tuple[int, ...]:
        """The output's trailing shape ``([P,] *copies, *F)`` (after the input's batch axes)."""
        p = () if self.passes is None else (self.passes,)
        return (*p, *self.copies, *self.in_features)

    def _check_input(self, x) -> torch.Tensor:
        tensor(x, "x")
        if not x.is_floating_point():
            raise TypeError(
                f"x must be a real floating-point tensor, got {x.dtype}; the data is written into "
                "device parameters (scale uint8 images with photonn.encoding.to_unit_range)"
            )
        nf = len(self.in_features)
        if x.ndim < nf or tuple(x.shape[x.ndim - nf :]) != self.in_features:
            raise ValueError(
                f"x must have shape (..., {', '.join(map(str, self.in_features))}) "
                f"(in_features), got {tuple(x.shape)}"
            )
        return x

    def encoded(self, x: torch.Tensor) -> torch.Tensor:
        """``theta = a ⊙ x + b`` (unbounded), real ``(..., [P,] *copies, *F)``."""
        x = self._check_input(x)
        # a and b are right by construction, x was checked just above
        theta = _affine(x, self.a, self.b, len(self.in_features))
        if self.share_passes:
            nb = x.ndim - len(self.in_features)
            theta = theta.unsqueeze(nb).expand(*theta.shape[:nb], self.passes, *theta.shape[nb:])
        return theta

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, copies={self.copies}"
        if self.passes is not None:
            s += f", passes={self.passes}, share_passes={self.share_passes}"
        return s + f", init={self.init!r}, dtype={self.dtype}"


_AFFINE_KEYWORDS = tuple(inspect.signature(_AffineEncoder.__init__).parameters)[1:]


def _affine_keywords(arguments: dict) -> dict:
    """The keywords of :class:`_AffineEncoder` out of a subclass constructor's ``locals()``."""
    return {name: arguments[name] for name in _AFFINE_KEYWORDS}


def _authors_init(shape, nf: int, generator, real, device):
    """``a_rho ~ N(0, (0.1 * 10^rho)^2)`` along the replica axis, shared by leading axes."""
    kw = {"generator": generator, "dtype": real, "device": device}
    feat = shape[len(shape) - nf :]
    lead = shape[: len(shape) - nf]
    R = lead[-1] if lead else 1
    scale = 0.1 * 10.0 ** torch.arange(R, dtype=torch.float64, device=device)
    a = torch.randn(R, *feat, **kw) * scale.to(real).reshape(R, *((1,) * nf))
    if not lead:
        a = a[0]
    a = a.expand(shape).clone()
    b = torch.randn(shape, **kw)
    return a, b


class PhaseEncoder(_AffineEncoder):
    """Phase encoding ``t = exp(i (a ⊙ x + b))``, learnable ``a`` [rad per unit x], ``b`` [rad].

    Args:
        in_features: ``N`` (modes) or ``(H, W)`` (pixels): the feature shape ``F``.
        copies: the leading shape of ``a`` and ``b`` (e.g. ``(R,)`` replicas or
            ``(C, R)``); ``()`` (default) for one copy.
        passes: ``P``, the input written ``P`` times; adds a pass axis in front of
            the copies. ``None`` (default): no pass axis.
        share_passes: ``True``: one device passed ``P`` times (one ``a``, ``b``);
            ``False``: each pass (plane) has its own.
        phase_range: the device's phase range [rad], e.g. ``2 * pi``; ``None``
            (default) leaves the phase unbounded. See the module docstring.
        bound: ``"wrap"`` (default; needs ``phase_range >= 2 pi``) or ``"sigmoid"``.
        init: ``"authors"`` (default) or ``"constant"`` (``a0``, default ``pi``, and ``b0``).
        generator: seeds ``init="authors"`` (``None``: torch's global generator).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``; ``a`` and ``b``
            are the matching real dtype.
        device: where ``a`` and ``b`` live.

    Shapes: real ``x (..., *F)`` -> complex ``(..., [P,] *copies, *F)`` of ``dtype``;
    :meth:`phase` real, same shape [rad].

    Example:
        >>> import torch
        >>> enc = PhaseEncoder(3, (4,), generator=torch.Generator().manual_seed(0))
        >>> enc(torch.rand(8, 3)).shape
        torch.Size([8, 4, 3])
    """

    _a0_default = math.pi
    _check_dtype = staticmethod(complex_dtype)

    def __init__(
        self,
        in_features,
        copies=(),
        *,
        passes: int | None = None,
        share_passes: bool = False,
        phase_range: float | None = None,
        bound: str | None = None,
        init: str = "authors",
        a0: float | None = None,
        b0: float = 0.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.complex64,
        device=None,
    ):
        super().__init__(**_affine_keywords(locals()))
        if phase_range is None:
            if bound is not None:
                raise ValueError(
                    f"bound={bound!r} bounds the phase to the device's range: pass phase_range= "
                    "(e.g. 2 * math.pi, or PhaseEncoder.from_profile)"
                )
            self.phase_range, self.bound = None, None
        else:
            self.bound = "wrap" if bound is None else bound
            self.phase_range = _phase_range(phase_range, self.bound)

    @classmethod
    def from_profile(cls, profile, /, *, wavelength: float | None = None, **kwargs) -> PhaseEncoder:
        """An encoder bounded to the phase range of a device profile.

        ``profile``: the only positional argument, a ``DeviceProfile``, a shipped
        name, a ``.toml`` path (see :func:`photonn.devices.resolve_profile`) of kind

        * ``"slm"``: ``phase_range = max_phase * wavelength_design / wavelength``
          (the phase stroke, scaled like
          :meth:`~photonn.devices.DeviceProfile.phase_lut`; the gray levels are
          not applied here);
        * ``"mzi_platform"``: ``phase_range`` is
          :attr:`~photonn.devices.DeviceProfile.phase_range_at_vmax` (``wavelength``
          must be ``None``).

        The other keywords are the constructor's (``in_features`` and ``copies``
        by keyword here).
        """
        prof = resolve_profile(profile)
        if prof.kind == "slm":
            prof.require("max_phase")
            rng = float(prof["max_phase"])
            if wavelength is not None:
                prof.require("wavelength")
                rng *= prof["wavelength"] / positive_float(wavelength, "wavelength")
        elif prof.kind == "mzi_platform":
            if wavelength is not None:
                raise ValueError(
                    "wavelength scales an SLM's phase stroke; an mzi_platform profile's "
                    "phase_range_at_vmax is used as it is: drop wavelength="
                )
            rng = prof.phase_range_at_vmax
        else:
            raise ValueError(
                f"profile {prof.name!r} is a {prof.kind!r}; a phase encoder needs an expected "
                "kind 'slm' or 'mzi_platform' (a device with a phase range)"
            )
        return cls(phase_range=rng, **kwargs)

    def phase(self, x: torch.Tensor) -> torch.Tensor:
        """The device phase [rad], real ``(..., [P,] *copies, *F)``: the value to export.

        ``a ⊙ x + b`` unbounded, in ``[0, 2 pi)`` with ``bound="wrap"``, in
        ``(0, phase_range)`` with ``bound="sigmoid"``.
        """
        theta = self.encoded(x)
        if self.phase_range is None:
            return theta
        return _bounded(theta, self.phase_range, self.bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.encoded(x)
        if self.bound == "sigmoid":
            theta = _bounded(theta, self.phase_range, "sigmoid")
        # "wrap" leaves exp(i theta) unchanged: the unwrapped phase is used
        return torch.polar(torch.ones_like(theta), theta)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.phase_range is not None:
            s += f", phase_range={self.phase_range:.6g}, bound={self.bound!r}"
        return s


class AmplitudeEncoder(_AffineEncoder):
    """Amplitude encoding ``t = sigmoid(a ⊙ x + b)`` in ``(0, 1)``: a passive amplitude modulator.

    The transmission is an amplitude (the intensity transmission is ``t^2``),
    with zero phase. Arguments as for :class:`PhaseEncoder`, without the phase
    range; ``init="constant"`` defaults to ``a0 = 1``, ``b0 = 0``.

    Args:
        dtype: the output dtype: ``torch.complex64`` (default) or
            ``torch.complex128`` for a complex transmission (real-valued, to
            multiply fields), or ``torch.float32`` / ``torch.float64`` for the
            real transmission itself. ``a`` and ``b`` are the matching real dtype.

    Shapes: real ``x (..., *F)`` -> ``(..., [P,] *copies, *F)`` of ``dtype``;
    :meth:`amplitude` real, same shape.
    """

    def amplitude(self, x: torch.Tensor) -> torch.Tensor:
        """The amplitude transmission in ``(0, 1)``, real ``(..., [P,] *copies, *F)``."""
        return torch.sigmoid(self.encoded(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude(x).to(self.dtype)


forward_keywords(PhaseEncoder.from_profile, PhaseEncoder, supplied=("phase_range",))
