"""``Camera``: square-law detection integrated over camera pixels, with optional noise."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_int, real_of
from ..devices import resolve_profile
from ..devices.profile import forward_keywords
from ..functional.detection import intensity
from ..grid import Grid
from ._common import check_grid
from ._element import FieldDetector
from .noise import DetectorNoise

__all__ = ["Camera"]


class Camera(FieldDetector):
    """An image sensor: the power on each camera pixel, optionally with detector noise.

    Each camera pixel integrates ``|E|^2 dx dy`` over a block of ``by x bx``
    simulation samples (``binning``); the result is the optical power [W] per
    pixel, passed through ``noise`` (e.g. :class:`DetectorNoise`) when given.
    The pixels are assumed to have a 100 % fill factor (micro-lenses).

    Args:
        grid: simulation :class:`photonn.Grid`; its shape must be a multiple of ``binning``.
        binning: samples per camera pixel per axis, int or ``(by, bx)`` (default 1).
        noise: optional module mapping pixel powers [W] to readings.
        dtype: ``None`` (default: any field) or the complex dtype the fields must have.
        device: accepted like every element's; the camera holds no tensor.

    Attributes:
        pixel_grid: the camera-pixel :class:`photonn.Grid`.

    Shapes:
        complex ``(..., ny, nx)`` -> real ``(..., ny / by, nx / bx)``.
    """

    def __init__(self, grid, *, binning=1, noise: nn.Module | None = None, dtype=None, device=None):
        super().__init__(check_grid(grid), dtype=dtype, device=device)
        if isinstance(binning, int):
            binning = (binning, binning)
        by, bx = (positive_int(binning[0], "binning[0]"), positive_int(binning[1], "binning[1]"))
        if grid.ny % by or grid.nx % bx:
            raise ValueError(
                f"grid shape {grid.shape} is not a multiple of the binning {(by, bx)}; "
                "choose a grid with a whole number of camera pixels"
            )
        self.binning = (by, bx)
        self.pixel_grid = Grid((grid.ny // by, grid.nx // bx), (grid.dy * by, grid.dx * bx))
        self.noise = noise

    def pixel_power(self, field: torch.Tensor) -> torch.Tensor:
        """Noise-free optical power [W] on every camera pixel."""
        self._check_field(field)
        I = intensity(field) * self.grid.pixel_area
        by, bx = self.binning
        if by == bx == 1:
            return I
        py, px = self.pixel_grid.shape
        return I.reshape(*I.shape[:-2], py, by, px, bx).sum((-3, -1))

    def forward(self, field: torch.Tensor, generator: torch.Generator | None = None):
        p = self.pixel_power(field)
        if self.noise is None:
            return p
        if generator is not None:
            return self.noise(p, generator)
        return self.noise(p)

    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        grid: Grid,
        dtype=None,
        device=None,
        **noise,
    ) -> Camera:
        """Build from a ``camera`` device profile.

        ``profile``: a ``DeviceProfile``, a shipped name, a ``.toml`` path or a
        mapping of SI values (see :func:`photonn.devices.resolve_profile`); the only
        positional argument, the rest are keywords: ``grid``, ``dtype``, ``device``
        of the constructor, the others (``wavelength`` [m], ``exposure_time`` [s],
        ``shot``, ``output``, ``generator``) of :meth:`DetectorNoise.from_profile`.

        The binning is ``pixel_pitch / grid spacing`` (a whole number per axis);
        the grid may cover a window of the sensor. The noise is
        :meth:`DetectorNoise.from_profile` of the same profile (with the real
        dtype matching ``dtype``).
        """
        check_grid(grid)
        prof = resolve_profile(profile, kind="camera")
        pitch, res = prof.pixel_pitch, prof.resolution
        b = []
        for d in grid.spacing:
            k = round(pitch / d)
            if k < 1 or abs(pitch / d - k) > 1e-6 * k:
                raise ValueError(
                    f"the camera pitch {pitch:.6g} m is not a whole multiple of the grid spacing "
                    f"{grid.spacing}; use a spacing of pitch / k for an integer k"
                )
            b.append(k)
        if grid.ny // b[0] > res[0] or grid.nx // b[1] > res[1]:
            raise ValueError(
                f"{grid} needs {(grid.ny // b[0], grid.nx // b[1])} pixels but the sensor has {res}"
            )
        rdt = None if dtype is None else real_of(dtype)
        noise = DetectorNoise.from_profile(prof, dtype=rdt, device=device, **noise)
        return cls(grid, binning=tuple(b), noise=noise, dtype=dtype, device=device)

    def extra_repr(self) -> str:
        return f"grid={self.grid}, binning={self.binning}, pixel_grid={self.pixel_grid}"


forward_keywords(Camera.from_profile, DetectorNoise.from_profile)
