"""PhotonicMLP: shapes, gradients and a small learning check."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from photonn.models import PhotonicMLP


def test_shapes_and_positivity():
    model = PhotonicMLP((8, 6, 3), generator=torch.Generator().manual_seed(0))
    y = model(torch.rand(5, 8))
    assert y.shape == (5, 3) and y.dtype == torch.float32 and (y >= 0).all()
    assert len(list(model.meshes())) == 4
    with pytest.raises(ValueError, match="sizes"):
        PhotonicMLP((4,))
    with pytest.raises(ValueError, match="activation"):
        PhotonicMLP((4, 2), "tanh")


def test_learns_a_small_problem():
    """Two Gaussian blobs in 8 features: training must reach >= 95% from ~50%."""
    gen = torch.Generator().manual_seed(1)
    centers = torch.rand(2, 8, generator=gen)
    y = torch.randint(0, 2, (256,), generator=gen)
    x = (centers[y] + 0.1 * torch.randn(256, 8, generator=gen)).abs()
    model = PhotonicMLP((8, 8, 2), "abs2", generator=torch.Generator().manual_seed(2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc >= 0.95
