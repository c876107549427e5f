"""``photonn devices list`` and ``photonn devices show NAME``."""

from __future__ import annotations

import pytest

from photonn.cli import main
from photonn.devices import list_profiles


def test_devices_list(capsys):
    assert main(["devices", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "KIND", "DESCRIPTION"]
    names = [line.split()[0] for line in out[1:]]
    assert names == list_profiles()
    assert any(line.split()[1] == "mzi_platform" for line in out[1:])


@pytest.mark.parametrize(
    "name, pieces",
    [
        (
            "holoeye_pluto2",
            [
                "holoeye_pluto2 (slm)",
                "pixel_pitch  8e-06 m",
                "pixel_pitch_um = 8",
                "256 gray levels",
                "active area 8.64 mm x 15.36 mm",
                "url: https://",
            ],
        ),
        (
            "si_thermo_optic_mzi",
            [
                "(mzi_platform)",
                "p_pi_mw = 25",
                "V_pi = sqrt(p_pi R) = 5 V",
                "phase range at v_max = 4 pi",
                "DAC step 0.1526 mV (65536 levels)",
                "10.1364/OE.22.010487",
            ],
        ),
        ("hamamatsu_orca_flash4_v3", ["(camera)", "read_noise_e", "dynamic range"]),
    ],
)
def test_devices_show(capsys, name, pieces):
    assert main(["devices", "show", name]) == 0
    out = capsys.readouterr().out
    for piece in pieces:
        assert piece in out, f"{piece!r} not in output:\n{out}"


def test_devices_show_path_and_errors(capsys, tmp_path):
    from photonn.devices import profiles_dir

    src = (profiles_dir() / "santec_slm200.toml").read_text(encoding="utf-8")
    path = tmp_path / "mine.toml"
    path.write_text(src.replace("gray_bits = 10", "gray_bits = 10\nbrightness = 3"))
    assert main(["devices", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'brightness'" in err and str(path) in err
    assert main(["devices", "show", "pluto"]) == 2
    assert "no shipped device profile named 'pluto'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["devices"])  # ACTION is required
