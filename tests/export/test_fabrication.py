"""Fabrication export: phase -> relief height, absorption, binary STL (read back by an
independent reader), 16-bit height map, spec, manifest, bundle, load, CLI, bad input."""

from __future__ import annotations

import math
import struct
from collections import Counter

import numpy as np
import pytest
import torch

from photonn import export as E
from photonn.devices import profile_from_values
from photonn.export.fabrication import relief_mesh, write_stl
from photonn.functional.fabrication import (
    height_to_phase,
    height_transmission,
    phase_to_height,
    two_pi_height,
)

from .helpers import decode_png

LAM = 0.75e-3  # 0.4 THz
RESIN = "vero_black_plus_rgd875"


# -- an independent binary STL reader -------------------------------------------------------
def read_stl(path) -> tuple[np.ndarray, np.ndarray]:
    """(normals (T, 3), vertices (T, 3, 3)) in file units, parsed with struct."""
    data = path.read_bytes()
    (count,) = struct.unpack_from("<I", data, 80)
    assert len(data) == 84 + 50 * count, "binary STL size must be 84 + 50 T bytes"
    normals, verts = [], []
    for k in range(count):
        vals = struct.unpack_from("<12fH", data, 84 + 50 * k)
        normals.append(vals[:3])
        verts.append([vals[3:6], vals[6:9], vals[9:12]])
    return np.array(normals, dtype=np.float64), np.array(verts, dtype=np.float64)


def edges(verts: np.ndarray) -> tuple[Counter, Counter]:
    """Undirected and directed edge counts, vertices keyed by their exact coordinates."""
    und, dirc = Counter(), Counter()
    for tri in verts:
        pts = [tuple(p) for p in tri]
        for a, b in ((0, 1), (1, 2), (2, 0)):
            dirc[(pts[a], pts[b])] += 1
            und[frozenset((pts[a], pts[b]))] += 1
    return und, dirc


def volume(verts: np.ndarray) -> float:
    """Enclosed volume by the divergence theorem: sum of v0 . (v1 x v2) / 6."""
    return float(np.einsum("ij,ij->i", verts[:, 0], np.cross(verts[:, 1], verts[:, 2])).sum() / 6)


def top_heights(verts, normals, shape, pitch_mm, base_mm) -> np.ndarray:
    """Relief height [mm] per pixel from the +z facets (row 0 at the largest y)."""
    ny, nx = shape
    out = np.full(shape, np.nan)
    for tri, n in zip(verts, normals):
        if n[2] > 0.5 and tri[:, 2].min() > 0:
            c = tri.mean(0)
            col = int(c[0] // pitch_mm[1])
            row = ny - 1 - int(c[1] // pitch_mm[0])
            out[row, col] = tri[0, 2] - base_mm
    return out


# -- pure functions -------------------------------------------------------------------------
def test_phase_to_height_formula_wrapping_and_levels():
    n = 1.7227
    h2pi = LAM / (n - 1)
    assert two_pi_height(LAM, n) == pytest.approx(h2pi, rel=1e-15)
    phi = torch.tensor([0.0, 1.0, math.pi, 2 * math.pi + 0.5, -0.5])
    h = phase_to_height(phi, LAM, n)
    expect = torch.remainder(phi.double(), 2 * math.pi) * LAM / (2 * math.pi * (n - 1))
    torch.testing.assert_close(h, expect, rtol=1e-14, atol=0)
    torch.testing.assert_close(
        height_to_phase(h, LAM, n), torch.remainder(phi.double(), 2 * math.pi)
    )
    # a medium of index 1.33 (water): larger steps
    assert phase_to_height(torch.tensor([1.0]), LAM, n, 1.33)[0] == pytest.approx(
        LAM / (2 * math.pi * (n - 1.33))
    )
    # two whole 2 pi steps fit below 2.5 h_2pi: the phase is wrapped into [0, 4 pi)
    h = phase_to_height(torch.tensor([2 * math.pi + 0.5]), LAM, n, max_height=2.5 * h2pi)
    assert h[0] == pytest.approx((2 * math.pi + 0.5) * h2pi / (2 * math.pi))
    # 4 levels: 0, pi/2, pi, 3 pi/2; 2 pi - 0.1 rounds to 0 on the circle
    h = phase_to_height(torch.tensor([0.3, 1.4, 2 * math.pi - 0.1]), LAM, n, levels=4)
    torch.testing.assert_close(h / (h2pi / 4), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    # printer resolution: multiples of it
    res = h2pi / 37
    h = phase_to_height(torch.rand(50) * 6, LAM, n, resolution=res)
    torch.testing.assert_close(h / res, torch.round(h / res), rtol=0, atol=1e-9)


def test_absorption_is_the_complex_index():
    """t = exp(i 2 pi (n + i kappa) h / lambda) exp(-i 2 pi n_medium h / lambda), times the
    base plate's exp(-2 pi kappa base / lambda)."""
    n, kappa, base = 1.7227, 0.031, 0.4e-3
    h = torch.linspace(0, 1e-3, 11, dtype=torch.float64)
    t = height_transmission(h, LAM, n, kappa, base=base)
    ref = (
        torch.exp(2j * math.pi * complex(n, kappa) * h / LAM)
        * torch.exp(-2j * math.pi * 1.0 * h / LAM)
        * math.exp(-2 * math.pi * kappa * base / LAM)
    )
    torch.testing.assert_close(t, ref, rtol=1e-13, atol=1e-15)
    # 1 mm of resin at 0.4 THz transmits exp(-2 pi 0.031 / 0.75) = 0.771 in field
    assert float(t[-1].abs()) / math.exp(-2 * math.pi * kappa * base / LAM) == pytest.approx(
        0.7713, abs=1e-4
    )


def test_bad_input_names_the_value_and_the_fix():
    with pytest.raises(ValueError, match=r"n = 1.2 is not above the medium's n_medium = 1.33"):
        phase_to_height(torch.zeros(2), LAM, 1.2, 1.33)
    h2pi = LAM / 0.7227
    with pytest.raises(ValueError, match=r"max_height = 500 um is below one 2 pi step.*1037\.7"):
        phase_to_height(torch.zeros(2), LAM, 1.7227, max_height=500e-6)
    with pytest.raises(ValueError, match=r"printer resolution 300 um is coarser than one of 4"):
        phase_to_height(torch.zeros(2), LAM, 1.7227, levels=4, resolution=300e-6)
    with pytest.raises(ValueError, match="coarser than half a 2 pi step"):
        phase_to_height(torch.zeros(2), LAM, 1.7227, resolution=0.6 * h2pi)
    with pytest.raises(ValueError, match="levels must be an integer >= 2"):
        phase_to_height(torch.zeros(2), LAM, 1.7227, levels=1)
    with pytest.raises(ValueError, match="heights must be >= 0"):
        height_transmission(torch.tensor([-1e-6]), LAM, 1.7, 0.0)


# -- the STL --------------------------------------------------------------------------------
def _check_closed(verts, normals, height_mm, pitch_mm, base_mm, saddles_allowed):
    und, dirc = edges(verts)
    # consistent orientation: every directed edge is matched by as many reversed ones
    assert all(dirc[(a, b)] == dirc[(b, a)] for (a, b) in dirc)
    counts = Counter(und.values())
    if saddles_allowed:
        assert set(counts) <= {2, 4}
        for e, c in und.items():
            if c == 4:  # only where two columns touch along a vertical corner edge
                a, b = tuple(e)
                assert a[:2] == b[:2]
    else:
        assert set(counts) == {2}, counts
    # facet normals agree with the winding (outward) and are unit vectors
    w = np.cross(verts[:, 1] - verts[:, 0], verts[:, 2] - verts[:, 0])
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(normals, w, atol=1e-5)
    # divergence theorem: the volume is the base plate plus the columns
    want = pitch_mm[0] * pitch_mm[1] * float(np.sum(base_mm + height_mm))
    assert volume(verts) == pytest.approx(want, rel=1e-6)


def test_stl_of_a_ramp_is_closed_and_its_volume_is_the_columns(tmp_path):
    ny, nx, pitch, base = 5, 7, (0.4e-3, 0.3e-3), 0.5e-3
    # heights rising along both axes: no two pixels touch only at a corner
    h = np.add.outer(np.arange(ny), 2 * np.arange(nx)) * 0.1e-3
    path = write_stl(tmp_path / "r.stl", relief_mesh(h, pitch, base))
    normals, verts = read_stl(path)
    _check_closed(verts, normals, h * 1e3, (0.4, 0.3), 0.5, saddles_allowed=False)
    np.testing.assert_allclose(
        top_heights(verts, normals, (ny, nx), (0.4, 0.3), 0.5), h * 1e3, atol=1e-6
    )


def test_stl_of_random_levels_and_a_checkerboard(tmp_path):
    g = np.random.default_rng(0)
    h = g.integers(0, 4, (9, 8)) * 0.25e-3
    normals, verts = read_stl(write_stl(tmp_path / "q.stl", relief_mesh(h, (1e-3, 1e-3), 1e-3)))
    _check_closed(verts, normals, h * 1e3, (1.0, 1.0), 1.0, saddles_allowed=True)
    board = (np.indices((4, 4)).sum(0) % 2) * 0.5e-3
    normals, verts = read_stl(write_stl(tmp_path / "c.stl", relief_mesh(board, (1e-3, 1e-3), 1e-3)))
    _check_closed(verts, normals, board * 1e3, (1.0, 1.0), 1.0, saddles_allowed=True)
    assert 4 in edges(verts)[0].values()  # the diagonal contacts of the board


# -- the export directory -------------------------------------------------------------------
def _thz_d2nn():
    import photonn as pn
    from photonn.models import D2NN

    return D2NN(
        pn.Grid(12, 0.4e-3),
        LAM,
        num_layers=2,
        distance=3e-2,
        input_size=6,
        init="uniform",
        generator=torch.Generator().manual_seed(3),
        dtype=torch.complex128,
    )


@pytest.mark.parametrize("levels", [None, 4])
def test_fabrication_export_round_trip(tmp_path, levels):
    model = _thz_d2nn()
    out = E.export(model, tmp_path / "x", fabrication=RESIN, levels=levels, base_m=0.6e-3)
    m = E.read_manifest(out)
    assert m["devices"][RESIN]["kind"] == "material" and "fabrication" in m["conventions"]
    x = torch.rand(3, 28, 28, dtype=torch.float64)
    ref = E.quantized_model(model, fabrication=RESIN, levels=levels, base_m=0.6e-3)(x)
    torch.testing.assert_close(E.load(out)(x), ref, rtol=0, atol=0)
    torch.testing.assert_close(E.load(out, source="files")(x), ref, rtol=1e-12, atol=1e-15)
    bundle = E.read_bundle(out / "bundle.h5")
    n, kappa = 1.7227, 0.031
    h2pi = LAM / (n - 1)
    for i, rec in enumerate(m["fabrication"]):
        assert rec["material"] == RESIN and rec["base_m"] == 0.6e-3
        assert rec["distance_before_m"] == 3e-2 and rec["pixel_pitch_m"] == [0.4e-3, 0.4e-3]
        spec = (out / rec["files"]["spec"]).read_text()
        assert 'material = "vero_black_plus_rgd875"' in spec and "base_m = 0.0006" in spec
        height = bundle["fabrication"][rec["element"]]["height"].numpy()
        # the 16-bit height map times its scale is the relief
        png, depth = decode_png(out / rec["files"]["png"])
        assert depth == 16
        np.testing.assert_array_equal(png * rec["height_scale_m"], height)
        if levels:
            assert rec["height_scale_m"] == pytest.approx(h2pi / 4) and png.max() <= 3
        # the STL, read independently, holds the same relief on the base plate
        normals, verts = read_stl(out / rec["files"]["stl"])
        _check_closed(verts, normals, height * 1e3, (0.4, 0.4), 0.6, saddles_allowed=True)
        got = top_heights(verts, normals, height.shape, (0.4, 0.4), 0.6) * 1e-3
        np.testing.assert_allclose(got, height, atol=2e-9)  # float32 mm coordinates
        # its transmission is the rebuilt mask's: phase from the height, absorption from kappa
        t = np.exp(-2 * np.pi * kappa * (0.6e-3 + got) / LAM) * np.exp(
            2j * np.pi * (n - 1) * got / LAM
        )
        mask = E.load(out).masks[i]
        np.testing.assert_allclose(mask.transmission().numpy(), t, atol=2e-5)
        # the trained phase is realised (to the quantisation)
        err = np.angle(
            np.exp(1j * (mask.phase().numpy() - model.masks[i].phase().detach().numpy()))
        )
        assert np.abs(err).max() <= (math.pi / 4 + 1e-9 if levels else 2 * math.pi / 65535)


def test_fabrication_bad_requests(tmp_path):
    model = _thz_d2nn()
    with pytest.raises(ValueError, match="not both"):
        E.export(model, tmp_path / "a", "holoeye_pluto2", fabrication=RESIN)
    with pytest.raises(ValueError, match="not a 'material' profile"):
        E.export(model, tmp_path / "b", fabrication="holoeye_pluto2")
    with pytest.raises(ValueError, match=r"outside the index table of material 'fused_silica'"):
        E.export(model, tmp_path / "c", fabrication="fused_silica")
    low = profile_from_values(
        {"refractive_index": 1.0, "extinction_coefficient": 0.0, "wavelength": LAM}, "material"
    )
    with pytest.raises(ValueError, match="not above the medium"):
        E.export(model, tmp_path / "d", fabrication=low)
    with pytest.raises(TypeError, match="levels.*fabrication=MATERIAL exports only"):
        E.export(model, tmp_path / "e", "holoeye_pluto2", levels=4)
    with pytest.raises(ValueError, match="base_m must be a thickness > 0"):
        E.export(model, tmp_path / "f", fabrication=RESIN, base_m=0.0)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_a_crash_mid_export_leaves_no_directory(tmp_path, monkeypatch):
    from photonn.export import write

    def boom(path):
        if path.suffix == ".stl":
            raise RuntimeError("crash")

    monkeypatch.setattr(write.hooks, "after_file", boom)
    with pytest.raises(RuntimeError, match="crash"):
        E.export(_thz_d2nn(), tmp_path / "x", fabrication=RESIN)
    assert not (tmp_path / "x").exists()


def test_cli_export_fabrication(tmp_path, capsys):
    from photonn.cli import main

    from .test_cli import TINY

    run = tmp_path / "run"
    args = ["model.size=16", "model.pitch_m=8e-6", "model.wavelength_m=6.33e-7"]
    args += ["model.distance_m=1e-3", "model.input_size=8", "model.region_size_m=1.6e-5"]
    sets = [a for s in args for a in ("--set", s)]
    assert main(["train", *TINY, *sets, "--run-dir", str(run)]) == 0
    out = tmp_path / "print"
    argv = ["export", str(run), "--fabrication", "fused_silica", "--levels", "8"]
    assert main([*argv, "--base-mm", "0.5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fabricated layer masks.0 in fused_silica (n = 1.45701" in text and "8 levels" in text
    m = E.read_manifest(out)
    assert [r["element"] for r in m["fabrication"]] == [f"masks.{i}" for i in range(5)]
    assert m["fabrication"][0]["base_m"] == 0.5e-3 and m["fabrication"][0]["levels"] == 8
    for rec in m["fabrication"]:
        assert all((out / f).is_file() for f in rec["files"].values())
    x = torch.rand(2, 28, 28)
    torch.testing.assert_close(E.load(out, source="files")(x), E.load(out)(x))
    assert main([*argv, "--device", "holoeye_pluto2", "--out", str(tmp_path / "y")]) != 0
    assert "not both" in capsys.readouterr().err
