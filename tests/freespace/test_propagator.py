"""Propagator and photonn.propagate: API, shapes, dtypes, errors, caching, devices."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import photonn
from photonn import Grid, SamplingWarning, propagate
from photonn.freespace import Propagator
from photonn.functional import gaussian_beam
from photonn.units import cm, mm, nm, um

GRID = Grid((32, 40), 4 * um)
LAM = 633 * nm


def _field(shape=(32, 40), dtype=torch.complex64):
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(0))


# -- smoke / shape -----------------------------------------------------------
@pytest.mark.parametrize("method", ["asm", "bl-asm", "fresnel", "fresnel-ir", "rs"])
@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_shape_kept_any_batch(method, batch):
    prop = Propagator(GRID, LAM, 0.1 * mm, method=method)
    x = _field((*batch, *GRID.shape))
    out = prop(x)
    assert out.shape == x.shape and out.dtype == torch.complex64
    assert prop.output_grid == GRID


def test_functional_matches_module():
    x = _field(dtype=torch.complex128)
    prop = Propagator(GRID, LAM, 0.2 * mm, dtype=torch.complex128)
    assert torch.allclose(prop(x), propagate(x, GRID, LAM, 0.2 * mm), atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("method", ["asm", "bl-asm", "fresnel", "fresnel-ir", "rs"])
def test_multi_wavelength_axis_matches_one_propagator_per_wavelength(method, dtype):
    """Each slice of the wavelength axis equals an independent single-wavelength step.

    With ``trim=False`` every step pads to the same ``pad_factor * n`` FFT grid, so
    the two computations differ only by FFT round-off: a forward and an inverse FFT
    of size N carry a relative error of about ``eps log2 N`` each; allowed is
    ``4 eps log2 N`` of the output's peak (eps of the dtype's real part).
    """
    lams = [450 * nm, 550 * nm, 650 * nm]
    prop = Propagator(GRID, lams, 0.2 * mm, method, trim=False, dtype=dtype)
    x = _field((2, 3, *GRID.shape), dtype)
    out = prop(x)
    assert out.shape == x.shape
    eps = torch.finfo(prop.H.real.dtype).eps
    n_fft = prop.padded_shape[0] * prop.padded_shape[1]
    tol = 4 * eps * math.log2(n_fft)
    for i, lam in enumerate(lams):
        single = Propagator(GRID, lam, 0.2 * mm, method, trim=False, dtype=dtype)
        assert single.padded_shape == prop.padded_shape
        ref = single(x[:, i])
        err = ((out[:, i] - ref).abs().max() / ref.abs().max()).item()
        assert err < tol, f"{lam=}: relative error {err:.3g} > {tol:.3g}"
        # and the functional form, which builds its own kernel per call
        ref_f = propagate(x[:, i], GRID, lam, 0.2 * mm, method, trim=False)
        err = ((out[:, i] - ref_f).abs().max() / ref_f.abs().max()).item()
        assert err < tol, f"{lam=}: relative error {err:.3g} against propagate()"
    # different wavelengths must give different fields (the axis is not ignored)
    assert (out[:, 0] - out[:, 2]).abs().max() > 0.1 * out.abs().max()
    with pytest.raises(ValueError, match="wavelength axis"):
        prop(_field((2, *GRID.shape), dtype))


def test_multi_wavelength_trimmed_pads_for_the_longest_wavelength():
    """With trimming, the common FFT grid is the longest wavelength's own: that slice
    equals its single-wavelength step (tolerance as above); the others pad at least
    as far as they would alone."""
    lams = [450 * nm, 550 * nm, 650 * nm]
    prop = Propagator(GRID, lams, 0.2 * mm, dtype=torch.complex128)
    x = _field((2, 3, *GRID.shape), torch.complex128)
    out = prop(x)
    for lam in lams:
        single = Propagator(GRID, lam, 0.2 * mm, dtype=torch.complex128)
        assert all(a >= b for a, b in zip(prop.padded_shape, single.padded_shape))
    longest = Propagator(GRID, lams[-1], 0.2 * mm, dtype=torch.complex128)
    assert longest.padded_shape == prop.padded_shape
    ref = longest(x[:, -1])
    tol = 4 * torch.finfo(torch.float64).eps * math.log2(math.prod(prop.padded_shape))
    assert ((out[:, -1] - ref).abs().max() / ref.abs().max()).item() < tol


def test_complex128_and_complex64_agree():
    x = _field(dtype=torch.complex128)
    p64 = Propagator(GRID, LAM, 1 * mm, dtype=torch.complex64)
    p128 = Propagator(GRID, LAM, 1 * mm, dtype=torch.complex128)
    a, b = p64(x.to(torch.complex64)), p128(x)
    assert ((a.to(torch.complex128) - b).norm() / b.norm()).item() < 1e-6


def test_transfer_function_is_cached_non_persistent_buffer():
    prop = Propagator(GRID, LAM, 1 * mm)
    assert "H" in dict(prop.named_buffers())
    assert prop.state_dict() == {}
    h_id = prop.H.data_ptr()
    prop(_field())
    assert prop.H.data_ptr() == h_id
    assert list(prop.parameters()) == []


def test_negative_distance_propagates_backward():
    g = Grid(128, 4 * um)
    x = gaussian_beam(g, LAM, 30 * um, dtype=torch.complex128)
    fwd = propagate(x, g, LAM, 0.5 * mm)
    ref = gaussian_beam(g, LAM, 30 * um, -0.5 * mm, dtype=torch.complex128)
    back = propagate(x, g, LAM, -0.5 * mm)
    assert ((back - ref).norm() / ref.norm()).item() < 1e-5
    assert ((fwd - back).norm() / ref.norm()).item() > 1e-2


def test_fraunhofer_output_grid():
    prop = Propagator(GRID, LAM, 1.0, method="fraunhofer", pad_factor=2)
    assert prop.output_grid.shape == (64, 80)
    assert prop.output_grid.dx == pytest.approx(LAM * 1.0 / (80 * 4 * um))
    assert prop(_field()).shape == (64, 80)


def test_trimmed_padding_is_smaller_and_fast():
    short = Propagator(Grid(256, 4 * um), LAM, 1 * mm)
    full = Propagator(Grid(256, 4 * um), LAM, 1 * mm, trim=False)
    assert full.padded_shape == (512, 512)
    # light cone: 1 mm * tan(asin(633 nm / 8 um)) = 79.4 um = 20 px -> 256 + 21 -> 280
    assert short.padded_shape == (280, 280)
    x = gaussian_beam(Grid(256, 4 * um), LAM, 60 * um)  # complex64 by default
    a, b = short(x), full(x)
    assert ((a - b).norm() / b.norm()).item() < 1e-6


# -- sampling ----------------------------------------------------------------
def test_aliasing_warns_and_strict_raises():
    g = Grid(64, 4 * um)
    with pytest.warns(SamplingWarning, match="undersampled"):
        Propagator(g, LAM, 10 * cm)
    with pytest.raises(ValueError, match="undersampled"):
        Propagator(g, LAM, 10 * cm, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Propagator(g, LAM, 10 * cm, method="bl-asm")  # band-limits instead of aliasing
        Propagator(g, LAM, 0.1 * mm)


def test_sampling_report_fields():
    rep = photonn.sampling_report(Grid(512, 4 * um), LAM, 1 * cm, "fresnel", pad_factor=2)
    assert rep.padded_shape[0] <= 1024
    n_pad = rep.padded_shape[0]
    assert rep.critical_distance == pytest.approx(n_pad * (4 * um) ** 2 / LAM)
    assert rep.impulse_response_aliases and not rep.transfer_function_aliases
    assert "critical distance" in str(rep)
    bl = photonn.sampling_report(Grid(64, 4 * um), LAM, 10 * cm, "bl-asm")
    assert not bl.aliases and not bl.wraps and bl.band_fraction[0] < 1


# -- exceptions --------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"wavelength": -1e-6}, ValueError, "wavelength"),
        ({"wavelength": 0.0}, ValueError, "wavelength"),
        ({"wavelength": [500e-9, -1.0]}, ValueError, r"wavelength\[1\]"),
        ({"distance": float("inf")}, ValueError, "distance"),
        ({"method": "fft"}, ValueError, "method must be one of"),
        ({"pad_factor": 0.5}, ValueError, "pad_factor"),
        ({"dtype": torch.float32}, TypeError, "complex64"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    args = {"wavelength": LAM, "distance": 1 * mm, "method": "asm", "pad_factor": 2.0}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        Propagator(GRID, **args)


def test_bad_fields():
    prop = Propagator(GRID, LAM, 1 * mm)
    with pytest.raises(TypeError, match="complex64 or complex128"):
        prop(torch.zeros(GRID.shape))
    with pytest.raises(ValueError, match=r"\(32, 40\)"):
        prop(torch.zeros(40, 32, dtype=torch.complex64))
    with pytest.raises(TypeError, match="built for torch.complex64"):
        prop(torch.zeros(GRID.shape, dtype=torch.complex128))
    with pytest.raises(TypeError, match="torch.Tensor"):
        propagate([[1.0]], GRID, LAM, 1 * mm)
    with pytest.raises(TypeError, match="photonn.Grid"):
        Propagator((32, 40), LAM, 1 * mm)
    with pytest.raises(ValueError, match="fraunhofer"):
        Propagator(GRID, LAM, -1.0, method="fraunhofer")


def test_cast_to_real_dtype_is_refused():
    prop = Propagator(GRID, LAM, 1 * mm)
    with pytest.raises(TypeError, match="imaginary"):
        prop.to(torch.float32)
    assert prop.H.is_complex()
    prop.to("cpu")  # device moves are fine
    prop.float()  # .float() leaves complex tensors alone


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x = _field(dtype=torch.complex64)
    prop = Propagator(GRID, LAM, 1 * mm)
    ref = prop(x)
    out = prop.to("cuda")(x.cuda()).cpu()
    assert torch.allclose(out, ref, atol=1e-5)
    assert propagate(x.cuda(), GRID, LAM, 1 * mm).device.type == "cuda"
    with pytest.raises(ValueError, match="cuda"):
        prop(x)
