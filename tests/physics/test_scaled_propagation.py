"""Propagation to output planes of any pitch, size and offset, against a direct
Rayleigh-Sommerfeld sum evaluated at the output points.

Set-up: lambda = 0.5 um, input pitch 0.25 um = lambda / 2 (the point-source replicas
of the samples are evanescent, so the Rayleigh-Sommerfeld sum over the samples and the
angular spectrum of the sampled field describe the same field), a Gaussian of waist
1.5 um, 0.5 um off axis (cut by the 16 um grid at exp(-25) = 1.4e-11 of its peak; its
spectrum at the band limit of the window, > 1.2 / um, is below exp(-33)), z = 20 um.
What remains is that cut and float64 round-off (4096 terms of phase k r ~ 300 rad,
each rounded to ~ 300 eps): below 1e-10 of the peak.
"""

from __future__ import annotations

import pytest
import torch

import photonn as pn
from photonn.functional.scaled_propagation import (
    asm_mft,
    propagate_to_plane,
    rs_direct,
    scaled_sampling_report,
)

LAM, Z, D = 0.5e-6, 20e-6, 0.25e-6
GRID = pn.Grid(64, D)


def gaussian(w0=1.5e-6, x0=0.0):
    Y, X = GRID.meshgrid()
    return torch.exp(-((X - x0) ** 2 + Y**2) / w0**2).to(torch.complex128)


def check(out_grid, offset, method):
    u = gaussian(x0=0.5e-6)
    ref = rs_direct(u, GRID, LAM, Z, out_grid, offset)
    got = propagate_to_plane(u, GRID, LAM, Z, out_grid, offset, method=method)
    assert got.shape == ref.shape == out_grid.shape
    err = float((got - ref).abs().max() / ref.abs().max())
    assert err < 1e-10, err
    return ref


def test_shifted_window():
    out = pn.Grid(48, D)
    rep = scaled_sampling_report(GRID, LAM, Z, out, (3e-6, -5e-6))
    assert rep["method"] == "mft" and "within reach" in rep["reason"]
    ref = check(out, (3e-6, -5e-6), "mft")
    assert float(ref.abs().max()) > 0.05  # the beam is in the window


def test_three_times_coarser_plane():
    out = pn.Grid(40, 3 * D)  # 3x the pitch, about 2x the extent
    rep = scaled_sampling_report(GRID, LAM, Z, out)
    assert rep["method"] == "mft" and rep["window"][0] >= 2 * 64
    check(out, (0.0, 0.0), "mft")


def test_a_line_of_2000_samples():
    out = pn.Grid((1, 2000), (D, 0.01e-6))  # 20 um long, through y = 0.3 um
    rep = scaled_sampling_report(GRID, LAM, Z, out, (0.3e-6, 0.0))
    assert rep["method"] == "mft" and rep["window"][1] >= 2 * 10e-6 / D
    check(out, (0.3e-6, 0.0), "mft")
    # few points: the direct sum is chosen
    few = pn.Grid((1, 3), (D, 1e-6))
    rep = scaled_sampling_report(GRID, LAM, Z, few)
    assert rep["method"] == "direct" and "direct Rayleigh-Sommerfeld" in rep["reason"]


def test_same_grid_matches_the_library_propagator():
    """On the input's own grid, the scaled method is the band-limited angular spectrum."""
    u = gaussian()
    a = asm_mft(u, GRID, LAM, Z, GRID)
    prop = pn.freespace.Propagator(GRID, LAM, Z, "bl-asm", 4.0, dtype=torch.complex128)
    b = prop(u)
    assert float((a - b).abs().max() / b.abs().max()) < 1e-6


def test_bad_planes():
    with pytest.raises(ValueError, match="must lie downstream"):
        scaled_sampling_report(GRID, LAM, -1e-6, GRID)
    with pytest.raises(ValueError, match="outside what either method affords"):
        scaled_sampling_report(GRID, LAM, Z, pn.Grid(2048, D), (1.0, 1.0))
    coarse = pn.Grid(16, 0.4e-6)
    assert "exceeds lambda / 2" in scaled_sampling_report(coarse, LAM, Z, coarse)["pitch_note"]
    with pytest.raises(ValueError, match="method must be"):
        propagate_to_plane(gaussian(), GRID, LAM, Z, GRID, method="fresnel")
