"""Round trip of a printed diffractive network: export to STL and height maps, read both
back, re-test.

The network is the README's main job, ``photonn train`` with its defaults: a 5-layer
phase-only D2NN at 0.4 THz (80 x 80 neurons of 0.4 mm, 1 cm between planes), trained on
the embedded MNIST subset. It is trained first when its run directory is missing. For
continuous relief and 16, 8, 4 and 2 etch levels per 2 pi, this script

1. exports it with ``photonn.export.export(model, dir, fabrication=RESIN, levels=L,
   base_m=1 mm)`` in the resin of Lin et al. 2018 (n = 1.7227, kappa = 0.031 at
   0.4 THz; the profile ``vero_black_plus_rgd875``);
2. reads the relief back twice, without the bundle: from the 16-bit height maps
   (``photonn.export.load(dir, source="files")``) and from the binary STL files,
   parsed here with ``struct`` (the top facet of each pixel column gives its height);
3. turns the heights into phase and absorption (``t = exp(-2 pi kappa (base + h) /
   lambda) exp(i 2 pi (n - 1) h / lambda)``) and tests the rebuilt network on the
   test images, with the absorption and without it (kappa = 0).

The same recipe trained on 4 and 2 phase levels (``--set model.phase_bits=2`` and
``1``; trained first when missing) is exported at its own levels for comparison.

Run (one thread):

    nice -n 15 python experiments/export_roundtrip/fabrication.py

Writes ``results/fabrication.json`` and ``results/fabrication.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RUN = HERE / "runs" / "d2nn-embedded-thz"
RESIN = "vero_black_plus_rgd875"
LEVELS = (None, 16, 8, 4, 2)
QAT_BITS = (2, 1)  # also trained on 4 and 2 levels
BASE_M = 1e-3
TRAIN_ARGS = ["--set", "progress=false", "--set", "pictures=false", "--set", "threads=1"]


def stl_heights(path: Path, shape, pitch_m, base_m) -> torch.Tensor:
    """Relief height [m] per pixel from a binary STL in mm: the +z facets above z = 0."""
    data = path.read_bytes()
    (count,) = struct.unpack_from("<I", data, 80)
    rec = np.frombuffer(
        data,
        dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")],
        count=count,
        offset=84,
    )
    ny, nx = shape
    top = (rec["n"][:, 2] > 0.5) & (rec["v"][:, :, 2].min(1) > 0)
    v = rec["v"][top].astype(np.float64) * 1e-3  # mm -> m
    c = v.mean(1)
    col = np.floor(c[:, 0] / pitch_m[1]).astype(int)
    row = ny - 1 - np.floor(c[:, 1] / pitch_m[0]).astype(int)
    out = np.full(shape, np.nan)
    out[row, col] = v[:, 0, 2] - base_m
    if np.isnan(out).any():
        raise ValueError(f"{path}: some pixels have no top facet")
    return torch.from_numpy(out)


def accuracy(model, test, batch=250) -> float:
    x, y = test
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            right += int((model(x[i : i + batch]).argmax(-1) == y[i : i + batch]).sum())
    return 100.0 * right / len(x)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run-dir", default=str(RUN))
    p.add_argument("--work", default="/tmp/photonn_fabrication_roundtrip")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from photonn.cli import main as cli
    from photonn.devices import load_profile
    from photonn.export import export, load, quantized_model, read_gray_image, read_manifest
    from photonn.export.fabrication import fabricated_model
    from photonn.functional.fabrication import height_transmission
    from photonn.runs import load_data, load_run

    run = Path(args.run_dir)
    t0 = time.time()
    if not (run / "results.json").is_file():
        assert cli(["train", *TRAIN_ARGS, "--run-dir", str(run)]) == 0
    train_s = time.time() - t0
    cfg, model = load_run(run, which="final")
    test = load_data(cfg).test
    trained = accuracy(model, test)
    n, kappa = load_profile(RESIN).index(cfg["model"]["wavelength_m"])
    lam = model.wavelength
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    rows = []
    jobs = [(run, model, trained, levels, "continuous phases") for levels in LEVELS]
    for bits in QAT_BITS:  # trained on the etch levels themselves (model.phase_bits)
        qrun = run.parent / f"{run.name}-bits{bits}"
        if not (qrun / "results.json").is_file():
            args_q = [*TRAIN_ARGS, "--set", f"model.phase_bits={bits}", "--run-dir", str(qrun)]
            assert cli(["train", *args_q]) == 0
        _, qmodel = load_run(qrun, which="final")
        jobs.append((qrun, qmodel, accuracy(qmodel, test), 2**bits, f"phase_bits = {bits}"))
    for run_i, model, trained_i, levels, trained_as in jobs:
        out = export(
            model,
            work / f"{run_i.name}-levels-{levels or 'cont'}",
            fabrication=RESIN,
            levels=levels,
            base_m=BASE_M,
        )
        m = read_manifest(out)
        from_png = load(out, source="files")
        q = quantized_model(model, fabrication=RESIN, levels=levels, base_m=BASE_M)
        # from the STL files, parsed above; the transmission from the heights
        from_stl, no_abs, max_dh = {}, {}, 0.0
        for rec in m["fabrication"]:
            h = stl_heights(out / rec["files"]["stl"], rec["pixels"], rec["pixel_pitch_m"], BASE_M)
            png = read_gray_image(out / rec["files"]["png"]).astype(np.int64)
            h_png = torch.from_numpy(png).double() * rec["height_scale_m"]
            max_dh = max(max_dh, float((h - h_png).abs().max()))
            t = height_transmission(h, lam, n, kappa, base=BASE_M)
            from_stl[rec["element"]] = (torch.angle(t), t.abs())
            no_abs[rec["element"]] = (torch.angle(t), torch.ones_like(h))
        _, m1 = load_run(run_i, which="final")
        stl_model = fabricated_model(m1, from_stl)
        _, m2 = load_run(run_i, which="final")
        lossless = fabricated_model(m2, no_abs)
        x = test[0][:64]
        with torch.no_grad():
            same = float((from_png(x) - q(x)).abs().max())
        amp = [r["report"] for r in m["fabrication"]]
        row = {
            "trained_as": trained_as,
            "run_dir": str(run_i),
            "trained_accuracy": trained_i,
            "levels": levels or "continuous",
            "accuracy_height_map": accuracy(from_png, test),
            "accuracy_stl": accuracy(stl_model, test),
            "accuracy_stl_no_absorption": accuracy(lossless, test),
            "max_abs_height_diff_stl_png_m": max_dh,
            "max_abs_logit_diff_png_vs_quantized_model": same,
            "phase_rms_rad": max(r["phase_rms_rad"] for r in amp),
            "amplitude_range": [
                min(r["amplitude_min"] for r in amp),
                max(r["amplitude_max"] for r in amp),
            ],
            "max_relief_m": max(r["max_height_m"] for r in amp),
            "triangles_per_layer": [r["triangles"] for r in amp],
        }
        row["delta_points"] = row["accuracy_stl"] - trained_i
        rows.append(row)
        print(json.dumps(row), flush=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True
    ).stdout.strip()
    res = {
        "model": "photonn train defaults: D2NN 5 x 80 x 80, 0.4 mm, 0.75 mm, 1 cm, embedded MNIST",
        "run_dir": str(run),
        "test_samples": len(test[0]),
        "trained_accuracy": trained,
        "material": RESIN,
        "refractive_index": n,
        "extinction_coefficient": kappa,
        "two_pi_height_m": lam / (n - 1),
        "base_m": BASE_M,
        "rows": rows,
        "train_seconds": train_s,
        "git_commit": commit,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fabrication.json").write_text(json.dumps(res, indent=1) + "\n")
    lines = [
        "# Printed D2NN round trip (STL and height map read back, re-tested)",
        "",
        f"Model: {res['model']}; trained test accuracy {trained:.2f} % (continuous phases) on "
        f"{res['test_samples']} test images (embedded subset). Material {RESIN}: n = {n}, "
        f"kappa = {kappa} at 0.4 THz; 2 pi step {res['two_pi_height_m'] * 1e3:.4f} mm; base "
        f"{BASE_M * 1e3:g} mm. Produced by `experiments/export_roundtrip/fabrication.py` "
        f"(commit {commit[:12]}).",
        "",
        "| trained with | trained [%] | levels | accuracy, height map [%] | accuracy, STL [%] | "
        "STL - trained [points] | STL, no absorption [%] | phase rms [rad] | amplitude | "
        "max relief [mm] |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['trained_as']} | {r['trained_accuracy']:.2f} | {r['levels']} | "
            f"{r['accuracy_height_map']:.2f} | {r['accuracy_stl']:.2f} | "
            f"{r['delta_points']:+.2f} | {r['accuracy_stl_no_absorption']:.2f} | "
            f"{r['phase_rms_rad']:.3g} | {r['amplitude_range'][0]:.3f}.."
            f"{r['amplitude_range'][1]:.3f} | {r['max_relief_m'] * 1e3:.3f} |"
        )
    lines += [
        "",
        "The height map and the STL give the same heights to "
        f"{max(r['max_abs_height_diff_stl_png_m'] for r in rows) * 1e9:.3g} nm (float32 "
        "millimetre coordinates of the STL); the network rebuilt from the height maps "
        "matches `quantized_model` to "
        f"{max(r['max_abs_logit_diff_png_vs_quantized_model'] for r in rows):.3g} in the "
        "logits. Phase rms is the largest over the layers (wrapped error against the "
        "trained phase); amplitude the field transmission including the base plate. "
        "'phase_bits = b' rows: the same recipe trained with its masks quantised to 2^b "
        "levels (`--set model.phase_bits=b`), exported at those levels. One seed (0) each; "
        "the test set has 1000 images, so one image is 0.1 point.",
    ]
    (RESULTS / "fabrication.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
