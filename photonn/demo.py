"""The propagation demo behind ``photonn demo``: focus a plane wave through a lens.

A plane wave (633 nm) passes a 2 mm circular aperture and a thin lens of focal
length 10 cm, and is propagated to the focal plane by the band-limited angular
spectrum method. The focal spot is compared with the Airy pattern
``[2 J1(v)/v]^2``, whose first zero lies at ``1.22 lambda f / D``.
"""

from __future__ import annotations

import math
import time

import torch

from .freespace import Propagator
from .functional import circular_aperture, thin_lens_phase
from .grid import Grid
from .units import cm, mm, nm, um


def focal_spot(
    n: int = 1024,
    pitch: float = 4 * um,
    wavelength: float = 633 * nm,
    diameter: float = 2 * mm,
    focal_length: float = 10 * cm,
    method: str = "bl-asm",
    dtype=torch.complex128,
):
    """Field at the focal plane of an apertured thin lens; returns ``(grid, aperture, field)``."""
    grid = Grid(n, pitch)
    aperture = circular_aperture(grid, diameter)
    field = aperture * torch.exp(1j * thin_lens_phase(grid, wavelength, focal_length))
    prop = Propagator(grid, wavelength, focal_length, method=method, dtype=dtype)
    return grid, aperture, prop(field.to(dtype))


def airy_first_zero(grid: Grid, intensity: torch.Tensor) -> float:
    """Radius [m] of the first minimum of the x cut through the centre (parabolic refinement)."""
    row = intensity[grid.ny // 2, grid.nx // 2 :].double()
    i = 1
    while i + 1 < row.numel() and not (row[i] <= row[i - 1] and row[i] <= row[i + 1]):
        i += 1
    a, b, c = row[i - 1].item(), row[i].item(), row[i + 1].item()
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom > 0 else 0.0
    return (i + shift) * grid.dx


def run_demo(out: str = "photonn_demo.png") -> int:
    wavelength, diameter, f = 633 * nm, 2 * mm, 10 * cm
    t0 = time.perf_counter()
    grid, aperture, field = focal_spot(wavelength=wavelength, diameter=diameter, focal_length=f)
    elapsed = time.perf_counter() - t0
    intensity = field.abs() ** 2
    r0 = airy_first_zero(grid, intensity)
    expected = 1.22 * wavelength * f / diameter
    p_in = aperture.sum().item() * grid.pixel_area
    p_out = intensity.sum().item() * grid.pixel_area
    print("photonn demo: plane wave -> 2 mm aperture -> f = 10 cm lens -> focal plane (bl-asm)")
    print(
        f"  grid {grid.shape} at {grid.dx / um:.1f} um, wavelength {wavelength / nm:.0f} nm, "
        f"{elapsed * 1e3:.0f} ms"
    )
    print(
        f"  Airy first zero: measured {r0 / um:.2f} um, 1.22 lambda f / D = {expected / um:.2f} um "
        f"(difference {abs(r0 - expected) / grid.dx:.2f} px)"
    )
    print(
        f"  power in {p_in:.6e} W/(unit intensity), at focus {p_out:.6e} (ratio {p_out / p_in:.6f})"
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from scipy.special import j1
    except ImportError:
        print("  (no picture: install the plot extra, pip install 'photonn[plot]')")
        return 0
    c = grid.nx // 2
    w = 40
    x = grid.x()[c - w : c + w].numpy() / um
    cut = intensity[grid.ny // 2, c - w : c + w].numpy()
    v = 2 * math.pi / wavelength * (diameter / 2) * (grid.x()[c - w : c + w].numpy()) / f
    with torch.no_grad():
        import numpy as np

        safe = np.where(np.abs(v) < 1e-12, 1e-12, v)
        airy = (2 * j1(safe) / safe) ** 2 * cut.max()
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    L = grid.extent[1] / mm / 2
    ax[0].imshow(aperture.numpy(), extent=[-L, L, -L, L], cmap="gray")
    ax[0].set(title="aperture (2 mm)", xlabel="x [mm]", ylabel="y [mm]")
    sub = intensity[grid.ny // 2 - w : grid.ny // 2 + w, c - w : c + w].numpy()
    ax[1].imshow(np.log10(sub / sub.max() + 1e-6), extent=[x[0], x[-1], x[0], x[-1]], cmap="magma")
    ax[1].set(title="focal plane, log10 intensity", xlabel="x [um]", ylabel="y [um]")
    ax[2].plot(x, cut, "o", ms=3, label="photonn (bl-asm)")
    ax[2].plot(x, airy, "-", label="Airy [2 J1(v)/v]^2")
    ax[2].axvline(expected / um, color="gray", ls=":", label="1.22 lambda f / D")
    ax[2].set(title="x cut through the focus", xlabel="x [um]", ylabel="intensity")
    ax[2].legend()
    fig.tight_layout()
    from ._io import atomic_path

    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    print(f"  wrote {out}")
    return 0
