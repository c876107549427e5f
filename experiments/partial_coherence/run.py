"""A D2NN trained with coherent light, tested under partially coherent illumination.

A 3-layer phase-only D2NN (THz set-up after Lin et al. 2018, reduced: 64 x 64 neurons
of 0.4 mm, 0.75 mm wavelength, 3 cm spacing) classifies MNIST digits (amplitude
objects of 20 x 20 neurons, 8 mm). The object is lit by a Gaussian beam of 1/e^2
intensity radius w = 8 mm. Training uses the coherent beam (the sigma_g -> infinity
limit of a Gaussian Schell-model source). The trained phases are then tested, unchanged,
under Gaussian Schell-model illumination of the same intensity profile and decreasing
coherence width sigma_g: the illumination is written as coherent modes
(``GaussianSchellSource.modes``), each mode lights the object and passes the network,
and the detectors sum the weighted region energies. Each seed trains its own network.

Run (about 10 minutes on 2 CPU cores, under nice):
    nice -n 15 python experiments/partial_coherence/run.py --data-dir $PHOTONN_TEST_DATA
Writes ``experiments/partial_coherence/results/results.json`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import torch

from photonn import Grid, SamplingWarning
from photonn.data import load_mnist
from photonn.freespace import GaussianSchellSource
from photonn.functional import hermite_gauss
from photonn.models import D2NN
from photonn.units import mm

HERE = Path(__file__).resolve().parent
N, PITCH, WL, DIST, LAYERS, INPUT = 64, 0.4 * mm, 0.75 * mm, 30 * mm, 3, 20
WAIST = 8 * mm
TOLERANCE = 0.02  # fraction of the illumination's power the truncated mode set may omit
SIGMAS_MM = [math.inf, 8.0, 4.0, 2.0, 1.0]


def build(seed: int) -> D2NN:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return D2NN(
            Grid(N, PITCH),
            WL,
            LAYERS,
            DIST,
            input_size=INPUT,
            learn_temperature=True,
            init="uniform",
            generator=torch.Generator().manual_seed(seed),
        )


def illumination(sigma_mm: float):
    """``(fields (M, N, N), weights (M,))`` of the illumination on the network's grid.

    The source is built on a 3x larger grid (so that its highest modes fit) and cropped
    to the network's grid: the crop is part of the linear system the modes pass.
    """
    grid = Grid(N, PITCH)
    if math.isinf(sigma_mm):
        u = hermite_gauss(grid, WL, WAIST, 0, 0)
        return u[None], torch.ones(1), 1
    big = Grid(3 * N, PITCH)
    src = GaussianSchellSource(big, WL, waist=WAIST, coherence_width=sigma_mm * mm)
    fields, weights = src.modes(TOLERANCE)
    c = (3 * N - N) // 2
    return fields[:, c : c + N, c : c + N].contiguous(), weights, src.truncation(TOLERANCE)


def logits(model: D2NN, images: torch.Tensor, fields, weights) -> torch.Tensor:
    """Partially coherent forward pass: every mode lights every object; energies summed."""
    obj = model.input_field(images)  # (B, N, N)
    u = fields[:, None] * obj[None]  # (M, B, N, N)
    for mask, k in zip(model.masks, model.steps):
        u = mask(model.propagators[k](u))
    u = model.propagators[model.steps[-1]](u)
    e = torch.einsum("m,mbk->bk", weights.to(torch.float32), model.detector.energies(u))
    return model.logits(e)


def accuracy(model, images, labels, fields, weights, batch: int) -> float:
    correct = 0
    with torch.no_grad():
        chunk = max(1, batch // fields.shape[0])
        for i in range(0, len(images), chunk):
            out = logits(model, images[i : i + chunk], fields, weights)
            correct += int((out.argmax(-1) == labels[i : i + chunk]).sum())
    return correct / len(images)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--train", type=int, default=6000, help="training images (first n)")
    ap.add_argument("--test", type=int, default=300, help="test images (first n)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    xtr, ytr = load_mnist(args.data_dir, "train")
    xte, yte = load_mnist(args.data_dir, "test")
    xtr, ytr = xtr[: args.train].float() / 255, ytr[: args.train]
    xte, yte = xte[: args.test].float() / 255, yte[: args.test]
    coherent = illumination(math.inf)
    sources = {s: illumination(s) for s in SIGMAS_MM}
    rows = {}
    for seed in args.seeds:
        t0 = time.time()
        model = build(seed)
        opt = torch.optim.Adam(model.parameters(), lr=0.03)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(args.epochs):
            perm = torch.randperm(len(xtr), generator=gen)
            for i in range(0, len(xtr), 64):
                idx = perm[i : i + 64]
                loss = torch.nn.functional.cross_entropy(
                    logits(model, xtr[idx], *coherent[:2]), ytr[idx]
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
        train_s = time.time() - t0
        rows[seed] = {}
        for s, (f, w, _) in sources.items():
            rows[seed][s] = accuracy(model, xte, yte, f, w, 512)
            print(f"seed {seed} sigma_g {s} mm: {rows[seed][s]:.4f}", file=sys.stderr)
        print(f"seed {seed}: trained in {train_s:.0f} s", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = []
    for s in SIGMAS_MM:
        accs = [rows[seed][s] for seed in args.seeds]
        mean = sum(accs) / len(accs)
        sd = math.sqrt(sum((a - mean) ** 2 for a in accs) / max(1, len(accs) - 1))
        t = sources[s][2]
        modes = 1 if t == 1 else t.num_modes
        omitted = 0.0 if t == 1 else t.omitted
        summary.append(
            {
                "sigma_g_mm": s,
                "modes": modes,
                "omitted": omitted,
                "accs": accs,
                "mean": mean,
                "std": sd,
            }
        )
    meta = {
        "grid": [N, N],
        "pitch_m": PITCH,
        "wavelength_m": WL,
        "distance_m": DIST,
        "layers": LAYERS,
        "input_size": INPUT,
        "waist_m": WAIST,
        "tolerance": TOLERANCE,
        "train_images": args.train,
        "test_images": args.test,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "batch_size": 64,
        "lr": 0.03,
        "optimizer": "adam",
    }
    (args.out / "results.json").write_text(
        json.dumps({"setup": meta, "results": summary}, indent=1)
    )
    lines = [
        "| sigma_g [mm] | sigma_g / w | modes M | power omitted | test accuracy, mean +- sd "
        f"({len(args.seeds)} seeds) | per seed |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary:
        s = r["sigma_g_mm"]
        lines.append(
            f"| {'inf (coherent)' if math.isinf(s) else s} | "
            f"{'inf' if math.isinf(s) else f'{s / (WAIST / mm):.3g}'} | {r['modes']} | "
            f"{r['omitted']:.3g} | {100 * r['mean']:.1f} +- {100 * r['std']:.1f} % | "
            + ", ".join(f"{100 * a:.1f}" for a in r["accs"])
            + " |"
        )
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
