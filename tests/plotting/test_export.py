"""Pictures of an export: one PNG per SLM element and per chip, written atomically."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("matplotlib")

from photonn.functional import clements_layout  # noqa: E402
from photonn.plotting import plot_export  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _export(gen):
    """A manifest and bundle as read_manifest / read_bundle return them."""
    n_mzi = clements_layout(4).n_mzi
    mesh_channels = 2 * n_mzi + 4
    power = torch.rand(mesh_channels + 3, generator=gen, dtype=torch.float64) * 0.03
    manifest = {
        "slm": [
            {
                "element": "masks.0",
                "device": "panel",
                "bits": 6,
                "report": {"phase_rms_rad": 0.02},
            }
        ],
        "chips": [
            {
                "name": "chip0",
                "elements": [
                    {
                        "name": "mesh",
                        "kind": "mesh",
                        "first_channel": 0,
                        "channels": mesh_channels,
                        "modes": 4,
                        "layout": "clements",
                    },
                    {
                        "name": "attenuators",
                        "kind": "attenuators",
                        "first_channel": mesh_channels,
                        "channels": 3,
                    },
                ],
                "report": {"channels": mesh_channels + 3, "total_power_W": power.sum().item()},
            }
        ],
    }
    bundle = {
        "slm": {
            "masks.0": {
                "gray": torch.randint(0, 64, (24, 32), generator=gen, dtype=torch.uint8),
                "centre_rows": torch.arange(4, 20),
                "centre_columns": torch.arange(8, 24),
                "realised": torch.rand(16, 16, generator=gen, dtype=torch.float64) * 7,
            }
        },
        "chips": {"chip0": {"power_W": power}},
    }
    return manifest, bundle


def test_one_png_per_slm_element_and_per_chip(tmp_path, gen):
    manifest, bundle = _export(gen)
    out = tmp_path / "pictures"
    written = plot_export(manifest, bundle, out)
    assert [p.name for p in written] == ["slm_masks.0.png", "chip_chip0.png"]
    for path in written:
        assert path.read_bytes()[:8] == PNG
    assert sorted(p.name for p in out.iterdir()) == ["chip_chip0.png", "slm_masks.0.png"]


def test_an_export_without_slm_or_chips_draws_nothing(tmp_path):
    assert plot_export({}, {}, tmp_path / "none") == []
    assert not list((tmp_path / "none").iterdir())
