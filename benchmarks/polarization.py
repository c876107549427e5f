"""Polarization benchmark: a polarized propagation step against a scalar one of the same size.

complex64, lambda = 633 nm, pitch 8 um, z = 1 cm, default light-cone padding.
Two kinds of step, each scalar and polarized:

* ``propagation``: :class:`~photonn.freespace.Propagator` on ``(B, n, n)``
  (``scalar``) and the same module on ``(B, 2, n, n)`` (``polarized``): the
  cost of carrying two field components (target: polarized / scalar at most 2.2);
* ``layer``: a learnable mask then the propagation, the unit a diffractive
  network repeats: :class:`~photonn.freespace.PhaseMask` (``scalar``) against
  :class:`~photonn.freespace.JonesModulator` (``polarized``: a per-pixel Jones
  matrix built from two phases and an axis angle, all learnable, in every call);
* ``scalar-2B``: the scalar step on ``(2B, n, n)``, the same FFT work as the
  polarized one.

Forward and forward + backward (gradient with respect to the input field and
the mask parameters), medians of interleaved runs in one process
(:mod:`benchmarks._timing`). ``--clock cpu`` (the default with one thread) times
the process's CPU time instead of the wall clock: on a shared, loaded machine the
wall time of a niced process measures the scheduler more than the code (seen:
the same step varying 2x between runs), while its CPU time does not count the
time it waits for a core.

Run: ``python -m benchmarks.polarization [--repeats 7] [--threads 1] [--quick]``
(or ``python benchmarks/polarization.py``). Writes
``benchmarks/results/polarization.md`` (``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import Run, add_output_argument
from benchmarks._timing import (
    add_device_argument,
    median_times,
    positive_int,
    resolve_device,
    table,
)
from photonn import Grid, SamplingWarning
from photonn.freespace import JonesModulator, PhaseMask, Propagator
from photonn.units import cm, nm, um

NAME = "polarization"
LAM, PITCH, Z = 633 * nm, 8 * um, 1 * cm
REPEATS = 7
CASES = [(8, 256), (1, 1024)]
QUICK_CASES = [(2, 32)]


def steps(grid: Grid, device):
    gen = torch.Generator().manual_seed(0)
    with warnings.catch_warnings():  # the --quick sizes alias; timing only
        warnings.simplefilter("ignore", SamplingWarning)
        prop = Propagator(grid, LAM, Z, device=device)
    mask = PhaseMask(grid, init="uniform", generator=gen, device=device)
    jm = JonesModulator(grid, init="uniform", generator=gen, device=device)

    def scalar(x):
        return prop(mask(x))

    def polarized(x):
        return prop(jm(x))

    return prop, mask, jm, scalar, polarized


def median_cpu_times(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """As :func:`benchmarks._timing.median_times` (interleaved, gc off), on the process's
    CPU time (``time.process_time``): meaningful for one thread on a loaded machine."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                t0 = time.process_time()
                fn()
                samples[name].append(time.process_time() - t0)
    finally:
        if enabled:
            gc.enable()
    return {name: statistics.median(v) for name, v in samples.items()}


def _fwd_bwd(fn, x, module):
    xr = x.detach().clone().requires_grad_(True)
    params = [xr, *module.parameters()]

    def run():
        out = fn(xr)
        grads = torch.autograd.grad(out.abs().square().sum(), params)
        return grads[0]

    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 2)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (smoke run)")
    ap.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    ap.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        help="cpu: process CPU time (default with 1 thread on CPU); wall: wall clock",
    )
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    torch.set_num_threads(args.threads)
    clock = args.clock or ("cpu" if args.threads == 1 and device.type == "cpu" else "wall")
    if clock == "cpu" and (args.threads > 1 or device.type != "cpu"):
        ap.error("--clock cpu needs --threads 1 on the CPU (CPU time adds up over threads)")

    def timer(fns):
        if clock == "cpu":
            return median_cpu_times(fns, repeats)
        return median_times(fns, repeats, device=device)

    cases = QUICK_CASES if args.quick else CASES
    repeats = args.repeats or (2 if args.quick else REPEATS)
    run = Run(
        NAME,
        "Polarization benchmark" + (" (--quick smoke run)" if args.quick else ""),
        argv,
        device,
        repeats,
        2 if args.quick else REPEATS,
    )
    gen = torch.Generator().manual_seed(1)
    rows = []
    for batch, n in cases:
        grid = Grid(n, PITCH)
        prop, mask, jm, scalar, polarized = steps(grid, device)
        xs = torch.randn(batch, n, n, dtype=torch.complex64, generator=gen).to(device)
        x2 = torch.randn(2 * batch, n, n, dtype=torch.complex64, generator=gen).to(device)
        xp = x2.reshape(batch, 2, n, n)
        impls = {
            ("propagation", "scalar"): (prop, xs, prop),
            ("propagation", "polarized"): (prop, xp, prop),
            ("propagation", "scalar-2B"): (prop, x2, prop),
            ("layer", "scalar"): (scalar, xs, mask),
            ("layer", "polarized"): (polarized, xp, jm),
            ("layer", "scalar-2B"): (scalar, x2, mask),
        }
        with torch.no_grad():
            fwd = timer({k: (lambda f=f, x=x: f(x)) for k, (f, x, _) in impls.items()})
        fb = timer({k: _fwd_bwd(f, x, m) for k, (f, x, m) in impls.items()})
        fft = prop.padded_shape
        for kind, name in impls:
            ref = (kind, "scalar")
            rows.append(
                (
                    f"{batch}x{n}^2",
                    kind,
                    name,
                    f"{fft[0]}^2",
                    f"{fwd[kind, name] * 1e3:.2f}",
                    f"{fb[kind, name] * 1e3:.2f}",
                    f"{fwd[kind, name] / fwd[ref]:.2f}",
                    f"{fb[kind, name] / fb[ref]:.2f}",
                )
            )
        print(f"# {batch}x{n}^2 done", file=sys.stderr)
    headers = [
        "case",
        "step",
        "field",
        "FFT",
        "fwd ms",
        "fwd+bwd ms",
        "fwd / scalar",
        "fwd+bwd / scalar",
    ]
    body = [
        "## Time",
        "",
        f"complex64, lambda {LAM / nm:g} nm, pitch {PITCH / um:g} um, z {Z / cm:g} cm, "
        f"torch threads {torch.get_num_threads()}, {clock} time; medians of {repeats} "
        "interleaved runs in "
        "one process, ratios of medians to the scalar step of the same kind (lower is faster).",
        "",
        table(rows, headers),
        "",
        "- `propagation`: Propagator on `(B, n, n)` (scalar) or `(B, 2, n, n)` (polarized); "
        "target: polarized / scalar at most 2.2 (two components cost two FFT pairs).",
        "- `layer`: PhaseMask + Propagator (scalar) against JonesModulator + Propagator "
        "(polarized; the modulator builds its per-pixel Jones matrices from three parameter "
        "maps in every call, a cost that does not grow with the batch).",
        "- `scalar-2B`: the scalar step on `(2B, n, n)`, the same FFT work as the polarized one.",
        "- fwd+bwd: gradient with respect to the input field and the mask parameters.",
    ]
    text = "\n".join(body)
    print(text)
    path = run.write(args.out, text)
    print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
