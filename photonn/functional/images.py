"""Image -> optical input: resize, centre on the grid, amplitude or phase encoding.

Images are real tensors ``(B, H, W)`` (or ``(H, W)``) with values in ``[0, 1]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._checks import complex_dtype, one_of, positive_float, real_of
from .fourier import pad_centered

__all__ = ["resize_images", "place_images", "encode_images", "ENCODINGS"]

ENCODINGS = ("amplitude", "intensity", "phase")


def _check_images(images) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.is_complex() or not images.is_floating_point():
        raise TypeError(
            f"images must be real floating point in [0, 1], got {images.dtype}; "
            "convert uint8 images with images.float() / 255"
        )
    if images.ndim < 2:
        raise ValueError(f"images must have shape (..., H, W), got {tuple(images.shape)}")
    return images


def resize_images(images: torch.Tensor, size) -> torch.Tensor:
    """Resize ``(..., H, W)`` images to ``size = (h, w)`` pixels.

    Bilinear with anti-aliasing when shrinking (area-weighted, so a down-sized
    digit keeps its mean value); returns the input unchanged when the size already matches.
    """
    images = _check_images(images)
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive (h, w), got {tuple(size)!r}")
    if tuple(images.shape[-2:]) == (h, w):
        return images
    lead = images.shape[:-2]
    x = images.reshape(-1, 1, *images.shape[-2:])
    shrink = h < images.shape[-2] or w < images.shape[-1]
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink)
    return x.reshape(*lead, h, w)


def place_images(images: torch.Tensor, input_size, grid_shape) -> torch.Tensor:
    """Resize images to ``input_size`` and zero-pad them, centred, to ``grid_shape``.

    The image centre lands on the optical axis (index ``n // 2``).

    Returns:
        real tensor ``(..., ny, nx)``.
    """
    h, w = int(input_size[0]), int(input_size[1])
    ny, nx = int(grid_shape[0]), int(grid_shape[1])
    if h > ny or w > nx:
        raise ValueError(
            f"input_size {(h, w)} is larger than the grid {(ny, nx)}; "
            "choose an input size that fits on the grid"
        )
    return pad_centered(resize_images(images, (h, w)), (ny, nx))


def encode_images(
    images: torch.Tensor,
    encoding: str = "amplitude",
    *,
    max_phase: float = math.pi,
    dtype=torch.complex64,
) -> torch.Tensor:
    """Map real values ``x`` in ``[0, 1]`` to a complex field.

    * ``"amplitude"``: ``E = x`` (an amplitude mask lit by a unit plane wave,
      as in Lin et al. 2018).
    * ``"intensity"``: ``E = sqrt(x)`` (the image is the intensity pattern).
    * ``"phase"``: ``E = exp(i max_phase x)`` (a phase object).
    """
    images = _check_images(images)
    one_of(encoding, ENCODINGS, "encoding")
    complex_dtype(dtype)
    x = images.to(real_of(dtype))
    if encoding == "amplitude":
        return torch.complex(x, torch.zeros_like(x))
    if encoding == "intensity":
        a = torch.sqrt(x.clamp_min(0))
        return torch.complex(a, torch.zeros_like(a))
    m = positive_float(max_phase, "max_phase")
    return torch.polar(torch.ones_like(x), m * x)
