"""FFT helpers: fast transform sizes and zero-padded convolution in Fourier space.

``conv_fft`` is the hot path of every propagator. It pads implicitly through
``torch.fft.fft2(x, s=(Ny, Nx))`` (no padded copy of the field is made),
multiplies the spectrum in place, and returns a compact copy of the cropped
window (so autograd never keeps padded fields alive). Pruning the transform (1-D FFTs that skip
the all-zero rows) was measured and rejected: the strided 1-D transforms it
needs cost 1.3-1.5x the full 2-D transform on CPU. The speed is won instead by
padding less: see :func:`photonn.functional.sampling.padded_shape`.
"""

from __future__ import annotations

import math

import torch

__all__ = ["fast_size", "conv_fft", "centered_fft2", "centered_ifft2"]


def _is_smooth(n: int, primes=(2, 3, 5, 7)) -> bool:
    for p in primes:
        while n % p == 0:
            n //= p
    return n == 1


def fast_size(n: int) -> int:
    """Smallest integer >= ``n`` whose prime factors are 2, 3, 5 and 7 only.

    Such sizes are the fast ones for pocketfft, MKL and cuFFT.
    """
    if n < 1:
        raise ValueError(f"FFT size must be >= 1, got {n}")
    m = n
    while not _is_smooth(m):
        m += 1
    return m


def conv_fft(field: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    """Multiply the spectrum of ``field`` by ``transfer`` on a (possibly) larger grid.

    Computes ``crop(ifft2(fft2(zero_pad(field)) * transfer))`` where ``transfer``
    has shape ``(..., Ny, Nx)`` with ``Ny >= ny`` and ``Nx >= nx``, unshifted.
    The field keeps its top-left corner; the result has the field's shape.

    Args:
        field: complex tensor ``(..., ny, nx)``.
        transfer: complex tensor broadcastable to ``(..., Ny, Nx)``.
    """
    ny, nx = field.shape[-2:]
    Ny, Nx = transfer.shape[-2:]
    if Ny == ny and Nx == nx:
        return torch.fft.ifft2(torch.fft.fft2(field).mul_(transfer))
    spec = torch.fft.fft2(field, s=(Ny, Nx)).mul_(transfer)
    # copy the crop: a view would keep the whole padded field alive wherever the
    # next operation saves its input for backward (4x the memory for a 2x pad)
    return torch.fft.ifft2(spec)[..., :ny, :nx].contiguous()


def centered_fft2(field: torch.Tensor, norm: str = "backward") -> torch.Tensor:
    """2-D FFT with the origin at index ``n // 2`` in and out (shift, FFT, shift)."""
    dims = (-2, -1)
    return torch.fft.fftshift(
        torch.fft.fft2(torch.fft.ifftshift(field, dim=dims), norm=norm), dim=dims
    )


def centered_ifft2(spectrum: torch.Tensor, norm: str = "backward") -> torch.Tensor:
    """Inverse of :func:`centered_fft2`."""
    dims = (-2, -1)
    return torch.fft.fftshift(
        torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=dims), norm=norm), dim=dims
    )


def pad_centered(field: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Zero-pad ``(..., ny, nx)`` to ``shape`` keeping index ``n // 2`` at ``N // 2``."""
    ny, nx = field.shape[-2:]
    Ny, Nx = shape
    top, left = Ny // 2 - ny // 2, Nx // 2 - nx // 2
    return torch.nn.functional.pad(field, (left, Nx - nx - left, top, Ny - ny - top))


def crop_centered(field: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`pad_centered`."""
    Ny, Nx = field.shape[-2:]
    ny, nx = shape
    top, left = Ny // 2 - ny // 2, Nx // 2 - nx // 2
    return field[..., top : top + ny, left : left + nx]


def ceil_int(x: float) -> int:
    return int(math.ceil(x - 1e-9))
