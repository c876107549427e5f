"""``Fourier4fNetwork``: stacked 4f convolution layers with detector regions.

An input plane (the image as an amplitude or phase object), ``L``
:class:`~photonn.freespace.FourierFilter4f` layers in series (lens, trainable mask in
the Fourier plane, lens: each a convolution of its input with the mask's transform,
image inverted), and detector regions in the last output plane, one per class; the
class scores come from the energies the regions collect, read out as in
:class:`~photonn.models.D2NN`.

Without a nonlinearity between them, ``L`` layers make one convolution (the kernels
convolve): the stack is ``L`` physical masks, e.g. printed plates or SLMs in series,
not a deeper function class than one layer with a complex mask. Its Fourier-plane
masks take the SLM and fabrication options: ``phase_bits`` (quantised levels, trained
with the secant straight-through gradient), ``material`` and ``base`` (the relief's
absorption in the forward model), and export as relief with
:func:`photonn.export.fabrication.write_relief`.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import complex_dtype, one_of, positive_float, positive_int
from .._module import ComplexModule
from ..encoding.image import ENCODINGS
from ..freespace.detectors import RegionDetector
from ..freespace.fourier_filter import FourierFilter4f
from ..functional.detection import ENERGY_READOUTS, energy_logits
from ..grid import Grid
from ._readout import register_temperature
from ._stack import images_to_field, input_size_on, printed_relief

__all__ = ["Fourier4fNetwork"]

MASKS = ("phase", "amplitude", "complex", "slm")


class Fourier4fNetwork(ComplexModule):
    """Stacked 4f layers (trainable Fourier-plane masks) and detector regions.

    Args:
        grid: :class:`photonn.Grid` of the input, intermediate and detector planes.
        wavelength: [m].
        focal_length: [m] of every lens (each layer is ``4 f`` long).
        num_layers: 4f layers ``L``.
        num_classes: detector regions (default 10).
        input_size: ``(h, w)`` pixels the images are resized to (default: half the
            grid), centred; see :class:`~photonn.models.D2NN`.
        encoding: image -> field, ``"amplitude"`` (default), ``"intensity"`` or ``"phase"``.
        mask: Fourier-plane mask of every layer, ``"phase"`` (default), ``"amplitude"``,
            ``"complex"`` or ``"slm"`` (see :class:`~photonn.freespace.FourierFilter4f`).
        pad_factor: zero padding of each layer's input (default 2: linear convolution).
        phase_bits: quantise the phase masks to ``2**phase_bits`` levels.
        material, base, n_medium: with ``mask="phase"``, train the masks as printed or
            etched relief of this ``"material"`` profile on a base plate of ``base`` [m]
            (as :class:`~photonn.models.D2NN`).
        regions, region_size, span: per :class:`~photonn.freespace.RegionDetector`.
        readout: ``"normalized"`` (``T E_c / sum E``) or ``"log"`` (``T log E_c``).
        temperature, learn_temperature: the readout's ``T`` (default 10 normalized, 1 log).
        init, generator: mask initialisation (``"zeros"``: transparent phase masks).
        mask_options: further keywords of the mask class (e.g. ``lut``, ``fill_factor``
            for ``"slm"``, ``passive`` for amplitude and complex masks).
        dtype, device: complex dtype (complex64 default) and device.

    Shapes:
        real images ``(B, H, W)`` in ``[0, 1]`` -> logits ``(B, num_classes)``.
    """

    def __init__(
        self,
        grid: Grid,
        wavelength: float,
        focal_length: float,
        num_layers: int,
        num_classes: int = 10,
        *,
        input_size=None,
        encoding: str = "amplitude",
        mask: str = "phase",
        pad_factor: float = 2.0,
        phase_bits: int | None = None,
        material=None,
        base: float = 1e-3,
        n_medium: float = 1.0,
        regions=None,
        region_size=None,
        span: float = 0.6,
        readout: str = "normalized",
        temperature: float | None = None,
        learn_temperature: bool = False,
        init="zeros",
        generator: torch.Generator | None = None,
        mask_options: dict | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a photonn.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.dtype = complex_dtype(dtype)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.focal_length = positive_float(focal_length, "focal_length")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.num_classes = positive_int(num_classes, "num_classes")
        self.encoding = one_of(encoding, ENCODINGS, "encoding")
        self.readout = one_of(readout, ENERGY_READOUTS, "readout")
        mask = one_of(mask, MASKS, "mask")
        self.input_size = input_size_on(input_size, grid)
        opts = dict(mask_options or {})
        if material is not None and mask != "phase":
            raise ValueError(
                f"material= makes printed phase masks; mask = {mask!r} is not one: use "
                "mask='phase' or leave material unset"
            )
        self.material, self.relief = printed_relief(material, self.wavelength, base, n_medium)
        if self.relief is not None:
            opts["relief"] = self.relief
        if phase_bits is not None:
            if mask not in ("phase", "slm"):
                raise ValueError(
                    f"phase_bits quantises phase masks; mask = {mask!r} has none: use "
                    "mask='phase' or 'slm'"
                )
            opts["bits"] = phase_bits
        if mask in ("phase", "amplitude"):
            opts.setdefault("init", init)
            opts.setdefault("generator", generator)
        self.layers = nn.ModuleList(
            FourierFilter4f(
                grid,
                self.wavelength,
                self.focal_length,
                mask=mask,
                pad_factor=pad_factor,
                dtype=dtype,
                device=device,
                **opts,
            )
            for _ in range(self.num_layers)
        )
        self.detector = RegionDetector(
            grid,
            self.num_classes,
            regions=regions,
            region_size=region_size,
            span=span,
            dtype=dtype,
            device=device,
        )
        if temperature is None:
            temperature = 10.0 if readout == "normalized" else 1.0
        register_temperature(self, temperature, learn_temperature, dtype=dtype, device=device)

    @property
    def masks(self) -> list[nn.Module]:
        """The Fourier-plane mask of every layer."""
        return [layer.mask for layer in self.layers]

    def input_field(self, images: torch.Tensor) -> torch.Tensor:
        """Complex input-plane field ``(B, ny, nx)`` of real images ``(B, H, W)`` in ``[0, 1]``
        (uint8 ``0..255`` scaled; checked as :meth:`~photonn.models.D2NN.input_field`)."""
        return images_to_field(images, self.grid.shape, self.input_size, self.encoding, self.dtype)

    def output_field(self, images: torch.Tensor) -> torch.Tensor:
        """Complex field ``(B, ny, nx)`` in the detector plane."""
        u = self.input_field(images)
        for layer in self.layers:
            u = layer(u)
        return u

    def energies(self, images: torch.Tensor) -> torch.Tensor:
        """Energy [W] in every detector region, ``(B, num_classes)``."""
        return self.detector.energies(self.output_field(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        e = self.energies(images)
        return energy_logits(e, self.log_temperature.exp(), self.readout)

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, "
            f"focal_length={self.focal_length:.6g}, num_layers={self.num_layers}, "
            f"num_classes={self.num_classes}, material={self.material!r}"
        )
