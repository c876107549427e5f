"""photonn export RUN_DIR --device ... --out DIR [--force], and photonn inspect EXPORT_DIR."""

from __future__ import annotations

import pytest
import torch

from photonn import export as E
from photonn.cli import main
from photonn.runs import load_run

TINY = [
    "--set",
    "epochs=1",
    "--set",
    "data.train_limit=64",
    "--set",
    "data.test_limit=32",
    "--set",
    "data.validation=0",
    "--set",
    'keep_best=""',
    "--set",
    "progress=false",
    "--set",
    "pictures=false",
    "--set",
    "batch_size=32",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    mlp, d2nn = root / "mlp", root / "d2nn"
    assert (
        main(
            [
                "train",
                *TINY,
                "--set",
                "model.kind=photonic_mlp",
                "--set",
                "model.features=2",
                "--set",
                "model.hidden=[3]",
                "--run-dir",
                str(mlp),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                *TINY,
                "--set",
                "model.kind=d2nn",
                "--set",
                "model.size=16",
                "--set",
                "model.pitch_m=8e-6",
                "--set",
                "model.wavelength_m=6.33e-7",
                "--set",
                "model.distance_m=1e-3",
                "--set",
                "model.input_size=8",
                "--set",
                "model.detector_size=2",
                "--run-dir",
                str(d2nn),
            ]
        )
        == 0
    )
    prof = root / "panel.toml"
    prof.write_text(
        'name = "panel"\nkind = "slm"\ndescription = "a small test panel"\nprovenance = "test"\n'
        "resolution = [24, 32]\npixel_pitch_um = 8.0\nbit_depth = 8\nfill_factor = 1.0\n"
        "max_phase_pi = 2.0\nwavelength_nm = 633.0\n"
    )
    return mlp, d2nn, prof


def test_export_and_inspect_a_d2nn_run(runs, tmp_path, capsys):
    _, d2nn, prof = runs
    out = tmp_path / "ex"
    assert main(["export", str(d2nn), "--device", str(prof), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "SLM layer masks.0 on panel" in text and f"wrote {out}" in text
    m = E.read_manifest(out)
    assert m["model"]["kind"] == "d2nn" and m["model"]["config"]["model"]["size"] == 16
    assert "final" in m["model"]["metrics"]
    cfg, model = load_run(d2nn)
    x = torch.rand(2, 28, 28)
    with torch.no_grad():
        assert torch.equal(E.load(out, source="files")(x), E.quantized_model(model, prof)(x))
    # an existing directory needs --force
    assert main(["export", str(d2nn), "--device", str(prof), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                str(d2nn),
                "--device",
                str(prof),
                "--out",
                str(out),
                "--force",
                "--bits",
                "6",
            ]
        )
        == 0
    )
    assert E.read_manifest(out)["slm"][0]["bits"] == 6
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "photonn export" in text and "slm_masks.0.png" in text
    assert (out / "inspect" / "slm_masks.0.png").stat().st_size > 1000


def test_export_and_inspect_an_mlp_run(runs, tmp_path, capsys):
    mlp, _, _ = runs
    out = tmp_path / "ex"
    assert (
        main(
            [
                "export",
                str(mlp),
                "--device",
                "si_thermo_optic_mzi",
                "--out",
                str(out),
                "--bits",
                "10",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "chip si_thermo_optic_mzi" in text and "pre-compensated" in text
    assert main(["inspect", str(out), "--pictures", str(tmp_path / "pics")]) == 0
    assert (tmp_path / "pics" / "chip_si_thermo_optic_mzi.png").is_file()
    # errors: no device, a wrong kind, mixed forms, a missing run
    capsys.readouterr()
    assert main(["export", str(mlp), "--out", str(tmp_path / "x")]) == 2
    assert "--device" in capsys.readouterr().err
    assert (
        main(["export", str(mlp), "--device", "holoeye_pluto2", "--out", str(tmp_path / "x")]) == 2
    )
    assert "no mzi_platform device profile" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                str(mlp),
                "--device",
                "a=b",
                "--device",
                "holoeye_pluto2",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "not both" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                str(tmp_path / "nope"),
                "--device",
                "si_thermo_optic_mzi",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "not a run directory" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err
