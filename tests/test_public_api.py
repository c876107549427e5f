"""One public API: lazy subpackages, a light ``import photonn``, and the rules every
module and constructor follows (checked over the whole package, not per module)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import photonn as pn


def test_import_photonn_is_light():
    """``import photonn`` imports neither matplotlib nor training nor the element packages."""
    code = (
        "import photonn, sys; "
        "heavy = [m for m in ('matplotlib', 'photonn.training', 'photonn.freespace', "
        "'photonn.onchip', 'photonn.models', 'photonn.plotting') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_subpackages_resolve_lazily():
    assert pn.freespace.Propagator.__name__ == "Propagator"
    assert pn.onchip.MZIMesh.__name__ == "MZIMesh"
    assert pn.models.D2NN.__name__ == "D2NN"
    assert pn.encoding.ImageToField.__name__ == "ImageToField"
    for name in ("freespace", "onchip", "models", "activations", "encoding", "devices"):
        assert name in dir(pn) and name in pn.__all__


def test_missing_subpackage_is_a_clean_attribute_error(monkeypatch):
    monkeypatch.setattr(pn, "SUBPACKAGES", (*pn.SUBPACKAGES, "not_there"))
    with pytest.raises(AttributeError, match="no subpackage 'not_there'"):
        pn.not_there  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pn.nothing  # noqa: B018
    assert not hasattr(pn, "not_there")


def test_data_hands_back_images_and_labels_only():
    """Image -> field encoding lives in photonn.encoding, not photonn.data."""
    import photonn.data as data

    public = {n for n in dir(data) if not n.startswith("_")}
    assert public >= {"load_mnist", "load_fashion_mnist", "load_embedded_mnist", "read_idx"}
    for name in ("image_to_field", "ImageToField", "phase_encoding", "resize", "pad_to"):
        assert name not in public, name
        assert hasattr(pn.encoding, name)
