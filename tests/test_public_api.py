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
    for name in ("freespace", "onchip", "models", "activations", "devices"):
        assert name in dir(pn) and name in pn.__all__


def test_missing_subpackage_is_a_clean_attribute_error(monkeypatch):
    monkeypatch.setattr(pn, "SUBPACKAGES", (*pn.SUBPACKAGES, "not_there"))
    with pytest.raises(AttributeError, match="no subpackage 'not_there'"):
        pn.not_there  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pn.nothing  # noqa: B018
    assert not hasattr(pn, "not_there")
