"""Pilot runs that chose the recipe of experiments/relax on the validation split (never test).

    python experiments/relax/pilots/pilot.py CONFIG NAME key=value ... [-- key=value ...]

Each argument group after the config is one pilot point (``--set`` overrides); the
run directory is experiments/relax/pilots/runs/NAME/<i>, and one line per point
(its overrides, best validation metric and epoch, wall time) is appended to
experiments/relax/pilots/pilots.jsonl. Test results are written by the run layer
but not used to choose anything.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from photonn.runs import load_config, train_run

HERE = Path(__file__).resolve().parent


def main(argv):
    torch.set_num_threads(1)
    config, name, rest = argv[0], argv[1], argv[2:]
    groups, cur = [], []
    for a in rest:
        if a == "--":
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    for i, overrides in enumerate(groups):
        run_dir = HERE / "runs" / name / str(i)
        if (run_dir / "results.json").is_file():
            continue
        cfg = load_config(config, overrides)
        metric = cfg["keep_best"] or "val_loss"
        t0 = time.time()
        trainer = train_run(cfg, run_dir)
        rows = trainer.history
        pick = min if metric.endswith("loss") else max
        best = pick(rows, key=lambda r: r[metric])
        line = {
            "pilot": name,
            "config": str(config),
            "overrides": overrides,
            "metric": metric,
            "best": best[metric],
            "best_epoch": best["epoch"],
            "curve": [round(r[metric], 4) for r in rows],
            "wall_s": round(time.time() - t0, 1),
        }
        print(json.dumps(line), flush=True)
        with open(HERE / "pilots.jsonl", "a") as fh:
            fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
