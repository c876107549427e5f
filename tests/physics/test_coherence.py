"""Partially coherent light by coherent modes, against analytic coherence theory (float64).

Every test pushes the modes through photonn's own elements (masks, ``Propagator``)
and detects with :func:`photonn.functional.mode_intensity`.

Tolerances (derived):
* Truncation of a Gaussian Schell-model source to the modes with ``n + m <= N`` leaves
  out a fraction ``eps`` of the power. Each normalised Hermite function obeys Cramer's
  bound ``|psi_n(t)| <= pi^-1/4``, so every omitted 2-D mode satisfies ``|u|^2 <= 2c/pi``
  and the cross-spectral density changes pointwise by at most ``eps P 2c/pi``. Relative
  to the intensity ``S(r) = (2 a P / pi) exp(-2 a r^2)`` this is ``eps (c/a) exp(2 a r^2)``.
* A fringe visibility ``V = 2|W12| / (W11 + W22)`` then moves by at most twice that
  bound at the pinholes.
* Van Cittert-Zernike: the source is a disk of pixels, whose far-field transform
  differs from ``2 J1(v)/v`` by its pixelation; the test computes that difference
  independently (a direct sum over the disk's pixels) and allows exactly it plus 1e-9.
* GSM spreading: every Hermite-Gauss mode of waist ``1/sqrt(c)`` widens by the same
  factor, so the ratio ``sigma(z)^2 / sigma(0)^2`` of the truncated sum is exact;
  the angular-spectrum step differs from the paraxial law by ``~theta^2`` with
  ``theta ~ sqrt(2N+1) / (k w_c) < 0.01``: tolerance 1e-3. ``sigma(0)`` itself is short
  of ``w/2`` by the omitted high-order modes, at most ``eps (2N + 3) c / a`` relative.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy.special import j1

from photonn import Grid
from photonn.freespace import (
    GaussianSchellSource,
    IncoherentSource,
    IntensityDetector,
    Propagator,
    RegionDetector,
    detect_modes,
)
from photonn.functional import circular_aperture, gsm_width, mode_intensity

WL = 633e-9
C128 = torch.complex128


def _gsm(grid, waist, sigma_g, **kw):
    return GaussianSchellSource(grid, WL, waist=waist, coherence_width=sigma_g, dtype=C128, **kw)


@pytest.mark.parametrize("sigma_g", [8e-6, 12e-6, 20e-6])
def test_young_fringe_visibility_is_the_degree_of_coherence(sigma_g):
    """Two pinholes 16 um apart in a GSM beam (w = 24 um): far-field fringes of
    visibility |mu(d)| = exp(-d^2 / (2 sigma_g^2))."""
    g = Grid(256, 1e-6)
    waist, s = 24e-6, 16
    src = _gsm(g, waist, sigma_g)
    eps = 1e-4
    fields, weights = src.modes(tolerance=eps)
    c = g.ny // 2
    mask = torch.zeros(g.shape, dtype=C128)
    mask[c, c - s // 2] = mask[c, c + s // 2] = 1
    far = Propagator(g, WL, 0.1, "fraunhofer", pad_factor=1, dtype=C128)(fields * mask)
    I = mode_intensity(far, weights)
    row = I[c]
    period = g.nx // s  # fringe period in samples; the maximum sits on axis
    vis = ((row[c] - row[c + period // 2]) / (row[c] + row[c + period // 2])).item()
    d = s * g.dx
    expected = src.degree_of_coherence(d).item()
    p = src.params
    tol = 2 * eps * (p.c / p.a) * math.exp(p.a * d**2 / 2)
    assert abs(vis - expected) < tol, (vis, expected, tol)
    # and the fringes are the cosine of a two-beam interference
    k = torch.arange(g.nx, dtype=torch.float64) - c
    model = row[c] * (1 + vis * torch.cos(2 * math.pi * k * s / g.nx)) / (1 + vis)
    assert torch.allclose(row, model, rtol=1e-9, atol=1e-12 * row.max())


def test_gsm_mode_sum_is_the_cross_spectral_density():
    g = Grid(256, 1e-6)
    waist, sigma_g, P = 24e-6, 10e-6, 2.5e-3
    src = _gsm(g, waist, sigma_g, power=P)
    eps = 1e-6
    fields, weights = src.modes(tolerance=eps)
    I = mode_intensity(fields, weights)
    p = src.params
    S = 2 * P * p.a / math.pi * torch.exp(-2 * p.a * g.r2())
    bound = eps * P * 2 * p.c / math.pi
    assert (I - S).abs().max() <= bound
    c = g.ny // 2
    W = (weights[:, None] * fields[:, c, c, None] * fields[:, c, :].conj()).sum(0)
    Wref = torch.sqrt(S[c, c] * S[c]) * src.degree_of_coherence(g.x())
    assert (W - Wref).abs().max() <= bound


def test_energy_is_the_sum_of_mode_weights():
    """Power of the detected intensity = sum of weights = P (1 - omitted), before and
    after propagation (a passive, lossless step; the modes are unit power)."""
    g = Grid(256, 1e-6)
    P = 3e-3
    src = _gsm(g, 20e-6, 8e-6, power=P)
    t = src.truncation(1e-3)
    fields, weights = src.modes(tolerance=1e-3)
    assert fields.shape == (t.num_modes, 256, 256) and weights.shape == (t.num_modes,)
    assert abs(weights.sum().item() - P * (1 - t.omitted)) < 1e-15
    assert t.omitted <= 1e-3
    power0 = mode_intensity(fields, weights).sum() * g.pixel_area
    assert abs(power0.item() - weights.sum().item()) < 1e-12 * P
    out = Propagator(g, WL, 2e-4, "bl-asm", dtype=C128)(fields)
    det = IntensityDetector(g)
    power1 = detect_modes(det.power, out, weights)
    assert abs(power1.item() - weights.sum().item()) < 1e-9 * P
    # detect_modes agrees with mode_intensity for an ordinary detector
    assert torch.allclose(detect_modes(det, out, weights), mode_intensity(out, weights))
    rd = RegionDetector(g, 2, dtype=C128)
    assert torch.allclose(
        detect_modes(rd, out, weights),
        rd.readout(torch.einsum("m,mk->k", weights, rd.energies(out))),
    )


def test_gsm_beam_spreads_by_its_analytic_law():
    g = Grid(320, 4e-6)
    waist, sigma_g = 48e-6, 48e-6
    src = GaussianSchellSource(g, WL, waist=waist, coherence_width=sigma_g, dtype=torch.complex64)
    eps = 1e-5
    t = src.truncation(eps)
    fields, weights = src.modes(tolerance=eps)
    k = 2 * math.pi / WL
    z = k * waist**2 * math.sqrt(5.25 / 2) / 2  # w(z) = 2.5 w
    out = Propagator(g, WL, z, "bl-asm", dtype=torch.complex64)(fields)
    x2 = g.x() ** 2

    def sigma2(field):
        I = mode_intensity(field, weights).double().sum(0)  # marginal along x
        return ((I * x2).sum() / I.sum()).item()

    s0, s1 = sigma2(fields), sigma2(out)
    p = src.params
    assert abs(s0 / (waist / 2) ** 2 - 1) < eps * (2 * t.max_order + 3) * p.c / p.a
    expected = (gsm_width(waist, sigma_g, WL, z) / waist) ** 2
    assert abs(s1 / s0 / expected - 1) < 1e-3, (s1 / s0, expected)
    # a coherent beam of the same waist spreads less: the law is not the coherent one
    coherent = 1 + (2 * z / (k * waist**2)) ** 2
    assert expected > 1.5 * coherent


def _vcz(R, samples=None, method="points", seed=0):
    """|mu| along x in the far field of an incoherent disk of R pixels, from the modes."""
    n, dx, z = 2 * R + 8, 1e-6, 1e-2
    g = Grid(n, dx)
    disk = circular_aperture(g, 2 * R * dx)
    src = IncoherentSource(g, WL, disk, dtype=C128)
    gen = torch.Generator().manual_seed(seed)
    fields, weights = src.modes(samples, method=method, generator=gen if samples else None)
    prop = Propagator(g, WL, z, "fraunhofer", pad_factor=4, dtype=C128)
    c = prop.output_grid.ny // 2
    J = 0
    for fc, wc in zip(fields.split(128), weights.split(128)):
        o = prop(fc)[:, c, c : c + 24]
        J = J + (wc[:, None] * o[:, :1] * o.conj()).sum(0)
    mu = (J / J[0]).abs()
    u = prop.output_grid.dx * torch.arange(24, dtype=torch.float64)
    return mu, u, g, disk, z


def test_van_cittert_zernike_for_an_incoherent_disk():
    R = 12
    mu, u, g, disk, z = _vcz(R)
    k = 2 * math.pi / WL
    # independent reference 1: the pixel disk's own transform, a direct sum
    Y, X = g.meshgrid()
    xs = X[disk > 0]
    direct = torch.stack([torch.exp(-1j * k * xs * ui / z).mean() for ui in u]).abs()
    assert torch.allclose(mu, direct, atol=1e-9)
    # reference 2: the theorem, |mu| = |2 J1(v) / v|, v = k a u / z (a: same-area radius)
    a = math.sqrt(int((disk > 0).sum()) / math.pi) * g.dx
    v = (k * a * u / z).numpy()
    airy = torch.ones_like(u)
    airy[1:] = torch.from_numpy(abs(2 * j1(v[1:]) / v[1:]))
    assert v[-1] > 7.0156  # covers the first two zeros (3.83 and 7.02)
    pixelation = (direct - airy).abs().max().item()
    assert (mu - airy).abs().max() <= pixelation + 1e-9
    assert pixelation < 0.02  # the pixel disk is a disk


def test_sampled_incoherent_source_converges_as_one_over_sqrt_samples():
    """Sampled emitters (random pixels, random phase screens) are unbiased; the error of
    |mu| falls as 1/sqrt(M): rms over the lags <= 3/sqrt(M) (a 3-sigma bound, since each
    sample contributes a unit phasor: variance (1 - |mu|^2)/M <= 1/M)."""
    exact, *_ = _vcz(8)
    errs = {}
    for method in ("points", "phases"):
        for M in (64, 1024):
            mu, *_ = _vcz(8, samples=M, method=method, seed=1)
            errs[method, M] = ((mu - exact) ** 2).mean().sqrt().item()
            assert errs[method, M] < 3 / math.sqrt(M), (method, M, errs[method, M])
    assert errs["points", 1024] < errs["points", 64]
