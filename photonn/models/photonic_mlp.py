"""``PhotonicMLP``: an on-chip optical MLP of SVD layers with opto-electronic nonlinearities."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import complex_dtype, one_of, positive_int
from .._module import ComplexModule
from .._spec import check_options, option
from ..functional.quantizers import QUANTIZERS
from ..onchip.detection import coherent_detection
from ..onchip.svd import SVDLinear
from ..reuse.layers import generator_holders
from ..reuse.recomputation import recompute as _recompute
from ._quantizer_options import anneal_option

__all__ = ["PhotonicMLP", "PhotonicMLPOptions"]


def _abs(z):
    return z.abs()


def _abs2(z):
    return z.real**2 + z.imag**2


ACTIVATIONS = {"abs": _abs, "abs2": _abs2}
LAYOUTS = ("clements", "reck")


@dataclass(frozen=True)
class PhotonicMLPOptions:
    """The declared parameters of a :class:`PhotonicMLP` (the ``[model] kind =
    "photonic_mlp"`` section derives from them); ``PhotonicMLP.from_options(options,
    in_features, num_classes)`` builds the network ``(in, *hidden, out)``."""

    hidden: tuple[int, ...] = option((64,), "hidden layer widths", unit="modes", gt=0)
    activation: str = option(
        "abs", "opto-electronic nonlinearity between layers", choices=tuple(ACTIVATIONS)
    )
    layout: str = option("clements", "MZI mesh layout", choices=LAYOUTS)
    dac_bits: int | None = option(
        None, "quantise every mesh phase with a DAC of dac_bits bits (unset: continuous)", ge=1
    )
    dac_profile: str = option(
        "",
        "mzi_platform device profile whose heater law and full-scale phase the DAC follows "
        "(empty: a linear DAC over 2 pi)",
    )
    dac_output: bool = option(True, "the DAC drives the meshes' output phase screens too")
    anneal_start: float | None = anneal_option("start")
    anneal_end: float | None = anneal_option("end")
    quantizer: str = option(
        "ste",
        "training-time quantiser of the DAC (annealed by photonn.training.QuantizerSchedule)",
        choices=QUANTIZERS,
    )

    def __post_init__(self):
        check_options(self)


_DAC_OPTIONS = ("dac_bits", "dac_profile", "dac_output", "quantizer", "anneal_start", "anneal_end")


def _make_dac(bits, profile, output, quantizer, start, end, generator):
    from ..functional.quantizers import make_quantizer
    from ..onchip.imperfections import DAC

    anneal = None
    name = quantizer if isinstance(quantizer, str) else None
    if name is not None and (start is not None or end is not None):
        d = {"gumbel": (1.0, 0.05), "staircase": (1.0, 100.0)}.get(name)
        if d is not None:
            anneal = (d[0] if start is None else start, d[1] if end is None else end)
    q = make_quantizer(
        quantizer,
        period=2 * math.pi,
        generator=generator if name == "gumbel" else None,
        anneal=anneal,
    )
    if profile:
        from ..devices import resolve_profile

        prof = resolve_profile(profile, kind="mzi_platform")
        return DAC(bits, "heater", prof.phase_range_at_vmax, q, output)
    return DAC(bits, quantizer=q, output=output)


class PhotonicMLP(ComplexModule):
    """Coherent photonic MLP (Shen et al., Nat. Photonics 11, 441 (2017)).

    Each layer is an :class:`~photonn.onchip.SVDLinear` (two MZI meshes and
    attenuators). Between layers an opto-electronic nonlinearity detects each mode
    and drives a modulator: ``"abs"`` re-emits the field amplitude ``|z|``,
    ``"abs2"`` the detected power ``|z|^2``; any callable mapping complex to real
    works too (e.g. a device-response activation). The last layer ends in coherent
    photodetection ``|z|^2``; the output is those powers (use them as logits).

    Args:
        sizes: mode counts ``(in, hidden..., out)``, at least two entries.
        activation: ``"abs"`` (default), ``"abs2"`` or a callable.
        layout: mesh layout (``"clements"`` or ``"reck"``).
        dac: optional :class:`~photonn.onchip.DAC` (with its ``quantizer``) driving the
            phases of every mesh; or build it from:
        dac_bits: the DAC's bits (unset: no DAC);
        dac_profile: an ``mzi_platform`` profile giving the heater law and the full-scale
            phase (``phase_range_at_vmax``); default: a linear DAC over ``2 pi``;
        dac_output: the DAC drives the output phase screens too (default True);
        quantizer, anneal_start, anneal_end: the DAC's training-time quantiser and its
            annealing (Gumbel temperature 1 -> 0.05, staircase steepness 1 -> 100 by
            default); Gumbel draws its noise from ``generator``.
        generator: seeds the Haar-random initialisation of every mesh.
        recompute: ``k``: keep the field entering every ``k``-th layer and recompute the
            other layers (and the nonlinearities between them) in the backward pass
            (``0``, the default, stores everything): memory of ``L / k + k`` layers'
            intermediates instead of ``L``, for about one more forward. Not with layers
            that draw their own random numbers (mesh phase noise): the recomputed pass
            would see other noise.
        dtype: complex dtype of the layers.

    Shapes: real (amplitude-encoded) or complex ``(..., in)`` -> real ``(..., out)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Callable = "abs",
        layout: str = "clements",
        *,
        dac=None,
        dac_bits: int | None = None,
        dac_profile=None,
        dac_output: bool = True,
        quantizer="ste",
        anneal_start: float | None = None,
        anneal_end: float | None = None,
        generator: torch.Generator | None = None,
        recompute: int = 0,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        if isinstance(recompute, bool) or not isinstance(recompute, int):
            raise TypeError(
                f"recompute must be an int (layers per recomputed segment, 0: store all), "
                f"got {type(recompute).__name__} {recompute!r}"
            )
        if recompute < 0:
            raise ValueError(
                f"recompute must be >= 0 (layers per recomputed segment, 0: store all), "
                f"got {recompute}"
            )
        self.recompute = recompute
        sizes = [positive_int(s, "sizes[i]") for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least (in, out), got {sizes}")
        if isinstance(activation, str):
            one_of(activation, ACTIVATIONS, "activation")
            self.activation = ACTIVATIONS[activation]
        elif callable(activation):
            self.activation = activation
        else:
            raise TypeError("activation must be 'abs', 'abs2' or a callable")
        self.dtype = complex_dtype(dtype)
        init = "haar" if generator is not None else "identity"
        self.layers = nn.ModuleList(
            SVDLinear(a, b, layout, init=init, generator=generator, dtype=dtype, device=device)
            for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.sizes = tuple(sizes)
        if dac_bits is not None:
            if dac is not None:
                raise ValueError("give dac or dac_bits, not both")
            dac = _make_dac(
                dac_bits, dac_profile, dac_output, quantizer, anneal_start, anneal_end, generator
            )
        elif dac_profile or (isinstance(quantizer, str) and quantizer != "ste"):
            raise ValueError(
                "dac_profile and quantizer act on a DAC: set dac_bits too (or leave them "
                "at their defaults)"
            )
        if dac is not None:
            for mesh in self.meshes():
                mesh.imperfections = mesh.imperfections.replace(dac=dac)

    @classmethod
    def from_options(
        cls,
        options: PhotonicMLPOptions,
        in_features: int,
        num_classes: int,
        *,
        generator: torch.Generator | None = None,
        recompute: int = 0,
        dtype=torch.complex64,
        device=None,
    ) -> PhotonicMLP:
        """The network ``(in_features, *options.hidden, num_classes)`` of ``options``
        (``recompute``: as in the constructor)."""
        if not isinstance(options, PhotonicMLPOptions):
            raise TypeError(f"options must be PhotonicMLPOptions, got {type(options).__name__}")
        sizes = (in_features, *options.hidden, num_classes)
        kw = {f: getattr(options, f) for f in _DAC_OPTIONS}
        return cls(
            sizes,
            options.activation,
            options.layout,
            **kw,
            generator=generator,
            recompute=recompute,
            dtype=dtype,
            device=device,
        )

    def meshes(self):
        """Every :class:`~photonn.onchip.MZIMesh` of the network, input to output."""
        for layer in self.layers:
            yield layer.mesh_in
            yield layer.mesh_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x if x.is_complex() else x.to(self.dtype)
        n, k = len(self.layers), self.recompute
        if k and torch.is_grad_enabled():
            holders = [h for m in self.layers for h in generator_holders(m)]
            if holders:
                raise ValueError(
                    f"recompute={k} runs layers again in backward, but they draw their own "
                    f"random numbers ({', '.join(holders)}): the recomputed pass would see "
                    "other noise. Use recompute=0 or switch their noise off"
                )
            params = [p for p in self.parameters() if p.requires_grad]
            for start in range(0, n, k):
                stop = min(n, start + k)
                if stop == n:  # backward needs the last segment first: keep its graph
                    z = self._layers(z, start, stop)
                    break
                z = _recompute(lambda v, a=start, b=stop: self._layers(v, a, b), [z], params)
        else:
            z = self._layers(z, 0, n)
        return coherent_detection(z)

    def _layers(self, z: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """The field after layers ``start .. stop - 1`` (each followed by the nonlinearity,
        except the last layer of the network)."""
        for i in range(start, stop):
            z = self.layers[i](z)
            if i < len(self.layers) - 1:
                z = self.activation(z).to(self.dtype)
        return z

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}" + (f", recompute={self.recompute}" if self.recompute else "")
