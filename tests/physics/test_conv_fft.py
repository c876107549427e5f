"""conv_fft: the chunked CPU path and its hand-written adjoint against the plain
whole-batch computation, an explicit dense operator and finite differences.

Tolerances: the chunked and whole-batch paths run the same transforms on the same
fields, so they agree to a few ulps of the result (complex64: 1e-6 relative,
complex128: 1e-12); the dense operator is built by FFTs of unit vectors, so it
agrees to the FFT round-off of an N-point transform (~ log2(N) eps).
"""

import pytest
import torch

import photonn.functional.fourier as fourier
from photonn.functional import conv_fft

RTOL = {torch.complex64: 1e-5, torch.complex128: 1e-12}


def plain(field, H):
    ny, nx = field.shape[-2:]
    spec = torch.fft.fft2(field, s=H.shape[-2:]) * H
    return torch.fft.ifft2(spec)[..., :ny, :nx]


def data(dtype, lead=(6,), n=(5, 7), N=(9, 12), seed=0):
    g = torch.Generator().manual_seed(seed)
    field = torch.randn(*lead, *n, dtype=dtype, generator=g)
    H = torch.randn(*N, dtype=dtype, generator=g)
    return field, H


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Chunks of two fields for the small test grids (the default is 512 KiB)."""
    monkeypatch.setattr(fourier, "CHUNK_BYTES", 2 * 12 * 9 * 16)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("lead", [(6,), (2, 3), (5,), (1,)])
def test_chunked_equals_whole_batch(tiny_chunks, dtype, lead):
    field, H = data(dtype, lead)
    got = conv_fft(field, H)
    ref = plain(field, H)
    assert got.shape == field.shape and got.dtype == dtype and got.is_contiguous()
    torch.testing.assert_close(got, ref, rtol=RTOL[dtype], atol=RTOL[dtype] * ref.abs().max())


def test_chunking_is_used(tiny_chunks):
    field, H = data(torch.complex128, (6,))
    assert fourier._chunk(field, H) == 2
    # a transfer function that would grow the field by broadcasting: one piece
    assert fourier._chunk(field, H.expand(6, 1, *H.shape)) == 0
    assert fourier._chunk(field[:, None], H.expand(3, *H.shape)) == 0


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_chunked_with_wavelength_axis(monkeypatch, dtype):
    """A transfer function per wavelength ``(W, Ny, Nx)``, fields ``(B, W, ny, nx)``:
    chunks run over the batch, the wavelength axis stays whole."""
    g = torch.Generator().manual_seed(1)
    field = torch.randn(5, 3, 5, 7, dtype=dtype, generator=g)
    H = torch.randn(3, 9, 12, dtype=dtype, generator=g)
    monkeypatch.setattr(fourier, "CHUNK_BYTES", 3 * 12 * 9 * field.element_size())
    assert fourier._chunk(field, H) == 1
    ref = plain(field, H)
    torch.testing.assert_close(
        conv_fft(field, H), ref, rtol=RTOL[dtype], atol=RTOL[dtype] * ref.abs().max()
    )


def test_adjoint_against_dense_operator(tiny_chunks):
    """The backward is A^H g for the dense matrix A of the map (built from unit fields)."""
    field, H = data(torch.complex128, (1,), n=(3, 4), N=(5, 6))
    n = 12
    eye = torch.eye(n, dtype=torch.complex128).reshape(n, 3, 4)
    A = plain(eye, H).reshape(n, n).T  # column j = image of unit field j
    x = field.reshape(n).clone().requires_grad_(True)
    g = torch.randn(n, dtype=torch.complex128, generator=torch.Generator().manual_seed(3))
    y = conv_fft(x.reshape(1, 3, 4), H).reshape(n)
    torch.testing.assert_close(y, A @ x.detach(), rtol=1e-12, atol=1e-12)
    (gx,) = torch.autograd.grad(y, x, g)
    torch.testing.assert_close(gx, A.conj().T @ g, rtol=1e-12, atol=1e-12)


def test_gradcheck_chunked(tiny_chunks):
    field, H = data(torch.complex128, (5,), n=(3, 4), N=(5, 6))
    field.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: conv_fft(f, H), (field,))
    assert torch.autograd.gradgradcheck(lambda f: conv_fft(f, H), (field,))


def test_real_field_gets_real_gradient(tiny_chunks):
    field, H = data(torch.complex128, (4,), n=(3, 4), N=(5, 6))
    real = field.real.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: conv_fft(f, H), (real,))
    (g,) = torch.autograd.grad(conv_fft(real, H).abs().sum(), real)
    assert g.dtype == torch.float64


def test_learnable_transfer_takes_autograd_path(tiny_chunks):
    field, H = data(torch.complex128, (4,), n=(3, 4), N=(5, 6))
    H.requires_grad_(True)
    field.requires_grad_(True)
    assert torch.autograd.gradcheck(conv_fft, (field, H))


@pytest.mark.parametrize("pad", [1, 2])
def test_empty_batch_gives_an_empty_field(pad):
    """A batch of 0 fields propagates to 0 fields (MKL rejects empty transforms)."""
    from photonn import Grid
    from photonn.freespace import Propagator
    from photonn.units import mm

    prop = Propagator(Grid(16, 0.4 * mm), 0.75 * mm, 5 * mm, method="bl-asm", pad_factor=pad)
    x = torch.zeros(0, 16, 16, dtype=torch.complex64, requires_grad=True)
    out = prop(x)
    assert out.shape == (0, 16, 16) and out.dtype == torch.complex64
    (g,) = torch.autograd.grad(out.abs().sum(), x, allow_unused=True)
    assert g is None or g.shape == (0, 16, 16)
