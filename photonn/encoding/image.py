"""Image -> optical input: place an image on the simulation grid, then encode it in a field.

The pipeline of :func:`image_to_field`:

1. :func:`to_unit_range`: uint8 images ``0..255`` become floats in ``[0, 1]``.
2. :func:`resize` to the input region ``(ny, nx)`` (bilinear, area or nearest), or
   keep the image size.
3. :func:`pad_to` the grid ``(Ny, Nx)``: zero padding, the image centred on the
   optical axis (index ``N // 2`` on each axis, docs/architecture.md#physical-conventions).
4. Encoding into a complex field: amplitude ``E = x``, intensity ``E = sqrt(x)``,
   or phase ``E = exp(i (a x + b))`` inside the region. Outside the region the
   field is 0 for every encoding (the region is an aperture).

Shapes: images ``(H, W)`` or ``(..., H, W)`` (any leading batch/channel axes);
fields ``(..., Ny, Nx)``. All steps are differentiable (``a`` and ``b`` may be
learnable tensors).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import complex_dtype, one_of, positive_int, real_of, tensor

RESIZE_MODES = ("bilinear", "area", "nearest")
ENCODINGS = ("amplitude", "intensity", "phase")


def _shape2(value, name: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (positive_int(value, name), positive_int(value, name))
    if isinstance(value, (tuple, list, torch.Size)) and len(value) == 2:
        return (positive_int(value[0], f"{name}[0]"), positive_int(value[1], f"{name}[1]"))
    raise TypeError(f"{name} must be an int or a pair (ny, nx) of ints, got {value!r}")


def _images(images, name: str = "images") -> torch.Tensor:
    tensor(images, name)
    if images.ndim < 2:
        raise ValueError(f"{name} must have shape (..., H, W), got {tuple(images.shape)}")
    if images.is_complex():
        raise TypeError(f"{name} must be real images, got {images.dtype}")
    return images


def to_unit_range(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Images as floats: uint8 ``0..255`` -> ``[0, 1]``; floats are cast to ``dtype`` unchanged.

    Args:
        images: ``(..., H, W)`` uint8, bool or floating tensor.
        dtype: float32 or float64.

    Returns:
        ``(..., H, W)`` tensor of ``dtype``.
    """
    images = _images(images)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    if images.dtype == torch.uint8:
        return images.to(dtype) / 255.0
    if images.dtype == torch.bool or images.is_floating_point():
        return images.to(dtype)
    raise TypeError(
        f"images must be uint8 (0..255) or floating point (0..1), got {images.dtype}; "
        "convert with images.float() / images.max()"
    )


def resize(images: torch.Tensor, size, mode: str = "bilinear") -> torch.Tensor:
    """Resample images to ``size = (ny, nx)`` pixels.

    Args:
        images: floating tensor ``(..., H, W)``.
        size: int or ``(ny, nx)``.
        mode: ``"bilinear"`` (antialiased when shrinking, ``align_corners=False``),
            ``"area"`` (mean over each output pixel's footprint; exact block means
            for integer shrink factors) or ``"nearest"`` (pixel replication; exact
            for integer enlargement factors).

    Returns:
        ``(..., ny, nx)``, same dtype. Returns the input when the size already matches.
    """
    images = _images(images)
    if not images.is_floating_point():
        raise TypeError(
            f"resize needs floating images, got {images.dtype}; use to_unit_range(images) first"
        )
    one_of(mode, RESIZE_MODES, "mode")
    ny, nx = _shape2(size, "size")
    h, w = images.shape[-2:]
    if (h, w) == (ny, nx):
        return images
    lead = images.shape[:-2]
    x = images.reshape(-1, 1, h, w)
    if mode == "bilinear":
        shrink = ny < h or nx < w
        x = F.interpolate(x, size=(ny, nx), mode="bilinear", align_corners=False, antialias=shrink)
    else:
        x = F.interpolate(x, size=(ny, nx), mode=mode)
    return x.reshape(*lead, ny, nx)


def pad_to(images: torch.Tensor, shape) -> torch.Tensor:
    """Zero-pad ``(..., h, w)`` images to ``(..., Ny, Nx)``, centred on the optical axis.

    Pixel ``(h // 2, w // 2)`` of the image lands on ``(Ny // 2, Nx // 2)`` of the grid,
    the optical axis of :class:`photonn.Grid`. Works for real and complex tensors.
    """
    if not isinstance(images, torch.Tensor) or images.ndim < 2:
        raise TypeError("images must be a tensor of shape (..., h, w)")
    big_y, big_x = _shape2(shape, "shape")
    h, w = images.shape[-2:]
    if h > big_y or w > big_x:
        raise ValueError(
            f"image ({h}, {w}) does not fit in the grid ({big_y}, {big_x}); resize it first "
            "(resize(images, size)) or use a larger grid"
        )
    top, left = big_y // 2 - h // 2, big_x // 2 - w // 2
    return F.pad(images, (left, big_x - w - left, top, big_y - h - top))


def amplitude_encoding(x: torch.Tensor, dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    """Field with amplitude ``x`` and zero phase: ``E = x`` (intensity ``x**2``)."""
    complex_dtype(dtype)
    return _images(x, "x").to(real_of(dtype)).to(dtype)


def intensity_encoding(x: torch.Tensor, dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    """Field of intensity ``x``: ``E = sqrt(x)`` (``x >= 0``; gradient finite for ``x > 0``)."""
    complex_dtype(dtype)
    x = _images(x, "x").to(real_of(dtype))
    return torch.sqrt(x.clamp_min(0)).to(dtype)


def phase_encoding(
    x: torch.Tensor, a=math.pi, b=0.0, dtype: torch.dtype = torch.complex64
) -> torch.Tensor:
    """Unit-amplitude field with phase ``phi = a * x + b`` [rad].

    Args:
        x: real tensor ``(..., H, W)``, typically in ``[0, 1]``.
        a: phase per unit of ``x`` [rad]; float or tensor broadcastable to ``x`` (may
            be learnable). Default pi: ``x = 1`` is a half-wave shift.
        b: phase offset [rad]; float or tensor.
        dtype: complex64 or complex128.

    Returns:
        ``exp(i (a x + b))`` of ``dtype``, same shape as ``x``.
    """
    complex_dtype(dtype)
    x = _images(x, "x").to(real_of(dtype))
    phi = a * x + b
    return torch.polar(torch.ones_like(phi), phi).to(dtype)


def image_to_field(
    images: torch.Tensor,
    grid_shape,
    region=None,
    *,
    encoding: str = "amplitude",
    mode: str = "bilinear",
    a=math.pi,
    b=0.0,
    dtype: torch.dtype = torch.complex64,
) -> torch.Tensor:
    """Place images on a grid and encode them into a complex field.

    Args:
        images: ``(..., H, W)``, uint8 ``0..255`` or floats in ``[0, 1]``.
        grid_shape: ``(Ny, Nx)`` of the simulation grid (e.g. ``grid.shape``).
        region: ``(ny, nx)`` input region the image is resized to, centred in the
            grid; ``None`` keeps the image size (zero padding only).
        encoding: ``"amplitude"`` (``E = x``), ``"intensity"`` (``E = sqrt(x)``) or
            ``"phase"`` (``E = exp(i (a x + b))``); the field is 0 outside the region.
        mode: resize method, see :func:`resize`.
        a, b: phase-encoding slope and offset [rad] (floats or tensors).
        dtype: complex64 (default) or complex128.

    Returns:
        Complex field ``(..., Ny, Nx)`` of ``dtype``.

    Example:
        >>> import torch
        >>> from photonn.data import load_mnist
        >>> from photonn.encoding import image_to_field
        >>> images, _ = load_mnist(split="test")
        >>> image_to_field(images[:8], (200, 200), region=(100, 100)).shape
        torch.Size([8, 200, 200])
    """
    one_of(encoding, ENCODINGS, "encoding")
    complex_dtype(dtype)
    x = to_unit_range(images, real_of(dtype))
    if region is not None:
        x = resize(x, region, mode)
    if encoding == "amplitude":
        field = amplitude_encoding(x, dtype)
    elif encoding == "intensity":
        field = intensity_encoding(x, dtype)
    else:
        field = phase_encoding(x, a, b, dtype)
    return pad_to(field, grid_shape)


class ImageToField(nn.Module):
    """Module form of :func:`image_to_field` with fixed geometry and encoding.

    With ``learnable_phase=True`` (phase encoding only), ``a`` and ``b`` become
    learnable real scalars (float32 for complex64, float64 for complex128), built
    on ``device``.

    Shapes: images ``(..., H, W)`` -> complex field ``(..., Ny, Nx)`` of ``dtype``.
    """

    def __init__(
        self,
        grid_shape,
        region=None,
        *,
        encoding: str = "amplitude",
        mode: str = "bilinear",
        a: float = math.pi,
        b: float = 0.0,
        learnable_phase: bool = False,
        dtype: torch.dtype = torch.complex64,
        device=None,
    ):
        super().__init__()
        self.grid_shape = _shape2(grid_shape, "grid_shape")
        self.region = None if region is None else _shape2(region, "region")
        if self.region is not None and (
            self.region[0] > self.grid_shape[0] or self.region[1] > self.grid_shape[1]
        ):
            raise ValueError(f"region {self.region} is larger than the grid {self.grid_shape}")
        self.encoding = one_of(encoding, ENCODINGS, "encoding")
        self.mode = one_of(mode, RESIZE_MODES, "mode")
        self.dtype = complex_dtype(dtype)
        if learnable_phase and encoding != "phase":
            raise ValueError("learnable_phase=True needs encoding='phase'")
        rdt = real_of(dtype)
        if learnable_phase:
            self.a = nn.Parameter(torch.tensor(float(a), dtype=rdt, device=device))
            self.b = nn.Parameter(torch.tensor(float(b), dtype=rdt, device=device))
        else:
            self.a, self.b = float(a), float(b)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return image_to_field(
            images,
            self.grid_shape,
            self.region,
            encoding=self.encoding,
            mode=self.mode,
            a=self.a,
            b=self.b,
            dtype=self.dtype,
        )

    def extra_repr(self) -> str:
        return (
            f"grid_shape={self.grid_shape}, region={self.region}, encoding={self.encoding!r}, "
            f"mode={self.mode!r}, dtype={self.dtype}"
        )
