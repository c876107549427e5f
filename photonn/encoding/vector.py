"""Image -> real amplitude vector: the input of an on-chip (mesh) network.

An on-chip network takes one amplitude per waveguide, so an image is shrunk to
``ny x nx`` pixels by area averaging and flattened to ``ny * nx`` modes. With
``normalize="power"`` each sample then carries unit optical power
(``sum_i x_i^2 = 1``): the laser power is fixed, and the classifier sees only the
shape of the image, not its brightness.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import REAL_DTYPES, real_dtype, tensor
from .image import _shape2, to_unit_range

NORMALIZATIONS = ("power", None)


def _normalization(normalize):
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize must be 'power' (unit power per sample) or None, got {normalize!r}"
        )
    return normalize


# the smallest norm divided by: an all-dark image stays all zero instead of NaN
_EPS = 1e-12


def image_to_vector(
    images: torch.Tensor,
    size=(8, 8),
    *,
    normalize: str | None = "power",
    dtype: torch.dtype = torch.float32,
    device=None,
) -> torch.Tensor:
    """Shrink images to ``size`` by area averaging and flatten them to amplitude vectors.

    ``x = adaptive_avg_pool2d(images, size).reshape(B, ny * nx)``, then with
    ``normalize="power"`` ``x / max(||x||_2, 1e-12)`` per sample (unit power; an
    all-zero image stays zero).

    Args:
        images: ``(B, H, W)``, uint8 ``0..255`` or floats in ``[0, 1]``.
        size: ``(ny, nx)`` pixels after shrinking (an int means square), at most ``(H, W)``.
        normalize: ``"power"`` (default: unit L2 norm per sample) or ``None``
            (the area means, in ``[0, 1]`` for images in ``[0, 1]``).
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        device: where to compute (default: the images' device).

    Returns:
        Real ``(B, ny * nx)`` tensor of ``dtype``, row-major (index ``i * nx + j``
        is pixel ``(i, j)``).

    Example:
        >>> import torch
        >>> image_to_vector(torch.full((2, 28, 28), 255, dtype=torch.uint8)).shape
        torch.Size([2, 64])
    """
    if dtype not in REAL_DTYPES:
        raise TypeError(
            f"dtype must be torch.float32 or torch.float64 (a real amplitude), got {dtype}; "
            "convert to a field with x.to(torch.complex64) afterwards"
        )
    _normalization(normalize)
    ny, nx = _shape2(size, "size")
    tensor(images, "images")
    if images.ndim != 3:
        raise ValueError(
            f"images must have shape (B, H, W), got {tuple(images.shape)}; "
            "add a batch axis with images[None] for a single image"
        )
    h, w = images.shape[-2:]
    if ny > h or nx > w:
        raise ValueError(
            f"size {(ny, nx)} is larger than the images {(h, w)}; area averaging only "
            "shrinks: choose size <= (H, W)"
        )
    if device is not None:
        images = images.to(device)
    x = to_unit_range(images, dtype)
    x = F.adaptive_avg_pool2d(x[:, None], (ny, nx)).reshape(x.shape[0], ny * nx)
    if normalize == "power":
        x = x / x.norm(dim=1, keepdim=True).clamp_min(_EPS)
    return x


class ImageToVector(nn.Module):
    """Module form of :func:`image_to_vector`: ``(B, H, W)`` images -> ``(B, ny * nx)``.

    It has no parameters; ``dtype`` is the output dtype and ``device``, if
    given, where the images are moved before the computation.

    Args:
        size: ``(ny, nx)`` (default ``(8, 8)``: 64 modes).
        normalize: ``"power"`` (unit power per sample, default) or ``None``.
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        device: where to compute (default: the images' device).

    Shapes: uint8 or float ``(B, H, W)`` -> real ``(B, ny * nx)``.
    """

    def __init__(
        self,
        size=(8, 8),
        *,
        normalize: str | None = "power",
        dtype: torch.dtype = torch.float32,
        device=None,
    ):
        super().__init__()
        self.size = _shape2(size, "size")
        self.normalize = _normalization(normalize)
        real_dtype(dtype)
        self.dtype = dtype
        self.device = None if device is None else torch.device(device)

    @property
    def num_features(self) -> int:
        """``ny * nx``, the length of every output vector (the mesh's mode count)."""
        return self.size[0] * self.size[1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return image_to_vector(
            images, self.size, normalize=self.normalize, dtype=self.dtype, device=self.device
        )

    def extra_repr(self) -> str:
        return f"size={self.size}, normalize={self.normalize!r}, dtype={self.dtype}"
