"""What the region-detector diffractive stacks share: their declared geometry, and the
construction and input plane common to :class:`~photonn.models.D2NN`,
:class:`~photonn.models.PolarizationD2NN` and :class:`~photonn.models.Fourier4fNetwork`.

* :class:`StackOptions`: the fields every stack's options dataclass declares (grid,
  wavelength, spacing, propagation, input size, readout temperature, quantisation,
  initialisation), declared here once; a stack's options subclass it and add its own.
* :func:`stack_arguments`: the constructor's positional arguments and keywords of an
  options instance.
* :func:`input_size_on`, :func:`images_to_field`: the images' size on the grid, and the
  checked input-plane field of a batch of images (one set of rules and messages).
* :func:`printed_relief`: the relief of layers printed in a material profile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .._checks import fits_in, image_batch, positive_int
from .._spec import check_options, option
from ..encoding.image import image_to_field
from ..functional.fabrication import Relief
from ..grid import Grid

__all__ = [
    "METHODS",
    "StackOptions",
    "stack_arguments",
    "input_size_on",
    "images_to_field",
    "printed_relief",
]

METHODS = ("asm", "bl-asm", "fresnel", "fresnel-ir", "rs")


@dataclass(frozen=True)
class StackOptions:
    """The declared fields every diffractive stack's options share (SI units); a stack's
    options dataclass subclasses this and adds its own (its number of layers first)."""

    size: int = option(80, "neurons per side of every layer", gt=0)
    pitch: float = option(4e-4, "neuron pitch", unit="m", gt=0)
    wavelength: float = option(7.5e-4, "wavelength", unit="m", gt=0)
    distance: float = option(
        0.01, "spacing between planes (input, layers, detector)", unit="m", gt=0
    )
    method: str = option("asm", "propagation method", choices=METHODS)
    pad_factor: float = option(2.0, "most zero padding per axis", ge=1)
    input_size: int = option(40, "the image is resized to input_size^2 neurons", gt=0)
    temperature: float = option(
        10.0, "softmax temperature of the readout (initial value if learnt)", gt=0
    )
    learn_temperature: bool = option(True, "learn the temperature")
    phase_bits: int | None = option(
        None, "quantise the layers' phases to 2^phase_bits levels (unset: continuous)", ge=1
    )
    init: str = option(
        "zeros",
        "initial layers (zeros: transparent; uniform: random phases)",
        choices=("zeros", "uniform"),
    )

    def __post_init__(self):
        check_options(self)
        fits_in(self.input_size, self.size, "input_size", "size")


def stack_arguments(options: StackOptions, *, drop: tuple[str, ...] = ()):
    """``(grid, wavelength, num_layers, distance)`` and the remaining keywords of ``options``.

    ``options`` is a stack's options (a :class:`StackOptions` with ``num_layers``);
    ``size`` and ``pitch`` make the grid; ``drop`` names fields that are not constructor
    keywords (read elsewhere, e.g. by a task wrapper).
    """
    kw = asdict(options)
    for name in drop:
        kw.pop(name)
    grid = Grid(kw.pop("size"), kw.pop("pitch"))
    return (grid, kw.pop("wavelength"), kw.pop("num_layers"), kw.pop("distance")), kw


def input_size_on(input_size, grid: Grid) -> tuple[int, int]:
    """The ``(h, w)`` pixels the images are resized to: ``input_size`` (an int for a
    square, a pair, or ``None`` for half the grid per axis), each positive and at most
    the grid's shape."""
    if input_size is None:
        return (max(1, grid.ny // 2), max(1, grid.nx // 2))
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        input_size = (input_size, input_size)
    if not isinstance(input_size, (tuple, list)) or len(input_size) != 2:
        raise ValueError(
            f"input_size must be an int or a pair (h, w) of pixels, got {input_size!r}"
        )
    size = (
        positive_int(input_size[0], "input_size[0]"),
        positive_int(input_size[1], "input_size[1]"),
    )
    return fits_in(size, grid.shape, "input_size", "the grid's shape")


def images_to_field(
    images: torch.Tensor,
    shape: tuple[int, int],
    input_size: tuple[int, int],
    encoding: str = "amplitude",
    dtype=torch.complex64,
) -> torch.Tensor:
    """The complex input-plane field ``(B, ny, nx)`` of real images ``(B, H, W)``
    (:func:`photonn.encoding.image_to_field`), after the stacks' one check of them.

    Floating images must lie in ``[0, 1]`` (uint8 images ``0..255`` are scaled); NaN,
    Inf or values outside raise ``ValueError`` naming them and the fix, at one host
    synchronisation per batch (skipped while ``torch.compile`` traces).
    """
    image_batch(images)
    if images.is_floating_point() and not torch.compiler.is_compiling():
        # one reduction, one sync; NaN fails both comparisons
        if not bool(((images >= 0) & (images <= 1)).all()):
            _refuse_images(images, encoding)
    return image_to_field(images, shape, input_size, encoding=encoding, dtype=dtype)


def _refuse_images(images: torch.Tensor, encoding: str):
    bad = ~torch.isfinite(images)
    if bool(bad.any()):
        raise ValueError(
            f"images hold {int(bad.sum())} NaN or Inf values (first at index "
            f"{tuple(bad.nonzero()[0].tolist())}); clean or drop those images"
        )
    lo, hi = images.min().item(), images.max().item()
    raise ValueError(
        f"images must lie in [0, 1] (the {encoding!r} encoding's range), got values "
        f"from {lo:.6g} to {hi:.6g}; scale them into [0, 1] (e.g. uint8 images / 255, "
        "or (images - min) / (max - min)), and do not standardise them to zero mean"
    )


def printed_relief(
    material, wavelength: float, base: float, n_medium: float
) -> tuple[str | None, Relief | None]:
    """``(profile name, Relief)`` of layers printed or etched in ``material`` (a
    ``"material"`` profile: name, ``.toml`` path or profile) on a base plate ``base`` [m]
    in a medium of index ``n_medium``, at ``wavelength`` [m]; ``(None, None)`` without a
    material (lossless phase masks)."""
    if material is None:
        return None, None
    from ..devices import resolve_profile

    prof = resolve_profile(material, kind="material")
    n, kappa = prof.index(wavelength)
    return prof.name, Relief(wavelength, n, kappa, float(n_medium), float(base))
