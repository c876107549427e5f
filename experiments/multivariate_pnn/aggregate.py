"""Summarise the 3-seed runs of the cavity, trained S, R = 1 (MNIST and Fashion-MNIST).

Reads ``results/seeds/<run>-s<seed>/summary.json`` (``run.py --seeds 0 1 2``; a second
stage in ``results/seeds-25k/``) and
writes ``results/seeds.md`` and ``results/seeds.json``: per seed the epochs, the
reported model's epoch (the best on validation when the run kept one, else the final
model) and its validation accuracy, and the test accuracy of that model; per
configuration the mean, the standard deviation over seeds (n - 1), the seed
standard error std / sqrt(n), the binomial standard error of the test set
sqrt(p (1 - p) / n_test), and the verdict against the authors' number: "beats" or
"falls short of" only when the gap exceeds two standard errors, the larger of the
seed and the binomial one; otherwise "matches within noise".

    python experiments/multivariate_pnn/aggregate.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _stats import accuracy_stats, verdict  # noqa: E402

RESULTS = HERE / "results"
RUNS = {"mnist-r1": "MNIST", "fashion-r1": "Fashion-MNIST"}
# the recorded stages of the protocol: results directory -> title
STAGES = {
    "seeds": "Stage 1: one pass over 12,000 training images",
    "seeds-25k": "Stage 2: one pass over 25,000 training images",
}


def chosen(row: dict) -> dict:
    """The reported model of a run: the best on validation if kept, else the final one."""
    return row.get("best") or row["final"]


def stage(subdir: str, title: str, out: dict) -> list[str]:
    """The per-seed table and the summary of one recorded stage (``results/<subdir>/``)."""
    lines = [
        f"## {title} (`results/{subdir}/`)",
        "",
        "| run | seed | epochs | training images per epoch | reported epoch (validation [%]) "
        "| test, reported [%] | test, final [%] | s / epoch (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for name, label in RUNS.items():
        rows = []
        for path in sorted((RESULTS / subdir).glob(f"{name}-s*/summary.json")):
            r = json.loads(path.read_text())
            if r.get("config") != name or r["final"].get("test_accuracy") is None:
                continue
            rows.append((r, path))
        if not rows:
            continue
        rows.sort(key=lambda rp: rp[0]["seed"])
        tests = []
        for r, _ in rows:
            b = chosen(r)
            tests.append(100 * b["test_accuracy"])
            lines.append(
                f"| {name} ({label}) | {r['seed']} | {r['epochs']} "
                f"| {r['history'][0]['train_samples']:,} "
                f"| {b['epoch']} ({100 * b['val_accuracy']:.2f}) | {100 * b['test_accuracy']:.2f} "
                f"| {100 * r['final']['test_accuracy']:.2f} | {r['s_per_epoch']:.0f} |"
            )
        res = json.loads((rows[0][1].parent / "results.json").read_text())
        n_test = res["test_samples"]
        t = accuracy_stats(tests, n_test)
        paper = rows[0][0]["paper"]
        gap = t["mean"] - paper
        rec = {
            "dataset": label,
            "seeds": [r["seed"] for r, _ in rows],
            "files": [str(p.relative_to(HERE)) for _, p in rows],
            "epochs": [r["epochs"] for r, _ in rows],
            "train_images_per_epoch": [r["history"][0]["train_samples"] for r, _ in rows],
            "chosen": [
                "best on validation" if r.get("best") else "final (no selection)" for r, _ in rows
            ],
            "chosen_epoch": [chosen(r)["epoch"] for r, _ in rows],
            "chosen_val_acc": [100 * chosen(r)["val_accuracy"] for r, _ in rows],
            "test_acc": tests,
            "n_test": n_test,
            "test": t,
            "paper": paper,
            "paper_epochs": 500,
            "gap": gap,
            "verdict": verdict(gap, t["se"], "the authors"),
            "rule": "|gap| > 2 SE, SE the larger of the seed SE (std / sqrt(n)) and the "
            "binomial SE of the test set",
        }
        out.setdefault(subdir, {})[name] = rec
        summary.append(
            f"| {name} ({label}) | {t['n_seeds']} | {t['mean']:.2f} ± {t['std']:.2f} "
            f"| {t['seed_se']:.2f} | {t['binomial_se']:.2f} | {t['se_used']} "
            f"| {paper:.2f} | {gap:+.2f} | {rec['verdict']} |"
        )
    return lines + [
        "",
        "| run | seeds | test mean ± std [%] (reported model) | seed SE | binomial SE | SE used "
        "| the authors [%] | gap [points] | verdict (gap against 2 SE) |",
        "|---|---|---|---|---|---|---|---|---|",
        *summary,
        "",
    ]


def main() -> int:
    out: dict = {}
    lines = [
        "# Cavity, trained S, R = 1: 3 seeds",
        "",
        "Protocol: README.md, 'Protocol (fixed before the runs)'. Reported model: the "
        "epoch with the best validation accuracy when the run kept one, else the final "
        "model (5,000 training images held out by the run's seed for validation); the "
        "test set is scored once on it.",
        "",
    ]
    for subdir, title in STAGES.items():
        if (RESULTS / subdir).is_dir():
            lines += stage(subdir, title, out)
    # README rule: stage 2 is the headline when all six of its runs finished (by 22:05
    # UTC on the day of the runs; a run is recorded only when it has finished)
    done2 = out.get("seeds-25k", {})
    full = len(done2) == len(RUNS) and all(len(r["seeds"]) == 3 for r in done2.values())
    out["headline"] = "seeds-25k" if full else "seeds"
    lines += [
        f"Headline (README rule): {STAGES[out['headline']]}"
        + (
            ", all six of its runs having finished."
            if full
            else ", stage 2 not having finished all six runs."
        ),
        "",
    ]
    lines += [
        "SE: standard error [percentage points]. Seed SE = std / sqrt(n seeds); binomial SE "
        "= sqrt(p (1 - p) / n_test) at the mean accuracy p; the verdict uses the larger. "
        "The authors trained 500 epochs of SGD and report the best test epoch; we train the "
        "epochs above with Adam.",
    ]
    (RESULTS / "seeds.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "seeds.json").write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
