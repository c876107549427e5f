"""Round-trip accuracy of exported networks: export, read the controller files back, re-test.

For each trained network (a visible-light D2NN on MNIST and on Fashion-MNIST, the
64-64-10 photonic MLP on MNIST), trained first through ``photonn.runs`` when its run
directory is missing, this script

1. tests the trained model on the 10,000 test images;
2. exports it with ``photonn.export.export`` at 6, 8, 10 and 16 bits (SLM gray
   levels through the HOLOEYE PLUTO-2 profile; heater DACs of the MZI profile, with
   and without thermal-crosstalk pre-compensation);
3. reloads every export from its controller files (``photonn.export.load(dir,
   source="files")``: the PNG images or ``channels.csv`` with the profile copies; the
   HDF5 bundle is not read), checks that the reloaded forward equals
   ``photonn.export.quantized_model`` bit for bit, and tests it.

Run (one thread; the D2NN trainings take most of the time):

    python experiments/export_roundtrip/run.py --data-dir /path/to/data

Writes ``results/results.json``, ``results/table.md`` and ``results/run.log``.
``--only mlp`` (or ``d2nn-mnist``, ``d2nn-fashion-mnist``) runs one part and merges
it into the results.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
RESULTS = HERE / "results"
BITS = (6, 8, 10, 16)
PARTS = {
    "d2nn-mnist": ("d2nn.toml", ["data.dataset=mnist"]),
    "d2nn-fashion-mnist": ("d2nn.toml", ["data.dataset=fashion-mnist"]),
    "mlp": ("photonic_mlp.toml", []),
}
RUN_NAMES = {
    "d2nn-mnist": "d2nn-mnist",
    "d2nn-fashion-mnist": "d2nn-fashion-mnist",
    "mlp": "photonic_mlp-mnist",
}
SLM = "holoeye_pluto2"
MZI = HERE / "si_thermo_optic_mzi_lab.toml"


def log(msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "run.log", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def trained(part: str, data_dir: str):
    from photonn.runs import load_config, load_run, train_run

    run_dir = RUNS / RUN_NAMES[part]
    if not (run_dir / "checkpoint.h5").is_file():
        toml, sets = PARTS[part]
        cfg = load_config(HERE / toml, [*sets, f'data.data_dir="{data_dir}"'])
        log(f"training {part} into {run_dir}")
        t = time.time()
        train_run(cfg, run_dir)
        log(f"trained {part} in {time.time() - t:.0f} s")
    cfg, model = load_run(run_dir)
    cfg["data"]["data_dir"] = data_dir
    return run_dir, cfg, model


def accuracy(model, data, batch_size) -> float:
    from photonn.training import evaluate

    return float(evaluate(model, data.test, batch_size=batch_size)["accuracy"])


def round_trip(model, device, out: Path, data, batch, probe, **kw) -> dict:
    """Export, reload from the controller files, check the forward, test."""
    from photonn import export as E

    t = time.time()
    E.export(model, out, device, force=True, **kw)
    t_export = time.time() - t
    t = time.time()
    loaded = E.load(out, source="files")
    t_load = time.time() - t
    with torch.no_grad():
        same = torch.equal(loaded(probe), E.quantized_model(model, device, **kw)(probe))
    if not same:
        raise RuntimeError(f"{out}: the reloaded forward differs from the quantised model's")
    m = E.read_manifest(out)
    rec = {"export_s": round(t_export, 2), "load_s": round(t_load, 2), "forward_equal": same}
    if m.get("slm"):
        rec["phase_rms_rad"] = max(r["report"]["phase_rms_rad"] for r in m["slm"])
        rec["phase_max_abs_rad"] = max(r["report"]["phase_max_abs_rad"] for r in m["slm"])
    if m.get("chips"):
        r = m["chips"][0]["report"]
        rec.update(
            residual_rms_rad=r["residual_phase_rms_rad"],
            residual_max_abs_rad=r["residual_phase_max_abs_rad"],
            total_power_W=r["total_power_W"],
            channels=r["channels"],
        )
    t = time.time()
    rec["accuracy"] = accuracy(loaded, data, batch)
    rec["test_s"] = round(time.time() - t, 1)
    return rec


def run_part(part: str, data_dir: str) -> dict:
    from photonn import export as E
    from photonn.devices import load_profile, profile_from_values
    from photonn.runs import load_data

    run_dir, cfg, model = trained(part, data_dir)
    data = load_data(cfg)
    batch = 250 if part != "mlp" else 2000
    probe = data.test[0][:64]
    t = time.time()
    base = accuracy(model, data, batch)
    log(f"{part}: trained model test accuracy {base:.4f} ({time.time() - t:.0f} s)")
    out = {
        "run": str(run_dir.relative_to(HERE)),
        "trained_accuracy": base,
        "epochs": cfg["epochs"],
        "rows": [],
    }
    exports = RUNS / "exports"
    if part.startswith("d2nn"):
        out["device"] = SLM
        if part == "d2nn-mnist":  # the THz network of experiments/d2nn fits no shipped SLM
            from photonn.runs import build_model, load_config

            thz = build_model(load_config(HERE.parent / "d2nn" / "config.toml"))
            try:
                E.plan_export(thz, SLM)
                out["thz_d2nn_on_pluto2"] = "accepted"
            except ValueError as exc:
                out["thz_d2nn_on_pluto2"] = f"refused: {exc}"
                log(f"the THz D2NN of experiments/d2nn on {SLM}: {exc}")
        for bits in BITS:
            rec = round_trip(
                model, SLM, exports / f"{part}-{bits}bit", data, batch, probe, bits=bits
            )
            rec.update(bits=bits, crosstalk="n/a (SLM)")
            out["rows"].append(rec)
            log(f"{part} {bits:2d} bit: {rec['accuracy']:.4f} ({rec})")
        return out
    # the photonic MLP: the shipped profile refuses the chip; the lab profile takes it
    try:
        E.plan_export(model, "si_thermo_optic_mzi")
        out["shipped_profile"] = "accepted"
    except ValueError as exc:
        out["shipped_profile"] = f"refused: {exc}"
        log(f"mlp on the shipped si_thermo_optic_mzi: {exc}")
    lab = load_profile(MZI)
    vals = dict(lab.values)
    vals["v_max"] = 10.0
    lab10 = profile_from_values(vals, "mzi_platform", name="si_thermo_optic_mzi_lab_10V")
    out["device"] = lab.name
    for name, prof in ((lab.name, lab), (lab10.name, lab10)):
        for bits in BITS:
            for comp in (True, False):
                if name == lab10.name and not comp:
                    continue
                rec = round_trip(
                    model,
                    prof,
                    exports / f"mlp-{name}-{bits}bit-{comp}",
                    data,
                    batch,
                    probe,
                    bits=bits,
                    compensate_crosstalk=comp,
                )
                rec.update(
                    bits=bits,
                    device=name,
                    crosstalk="pre-compensated" if comp else "not compensated",
                )
                out["rows"].append(rec)
                log(f"mlp {name} {bits:2d} bit comp={comp}: {rec['accuracy']:.4f}")
        if name == lab.name:
            for bits in BITS:
                rec = round_trip(
                    model,
                    prof,
                    exports / f"mlp-{name}-{bits}bit-noxt",
                    data,
                    batch,
                    probe,
                    bits=bits,
                    crosstalk=False,
                )
                rec.update(bits=bits, device=name, crosstalk="none (chip without crosstalk)")
                out["rows"].append(rec)
                log(f"mlp {name} {bits:2d} bit no crosstalk: {rec['accuracy']:.4f}")
    return out


def table(results: dict) -> str:
    lines = [
        "| network | device | crosstalk | trained [%] | 6 bit | 8 bit | 10 bit | 16 bit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "d2nn-mnist": "D2NN, MNIST",
        "d2nn-fashion-mnist": "D2NN, Fashion-MNIST",
        "mlp": "photonic MLP, MNIST",
    }
    for part in ("d2nn-mnist", "d2nn-fashion-mnist", "mlp"):
        r = results.get(part)
        if r is None:
            continue
        groups: dict = {}
        for row in r["rows"]:
            groups.setdefault((row.get("device", r["device"]), row["crosstalk"]), {})[
                row["bits"]
            ] = row["accuracy"]
        base = r["trained_accuracy"]
        for (dev, xt), accs in groups.items():
            cells = [
                f"{100 * accs[b]:.2f} ({100 * (accs[b] - base):+.2f})" if b in accs else "-"
                for b in BITS
            ]
            lines.append(
                f"| {names[part]} | {dev} | {xt} | {100 * base:.2f} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="/work/shared/data")
    p.add_argument("--only", choices=tuple(PARTS), action="append")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--keep-exports", action="store_true", help="keep runs/exports/")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from photonn.training import keep_freed_memory

    keep_freed_memory()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    for part in args.only or PARTS:
        t = time.time()
        results[part] = run_part(part, args.data_dir)
        results[part]["wall_s"] = round(time.time() - t, 1)
        results["torch"] = torch.__version__
        results["threads"] = args.threads
        path.write_text(json.dumps(results, indent=1) + "\n")
        (RESULTS / "table.md").write_text(table(results))
        log(f"{part} done in {time.time() - t:.0f} s")
    if not args.keep_exports:
        shutil.rmtree(RUNS / "exports", ignore_errors=True)
    print(table(results))


if __name__ == "__main__":
    main()
