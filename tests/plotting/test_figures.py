"""Pictures: each function writes a valid PNG atomically and rejects bad input."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("matplotlib")

from photonn.plotting import plot_detector, plot_history, plot_phase_masks, plot_planes  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_all_figures_write_png(tmp_path, gen):
    phases = [torch.rand(24, 24, generator=gen) * 6 for _ in range(3)]
    regions = torch.zeros(4, 24, 24)
    for c in range(4):
        regions[c, 2 + 5 * c : 5 + 5 * c, 10:14] = 1
    outs = [
        plot_phase_masks(phases, tmp_path / "a.png", pitch=4e-4),
        plot_planes([p**2 for p in phases], tmp_path / "b.png"),
        plot_detector(
            phases[0], regions, torch.rand(4, generator=gen), tmp_path / "c.png", label=1
        ),
        plot_history(
            [
                {"epoch": 1, "train_loss": 2.0, "train_accuracy": 0.3, "test_accuracy": 0.4},
                {"epoch": 2, "train_loss": 1.0, "train_accuracy": 0.6, "test_accuracy": 0.7},
            ],
            tmp_path / "d.png",
        ),
    ]
    for out in outs:
        assert out.read_bytes()[:8] == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="at least one phase mask"):
        plot_phase_masks([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="regions must be"):
        plot_detector(torch.rand(8, 8), torch.zeros(3, 8, 8), torch.rand(4), tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least one epoch"):
        plot_history([], tmp_path / "x.png")
    assert not list(tmp_path.iterdir())
