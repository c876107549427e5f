"""Device profiles: every shipped profile loads; bad files fail with a clear error
naming the key, the file and the fix."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from photonn.devices import KINDS, DeviceProfile, list_profiles, load_profile, profiles_dir

SHIPPED = list_profiles()

GOOD_SLM = """
name = "test_slm"
kind = "slm"
description = "a test SLM"
provenance = "made up for a test"
resolution = [4, 6]
pixel_pitch_um = 8.0
fill_factor = 0.9
gray_bits = 2
max_phase_pi = 2.0
wavelength_nm = 633.0
"""


def _write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _replace(old: str, new: str, text: str = GOOD_SLM) -> str:
    assert old in text
    return text.replace(old, new)


def test_required_profiles_are_shipped():
    kinds = {n: load_profile(n).kind for n in SHIPPED}
    assert sum(k == "slm" for k in kinds.values()) >= 2
    assert "camera" in kinds.values()
    assert kinds["si_thermo_optic_mzi"] == "mzi_platform"
    bits = {load_profile(n)["gray_bits"] for n in SHIPPED if kinds[n] == "slm"}
    assert {8, 10} <= bits


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads(name):
    p = load_profile(name)
    assert isinstance(p, DeviceProfile)
    assert p.name == name == p.path.stem
    assert p.description and p.provenance
    src = p.provenance if isinstance(p.provenance, str) else p.provenance["source"]
    assert src.strip()
    if not isinstance(p.provenance, str):
        assert "url" in p.provenance or "doi" in p.provenance
    for key, spec in KINDS[p.kind].items():
        if spec.required:
            assert key in p
    # every file key carries its unit, and converts by the documented factor
    for si, file_key in p.file_keys.items():
        if KINDS[p.kind][si].quantity is not None:
            assert file_key != si and file_key.startswith(si + "_")


def test_si_conversion_pluto2():
    p = load_profile("holoeye_pluto2")
    assert p["pixel_pitch"] == 8e-6  # exact: 8.0 / 1e6 rounds to the float nearest 8e-6
    assert p["wavelength"] == 633e-9
    assert p["max_phase"] == pytest.approx(2 * math.pi, rel=1e-15)
    assert p["resolution"] == (1080, 1920) and p["gray_bits"] == 8
    assert p.unit("pixel_pitch") == "m" and p.unit("gray_bits") == "bit"
    with pytest.raises(KeyError, match="no value 'p_pi'"):
        p["p_pi"]
    with pytest.raises(TypeError):
        p.values["gray_bits"] = 4  # read-only mapping
    with pytest.raises(AttributeError):
        p.name = "other"  # frozen
    again = load_profile("holoeye_pluto2")
    assert again == p and hash(again) == hash(p)  # usable as a cache key
    assert len({p, again, load_profile("santec_slm200")}) == 2


def test_si_conversion_mzi_platform():
    p = load_profile("si_thermo_optic_mzi")
    assert p["p_pi"] == pytest.approx(25e-3, rel=1e-15)
    assert p["heater_resistance"] == 1000.0 and p["v_max"] == 10.0
    assert p["insertion_loss_db"] == 0.3 and "insertion_loss_db" in p
    assert 20e-3 <= p["p_pi"] <= 30e-3
    assert p["v_max"] ** 2 / p["heater_resistance"] >= 2 * p["p_pi"]  # reaches 2 pi


def test_camera_values():
    p = load_profile("hamamatsu_orca_flash4_v3")
    assert p["pixel_pitch"] == 6.5e-6 and p["adc_bits"] == 16
    assert 0 < p["quantum_efficiency"] <= 1
    assert p["full_well_e"] < 2 ** p["adc_bits"]


def test_lut_loads_with_one_phase_per_level():
    p = load_profile("holoeye_pluto2")
    lut = p.lut()
    assert lut.shape == (2 ** p["gray_bits"],) and lut.dtype == torch.float64
    g = torch.arange(256, dtype=torch.float64)
    torch.testing.assert_close(lut, 2 * math.pi * g / 256, rtol=0, atol=1e-11)
    assert load_profile("santec_slm200").lut() is None


def test_load_by_path_and_units(tmp_path):
    text = _replace("pixel_pitch_um = 8.0", "pixel_pitch_mm = 0.008")
    text = _replace("max_phase_pi = 2.0", "max_phase_deg = 180.0", text)
    p = load_profile(_write(tmp_path, text))
    assert p["pixel_pitch"] == pytest.approx(8e-6, rel=1e-15)
    assert p["max_phase"] == pytest.approx(math.pi, rel=1e-15)
    assert load_profile(str(tmp_path / "p.toml")) == p


def test_provenance_table(tmp_path):
    text = _replace('provenance = "made up for a test"\n', "") + (
        '\n[provenance]\nsource = "a datasheet"\nurl = "https://example.org"\nnotes = ["a", "b"]\n'
    )
    p = load_profile(_write(tmp_path, text))
    assert p.provenance["source"] == "a datasheet" and p.provenance["notes"] == ("a", "b")


# -- errors: each names the key, the file and the fix ------------------------------

BAD = [
    # (old, new, expected message pieces)
    (
        "pixel_pitch_um = 8.0",
        "pixel_pitch_furlong = 8.0",
        ["pixel_pitch_furlong", "_furlong", "_um"],
    ),
    ("pixel_pitch_um = 8.0", "pixel_pitch_mw = 8.0", ["pixel_pitch_mw", "power", "length", "_um"]),
    ("pixel_pitch_um = 8.0", "pixel_pitch = 8.0", ["'pixel_pitch'", "no unit suffix", "_um"]),
    ("gray_bits = 2", "gray_bits_um = 2", ["gray_bits_um", "no unit suffix", "gray_bits"]),
    (
        "fill_factor = 0.9",
        "fill_factor = 0.9\nfil_factor = 0.9",
        ["unknown key 'fil_factor'", "did you mean 'fill_factor'"],
    ),
    ("fill_factor = 0.9", "fill_factor = 0.9\ncolour = 1", ["unknown key 'colour'", "allowed"]),
    ("fill_factor = 0.9\n", "", ["missing key fill_factor", "add fill_factor"]),
    ("pixel_pitch_um = 8.0\n", "", ["missing key pixel_pitch", "pixel_pitch_m"]),
    ('kind = "slm"\n', "", ["missing key 'kind'"]),
    ('provenance = "made up for a test"\n', "", ["missing key 'provenance'"]),
    ('kind = "slm"', 'kind = "lens"', ["unknown kind 'lens'", "slm"]),
    ("gray_bits = 2", "gray_bits = 2.5", ["gray_bits", "must be an integer"]),
    ("gray_bits = 2", "gray_bits = true", ["gray_bits", "must be an integer"]),
    ("fill_factor = 0.9", 'fill_factor = "high"', ["fill_factor", "must be a number"]),
    ("fill_factor = 0.9", "fill_factor = 1.3", ["fill_factor", "out of range", "(0, 1]"]),
    ("fill_factor = 0.9", "fill_factor = 0.0", ["fill_factor", "out of range"]),
    ("gray_bits = 2", "gray_bits = 0", ["gray_bits", "out of range"]),
    ("pixel_pitch_um = 8.0", "pixel_pitch_um = -8.0", ["pixel_pitch_um", "out of range"]),
    ("pixel_pitch_um = 8.0", "pixel_pitch_m = 8.0", ["pixel_pitch_m", "out of range", "unit"]),
    ("resolution = [4, 6]", "resolution = [4, 6, 2]", ["resolution", "[ny, nx]"]),
    ("resolution = [4, 6]", "resolution = [4, 0]", ["resolution", "positive integers"]),
    (
        "pixel_pitch_um = 8.0",
        "pixel_pitch_um = 8.0\npixel_pitch_nm = 8000.0",
        ["pixel_pitch is given twice"],
    ),
    ('description = "a test SLM"', 'description = ""', ["description", "non-empty"]),
    ("gray_bits = 2", "gray_bits = 2\n[extra]\nx = 1", ["unexpected table [extra]"]),
    ("gray_bits = 2", "gray_bits = = 2", ["invalid TOML"]),
    ("gray_bits = 2", 'gray_bits = 2\nlut = "nope.csv"', ["nope.csv", "not found"]),
]


@pytest.mark.parametrize("old, new, pieces", BAD)
def test_bad_profile_raises_clear_error(tmp_path, old, new, pieces):
    path = _write(tmp_path, _replace(old, new))
    with pytest.raises(ValueError) as err:
        load_profile(path)
    msg = str(err.value)
    assert str(path) in msg
    for piece in pieces:
        assert piece in msg, f"{piece!r} not in {msg!r}"


def test_bad_provenance_table(tmp_path):
    text = _replace('provenance = "made up for a test"\n', "") + '\n[provenance]\nurl = "x"\n'
    with pytest.raises(ValueError, match="needs a 'source' string"):
        load_profile(_write(tmp_path, text))


MZI = """
name = "m"
kind = "mzi_platform"
description = "d"
provenance = "p"
wavelength_nm = 1550.0
p_pi_mw = 25.0
insertion_loss_db = 0.3
coupler_imbalance_sigma_rad = 0.03
thermal_crosstalk = 0.05
heater_resistance_ohm = 1000.0
dac_bits = 16
v_max_v = 10.0
"""


def test_mzi_platform_consistency(tmp_path):
    assert load_profile(_write(tmp_path, MZI))["p_pi"] == pytest.approx(0.025)
    bad = MZI.replace("v_max_v = 10.0", "v_max_v = 5.0")  # 25 mW max < 50 mW for 2 pi
    with pytest.raises(ValueError, match="cannot reach a 2 pi"):
        load_profile(_write(tmp_path, bad))
    bad = MZI.replace("thermal_crosstalk = 0.05", "thermal_crosstalk = 1.0")
    with pytest.raises(ValueError, match=r"thermal_crosstalk.*out of range.*\[0, 1\)"):
        load_profile(_write(tmp_path, bad))
    bad = MZI.replace("p_pi_mw = 25.0", "p_pi_mv = 25.0")
    with pytest.raises(ValueError, match="'_mv' is a unit of voltage, but p_pi is a power"):
        load_profile(_write(tmp_path, bad))


@pytest.mark.parametrize(
    "rows, match",
    [
        ("gray,phase\n0,0\n1,1\n2,2\n3,3\n", "header 'gray,phase_rad'"),
        ("gray,phase_rad\n0,0\n1,1\n2,2\n", "3 rows, but gray_bits = 2 needs 4"),
        ("gray,phase_rad\n0,0\n2,1\n1,2\n3,3\n", "row 3 must be gray level 1"),
        ("gray,phase_rad\n0,0\n1,nan\n2,2\n3,3\n", "finite phase"),
        ("gray,phase_rad\n0,0\n1,x\n2,2\n3,3\n", "is not 'int,float'"),
    ],
)
def test_bad_lut(tmp_path, rows, match):
    (tmp_path / "lut.csv").write_text(rows)
    path = _write(tmp_path, _replace("gray_bits = 2", 'gray_bits = 2\nlut = "lut.csv"'))
    with pytest.raises(ValueError, match=match):
        load_profile(path)


def test_good_lut(tmp_path):
    (tmp_path / "lut.csv").write_text("# measured\ngray,phase_rad\n0,0\n1,1.5\n2,3.0\n3,4.5\n")
    p = load_profile(_write(tmp_path, _replace("gray_bits = 2", 'gray_bits = 2\nlut = "lut.csv"')))
    assert p.lut(torch.float32).tolist() == [0.0, 1.5, 3.0, 4.5]


def test_unknown_name_and_bad_types(tmp_path):
    with pytest.raises(ValueError, match="did you mean 'holoeye_pluto2'"):
        load_profile("holoeye_pluto")
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_profile(tmp_path / "missing.toml")
    with pytest.raises(TypeError, match="profile name or a path"):
        load_profile(3)


def test_profiles_dir_falls_back_to_checkout(monkeypatch):
    """Without the installed package photonn.device_profiles, a source checkout's devices/."""
    from importlib import resources

    import photonn

    if not (Path(photonn.__file__).resolve().parents[1] / "devices").is_dir():
        pytest.skip("photonn is installed from a wheel here, not run from a source checkout")

    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(resources, "files", missing)
    path = profiles_dir()
    assert path.name == "devices" and (path / "holoeye_pluto2.toml").is_file()


# -- derived values and the one resolver ------------------------------------------------


def test_derived_values_of_an_mzi_platform():
    """si_thermo_optic_mzi: P_pi 25 mW, R 1 kOhm, V_max 10 V, 16-bit DAC.
    V_pi = sqrt(0.025 * 1000) = 5 V; P_max = 100 / 1000 = 0.1 W; full-scale phase
    pi * 0.1 / 0.025 = 4 pi; one code = 10 / 65535 V."""
    p = load_profile("si_thermo_optic_mzi")
    assert p.p_pi == pytest.approx(0.025) and p.heater_resistance == pytest.approx(1e3)
    assert p.v_pi == pytest.approx(5.0, rel=1e-14)
    assert p.p_max == pytest.approx(0.1, rel=1e-14)
    assert p.phase_range_at_vmax == pytest.approx(4 * math.pi, rel=1e-14)
    assert p.dac_levels == 2**16 and p.dac_step == pytest.approx(10 / 65535, rel=1e-14)
    with pytest.raises(ValueError, match="'mzi_platform' profiles"):
        load_profile("holoeye_pluto2").v_pi  # noqa: B018


def test_derived_values_of_an_slm_and_a_camera():
    slm = load_profile("holoeye_pluto2")  # 1080 x 1920 pixels of 8 um, 8 bit
    assert slm.active_area == pytest.approx((1080 * 8e-6, 1920 * 8e-6), rel=1e-14)
    assert slm.gray_levels == 256
    lut = slm.phase_lut()
    assert lut.shape == (256,) and lut.dtype == torch.float64
    torch.testing.assert_close(lut, slm.lut())  # the shipped look-up table
    red = slm.phase_lut(2 * slm["wavelength"])  # twice the wavelength: half the phase
    torch.testing.assert_close(red, lut / 2, rtol=1e-15, atol=0)
    cam = load_profile("hamamatsu_orca_flash4_v3")  # 30 ke- full well, 1.6 e- read noise
    assert cam.dynamic_range == pytest.approx(30000 / 1.6, rel=1e-14)
    assert cam.dynamic_range_db == pytest.approx(20 * math.log10(30000 / 1.6), rel=1e-14)
    assert cam.gray_levels == 2**16
    with pytest.raises(ValueError, match="'camera' profiles"):
        slm.dynamic_range  # noqa: B018
    with pytest.raises(ValueError, match="'slm' profiles"):
        cam.phase_lut()


def test_resolve_profile_takes_objects_names_paths_and_si_mappings(tmp_path):
    from photonn.devices import resolve_profile

    p = load_profile("holoeye_pluto2")
    assert resolve_profile(p, kind="slm") is p
    assert resolve_profile("holoeye_pluto2", kind="slm") == p
    assert resolve_profile(p.path) == p
    assert resolve_profile(str(_write(tmp_path, GOOD_SLM)), kind="slm")["gray_bits"] == 2
    m = resolve_profile({"pixel_pitch": 8e-6, "resolution": (4, 6), "lut": [0, 1, 2, 3]}, "slm")
    assert m.kind == "slm" and m["resolution"] == (4, 6) and m.path is None
    assert m.lut().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert hash(m) == hash(resolve_profile(dict(m.values), kind="slm"))


def test_resolve_profile_errors():
    from photonn.devices import resolve_profile

    with pytest.raises(ValueError, match="not a 'camera' profile; expected kind 'camera'"):
        resolve_profile("holoeye_pluto2", kind="camera")
    with pytest.raises(ValueError, match="unknown kind 'laser'"):
        resolve_profile("holoeye_pluto2", kind="laser")
    with pytest.raises(TypeError, match="DeviceProfile, a shipped profile name"):
        resolve_profile(42, kind="slm")
    with pytest.raises(TypeError, match="needs kind"):
        resolve_profile({"pixel_pitch": 8e-6})
    with pytest.raises(ValueError, match="did you mean 'pixel_pitch'"):
        resolve_profile({"pixel_pich": 8e-6}, kind="slm")
    with pytest.raises(ValueError, match="fill_factor = 1.3 must lie in"):
        resolve_profile({"fill_factor": 1.3}, kind="slm")
    with pytest.raises(ValueError, match="gray_bits = 2 needs 4"):
        resolve_profile({"gray_bits": 2, "lut": [0.0, 1.0]}, kind="slm")
    with pytest.raises(ValueError, match="cannot reach a 2 pi"):
        resolve_profile({"v_max": 1.0, "heater_resistance": 1e3, "p_pi": 0.025}, "mzi_platform")
    with pytest.raises(ValueError, match="lacks \\['p_pi'\\]"):
        resolve_profile({"heater_resistance": 1e3}, kind="mzi_platform").v_pi  # noqa: B018


def test_a_profile_file_with_bit_depth_still_loads_with_a_warning(tmp_path):
    """``bit_depth`` was the key of an SLM's gray levels (now ``gray_bits``) and of a
    camera's ADC (now ``adc_bits``): a user's old file loads, warning with the new key."""
    import warnings

    old = _write(tmp_path, _replace("gray_bits = 2", "bit_depth = 2"))
    with pytest.warns(
        DeprecationWarning, match="'bit_depth' is deprecated: write it as 'gray_bits'"
    ):
        p = load_profile(old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert p.gray_bits == 2 and p["gray_bits"] == 2 and p.gray_levels == 4
        assert load_profile(_write(tmp_path, GOOD_SLM, "new.toml")) == p
    with pytest.warns(DeprecationWarning, match="'bit_depth' is deprecated: it is 'gray_bits'"):
        assert p["bit_depth"] == 2
    with pytest.warns(DeprecationWarning, match="SLMProfile.bit_depth is deprecated"):
        assert p.bit_depth == 2
    both = _write(tmp_path, _replace("gray_bits = 2", "gray_bits = 2\nbit_depth = 2"), "b.toml")
    with pytest.raises(ValueError, match="keep only gray_bits"):
        load_profile(both)
    cam = (profiles_dir() / "hamamatsu_orca_flash4_v3.toml").read_text()
    assert "\nadc_bits = 16\n" in cam
    path = _write(tmp_path, cam.replace("adc_bits = 16", "bit_depth = 16"), "cam.toml")
    with pytest.warns(
        DeprecationWarning, match="'bit_depth' is deprecated: write it as 'adc_bits'"
    ):
        c = load_profile(path)
    assert c.adc_bits == 16 and c.gray_levels == 2**16


def test_read_lut_gray_bits_and_its_deprecated_name(tmp_path):
    import warnings

    from photonn.devices import read_lut

    path = tmp_path / "lut.csv"
    path.write_text("gray,phase_rad\n0,0.0\n1,1.0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_lut(path, 1) == read_lut(path, gray_bits=1) == [0.0, 1.0]
    with pytest.warns(DeprecationWarning, match=r"read_lut\(bit_depth=...\) is deprecated"):
        assert read_lut(path, bit_depth=1) == [0.0, 1.0]
    with pytest.raises(ValueError, match="2 rows, but gray_bits = 2 needs 4"):
        read_lut(path, 2)
