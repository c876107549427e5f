"""Escaping activations and the stable training of high-degree polynomial networks.

(a) Garimella et al. 2021: a deep ReLU MLP is trained, then every ReLU is
    replaced by a least-squares polynomial fit of ReLU on [-B, B]; the
    per-layer growth of the pre-activations and the NaN/Inf count against depth
    are measured on the test set and plotted.
(b) Hossain & Rahman 2025: MLP [256,128,64,32,16] and a small ResNet on MNIST
    and Fashion-MNIST with polynomial ReLU fits of degree 2..22, each trained
    with and without the framework (boundary loss lambda = 10 with bound B_pen,
    selective gradient clipping at 1.0), against a ReLU baseline.

One command: ``python experiments/poly_stability/run.py`` (see README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from photonn._io import atomic_write_text
from photonn.activations import (
    ActivationMonitor,
    BoundaryLoss,
    EscapingActivationError,
    fit_polynomial,
)
from photonn.activations import PolynomialActivation as PolyAct
from photonn.data import load_fashion_mnist, load_mnist
from photonn.training import NonFiniteLossError, SelectiveGradClip, Trainer

HERE = Path(__file__).resolve().parent
# degree -> (B: fit range [-B, B], B_pen: penalty bound), Hossain & Rahman 2025
BOUNDS = {2: (12.0, 12.0), 4: (20.0, 15.0), 8: (35.0, 17.5), 16: (40.0, 20.0), 22: (47.0, 23.5)}
STATS = {"mnist": (0.1307, 0.3081), "fashion": (0.2860, 0.3530)}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load(dataset: str, root: Path, split: str):
    loader = load_mnist if dataset == "mnist" else load_fashion_mnist
    x, y = loader(root, split)
    mean, std = STATS[dataset]
    return ((x.to(torch.float32) / 255.0 - mean) / std).unsqueeze(1), y


def relu_poly(degree: int, *, trainable: bool = False):
    b, b_pen = BOUNDS[degree]
    return fit_polynomial(
        torch.relu,
        degree,
        (-b, b),
        method="lsq",
        bound=b_pen,
        trainable=trainable,
        dtype=torch.float32,
    )


def make_act(kind):
    return nn.ReLU() if kind == "relu" else relu_poly(kind)


class MLP(nn.Module):
    def __init__(self, act, widths=(256, 128, 64, 32, 16), norm=True, n_in=784):
        super().__init__()
        layers, prev = [nn.Flatten()], n_in
        for w in widths:
            layers += [nn.Linear(prev, w)] + ([nn.BatchNorm1d(w)] if norm else []) + [act()]
            prev = w
        layers.append(nn.Linear(prev, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, act):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.a1 = act()
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )
        self.a2 = act()

    def forward(self, x):
        return self.a2(self.b2(self.c2(self.a1(self.b1(self.c1(x))))) + self.short(x))


class SmallResNet(nn.Module):
    """ResNet-8-like: stem + 3 basic blocks (8, 16, 32 channels), average pool (HE-friendly)."""

    def __init__(self, act, widths=(8, 16, 32)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), act()
        )
        blocks, prev = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(Block(prev, w, 1 if i == 0 else 2, act))
            prev = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(prev, 10)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


@torch.no_grad()
def lsuv_(model, xb, target_std):
    """Data-dependent init without normalisation layers (LSUV, Mishkin & Matas 2016):
    rescale each hidden Linear so that its pre-activations have std ``target_std``."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)][:-1]
    for lin in linears:
        seen = []
        h = lin.register_forward_hook(lambda m, a, o, s=seen: s.append(o))
        model(xb)
        h.remove()
        scale = target_std / seen[0].std().item()
        lin.weight.mul_(scale)
        lin.bias.mul_(scale)


@torch.no_grad()
def accuracy(model, x, y, batch=1000, *, with_nonfinite=False):
    """Test accuracy [%] (a sample whose logits are not all finite counts as wrong).

    ``photonn.training.evaluate`` would count an argmax over NaN logits as a guess;
    the escaping networks of part (a) need the NaN samples counted as errors and
    reported, hence this metric.
    """
    model.eval()
    correct = bad = 0
    for i in range(0, len(x), batch):
        out = model(x[i : i + batch])
        ok = torch.isfinite(out).all(dim=1)
        correct += ((out.argmax(1) == y[i : i + batch]) & ok).sum().item()
        bad += (~ok).sum().item()
    model.train()
    acc = 100.0 * correct / len(x)
    return (acc, 100.0 * bad / len(x)) if with_nonfinite else acc


class PeakRatio:
    """Callback: the largest max |x| / B_pen of any polynomial layer, from the monitor's
    per-batch metrics (``act/<layer>.max_abs``)."""

    def __init__(self, model):
        self.model = model
        self.peak = 0.0

    def update(self, metrics):
        ratios = [
            v / self.model.get_submodule(k[4:-8]).bound
            for k, v in metrics.items()
            if k.endswith(".max_abs")
        ]
        self.peak = max([self.peak] + [r for r in ratios if math.isfinite(r)])

    def on_batch_end(self, step, model, metrics):
        self.update(metrics)


def train_run(arch, dataset, kind, framework, data, args, seed=0, val=None):
    """One training run; returns its record (accuracy or the step of the first NaN).

    Trained by ``photonn.training.Trainer``: AdamW, weights initialised after
    ``torch.manual_seed(seed)``, shuffling from a generator seeded with ``seed + 1``
    (seed 0: the recorded runs), full batches only (``drop_last``); ``val``, a pair of
    held-out training inputs and labels, is scored on the final model (no selection).
    With the framework, the boundary loss is a regularizer (``BoundaryLoss``, hooks
    on the polynomial layers) and the selective clipping the trainer's ``grad_clip``.
    A non-finite loss or gradient stops the trainer before the optimizer step;
    ``nan_step`` is the number of steps completed before it.
    """
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = data
    if arch == "resnet":
        model = SmallResNet(lambda: make_act(kind))
    else:
        model = MLP(lambda: make_act(kind), norm=arch == "mlp")
    poly = kind != "relu"
    gamma = args.resnet_gamma_scale if arch == "resnet" else args.gamma_scale
    if poly and gamma > 0:
        # match the pre-activation scale to the polynomial's range: BN weight B_pen * gamma,
        # so that the largest input of a batch at initialisation is about B_pen
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.constant_(m.weight, BOUNDS[kind][1] * gamma)
    if poly and arch == "mlp_nobn":
        lsuv_(model, xtr[: args.batch_size], BOUNDS[kind][1] * args.gamma_scale)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    monitor = ActivationMonitor(model, raise_on_escape=False) if poly else None
    peak = PeakRatio(model)
    framework = bool(poly and framework)
    trainer = Trainer(
        model,
        opt,
        generator=torch.Generator().manual_seed(seed + 1),
        regularizers={"boundary": (args.lam, BoundaryLoss(model, cap=args.cap))}
        if framework
        else None,
        grad_clip=SelectiveGradClip(args.clip) if framework else None,
        callbacks=[monitor, peak] if monitor is not None else [],
        progress=False,
    )
    epochs = args.resnet_epochs if arch == "resnet" else args.epochs
    nan_step = None
    t0 = time.perf_counter()
    try:
        trainer.fit((xtr, ytr), epochs=epochs, batch_size=args.batch_size, drop_last=True)
    except NonFiniteLossError as err:
        nan_step = err.step - 1
        if monitor is not None:  # the statistics of the batch that failed
            metrics = {}
            monitor.on_batch_end(err.step, model, metrics)
            peak.update(metrics)
    train_s = time.perf_counter() - t0
    acc, bad = accuracy(model, xte, yte, with_nonfinite=True)
    val_acc = accuracy(model, *val) if val is not None and nan_step is None else None
    if monitor is not None:
        monitor.remove()
    return {
        "seed": seed,
        "val_acc": val_acc,
        "arch": arch,
        "dataset": dataset,
        "act": "relu" if kind == "relu" else f"poly{kind}",
        "framework": framework,
        "steps": trainer.step,
        "nan_step": nan_step,
        "test_acc": None if nan_step is not None else acc,
        "test_nonfinite_pct": bad,
        "peak_maxabs_over_bpen": peak.peak if poly else None,
        "train_seconds": round(train_s, 1),
    }


def part_b(args):
    path = args.out / "results_b.json"
    records = json.loads(path.read_text()) if path.exists() and not args.fresh else []
    done = {(r["arch"], r["dataset"], r["act"], r["framework"], r.get("seed", 0)) for r in records}
    for dataset in args.datasets:
        tr = load(dataset, args.data, "train")
        te = load(dataset, args.data, "test")
        if args.val:  # held out: the last --val training images, never trained on
            val = (tr[0][-args.val :], tr[1][-args.val :])
            tr = (tr[0][: -args.val], tr[1][: -args.val])
        for arch in args.archs:
            ntr = args.resnet_train if arch == "resnet" else args.mlp_train
            ntr = min(ntr, len(tr[1]))
            nte = args.resnet_test if arch == "resnet" else args.mlp_test
            data = ((tr[0][:ntr], tr[1][:ntr]), (te[0][:nte], te[1][:nte]))
            runs = [("relu", False)] + [(d, f) for d in args.degrees for f in (True, False)]
            runs = [r for r in runs if r[1] or not args.framework_only]
            for seed in args.seeds:
                for kind, fw in runs:
                    key = (arch, dataset, "relu" if kind == "relu" else f"poly{kind}", fw, seed)
                    if key in done:
                        continue
                    rec = train_run(
                        arch, dataset, kind, fw, data, args, seed, val if args.val else None
                    )
                    rec.update(
                        n_train=ntr,
                        n_val=args.val,
                        n_test=nte,
                        epochs=args.resnet_epochs if arch == "resnet" else args.epochs,
                    )
                    log(json.dumps(rec))
                    records.append(rec)
                    atomic_write_text(path, json.dumps(records, indent=1))
    write_table_b(records, args.out / "results_b.md")


def _cell(r):
    if r is None:
        return "-"
    if r["nan_step"] is not None:
        return f"NaN at step {r['nan_step']}"
    bad = r.get("test_nonfinite_pct") or 0.0
    return f"{r['test_acc']:.2f}" + (f" ({bad:.0f} % NaN at test)" if bad else "")


def write_table_b(records, path):
    # one table per seed: the first seed's records (seed 0 in the recorded runs)
    first = min((r.get("seed", 0) for r in records), default=0)
    index = {
        (r["arch"], r["dataset"], r["act"], r["framework"]): r
        for r in records
        if r.get("seed", 0) == first
    }
    lines = []
    names = {
        "mlp": "MLP",
        "mlp_nobn": "MLP without BatchNorm, LSUV init (stress test)",
        "resnet": "ResNet",
    }
    for arch in ("mlp", "resnet", "mlp_nobn"):
        for ds in ("mnist", "fashion"):
            relu = index.get((arch, ds, "relu", False))
            if relu is None:
                continue
            lines.append(
                f"\n### {names[arch]} on {'MNIST' if ds == 'mnist' else 'Fashion-MNIST'}"
                f" (ReLU baseline {relu['test_acc']:.2f} %)\n"
            )
            lines.append(
                "| degree | (B, B_pen) | with framework | without | "
                "peak max abs x / B_pen, with / without | gap to ReLU (with) |"
            )
            lines.append("|---|---|---|---|---|---|")
            for d, (b, bp) in BOUNDS.items():
                w = index.get((arch, ds, f"poly{d}", True))
                wo = index.get((arch, ds, f"poly{d}", False))
                if w is None and wo is None:
                    continue
                gap = (
                    f"{w['test_acc'] - relu['test_acc']:+.2f}"
                    if w and w["test_acc"] is not None
                    else "-"
                )
                pk = " / ".join(f"{r['peak_maxabs_over_bpen']:.2g}" if r else "-" for r in (w, wo))
                lines.append(f"| {d} | ({b:g}, {bp:g}) | {_cell(w)} | {_cell(wo)} | {pk} | {gap} |")
    atomic_write_text(path, "\n".join(lines).lstrip() + "\n")
    log(f"wrote {path}")


def part_a(args):
    """Train a deep ReLU MLP, swap ReLU for LSQ polynomial fits, measure per-layer growth."""
    torch.manual_seed(0)
    xtr, ytr = load("mnist", args.data, "train")
    xte, yte = load("mnist", args.data, "test")
    depth = args.a_depth
    model = MLP(nn.ReLU, widths=(args.a_width,) * depth, norm=False)
    # one pass over the first a_train samples of a shuffled epoch (batches of 128)
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-3),
        generator=torch.Generator().manual_seed(2),
        progress=False,
    )
    trainer.fit((xtr, ytr), epochs=1, batch_size=128, drop_last=True, max_steps=args.a_train // 128)
    relu_acc = accuracy(model, xte, yte)
    # calibration: pre-activation magnitudes on training data fix the fit range
    linears = [m for m in model.net if isinstance(m, nn.Linear)][:-1]
    pre = []
    hooks = [lin.register_forward_hook(lambda m, a, o: pre.append(o.detach())) for lin in linears]
    with torch.no_grad():
        model(xtr[:2000])
    for h in hooks:
        h.remove()
    allpre = torch.cat([p.reshape(-1) for p in pre]).abs()
    b_fit = float(torch.quantile(allpre[:: max(1, allpre.numel() // 1_000_000)], 0.99))
    log(f"(a) ReLU MLP depth {depth}: test acc {relu_acc:.2f} %, fit range B = {b_fit:.3g}")
    result = {
        "depth": depth,
        "width": args.a_width,
        "relu_acc": relu_acc,
        "B": b_fit,
        "train_samples": args.a_train,
        "degrees": {},
    }
    for kind in ["relu"] + list(args.a_degrees):
        probe = _clone_with(model, kind, b_fit)
        per_layer, nonfinite = [], []
        stats = []
        acts = [m for m in probe.net if not isinstance(m, (nn.Linear, nn.Flatten))]
        hooks = [
            m.register_forward_pre_hook(lambda m, a, s=stats: s.append(a[0].detach())) for m in acts
        ]
        with torch.no_grad():
            out = probe(xte)
        for h in hooks:
            h.remove()
        for s in stats:
            fin = torch.isfinite(s)
            per_layer.append(float(torch.where(fin, s.abs(), 0).amax()))
            # a sample is lost at this layer when any of its pre-activations is NaN/Inf
            nonfinite.append(float((~fin).any(dim=1).float().mean()))
        ok = torch.isfinite(out).all(dim=1)
        acc = float(((out.argmax(1) == yte) & ok).float().mean() * 100)
        fit = None if kind == "relu" else relu_poly_fixed(kind, b_fit).max_error
        stop = None
        if kind != "relu":
            # the monitor, raising in the forward pass at 4 x the fit range
            names = [f"net.{i}" for i, m in enumerate(probe.net) if isinstance(m, PolyAct)]
            mon = ActivationMonitor(probe, check_in_forward=True)
            try:
                with torch.no_grad():
                    probe(xte)
            except EscapingActivationError as err:
                stop = {"layer": names.index(err.layer) + 1, "message": str(err)}
            mon.remove()
        first_nan = next((i + 1 for i, v in enumerate(nonfinite) if v > 0), None)
        result["degrees"][str(kind)] = {
            "max_abs": per_layer,
            "frac_nonfinite": nonfinite,
            "acc": acc,
            "fit_max_error": fit,
            "monitor_stop": stop,
            "first_nonfinite_layer": first_nan,
        }
        log(
            f"(a) {kind}: acc {acc:.2f} %, max|x| per layer "
            + " ".join(f"{v:.3g}" for v in per_layer)
            + f"; first NaN/Inf at layer {first_nan}; monitor stop: {stop}"
        )
    atomic_write_text(args.out / "results_a.json", json.dumps(result, indent=1))
    plot_a(result, args.out / "escaping_activations.png")


def relu_poly_fixed(degree, b):
    return fit_polynomial(
        torch.relu, degree, (-b, b), method="lsq", trainable=False, dtype=torch.float32
    )


def _clone_with(model, kind, b):
    import copy

    probe = copy.deepcopy(model)
    if kind != "relu":
        for i, m in enumerate(probe.net):
            if isinstance(m, nn.ReLU):
                probe.net[i] = relu_poly_fixed(kind, b)
    probe.eval()
    return probe


def plot_a(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for kind, r in result["degrees"].items():
        layers = list(range(1, len(r["max_abs"]) + 1))
        label = "ReLU" if kind == "relu" else f"degree {kind}"
        ax1.semilogy(layers, [max(v, 1e-3) for v in r["max_abs"]], "o-", label=label)
        ax2.plot(layers, [100 * v for v in r["frac_nonfinite"]], "o-", label=label)
    ax1.axhline(result["B"], color="k", ls="--", lw=1, label="fit range B")
    ax1.set(
        xlabel="layer (depth)",
        ylabel="max |pre-activation| (finite values)",
        title="Escaping activations (test set)",
    )
    ax2.set(
        xlabel="layer (depth)",
        ylabel="test samples with NaN/Inf [%]",
        title="Non-finite values vs depth",
    )
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    log(f"wrote {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=["a", "b", "all"], default="all")
    p.add_argument("--data", type=Path, default=HERE.parents[1].parent / "shared" / "data")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--fresh", action="store_true", help="ignore earlier results of part b")
    p.add_argument("--epochs", type=int, default=3, help="epochs of the MLP runs")
    p.add_argument("--resnet-epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lam", type=float, default=10.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--cap",
        type=float,
        default=None,
        help="boundary-loss exponent cap (linear beyond; default: the exact formula)",
    )
    p.add_argument(
        "--gamma-scale",
        type=float,
        default=0.25,
        help="initial BatchNorm weight of polynomial MLP runs, as a fraction of B_pen (0: 1)",
    )
    p.add_argument(
        "--resnet-gamma-scale",
        type=float,
        default=1 / 7,
        help="the same for the ResNet (more elements per batch: larger extremes)",
    )
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--degrees", type=int, nargs="+", default=list(BOUNDS))
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion"])
    p.add_argument("--archs", nargs="+", default=["mlp", "resnet", "mlp_nobn"])
    p.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="seeds of part b (0: the recorded runs)"
    )
    p.add_argument(
        "--val",
        type=int,
        default=0,
        help="part b: hold out the last VAL training images and score the final model on them",
    )
    p.add_argument(
        "--framework-only",
        action="store_true",
        help="part b: the ReLU baseline and the runs with the framework only",
    )
    p.add_argument("--mlp-train", type=int, default=60000)
    p.add_argument("--mlp-test", type=int, default=10000)
    p.add_argument("--resnet-train", type=int, default=10000)
    p.add_argument("--resnet-test", type=int, default=2000)
    p.add_argument("--a-depth", type=int, default=12)
    p.add_argument("--a-width", type=int, default=128)
    p.add_argument("--a-train", type=int, default=60000)
    p.add_argument("--a-degrees", type=int, nargs="+", default=[2, 4, 8, 16])
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log(f"args: {vars(args)}")
    if args.part in ("a", "all"):
        part_a(args)
    if args.part in ("b", "all"):
        part_b(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
