"""The export keys of the device profiles: values, validation, derived values, hash."""

from __future__ import annotations

import math

import pytest

from photonn.devices import load_profile, profile_from_values


def test_shipped_profiles_carry_the_export_keys():
    pluto = load_profile("holoeye_pluto2")
    assert pluto.wavelength_range == (420e-9, 650e-9)
    assert math.isclose(pluto.phase_range(), 2 * math.pi)
    assert math.isclose(pluto.phase_range(420e-9), 2 * math.pi * 633 / 420)
    pluto.check_wavelength(633e-9)
    with pytest.raises(ValueError, match=r"700 nm is outside the operating band 420 \.\. 650"):
        pluto.check_wavelength(700e-9)
    mzi = load_profile("si_thermo_optic_mzi")
    assert (mzi["dac_channels"], mzi["channel_power_max"], mzi["total_power_max"]) == (
        256,
        0.06,
        5.0,
    )
    assert mzi.heater_iv_law() is None and mzi.heater_calibration() is None
    for name in ("santec_slm200", "hamamatsu_x15213"):
        lo, hi = load_profile(name).wavelength_range
        assert lo < load_profile(name)["wavelength"] < hi


def _slm(**kw):
    base = {
        "pixel_pitch": 8e-6,
        "resolution": (10, 10),
        "gray_bits": 8,
        "fill_factor": 1.0,
        "max_phase": 2 * math.pi,
        "wavelength": 633e-9,
    }
    return profile_from_values({**base, **kw}, "slm")


def test_export_keys_are_validated():
    with pytest.raises(ValueError, match="give both lambda_min and lambda_max"):
        _slm(lambda_min=400e-9)
    with pytest.raises(ValueError, match="must be below lambda_max"):
        _slm(lambda_min=700e-9, lambda_max=600e-9)
    with pytest.raises(ValueError, match="design wavelength 633 nm lies outside the band"):
        _slm(lambda_min=700e-9, lambda_max=800e-9)
    vals = dict(load_profile("si_thermo_optic_mzi").values)
    with pytest.raises(ValueError, match="total_power_max = 0.01 W is below channel_power_max"):
        profile_from_values({**vals, "total_power_max": 0.01}, "mzi_platform")
    with pytest.raises(ValueError, match="dac_channels"):
        profile_from_values({**vals, "dac_channels": 0}, "mzi_platform")
    with pytest.raises(ValueError, match="names a file, but the profile has no file location"):
        profile_from_values({**vals, "heater_iv": "iv.csv"}, "mzi_platform").heater_iv_law()


def test_file_keys_units_and_hash(tmp_path):
    src = load_profile("holoeye_pluto2")
    text = src.path.read_text().replace("lambda_max_nm = 650.0", "lambda_max_um = 0.65")
    (tmp_path / "p.toml").write_text(text)
    (tmp_path / src.lut_path.name).write_bytes(src.lut_path.read_bytes())
    p = load_profile(tmp_path / "p.toml")
    assert p["lambda_max"] == pytest.approx(650e-9) and p.content_hash() != src.content_hash()
    (tmp_path / "p.toml").write_text(src.path.read_text())
    assert load_profile(tmp_path / "p.toml").content_hash() == src.content_hash()
    lut = (tmp_path / src.lut_path.name).read_text().replace("255,6.258641614573", "255,6.25")
    (tmp_path / src.lut_path.name).write_text(lut)
    assert load_profile(tmp_path / "p.toml").content_hash() != src.content_hash()
    bad = src.path.read_text().replace("lambda_min_nm = 420.0", "lambda_min_mw = 420.0")
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(ValueError, match="'_mw' is a unit of power, but lambda_min is a length"):
        load_profile(tmp_path / "bad.toml")
