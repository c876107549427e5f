"""``photonn.functional.compress_modes`` against independent references.

* Detected intensity: after a random linear map ``T`` of the support's pixels, the kept
  modes' intensity ``sum_k w_k |T u_k|^2`` falls short of the uncompressed mode sum
  (computed directly from the input modes, no SVD) by the dropped part of the
  cross-spectral density ``W_d`` (positive semi-definite): at output pixel ``j`` the gap
  is ``t_j^T W_d conj(t_j)``, in ``[0, ||t_j||^2 tr(W_d)]``, and ``tr(W_d)`` is the dropped
  power. The bound is checked at several ``omitted`` (with the gap non-zero, so the test
  sees the truncation), and with ``omitted = 0`` the two agree to float64 rounding.
  A deliberately broken compression (conjugated modes; singular values instead of their
  squares as weights) must fail the same check.
* A GSM mode set, given as random unitary mixtures of its analytic Hermite-Gauss modes
  (the same cross-spectral density, non-orthogonal fields), compresses to the analytic
  weights ``(1 - q)^2 q^(n+m)`` and to the span of the ``HG_nm`` of each order
  ``n + m``. Tolerances from the sampled modes' Gram matrix ``G``: the weights move by at
  most ``||G - I||_2 * max weight`` (Weyl), the subspaces by at most that over the gap
  to the next order (Davis-Kahan), times 2 for safety.
* Bad input: clear errors naming the value.

Break tests (each run, each failing): keep ``vh[:k].conj()`` instead of ``vh[:k]`` in
``compress_modes`` (the intensity tests fail: the random modes are complex); keep one
mode more than needed (the fewest-modes checks fail); drop the ``* pixel_area`` of the
weights, or the ``sqrt`` of the weights in the SVD matrix (the intensity tests fail);
accept ``omitted = 1`` (the bad-input test fails).
"""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn.functional import CompressedModes, compress_modes, gsm_parameters, hermite_gauss

DA = 2.5e-7  # pixel area [m^2]: not 1, so the unit-power scaling is exercised


def _random_set(seed: int = 0, m: int = 40, n: int = 12):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(m, n, n, 2, generator=g, dtype=torch.float64)
    fields = torch.view_as_complex(f)
    weights = torch.rand(m, generator=g, dtype=torch.float64)
    weights[3] = 0.0  # a zero weight is allowed
    support = torch.rand(n, n, generator=g) > 0.35  # irregular: pixel order matters
    return fields, weights, support, g


def _intensities(fields, weights, support, T):
    """sum_m w_m |T (u_m on the support)|^2, directly."""
    return (weights[:, None] * (fields[:, support] @ T.T).abs() ** 2).sum(0)


def _gap_check(fields, weights, support, res: CompressedModes, T, dA):
    """(ok, gap, bound): the compressed intensity within the dropped power of the reference."""
    ref = _intensities(fields, weights, support, T)
    got = _intensities(res.fields.to(torch.complex128), res.weights.double(), support, T)
    total = dA * float((weights[:, None] * fields[:, support].abs() ** 2).sum())
    dropped = res.omitted * total
    bound = (T.abs() ** 2).sum(1) * dropped / dA  # ||t_j||^2 D / dA
    slack = 1e-10 * float(ref.max())  # float64 rounding of the SVD and of the sums
    gap = ref - got
    ok = bool((gap >= -slack).all() and (gap <= bound + slack).all())
    return ok, gap, bound


@pytest.mark.parametrize("omitted", [0.3, 0.1, 0.02])
def test_detected_intensity_within_the_dropped_power(omitted):
    fields, weights, support, g = _random_set()
    p = int(support.sum())
    T = torch.view_as_complex(torch.randn(50, p, 2, generator=g, dtype=torch.float64))
    res = compress_modes(fields, weights, support=support, omitted=omitted, pixel_area=DA)
    ok, gap, bound = _gap_check(fields, weights, support, res, T, DA)
    assert ok, (float((gap - bound).max()), float(gap.min()))
    assert 0 < res.omitted <= omitted
    assert float(gap.max()) > 1e-3 * float(bound.max())  # the truncation is visible
    # fewest modes: one more dropped would leave out more than `omitted`
    total = DA * float((weights[:, None] * fields[:, support].abs() ** 2).sum())
    assert res.omitted + float(res.weights[-1]) / total > omitted
    # unit-power, orthogonal, zero outside the support, decreasing weights
    u = res.fields.reshape(len(res.weights), -1)
    assert torch.allclose(u.conj() @ u.T * DA, torch.eye(len(u), dtype=u.dtype), atol=1e-12)
    assert bool((res.fields[:, ~support] == 0).all())
    assert bool((res.weights[:-1] >= res.weights[1:]).all())


def test_keep_all_reproduces_the_intensity():
    fields, weights, support, g = _random_set(1)
    T = torch.view_as_complex(
        torch.randn(30, int(support.sum()), 2, generator=g, dtype=torch.float64)
    )
    res = compress_modes(fields, weights, support=support, omitted=0.0, pixel_area=DA)
    ref = _intensities(fields, weights, support, T)
    got = _intensities(res.fields, res.weights, support, T)
    assert torch.allclose(got, ref, rtol=1e-10, atol=0)
    assert res.omitted == 0.0


def test_a_broken_compression_fails_the_check():
    fields, weights, support, g = _random_set(2)
    T = torch.view_as_complex(
        torch.randn(50, int(support.sum()), 2, generator=g, dtype=torch.float64)
    )
    for omitted in (0.05, 0.0):  # the bound at 5 %; equality when every mode is kept
        res = compress_modes(fields, weights, support=support, omitted=omitted, pixel_area=DA)
        assert _gap_check(fields, weights, support, res, T, DA)[0]
        conj = CompressedModes(res.fields.conj(), res.weights, res.omitted)
        assert not _gap_check(fields, weights, support, conj, T, DA)[0]
    sqrt_w = CompressedModes(res.fields, (res.weights * DA).sqrt(), res.omitted)
    assert not _gap_check(fields, weights, support, sqrt_w, T, DA)[0]


def test_gsm_mixture_compresses_to_its_analytic_modes():
    grid = Grid(96, 1e-4)
    waist, sigma_g, wl = 1.2e-3, 0.8e-3, 0.75e-3
    prm = gsm_parameters(waist, sigma_g)
    q, order_max = prm.q, 4
    orders = [(n, s - n) for s in range(order_max + 1) for n in range(s + 1)]
    hg = torch.stack(
        [hermite_gauss(grid, wl, prm.mode_waist, n, m, dtype=torch.complex128) for n, m in orders]
    )
    lam = torch.tensor([(1 - q) ** 2 * q ** (n + m) for n, m in orders], dtype=torch.float64)
    M = len(orders)
    g = torch.Generator().manual_seed(3)
    U, _ = torch.linalg.qr(torch.view_as_complex(torch.randn(M, M, 2, generator=g).double()))
    mixed = torch.einsum("rm,m,mij->rij", U, lam.sqrt().to(U.dtype), hg)  # same CSD
    res = compress_modes(mixed, torch.ones(M, dtype=torch.float64), omitted=0.0,
                         pixel_area=grid.pixel_area)  # fmt: skip
    flat = hg.reshape(M, -1)
    G = flat.conj() @ flat.T * grid.pixel_area
    eps = float(torch.linalg.matrix_norm(G - torch.eye(M, dtype=G.dtype), 2)) * float(lam.max())
    assert eps < 1e-9  # the sampled HG modes are orthonormal to this
    assert len(res.weights) == M
    assert torch.allclose(res.weights, torch.sort(lam, descending=True).values, atol=2 * eps)
    kept = res.fields.reshape(M, -1)
    start = 0
    for s in range(order_max + 1):  # the order-s eigenspace is the span of HG_{n, s-n}
        idx = [i for i, (n, m) in enumerate(orders) if n + m == s]
        a = flat[idx] * math.sqrt(grid.pixel_area)
        b = kept[start : start + len(idx)] * math.sqrt(grid.pixel_area)
        start += len(idx)
        # ||P_a - P_b||_2 = sine of the largest principal angle = sqrt(1 - s_min^2)
        smin = float(torch.linalg.svdvals(a.conj() @ b.T).min())
        sin_max = math.sqrt(max(0.0, 1 - smin**2))
        gap = (1 - q) ** 2 * q**s * (1 - q)  # to the next order
        assert sin_max < 2 * eps / gap + 1e-7, s
    # the counting rule on the analytic weights: keep orders <= 2
    share = [(s + 1) * q**s for s in range(order_max + 1)]
    tail = sum(share[3:]) / sum(share)
    res2 = compress_modes(mixed, torch.ones(M, dtype=torch.float64), omitted=tail * 1.01)
    assert len(res2.weights) == 6
    assert res2.omitted == pytest.approx(tail, rel=1e-8)


def test_dtypes_and_no_gradients():
    fields, weights, support, _ = _random_set(4)
    f32 = fields.to(torch.complex64).requires_grad_()
    res = compress_modes(f32, weights.float(), support=support, omitted=0.1)
    assert res.fields.dtype == torch.complex64 and res.weights.dtype == torch.float32
    assert not res.fields.requires_grad


@pytest.mark.parametrize(
    "change, exc, match",
    [
        (dict(weights=torch.tensor([1.0, -0.5, 1.0])), ValueError, "-0.5 < 0"),
        (dict(weights=torch.tensor([1.0, float("nan"), 1.0])), ValueError, "finite"),
        (dict(weights=torch.tensor([1.0, 1.0])), ValueError, "2 mode weights for 3 modes"),
        (dict(weights=torch.ones(3, 2)), ValueError, r"shape \(M,\)"),
        (dict(fields=torch.ones(4, 4, dtype=torch.complex64)), ValueError, r"\(M, ny, nx\)"),
        (dict(omitted=1.0), ValueError, r"\[0, 1\), got 1.0"),
        (dict(omitted=-0.1), ValueError, r"got -0.1"),
        (dict(omitted=float("nan")), ValueError, "got nan"),
        (dict(omitted="0.1"), TypeError, "omitted"),
        (dict(support=torch.ones(5, 4, dtype=torch.bool)), ValueError, r"\(5, 4\).*4 x 4"),
        (dict(support=torch.ones(4, 4)), TypeError, "boolean"),
        (dict(support=torch.zeros(4, 4, dtype=torch.bool)), ValueError, "empty"),
        (dict(weights=torch.zeros(3)), ValueError, "no power"),
        (dict(pixel_area=0.0), ValueError, "pixel_area"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(change, exc, match):
    kw = dict(fields=torch.ones(3, 4, 4, dtype=torch.complex64), weights=torch.ones(3))
    kw.update(change)
    fields, weights = kw.pop("fields"), kw.pop("weights")
    with pytest.raises(exc, match=match):
        compress_modes(fields, weights, **kw)
