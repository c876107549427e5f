"""Shared fixtures and tolerance rules.

Tolerances follow dtype: ``RTOL[dtype]`` is a few hundred ulps of the real
type, the scale of an FFT round trip of the sizes used here.

Optional resources (the MNIST / Fashion-MNIST / Shakespeare data folder, the
``photonn[sweep]`` extra) make their tests skip where they are absent, as in a
user's checkout. ``PHOTONN_TEST_REQUIRE`` (a comma-separated subset of
:data:`REQUIRABLE`, e.g. ``data,sweep``; CI sets it) turns those skips into
failures that name what is missing. Only the tests read it; the library reads
no environment variables.
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

REQUIRE_ENV = "PHOTONN_TEST_REQUIRE"
REQUIRABLE = {
    "data": "the MNIST / Fashion-MNIST / Shakespeare data folder",
    "sweep": "the optional extra photonn[sweep] (Ray Tune)",
}


def required() -> set[str]:
    """The resources named by ``PHOTONN_TEST_REQUIRE`` (checked against :data:`REQUIRABLE`)."""
    names = {n.strip() for n in os.environ.get(REQUIRE_ENV, "").split(",") if n.strip()}
    unknown = sorted(names - REQUIRABLE.keys())
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE_ENV}={os.environ[REQUIRE_ENV]!r}: unknown {unknown}; "
            f"choose from {sorted(REQUIRABLE)}"
        )
    return names


def pytest_configure(config):
    required()  # a misspelt name is a usage error before any test runs


def skip_unless_required(resource: str, message: str) -> None:
    """Skip with ``message``, or fail with it when ``resource`` is required."""
    if resource in required():
        pytest.fail(f"{message} ({REQUIRE_ENV} includes {resource!r})", pytrace=False)
    pytest.skip(message)


def data_root() -> Path | None:
    """Directory with the MNIST / Fashion-MNIST IDX files, for tests only.

    ``PHOTONN_TEST_DATA`` if set, else ``../shared/data`` beside the checkout.
    The library itself never reads environment variables.
    """
    path = data_path()
    return path if path.is_dir() else None


def data_path() -> Path:
    """Where the data folder is looked for (``PHOTONN_TEST_DATA`` or the default)."""
    env = os.environ.get("PHOTONN_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture
def data_dir():
    root = data_root()
    if root is None:
        skip_unless_required(
            "data",
            f"MNIST data directory not found: {data_path()} is not a directory; set "
            "PHOTONN_TEST_DATA or place the IDX files there",
        )
    return root


@pytest.fixture
def ray_tune():
    """Skip (or fail, when ``sweep`` is required) unless the Ray Tune extra is installed."""
    from photonn.runs.sweep import ray_available

    if not ray_available():
        skip_unless_required(
            "sweep", "needs the optional extra photonn[sweep]: pip install 'photonn[sweep]'"
        )


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)
