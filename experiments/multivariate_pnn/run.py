"""Reproduce Savinson et al. (2025): the data-encoded cavity network on MNIST and Fashion-MNIST.

Paper: S. Savinson, J. Norris, S. Mishra, S. Lanthaler, "Universality of physical
neural networks with multivariate nonlinearity", arXiv:2509.05420; the numbers
are their repository's accuracy-vs-replication data (see README.md).

One command trains the configurations in ``configs/`` with photonn's run layer
(``photonn.runs.train_run``: the Trainer, a validation split drawn from the
training set, the best epoch chosen on it, the test set measured once on the
final and once on the best model), then writes ``results/table.md``,
``results/summary.json`` and ``results/accuracy.png``:

    python experiments/multivariate_pnn/run.py --data-dir /path/to/data --threads 1 \\
        [--runs mnist-r1 fashion-r1 ...] [--epochs N] [--time-budget-min M]

A run whose directory already holds a checkpoint is resumed (to ``--epochs`` if
given), so the command can be repeated until every run is complete. ``--epochs``
and ``--time-budget-min`` override the configuration's ``epochs`` and
``max_time_min``; ``configs/<name>.toml`` is otherwise used as it is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from photonn._io import atomic_path, atomic_write_text
from photonn.runs import load_config, train_run
from photonn.training import keep_freed_memory

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
# the authors' test accuracies [%] (their repository's accuracy-vs-replication data)
PAPER = {
    ("mnist", True, 1): 97.98,
    ("mnist", True, 4): 98.26,
    ("mnist", True, 9): 98.42,
    ("mnist", False, 1): 96.66,
    ("mnist", False, 4): 97.24,
    ("mnist", False, 9): 97.64,
    ("fashion-mnist", True, 1): 89.42,
    ("fashion-mnist", True, 4): 89.68,
    ("fashion-mnist", True, 9): 90.06,
    ("fashion-mnist", True, 16): 90.19,
    ("fashion-mnist", False, 1): 87.08,
    ("fashion-mnist", False, 4): 88.27,
    ("fashion-mnist", False, 9): 88.79,
    ("fashion-mnist", False, 16): 89.35,
}
# the protocol of the paper's runs, for the projection of their cost
PAPER_EPOCHS = 500


def available_runs() -> list[str]:
    return sorted(p.stem for p in CONFIGS.glob("*.toml") if not p.stem.startswith("gpu-"))


def run_one(name: str, args, seed: int | None = None) -> dict:
    """Train (or resume) ``configs/<name>.toml``; with ``seed``, as the run
    ``<name>-s<seed>`` with that seed (its weights, batch order and validation split),
    recorded under ``--seeds-results`` (default ``results/seeds/``)."""
    overrides = [f"data.data_dir={args.data_dir}", f"threads={args.threads}"]
    tag = name if seed is None else f"{name}-s{seed}"
    if seed is not None:
        overrides.append(f"seed={seed}")
    if args.epochs:
        overrides.append(f"epochs={args.epochs}")
    if args.time_budget_min:
        overrides.append(f"max_time_min={args.time_budget_min}")
    overrides += args.set
    run_dir = args.out / tag
    resume = (run_dir / "checkpoint.h5").is_file()
    t0 = time.perf_counter()
    if resume:
        keep = [o for o in overrides if not o.startswith("data.")]
        trainer = train_run(None, run_dir, resume=True, overrides=keep)
    else:
        cfg = load_config(CONFIGS / f"{name}.toml", overrides)
        trainer = train_run(cfg, run_dir)
    wall = time.perf_counter() - t0
    cfg = trainer.config
    m = cfg["model"]
    res = trainer.results
    hist = trainer.history
    train_s = sum(h["train_time_s"] for h in hist)
    row = {
        "run": tag,
        "config": name,
        "seed": cfg["seed"],
        "kind": m["kind"],
        "dataset": cfg["data"]["dataset"],
        "train_scatterer": m.get("train_scatterer"),
        "replicas": m.get("replicas"),
        "parameters": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        "epochs": trainer.epoch,
        "optimizer": cfg["optimizer"],
        "scheduler": cfg["scheduler"],
        "final": res["final"],
        "best": res.get("best"),
        "train_time_s": train_s,
        "s_per_epoch": _median([h["train_time_s"] for h in hist]),
        "wall_s_this_call": wall,
        "history": hist,
    }
    key = (row["dataset"], bool(row["train_scatterer"]), row["replicas"])
    row["paper"] = PAPER.get(key) if m["kind"] == "multivariate" else None
    dest = HERE / "results" / name if seed is None else args.seeds_results / tag
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("config.toml", "metrics.json", "metrics.csv", "results.json"):
        if (run_dir / f).is_file():
            shutil.copyfile(run_dir / f, dest / f)
    atomic_write_text(dest / "summary.json", json.dumps(row, indent=1) + "\n")
    return row


def _median(values: list[float]) -> float:
    """The median (0 for no values): the machine is shared, so a mean would mix loads."""
    v = sorted(values)
    if not v:
        return 0.0
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else 0.5 * (v[mid - 1] + v[mid])


def _epoch_seconds(row: dict) -> tuple[float, float, float]:
    """Median, fastest and slowest training time of one epoch [s]."""
    t = [h["train_time_s"] for h in row["history"]]
    return _median(t), min(t, default=0.0), max(t, default=0.0)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| run | model | S | R | params | epochs | test, final [%] | best epoch (val [%]) "
        "| test, best [%] | paper [%] | s / epoch (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        best = r["best"] or {}
        s = {True: "trained", False: "fixed", None: "-"}[r["train_scatterer"]]
        lines.append(
            f"| {r['run']} | {r['kind']} | {s} | {r['replicas'] or '-'} | {r['parameters']:,} "
            f"| {r['epochs']} | {_pct(r['final']['test_accuracy'])} "
            f"| {best.get('epoch', '-')} ({_pct(best.get('val_accuracy'))}) "
            f"| {_pct(best.get('test_accuracy'))} | {r['paper'] or '-'} "
            f"| {_epoch_seconds(r)[0]:.0f} |"
        )
    return "\n".join(lines) + "\n"


def projection(rows: list[dict]) -> str:
    lines = [
        f"The paper's protocol is {PAPER_EPOCHS} epochs. At the measured training time per "
        "epoch on this CPU (one thread; median, and the fastest to slowest epoch, which "
        "differ with the load of the shared machine):",
        "",
    ]
    for r in rows:
        if r["kind"] != "multivariate":
            continue
        med, lo, hi = _epoch_seconds(r)
        h = [t * PAPER_EPOCHS / 3600 for t in (med, lo, hi)]
        lines.append(
            f"- {r['run']}: {med:.0f} s per epoch ({lo:.0f} - {hi:.0f}), {h[0]:.0f} h for "
            f"{PAPER_EPOCHS} epochs ({h[1]:.0f} - {h[2]:.0f} h)"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ep = [h["epoch"] for h in r["history"]]
        ax.plot(ep, [100 * h["val_accuracy"] for h in r["history"]], "o-", label=r["run"])
        if r["paper"]:
            ax.axhline(r["paper"], ls=":", lw=0.8, color=ax.lines[-1].get_color())
    ax.set(xlabel="epoch", ylabel="validation accuracy [%]", title="MultivariatePNN")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data-dir", required=True, help="directory of the MNIST/Fashion-MNIST IDX files"
    )
    ap.add_argument("--runs", nargs="+", default=None, help=f"default: all of {available_runs()}")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=0, help="override the configs' epochs")
    ap.add_argument("--time-budget-min", type=float, default=0.0, help="per run, 0: the config's")
    ap.add_argument("--out", type=Path, default=HERE / "runs", help="run directories")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration key (a resumed run must keep its stored values)",
    )
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="train each run once per seed, as <run>-s<seed>, recorded in results/seeds/ "
        "(summarised by aggregate.py; the table of the single runs is left alone)",
    )
    ap.add_argument(
        "--seeds-results",
        type=Path,
        default=HERE / "results" / "seeds",
        help="where the --seeds runs are recorded",
    )
    args = ap.parse_args(argv)
    names = args.runs or available_runs()
    unknown = sorted(set(names) - set(available_runs()))
    if unknown:
        ap.error(f"unknown runs {unknown}; known: {available_runs()}")
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    if args.seeds:
        for name in names:
            for seed in args.seeds:
                print(f"== {name}, seed {seed}", flush=True)
                run_one(name, args, seed)
        return 0
    rows = []
    for name in names:
        print(f"== {name}", flush=True)
        rows.append(run_one(name, args))
    # every recorded run, not only those of this call
    rows = [
        json.loads((HERE / "results" / n / "summary.json").read_text())
        for n in available_runs()
        if (HERE / "results" / n / "summary.json").is_file()
    ]
    out = HERE / "results"
    atomic_write_text(out / "table.md", table(rows) + "\n" + projection(rows))
    atomic_write_text(out / "summary.json", json.dumps(rows, indent=1) + "\n")
    try:
        plot(rows, out / "accuracy.png")
    except ImportError:
        print("(no plot: matplotlib is not installed)")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
