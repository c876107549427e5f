"""Old names of photonn.export keep working, with a DeprecationWarning that names the new one."""

from __future__ import annotations

import importlib
import sys

import pytest
import torch

import photonn.export as E
from photonn.devices import read_heater_calibration


def test_read_heater_calibration_warns_and_returns_the_calibration(tmp_path):
    path = tmp_path / "cal.csv"
    path.write_text("channel,power_W,phase_rad\n3,0.0,0.0\n3,0.1,2.0\n")
    with pytest.warns(DeprecationWarning, match=r"HeaterCalibration\.from_csv"):
        cal = E.read_heater_calibration(path)
    new = E.HeaterCalibration.from_csv(path)
    assert isinstance(cal, E.HeaterCalibration) and cal.source == new.source == str(path)
    assert cal.channels == new.channels == [3]
    assert cal.table.keys() == new.table.keys()
    assert all(torch.equal(a, b) for a, b in zip(cal.table[3], new.table[3]))
    # the same table as the devices reader, as float64 tensors
    pw, ph = read_heater_calibration(path)[3]
    assert cal.table[3][0].tolist() == pw and cal.table[3][1].tolist() == ph


def test_export_core_module_warns_and_reexports():
    sys.modules.pop("photonn.export.core", None)
    with pytest.warns(DeprecationWarning, match="import these names from photonn.export"):
        core = importlib.import_module("photonn.export.core")
    for name in core.__all__:
        assert getattr(core, name) is getattr(E, name), name
    from photonn.export import write

    assert core.hooks is write.hooks


def test_read_lut_csv_bit_depth_is_gray_bits(tmp_path):
    import warnings

    path = tmp_path / "lut.csv"
    path.write_text("gray,phase_rad\n0,0.0\n1,1.5\n2,3.0\n3,4.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = E.read_lut_csv(path, 2)
        assert E.read_lut_csv(path, gray_bits=2).tolist() == new.tolist() == [0, 1.5, 3, 4.5]
    with pytest.warns(DeprecationWarning, match=r"read_lut_csv\(bit_depth=...\) is deprecated"):
        old = E.read_lut_csv(path, bit_depth=2)
    assert old.tolist() == new.tolist()
