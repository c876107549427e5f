"""IntensityDetector and RegionDetector: layout, energies, differential pairs, gradcheck."""

from __future__ import annotations

import pytest
import torch

from photonn import Grid
from photonn.freespace import IntensityDetector, RegionDetector
from photonn.functional.detection import (
    auto_region_boxes,
    differential_readout,
    region_energies,
    row_layout,
)
from photonn.units import um

C128 = torch.complex128
G = Grid((60, 64), 2 * um)


def _field(shape, dtype=C128, seed=0):
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


# -- IntensityDetector -------------------------------------------------------------
def test_intensity_detector():
    x = _field((3, 60, 64))
    det = IntensityDetector(G)
    I = det(x)
    assert I.shape == x.shape and I.dtype == torch.float64
    assert torch.allclose(I, x.abs() ** 2, rtol=1e-14)
    assert torch.allclose(det.power(x), (x.abs() ** 2).sum((-2, -1)) * 4e-12, rtol=1e-14)
    with pytest.raises(ValueError, match="grid"):
        det(_field((3, 60, 63)))
    with pytest.raises(TypeError, match="complex"):
        det(torch.ones(60, 64))
    with pytest.raises(ValueError, match="pixel area"):
        IntensityDetector().power(x)
    assert torch.autograd.gradcheck(IntensityDetector(), (_field((3, 4)).requires_grad_(),))


def test_intensity_detector_with_pixel_noise():
    # noise without randomness (ADC only): readings are quantised pixel powers
    q = _field((60, 64)).abs() ** 2 * G.pixel_area
    step = float(q.max()) / 255

    class Quantise(torch.nn.Module):
        def forward(self, p):
            return torch.round(p / step) * step

    det = IntensityDetector(G, noise=Quantise())
    I = det(_field((60, 64)))
    levels = torch.unique(torch.round(I * G.pixel_area / step))
    assert levels.numel() <= 256
    assert torch.allclose(I, torch.round(q / step) * step / G.pixel_area)
    with pytest.raises(ValueError, match="grid"):
        IntensityDetector(noise=Quantise())


# -- layout ----------------------------------------------------------------------------
def test_row_layout_matches_lin_2018_for_ten_classes():
    assert row_layout(10) == [3, 4, 3]
    assert row_layout(4) == [2, 2]
    assert row_layout(1) == [1]
    for n in range(1, 40):
        assert sum(row_layout(n)) == n


def test_auto_layout_is_centred_and_disjoint():
    det = RegionDetector(G, 10)
    assert det.masks.shape == (10, 60, 64)
    assert float(det.masks.sum(0).max()) == 1  # disjoint
    cy = sum(b[0] for b in det.boxes) / 10
    cx = sum(b[1] for b in det.boxes) / 10
    # centred on the axis to within the pixel snapping (half a pitch)
    assert abs(cy) <= G.dy / 2 + 1e-15 and abs(cx) <= G.dx / 2 + 1e-15
    # every region has the same number of pixels
    counts = det.masks.sum((-2, -1))
    assert torch.all(counts == counts[0]) and float(counts[0]) > 0
    boxes = auto_region_boxes(G, 10, region_size=10 * um)
    assert all(b[2] == 10 * um for b in boxes)


# -- energies: physics -------------------------------------------------------------------
def test_region_energies_sum_to_at_most_the_total_power():
    x = _field((4, 60, 64))
    det = RegionDetector(G, 10, dtype=C128)
    e = det(x)
    assert e.shape == (4, 10)
    total = (x.abs() ** 2).sum((-2, -1)) * G.pixel_area
    assert torch.all(e.sum(-1) <= total) and torch.all(e >= 0)
    # reference: the direct sum over each box's pixels
    ref = torch.stack(
        [((x.abs() ** 2) * m).sum((-2, -1)) * G.pixel_area for m in det.masks], dim=-1
    )
    assert torch.allclose(e, ref, rtol=1e-13)


def test_regions_tiling_the_plane_collect_all_power():
    g = Grid((6, 8), 1 * um)
    y0, x0 = -3 * um, -4 * um  # grid samples at -3..2 and -4..3 pitches
    boxes = []
    for i in range(2):
        for j in range(2):
            h, w = 3 * um, 4 * um
            boxes.append((y0 + (i + 0.5) * h - 0.5 * um, x0 + (j + 0.5) * w - 0.5 * um, h, w))
    det = RegionDetector(g, 4, regions=boxes, dtype=C128)
    assert float(det.masks.sum(0).min()) == 1
    x = _field((3, 6, 8))
    total = (x.abs() ** 2).sum((-2, -1)) * g.pixel_area
    assert torch.allclose(det(x).sum(-1), total, rtol=1e-13)


def test_explicit_mask_regions():
    g = Grid((6, 8), 1 * um)
    masks = torch.zeros(2, 6, 8, dtype=torch.float64)
    masks[0, :, :4] = 1.0  # left half
    masks[1, :, 4:] = 0.5  # right half at half responsivity
    det = RegionDetector(g, 2, regions=masks, dtype=C128)
    assert det.boxes is None
    x = _field((3, 6, 8))
    I = x.abs() ** 2 * g.pixel_area
    ref = torch.stack([I[..., :4].sum((-2, -1)), 0.5 * I[..., 4:].sum((-2, -1))], -1)
    assert torch.allclose(det(x), ref, rtol=1e-13)
    with pytest.raises(ValueError, match="overlap"):
        RegionDetector(g, 2, regions=torch.ones(2, 6, 8))
    with pytest.raises(ValueError, match="expected"):
        RegionDetector(g, 3, regions=masks)
    with pytest.raises(ValueError, match="empty"):
        RegionDetector(g, 2, regions=torch.stack([masks[0], torch.zeros(6, 8)]))
    with pytest.raises(ValueError, match="non-negative"):
        RegionDetector(g, 2, regions=-masks)


def test_differential_pairs():
    det = RegionDetector(G, 5, differential="normalized", dtype=C128)
    assert det.num_detectors == 10
    x = _field((2, 60, 64))
    e = det.energies(x)
    s = det(x)
    pos, neg = e[..., :5], e[..., 5:]
    assert torch.allclose(s, (pos - neg) / (pos + neg), rtol=1e-13)
    assert torch.all(s.abs() <= 1)
    diff = RegionDetector(G, 5, differential="difference", dtype=C128)
    assert torch.allclose(diff(x), pos - neg, rtol=1e-13)
    # a dark pair scores 0, never NaN
    assert torch.equal(differential_readout(torch.zeros(1, 4)), torch.zeros(1, 2))


# -- exceptions -----------------------------------------------------------------------
def test_errors():
    with pytest.raises(ValueError, match="overlap"):
        RegionDetector(G, 2, regions=[(0, 0, 10 * um, 10 * um), (0, 4 * um, 10 * um, 10 * um)])
    with pytest.raises(ValueError, match="3 boxes"):
        RegionDetector(G, 2, regions=[(0, 0, 2 * um, 2 * um)] * 3)
    with pytest.raises(ValueError, match="does not fit"):
        RegionDetector(G, 1, regions=[(0, 0, 1.0, 1.0)])
    with pytest.raises(ValueError, match="no sample"):
        RegionDetector(G, 1, regions=[(0.5 * um, 0.5 * um, 0.1 * um, 0.1 * um)])
    with pytest.raises(ValueError, match="region_size"):
        RegionDetector(G, 10, region_size=1.0)
    with pytest.raises(ValueError, match="differential"):
        RegionDetector(G, 10, differential="ratio")
    with pytest.raises(TypeError, match="built for"):
        RegionDetector(G)(_field((60, 64)))
    with pytest.raises(ValueError, match="even"):
        differential_readout(torch.ones(3))
    with pytest.raises(ValueError, match="last two"):
        region_energies(torch.ones(4, 4), torch.ones(2, 3, 3), 1.0)


# -- gradcheck --------------------------------------------------------------------------
@pytest.mark.parametrize("differential", [None, "normalized", "difference"])
def test_gradcheck(differential):
    g = Grid((8, 8), 1 * um)
    det = RegionDetector(g, 2, differential=differential, span=1.0, dtype=C128)
    x = _field((8, 8), seed=3).requires_grad_()
    assert torch.autograd.gradcheck(det, (x,), fast_mode=True)
