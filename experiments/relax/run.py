"""ReLaX-Net (Tsuchiyama et al., arXiv 2511.00044) on photonn's banks: the L_W x L_T sweep.

One command runs every stage (a ``photonn sweep`` of ``photonn train`` runs, the
local backend of :func:`photonn.runs.sweep.run_sweep`), then writes the tables and
plots of ``results/``:

    python experiments/relax/run.py --data-dir /work/shared/data [--stages a,b ...]
        [--report-only] [--list]

A stage is a Cartesian grid ``model.budget x model.l_w x model.l_t x seed`` over one
configuration of ``configs/``; its sweep directory is ``runs/<stage>/`` (local, not
committed). Points already finished (``results.json``) are kept and partial ones
resumed, so the command can be repeated until every point is done; the report reads
whatever points are finished. The same grids run on Ray with
``photonn sweep CONFIG --grid ... --backend ray`` (see ``--list``).

The report picks, at every budget, the best DNN (``L_T = 1``), the best RNN
(``L_W = 1``) and the best ReLaX (``L_W, L_T > 1``) by the *validation* metric, and
reports their test metric; the test split chooses nothing. Also: per-pass gradient
norms of the language models (``results/grad_norms.*``) and the latency model's
speed-ups of the device profiles (``results/latency.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from photonn._io import atomic_write_text  # noqa: E402
from photonn.runs.sweep import (  # noqa: E402
    parse_grid,
    plan_sweep,
    point_status,
    run_sweep,
)

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
RUNS = HERE / "runs"
RESULTS = HERE / "results"
LN2 = math.log(2.0)

BUDGETS = (4000, 1000, 16000)  # bank parameters; the middle budget runs first
L_W = (1, 2, 4)
L_T = (1, 2, 4)


def _grid(budgets=BUDGETS, l_w=L_W, l_t=L_T, seeds=(0,), fixed=()):
    """The ``--grid`` lists of a stage; ``fixed``: single-valued keys (``"model.inject=true"``)."""
    return [
        *fixed,
        f"seed={','.join(map(str, seeds))}",
        f"model.budget={','.join(map(str, budgets))}",
        f"model.l_w={','.join(map(str, l_w))}",
        f"model.l_t={','.join(map(str, l_t))}",
    ]


INJECT = ("model.inject=true",)  # re-inject the input projection at every pass
BLOCK = ('model.schedule="block"',)  # each bank layer held for L_T passes
LEAK = ("model.leak=0.5",)  # h = 0.5 h + f(...)
FAST_BIAS = ("model.fast_bias=true",)  # a fast bias per pass besides the layers' own
SVD = ('model.bank="svd"',)  # SVD layers (two errored meshes and attenuators) as the bank


# name -> (config, grid, task); listed in the order they run (the most telling first)
STAGES = {
    "fmnist-digital": ("fmnist_digital.toml", _grid(), "image"),
    "fmnist-mzi": ("fmnist_mzi.toml", _grid(), "image"),
    "fmnist-digital-inject": ("fmnist_digital.toml", _grid(fixed=INJECT), "image"),
    "shakespeare-digital": ("shakespeare_digital.toml", _grid(), "text"),
    "shakespeare-mzi": ("shakespeare_mzi.toml", _grid((4000,)), "text"),
    "fmnist-diffractive": ("fmnist_diffractive.toml", _grid((4000, 1000)), "image"),
    "fmnist-mzi-inject": ("fmnist_mzi.toml", _grid(fixed=INJECT), "image"),
    "fmnist-digital-seeds": ("fmnist_digital.toml", _grid(seeds=(1, 2)), "image"),
    "fmnist-digital-inject-seeds": (
        "fmnist_digital.toml",
        _grid(seeds=(1, 2), fixed=INJECT),
        "image",
    ),
    "shakespeare-digital-seeds": (
        "shakespeare_digital.toml",
        _grid((4000,), seeds=(1, 2)),
        "text",
    ),
    "fmnist-mzi-seeds": ("fmnist_mzi.toml", _grid((4000,), seeds=(1, 2)), "image"),
    "shakespeare-digital-large-lw": (
        "shakespeare_digital.toml",
        _grid((4000,), l_w=(8, 16), l_t=(1,)),
        "text",
    ),
    "shakespeare-mzi-1000": ("shakespeare_mzi.toml", _grid((1000,)), "text"),
    "mnist-digital": ("mnist_digital.toml", _grid(), "image"),
    "mnist-digital-seeds": ("mnist_digital.toml", _grid(seeds=(1, 2)), "image"),
    "fmnist-diffractive-seeds": (
        "fmnist_diffractive.toml",
        _grid((4000, 1000), seeds=(1, 2)),
        "image",
    ),
    "fmnist-mzi-inject-seeds": (
        "fmnist_mzi.toml",
        _grid((4000,), seeds=(1, 2), fixed=INJECT),
        "image",
    ),
    "fmnist-diffractive-16000": ("fmnist_diffractive.toml", _grid((16000,)), "image"),
    # 126-mode meshes: the oeo drive gain 0.01 chosen on validation (pilots); with the
    # default 0.2 the first backward pass overflows float32 at most points
    "shakespeare-mzi-16000": (
        "shakespeare_mzi.toml",
        _grid((16000,), fixed=("model.activation_gain=0.01",)),
        "text",
    ),
    "fmnist-mzi-seeds-1k-16k": ("fmnist_mzi.toml", _grid((1000, 16000), seeds=(1, 2)), "image"),
    "fmnist-mzi-inject-seeds-1k-16k": (
        "fmnist_mzi.toml",
        _grid((1000, 16000), seeds=(1, 2), fixed=INJECT),
        "image",
    ),
    "shakespeare-digital-seeds-1k-16k": (
        "shakespeare_digital.toml",
        _grid((1000, 16000), seeds=(1, 2)),
        "text",
    ),
    # the settings the paper's summaries leave open, varied one at a time at 4,000
    # parameters (the block schedule changes only the points with L_W, L_T > 1)
    "fmnist-digital-block": (
        "fmnist_digital.toml",
        _grid((4000,), l_w=(2, 4), l_t=(2, 4), seeds=(0, 1, 2), fixed=BLOCK),
        "image",
    ),
    "fmnist-digital-leak": (
        "fmnist_digital.toml",
        _grid((4000,), seeds=(0, 1, 2), fixed=LEAK),
        "image",
    ),
    "fmnist-digital-fast-bias": (
        "fmnist_digital.toml",
        _grid((4000,), seeds=(0, 1, 2), fixed=FAST_BIAS),
        "image",
    ),
    "fmnist-svd": ("fmnist_mzi.toml", _grid((4000,), seeds=(0, 1, 2), fixed=SVD), "image"),
    "shakespeare-digital-leak": (
        "shakespeare_digital.toml",
        _grid((4000,), l_w=(1, 2, 4, 8, 16), l_t=(1,), fixed=LEAK),
        "text",
    ),
    "shakespeare-mzi-seeds": (
        "shakespeare_mzi.toml",
        _grid((1000, 4000), seeds=(1, 2)),
        "text",
    ),
    # the whole training set and the full-data pilot's recipe (15 epochs), three seeds
    "fmnist-digital-full": ("fmnist_digital_full.toml", _grid(seeds=(0, 1, 2)), "image"),
    "fmnist-digital-inject-full": (
        "fmnist_digital_full.toml",
        _grid(seeds=(0, 1, 2), fixed=INJECT),
        "image",
    ),
    "fmnist-diffractive-16000-seeds": (
        "fmnist_diffractive.toml",
        _grid((16000,), seeds=(1, 2)),
        "image",
    ),
}


def stage_overrides(data_dir: str | None) -> list[str]:
    return [] if not data_dir else [f"data.data_dir={json.dumps(str(data_dir))}"]


def run_stage(name: str, data_dir: str | None) -> None:
    config, grid, _ = STAGES[name]
    t0 = time.time()
    run_sweep(
        CONFIGS / config,
        grid,
        RUNS / name,
        overrides=stage_overrides(data_dir),
        backend="local",
        log=lambda s: print(f"[{name}] {s}", flush=True),
    )
    print(f"[{name}] finished in {time.time() - t0:.0f} s", flush=True)


# -- the report ---------------------------------------------------------------------------
def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def collect(data_dir: str | None) -> list[dict]:
    """One row per finished point of every stage, read from its run directory."""
    from photonn.models.relax import bank_width

    rows = []
    for name, (config, grid, task) in STAGES.items():
        points = plan_sweep(
            CONFIGS / config, parse_grid(grid), RUNS / name, overrides=stage_overrides(data_dir)
        )
        for p in points:
            if point_status(p.run_dir) != "done":
                continue
            m = p.cfg["model"]
            res = _read(p.run_dir / "results.json") or {}
            hist = _read(p.run_dir / "metrics.json") or []
            best = res.get("best") or res.get("final") or {}
            row = {
                "stage": name,
                # the runs on the whole training set apart from those on a subset
                "dataset": p.cfg["data"]["dataset"]
                + ("" if p.cfg["data"]["train_limit"] else "-full"),
                "bank": bank_label(m, task),
                "budget": m["budget"],
                "l_w": m["l_w"],
                "l_t": m["l_t"],
                "depth": m["l_w"] * m["l_t"],
                "width": bank_width(m["budget"], m["l_w"], m["bank"]["kind"]),
                "seed": p.cfg["seed"],
                "family": family(m["l_w"], m["l_t"]),
                "epochs": len(hist),
                "best_epoch": best.get("epoch"),
                "train_time_s": round(sum(r.get("train_time_s", 0.0) for r in hist), 1),
            }
            if task == "text":
                row["val_bpc"] = best.get("val_loss", math.nan) / LN2
                row["test_bpc"] = best.get("test_loss", math.nan) / LN2
            else:
                row["val_accuracy"] = best.get("val_accuracy")
                row["test_accuracy"] = best.get("test_accuracy")
            rows.append(row)
    return rows


def bank_label(m: dict, task: str) -> str:
    """The bank, with the settings that differ from the main grids' (``+inject``: the image
    nets with the input re-injected at every pass; ``+block``, ``+leak0.5``, ``+fastbias``)."""
    label = m["bank"]["kind"]
    if m["inject"] and task == "image":  # the text models always re-inject
        label += "+inject"
    if m["schedule"] != "periodic":
        label += f"+{m['schedule']}"
    if m["leak"]:
        label += f"+leak{m['leak']:g}"
    if m["bank"].get("fast_bias"):
        label += "+fastbias"
    return label


def family(l_w: int, l_t: int) -> str:
    if l_w == 1 and l_t == 1:
        return "single"
    if l_t == 1:
        return "DNN"
    if l_w == 1:
        return "RNN"
    return "ReLaX"


def _metric(row):
    return (
        ("val_bpc", "test_bpc", "min")
        if "val_bpc" in row
        else ("val_accuracy", "test_accuracy", "max")
    )


def _mean_sd(vals):
    vals = [v for v in vals if v is not None and math.isfinite(v)]
    if not vals:
        return None, None, 0
    sd = statistics.stdev(vals) if len(vals) > 1 else None
    return statistics.fmean(vals), sd, len(vals)


def aggregate(rows: list[dict]) -> list[dict]:
    """Mean and spread over seeds of every (stage group, budget, l_w, l_t)."""
    groups: dict = {}
    for r in rows:
        key = (r["dataset"], r["bank"], r["budget"], r["l_w"], r["l_t"])
        groups.setdefault(key, []).append(r)
    out = []
    for key, rs in sorted(groups.items()):
        val, test, _ = _metric(rs[0])
        vm, vs, n = _mean_sd([r[val] for r in rs])
        tm, ts, _ = _mean_sd([r[test] for r in rs])
        out.append(
            {
                "dataset": key[0],
                "bank": key[1],
                "budget": key[2],
                "l_w": key[3],
                "l_t": key[4],
                "depth": key[3] * key[4],
                "width": rs[0]["width"],
                "family": rs[0]["family"],
                "seeds": n,
                val: vm,
                f"{val}_sd": vs,
                test: tm,
                f"{test}_sd": ts,
                "train_time_s": round(statistics.fmean(r["train_time_s"] for r in rs), 1),
            }
        )
    return out


def best_by_family(agg: list[dict]) -> list[dict]:
    """Per (dataset, bank, budget): the DNN (``L_T = 1``), RNN (``L_W = 1``) and ReLaX
    (``L_W, L_T > 1``) point of best validation metric (mean over seeds), and the best
    point overall."""
    out = []
    keys = sorted({(a["dataset"], a["bank"], a["budget"]) for a in agg})
    for k in keys:
        pts = [a for a in agg if (a["dataset"], a["bank"], a["budget"]) == k]
        val, test, mode = _metric(pts[0])
        row = {"dataset": k[0], "bank": k[1], "budget": k[2]}
        member = {  # the single layer (1, 1) is both a DNN and an RNN of depth 1
            "DNN": lambda a: a["l_t"] == 1,
            "RNN": lambda a: a["l_w"] == 1,
            "ReLaX": lambda a: a["l_w"] > 1 and a["l_t"] > 1,
        }
        for fam in ("DNN", "RNN", "ReLaX"):
            cand = [a for a in pts if member[fam](a) and a[val] is not None]
            if not cand:
                continue
            pick = min if mode == "min" else max
            b = pick(cand, key=lambda a: a[val])
            row[fam] = {
                "l_w": b["l_w"],
                "l_t": b["l_t"],
                val: b[val],
                test: b[test],
                f"{test}_sd": b[f"{test}_sd"],
                "seeds": b["seeds"],
            }
        overall = (min if mode == "min" else max)(
            (a for a in pts if a[val] is not None), key=lambda a: a[val]
        )
        row["best"] = {"l_w": overall["l_w"], "l_t": overall["l_t"], "family": overall["family"]}
        out.append(row)
    return out


def _fmt(v, sd=None, pct=False):
    if v is None:
        return "-"
    if pct:
        s = f"{100 * v:.1f}"
        return s + (f" ± {100 * sd:.1f}" if sd is not None else "")
    s = f"{v:.3f}"
    return s + (f" ± {sd:.3f}" if sd is not None else "")


def markdown(agg: list[dict], best: list[dict], latency: dict) -> str:
    lines = ["# ReLaX-Net sweep: measured results", ""]
    lines += [
        "Test metric of the model of the best validation epoch (accuracy in %, or bits per",
        "character); ± is the standard deviation over seeds where more than one ran. The",
        "families of each budget are chosen on validation (the `val` column), never on test.",
        "",
        "## Best DNN (L_T = 1), RNN (L_W = 1) and ReLaX (L_W, L_T > 1) per budget, on validation",
        "",
        "| dataset | bank | budget | DNN (L_W, L_T): test | RNN | ReLaX | best on val |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in best:
        cells = []
        for fam in ("DNN", "RNN", "ReLaX"):
            f = b.get(fam)
            if not f:
                cells.append("-")
                continue
            test = "test_bpc" if "test_bpc" in f else "test_accuracy"
            pct = test == "test_accuracy"
            cells.append(
                f"({f['l_w']}, {f['l_t']}): {_fmt(f[test], f[f'{test}_sd'], pct)}"
                + (f" [{f['seeds']} seeds]" if f["seeds"] > 1 else "")
            )
        o = b["best"]
        lines.append(
            f"| {b['dataset']} | {b['bank']} | {b['budget']} | "
            + " | ".join(cells)
            + f" | {o['family']} ({o['l_w']}, {o['l_t']}) |"
        )
    lines += ["", "## Every point", ""]
    lines += [
        "| dataset | bank | budget | L_W | L_T | width | seeds | val | test | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in agg:
        val, test, _ = _metric(a)
        pct = test == "test_accuracy"
        lines.append(
            f"| {a['dataset']} | {a['bank']} | {a['budget']} | {a['l_w']} | {a['l_t']} | "
            f"{a['width']} | {a['seeds']} | {_fmt(a[val], a[f'{val}_sd'], pct)} | "
            f"{_fmt(a[test], a[f'{test}_sd'], pct)} | {a['train_time_s']:.0f} |"
        )
    if latency:
        lines += ["", "## Latency model (one inference of depth T)", ""]
        lines += [
            "| profile | T_MM [ns] | T_swt [ns] | T_upd [ns] | T_state [ns] | speed-up |",
            "|---|---|---|---|---|---|",
        ]
        for name, v in latency.items():
            lines.append(
                f"| {name} | {v['t_mm'] * 1e9:g} | {v['t_switch'] * 1e9:g} | "
                f"{v['t_update'] * 1e9:g} | {v['t_state'] * 1e9:g} | {v['speedup']:.4g} |"
            )
    return "\n".join(lines) + "\n"


def latency_table(depth: int = 16) -> dict:
    from photonn.reuse import relax_latency

    out = {}
    for name in ("si_thermo_optic_mzi", "holoeye_pluto2"):
        lat = relax_latency(name, depth)
        out[name] = {
            "depth": depth,
            "t_mm": lat.t_mm,
            "t_switch": lat.t_switch,
            "t_update": lat.t_update,
            "t_state": lat.t_state,
            "relax_s": lat.relax,
            "reprogram_s": lat.reprogram,
            "speedup": lat.speedup,
        }
    return out


def plots(agg: list[dict], best: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    sets = sorted({(a["dataset"], a["bank"]) for a in agg})
    if not sets:
        return paths
    # metric against the budget, best of each family (chosen on validation)
    cols = min(len(sets), 4)
    rows_n = -(-len(sets) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 3.4 * rows_n), squeeze=False)
    for ax in axes.flat[len(sets) :]:
        ax.set_visible(False)
    for ax, (ds, bank) in zip(axes.flat, sets):
        rows = [b for b in best if (b["dataset"], b["bank"]) == (ds, bank)]
        for fam, mk in (("DNN", "s"), ("RNN", "^"), ("ReLaX", "o")):
            pts = [(b["budget"], b[fam]) for b in rows if fam in b]
            if not pts:
                continue
            test = "test_bpc" if "test_bpc" in pts[0][1] else "test_accuracy"
            ys = [f[test] for _, f in pts]
            es = [f[f"{test}_sd"] or 0 for _, f in pts]
            ax.errorbar([p[0] for p in pts], ys, yerr=es, marker=mk, label=fam, capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel("bank parameters")
        ax.set_ylabel("test bits/char" if ds == "shakespeare" else "test accuracy")
        ax.set_title(f"{ds}, {bank}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(RESULTS / "vs_budget.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    # against L_W (lines: L_T) and against L_T (lines: L_W), one row per budget
    for xkey, lkey, fname in (("l_w", "l_t", "vs_lw.png"), ("l_t", "l_w", "vs_lt.png")):
        budgets = sorted({a["budget"] for a in agg})
        # one row per (dataset, bank), one column per budget
        fig, axes = plt.subplots(
            len(sets),
            len(budgets),
            figsize=(4 * len(budgets), 3 * len(sets)),
            squeeze=False,
        )
        for i, bud in enumerate(budgets):
            for j, (ds, bank) in enumerate(sets):
                ax = axes[j][i]
                pts = [a for a in agg if (a["dataset"], a["bank"], a["budget"]) == (ds, bank, bud)]
                if not pts:
                    ax.set_visible(False)
                    continue
                _, test, _ = _metric(pts[0])
                for lv in sorted({a[lkey] for a in pts}):
                    line = sorted((a for a in pts if a[lkey] == lv), key=lambda a: a[xkey])
                    ax.errorbar(
                        [a[xkey] for a in line],
                        [a[test] for a in line],
                        yerr=[a[f"{test}_sd"] or 0 for a in line],
                        marker="o",
                        capsize=3,
                        label=f"{lkey.upper()} = {lv}",
                    )
                ax.set_xscale("log", base=2)
                ax.set_xlabel(xkey.upper())
                ax.set_ylabel("test bpc" if test == "test_bpc" else "test acc")
                ax.set_title(f"{ds}, {bank}, budget {bud}", fontsize=9)
                ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(RESULTS / fname)
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


# -- gradient norms of the language models ------------------------------------------------
def grad_norms(data_dir: str | None, max_batches: int = 1) -> dict:
    """Per-pass gradient norms ``||dL/dh_t||`` and per-pass weight-gradient shares of the
    language models, at initialisation and after training (the best model), on one
    validation batch, for every finished Shakespeare point at the middle budget."""
    from photonn.runs import build_model, load_run
    from photonn.runs.run import load_data, loss_function

    out = {}
    for name, (config, grid, task) in STAGES.items():
        if task != "text":
            continue
        points = plan_sweep(
            CONFIGS / config, parse_grid(grid), RUNS / name, overrides=stage_overrides(data_dir)
        )
        for p in points:
            m = p.cfg["model"]
            if p.cfg["seed"] != 0 or m["budget"] != 4000 or point_status(p.run_dir) != "done":
                continue
            label = bank_label(m, task)
            key = f"{label}-lw{m['l_w']}-lt{m['l_t']}"
            if key in out:
                continue
            cfg, trained = load_run(p.run_dir, which="best")
            data = load_data(cfg)
            x, y = data.validation
            x, y = x[:64], y[:64]
            loss_fn = loss_function(cfg)
            res = {}
            for when, model in (
                ("init", build_model(cfg, torch.Generator().manual_seed(cfg["seed"]))),
                ("trained", trained),
            ):
                relax = model.relax
                model.zero_grad()
                with relax.recording() as record:
                    loss = loss_fn(model(x), y)
                    loss.backward()
                g = record.grad_norms()
                # (characters, passes) -> one time line, the last pass last
                state = g["state"].reshape(-1)
                weight = g["weight"].reshape(-1)
                res[when] = {
                    "loss_nats": float(loss.detach()),
                    "state": [float(f"{float(v):.4g}") for v in state],
                    "weight": [float(f"{float(v):.4g}") for v in weight],
                    "bank_grad_norm": [
                        float(
                            torch.sqrt(
                                sum(
                                    (q.grad.abs() ** 2).sum()
                                    for q in layer.parameters()
                                    if q.grad is not None
                                )
                            )
                        )
                        for layer in relax.bank
                    ],
                }
            out[key] = {
                "bank": label,
                "l_w": m["l_w"],
                "l_t": m["l_t"],
                "width": trained.width,
                "passes_per_char": m["l_w"] * m["l_t"],
                **res,
            }
    return out


def _within_char(state: list[float], per: int) -> list[float]:
    """Geometric mean over the characters of ``||dL/dh||`` at each pass of a character,
    relative to the character's last pass (``per`` passes per character)."""
    chars = len(state) // per
    out = []
    for k in range(per):
        logs = [
            math.log(state[c * per + k] / state[c * per + per - 1])
            for c in range(chars)
            if state[c * per + k] > 0 and state[c * per + per - 1] > 0
        ]
        out.append(math.exp(statistics.fmean(logs)) if logs else math.nan)
    return out


def grad_summary(g: dict) -> list[dict]:
    """Per model: how ``||dL/dh||`` shrinks from the last to the first pass of a character
    (geometric mean over the characters; per pass: its ``1 / (passes - 1)`` power), and
    the gradient norm of each bank layer, at initialisation and trained."""
    rows = []
    for key, v in sorted(g.items(), key=lambda kv: (kv[1]["bank"], kv[1]["l_w"], kv[1]["l_t"])):
        per = v["passes_per_char"]
        row = {"model": key, "l_w": v["l_w"], "l_t": v["l_t"], "width": v["width"]}
        for when in ("init", "trained"):
            prof = _within_char(v[when]["state"], per)
            row[f"{when}_first_over_last_pass"] = prof[0]
            row[f"{when}_per_pass_factor"] = prof[0] ** (1 / (per - 1)) if per > 1 else 1.0
            row[f"{when}_bank_grad"] = v[when]["bank_grad_norm"]
            row[f"{when}_loss_nats"] = v[when]["loss_nats"]
        rows.append(row)
    return rows


def grad_plot(g: dict) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not g:
        return None
    banks = sorted({v["bank"] for v in g.values()})
    fig, axes = plt.subplots(len(banks), 2, figsize=(9, 3.2 * len(banks)), squeeze=False)
    for i, bank in enumerate(banks):
        for j, when in enumerate(("init", "trained")):
            ax = axes[i][j]
            for v in sorted(g.values(), key=lambda v: (v["l_w"], v["l_t"])):
                if v["bank"] != bank or v["passes_per_char"] < 2:
                    continue
                prof = _within_char(v[when]["state"], v["passes_per_char"])
                ax.semilogy(
                    range(len(prof)),
                    prof,
                    marker=".",
                    label=f"L_W={v['l_w']}, L_T={v['l_t']} (width {v['width']})",
                )
            ax.set_xlabel("pass within a character")
            ax.set_ylabel("||dL/dh_t|| / at the last pass")
            ax.set_title(f"shakespeare, {bank} bank, {when}", fontsize=9)
            ax.legend(fontsize=6)
    fig.tight_layout()
    path = RESULTS / "grad_norms.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report(data_dir: str | None, *, grads: bool = True) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = collect(data_dir)
    agg = aggregate(rows)
    best = best_by_family(agg)
    lat = latency_table()
    atomic_write_text(RESULTS / "points.json", json.dumps(rows, indent=1) + "\n")
    atomic_write_text(RESULTS / "summary.json", json.dumps(agg, indent=1) + "\n")
    atomic_write_text(RESULTS / "best.json", json.dumps(best, indent=1) + "\n")
    atomic_write_text(RESULTS / "latency.json", json.dumps(lat, indent=1) + "\n")
    keys = sorted(
        {k for a in agg for k in a}, key=lambda k: list(agg[0]).index(k) if k in agg[0] else 99
    )
    csv_lines = [",".join(keys)] + [
        ",".join("" if a.get(k) is None else str(a.get(k)) for k in keys) for a in agg
    ]
    atomic_write_text(RESULTS / "summary.csv", "\n".join(csv_lines) + "\n")
    # the views paper_reading.py writes after its marker stay
    marker = "<!-- paper-reading views: written by paper_reading.py aggregate -->"
    old = (RESULTS / "table.md").read_text() if (RESULTS / "table.md").is_file() else ""
    views = (marker + old.split(marker, 1)[1]) if marker in old else ""
    atomic_write_text(
        RESULTS / "table.md", markdown(agg, best, lat) + ("\n" + views if views else "")
    )
    print(f"report: {len(rows)} finished points, {len(agg)} settings", flush=True)
    if agg:
        for p in plots(agg, best):
            print(f"wrote {p}")
    if grads:
        torch.manual_seed(0)
        g = grad_norms(data_dir)
        atomic_write_text(RESULTS / "grad_norms.json", json.dumps(g) + "\n")
        gs = grad_summary(g)
        atomic_write_text(RESULTS / "grad_summary.json", json.dumps(gs, indent=1) + "\n")
        p = grad_plot(g)
        if p:
            print(f"wrote {p}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", help="folder with mnist/, fashion-mnist/, shakespeare/")
    ap.add_argument("--stages", help=f"comma-separated, default all: {', '.join(STAGES)}")
    ap.add_argument("--report-only", action="store_true", help="only write results/")
    ap.add_argument("--no-grads", action="store_true", help="skip the gradient-norm report")
    ap.add_argument("--list", action="store_true", help="print every stage's photonn sweep")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    names = list(STAGES) if not args.stages else [s.strip() for s in args.stages.split(",")]
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        ap.error(f"unknown stages {unknown}; choose from {', '.join(STAGES)}")
    if args.list:
        for n in names:
            config, grid, _ = STAGES[n]
            g = " ".join(f"--grid '{x}'" for x in grid)
            sets = " ".join(f"--set '{s}'" for s in stage_overrides(args.data_dir))
            print(
                f"photonn sweep experiments/relax/configs/{config} {g} {sets} "
                f"--sweep-dir experiments/relax/runs/{n}"
            )
        return 0
    if not args.report_only:
        for n in names:
            run_stage(n, args.data_dir)
    report(args.data_dir, grads=not args.no_grads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
