"""Summarise the 3-seed runs of part (b): degree 22 against ReLU, MLP on MNIST.

Reads ``results/seeds/results_b.json`` (written by ``run.py --seeds 0 1 2 --val 5000
--out results/seeds``) and writes ``results/seeds.md`` and ``results/seeds.json``:
per seed the validation and test accuracy of the final model (no selection), then
per arm the mean, the standard deviation over seeds (n - 1), the seed standard error
std / sqrt(n), the binomial standard error of the test set sqrt(p (1 - p) / n_test),
and the verdict against ReLU. The verdict compares the difference of the means with
two standard errors of that difference, each arm's standard error being the larger
of its seed and binomial ones (combined in quadrature).

    python experiments/poly_stability/aggregate.py
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _stats import accuracy_stats, verdict  # noqa: E402

SOURCE = HERE / "results" / "seeds" / "results_b.json"
ARMS = [
    ("relu", False, "ReLU"),
    ("poly22", True, "degree 22, with the framework"),
    ("poly22", False, "degree 22, without the framework"),
]


def main() -> int:
    records = json.loads(SOURCE.read_text())
    out = {"source": str(SOURCE.relative_to(HERE)), "arms": {}}
    lines = [
        "# Degree 22 against ReLU, MLP on MNIST, 3 seeds",
        "",
        "Protocol: README.md, 'Headline: degree 22 against ReLU, 3 seeds' (fixed before "
        "the runs). 55,000 training images, the last 5,000 held out for validation, "
        "3 epochs, the final model of each run (no selection), 10,000 test images.",
        "",
        "| arm | seed | epochs | validation [%] (final model) | test [%] | NaN |",
        "|---|---|---|---|---|---|",
    ]
    for act, fw, label in ARMS:
        rows = sorted(
            (r for r in records if r["act"] == act and r["framework"] == fw and r["arch"] == "mlp"),
            key=lambda r: r["seed"],
        )
        if not rows:
            continue
        for r in rows:
            val = "-" if r["val_acc"] is None else f"{r['val_acc']:.2f}"
            test = "-" if r["test_acc"] is None else f"{r['test_acc']:.2f}"
            nan = "-" if r["nan_step"] is None else f"step {r['nan_step']}"
            lines.append(f"| {label} | {r['seed']} | {r['epochs']} | {val} | {test} | {nan} |")
        ok = [r for r in rows if r["test_acc"] is not None]
        arm = {
            "label": label,
            "seeds": [r["seed"] for r in rows],
            "epochs": rows[0]["epochs"],
            "n_test": rows[0]["n_test"],
            "diverged": [r["seed"] for r in rows if r["nan_step"] is not None],
            "test_acc": [r["test_acc"] for r in ok],
            "val_acc": [r["val_acc"] for r in ok],
        }
        if ok:
            arm["test"] = accuracy_stats([r["test_acc"] for r in ok], rows[0]["n_test"])
            arm["val"] = accuracy_stats([r["val_acc"] for r in ok], rows[0]["n_val"])
        out["arms"][f"{act}{'+framework' if fw else ''}"] = arm
    lines += [
        "",
        "| arm | seeds | test mean ± std [%] | seed SE | binomial SE | SE used "
        "| gap to ReLU [points] | 2 SE of the gap | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    relu = out["arms"].get("relu", {}).get("test")
    for key, arm in out["arms"].items():
        t = arm.get("test")
        if t is None:
            continue
        cells = "| - | - | ReLU itself |"
        if relu is not None and key != "relu":
            gap = t["mean"] - relu["mean"]
            se = math.sqrt(t["se"] ** 2 + relu["se"] ** 2)
            arm["vs_relu"] = {
                "gap": gap,
                "se_gap": se,
                "verdict": verdict(gap, se, "ReLU"),
                "rule": "gap > 2 SE; each arm's SE the larger of seed and binomial, "
                "combined in quadrature",
            }
            cells = f"| {gap:+.2f} | {2 * se:.2f} | {arm['vs_relu']['verdict']} |"
        lines.append(
            f"| {arm['label']} | {t['n_seeds']} | {t['mean']:.2f} ± {t['std']:.2f} "
            f"| {t['seed_se']:.2f} | {t['binomial_se']:.2f} | {t['se_used']} " + cells
        )
    lines += [
        "",
        "SE: standard error [percentage points]. Seed SE = std / sqrt(n seeds); binomial SE "
        "= sqrt(p (1 - p) / n_test) at the mean accuracy p. Each arm uses the larger of the "
        "two; the gap's SE combines the two arms' in quadrature. The paper (Hossain & Rahman "
        "2025) claims parity with ReLU; it trains to convergence, we train 3 epochs.",
    ]
    (HERE / "results" / "seeds.md").write_text("\n".join(lines) + "\n")
    (HERE / "results" / "seeds.json").write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
