"""Short design sweep behind ``config.toml``: one pass over the first 12,000 training
images, test accuracy on the first 2,000 test images, per configuration.

    python experiments/d2nn/sweep.py --data-dir /path/to/data \\
        "lr=0.01,model.learn_temperature=false" "lr=0.01" "lr=0.03"

Each positional argument is one configuration: comma-separated ``key=value``
overrides of ``config.toml`` (``lr=...`` sets the Adam learning rate; default: the
configuration's). Prints one JSON line per configuration: mean training loss, test
accuracy, the temperature at the end and the training time [s]. Seeded: a
configuration reproduces.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from photonn.data import load_fashion_mnist, load_mnist
from photonn.training.config import load_config
from photonn.training.run import build_model

HERE = Path(__file__).resolve().parent


def run_one(spec: str, data, args) -> dict:
    xtr, ytr, xte, yte = data
    sets = [s for s in spec.split(",") if s]
    lr = next((float(s.split("=", 1)[1]) for s in sets if s.startswith("lr=")), None)
    overrides = [f"data.dataset={args.dataset}", f"data.data_dir={args.data_dir}"]
    overrides += [s for s in sets if not s.startswith("lr=")]
    cfg = load_config(HERE / "config.toml", overrides)
    lr = cfg["optimizer"]["lr"] if lr is None else lr
    torch.manual_seed(0)
    model = build_model(cfg, torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    perm = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(1))
    bs, total, steps = cfg["batch_size"], 0.0, 0
    t0 = time.perf_counter()
    for i in range(0, len(ytr) - bs + 1, bs):
        idx = perm[i : i + bs]
        loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total, steps = total + loss.item(), steps + 1
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        correct = sum(
            (model(xte[i : i + 250]).argmax(-1) == yte[i : i + 250]).sum().item()
            for i in range(0, len(yte), 250)
        )
    return {
        "config": spec or "(config.toml)",
        "lr": lr,
        "train_loss": round(total / steps, 4),
        "test_accuracy": correct / len(yte),
        "temperature": round(float(model.temperature.detach()), 2),
        "time_s": round(elapsed),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("configs", nargs="*", default=[""], help="comma-separated key=value sets")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    p.add_argument("--data-dir", required=True, help="directory of the IDX files")
    p.add_argument("--train", type=int, default=12000, help="training images (one pass)")
    p.add_argument("--test", type=int, default=2000, help="test images")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    xtr, ytr = load(args.data_dir, split="train")
    xte, yte = load(args.data_dir, split="test")
    data = (
        xtr[: args.train].float() / 255,
        ytr[: args.train],
        xte[: args.test].float() / 255,
        yte[: args.test],
    )
    for spec in args.configs:
        print(json.dumps(run_one(spec, data, args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
