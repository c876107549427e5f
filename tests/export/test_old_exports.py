"""Export directories written before ``photonn.export.core`` was split still load.

``fixtures/d2nn_v1`` and ``fixtures/mlp_v1`` were written by ``photonn.export.export``
at commit 35ebb1e (schema 1), with the models and profiles of ``helpers``:
``tiny_d2nn(seed=4)`` on ``{"masks.0": small_slm(bits=10), "masks.*": small_slm()}``
with a wavefront correction on ``masks.1`` and ``fill_phase=1.0``; ``tiny_mlp(seed=8)``
on ``mzi_profile()`` at 12 bits with a heater calibration (its copy is
``chips/mzi_test/heater_calibration.csv``). ``fixtures/expected.json`` holds what that
code computed: the forward of ``load`` (bundle and files) and of ``quantized_model``
on ``torch.rand`` inputs of seed 0, and the ``summary`` text.

Tolerance of the forwards: the outputs are float32 after a few hundred roundings
(FFTs, detector sums), and another CPU may take other kernels (bit-identical results
hold on one CPU only), so they must agree to 1e-5 of the largest output, about 100
float32 epsilons (1.2e-7); a wrong setting moves them by far more.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import photonn.export as E

from .helpers import mzi_profile, small_slm, tiny_d2nn, tiny_mlp

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def _input(name):
    g = torch.Generator().manual_seed(0)
    shape = (2, 12, 12) if name == "d2nn_v1" else (3, 6)
    return torch.rand(shape, generator=g)


def _close(model, name, key):
    with torch.no_grad():
        got = model(_input(name)).reshape(-1).to(torch.float64)
    want = torch.tensor(EXPECTED[name][key], dtype=torch.float64)
    tol = 1e-5 * float(want.abs().max())
    assert got.shape == want.shape and float((got - want).abs().max()) <= tol, (name, key)


@pytest.mark.parametrize("name", ["d2nn_v1", "mlp_v1"])
def test_old_export_loads_from_the_bundle_and_from_the_files(name):
    _close(E.load(FIXTURES / name), name, "bundle")  # verifies every file's SHA-256
    _close(E.load(FIXTURES / name, source="files"), name, "files")
    root = FIXTURES / name
    assert E.summary(root) == EXPECTED[name]["summary"].replace("{root}", str(root))


def test_old_export_loads_with_a_heater_calibration():
    root = FIXTURES / "mlp_v1"
    cal = root / "chips" / "mzi_test" / "heater_calibration.csv"
    model = E.load(root, source="files", calibration=cal)
    _close(model, "mlp_v1", "files_calibrated")


def test_old_export_equals_the_current_quantized_model():
    q = E.quantized_model(
        tiny_d2nn(seed=4),
        {"masks.0": small_slm(bits=10), "masks.*": small_slm()},
        correction={"masks.1": FIXTURES / "d2nn_v1" / "slm" / "masks.1.correction.png"},
        fill_phase=1.0,
    )
    _close(q, "d2nn_v1", "quantized")
    cal = FIXTURES / "mlp_v1" / "chips" / "mzi_test" / "heater_calibration.csv"
    q = E.quantized_model(tiny_mlp(seed=8), mzi_profile(), bits=12, calibration=cal)
    _close(q, "mlp_v1", "quantized")


def test_old_export_bit_depth_reads_as_gray_bits_without_a_warning():
    """The SLM records of a schema-1 export say ``bit_depth``; every reader sees ``gray_bits``
    (the same value), and reading an old export is not a deprecated use."""
    import warnings

    root = FIXTURES / "d2nn_v1"
    assert "\nbit_depth = 10\n" in (root / "manifest.toml").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        m = E.read_manifest(root)
        _close(E.load(root, source="files"), "d2nn_v1", "files")
    for key, bits in (("slm10", 10), ("slm8", 8)):
        dev = m["devices"][key]
        assert dev["values"]["gray_bits"] == bits and "bit_depth" not in dev["values"]
        assert "bit_depth" not in dev["file_keys"]
