"""Shared timing helpers for the benchmarks: interleaved repeats, medians, ratios."""

from __future__ import annotations

import gc
import statistics
import time

import torch


def median_times(fns: dict, repeats: int, warmup: int = 2, gc_each_call: bool = False) -> dict:
    """Median wall time [s] of each zero-argument callable, runs interleaved.

    Interleaving (A B C A B C ...) makes the ratios robust to load that changes
    during the run on a shared machine. As in :mod:`timeit`, the garbage
    collector is run once before the timed runs and kept off during them, so that
    no collection lands inside a timed call. ``gc_each_call=True`` instead runs a
    full collection before every call: a cold-cache protocol (the collection walks
    every Python object of the process and evicts the CPU caches), which costs
    implementations made of many small operations more than those made of few.
    """
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
                if gc_each_call:
                    gc.collect()
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    finally:
        if enabled:
            gc.enable()
    return {name: statistics.median(v) for name, v in samples.items()}


def fwd_bwd(fn, x: torch.Tensor, grad: torch.Tensor):
    """A callable doing forward and backward of ``fn`` at ``x`` (gradient w.r.t. ``x``)."""
    xr = x.detach().clone().requires_grad_(True)

    def run():
        out = fn(xr)
        (g,) = torch.autograd.grad(out, xr, grad)
        return g

    return run


def table(rows, headers) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = " | ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    sep = "-|-".join("-" * w for w in widths)
    body = "\n".join(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)
    return f"{line}\n{sep}\n{body}"
