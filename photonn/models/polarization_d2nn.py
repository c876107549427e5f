"""``PolarizationD2NN``: a polarization-multiplexed diffractive network.

Diffractive layers that act on polarization (per-pixel birefringent Jones
modulators, as metasurfaces or liquid-crystal SLMs) let one stack of layers
carry two tasks at once: the input's polarization selects the task, and a pair
of analysers (linear polarizers at 0 and 90 degrees by default) in front of the
detector regions reads each task's classes. This follows the
polarization-multiplexed diffractive processors of Li et al., "Polarization
multiplexed diffractive computing", Light Sci. Appl. 12, 86 (2023), with the
polarization-insensitive layers and fixed polarizer arrays there replaced by
learnable per-pixel Jones modulators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import complex_dtype, finite_float, positive_float, positive_int, real_of
from .._module import ComplexModule
from .._spec import option
from ..freespace.detectors import RegionDetector
from ..freespace.polarization import JonesModulator
from ..freespace.propagator import Propagator
from ..functional.detection import energy_logits
from ..functional.jones import jones_vector
from ..grid import Grid
from ._readout import register_temperature
from ._stack import StackOptions, images_to_field, input_size_on, stack_arguments

__all__ = ["PolarizationD2NN", "PolarizationD2NNOptions", "PolarizationTask"]

POLARIZATIONS = ("x", "y")


def _finite(value) -> str | None:
    return None if math.isfinite(value) else "must be finite"


@dataclass(frozen=True)
class PolarizationD2NNOptions(StackOptions):
    """The declared parameters of a :class:`PolarizationD2NN` run (SI units): the one source
    of the ``[model] kind = "polarization_d2nn"`` section of a run configuration, its docs
    and its checks.

    ``PolarizationD2NN.from_options(options, num_classes=...)`` builds the network (each
    field but ``polarization`` is its keyword of the same name; ``size`` and ``pitch``
    make its grid; the geometry, readout temperature, quantisation and initialisation
    fields are the diffractive stacks' shared
    :class:`~photonn.models._stack.StackOptions`); :class:`PolarizationTask` reads one
    task of it: images lit with ``polarization``, the class scores of that
    polarization's analyser channel (``"x"``: the first analyser, ``"y"``: the second).
    The defaults are the run recipe's.
    """

    num_layers: int = option(3, "per-pixel Jones-modulator layers", gt=0)
    analyser_angles: tuple[float, ...] = option(
        (0.0, math.pi / 2),
        "axes of the two analysers in front of the detector regions (from x)",
        unit="rad",
        validator=_finite,
    )
    polarization: str = option(
        "x",
        "input polarization; it selects the task: the scores are read behind the first "
        "analyser (x) or the second (y)",
        choices=POLARIZATIONS,
    )
    learn_angle: bool = option(True, "learn every pixel's birefringence axis (else fixed at 0)")

    def __post_init__(self):
        super().__post_init__()
        if len(self.analyser_angles) != 2:
            raise ValueError(
                f"analyser_angles must hold two angles [rad] (one per channel), got "
                f"{list(self.analyser_angles)}"
            )


class PolarizationD2NN(ComplexModule):
    """Diffractive network of ``L`` per-pixel Jones modulators with a polarizer-pair readout.

    Layout along z: input plane --``distance``--> modulator 1 --``distance``--> ...
    modulator L --``distance``--> analysers and detector plane. Each analyser
    ``a`` passes the scalar field ``cos(a) Ex + sin(a) Ey``; the detector regions
    (one per class, the layout of :class:`~photonn.freespace.RegionDetector`)
    collect its energy ``E_{a,c}`` [W]. Logits per analyser:
    ``T * E_{a,c} / sum_c' E_{a,c'}``.

    Args:
        grid: :class:`photonn.Grid` of every plane.
        wavelength: [m]; num_layers: ``L``; distance: plane spacing [m].
        num_classes: classes per analyser channel (default 10).
        input_size: ``(h, w)`` pixels the images are resized to (default half the grid).
        analyser_angles: the two analyser axes [rad] (default ``(0, pi/2)``).
        method, pad_factor: propagation (default ``"bl-asm"``, 2).
        learn_angle, phase_mode, max_phase, phase_bits: per
            :class:`~photonn.freespace.JonesModulator`.
        temperature: ``T`` (default 10).
        learn_temperature: make ``T`` a parameter (stored as its logarithm).
        init, generator: modulator initialisation (``"zeros"`` is the identity).
        dtype, device: as every element.

    Shapes:
        ``forward(images, polarization)``: real images ``(B, H, W)`` in ``[0, 1]``
        (amplitude encoding) and the input polarization: ``"x"``, ``"y"``, an angle
        [rad] or a Jones vector ``(2,)`` or ``(B, 2)``; returns logits
        ``(B, 2, num_classes)``, channel ``i`` read through ``analyser_angles[i]``.
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
        analyser_angles=(0.0, math.pi / 2),
        method: str = "bl-asm",
        pad_factor: float = 2.0,
        learn_angle: bool = True,
        phase_mode: str = "free",
        max_phase: float = 2 * math.pi,
        phase_bits: int | None = None,
        temperature: float = 10.0,
        learn_temperature: bool = False,
        init: str = "zeros",
        generator: torch.Generator | None = None,
        strict: bool = False,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a photonn.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.dtype = complex_dtype(dtype)
        self.wavelength = positive_float(wavelength, "wavelength")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.distance = positive_float(distance, "distance")
        self.num_classes = positive_int(num_classes, "num_classes")
        self.input_size = input_size_on(input_size, grid)
        if len(analyser_angles) != 2:
            raise ValueError(f"analyser_angles must hold two angles, got {analyser_angles!r}")
        self.analyser_angles = tuple(
            finite_float(a, f"analyser_angles[{i}]") for i, a in enumerate(analyser_angles)
        )
        register_temperature(self, temperature, learn_temperature, dtype=dtype, device=device)
        self.propagator = Propagator(
            grid,
            self.wavelength,
            self.distance,
            method,
            pad_factor,
            strict=strict,
            dtype=dtype,
            device=device,
        )
        self.masks = nn.ModuleList(
            JonesModulator(
                grid,
                learn_angle=learn_angle,
                mode=phase_mode,
                max_phase=max_phase,
                bits=phase_bits,
                init=init,
                generator=generator,
                dtype=dtype,
                device=device,
            )
            for _ in range(self.num_layers)
        )
        self.detector = RegionDetector(grid, self.num_classes, dtype=dtype, device=device)
        rdt = real_of(dtype)
        u = torch.tensor(
            [[math.cos(a), math.sin(a)] for a in self.analyser_angles], dtype=rdt, device=device
        )
        u = torch.where(u.abs() < 1e-12, 0.0, u)  # exact zeros at multiples of pi/2
        self.register_buffer("analysers", u.to(dtype), persistent=False)

    @classmethod
    def from_options(
        cls,
        options: PolarizationD2NNOptions,
        num_classes: int = 10,
        *,
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ) -> PolarizationD2NN:
        """The network of ``options`` (a :class:`PolarizationD2NNOptions`), on
        ``Grid(size, pitch)``; ``options.polarization`` is :class:`PolarizationTask`'s."""
        if not isinstance(options, PolarizationD2NNOptions):
            raise TypeError(
                f"options must be PolarizationD2NNOptions, got {type(options).__name__}"
            )
        args, kw = stack_arguments(options, drop=("polarization",))
        return cls(
            *args,
            num_classes,
            **kw,
            generator=generator,
            dtype=dtype,
            device=device,
        )

    @property
    def temperature(self) -> torch.Tensor:
        """The readout temperature ``T`` (a 0-d tensor)."""
        return self.log_temperature.exp()

    def _polarization(self, polarization, batch: int) -> torch.Tensor:
        if isinstance(polarization, str):
            if polarization not in ("x", "y"):
                raise ValueError(
                    "polarization must be 'x', 'y', an angle [rad] or a Jones vector, "
                    f"got {polarization!r}"
                )
            v = [1.0, 0.0] if polarization == "x" else [0.0, 1.0]  # exact axes
            return torch.tensor(v, dtype=self.dtype, device=self.analysers.device).expand(batch, 2)
        if isinstance(polarization, (int, float)) and not isinstance(polarization, bool):
            v = jones_vector(float(polarization), dtype=self.dtype, device=self.analysers.device)
            return v.expand(batch, 2)
        v = torch.as_tensor(polarization).to(dtype=self.dtype, device=self.analysers.device)
        if v.shape not in ((2,), (batch, 2)):
            raise ValueError(
                f"a Jones vector polarization must have shape (2,) or ({batch}, 2), "
                f"got {tuple(v.shape)}"
            )
        return v.expand(batch, 2)

    def input_field(self, images: torch.Tensor, polarization="x") -> torch.Tensor:
        """Polarized input field ``(B, 2, ny, nx)``: amplitude-encoded images times a Jones
        vector."""
        E = images_to_field(images, self.grid.shape, self.input_size, dtype=self.dtype)
        v = self._polarization(polarization, images.shape[0])
        return E[:, None] * v[:, :, None, None]

    def output_field(self, images: torch.Tensor, polarization="x") -> torch.Tensor:
        """Polarized field ``(B, 2, ny, nx)`` in the detector plane (before the analysers)."""
        E = self.propagator(self.input_field(images, polarization))
        for mask in self.masks:
            E = self.propagator(mask(E))
        return E

    def channel_energies(self, images: torch.Tensor, polarization="x") -> torch.Tensor:
        """Energy [W] of every class region behind each analyser, ``(B, 2, num_classes)``."""
        E = self.output_field(images, polarization)
        analysed = torch.einsum("ap,bpyx->bayx", self.analysers, E)
        return self.detector.energies(analysed)

    def forward(self, images: torch.Tensor, polarization="x") -> torch.Tensor:
        e = self.channel_energies(images, polarization)
        return energy_logits(e, self.temperature, "normalized")

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, wavelength={self.wavelength:.6g}, layers={self.num_layers}, "
            f"distance={self.distance:.6g}, classes={self.num_classes}, "
            f"analysers={self.analyser_angles}"
        )


class PolarizationTask(nn.Module):
    """One task of a :class:`PolarizationD2NN`: a classifier of images.

    The images are lit with the polarization ``"x"`` or ``"y"``; the class scores are
    the logits of the analyser channel that polarization selects (``"x"``: channel 0,
    ``"y"``: channel 1). The run layer's ``polarization_d2nn`` kind is this module.

    Shapes:
        real images ``(B, H, W)`` in ``[0, 1]`` -> logits ``(B, num_classes)``.
    """

    def __init__(self, network: PolarizationD2NN, polarization: str = "x"):
        super().__init__()
        if not isinstance(network, PolarizationD2NN):
            raise TypeError(f"network must be a PolarizationD2NN, got {type(network).__name__}")
        if polarization not in POLARIZATIONS:
            raise ValueError(
                f"polarization must be 'x' or 'y' (it selects the analyser channel), "
                f"got {polarization!r}"
            )
        self.network = network
        self.polarization = polarization
        self.channel = POLARIZATIONS.index(polarization)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images, self.polarization)[:, self.channel]

    def extra_repr(self) -> str:
        return f"polarization={self.polarization!r}, channel={self.channel}"
