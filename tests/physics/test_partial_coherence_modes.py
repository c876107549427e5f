"""The illumination of ``experiments/partial_coherence``: LED modes and their compression.

* The LED-like source (a disk emitter in the front focal plane of an ideal collimator)
  must give the van Cittert-Zernike degree of coherence on the object,
  ``|mu(dr)| = |2 J1(v) / v|`` with ``v = k a dr / f = 2 dr / sigma_eq``. The emitter is a
  disk sampled with about 10 (sigma_eq = 2 mm) and 20 (1 mm) pixels per radius; its
  pixelation moves ``|mu|`` by at most 2.2e-3 here, so the bound is 5e-3.
* The compression to the coherent modes of the light inside the object's support must
  reproduce, after any passive linear system, the detected intensity of the full mode
  set: the omitted eigen-power bounds the total error (the system is a contraction, so the
  output power of the omitted part is at most its input power), and at tolerance 1e-9
  the two agree to float32 rounding.

Break tests: use ``k = 2 pi / WL`` for every wavelength in ``led_modes`` and the
coherence test fails (both sizes); keep ``vh[:k].conj()`` instead of ``vh[:k]`` in
``photonn.functional.compress_modes`` (which ``compress`` calls) and the compression
test fails on the random (asymmetric) mode set.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch
from scipy.special import j1

from photonn import Grid
from photonn.freespace import PhaseMask, Propagator

RUN = Path(__file__).resolve().parents[2] / "experiments" / "partial_coherence" / "run.py"


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("partial_coherence_run", RUN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("sigma_mm", [2.0, 1.0])
def test_led_degree_of_coherence_is_van_cittert_zernike(run, sigma_mm):
    parts, _, a = run.led_modes(sigma_mm)
    c = run.N // 2
    for lam, f, w in parts:  # every wavelength: v = k a dr / f, k = 2 pi / lam
        f = f.to(torch.complex128)
        w = w.to(torch.float64)
        for d in (1, 2, 3, 5, 8):
            J = (w * f[:, c, c].conj() * f[:, c, c + d]).sum()
            i1 = (w * f[:, c, c].abs() ** 2).sum()
            i2 = (w * f[:, c, c + d].abs() ** 2).sum()
            mu = (J.abs() / (i1 * i2).sqrt()).item()
            v = 2 * math.pi / lam * a * d * run.PITCH / run.LED_FOCAL
            assert mu == pytest.approx(abs(2 * j1(v) / v), abs=5e-3), (lam, d)


@pytest.mark.parametrize("kind, sigma_mm", [("gsm", 2.0), ("led", 2.0), ("random", 0.0)])
def test_compressed_modes_reproduce_the_detected_intensity(run, kind, sigma_mm):
    """GSM and LED sets are symmetric (closed under complex conjugation); the random set
    (40 complex modes of random weights) is not, so it pins the sign of the phases."""
    grid = Grid(run.N, run.PITCH)
    if kind == "gsm":
        f, w, _ = run.gsm_modes(sigma_mm)
    elif kind == "led":
        parts, _, _ = run.led_modes(sigma_mm)
        _, f, w = parts[1]  # the centre wavelength
    else:
        g = torch.Generator().manual_seed(3)
        f = torch.randn(40, run.N, run.N, dtype=torch.complex128, generator=g)
        f = f / (f.abs() ** 2).sum((-2, -1), keepdim=True).sqrt() / run.PITCH
        w = torch.rand(40, dtype=torch.float64, generator=g)
    sup = (slice(22, 42), slice(22, 42))
    obj = torch.zeros(run.N, run.N, dtype=torch.complex128)
    obj[sup] = torch.rand(20, 20, generator=torch.Generator().manual_seed(0))
    mask = PhaseMask(
        grid, init="uniform", generator=torch.Generator().manual_seed(1), dtype=torch.complex128
    )
    prop = Propagator(grid, run.WL, 0.02, "bl-asm", 2.0, dtype=torch.complex128)

    def detected(fields, weights):
        """Object, a step, a random phase mask, a step; the weighted intensity sum."""
        with torch.no_grad():
            u = prop(mask(prop(fields.to(torch.complex128) * obj)))
        return (weights.to(torch.float64)[:, None, None] * u.abs() ** 2).sum(0)

    full = detected(f, w)
    w64 = w.to(torch.float64)[:, None, None]
    support_power = float((w64 * f[:, 22:42, 22:42].abs() ** 2).sum()) * grid.pixel_area
    for tol in (0.1, 0.01):
        cf, cw, info = run.compress(f, w, sup, tol)
        assert info["omitted_in_support"] <= tol
        err = float((detected(cf, cw) - full).abs().sum()) * grid.pixel_area
        assert err <= tol * support_power * 1.001 + 1e-6 * support_power, (tol, err)
    cf, cw, info = run.compress(f, w, sup, 1e-9)
    near = detected(cf, cw)
    assert torch.allclose(near, full, rtol=0, atol=1e-5 * float(full.max()))
