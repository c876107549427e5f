"""Image -> standardised pixel features, and training-time image augmentation.

:class:`ImageFeatures` resizes images and standardises them,
``(resize(x) - mean) / std``: the input of models that write pixel values into
device parameters (e.g. the phases of :class:`photonn.models.MultivariatePNN`).

:class:`RandomFlipErase` flips images left-right and erases a random rectangle
(value 0), each with a probability, only in training mode; its randomness comes
from its own ``torch.Generator``, which training checkpoints save and restore
with the model (so a resumed run draws the same augmentations).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import REAL_DTYPES, finite_float, positive_float, real_dtype
from .image import RESIZE_MODES, _shape2, resize, to_unit_range


def _probability(p, name: str) -> float:
    p = finite_float(p, name)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


def image_features(
    images: torch.Tensor,
    size=(14, 14),
    *,
    mode: str = "bilinear",
    mean: float = 0.0,
    std: float = 1.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``(resize(images, size) - mean) / std`` for images in ``[0, 1]`` (uint8 is scaled).

    Args:
        images: ``(B, H, W)`` uint8 ``0..255`` or floats in ``[0, 1]``.
        size: ``(ny, nx)`` (an int means square).
        mode: resize mode, ``"bilinear"`` (antialiased when shrinking), ``"area"``
            or ``"nearest"`` (see :func:`photonn.encoding.resize`).
        mean, std: standardisation, in units of the ``[0, 1]`` pixel scale
            (MNIST: 0.1307 and 0.3081).
        dtype: float32 or float64.

    Returns:
        ``(B, ny, nx)`` real tensor of ``dtype``.
    """
    real_dtype(dtype)
    if not isinstance(images, torch.Tensor) or images.ndim != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (B, H, W) tensor, got {shape}")
    x = resize(to_unit_range(images, dtype), size, mode)
    return (x - finite_float(mean, "mean")) / positive_float(std, "std")


class ImageFeatures(nn.Module):
    """Module form of :func:`image_features`: ``(B, H, W)`` images -> ``(B, ny, nx)`` features.

    Args:
        size: ``(ny, nx)`` (default ``(14, 14)``).
        mode: ``"bilinear"`` (default), ``"area"`` or ``"nearest"``.
        mean, std: standardisation on the ``[0, 1]`` pixel scale.
        dtype: output dtype, float32 (default) or float64.
        device: accepted for the common module signature; the module holds no tensor.
    """

    def __init__(
        self,
        size=(14, 14),
        *,
        mode: str = "bilinear",
        mean: float = 0.0,
        std: float = 1.0,
        dtype: torch.dtype = torch.float32,
        device=None,
    ):
        super().__init__()
        self.size = _shape2(size, "size")
        if mode not in RESIZE_MODES:
            raise ValueError(f"mode must be one of {list(RESIZE_MODES)}, got {mode!r}")
        self.mode = mode
        self.mean = finite_float(mean, "mean")
        self.std = positive_float(std, "std")
        real_dtype(dtype)
        self.dtype = dtype
        if device is not None:
            torch.device(device)  # validates the name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return image_features(
            images, self.size, mode=self.mode, mean=self.mean, std=self.std, dtype=self.dtype
        )

    def extra_repr(self) -> str:
        return f"size={self.size}, mode={self.mode!r}, mean={self.mean:g}, std={self.std:g}"


class RandomFlipErase(nn.Module):
    """Training-time augmentation of ``(B, H, W)`` images: left-right flips and random erasing.

    In training mode each image is flipped left-right with probability
    ``flip`` and, with probability ``erase``, a rectangle is set to ``value``
    (random erasing, Zhong et al. 2020, as ``torchvision.transforms.RandomErasing``:
    an area fraction uniform in ``scale``, an aspect ratio log-uniform in
    ``ratio``, clipped to the image, at a uniform position). In eval mode it is the
    identity. The draws come from ``generator`` (its state is checkpointed with
    the model).

    Args:
        flip: probability of a left-right flip.
        erase: probability of erasing a rectangle.
        scale: ``(low, high)`` area fraction of the rectangle.
        ratio: ``(low, high)`` aspect ratio (height / width) of the rectangle.
        value: the erased value (0: the mean of standardised features).
        generator: the random generator (default: a fresh one seeded with 0).
        dtype: ``None`` (any real images) or the one real dtype accepted.
        device: accepted for the common module signature; the module holds no tensor.
    """

    def __init__(
        self,
        flip: float = 0.5,
        erase: float = 0.25,
        *,
        scale=(0.02, 0.33),
        ratio=(0.3, 3.3),
        value: float = 0.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device=None,
    ):
        super().__init__()
        self.flip = _probability(flip, "flip")
        self.erase = _probability(erase, "erase")
        lo, hi = (positive_float(v, "scale") for v in scale)
        if not lo <= hi <= 1.0:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high <= 1, got {scale}")
        self.scale = (lo, hi)
        rlo, rhi = (positive_float(v, "ratio") for v in ratio)
        if not rlo <= rhi:
            raise ValueError(f"ratio must be (low, high) with low <= high, got {ratio}")
        self.ratio = (rlo, rhi)
        self.value = finite_float(value, "value")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        if dtype is not None and dtype not in REAL_DTYPES:
            raise TypeError(f"dtype must be None (any input) or a real dtype, got {dtype}")
        self.dtype = dtype
        if device is not None:
            torch.device(device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.dtype is not None and images.dtype != self.dtype:
            raise TypeError(
                f"RandomFlipErase was built for {self.dtype} images, got {images.dtype}; "
                "build it with dtype=None to take any real images"
            )
        if not self.training or (self.flip == 0 and self.erase == 0):
            return images
        if images.ndim != 3 or not images.is_floating_point():
            raise ValueError(
                f"RandomFlipErase takes real (B, H, W) images, got {tuple(images.shape)} "
                f"{images.dtype}; put it after ImageFeatures"
            )
        B, H, W = images.shape
        g = self.generator
        u = torch.rand(B, 6, generator=g, dtype=torch.float64)  # all draws of a batch at once
        dev = images.device
        flip = (u[:, 0] < self.flip).to(dev)
        out = torch.where(flip[:, None, None], images.flip(-1), images)
        if self.erase > 0:
            area = H * W * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 2])
            lr = (
                math.log(self.ratio[0])
                + (math.log(self.ratio[1]) - math.log(self.ratio[0])) * u[:, 3]
            )
            aspect = torch.exp(lr)
            h = torch.sqrt(area * aspect).round().clamp(1, H).long()
            w = torch.sqrt(area / aspect).round().clamp(1, W).long()
            top = (u[:, 4] * (H - h + 1)).floor().long()
            left = (u[:, 5] * (W - w + 1)).floor().long()
            rows = torch.arange(H)[None, :]
            cols = torch.arange(W)[None, :]
            in_r = (rows >= top[:, None]) & (rows < (top + h)[:, None])
            in_c = (cols >= left[:, None]) & (cols < (left + w)[:, None])
            mask = (u[:, 1] < self.erase)[:, None, None] & in_r[:, :, None] & in_c[:, None, :]
            out = out.masked_fill(mask.to(dev), self.value)
        return out

    def extra_repr(self) -> str:
        return f"flip={self.flip:g}, erase={self.erase:g}, scale={self.scale}, ratio={self.ratio}"
