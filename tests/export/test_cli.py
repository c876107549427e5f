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
        "resolution = [24, 32]\npixel_pitch_um = 8.0\ngray_bits = 8\nfill_factor = 1.0\n"
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


# -- paths that cannot take an export are refused before any work, naming the path -----
def test_an_existing_out_is_refused_before_the_run_is_read(tmp_path, capsys):
    out = tmp_path / "ex"
    out.mkdir()
    # the run directory does not exist: the --out check comes first
    args = ["export", str(tmp_path / "no-run"), "--device", "panel", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--out {out} exists; pass --force to replace it" in err and "no-run" not in err
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["export", str(tmp_path / "no-run"), "--device", "p", "--out", str(f / "ex")]) == 2
    assert f"--out {f / 'ex'} lies below {f}, which is a file" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "no-run"), "--device", "p", "--out", str(f)]) == 2
    assert f"--out {f} exists; pass --force" in capsys.readouterr().err
    assert main(["export", "r", "--device", "p", "--out", str(f), "--force"]) == 2
    assert f"--out {f} is a file, not a directory" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path), "--pictures", str(f)]) == 2
    assert f"--pictures {f} is a file" in capsys.readouterr().err


def test_file_exists_errors_of_the_export_get_a_true_message(runs, tmp_path, capsys, monkeypatch):
    """Each FileExistsError the export can raise names its own path and fix; an unrelated
    one is not dressed up as the --out message."""
    import errno

    from photonn import cli

    _, d2nn, prof = runs
    out = tmp_path / "ex"
    args = ["export", str(d2nn), "--device", str(prof), "--out", str(out)]

    def appears_meanwhile(*a, **k):  # another process wrote --out after the check
        out.mkdir()
        raise FileExistsError(f"{out} exists; pass force=True (photonn export --force)")

    monkeypatch.setattr(cli, "_export_run", appears_meanwhile)
    assert main(args) == 2
    assert f"--out {out} exists; pass --force" in capsys.readouterr().err
    out.rmdir()

    def system(*a, **k):  # e.g. a directory photonn creates exists as a file
        raise FileExistsError(errno.EEXIST, "File exists", str(tmp_path / "slm"))

    monkeypatch.setattr(cli, "_export_run", system)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'slm'} already exists (File exists)" in err and "--force" not in err

    def unrelated(*a, **k):
        raise FileExistsError("some other file")

    monkeypatch.setattr(cli, "_export_run", unrelated)
    with pytest.raises(FileExistsError, match="some other file"):
        main(args)
