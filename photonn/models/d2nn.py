"""``D2NN``: a diffractive deep neural network (Lin et al., Science 2018).

An input plane (the image as an amplitude or phase object lit by a unit plane
wave), ``L`` phase-only diffractive layers separated by free-space
propagation, and detector regions in the output plane, one per class. The
class scores come from the energies the regions collect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    complex_dtype,
    non_negative_int,
    one_of,
    positive_float,
    positive_int,
)
from .._module import ComplexModule
from .._spec import option
from ..encoding.image import ENCODINGS
from ..freespace.detectors import RegionDetector
from ..freespace.masks import PhaseMask
from ..freespace.propagator import Propagator
from ..functional.detection import ENERGY_READOUTS, energy_logits, intensity
from ..functional.quantizers import QUANTIZERS
from ..grid import Grid
from ..reuse.recomputation import recompute as _recompute
from ._quantizer_options import anneal_option
from ._readout import register_temperature
from ._stack import (
    StackOptions,
    images_to_field,
    input_size_on,
    printed_relief,
    stack_arguments,
)

__all__ = ["D2NN", "D2NNOptions"]

READOUTS = ENERGY_READOUTS


@dataclass(frozen=True)
class D2NNOptions(StackOptions):
    """The declared parameters of a :class:`D2NN` (SI units): the one source of the
    ``[model] kind = "d2nn"`` section of a run configuration, its docs and its checks.

    ``D2NN.from_options(options, num_classes=...)`` builds the network. Each field is
    the :class:`D2NN` keyword of the same name (``size`` and ``pitch`` make its grid);
    the geometry, readout temperature, quantisation and initialisation fields are the
    diffractive stacks' shared :class:`~photonn.models._stack.StackOptions`. The
    defaults are the run recipe's (the constructor keeps its own, e.g. its
    ``method = "bl-asm"``).
    """

    num_layers: int = option(5, "phase layers", gt=0)
    encoding: str = option("amplitude", "image -> input field", choices=ENCODINGS)
    region_size: float = option(
        3.2e-3, "side of each square class region (8 neurons at the default pitch)", unit="m", gt=0
    )
    span: float = option(0.6, "fraction of the plane the regions cover", gt=0, le=1)
    readout: str = option("normalized", "class scores from region energies", choices=READOUTS)
    quantizer: str = option(
        "ste",
        "training-time quantiser of the phase masks (with phase_bits; annealed by "
        "photonn.training.QuantizerSchedule)",
        choices=QUANTIZERS,
    )
    anneal_start: float | None = anneal_option("start")
    anneal_end: float | None = anneal_option("end")
    slm_profile: str = option(
        "",
        "SLM device profile whose look-up table (at the wavelength, resampled to "
        "phase_bits) gives the phase levels; empty: 2^phase_bits evenly spaced levels",
    )
    recompute: int = option(
        0,
        "keep the field of every k-th layer, recompute the rest in backward (0: keep all)",
        ge=0,
    )
    material: str | None = option(
        None,
        "train the layers as printed relief of this material profile (its absorption in the "
        "forward model, as the fabrication export makes them; unset: lossless phase masks)",
    )
    base: float = option(
        1e-3, "base-plate thickness of the printed layers (with material)", unit="m", ge=0
    )


def _quantizer(name, start, end, generator):
    """The phase masks' quantiser (a name, or an object when annealing end points are
    set); Gumbel draws its noise from ``generator``."""
    from ..functional.quantizers import make_quantizer

    if not isinstance(name, str) or (start is None and end is None):
        return name
    defaults = {"gumbel": (1.0, 0.05), "staircase": (1.0, 100.0)}.get(name)
    if defaults is None:
        return name
    a = defaults[0] if start is None else start
    b = defaults[1] if end is None else end
    return make_quantizer(name, period=2 * math.pi, generator=generator, anneal=(a, b))


class D2NN(ComplexModule):
    """A phase-only diffractive network classifying images by detector-region energies.

    Layout along z: input plane --``input_distance``--> layer 1 --``distance``-->
    layer 2 ... layer L --``output_distance``--> detector plane. All planes share
    ``grid``. Steps of equal length share one :class:`~photonn.freespace.Propagator`
    (one cached transfer function).

    Readout (``E_c``: energy [W] in the region of class ``c``; ``T``: temperature):

    * ``"normalized"`` (default): ``logit_c = T * E_c / sum_c' E_c'``, invariant
      to the input power; ``T`` defaults to 10, so a perfectly focused class
      reaches a softmax probability of about ``1 - 9 e^-10``.
    * ``"log"``: ``logit_c = T * log(E_c)`` (``T`` defaults to 1); a scale of the
      input shifts all logits equally, which softmax ignores.
    * With differential detection (Li et al. 2019, ``differential="normalized"``),
      ``logit_c = T * (E+_c - E-_c) / (E+_c + E-_c)``; with ``"difference"``,
      ``logit_c = T * (E+_c - E-_c) / sum(all E)``.

    The temperature is fixed, or learnable with ``learn_temperature=True``
    (stored as its logarithm, so it stays positive). Otherwise the phase
    masks are the only parameters. With the normalized readout the logits span
    at most ``T``; a learnt ``T`` (the default of :mod:`photonn.training`) grew
    to 80-174 and lifted the 5-layer MNIST / Fashion-MNIST network of
    ``experiments/d2nn`` from 93.9 / 85.1 % to 97.8 / 88.5 %.

    Args:
        grid: :class:`photonn.Grid` of every plane (e.g. 200 x 200 at 0.4 mm).
        wavelength: [m] (e.g. 0.75 mm for the 0.4 THz set-up of Lin et al.).
        num_layers: number of phase layers ``L``.
        distance: layer-to-layer spacing [m] (e.g. 3 cm).
        num_classes: number of classes (default 10).
        input_size: ``(h, w)`` pixels the images are resized to (bilinear,
            antialiased when shrinking; default: half the grid per axis), centred
            on the optical axis of the input plane; the field is 0 around them.
        input_distance: input plane -> layer 1 [m] (default ``distance``).
        output_distance: layer L -> detector [m] (default ``distance``).
        encoding: ``"amplitude"`` (default, ``E = x``), ``"intensity"`` (``E = sqrt(x)``)
            or ``"phase"`` (``E = exp(i pi x)``); see
            :func:`photonn.encoding.image_to_field`.
        method, pad_factor: propagation method (default ``"bl-asm"``, band-limited angular
            spectrum, adequately sampled for the THz set-up) and padding (default 2).
        phase_mode, max_phase, phase_bits: per :class:`~photonn.freespace.PhaseMask`
            (``phase_bits`` quantises every layer with a straight-through gradient).
        phase_lut: optional ``(2**phase_bits,)`` phase [rad] per gray level of the SLM
            that will show the masks (e.g. ``photonn.export.slm_lut(profile, wavelength,
            bits)``): the masks are quantised to the phases it shows.
        slm_profile: or the SLM device profile (name, path or profile) whose look-up
            table, at ``wavelength`` and resampled to ``phase_bits``, gives ``phase_lut``.
        quantizer: training-time quantiser of the masks (``"ste"``, ``"gumbel"``,
            ``"staircase"``, ``"lsq"`` or an object, see :class:`~photonn.freespace.PhaseMask`);
            Gumbel draws its noise from ``generator``.
        anneal_start, anneal_end: the Gumbel temperature or staircase steepness at the
            start and end of training (default 1 -> 0.05, 1 -> 100).
        regions, region_size, span, differential: per
            :class:`~photonn.freespace.RegionDetector`.
        readout: ``"normalized"`` or ``"log"``.
        temperature: ``T`` (default per readout, see above).
        learn_temperature: make ``T`` a parameter.
        detector_noise: optional module mapping region energies [W] to noisy
            readings [W] (e.g. :class:`~photonn.freespace.DetectorNoise`, one
            single-pixel detector per region).
        init: phase initialisation, ``"zeros"`` (default) or ``"uniform"`` (needs ``generator``).
        generator: ``torch.Generator`` for the random initialisation.
        strict: raise instead of warning when a propagation step is undersampled.
        material: train the layers as printed or etched relief of this ``"material"``
            profile (name, ``.toml`` path or profile, e.g. ``"vero_black_plus_rgd875"``): each
            mask's transmission is ``a(phi) exp(i phi)``, ``a`` the amplitude its relief
            (one 2 pi step, on a base plate) transmits,
            :func:`~photonn.functional.fabrication.relief_amplitude`; the fabrication
            export in that material and base computes the same amplitude from the
            heights. Default ``None``: lossless phase masks.
        base: base-plate thickness [m] with ``material`` (default 1 mm).
        n_medium: refractive index of the medium between the layers (air: 1), with
            ``material``.
        recompute: ``k``: keep the field entering every ``k``-th layer and recompute the
            others in the backward pass (segments of ``k`` layers, each but the last run
            again once in backward; the last keeps its graph, as backward needs it
            first); the activation memory of training falls from about one field per
            layer to ``L / k`` stored fields plus one segment's, least near
            ``k = sqrt(L)``, for at most one more forward pass of time.
            ``0`` (default) stores everything. Gradients are the plain backward's
            within float rounding.
        dtype: complex64 (default) or complex128.
        device: where to build the buffers and parameters.

    Shapes:
        ``forward``: real images ``(B, H, W)`` in ``[0, 1]`` (or uint8 ``0..255``) -> logits
        ``(B, num_classes)``; NaN, Inf and values outside ``[0, 1]`` raise ``ValueError``.
    """

    def __init__(
        self,
        grid: Grid,
        wavelength: float,
        num_layers: int,
        distance: float,
        num_classes: int = 10,
        *,
        input_size=None,
        input_distance: float | None = None,
        output_distance: float | None = None,
        encoding: str = "amplitude",
        method: str = "bl-asm",
        pad_factor: float = 2.0,
        phase_mode: str = "free",
        max_phase: float = 2 * math.pi,
        phase_bits: int | None = None,
        phase_lut=None,
        slm_profile=None,
        quantizer="ste",
        anneal_start: float | None = None,
        anneal_end: float | None = None,
        regions=None,
        region_size=None,
        span: float = 0.6,
        differential: str | None = None,
        readout: str = "normalized",
        temperature: float | None = None,
        learn_temperature: bool = False,
        detector_noise: nn.Module | None = None,
        init="zeros",
        generator: torch.Generator | None = None,
        strict: bool = False,
        recompute: int = 0,
        material=None,
        base: float = 1e-3,
        n_medium: float = 1.0,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        self.recompute = non_negative_int(
            recompute, "recompute", " (layers per recomputed segment, 0: store all)"
        )
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a photonn.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.dtype = complex_dtype(dtype)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.distance = positive_float(distance, "distance")
        self.num_classes = positive_int(num_classes, "num_classes")
        d_in = (
            self.distance
            if input_distance is None
            else positive_float(input_distance, "input_distance")
        )
        d_out = (
            self.distance
            if output_distance is None
            else positive_float(output_distance, "output_distance")
        )
        self.input_distance, self.output_distance = d_in, d_out
        self.input_size = input_size_on(input_size, grid)
        self.encoding = one_of(encoding, ENCODINGS, "encoding")
        self.readout = one_of(readout, READOUTS, "readout")

        # one Propagator per distinct distance
        distances = [d_in] + [self.distance] * (self.num_layers - 1) + [d_out]
        unique: list[float] = []
        for z in distances:
            if z not in unique:
                unique.append(z)
        self.propagators = nn.ModuleList(
            Propagator(
                grid,
                self.wavelength,
                z,
                method,
                pad_factor,
                strict=strict,
                dtype=dtype,
                device=device,
            )
            for z in unique
        )
        self.steps = tuple(unique.index(z) for z in distances)

        if slm_profile:
            if phase_lut is not None:
                raise ValueError("give phase_lut or slm_profile, not both")
            if phase_bits is None:
                raise ValueError(
                    f"slm_profile = {slm_profile!r} needs phase_bits (the gray-level depth "
                    "the masks are trained for)"
                )
            from ..devices import resolve_profile
            from ..functional.slm_export import resample_lut

            table = resolve_profile(slm_profile, kind="slm").phase_lut(self.wavelength)
            phase_lut = resample_lut(table, phase_bits)
        mask_quantizer = _quantizer(quantizer, anneal_start, anneal_end, generator)
        self.material, self.relief = printed_relief(material, self.wavelength, base, n_medium)
        self.masks = nn.ModuleList(
            PhaseMask(
                grid,
                mode=phase_mode,
                max_phase=max_phase,
                bits=phase_bits,
                lut=phase_lut,
                quantizer=mask_quantizer,
                relief=self.relief,
                init=init,
                generator=generator,
                dtype=dtype,
                device=device,
            )
            for _ in range(self.num_layers)
        )
        self.detector = RegionDetector(
            grid,
            self.num_classes,
            regions=regions,
            region_size=region_size,
            span=span,
            differential=differential,
            dtype=dtype,
            device=device,
        )
        self.detector_noise = detector_noise
        if temperature is None:
            temperature = 10.0 if readout == "normalized" else 1.0
        register_temperature(self, temperature, learn_temperature, dtype=dtype, device=device)

    @classmethod
    def from_options(
        cls,
        options: D2NNOptions,
        num_classes: int = 10,
        *,
        detector_noise: nn.Module | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ) -> D2NN:
        """The network of ``options`` (a :class:`D2NNOptions`), on ``Grid(size, pitch)``."""
        if not isinstance(options, D2NNOptions):
            raise TypeError(f"options must be D2NNOptions, got {type(options).__name__}")
        args, kw = stack_arguments(options)
        return cls(
            *args,
            num_classes,
            **kw,
            detector_noise=detector_noise,
            generator=generator,
            dtype=dtype,
            device=device,
        )

    # -- pieces --------------------------------------------------------------
    @property
    def temperature(self) -> torch.Tensor:
        return self.log_temperature.exp()

    def input_field(self, images: torch.Tensor) -> torch.Tensor:
        """Complex input-plane field ``(B, ny, nx)`` of real images ``(B, H, W)``.

        Floating images must lie in ``[0, 1]`` (uint8 images ``0..255`` are scaled);
        NaN, Inf or values outside raise ``ValueError`` here, at one host
        synchronisation per batch (skipped while ``torch.compile`` traces).
        """
        return images_to_field(images, self.grid.shape, self.input_size, self.encoding, self.dtype)

    def output_field(self, images: torch.Tensor) -> torch.Tensor:
        """Complex field ``(B, ny, nx)`` in the detector plane."""
        u = self.input_field(images)
        k = self.recompute
        if k and torch.is_grad_enabled():
            for start in range(0, self.num_layers, k):
                stop = min(self.num_layers, start + k)
                if stop == self.num_layers:  # backward needs the last segment first: keep it
                    u = self._layers(u, start, stop)
                    break
                params = [
                    p for m in self.masks[start:stop] for p in m.parameters() if p.requires_grad
                ]
                u = _recompute(lambda v, a=start, b=stop: self._layers(v, a, b), [u], params)
        else:
            u = self._layers(u, 0, self.num_layers)
        return self.propagators[self.steps[-1]](u)

    def _layers(self, u: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """The field after layers ``start .. stop - 1`` (propagation, then mask) of ``u``."""
        for i in range(start, stop):
            u = self.masks[i](self.propagators[self.steps[i]](u))
        return u

    def energies(self, images: torch.Tensor) -> torch.Tensor:
        """Energy [W] in every detector region, ``(B, num_detectors)`` (after noise, if any)."""
        e = self.detector.energies(self.output_field(images))
        if self.detector_noise is not None:
            e = self.detector_noise(e)
        return e

    def logits(self, energies: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` from detector energies (see the class docstring)."""
        T = self.temperature
        tiny = torch.finfo(energies.dtype).tiny
        if self.detector.differential is not None:
            s = self.detector.readout(energies)
            if self.detector.differential == "difference":
                s = s / energies.sum(-1, keepdim=True).clamp_min(tiny)
            return T * s
        return energy_logits(energies, T, self.readout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits(self.energies(images))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted class per image, int64 ``(B,)``."""
        return self(images).argmax(-1)

    # -- inspection ----------------------------------------------------------
    def phases(self) -> torch.Tensor:
        """Applied phase [rad] of every layer, ``(L, ny, nx)``."""
        return torch.stack([m.phase() for m in self.masks])

    def phase_parameters(self):
        """The learnable phase tensors of the layers (the model's weights)."""
        return [m.raw for m in self.masks]

    @torch.no_grad()
    def planes(self, image: torch.Tensor) -> torch.Tensor:
        """Intensity ``|E|^2`` at every plane for one image ``(H, W)`` (or ``(1, H, W)``).

        Returns:
            real ``(L + 2, ny, nx)``: index 0 the input plane, ``1..L`` the field
            arriving at layer ``i`` (before its mask), ``L + 1`` the detector plane.
        """
        if image.ndim == 2:
            image = image[None]
        if image.ndim != 3 or image.shape[0] != 1:
            raise ValueError(f"planes() takes one image (H, W), got shape {tuple(image.shape)}")
        u = self.input_field(image)
        out = [intensity(u[0])]
        for mask, k in zip(self.masks, self.steps):
            u = self.propagators[k](u)
            out.append(intensity(u[0]))
            u = mask(u)
        u = self.propagators[self.steps[-1]](u)
        out.append(intensity(u[0]))
        return torch.stack(out)

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, num_layers={self.num_layers}, "
            f"distance={self.distance:.6g}, num_classes={self.num_classes}, "
            f"input_size={self.input_size}, encoding={self.encoding!r}, readout={self.readout!r}"
        )
