"""MNIST 14x14 written into the phase shifters of one 16-mode MZI mesh over K time slots.

The on-chip temporal-multiplexing route of B. Savinson, D. J. Norris, S. Mishra,
S. Lanthaler, "Universality of physical neural networks with multivariate
nonlinearity", arXiv:2509.05420: the image is not sent as light but written into
a mesh's phase shifters (``phase = a * x + b``), the mesh is re-used over K
time slots, and the detector integrates the slots. ``photonn.onchip.EncodedMesh``
is the model; this script trains it for every K, slot assignment (each slot a
different part of the image, "split", or a replica of all of it, "replicate")
and integration (intensities add, "incoherent", or fields add, "coherent").

One command (about an hour of one core; see README.md):

    python experiments/encoded_mesh_mnist/run.py --data-dir /work/shared/data --threads 1

Per configuration: ``photonn.training.Trainer`` (Adam, per-step cosine decay,
drop-last batches, shuffled by an explicit generator) on 55,000 training images,
the best epoch by accuracy on 5,000 held-out training images
(``split_validation``, ``keep_best="val_accuracy"``); the test set (10,000) is
only evaluated, for the final and for the best-on-validation model. The
best-on-validation model is then evaluated on chips with the device profile's
static errors (coupler splitting errors, insertion loss). The time per inference
is ``K * response_time`` of the profile (every slot re-sets the phase shifters).

Writes ``results/results.json`` (after every configuration), ``results/table.md``,
``results/accuracy.png`` and ``results/run.log``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from photonn._io import atomic_path, atomic_write_text
from photonn.data import load_mnist
from photonn.devices import load_profile
from photonn.encoding import resize
from photonn.onchip import EncodedMesh
from photonn.training import (
    Callback,
    StopTraining,
    Trainer,
    build_scheduler,
    evaluate,
    split_validation,
)

HERE = Path(__file__).resolve().parent


def features(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 196) in [0, 1]: 2x2 area means (14x14)."""
    x = resize(images.to(torch.float32) / 255.0, (14, 14), mode="area")
    return x.reshape(len(images), 196)


class EpochLog(Callback):
    """One log line per epoch; stops training (after the epoch) past the deadline."""

    def __init__(self, log, name: str, epochs: int, deadline: float):
        self.log, self.name, self.epochs, self.deadline = log, name, epochs, deadline

    def on_epoch_end(self, epoch, model, metrics):
        self.log(
            f"  {self.name} epoch {epoch}/{self.epochs}: loss {metrics['train_loss']:.4f}, "
            f"val {100 * metrics['val_accuracy']:.2f} % ({metrics['train_time_s']:.0f} s)"
        )
        if time.time() > self.deadline:
            self.log("  time budget reached: stopping this training after the epoch")
            raise StopTraining


def build(cfg: dict, args, *, seed: int) -> EncodedMesh:
    readout = {"readout": "affine", "num_classes": 10} if cfg["affine"] else {"outputs": 10}
    return EncodedMesh(
        args.modes,
        "clements",
        in_features=196,
        slots=cfg["slots"],
        encode=args.encode,
        assign=cfg["assign"],
        integrate=cfg["integrate"],
        gain_std=args.gain_std,
        generator=torch.Generator().manual_seed(seed),
        **readout,
    )


def configurations(args) -> list[dict]:
    """K = 1 once (split and replicate coincide, and so do the integrations); then every
    K > 1 for each assignment and integration; then the affine readouts."""
    out = []
    for K in sorted(set(args.slots)):
        for assign in args.assign:
            for integrate in args.integrate:
                if K == 1 and (assign, integrate) != (args.assign[0], args.integrate[0]):
                    continue
                out.append({"slots": K, "assign": assign, "integrate": integrate, "affine": False})
    for K in args.affine_slots:
        out.append({"slots": K, "assign": "replicate", "integrate": "incoherent", "affine": True})
    return out


def name_of(cfg: dict) -> str:
    tail = "-affine" if cfg["affine"] else ""
    return f"K{cfg['slots']}-{cfg['assign']}-{cfg['integrate']}{tail}"


def chip_accuracy(model: EncodedMesh, profile, test, chips: int) -> list[float]:
    """Test accuracy of the trained phases on ``chips`` chips with the profile's static
    errors (coupler errors drawn per chip, insertion loss on every MZI)."""
    accs = []
    for c in range(chips):
        ref = EncodedMesh.from_profile(
            profile,
            n_modes=model.n_modes,
            in_features=model.in_features,
            slots=model.slots,
            encode=model.encode,
            assign=model.assign,
            integrate=model.integrate,
            error_generator=torch.Generator().manual_seed(100 + c),
            generator=torch.Generator().manual_seed(0),
        )
        chip = copy.deepcopy(model)
        chip.imperfections = ref.imperfections
        accs.append(evaluate(chip, test, batch_size=1000)["accuracy"])
    return accs


def run_one(cfg, args, train, val, test, profile, log, deadline) -> dict:
    name = name_of(cfg)
    model = build(cfg, args, seed=args.seed)
    steps = len(train[0]) // args.batch
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = build_scheduler(
        opt, "cosine", epochs=args.epochs, steps_per_epoch=steps, interval="step"
    )
    trainer = Trainer(
        model,
        opt,
        generator=torch.Generator().manual_seed(args.seed + 1),
        scheduler=sched,
        scheduler_interval="step",
        keep_best="val_accuracy",
        callbacks=[EpochLog(log, name, args.epochs, deadline)],
        progress=False,
    )
    t0 = time.time()
    history = trainer.fit(
        train, epochs=args.epochs, batch_size=args.batch, validation=val, drop_last=True
    )
    train_s = time.time() - t0
    final = evaluate(model, test, batch_size=1000)["accuracy"]
    model.load_state_dict(trainer.best_model_state())
    best = evaluate(model, test, batch_size=1000)
    chips = chip_accuracy(model, profile, test, args.chips) if args.chips else []
    tau = float(profile["response_time"])
    row = {
        "name": name,
        **cfg,
        "size": model.size_report(),
        "epochs_run": len(history),
        "val_accuracy": [r["val_accuracy"] for r in history],
        "best_epoch": trainer.best["epoch"],
        "best_val_accuracy": trainer.best["value"],
        "test_final": final,
        "test_best_val": best["accuracy"],
        "test_profile_chips": chips,
        "response_time_s": tau,
        "time_per_inference_s": model.time_per_inference(tau),
        "train_s": train_s,
        "eval_samples_per_s": best["samples_per_s"],
    }
    chip_txt = f", profile chips {_pct(chips)}" if chips else ""
    log(
        f"{name}: test final {100 * final:.2f} %, best-on-val (epoch {row['best_epoch']}) "
        f"{100 * best['accuracy']:.2f} %{chip_txt}; effective size {model.effective_size} "
        f"on {model.physical_phase_shifters} shifters; {1e6 * row['time_per_inference_s']:.0f} "
        f"us per inference; trained in {train_s:.0f} s"
    )
    return row


def _pct(v) -> str:
    if not v:
        return "-"
    t = 100 * torch.tensor(v, dtype=torch.float64)
    s = t.std().item() if len(v) > 1 else 0.0
    return f"{t.mean().item():.2f} ± {s:.2f}"


def table(results) -> str:
    rows = [
        "| integration | slots assign | K | P per slot | effective size K·P | K·P / physical "
        "shifters | optical params | time / inference | val best [%] (epoch) | test final [%] "
        "| test best-on-val [%] | test, profile chips [%] | train [s] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        s = r["size"]
        ro = " + affine readout" if r["affine"] else ""
        integ = "either" if r["slots"] == 1 and not r["affine"] else r["integrate"]
        assign = "either" if r["slots"] == 1 and not r["affine"] else r["assign"]
        rows.append(
            f"| {integ}{ro} | {assign} | {r['slots']} | {s['encoded_per_slot']} | "
            f"{s['effective_size']} | {s['effective_size'] / s['phase_shifters']:.2f} | "
            f"{s['optical_parameters']}"
            + (f" (+{s['electronic_parameters']} electronic)" if r["affine"] else "")
            + f" | {1e6 * r['time_per_inference_s']:.0f} µs | "
            f"{100 * r['best_val_accuracy']:.2f} ({r['best_epoch']}) | {100 * r['test_final']:.2f} "
            f"| {100 * r['test_best_val']:.2f} | {_pct(r['test_profile_chips'])} | "
            f"{r['train_s']:.0f} |"
        )
    return "\n".join(rows) + "\n"


def plot(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    runs = [r for r in results["runs"] if not r["affine"]]
    one = [r for r in runs if r["slots"] == 1]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {
        ("replicate", "incoherent"): ("C0", "o", "-"),
        ("replicate", "coherent"): ("C0", "s", "--"),
        ("split", "incoherent"): ("C1", "o", "-"),
        ("split", "coherent"): ("C1", "s", "--"),
    }
    for (assign, integ), (color, marker, ls) in styles.items():
        rs = one + [r for r in runs if (r["assign"], r["integrate"]) == (assign, integ)]
        rs = sorted({r["slots"]: r for r in rs}.values(), key=lambda r: r["slots"])
        if len(rs) < 2:
            continue
        ax.plot(
            [r["slots"] for r in rs],
            [100 * r["test_best_val"] for r in rs],
            color=color,
            marker=marker,
            ls=ls,
            label=f"{assign}, {integ}",
        )
    for r in results["runs"]:
        if r["affine"]:
            ax.plot(
                r["slots"],
                100 * r["test_best_val"],
                "k*",
                ms=10,
                label=f"replicate, incoherent + affine readout (K={r['slots']})",
            )
    ks = sorted({r["slots"] for r in runs})
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("time slots K")
    ax.set_ylabel("MNIST 14x14 test accuracy [%]")
    tau = results["runs"][0]["response_time_s"]
    top = ax.secondary_xaxis("top", functions=(lambda k: k * tau * 1e6, lambda t: t / tau / 1e6))
    top.set_xticks([k * tau * 1e6 for k in ks])
    top.set_xticklabels([f"{k * tau * 1e6:.0f}" for k in ks])
    top.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    top.set_xlabel(f"time per inference [µs] (K × {tau * 1e6:.0f} µs shifter update)")
    ax.set_title(
        f"EncodedMesh, {results['config']['modes']}-mode Clements mesh "
        "(model of the best validation epoch)",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None, help="MNIST IDX folder (default: embedded subset)")
    ap.add_argument("--modes", type=int, default=16, help="modes N of the physical mesh")
    ap.add_argument("--encode", default="both", choices=["theta", "phi", "both"])
    ap.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4, 7, 13])
    ap.add_argument("--assign", nargs="+", default=["replicate", "split"])
    ap.add_argument("--integrate", nargs="+", default=["incoherent", "coherent"])
    ap.add_argument(
        "--affine-slots",
        type=int,
        nargs="*",
        default=[13],
        help="K of the extra runs with an electronic affine readout (replicate, incoherent)",
    )
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=0.03)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--gain-std", type=float, default=1.0)
    ap.add_argument("--validation", type=int, default=5000)
    ap.add_argument(
        "--train-subset",
        type=int,
        default=0,
        help="use only this many training images (0: all; for quick checks)",
    )
    ap.add_argument("--chips", type=int, default=3, help="profile chips per configuration")
    ap.add_argument("--profile", default="si_thermo_optic_mzi")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time-budget-min", type=float, default=90.0)
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument(
        "--replot",
        action="store_true",
        help="only rewrite table.md and accuracy.png from the results.json in --out",
    )
    args = ap.parse_args(argv)
    if args.replot:
        results = json.loads((Path(args.out) / "results.json").read_text())
        atomic_write_text(Path(args.out) / "table.md", table(results))
        plot(results, Path(args.out) / "accuracy.png")
        return 0
    torch.set_num_threads(args.threads)
    t_start = time.time()
    deadline = t_start + 60 * args.time_budget_min
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    profile = load_profile(args.profile)
    xtr_img, ytr = load_mnist(args.data_dir, "train")
    xte_img, yte = load_mnist(args.data_dir, "test")
    xtr, xte = features(xtr_img), features(xte_img)
    if args.train_subset:
        xtr, ytr = xtr[: args.train_subset], ytr[: args.train_subset]
    train, val = split_validation(
        (xtr, ytr), args.validation, generator=torch.Generator().manual_seed(args.seed)
    )
    test = (xte, yte)
    log(
        f"data: {len(train[0])} train / {len(val[0])} validation / {len(xte)} test, 14x14; "
        f"mesh {args.modes} modes, encode={args.encode}; profile {profile.name}, response time "
        f"{1e6 * float(profile['response_time']):.1f} us; threads {torch.get_num_threads()}"
    )
    results = {
        "config": vars(args),
        "commit": _commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "runs": [],
    }
    cfgs = configurations(args)
    for i, cfg in enumerate(cfgs):
        if time.time() > deadline:
            log(f"time budget reached: skipping {[name_of(c) for c in cfgs[i:]]}")
            break
        results["runs"].append(run_one(cfg, args, train, val, test, profile, log, deadline))
        results["elapsed_s"] = time.time() - t_start
        atomic_write_text(out / "results.json", json.dumps(results, indent=2))
    results["elapsed_s"] = time.time() - t_start
    log(f"total {results['elapsed_s'] / 60:.1f} min")
    atomic_write_text(out / "results.json", json.dumps(results, indent=2))
    atomic_write_text(out / "table.md", table(results))
    plot(results, out / "accuracy.png")
    log(table(results))
    atomic_write_text(out / "run.log", "\n".join(lines) + "\n")
    return 0 if math.isfinite(results["elapsed_s"]) else 1


if __name__ == "__main__":
    sys.exit(main())
