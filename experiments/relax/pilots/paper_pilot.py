"""Time per step of one point of the study under the paper's reading (a few hundred steps).

    python experiments/relax/pilots/paper_pilot.py CONFIG STEPS [--set-style overrides...]

Prints one JSON line (``paper_pilot.jsonl`` holds those of the README's estimate): the
seconds per training step (over ``STEPS`` steps of the configuration's batch, one
validation pass included), the steps of one epoch of the whole training split, and one
validation pass. One thread, like every run of the study.
"""

import json
import sys
import tempfile
import time

import torch

from photonn.runs import load_config
from photonn.runs.run import load_data, make_trainer

torch.set_num_threads(1)
cfgfile, steps, *sets = sys.argv[1:]
steps = int(steps)
cfg = load_config(cfgfile, sets)
data = load_data(cfg)
bs = cfg["batch_size"]
n = steps * bs
with tempfile.TemporaryDirectory() as tmp:
    tr = make_trainer(cfg, tmp, data)
    x, y = data.train[0][:n], data.train[1][:n]
    t0 = time.perf_counter()
    tr.fit(
        (x, y),
        epochs=1,
        batch_size=bs,
        validation=data.validation,
        eval_batch_size=cfg["eval_batch_size"],
    )
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    tr.evaluate(data.validation, batch_size=cfg["eval_batch_size"], progress=False)
    de = time.perf_counter() - t1
spe = -(-data.train[0].shape[0] // bs)
print(
    json.dumps(
        {
            "config": cfgfile,
            "sets": sets,
            "steps": steps,
            "s_per_step": dt / steps,
            "steps_per_epoch": spe,
            "train_s_per_epoch": dt / steps * spe,
            "val_eval_s": de,
            "train_samples": int(data.train[0].shape[0]),
            "validation_samples": int(data.validation[0].shape[0]),
            "test_samples": int(data.test[0].shape[0]),
        }
    ),
    flush=True,
)
