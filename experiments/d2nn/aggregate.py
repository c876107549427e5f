"""Summarise the validation-only recipe sweep and the 3-seed D2NN runs.

Reads ``results/sweep/mnist-val.jsonl`` (``sweep.py --out``) and
``results/seeds/<dataset>-s<seed>/results.json`` (``run_seeds.sh``), and writes
``results/seeds.md`` and ``results/seeds.json``: the sweep ranked by validation
accuracy; per seed the epochs, the validation accuracy of every epoch, the reported
model's validation and test accuracy; per dataset the mean, the standard deviation
over seeds (n - 1), the seed standard error std / sqrt(n), the binomial standard error
of the test set sqrt(p (1 - p) / n_test), and the verdict against the paper's number
(Mengu et al. 2020, Table I): "beats" or "falls short of" only when the gap exceeds
two standard errors, the larger of the seed and the binomial one; otherwise "matches
within noise".

    python experiments/d2nn/aggregate.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _stats import accuracy_stats, verdict  # noqa: E402

RESULTS = HERE / "results"
PAPER = {"mnist": 97.18, "fashion-mnist": 89.13}
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def sweep_section(out: dict) -> list[str]:
    path = RESULTS / "sweep" / "mnist-val.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    rows.sort(key=lambda r: -r["val_accuracy"])
    out["sweep"] = {"source": str(path.relative_to(HERE)), "rows": rows, "chosen": rows[0]}
    r0 = rows[0]
    lines = [
        "## Recipe sweep (validation only)",
        "",
        f"MNIST, one pass over the first {r0['n_train']:,} training images, scored on the "
        f"last {r0['n_val']:,} training images (never trained on); the test set is not read.",
        "",
        "| configuration (overrides of config.toml) | validation accuracy [%] | T at the end "
        "| train loss | time [s] |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " **(chosen)**" if r is r0 else ""
        lines.append(
            f"| `{r['config']}`{mark} | {100 * r['val_accuracy']:.2f} | {r['temperature']:g} "
            f"| {r['train_loss']} | {r['time_s']} |"
        )
    return lines + [""]


def main() -> int:
    out: dict = {"datasets": {}}
    lines = ["# D2NN, 100 x 100 neurons: validation-only recipe, 3 seeds", ""]
    lines += sweep_section(out)
    lines += [
        "## Final networks, one per seed",
        "",
        "Protocol: README.md, 'Protocol (fixed before the runs)'. Reported model: the final "
        "one (decided in advance); its validation accuracy is measured on the 5,000 "
        "training images held out by the run's seed.",
        "",
        "| dataset | seed | epochs | training images per epoch | validation per epoch [%] "
        "| validation, reported model [%] | test [%] |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for ds in ("mnist", "fashion-mnist"):
        runs = []
        for path in sorted((RESULTS / "seeds").glob(f"{ds}-s*/results.json")):
            r = json.loads(path.read_text())
            if r["dataset"] != ds or r["final"].get("test_accuracy") is None:
                continue
            runs.append((r, path))
        if not runs:
            continue
        runs.sort(key=lambda rp: rp[0]["seed"])
        tests, vals = [], []
        for r, _ in runs:
            test = 100 * r["final"]["test_accuracy"]
            val = 100 * r["final"]["val_accuracy"]
            per_epoch = " / ".join(f"{100 * h['val_accuracy']:.2f}" for h in r["history"])
            tests.append(test)
            vals.append(val)
            lines.append(
                f"| {NAMES[ds]} | {r['seed']} | {r['epochs_completed']} "
                f"| {r['history'][0]['train_samples']:,} | {per_epoch} "
                f"| {val:.2f} | {test:.2f} |"
            )
        n_test = runs[0][0]["test_samples"]
        t = accuracy_stats(tests, n_test)
        gap = t["mean"] - PAPER[ds]
        rec = {
            "seeds": [r["seed"] for r, _ in runs],
            "files": [str(p.relative_to(HERE)) for _, p in runs],
            "epochs": [r["epochs_completed"] for r, _ in runs],
            "train_images_per_epoch": [r["history"][0]["train_samples"] for r, _ in runs],
            "test_acc": tests,
            "val_acc": vals,
            "n_test": n_test,
            "test": t,
            "paper": PAPER[ds],
            "gap": gap,
            "verdict": verdict(gap, t["se"], "the paper"),
            "rule": "|gap| > 2 SE, SE the larger of the seed SE (std / sqrt(n)) and the "
            "binomial SE of the test set",
        }
        out["datasets"][ds] = rec
        summary.append(
            f"| {NAMES[ds]} | {t['n_seeds']} | {t['mean']:.2f} ± {t['std']:.2f} "
            f"| {t['seed_se']:.2f} | {t['binomial_se']:.2f} | {t['se_used']} "
            f"| {PAPER[ds]:.2f} | {gap:+.2f} | {rec['verdict']} |"
        )
    lines += [
        "",
        "| dataset | seeds | test mean ± std [%] | seed SE | binomial SE | SE used "
        "| paper [%] | gap [points] | verdict (gap against 2 SE) |",
        "|---|---|---|---|---|---|---|---|---|",
        *summary,
        "",
        "SE: standard error [percentage points]. Seed SE = std / sqrt(n seeds); binomial SE "
        "= sqrt(p (1 - p) / n_test) at the mean accuracy p; the verdict uses the larger. "
        "The paper's networks have 200 x 200 neurons and were trained far longer; ours have "
        "100 x 100 and the epochs above.",
    ]
    (RESULTS / "seeds.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "seeds.json").write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
