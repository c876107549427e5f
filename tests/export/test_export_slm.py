"""Diffractive layers on phase SLMs: the export directory, its round trip, bad profiles."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
import torch

from photonn import export as E
from photonn.devices import load_profile
from photonn.export.images import write_gray_png
from photonn.functional.slm_export import phase_error

from .helpers import decode_bmp, decode_png, nonlinear_profile, small_slm, tiny_d2nn

IMAGES = torch.rand(3, 12, 12, generator=torch.Generator().manual_seed(5))


def _same_forward(a, b):
    with torch.no_grad():
        return torch.equal(a(IMAGES), b(IMAGES))


def test_export_writes_the_directory_and_round_trips(tmp_path):
    model = tiny_d2nn()
    prof = load_profile("holoeye_pluto2")
    out = E.export(
        model,
        tmp_path / "ex",
        prof,
        config={"model": {"kind": "d2nn"}},
        metrics={"final": {"test_accuracy": 0.5}},
    )
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "bundle.h5",
        "manifest.toml",
        "profiles/holoeye_pluto2/holoeye_pluto2.toml",
        "profiles/holoeye_pluto2/holoeye_pluto2_lut.csv",
        "slm/masks.0.bmp",
        "slm/masks.0.png",
        "slm/masks.1.bmp",
        "slm/masks.1.png",
    ]
    m = tomllib.loads((out / "manifest.toml").read_text())
    assert m["schema_version"] == E.SCHEMA_VERSION and m["format"] == "photonn-export"
    assert m["model"]["kind"] == "d2nn" and m["model"]["metrics"]["final"]["test_accuracy"] == 0.5
    assert m["optics"]["model"]["wavelengths_m"] == [633e-9]
    assert m["optics"]["model"]["distances_m"] == [1e-3, 1e-3, 1e-3]
    dev = m["devices"]["holoeye_pluto2"]
    assert dev["hash_sha256"] == prof.content_hash() and dev["values"]["gray_bits"] == 8
    assert "mzi_matrix" in m["conventions"] and "phase_sign" in m["conventions"]
    rec = m["slm"][0]
    assert rec["resolution"] == [1080, 1920] and rec["interpolation"].startswith("exact: 1 x 1")
    assert rec["report"]["phase_max_abs_rad"] <= math.pi / 256 + 1e-9
    q = E.quantized_model(model, prof)
    for source in ("bundle", "files"):
        assert _same_forward(E.load(out, source=source), q)
    # the quantised model is close to the trained one
    with torch.no_grad():
        rel = (q(IMAGES) - model(IMAGES)).abs().max() / model(IMAGES).abs().max()
    assert float(rel) < 0.05


def test_images_match_the_intended_gray_levels(tmp_path):
    """Independent reader (zlib + struct), pixel by pixel, against the plan's gray levels."""
    model = tiny_d2nn()
    for prof in (load_profile("holoeye_pluto2"), load_profile("santec_slm200")):
        # santec: 10 bits at 633 nm is outside its band; use a 10-bit panel in band instead
        if prof.name == "santec_slm200":
            prof = small_slm(bits=10, resolution=(30, 35))
        plan = E.plan_export(model, prof)
        out = E.export(model, tmp_path / prof.name, prof)
        for layer in plan.slm:
            img, depth = decode_png(out / "slm" / f"{layer.element}.png")
            assert depth == (8 if layer.bits <= 8 else 16)
            assert np.array_equal(img, layer.gray.numpy())
            bmp = out / "slm" / f"{layer.element}.bmp"
            assert bmp.exists() == (layer.bits <= 8)
            if bmp.exists():
                assert np.array_equal(decode_bmp(bmp), layer.gray.numpy())
            # outside the mask: the fill phase (0 rad -> gray 0)
            assert int(img[0, 0]) == 0


@pytest.mark.parametrize("bits", [6, 8, 10, 16])
def test_bits_override_and_round_trip(tmp_path, bits):
    model = tiny_d2nn()
    prof = small_slm(bits=8)
    out = E.export(model, tmp_path / "ex", prof, bits=bits)
    q = E.quantized_model(model, prof, bits=bits)
    assert _same_forward(E.load(out, source="files"), q)
    r = E.read_manifest(out)["slm"][0]
    step = 2 * math.pi / 2**bits
    assert r["bits"] == bits and r["report"]["phase_max_abs_rad"] <= step / 2 + 1e-9


def test_resampling_integer_and_non_integer(tmp_path):
    model = tiny_d2nn(n=10, pitch=16e-6)  # 2 x 2 pixels per neuron
    out = E.export(model, tmp_path / "a", small_slm())
    plan = E.plan_export(model, small_slm())
    g = plan.slm[0].gray
    assert torch.equal(g[19, 19], g[20, 20]) and torch.equal(g[19, 20], g[20, 19])
    assert not torch.equal(g[19:21, 19:21], g[21:23, 21:23])
    assert _same_forward(E.load(out, source="files"), plan.quantized_model())
    model = tiny_d2nn(n=10, pitch=20e-6)  # 2.5 pixels per neuron: nearest neighbour
    out = E.export(model, tmp_path / "b", small_slm(resolution=(30, 30)))
    m = E.read_manifest(out)["slm"][0]
    assert "nearest neighbour" in m["interpolation"] and m["pixels_per_neuron"] == pytest.approx(
        [2.5, 2.5]
    )
    assert _same_forward(
        E.load(out, source="files"), E.quantized_model(model, small_slm(resolution=(30, 30)))
    )


def test_nonlinear_lut_half_a_step(tmp_path):
    prof = nonlinear_profile(tmp_path)
    model = tiny_d2nn()
    plan = E.plan_export(model, prof)
    for layer in plan.slm:
        lut = layer.lut
        levels = torch.cat([lut, lut[:1] + 2 * math.pi])
        err = phase_error(layer.realised, layer.target)
        assert float(err.abs().max()) <= 0.5 * float(torch.diff(levels).max()) + 1e-12
    out = E.export(model, tmp_path / "ex", prof)
    assert _same_forward(E.load(out, source="files"), plan.quantized_model())


def test_wavefront_correction_and_fill_phase(tmp_path):
    prof = small_slm()
    rng = np.random.default_rng(1)
    corr = rng.integers(0, 256, size=(40, 48))
    write_gray_png(tmp_path / "corr.png", corr, 8)
    model = tiny_d2nn()
    out = E.export(model, tmp_path / "ex", prof, correction=tmp_path / "corr.png", fill_phase=1.0)
    plan = E.plan_export(model, prof, correction=tmp_path / "corr.png", fill_phase=1.0)
    layer = plan.slm[0]
    c = torch.from_numpy(corr.astype(np.float64)) * (2 * math.pi / 256)
    expected = torch.remainder(layer.panel_target + c, 2 * math.pi)
    shown = layer.lut[layer.gray]
    assert float(phase_error(shown, expected).abs().max()) <= math.pi / 256 + 1e-12
    assert float(layer.panel_target[0, 0]) == 1.0
    assert (out / "slm" / "masks.0.correction.png").is_file()
    assert _same_forward(E.load(out, source="files"), plan.quantized_model())
    assert _same_forward(E.load(out, source="bundle"), plan.quantized_model())


def test_mixed_devices_by_module_name(tmp_path):
    model = tiny_d2nn()
    a, b = small_slm(bits=8), small_slm(bits=10)
    out = E.export(model, tmp_path / "ex", {"masks.0": a, "masks.*": b})
    m = E.read_manifest(out)
    assert [r["bits"] for r in m["slm"]] == [8, 10] and len(m["devices"]) == 2
    with pytest.raises(ValueError, match="match no element"):
        E.plan_export(model, {"masks.7": a, "masks.*": b})
    with pytest.raises(ValueError, match="two slm profiles"):
        E.plan_export(model, [a, b])
    with pytest.raises(ValueError, match="no slm device profile"):
        E.plan_export(model, {"masks.0": a})
    with pytest.raises(ValueError, match=r"no slm device profile.*si_thermo_optic_mzi \(mzi_"):
        E.plan_export(model, "si_thermo_optic_mzi")


def test_profiles_that_do_not_fit_name_both_numbers():
    model = tiny_d2nn(n=16)
    with pytest.raises(ValueError, match=r"too few pixels.*16 x 16 pixels.*10 x 48"):
        E.plan_export(model, small_slm(resolution=(10, 48)))
    with pytest.raises(ValueError, match=r"phase range at 633 nm is 4\.71.*below the 2 pi"):
        E.plan_export(model, small_slm(max_phase=1.5 * math.pi))
    with pytest.raises(ValueError, match=r"633 nm is outside the operating band 1000 \.\. 1600"):
        E.plan_export(model, "santec_slm200")
    with pytest.raises(ValueError, match=r"neuron pitch 4 um.*finer than the pixel pitch 8 um"):
        E.plan_export(tiny_d2nn(pitch=4e-6), small_slm())


def test_existing_directory_needs_force(tmp_path):
    model = tiny_d2nn()
    out = E.export(model, tmp_path / "ex", small_slm())
    with pytest.raises(FileExistsError, match="force=True"):
        E.export(model, out, small_slm())
    first = (out / "manifest.toml").read_text()
    E.export(tiny_d2nn(seed=3), out, small_slm(), force=True)
    assert (out / "manifest.toml").read_text() != first
    assert not list(tmp_path.glob(".ex.tmp-*"))  # no temporary left behind
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a photonn export directory"):
        E.export(model, tmp_path / "other", small_slm(), force=True)


def test_a_reader_of_schema_1_refuses_a_new_export_clearly(tmp_path, monkeypatch):
    """Version 2 renamed an SLM's ``bit_depth`` to ``gray_bits``: a new export says so by
    its version, and a reader that knows only version 1 (simulated) asks for an upgrade
    instead of missing the key; version-1 exports still read (``test_old_exports``)."""
    import photonn.export.manifest as manifest

    out = E.export(tiny_d2nn(), tmp_path / "ex", small_slm())
    m = E.read_manifest(out)
    assert m["schema_version"] == 2
    assert all("bit_depth" not in rec["values"] for rec in m["devices"].values())
    assert any("gray_bits" in rec["values"] for rec in m["devices"].values())
    monkeypatch.setattr(manifest, "SCHEMA_VERSION", 1)
    with pytest.raises(ValueError, match=r"schema version 2.*up to 1: upgrade photonn"):
        E.read_manifest(out)


def test_bad_exports_give_clear_errors(tmp_path):
    model = tiny_d2nn()
    out = E.export(model, tmp_path / "ex", small_slm())
    with pytest.raises(FileNotFoundError, match="not found"):
        E.load(tmp_path / "missing")
    # a newer schema
    text = (out / "manifest.toml").read_text()
    current = f"schema_version = {E.SCHEMA_VERSION}"
    assert current in text
    (out / "manifest.toml").write_text(text.replace(current, "schema_version = 99"))
    with pytest.raises(
        ValueError, match=rf"schema version 99.*newer photonn.*up to {E.SCHEMA_VERSION}"
    ):
        E.load(out)
    (out / "manifest.toml").write_text(text)
    # a truncated bundle: caught by the checksum, and by the reader without it
    data = (out / "bundle.h5").read_bytes()
    (out / "bundle.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="bundle.h5 was changed or is corrupt"):
        E.load(out)
    with pytest.raises(E.BundleError, match="truncated or corrupt"):
        E.load(out, verify=False)
    (out / "bundle.h5").write_bytes(data)
    (out / "slm" / "masks.1.png").unlink()
    with pytest.raises(FileNotFoundError, match="missing slm/masks.1.png"):
        E.load(out)
    (out / "manifest.toml").write_text("this is [not toml")
    with pytest.raises(ValueError, match="not valid TOML"):
        E.load(out)
    (out / "manifest.toml").unlink()
    with pytest.raises(FileNotFoundError, match="manifest.toml is missing"):
        E.load(out)


def test_meadowlark_lut_and_csv_lut(tmp_path):
    lines = ["# gray count"] + [f"{g}\t{int(2047 * (g / 255) ** 0.8)}" for g in range(256)]
    (tmp_path / "slm.lut").write_text("\n".join(lines) + "\n")
    gray, count = E.read_meadowlark_lut(tmp_path / "slm.lut")
    assert gray.tolist() == list(range(256)) and int(count[-1]) == 2047
    phase = E.lut_from_meadowlark(tmp_path / "slm.lut", [0, 2048], [0.0, 2 * math.pi])
    assert abs(float(phase[-1]) - 2 * math.pi * 2047 / 2048) < 1e-12
    (tmp_path / "bad.lut").write_text("0 0\n2 5\n")
    with pytest.raises(ValueError, match="expected gray level 1"):
        E.read_meadowlark_lut(tmp_path / "bad.lut")
    prof = nonlinear_profile(tmp_path)
    t = E.read_lut_csv(prof.lut_path, 8)
    assert torch.equal(t, prof.lut())
