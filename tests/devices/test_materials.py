"""Material profiles (kind "material"): shipped files, the index over wavelength, bad input."""

import math

import pytest

from photonn.devices import KINDS, MaterialProfile, list_profiles, load_profile


def malitson(lam_um: float) -> float:
    """Fused silica, Malitson 1965 (independent of the shipped table)."""
    l2 = lam_um**2
    return math.sqrt(
        1
        + 0.6961663 * l2 / (l2 - 0.0684043**2)
        + 0.4079426 * l2 / (l2 - 0.1162414**2)
        + 0.8974794 * l2 / (l2 - 9.896161**2)
    )


def test_materials_are_shipped_and_listed():
    names = list_profiles()
    for name in ("vero_black_plus_rgd875", "fused_silica", "silicon"):
        assert name in names
        p = load_profile(name)
        assert isinstance(p, MaterialProfile) and p.kind == "material"
        assert p.provenance["source"] and p.provenance.get("doi")
    assert set(KINDS["material"]) >= {"refractive_index", "extinction_coefficient", "wavelength"}


def test_lin_resin_at_0p4_thz():
    p = load_profile("vero_black_plus_rgd875")
    assert p.wavelength == pytest.approx(299792458 / 0.4e12, rel=1e-3)  # 0.4 THz
    assert p.index() == (1.7227, 0.031)
    assert p.index(750e-6) == (1.7227, 0.031)
    with pytest.raises(ValueError, match="only at 750000 nm.*index_table"):
        p.index(633e-9)


def test_fused_silica_table_follows_sellmeier():
    p = load_profile("fused_silica")
    # at table nodes: the 6-decimal rounding; between nodes (1.4 um): linear interpolation
    # of a smooth curve over 240 nm, error below 2e-4 (second difference of the nodes)
    assert p.index(633e-9)[0] == pytest.approx(malitson(0.633), abs=1e-6)
    assert p.index(1.4e-6)[0] == pytest.approx(malitson(1.4), abs=2e-4)
    assert p.index(1.55e-6) == (pytest.approx(malitson(1.55), abs=1e-6), 0.0)
    with pytest.raises(ValueError, match=r"outside the index table.*250 \.\. 3500 nm"):
        p.index(10.6e-6)


def test_silicon_at_10p6_um():
    assert load_profile("silicon").index(10.6e-6)[0] == pytest.approx(3.4176, abs=1e-4)


def _write(tmp_path, body: str, table: str | None = None):
    if table is not None:
        (tmp_path / "t.csv").write_text(table)
    f = tmp_path / "m.toml"
    f.write_text(
        'name = "m"\nkind = "material"\ndescription = "test"\nprovenance = "test"\n' + body
    )
    return f


def test_bad_material_files(tmp_path):
    with pytest.raises(ValueError, match="refractive_index.*out of range"):
        load_profile(
            _write(
                tmp_path,
                "refractive_index = 0.5\nextinction_coefficient = 0\nwavelength_nm = 633\n",
            )
        )
    with pytest.raises(ValueError, match="missing key.*extinction_coefficient"):
        load_profile(_write(tmp_path, "refractive_index = 1.5\nwavelength_nm = 633\n"))
    body = (
        "refractive_index = 1.5\nextinction_coefficient = 0.1\nwavelength_nm = 633\n"
        'index_table = "t.csv"\n'
    )
    with pytest.raises(ValueError, match="table gives n = 1.6.*make them agree"):
        load_profile(_write(tmp_path, body, "wavelength_nm,n,kappa\n500,1.6,0.1\n700,1.6,0.1\n"))
    with pytest.raises(ValueError, match="strictly increasing"):
        load_profile(_write(tmp_path, body, "wavelength_nm,n,kappa\n700,1.5,0\n500,1.5,0\n"))
    p = load_profile(_write(tmp_path, body, "wavelength_nm,n,kappa\n500,1.4,0\n766,1.6,0.2\n"))
    assert p.index(633e-9) == (1.5, 0.1)  # the stated values at the stated wavelength
    n, k = p.index(600e-9)
    assert n == pytest.approx(1.4 + 0.2 * 100 / 266) and k == pytest.approx(0.2 * 100 / 266)
