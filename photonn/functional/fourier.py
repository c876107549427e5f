"""FFT helpers: fast transform sizes and zero-padded convolution in Fourier space.

``conv_fft`` is the hot path of every propagator. It pads implicitly through
``torch.fft.fft2(x, s=(Ny, Nx))`` (no padded copy of the field is made),
multiplies the spectrum in place, and returns a compact copy of the cropped
window (so autograd never keeps padded fields alive). On CPU it runs the batch in
cache-sized chunks, forward and backward (a hand-written adjoint), which more than
halves its time against whole-batch transforms. Pruning the transform (1-D FFTs that skip
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


# Bytes of padded spectrum per batch chunk on CPU: a chunk's transforms, product and
# crop then stay in the core's L2 cache instead of streaming whole batches through
# memory once per operation. benchmarks/propagation.py, 32 x 256^2 at 2x padding: 0.33
# of the bare whole-batch time forward, 0.28 forward + backward (0.88 / 0.99 before
# the chunking); the best chunk on a 1 MiB-L2 CPU was 1-4 fields of 80-320 KiB.
CHUNK_BYTES = 512 * 1024


def _conv(field: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    ny, nx = field.shape[-2:]
    Ny, Nx = transfer.shape[-2:]
    if field.numel() == 0:  # an empty batch: MKL rejects empty transforms
        batch = torch.broadcast_shapes(field.shape[:-2], transfer.shape[:-2])
        return torch.zeros((*batch, ny, nx), dtype=transfer.dtype, device=field.device)
    if Ny == ny and Nx == nx:
        return torch.fft.ifft2(torch.fft.fft2(field).mul_(transfer))
    spec = torch.fft.fft2(field, s=(Ny, Nx)).mul_(transfer)
    return torch.fft.ifft2(spec)[..., :ny, :nx]


def _chunk(field: torch.Tensor, transfer: torch.Tensor) -> int:
    """Items per chunk of the field's outer dimensions (those before the transfer
    function's own), or 0 when the batch is done in one piece: on GPU, when one
    chunk holds everything, or when broadcasting against ``transfer`` would grow
    the field."""
    if field.device.type != "cpu" or field.ndim <= transfer.ndim:
        return 0
    inner = field.shape[field.ndim - transfer.ndim : -2]
    if any(t not in (1, f) for t, f in zip(transfer.shape[:-2], inner)):
        return 0
    per_item = math.prod(inner) * transfer.shape[-2] * transfer.shape[-1]
    per_item *= max(field.element_size(), transfer.element_size())
    c = max(1, CHUNK_BYTES // per_item)
    return c if math.prod(field.shape[: field.ndim - transfer.ndim]) > c else 0


def _conv_chunked(field: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    """:func:`_conv` over chunks of the field's outer dimensions (no autograd inside)."""
    c = _chunk(field, transfer)
    if not c:
        return _conv(field, transfer).contiguous()
    flat = field.reshape(-1, *field.shape[field.ndim - transfer.ndim :])
    first = _conv(flat[:c], transfer)
    out = torch.empty(flat.shape, dtype=first.dtype, device=first.device)
    out[:c] = first
    for i in range(c, flat.shape[0], c):
        out[i : i + c] = _conv(flat[i : i + c], transfer)
    return out.view(field.shape)


class _TransferConv(torch.autograd.Function):
    """``crop(ifft2(fft2(pad(field)) * H))`` with a fixed ``H``. The map is linear and
    its adjoint is the same map with ``conj(H)`` (the FFT scales cancel), so the
    backward is one more chunked pass; no padded tensor is ever saved."""

    @staticmethod
    def forward(ctx, field, transfer):
        ctx.save_for_backward(transfer)
        ctx.real_field = not field.is_complex()
        return _conv_chunked(field, transfer)

    @staticmethod
    def backward(ctx, grad):
        (transfer,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None
        g = _TransferConv.apply(grad, transfer.conj().resolve_conj())
        return (g.real if ctx.real_field else g), None


def conv_fft(field: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    """Multiply the spectrum of ``field`` by ``transfer`` on a (possibly) larger grid.

    Computes ``crop(ifft2(fft2(zero_pad(field)) * transfer))`` where ``transfer``
    has shape ``(..., Ny, Nx)`` with ``Ny >= ny`` and ``Nx >= nx``, unshifted.
    The field keeps its top-left corner; the result has the field's shape.

    On CPU the batch is processed in chunks of about :data:`CHUNK_BYTES` of padded
    spectrum (cache blocking), forward and backward; the backward is the same
    operation with ``conj(transfer)``. A ``transfer`` that requires grad takes the
    plain autograd path.

    Args:
        field: complex tensor ``(..., ny, nx)``.
        transfer: complex tensor broadcastable to ``(..., Ny, Nx)``.
    """
    if transfer.requires_grad:
        # copy the crop: a view would keep the whole padded field alive wherever the
        # next operation saves its input for backward (4x the memory for a 2x pad)
        return _conv(field, transfer).contiguous()
    return _TransferConv.apply(field, transfer)


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
