"""Aggregate ``results/{d2nn,mlp}.jsonl`` into ``results/summary.json`` and ``results/table.md``.

Per network, bit depth and quantiser: the test accuracy of the network reloaded from
its export, mean and standard error (sample standard deviation / sqrt(n)) over the
seeds present, and the same for the network before export.

    python experiments/quantization/aggregate.py
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ORDER = ("ste", "gumbel", "staircase", "lsq")
NAMES = {"d2nn": "D2NN, non-linear SLM table", "mlp": "photonic MLP, heater-law DAC"}


def mean_se(values):
    m = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return m, se


def main() -> None:
    summary = {}
    rows = []
    for part in ("d2nn", "mlp"):
        path = RESULTS / f"{part}.jsonl"
        if not path.exists():
            continue
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        cells, seen = {}, set()
        for r in recs:  # parallel runs may repeat a (bits, quantiser, seed): keep the first
            key = (r["bits"], r["quantizer"], r["seed"])
            if key not in seen:
                seen.add(key)
                cells.setdefault((r["bits"], r["quantizer"]), []).append(r)
        for (bits, q), rs in sorted(
            cells.items(), key=lambda kv: (-kv[0][0], ORDER.index(kv[0][1]))
        ):
            rt = [100 * r["test_accuracy_roundtrip"] for r in rs]
            mod = [100 * r["test_accuracy_model"] for r in rs]
            m, se = mean_se(rt)
            mm, mse = mean_se(mod)
            key = f"{part}/{bits}/{q}"
            summary[key] = {
                "network": part,
                "bits": bits,
                "quantizer": q,
                "seeds": sorted(r["seed"] for r in rs),
                "roundtrip_mean": round(m, 2),
                "roundtrip_se": None if math.isnan(se) else round(se, 2),
                "model_mean": round(mm, 2),
                "model_se": None if math.isnan(mse) else round(mse, 2),
                "max_export_level_diff_rad": max(r["export_level_max_diff_rad"] for r in rs),
                "anneal_end": rs[0].get("anneal_end"),
                "noise": rs[0].get("noise"),
                "cpu_train_s_mean": round(statistics.fmean(r["cpu_train_s"] for r in rs), 1),
            }
            rows.append(summary[key])
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [
        "| network | bits | quantiser | seeds | test after round trip [%] "
        "| before export [%] | max level diff [rad] |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {NAMES[r['network']]} | {r['bits']} | {r['quantizer']} | {len(r['seeds'])} | "
            f"{r['roundtrip_mean']:.2f}{_pm(r['roundtrip_se'])} | "
            f"{r['model_mean']:.2f}{_pm(r['model_se'])} | {r['max_export_level_diff_rad']:.1e} |"
        )
    (RESULTS / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print()
    print(readme_rows(summary))


def _pm(se) -> str:
    return "" if se is None else f" ± {se:.2f}"


def readme_rows(summary: dict) -> str:
    """The rows of the README's quantisation table (bits x quantiser, round trip)."""
    out = []
    for part in ("d2nn", "mlp"):
        bits = sorted({v["bits"] for v in summary.values() if v["network"] == part}, reverse=True)
        for i, b in enumerate(bits):
            cells = []
            for q in ORDER:
                v = summary.get(f"{part}/{b}/{q}")
                if v is None:
                    cells.append("(not run)")
                else:
                    n = len(v["seeds"])
                    se = f" ± {v['roundtrip_se']:.2f}" if n > 1 else ""
                    extra = "" if n == 3 else f" ({n} seed{'s' if n > 1 else ''})"
                    cells.append(f"{v['roundtrip_mean']:.2f}{se}{extra}")
            label = LABELS[part] if i == 0 else ""
            out.append(f"| {label} | {b} | " + " | ".join(cells) + " |")
    return "\n".join(out)


LABELS = {
    "d2nn": "D2NN, 3 phase layers of 40×40 neurons, MNIST (5,000 training images, 2 epochs), "
    "on an SLM with a hypothetical non-linear look-up table "
    "([summary](experiments/quantization/results/summary.json))",
    "mlp": "photonic MLP 64-64-10, MNIST 8×8 (20,000 images, 3 epochs), heater-law DAC on "
    "every MZI and output phase, no crosstalk "
    "([summary](experiments/quantization/results/summary.json))",
}


if __name__ == "__main__":
    main()
