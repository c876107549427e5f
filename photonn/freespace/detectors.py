"""Detectors: ``IntensityDetector`` (a camera image) and ``RegionDetector`` (class regions)."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_int, real_of
from ..functional.detection import (
    DIFFERENTIAL_MODES,
    auto_region_boxes,
    differential_readout,
    intensity,
    region_energies,
    region_masks,
)
from ._element import FieldDetector, GridElement

__all__ = ["IntensityDetector", "RegionDetector"]


class IntensityDetector(FieldDetector):
    """Square-law detection ``I = |E|^2`` [W/m^2 for E in sqrt(W/m^2)].

    Args:
        grid: optional :class:`photonn.Grid` to check fields against (needed with ``noise``).
        noise: optional per-pixel noise model mapping pixel powers [W] to readings [W]
            (e.g. :class:`~photonn.freespace.DetectorNoise`; one camera pixel per sample):
            the detector returns ``noise(I dx dy) / (dx dy)``.
        dtype: ``None`` (default: any field) or the complex dtype the fields must have.
        device: accepted like every element's; the detector holds no tensor.

    Shapes:
        complex ``(..., ny, nx)`` -> real ``(..., ny, nx)``.
    """

    def __init__(self, grid=None, *, noise: nn.Module | None = None, dtype=None, device=None):
        super().__init__(grid, dtype=dtype, device=device)
        if noise is not None and self.grid is None:
            raise ValueError("a noisy IntensityDetector needs the pixel area: pass grid=")
        self.noise = noise

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        self._check_field(field)
        I = intensity(field)
        if self.noise is None:
            return I
        area = self.grid.pixel_area
        return self.noise(I * area) / area

    def power(self, field: torch.Tensor) -> torch.Tensor:
        """Total power ``sum |E|^2 dx dy`` [W], shape ``(...)`` (needs ``grid``)."""
        if self.grid is None:
            raise ValueError("power() needs the pixel area: build IntensityDetector(grid)")
        return intensity(field).sum((-2, -1)) * self.grid.pixel_area

    def extra_repr(self) -> str:
        return f"grid={self.grid}"


class RegionDetector(GridElement):
    """Energy collected by ``N`` disjoint detector regions of the output plane.

    Each region returns ``sum_{region} |E|^2 dx dy`` [W]. Regions are laid out
    automatically (square regions in centred rows: ``[3, 4, 3]`` for 10 classes,
    as in Lin et al., Science 2018; see :func:`photonn.functional.detection.auto_region_boxes`)
    or given as boxes ``(cy, cx, h, w)`` [m].

    Differential detection (Li et al., Adv. Photonics 2019): with
    ``differential="normalized"`` or ``"difference"``, ``2 N`` regions are used,
    the first ``N`` positive and the last ``N`` negative, and ``forward``
    returns ``(E+ - E-) / (E+ + E-)`` or ``E+ - E-`` per class.

    Args:
        grid: :class:`photonn.Grid` of the detector plane.
        num_regions: number of classes ``N`` (default 10).
        regions: optional explicit regions (``N`` of them, or ``2 N`` when differential):
            boxes ``(cy, cx, h, w)`` [m], or a real tensor ``(N, ny, nx)`` of
            non-negative, disjoint masks (any shape; weights act as the detector's
            spatial responsivity).
        region_size: side [m] of the automatic square regions (default: half their pitch).
        span: fraction of the plane the automatic layout covers (default 0.6).
        differential: ``None`` (default), ``"normalized"`` or ``"difference"``.
        dtype: complex dtype of the fields.

    Attributes:
        boxes: list of ``(cy, cx, h, w)`` [m] of every region (None for mask regions).
        masks: real ``(num_detectors, ny, nx)`` buffer.

    Shapes:
        complex ``(..., ny, nx)`` -> real ``(..., N)``.
    """

    def __init__(
        self,
        grid,
        num_regions: int = 10,
        *,
        regions=None,
        region_size=None,
        span: float = 0.6,
        differential: str | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__(grid, dtype=dtype, device=device)
        self.num_regions = positive_int(num_regions, "num_regions")
        if differential is not None and differential not in DIFFERENTIAL_MODES:
            raise ValueError(
                f"differential must be None or one of {list(DIFFERENTIAL_MODES)}, "
                f"got {differential!r}"
            )
        self.differential = differential
        n_det = 2 * self.num_regions if differential else self.num_regions
        if isinstance(regions, torch.Tensor):
            masks = _check_masks(regions, grid, n_det, self.num_regions, differential)
            self.boxes = None
            self.register_buffer(
                "masks", masks.to(device=device, dtype=real_of(dtype)), persistent=False
            )
            return
        if regions is None:
            boxes = auto_region_boxes(grid, n_det, region_size=region_size, span=span)
        else:
            boxes = [tuple(float(v) for v in b) for b in regions]
            if len(boxes) != n_det:
                raise ValueError(
                    f"regions holds {len(boxes)} boxes but {n_det} are needed "
                    f"({self.num_regions} classes"
                    + (", differential: positive then negative)" if differential else ")")
                )
        self.boxes = boxes
        masks = region_masks(grid, boxes, dtype=real_of(dtype), device=device)
        self.register_buffer("masks", masks, persistent=False)

    @property
    def num_detectors(self) -> int:
        return self.masks.shape[0]

    def energies(self, field: torch.Tensor) -> torch.Tensor:
        """Energy in every detector region [W], ``(..., num_detectors)``."""
        self._check_field(field)
        return region_energies(intensity(field), self.masks, self.grid.pixel_area)

    def readout(self, energies: torch.Tensor) -> torch.Tensor:
        """Class scores from detector energies (identity unless differential)."""
        if self.differential is None:
            return energies
        return differential_readout(energies, self.differential)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        return self.readout(self.energies(field))

    def extra_repr(self) -> str:
        return (
            f"grid={self.grid}, num_regions={self.num_regions}, "
            f"differential={self.differential!r}, dtype={self.dtype}"
        )


def _check_masks(regions, grid, n_det, num_regions, differential):
    if regions.is_complex() or (not regions.is_floating_point() and regions.dtype != torch.bool):
        raise TypeError(f"region masks must be real or bool, got {regions.dtype}")
    if regions.ndim != 3 or tuple(regions.shape) != (n_det, *grid.shape):
        note = ", differential: positive then negative" if differential else ""
        raise ValueError(
            f"region masks have shape {tuple(regions.shape)}, expected {(n_det, *grid.shape)} "
            f"({num_regions} classes{note})"
        )
    m = regions.detach().to(torch.float64)
    if not bool(torch.isfinite(m).all()) or bool((m < 0).any()):
        raise ValueError("region masks must be finite and non-negative")
    if bool(((m > 0).sum(0) > 1).any()):
        raise ValueError("detector regions overlap; give disjoint masks")
    if bool((m.sum((-2, -1)) == 0).any()):
        raise ValueError("a region mask is empty; every region needs at least one sample")
    return m
