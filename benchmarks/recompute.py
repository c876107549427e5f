"""Activation recomputation: peak extra memory and step time of a training step against
depth, storing every layer (``recompute=0``) or every k-th (``recompute=k``).

    python -m benchmarks.recompute                      # D2NN: L = 4, 16, 64; 256^2; batch 8
    python -m benchmarks.recompute --layers 4 16 --size 128
    python -m benchmarks.recompute --model relax        # folded diffractive ReLaX, L passes
    python -m benchmarks.recompute --model mlp          # PhotonicMLP, L SVD layers (2L meshes)

Models (``--model``; each writes its own file, ``recompute.md`` for the D2NN and
``recompute_<model>.md`` for the others):

* ``d2nn``: ``D2NN`` of L layers, ``size^2`` neurons, bl-asm (2x padding);
* ``relax``: ``DiffractiveReLaX`` with a bank of ``L_W = min(4, L)`` masks passed
  ``L_T = L / L_W`` times (L passes), same optics as the D2NN;
* ``mlp``: ``PhotonicMLP`` of L SVD layers of ``size`` modes (a stack of 2L
  Clements meshes; batch below ``size``, so every mesh runs its columns on the batch
  and stores one field per column).

Each point runs in a fresh process (``--child``), so that one point's memory does
not hide another's. Memory: the process's resident high-water mark (``VmHWM`` of
``/proc/self/status``, reset through ``/proc/self/clear_refs``) during one training
step (forward, cross-entropy, backward; gradients already allocated), minus the
resident size just before it: the step's *extra* memory, which is what grows with
depth. The children run with ``MALLOC_MMAP_THRESHOLD_=65536`` so that every tensor
above 64 KiB is its own mapping, returned to the system when freed: resident memory
then follows the live tensors instead of the C allocator's free lists. Linux only.
Time: the median of ``--steps`` training steps after a warm-up step, one torch thread,
wall clock and the process's CPU time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: python benchmarks/recompute.py
    sys.path.insert(0, str(REPO))


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


MODELS = ("d2nn", "relax", "mlp")
DEFAULT_SIZE = {"d2nn": 256, "relax": 256, "mlp": 128}


def build(model: str, layers: int, k: int, size: int, batch: int):
    """``(module, inputs, labels)`` of one point."""
    import torch

    from photonn import Grid
    from photonn.models import D2NN, DiffractiveReLaX, PhotonicMLP

    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(batch) % 10
    if model == "d2nn":
        m = D2NN(
            Grid(size, 4e-4),
            7.5e-4,
            layers,
            0.01,
            input_size=size // 2,
            init="uniform",
            generator=gen,
            recompute=k,
        )
        return m, torch.rand(batch, 28, 28), labels
    if model == "relax":
        l_w = min(4, layers)
        if layers % l_w:
            raise ValueError(f"--model relax needs L a multiple of {l_w}, got {layers}")
        m = DiffractiveReLaX(
            size,
            10,
            l_w,
            layers // l_w,
            distance=0.01,
            init="uniform",
            generator=gen,
            recompute=k if k else False,
        )
        return m, torch.rand(batch, 28, 28), labels
    if model == "mlp":
        m = PhotonicMLP((size,) * layers + (10,), generator=gen, recompute=k)
        return m, torch.rand(batch, size), labels
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")


def child(layers: int, k: int, size: int, batch: int, steps: int, model: str = "d2nn") -> dict:
    """One point, in this process: extra peak memory [MiB] and median step time [s]."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, images, labels = build(model, layers, k, size, batch)

    def step():
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        for p in model.parameters():
            if p.grad is not None:  # (parameters a model leaves unused have none)
                p.grad.zero_()  # gradients stay allocated: not part of the step's extra

    step()  # warm-up: transfer functions, gradient buffers
    rss0 = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    if _status_kib("VmHWM") > rss0 + 1024:
        raise RuntimeError("this kernel does not reset VmHWM via /proc/self/clear_refs")
    step()
    extra = (_status_kib("VmHWM") - rss0) / 1024
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times.sort()
    cpu.sort()
    return {
        "layers": layers,
        "recompute": k,
        "size": size,
        "batch": batch,
        "extra_mib": extra,
        "step_s": times[len(times) // 2],
        "cpu_s": cpu[len(cpu) // 2],
        "rss_mib": rss0 / 1024,
    }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def run_point(layers, k, size, batch, steps, model: str = "d2nn") -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "benchmarks.recompute", "--model", model, "--child"]
    cmd += [str(layers), str(k), str(size), str(batch), str(steps)]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    from benchmarks._report import Run, add_output_argument
    from benchmarks._timing import positive_int, table

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=positive_int, nargs="+", default=[4, 16, 64])
    ap.add_argument(
        "--recompute",
        type=int,
        nargs="+",
        default=None,
        help="values of k besides 0 (default: 8 and round(sqrt(L)))",
    )
    ap.add_argument("--model", choices=MODELS, default="d2nn")
    ap.add_argument(
        "--size",
        type=positive_int,
        default=None,
        help="neurons per side (d2nn, relax; default 256) or modes (mlp; default 128)",
    )
    ap.add_argument("--batch", type=positive_int, default=8)
    ap.add_argument("--steps", type=positive_int, default=3, help="timed steps per point")
    ap.add_argument("--child", nargs=5, type=int, help=argparse.SUPPRESS)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    size = args.size or DEFAULT_SIZE[args.model]
    if args.child:
        print(json.dumps(child(*args.child, model=args.model)))
        return 0
    if not Path("/proc/self/clear_refs").exists():
        ap.error("needs Linux /proc (VmHWM and clear_refs) to measure peak memory")

    import torch

    torch.set_num_threads(1)
    titles = {
        "d2nn": "D2NN",
        "relax": "folded diffractive ReLaX",
        "mlp": "PhotonicMLP (a stack of MZI meshes)",
    }
    run = Run(
        "recompute" if args.model == "d2nn" else f"recompute_{args.model}",
        f"Activation recomputation: {titles[args.model]} training-step memory and time "
        "against depth",
        argv,
        "cpu",
        args.steps,
        default_repeats=3,
    )
    rows, results = [], []
    for layers in args.layers:
        ks = args.recompute or sorted({8, max(1, round(math.sqrt(layers)))})
        base = None
        for k in [0, *[k for k in ks if k != 0]]:
            r = run_point(layers, k, size, args.batch, args.steps, args.model)
            results.append(r)
            print(json.dumps(r), flush=True)
            if k == 0:
                base = r
            rows.append(
                [
                    layers,
                    k,
                    f"{r['extra_mib']:.0f}",
                    _ratio(r["extra_mib"], base["extra_mib"]),
                    f"{r['step_s']:.2f}",
                    _ratio(r["step_s"], base["step_s"]),
                    f"{r['cpu_s']:.2f}",
                    _ratio(r["cpu_s"], base["cpu_s"]),
                ]
            )
    what = {
        "d2nn": f"D2NN of L layers, {size}^2 neurons, method bl-asm (2x padding: "
        f"{2 * size}^2 FFTs); one unpadded field of the batch is "
        f"{args.batch * size**2 * 8 / 2**20:.0f} MiB",
        "relax": f"DiffractiveReLaX, a bank of min(4, L) masks passed L / min(4, L) times "
        f"(L passes), {size}^2 neurons, bl-asm (2x padding); one unpadded field of the "
        f"batch is {args.batch * size**2 * 8 / 2**20:.0f} MiB",
        "mlp": f"PhotonicMLP of L SVD layers of {size} modes (2L Clements meshes, each "
        f"running its {size} columns on the batch); one field of the batch is "
        f"{args.batch * size * 8 / 2**10:.0f} KiB",
    }[args.model]
    body = "\n".join(
        [
            f"{what}; batch {args.batch}, complex64, one torch thread. "
            "Extra memory: the step's resident high-water mark above the resident size "
            "before it (see the module docstring); time: median "
            f"of {args.steps} steps, wall clock and CPU time of the process (one thread: "
            "the CPU time is the less disturbed by other processes on a loaded machine). "
            "Ratios are to recompute = 0 at the same depth.",
            "",
            table(
                rows,
                [
                    "layers L",
                    "recompute k",
                    "extra MiB",
                    "x k=0",
                    "step s (wall)",
                    "x k=0",
                    "step s (CPU)",
                    "x k=0",
                ],
            ),
        ]
    )
    print(run.write(args.out, body))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
