"""Short design sweep behind ``config.toml``: one pass over the first 12,000 training
images, accuracy on the last 2,000 training images (held out, never trained on), per
configuration. The test set is not read.

    python experiments/d2nn/sweep.py --data-dir /path/to/data \\
        "lr=0.01,model.learn_temperature=false" "lr=0.01" "lr=0.03"

Each positional argument is one configuration: comma-separated ``key=value``
overrides of ``config.toml`` (``lr=...`` sets the Adam learning rate; default: the
configuration's). Prints one JSON line per configuration: mean training loss, validation
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
from photonn.runs import build_model, load_config
from photonn.training import Trainer

HERE = Path(__file__).resolve().parent


def run_one(spec: str, data, args) -> dict:
    (xtr, ytr), (xval, yval) = data
    sets = [s for s in spec.split(",") if s]
    lr = next((float(s.split("=", 1)[1]) for s in sets if s.startswith("lr=")), None)
    overrides = [f"data.dataset={args.dataset}", f"data.data_dir={args.data_dir}"]
    overrides += [s for s in sets if not s.startswith("lr=")]
    cfg = load_config(HERE / "config.toml", overrides)
    lr = cfg["optimizer"]["lr"] if lr is None else lr
    torch.manual_seed(0)
    model = build_model(cfg, torch.Generator().manual_seed(0))
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=lr),
        generator=torch.Generator().manual_seed(1),
        progress=False,
    )
    t0 = time.perf_counter()
    (row,) = trainer.fit(
        (xtr, ytr),
        epochs=1,
        batch_size=cfg["batch_size"],
        validation=(xval, yval),
        eval_batch_size=250,
        drop_last=True,
    )
    return {
        "config": spec or "(config.toml)",
        "lr": lr,
        "train_loss": round(row["train_loss"], 4),
        "val_accuracy": row["val_accuracy"],
        "temperature": round(float(model.temperature.detach()), 2),
        "time_s": round(time.perf_counter() - t0),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("configs", nargs="*", default=[""], help="comma-separated key=value sets")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    p.add_argument("--data-dir", required=True, help="directory of the IDX files")
    p.add_argument("--train", type=int, default=12000, help="training images (one pass)")
    p.add_argument(
        "--val", type=int, default=2000, help="validation images (the end of the training set)"
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--out",
        type=Path,
        help="also append each configuration's line to this JSON-lines file; "
        "configurations already in it are skipped (the sweep resumes)",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    if args.train + args.val > 60000:
        p.error("--train + --val must not exceed the 60,000 training images")
    xtr, ytr = load(args.data_dir, split="train")
    # settings are chosen on held-out training images, never on the test set
    data = (
        (xtr[: args.train], ytr[: args.train]),
        (xtr[-args.val :], ytr[-args.val :]),
    )
    done = set()
    if args.out is not None and args.out.is_file():
        done = {json.loads(line)["config"] for line in args.out.read_text().splitlines() if line}
    for spec in args.configs:
        if (spec or "(config.toml)") in done:
            continue
        row = run_one(spec, data, args)
        row.update(dataset=args.dataset, n_train=args.train, n_val=args.val)
        print(json.dumps(row), flush=True)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
