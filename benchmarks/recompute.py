"""Activation recomputation: peak extra memory and step time of a D2NN training step
against depth, storing every layer (``recompute=0``) or every k-th (``recompute=k``).

    python -m benchmarks.recompute                      # L = 4, 16, 64; 256^2; batch 8
    python -m benchmarks.recompute --layers 4 16 --size 128

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


def child(layers: int, k: int, size: int, batch: int, steps: int) -> dict:
    """One point, in this process: extra peak memory [MiB] and median step time [s]."""
    import torch

    from photonn import Grid
    from photonn.models import D2NN

    torch.set_num_threads(1)
    torch.manual_seed(0)
    pitch, lam = 4e-4, 7.5e-4
    model = D2NN(
        Grid(size, pitch),
        lam,
        layers,
        0.01,
        input_size=size // 2,
        init="uniform",
        generator=torch.Generator().manual_seed(0),
        recompute=k,
    )
    images = torch.rand(batch, 28, 28)
    labels = torch.arange(batch) % 10

    def step():
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        for p in model.parameters():
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


def run_point(layers, k, size, batch, steps) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "benchmarks.recompute", "--child"]
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
    ap.add_argument("--size", type=positive_int, default=256, help="neurons per side")
    ap.add_argument("--batch", type=positive_int, default=8)
    ap.add_argument("--steps", type=positive_int, default=3, help="timed steps per point")
    ap.add_argument("--child", nargs=5, type=int, help=argparse.SUPPRESS)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    if not Path("/proc/self/clear_refs").exists():
        ap.error("needs Linux /proc (VmHWM and clear_refs) to measure peak memory")

    import torch

    torch.set_num_threads(1)
    run = Run(
        "recompute",
        "Activation recomputation: D2NN training-step memory and time against depth",
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
            r = run_point(layers, k, args.size, args.batch, args.steps)
            results.append(r)
            print(json.dumps(r), flush=True)
            if k == 0:
                base = r
            rows.append(
                [
                    layers,
                    k,
                    f"{r['extra_mib']:.0f}",
                    f"{r['extra_mib'] / base['extra_mib']:.2f}",
                    f"{r['step_s']:.2f}",
                    f"{r['step_s'] / base['step_s']:.2f}",
                    f"{r['cpu_s']:.2f}",
                    f"{r['cpu_s'] / base['cpu_s']:.2f}",
                ]
            )
    field_mib = args.batch * args.size**2 * 8 / 2**20
    body = "\n".join(
        [
            f"D2NN, {args.size}^2 neurons, batch {args.batch}, complex64, method bl-asm "
            f"(2x padding: {2 * args.size}^2 FFTs), one torch thread. One unpadded field of "
            f"the batch is {field_mib:.0f} MiB. Extra memory: the step's resident high-water "
            "mark above the resident size before it (see the module docstring); time: median "
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
