"""Round trip of a printed diffractive network: export to STL and height maps, read both
back, re-test; three seeds.

The network is the README's main job, ``photonn train`` with its defaults: a 5-layer
phase-only D2NN at 0.4 THz (80 x 80 neurons of 0.4 mm, 1 cm between planes), trained on
the embedded MNIST subset (1000 test images), for seeds 0, 1 and 2 (``--set seed=S``).
Two families of networks, each trained first when its run directory is missing:

* trained with continuous, lossless phases (the recipe as it is), exported at
  continuous relief and at 16, 8, 4 and 2 etch levels per 2 pi;
* trained at the level count it is exported at (``model.phase_bits``; none for
  continuous) with the resin's absorption in the forward model (``model.material``,
  ``model.base_m = 0.001``): the printed layers as they will be.

For every export, this script

1. exports it with ``photonn.export.export(model, dir, fabrication=RESIN, levels=L,
   base_m=1 mm)`` in the resin of Lin et al. 2018 (n = 1.7227, kappa = 0.031 at
   0.4 THz; the profile ``vero_black_plus_rgd875``);
2. reads the relief back twice, without the bundle: from the 16-bit height maps
   (``photonn.export.load(dir, source="files")``) and from the binary STL files,
   parsed here with ``struct`` (the top facet of each pixel column gives its height);
3. turns the heights into phase and absorption (``t = exp(-2 pi kappa (base + h) /
   lambda) exp(i 2 pi (n - 1) h / lambda)``) and tests the rebuilt network on the
   test images, with the absorption and without it (kappa = 0).

The criterion (per row, over the seeds): the accuracy of the network rebuilt from the
STL files is within 0.5 points of the trained model's own accuracy, on every seed. The
trained model's accuracy is that of its training forward: at its quantisation and
with its absorption for the second family; continuous and lossless for the first,
whose rows at few levels show what quantising after training costs.

Run (one thread; 18 trainings of about a minute of CPU each when the machine is
idle, 61 s measured for one, then 30 exports and tests; on a shared machine, start
``--train-only`` processes beside it, and one process per seed and family with
``--rows-out`` and ``--work``, then ``--merge`` their row files):

    nice -n 15 python experiments/export_roundtrip/fabrication.py

Writes ``results/fabrication.json`` and ``results/fabrication.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
RUNS = HERE / "runs"
RESIN = "vero_black_plus_rgd875"
LEVELS = (None, 16, 8, 4, 2)
SEEDS = (0, 1, 2)
BASE_M = 1e-3
TOL_POINTS = 0.5
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


def train_run(run: Path, seed: int, levels, absorption: bool, cli, wait: bool = True) -> None:
    """Train the recipe into ``run`` unless it is there (or another process of this
    script is training it: then wait for it, or with ``wait=False`` go on)."""
    if (run / "results.json").is_file():
        return
    lock = run.parent / f"{run.name}.lock"
    run.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        while wait and not (run / "results.json").is_file():
            time.sleep(10)
        return
    try:
        _train(run, seed, levels, absorption, cli)
    finally:
        lock.unlink()


def _train(run: Path, seed: int, levels, absorption: bool, cli) -> None:
    extra = ["--set", f"seed={seed}"]
    if levels is not None:
        extra += ["--set", f"model.phase_bits={int(round(math.log2(levels)))}"]
    if absorption:
        extra += ["--set", f"model.material={RESIN}", "--set", f"model.base_m={BASE_M}"]
    if run.exists():  # an interrupted run: start again
        shutil.rmtree(run)
    assert cli(["train", *TRAIN_ARGS, *extra, "--run-dir", str(run)]) == 0


def roundtrip(run: Path, levels, work: Path, test, lam, n, kappa) -> dict:
    """Export the final model of ``run`` at ``levels``, read it back, test it."""
    from photonn.export import export, load, quantized_model, read_gray_image, read_manifest
    from photonn.export.fabrication import fabricated_model
    from photonn.functional.fabrication import height_transmission
    from photonn.runs import load_run

    _, model = load_run(run, which="final")
    trained = accuracy(model, test)
    out = export(
        model,
        work / f"{run.name}-levels-{levels or 'cont'}",
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
    _, m1 = load_run(run, which="final")
    stl_model = fabricated_model(m1, from_stl)
    _, m2 = load_run(run, which="final")
    lossless = fabricated_model(m2, no_abs)
    x = test[0][:64]
    with torch.no_grad():
        same = float((from_png(x) - q(x)).abs().max())
        to_trained = float((stl_model(x) - model(x)).abs().max())
    amp = [r["report"] for r in m["fabrication"]]
    row = {
        "run_dir": str(run),
        "trained_accuracy": trained,
        "accuracy_quantized_model": accuracy(q, test),
        "accuracy_height_map": accuracy(from_png, test),
        "accuracy_stl": accuracy(stl_model, test),
        "accuracy_stl_no_absorption": accuracy(lossless, test),
        "max_abs_height_diff_stl_png_m": max_dh,
        "max_abs_logit_diff_png_vs_quantized_model": same,
        "max_abs_logit_diff_stl_vs_trained": to_trained,
        "phase_rms_rad": max(r["phase_rms_rad"] for r in amp),
        "amplitude_range": [
            min(r["amplitude_min"] for r in amp),
            max(r["amplitude_max"] for r in amp),
        ],
        "max_relief_m": max(r["max_height_m"] for r in amp),
        "triangles_per_layer": [r["triangles"] for r in amp],
    }
    row["delta_points"] = row["accuracy_stl"] - trained
    return row


def mean_se(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), se


def pm(values, fmt="{:.2f}") -> str:
    m, se = mean_se(values)
    plain = fmt.replace("+", "")  # the error is unsigned
    return fmt.format(m) if math.isnan(se) else f"{fmt.format(m)} ± {plain.format(se)}"


def summarise(rows: list[dict]) -> list[dict]:
    """One entry per (family, levels) over the seeds done so far."""
    out = []
    for family in ("continuous phases", "at its levels, absorbing"):
        for levels in LEVELS:
            lv = levels or "continuous"
            rs = [r for r in rows if r["trained_as"] == family and r["levels"] == lv]
            if not rs:
                continue
            worst = max(abs(r["delta_points"]) for r in rs)
            out.append(
                {
                    "trained_as": family,
                    "levels": lv,
                    "seeds": [r["seed"] for r in rs],
                    "rows": rs,
                    "worst_abs_delta_points": worst,
                    "passes": worst <= TOL_POINTS,
                }
            )
    return out


def write_results(res: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fabrication.json").write_text(json.dumps(res, indent=1) + "\n")
    summary = res["summary"]
    n_seeds = sorted({s for e in summary for s in e["seeds"]})
    lines = [
        "# Printed D2NN round trip (STL and height map read back, re-tested)",
        "",
        f"Model: {res['model']}; {res['test_samples']} test images (the embedded subset: one "
        f"image is 0.1 point); seeds {', '.join(map(str, n_seeds))}; mean ± standard error "
        f"over the seeds; the final model of each run. Material {RESIN}: n = "
        f"{res['refractive_index']}, kappa = {res['extinction_coefficient']} at 0.4 THz; 2 pi "
        f"step {res['two_pi_height_m'] * 1e3:.4f} mm; base {BASE_M * 1e3:g} mm. Produced by "
        f"`experiments/export_roundtrip/fabrication.py` (commit {res['git_commit'][:12]}).",
        "",
        "Criterion (the issue's): the network rebuilt from the STL files is within "
        f"{TOL_POINTS} points of the trained model, on every seed ('worst |STL - trained|'). "
        "'trained': the model's own forward, i.e. at its training quantisation and with its "
        "training absorption ('at its levels, absorbing': trained with `model.phase_bits` "
        f'= log2(levels) and `model.material = "{RESIN}"`, `model.base_m = {BASE_M}`; '
        "'continuous phases': the recipe as it is, continuous and lossless, exported at "
        "every level count).",
        "",
        "| trained with | levels | seeds | trained [%] | exported model [%] | STL [%] | STL - "
        "trained [points] | worst abs(STL - trained) | criterion | STL, no absorption [%] |"
        " phase rms [rad] | amplitude | max relief [mm] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        rs = e["rows"]
        lines.append(
            f"| {e['trained_as']} | {e['levels']} | {len(rs)} | "
            f"{pm([r['trained_accuracy'] for r in rs])} | "
            f"{pm([r['accuracy_quantized_model'] for r in rs])} | "
            f"{pm([r['accuracy_stl'] for r in rs])} | "
            f"{pm([r['delta_points'] for r in rs], '{:+.2f}')} | "
            f"{e['worst_abs_delta_points']:.2f} | {'pass' if e['passes'] else 'FAIL'} | "
            f"{pm([r['accuracy_stl_no_absorption'] for r in rs])} | "
            f"{max(r['phase_rms_rad'] for r in rs):.3g} | "
            f"{min(r['amplitude_range'][0] for r in rs):.3f}.."
            f"{max(r['amplitude_range'][1] for r in rs):.3f} | "
            f"{max(r['max_relief_m'] for r in rs) * 1e3:.3f} |"
        )
    rows = res["rows"]
    lines += [
        "",
        "'exported model': `photonn.export.quantized_model` (the export in memory, with "
        "absorption); the network rebuilt from the height maps equals it to "
        f"{max(r['max_abs_logit_diff_png_vs_quantized_model'] for r in rows):.3g} in the "
        "logits, and the STL gives the height maps' heights to "
        f"{max(r['max_abs_height_diff_stl_png_m'] for r in rows) * 1e9:.3g} nm (float32 "
        "millimetre coordinates). For the networks trained at their levels with "
        "absorption, the STL network's logits differ from the trained model's by at most "
        + (
            f"{max(r['max_abs_logit_diff_stl_vs_trained'] for r in rows if r['trained_as'] != 'continuous phases'):.3g}"  # noqa: E501
            if any(r["trained_as"] != "continuous phases" for r in rows)
            else "(none yet)"
        )
        + " (64 test images; the 16-bit height map rounds continuous relief to "
        "h_2pi / 65535). Phase rms is the largest over layers and seeds (wrapped error "
        "against the trained phase); amplitude the field transmission including the base "
        "plate, over layers and seeds.",
        "",
        "Per seed (STL - trained [points]): "
        + "; ".join(
            f"{e['trained_as']}, {e['levels']}: "
            + ", ".join(f"{r['delta_points']:+.1f}" for r in e["rows"])
            for e in summary
        )
        + ".",
    ]
    if res.get("merged"):
        lines += ["", "Provenance: " + res["merged"] + "."]
    (RESULTS / "fabrication.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", default=str(RUNS))
    p.add_argument("--work", default="/tmp/photonn_fabrication_roundtrip")
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument(
        "--train-only",
        action="store_true",
        help="only train the missing runs that no other process is training (more processes "
        "share the work)",
    )
    p.add_argument(
        "--rows-out",
        help="write this process's rows to this JSON file instead of the results (a process "
        "of its own per seed; --merge combines them)",
    )
    p.add_argument("--family", choices=("continuous", "absorbing"), help="only these rows")
    p.add_argument("--reverse", action="store_true", help="the rows in reverse order")
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="combine rows of --rows-out files and results/fabrication.json into the results",
    )
    args = p.parse_args(argv)
    if args.merge:
        return merge(args.merge)
    torch.set_num_threads(1)
    from photonn.cli import main as cli
    from photonn.devices import load_profile
    from photonn.runs import load_data, load_run

    runs = Path(args.runs)
    work = Path(args.work)
    t0 = time.time()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True
    ).stdout.strip()
    rows: list[dict] = []
    res: dict = {}
    if args.train_only:
        for seed in args.seeds:
            for absorbing in (False, True):
                for levels in LEVELS:
                    if levels is not None and not absorbing:
                        continue
                    name = "d2nn-thz" + ("-abs" if absorbing else "")
                    name += f"-levels{levels}" if levels else "-cont"
                    run = runs / f"{name}-seed{seed}"
                    train_run(run, seed, levels, absorbing, cli, wait=False)
        return 0
    shutil.rmtree(work, ignore_errors=True)  # not by a --train-only process: others use it
    for seed in args.seeds:
        jobs = [("continuous phases", None, False, levels) for levels in LEVELS]
        jobs += [("at its levels, absorbing", levels, True, levels) for levels in LEVELS]
        if args.family:
            jobs = [j for j in jobs if j[2] == (args.family == "absorbing")]
        if args.reverse:
            jobs.reverse()
        for trained_as, train_levels, absorbing, levels in jobs:
            name = "d2nn-thz" + ("-abs" if absorbing else "")
            name += f"-levels{train_levels}" if train_levels else "-cont"
            run = runs / f"{name}-seed{seed}"
            train_run(run, seed, train_levels, absorbing, cli)
            cfg, _ = load_run(run, which="final")
            test = load_data(cfg).test
            lam = cfg["model"]["wavelength_m"]
            n, kappa = load_profile(RESIN).index(lam)
            row = roundtrip(run, levels, work, test, lam, n, kappa)
            row.update(trained_as=trained_as, seed=seed, levels=levels or "continuous")
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.rows_out:
                Path(args.rows_out).write_text(json.dumps(rows, indent=1) + "\n")
                continue
            res = {
                "model": "photonn train defaults: D2NN 5 x 80 x 80, 0.4 mm, 0.75 mm, 1 cm, "
                "embedded MNIST, 3 epochs",
                "test_samples": len(test[0]),
                "material": RESIN,
                "refractive_index": n,
                "extinction_coefficient": kappa,
                "two_pi_height_m": lam / (n - 1),
                "base_m": BASE_M,
                "tolerance_points": TOL_POINTS,
                "rows": rows,
                "summary": summarise(rows),
                "seconds": time.time() - t0,
                "git_commit": commit,
                "python": sys.version.split()[0],
                "torch": torch.__version__,
                "machine": platform.machine(),
            }
            write_results(res)
    if not args.rows_out:
        print((RESULTS / "fabrication.md").read_text())
    return 0


def merge(paths) -> int:
    """Add the rows of ``paths`` (``--rows-out`` files) to ``results/fabrication.json``
    (a row per family, levels and seed; the results file's rows first) and rewrite the
    results."""
    res = json.loads((RESULTS / "fabrication.json").read_text())
    seen = {(r["trained_as"], r["levels"], r["seed"]) for r in res["rows"]}
    for path in paths:
        for r in json.loads(Path(path).read_text()):
            key = (r["trained_as"], r["levels"], r["seed"])
            if key not in seen:
                res["rows"].append(r)
                seen.add(key)
    res["rows"].sort(key=lambda r: r["seed"])
    res["summary"] = summarise(res["rows"])
    res["merged"] = (
        "rows from several processes of this script (one per seed and family, --rows-out, "
        "combined with --merge) started at commits from "
        f"{res['git_commit'][:12]} on; the library code they ran differs only in the "
        "export's per-layer function (_fabricate, the same output, "
        "tests/export/test_fabrication.py) and the new 4f model; training code is the same"
    )
    write_results(res)
    print((RESULTS / "fabrication.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
