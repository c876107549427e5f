"""Shared timing helpers for the benchmarks: interleaved repeats, medians, ratios."""

from __future__ import annotations

import gc
import statistics
import time

import torch


def median_times(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Median wall time [s] of each zero-argument callable, runs interleaved.

    Interleaving (A B C A B C ...) makes the ratios robust to load that changes
    during the run on a shared machine.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
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
