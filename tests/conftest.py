"""Shared fixtures and tolerance rules.

Tolerances follow dtype: ``RTOL[dtype]`` is a few hundred ulps of the real
type, the scale of an FFT round trip of the sizes used here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# One thread: small FFTs oversubscribe badly on shared 2-core machines (measured 80x
# slower for a 16x64x64 fft2 with 2 threads under load); tests that need several
# threads (the batched-solve pitfall) set them locally.
torch.set_num_threads(1)

RTOL = {torch.complex64: 2e-5, torch.complex128: 1e-12, torch.float32: 2e-5, torch.float64: 1e-12}

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path | None:
    """Directory with the MNIST / Fashion-MNIST IDX files, for tests only.

    ``PHOTONN_TEST_DATA`` if set, else ``../shared/data`` beside the checkout.
    The library itself never reads environment variables.
    """
    env = os.environ.get("PHOTONN_TEST_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture
def data_dir():
    root = data_root()
    if root is None:
        pytest.skip(
            "MNIST data directory not found: set PHOTONN_TEST_DATA or place the IDX files in "
            f"{REPO.parent / 'shared' / 'data'}"
        )
    return root


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)
