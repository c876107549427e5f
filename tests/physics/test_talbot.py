"""Talbot self-imaging of a periodic grating.

With periodic boundaries (pad_factor=1, an integer number of periods in the
window) the Fresnel transfer function multiplies diffraction order m by
``exp(-i pi lambda z m^2 / p^2)``, which is 1 for every m at ``z_T = 2 p^2 / lambda``:
a binary grating reimages exactly (up to the carrier ``exp(ikz)``), and at
``z_T / 2`` it reimages shifted by half a period. Bound 1e-10 (float64 round-off
of phases ~1e3 rad, times the FFT round-off).

The exact (non-paraxial) angular spectrum reimages a grating with orders
0, +-1 only (a cosine grating) at ``z = lambda / (1 - sqrt(1 - lambda^2 / p^2))``,
which tends to ``2 p^2 / lambda`` in the paraxial limit.
"""

from __future__ import annotations

import math

import torch

from photonn import Grid, propagate
from photonn.units import nm, um

LAM = 633 * nm


def _binary_grating(grid, period_px):
    x = torch.arange(grid.nx)
    row = ((x % period_px) < period_px // 2).to(torch.complex128)
    return row.expand(grid.ny, grid.nx).clone()


def test_talbot_binary_grating_fresnel():
    grid = Grid((16, 256), 2 * um)
    period_px = 16
    p = period_px * grid.dx
    field = _binary_grating(grid, period_px)
    z_t = 2 * p**2 / LAM
    carrier = complex(math.cos(2 * math.pi / LAM * z_t), math.sin(2 * math.pi / LAM * z_t))
    out = propagate(field, grid, LAM, z_t, "fresnel", pad_factor=1)
    assert (out - carrier * field).abs().max().item() < 1e-10
    half = propagate(field, grid, LAM, z_t / 2, "fresnel", pad_factor=1)
    carrier_h = complex(math.cos(math.pi / LAM * z_t), math.sin(math.pi / LAM * z_t))
    shifted = torch.roll(field, period_px // 2, dims=-1)
    assert (half - carrier_h * shifted).abs().max().item() < 1e-10
    # and in between, the image is not self-similar (the test can fail)
    quarter = propagate(field, grid, LAM, z_t / 4, "fresnel", pad_factor=1)
    assert (quarter.abs() - field.abs()).abs().max().item() > 0.1


def test_talbot_cosine_grating_asm_exact_distance():
    grid = Grid((8, 240), 1 * um)
    p = 24 * grid.dx
    x = grid.x()
    row = (1 + 0.5 * torch.cos(2 * math.pi * x / p)).to(torch.complex128)
    field = row.expand(grid.ny, grid.nx).clone()
    z_exact = LAM / (1 - math.sqrt(1 - (LAM / p) ** 2))
    out = propagate(field, grid, LAM, z_exact, "asm", pad_factor=1)
    carrier = complex(math.cos(2 * math.pi / LAM * z_exact), math.sin(2 * math.pi / LAM * z_exact))
    assert (out - carrier * field).abs().max().item() < 1e-10
    # the paraxial distance 2 p^2 / lambda misses it by a measurable amount here
    z_parax = 2 * p**2 / LAM
    assert abs(z_parax - z_exact) / z_exact > 1e-4
