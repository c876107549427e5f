"""Distributed benchmark: data-parallel scaling of a training step at 1 and 2 processes (gloo,
CPU), for the D2NN and the multivariate model, and the expected curve on GPUs.

Workloads, built by the run layer exactly as ``photonn train`` builds them
(:func:`photonn.runs.build_model`, :class:`photonn.training.Trainer` with Adam):

* ``d2nn``: the model of ``experiments/d2nn``: 100 x 100 neurons, 5 phase layers,
  3 cm spacing, band-limited ASM on a 200 x 200 FFT grid, complex64;
* ``multivariate``: ``model.kind = "multivariate"`` (Savinson et al. 2025), 14 x 14
  inputs (N = 196), one replica, 10 classes, the Neumann solver, complex64;

both on the embedded MNIST subset, global batch 32.

Protocol: each configuration is a fresh ``torchrun --standalone --nproc-per-node W
-m benchmarks.distributed --worker ...`` launch, every process on one torch thread
(torchrun sets ``OMP_NUM_THREADS=1``; the worker also sets one thread). The
1-process launch trains without DDP (a process group of one is a single process to
the trainer), as ``photonn train`` would. The worker trains ``--warmup`` steps, then
times ``--steps`` optimizer steps (wall time between consecutive ``on_batch_end``
callbacks of rank 0: data slicing, forward, backward with DDP's gradient
all-reduce, the step's metric all-reduce, the optimizer step). With 2 processes it
also times a bare ``all_reduce`` of a float32 tensor of the gradient's size (the
communication alone). The configurations are launched in turn, ``--repeats``
rounds (interleaved, so that a change in the machine's load hits all alike), and
the median over rounds of each launch's median step is reported.

* strong scaling: the global batch stays 32 (16 per rank at 2 processes), as
  ``photonn train`` keeps it: speedup ``t1 / t2``, efficiency ``t1 / (2 t2)``;
* weak scaling: 32 per rank (global 64 at 2 processes): efficiency
  ``t1(32) / t2(64)``.

A CPU prediction from the same model as the GPU curve (no overlap of compute and
communication): ``t2 = t1 / 2 + t_allreduce``.

The expected GPU curve: the calculation of ``docs/distributed.md`` (section
"Communication against compute"), for a 5-layer 1024^2 D2NN (2x padded, 2048^2
FFTs), from the memory traffic of a step on an A100-class GPU and the ring
all-reduce of its 21 MB gradient over NVLink, PCIe and a 100 Gb/s network, at
1, 2, 4 and 8 GPUs: printed by :func:`gpu_curve` from the constants below.

Run: ``python -m benchmarks.distributed [--repeats 3] [--steps 20]`` (or ``python
-m benchmarks --only distributed``; ``--quick`` for a smoke run on tiny models).
Writes ``benchmarks/results/distributed.md`` (``--out DIR`` elsewhere). On a
machine shared with other jobs, two processes compete with them for the two
cores: the header records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks._report import REPO, Run, add_output_argument
from benchmarks._timing import positive_int, table

NAME = "distributed"
REPEATS = 3
STEPS = 20
WARMUP = 3
BATCH = 32

WORKLOADS = {
    "d2nn": {
        "model": {
            "kind": "d2nn",
            "size": 100,
            "num_layers": 5,
            "distance_m": 0.03,
            "method": "bl-asm",
            "pad_factor": 2.0,
            "input_size": 50,
            "detector_size": 10,
        }
    },
    "multivariate": {"model": {"kind": "multivariate", "image_size": 14, "replicas": 1}},
}
QUICK = {
    "d2nn": {"model": {"size": 24, "input_size": 12, "detector_size": 2, "distance_m": 0.005}},
    "multivariate": {"model": {"image_size": 7}},
}

# -- the expected GPU curve (docs/distributed.md, "Communication against compute") --------
GPU = {
    "n": 1024,  # neurons per side
    "layers": 5,  # phase layers: 6 propagations (input -> L1 ... L5 -> detector)
    "pad": 2,  # 2048^2 FFTs
    "hbm_bytes_per_s": 1.3e12,  # effective HBM bandwidth of an A100-class GPU (1.55-2.0 peak)
    "fft_passes": 4,  # a 2-D FFT reads and writes its array twice (two 1-D passes)
}
LINKS = {  # effective all-reduce bus bandwidth [B/s] and per-call latency [s]
    "NVLink/NVSwitch": (200e9, 30e-6),
    "PCIe 4.0": (12e9, 50e-6),
    "100 Gb/s network": (10e9, 100e-6),
}


def gpu_step_model(batch_per_gpu: int, g=GPU) -> dict:
    """Bytes moved and time of one training step of the 1024^2 D2NN on one GPU.

    Per propagation and sample (complex64, ``F = (pad n)^2`` samples of 8 B, the
    field ``n^2``): pad (write F, read n^2), FFT (``fft_passes`` x F), multiply by H
    (read 2F, write F), inverse FFT, crop (read and write n^2), the mask
    ``exp(i phi)`` (read 2 n^2, write n^2). Backward: the same again (the adjoint
    propagation) plus the mask gradient (about 3 n^2): a step is about 2.1 x the
    forward. The step is memory bound: its 24 FFTs of 2^22 points per sample
    (``5 N log2 N`` = 0.46 GFLOP each, 11 GFLOP in all) take 0.6 ms at the 19.5
    TFLOP/s float32 peak, against 4.4 ms for its 5.7 GB of memory traffic.
    """
    n2 = g["n"] ** 2 * 8
    big = (g["pad"] * g["n"]) ** 2 * 8
    per_prop = (big + n2) + 2 * g["fft_passes"] * big + 3 * big + 2 * n2 + 3 * n2
    forward = (g["layers"] + 1) * per_prop
    step_bytes = forward * 2.1 * batch_per_gpu
    return {"bytes": step_bytes, "seconds": step_bytes / g["hbm_bytes_per_s"]}


def gradient_bytes(g=GPU) -> int:
    """float32 phases of every layer, plus the learnt temperature."""
    return 4 * (g["layers"] * g["n"] ** 2 + 1)


def allreduce_seconds(nbytes: float, world: int, link) -> float:
    """Ring all-reduce: ``2 (W - 1) / W`` of the bytes through the slowest link, 2 (W - 1)
    latencies."""
    if world == 1:
        return 0.0
    bw, lat = link
    return 2 * (world - 1) / world * nbytes / bw + 2 * (world - 1) * lat


def gpu_curve(global_batch: int, worlds=(1, 2, 4, 8)) -> list[list]:
    """Rows: GPUs, link, compute ms, all-reduce ms, step ms, speedup, efficiency (no
    overlap of the gradient all-reduce with the backward pass)."""
    rows = []
    t1 = gpu_step_model(global_batch)["seconds"]
    grad = gradient_bytes()
    for w in worlds:
        links = {"-": (1.0, 0.0)} if w == 1 else LINKS
        for name, link in links.items():
            comp = gpu_step_model(global_batch / w)["seconds"]
            comm = allreduce_seconds(grad, w, link)
            step = comp + comm
            rows.append(
                [
                    w,
                    name,
                    f"{1e3 * comp:.1f}",
                    f"{1e3 * comm:.2f}",
                    f"{1e3 * step:.1f}",
                    f"{t1 / step:.2f}",
                    f"{t1 / (w * step):.1%}",
                ]
            )
    return rows


# -- the worker (under torchrun) ---------------------------------------------------------
class _Clock:
    """Wall time and this process's CPU time at the end of every step."""

    def __init__(self):
        self.marks, self.cpu = [], []

    def on_batch_end(self, step, model, metrics):
        self.marks.append(time.perf_counter())
        self.cpu.append(time.process_time())


def worker(name: str, batch: int, steps: int, warmup: int, quick: bool, out: str) -> None:
    from photonn.runs import build_model, loss_function, resolve_config
    from photonn.runs.run import load_data
    from photonn.training import Trainer, distributed

    torch.set_num_threads(1)
    info = distributed.init_from_env("cpu")
    try:
        update = json.loads(json.dumps(WORKLOADS[name]))
        if quick:
            update["model"].update(QUICK[name]["model"])
        world = info.world_size if info else 1
        total = (steps + warmup + 2) * batch
        update.update(
            batch_size=batch,
            keep_best="",
            progress=False,
            data={"validation": 0, "train_limit": total, "test_limit": 16},
        )
        cfg = resolve_config(update)
        data = load_data(cfg)
        torch.manual_seed(cfg["seed"])
        model = build_model(cfg, torch.Generator().manual_seed(cfg["seed"]))
        clock = _Clock()
        trainer = Trainer(
            model,
            torch.optim.Adam(model.parameters(), lr=0.01),
            generator=torch.Generator().manual_seed(1),
            loss_fn=loss_function(cfg),
            callbacks=[clock],
            progress=False,
        )
        trainer.fit(data.train, epochs=1, batch_size=batch, max_steps=warmup + steps)
        dt = [b - a for a, b in zip(clock.marks[warmup - 1 :], clock.marks[warmup:])]
        cpu = [b - a for a, b in zip(clock.cpu[warmup - 1 :], clock.cpu[warmup:])]
        result = {
            "workload": name,
            "world": world,
            "batch": batch,
            "mode": trainer.plan.mode,
            "step_s": statistics.median(dt),
            "steps": len(dt),
            "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            # CPU time per step of every rank: the work, whatever share of a core it got
            "cpu_s": distributed.gather_objects(statistics.median(cpu)),
        }
        if world > 1:  # the gradient's all-reduce alone
            flat = torch.zeros(result["params"], dtype=torch.float32)
            times = []
            for _ in range(25):
                distributed.barrier()
                t0 = time.perf_counter()
                distributed.all_reduce_sum(flat)
                times.append(time.perf_counter() - t0)
            result["allreduce_s"] = statistics.median(times[5:])
        if distributed.is_main():
            Path(out).write_text(json.dumps(result))
    finally:
        distributed.shutdown()


def launch(name, world, batch, args, tmp: Path) -> dict:
    out = tmp / f"{name}-{world}-{batch}.json"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [
        str(torchrun),
        "--standalone",
        f"--nproc-per-node={world}",
        "-m",
        "benchmarks.distributed",
        "--worker",
        name,
        "--batch",
        str(batch),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--json",
        str(out),
    ]
    if args.quick:
        cmd.append("--quick")
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return json.loads(out.read_text())


def _log(msg: str) -> None:
    print(f"[distributed] {msg}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=positive_int, help=f"rounds of launches (default {REPEATS})")
    ap.add_argument("--steps", type=positive_int, help=f"timed steps per launch ({STEPS})")
    ap.add_argument("--warmup", type=positive_int, default=WARMUP, help="untimed steps first")
    ap.add_argument("--only", nargs="+", choices=tuple(WORKLOADS), default=list(WORKLOADS))
    ap.add_argument("--quick", action="store_true", help="tiny models, 3 steps, 1 round")
    ap.add_argument("--device", choices=("cpu",), default="cpu", help="CPU (gloo) only")
    ap.add_argument("--threads", type=int, help=argparse.SUPPRESS)  # always 1 per process
    ap.add_argument("--worker", choices=tuple(WORKLOADS), help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=positive_int, default=BATCH, help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else STEPS)
    if args.worker:
        worker(args.worker, args.batch, args.steps, args.warmup, args.quick, args.json)
        return 0
    if args.threads not in (None, 1):
        ap.error("the distributed benchmark runs one torch thread per process")
    repeats = args.repeats or (1 if args.quick else REPEATS)
    torch.set_num_threads(1)
    run = Run(
        NAME,
        "Data-parallel scaling (torch.distributed, gloo on CPU)"
        + (" (--quick smoke run)" if args.quick else ""),
        argv,
        "cpu",
        repeats,
        1 if args.quick else REPEATS,
    )
    run.notes.append(
        f"each launch: torchrun --standalone, one torch thread per process, {args.warmup} "
        f"warm-up and {args.steps} timed steps; rounds interleave the configurations"
    )
    configs = [(1, BATCH), (2, BATCH), (2, 2 * BATCH)]
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(repeats):
            for name in args.only:
                for world, batch in configs:
                    _log(f"round {rnd + 1}/{repeats}: {name}, {world} process(es), batch {batch}")
                    res = launch(name, world, batch, args, Path(tmp))
                    results.setdefault((name, world, batch), []).append(res)
    body = report(results, args)
    path = run.write(args.out, body)
    _log(f"wrote {path}")
    return 0


def _median(results, key, field):
    vals = [r[field] for r in results.get(key, []) if field in r]
    return statistics.median(vals) if vals else None


def _cpu(results, key, over) -> float:
    """Median over rounds of ``over`` (max or sum) of the ranks' CPU time per step."""
    return statistics.median(over(r["cpu_s"]) for r in results[key])


def report(results: dict, args) -> str:
    rows, pred_rows = [], []
    for name in args.only:
        t1 = _median(results, (name, 1, BATCH), "step_s")
        t2 = _median(results, (name, 2, BATCH), "step_s")
        t2w = _median(results, (name, 2, 2 * BATCH), "step_s")
        ar = _median(results, (name, 2, BATCH), "allreduce_s")
        params = results[(name, 1, BATCH)][0]["params"]
        rounds1 = ", ".join(f"{1e3 * r['step_s']:.0f}" for r in results[(name, 1, BATCH)])
        rounds2 = ", ".join(f"{1e3 * r['step_s']:.0f}" for r in results[(name, 2, BATCH)])
        c1 = _cpu(results, (name, 1, BATCH), max)
        for world, batch, t, kind in (
            (1, BATCH, t1, "-"),
            (2, BATCH, t2, "strong"),
            (2, 2 * BATCH, t2w, "weak"),
        ):
            key = (name, world, batch)
            c, work = _cpu(results, key, max), _cpu(results, key, sum)
            # the work of 1 process over the slowest rank's work: with a core per process
            ideal = c1 / (world * c) if kind != "weak" else c1 / c
            eff = {"strong": t1 / (2 * t), "weak": t1 / t}.get(kind, 1.0)
            rows.append(
                [
                    name,
                    world,
                    batch,
                    batch // world,
                    kind,
                    f"{1e3 * t:.1f}",
                    f"{batch / t:.0f}",
                    f"{t1 / t:.2f}" if kind == "strong" else "",
                    f"{eff:.0%}",
                    f"{1e3 * c:.1f}",
                    f"{work / c1 * BATCH / batch:.2f}",
                    f"{ideal:.0%}",
                ]
            )
        pred = t1 / 2 + ar
        pred_rows.append(
            [
                name,
                f"{params:,}",
                f"{4 * params / 1e6:.2f}",
                f"{1e3 * ar:.2f}",
                f"{1e3 * t1:.1f}",
                f"{1e3 * pred:.1f}",
                f"{t1 / (2 * pred):.0%}",
                f"{1e3 * t2:.1f}",
                f"{t1 / (2 * t2):.0%}",
                rounds1,
                rounds2,
            ]
        )
    out = [
        "## Scaling on this CPU",
        "",
        "Median step time over the rounds (each round's figure is the median of its timed "
        "steps). Strong scaling keeps the global batch (the `photonn train` semantics); "
        "weak scaling keeps the per-rank batch. `CPU ms`: the CPU time of the slowest rank "
        "per step (the work it did, whatever share of a core the machine's load left it); "
        "`work / sample`: the CPU time of all ranks per sample, relative to one process (1.00: "
        "DDP adds no work); `eff. with a core each`: the efficiency the CPU times give when "
        "every process has a core of its own (one process's CPU time over the slowest rank's, "
        "per sample).",
        "",
        table(
            rows,
            [
                "workload",
                "processes",
                "global batch",
                "per rank",
                "scaling",
                "step ms",
                "samples/s",
                "speedup",
                "efficiency",
                "CPU ms",
                "work / sample",
                "eff. with a core each",
            ],
        ),
        "",
        "## Communication against compute on this CPU",
        "",
        "`all-reduce ms`: a bare gloo all-reduce of a float32 tensor of the gradient's size "
        "between the two processes. Predicted 2-process step: half the 1-process step plus "
        "that all-reduce (the model of the GPU curve below, no overlap). The last columns "
        "list each round's step (ms), in launch order: the spread is the machine's load.",
        "",
        table(
            pred_rows,
            [
                "workload",
                "parameters",
                "gradient MB",
                "all-reduce ms",
                "1-proc step ms",
                "predicted 2-proc ms",
                "predicted eff.",
                "measured 2-proc ms",
                "measured eff.",
                "1-proc rounds",
                "2-proc rounds",
            ],
        ),
        "",
        "On two cores shared with other jobs, two processes also compete with those jobs "
        "for the cores: the measured efficiency is below the prediction by what the "
        "machine's load takes from the second process (see the load average in the header).",
        "",
        "## Expected on GPUs: a 5-layer 1024^2 D2NN",
        "",
        "From the calculation of `docs/distributed.md` (memory-bound step on an A100-class "
        f"GPU at {GPU['hbm_bytes_per_s'] / 1e12:.1f} TB/s effective; ring all-reduce of the "
        f"{gradient_bytes() / 1e6:.1f} MB gradient; links: "
        + "; ".join(
            f"{k} {bw / 1e9:.0f} GB/s, {lat * 1e6:.0f} us" for k, (bw, lat) in LINKS.items()
        )
        + "), without overlapping the all-reduce with the backward pass.",
        "",
    ]
    for gb in (32, 256):
        out += [
            f"Global batch {gb}:",
            "",
            table(
                gpu_curve(gb),
                [
                    "GPUs",
                    "link",
                    "compute ms",
                    "all-reduce ms",
                    "step ms",
                    "speedup",
                    "efficiency",
                ],
            ),
            "",
        ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
