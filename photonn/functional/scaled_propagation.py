"""Propagation to an output plane of any pitch, size and offset.

The input is sampled on a :class:`~photonn.Grid` (``(ny, nx)`` samples of pitch
``(dy, dx)``, the axis at index ``n // 2``); the output plane at distance ``z`` is
another grid, ``out_grid`` (its own shape and pitch: finer, coarser, a 2000 x 1 line),
whose centre sample ``(M // 2)`` lies at ``offset = (y0, x0)`` [m] from the axis.
Two exact methods, chosen by :func:`scaled_sampling_report`:

* ``"mft"``: the band-limited angular spectrum (Matsushima and Shimobaba 2009) of
  the input, zero-padded to a window ``W`` wide enough that every input-output pair
  lies within reach (``W >= 2 max |x' - x|`` per axis, so the periodic copies of the
  window never reach an output sample and the band limit cuts only waves that
  connect no input point to any output point), and at least twice the input (the
  2x padding of Matsushima and Shimobaba, which keeps the band wide), evaluated at
  the output samples by matrix Fourier transforms (one matrix per axis:
  ``exp(2 pi i f x')``; the matrix form of the chirp-z transform, Soummer et al.
  2007). Cost ``~ Ny Nx (log + Mx) + Mx Ny My``.
* ``"direct"``: the Rayleigh-Sommerfeld integral (first kind) as a direct sum over
  the input samples, ``U(x') = sum U(x) z / r (1 / r - i k) exp(i k r) / (2 pi r) dx dy``.
  Cost ``ny nx My Mx``: the choice for few output points. The samples act as point
  sources: equal to the angular spectrum of the sampled field when the pitch is at
  most ``lambda / 2`` (their spectral replicas are then evanescent).

Conventions as in :mod:`photonn.functional.propagation`: fields ``exp(i(kz - wt))``,
``(..., ny, nx)`` complex; the transfer function's phases in float64.
"""

from __future__ import annotations

import math

import torch

from ..grid import Grid
from .fourier import centered_fft2, fast_size, pad_centered

__all__ = ["scaled_sampling_report", "propagate_to_plane", "rs_direct", "asm_mft"]

#: the largest padded angular-spectrum window per axis the "mft" method builds
MAX_WINDOW = 16384


def _check(grid, wavelength, z, out_grid, offset):
    if not isinstance(grid, Grid) or not isinstance(out_grid, Grid):
        raise TypeError("grid and out_grid must be photonn.Grid objects")
    lam, z = float(wavelength), float(z)
    if not math.isfinite(lam) or lam <= 0:
        raise ValueError(f"wavelength must be a finite number > 0 [m], got {wavelength!r}")
    if not math.isfinite(z) or z <= 0:
        raise ValueError(
            f"z = {z!r} m: the output plane must lie downstream (z > 0); for z = 0 the field "
            "is its own output, and backward steps need the plain angular spectrum"
        )
    oy, ox = (float(v) for v in offset)
    if not (math.isfinite(oy) and math.isfinite(ox)):
        raise ValueError(f"offset must be finite (y0, x0) [m], got {offset!r}")
    return lam, z, (oy, ox)


def _extent(n: int, d: float, centre: float = 0.0) -> tuple[float, float]:
    """First and last sample positions of ``n`` samples of pitch ``d`` with index n // 2
    at ``centre``."""
    return centre - (n // 2) * d, centre + (n - 1 - n // 2) * d


def _window(n_in, d_in, m_out, d_out, centre) -> int:
    a0, a1 = _extent(n_in, d_in)
    b0, b1 = _extent(m_out, d_out, centre)
    reach = max(b1 - a0, a1 - b0)
    return fast_size(max(2 * n_in, math.ceil(2 * reach / d_in - 1e-9)))


def scaled_sampling_report(grid, wavelength, z, out_grid, offset=(0.0, 0.0)) -> dict:
    """Which method propagates ``grid`` to ``out_grid`` (centred at ``offset``) exactly,
    and why.

    Returns:
        ``{"method", "reason", "window", "cost_direct", "cost_mft", "pitch_note"}``:
        ``window`` the padded angular-spectrum samples ``(Ny, Nx)`` the ``"mft"``
        method needs, the two costs in complex multiply-adds (a direct term counted as
        ten), and a note when the input
        pitch exceeds ``lambda / 2`` (the methods then model the samples differently).

    Raises:
        ValueError: ``z <= 0``, bad wavelength or offset; or a plane so far off axis
            that neither method is affordable (the message names the window and the fix).
    """
    lam, z, (oy, ox) = _check(grid, wavelength, z, out_grid, offset)
    (ny, nx), (dy, dx) = grid.shape, grid.spacing
    (my, mx), (py, px) = out_grid.shape, out_grid.spacing
    Ny, Nx = _window(ny, dy, my, py, oy), _window(nx, dx, mx, px, ox)
    # a direct term costs a square root, a complex exponential and divisions: about ten
    # multiply-adds of the matrix transforms
    direct = 10 * ny * nx * my * mx
    mft = Ny * Nx * (math.log2(Ny * Nx) + mx) + mx * Ny * my
    note = ""
    if max(dy, dx) > lam / 2:
        note = (
            f"the input pitch {max(dy, dx) * 1e6:.4g} um exceeds lambda / 2 = "
            f"{lam / 2 * 1e6:.4g} um: 'direct' treats the samples as point sources, 'mft' as "
            "a band-limited field; they agree only for pitches <= lambda / 2"
        )
    too_big = max(Ny, Nx) > MAX_WINDOW
    if too_big and direct > 2e10:
        raise ValueError(
            f"the output plane centred at {oy * 1e6:.6g}, {ox * 1e6:.6g} um needs an angular-"
            f"spectrum window of {Ny} x {Nx} samples (> {MAX_WINDOW}) and the direct sum "
            f"{direct:.3g} terms: outside what either method affords; bring the window nearer "
            "the axis, use fewer output samples, or a coarser input grid"
        )
    if too_big or direct <= mft:
        method = "direct"
        why = f"direct Rayleigh-Sommerfeld sum: {ny * nx * my * mx:.3g} terms, " + (
            f"(the angular spectrum would need a {Ny} x {Nx} window, > {MAX_WINDOW})"
            if too_big
            else f"{direct:.3g} operations <= {mft:.3g} for the angular spectrum on a "
            f"{Ny} x {Nx} window"
        )
    else:
        method = "mft"
        why = (
            f"band-limited angular spectrum on a {Ny} x {Nx} window (every input-output pair "
            f"within reach), evaluated at the {my} x {mx} output samples by matrix Fourier "
            f"transforms: {mft:.3g} operations < {direct:.3g} for the direct sum"
        )
    return {
        "method": method,
        "reason": why,
        "window": (Ny, Nx),
        "cost_direct": float(direct),
        "cost_mft": float(mft),
        "pitch_note": note,
    }


def rs_direct(field, grid, wavelength, z, out_grid, offset=(0.0, 0.0), *, pairs=2**20):
    """The Rayleigh-Sommerfeld integral (first kind) as a direct sum at the output samples.

    ``field`` ``(..., ny, nx)`` complex -> ``(..., My, Mx)``; distances in float64;
    ``pairs``: input-output pairs per step (memory about ``100 * pairs`` bytes).
    """
    lam, z, (oy, ox) = _check(grid, wavelength, z, out_grid, offset)
    k = 2 * math.pi / lam
    dev = field.device
    Y, X = grid.meshgrid(device=dev)
    y, x = Y.reshape(-1), X.reshape(-1)
    YO, XO = out_grid.meshgrid(device=dev)
    yo, xo = YO.reshape(-1) + oy, XO.reshape(-1) + ox
    u = field.to(torch.complex128).reshape(*field.shape[:-2], -1)
    step = max(1, pairs // y.numel())
    out = []
    for s in range(0, yo.numel(), step):
        r = torch.sqrt(
            (yo[s : s + step, None] - y) ** 2 + (xo[s : s + step, None] - x) ** 2 + z * z
        )  # (points, ny nx)
        h = (
            (z / r)
            * (1 / r - 1j * k)
            * torch.polar(1 / (2 * math.pi * r), torch.remainder(k * r, 2 * math.pi))
        )
        out.append(u @ h.T)
    res = torch.cat(out, -1) * (grid.dy * grid.dx)
    return res.reshape(*field.shape[:-2], *out_grid.shape).to(field.dtype)


def _freqs(n: int, d: float, dev) -> torch.Tensor:
    return (torch.arange(n, dtype=torch.float64, device=dev) - n // 2) / (n * d)


def asm_mft(field, grid, wavelength, z, out_grid, offset=(0.0, 0.0), *, window=None):
    """Band-limited angular spectrum evaluated at the output samples (matrix Fourier
    transforms). ``window``: the padded ``(Ny, Nx)`` (default: the report's).

    ``field`` ``(..., ny, nx)`` complex -> ``(..., My, Mx)``.
    """
    lam, z, (oy, ox) = _check(grid, wavelength, z, out_grid, offset)
    if window is None:
        window = scaled_sampling_report(grid, lam, z, out_grid, (oy, ox))["window"]
    Ny, Nx = window
    dev = field.device
    fy, fx = _freqs(Ny, grid.dy, dev), _freqs(Nx, grid.dx, dev)
    # Matsushima-Shimobaba band limit for the window
    lim_y = 1 / (lam * math.sqrt((2 * z / (Ny * grid.dy)) ** 2 + 1))
    lim_x = 1 / (lam * math.sqrt((2 * z / (Nx * grid.dx)) ** 2 + 1))
    FY, FX = torch.meshgrid(fy, fx, indexing="ij")
    arg = (1 / lam) ** 2 - FY**2 - FX**2
    kz = 2 * math.pi * torch.sqrt(arg.to(torch.complex128))  # i |kz| when evanescent
    H = torch.exp(1j * kz * z) * ((FY.abs() <= lim_y) & (FX.abs() <= lim_x))
    A = centered_fft2(pad_centered(field.to(torch.complex128), (Ny, Nx))) * (grid.dy * grid.dx)
    yo = out_grid.y(device=dev) + oy
    xo = out_grid.x(device=dev) + ox
    ey = torch.polar(
        torch.full((len(yo), Ny), 1 / (Ny * grid.dy), dtype=torch.float64, device=dev),
        torch.remainder(2 * math.pi * yo[:, None] * fy[None, :], 2 * math.pi),
    )
    ex = torch.polar(
        torch.full((Nx, len(xo)), 1 / (Nx * grid.dx), dtype=torch.float64, device=dev),
        torch.remainder(2 * math.pi * fx[:, None] * xo[None, :], 2 * math.pi),
    )
    return (ey @ (A * H) @ ex).to(field.dtype)


def propagate_to_plane(field, grid, wavelength, z, out_grid, offset=(0.0, 0.0), *, method="auto"):
    """Propagate ``field`` ``(..., ny, nx)`` on ``grid`` by ``z`` [m] to ``out_grid``
    (centred at ``offset`` (y0, x0) [m]); ``(..., My, Mx)``.

    ``method``: ``"auto"`` (the one :func:`scaled_sampling_report` picks), ``"mft"`` or
    ``"direct"``.
    """
    if method == "auto":
        method = scaled_sampling_report(grid, wavelength, z, out_grid, offset)["method"]
    if method == "mft":
        return asm_mft(field, grid, wavelength, z, out_grid, offset)
    if method == "direct":
        return rs_direct(field, grid, wavelength, z, out_grid, offset)
    raise ValueError(f"method must be 'auto', 'mft' or 'direct', got {method!r}")
