"""Shared fixtures of the model tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def saved_bytes():
    """``f(model, *inputs)``: the bytes autograd saves for backward in one forward pass
    of ``model(*inputs)`` (every saved tensor counted, as the recomputation tests need)."""

    def measure(model, *inputs) -> int:
        total = 0

        def pack(t):
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(*inputs)
        return total

    return measure
