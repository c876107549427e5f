"""Shared timing helpers for the benchmarks: devices, interleaved repeats, medians, tables."""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import torch


def add_device_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="where the tensors live (default cpu; cuda needs a CUDA build and a GPU)",
    )


def resolve_device(ap: argparse.ArgumentParser, name: str) -> torch.device:
    """The ``--device`` as a ``torch.device``; an argument error when CUDA is unavailable."""
    if name == "cuda" and not torch.cuda.is_available():
        why = (
            "this torch build has no CUDA support"
            if torch.version.cuda is None
            else "no CUDA device is visible"
        )
        ap.error(f"--device cuda: {why} (torch {torch.__version__}); use --device cpu")
    return torch.device(name)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def synchronizer(device):
    """A zero-argument callable that waits for ``device``'s queued kernels (no-op off CUDA)."""
    if device is not None and torch.device(device).type == "cuda":
        dev = torch.device(device)
        return lambda: torch.cuda.synchronize(dev)
    return lambda: None


def median_times(
    fns: dict, repeats: int, warmup: int = 2, gc_each_call: bool = False, device=None
) -> dict:
    """Median wall time [s] of each zero-argument callable, runs interleaved.

    Interleaving (A B C A B C ...) makes the ratios robust to load that changes
    during the run on a shared machine. As in :mod:`timeit`, the garbage
    collector is run once before the timed runs and kept off during them, so that
    no collection lands inside a timed call. ``gc_each_call=True`` instead runs a
    full collection before every call: a cold-cache protocol (the collection walks
    every Python object of the process and evicts the CPU caches), which costs
    implementations made of many small operations more than those made of few.

    On CUDA (``device``), kernels run asynchronously: the device is synchronised
    before the clock starts and again before it stops, so each sample is the
    time until the call's kernels have finished, not until they were queued.
    """
    sync = synchronizer(device)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    samples = {name: [] for name in fns}
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                if gc_each_call:
                    gc.collect()
                sync()
                t0 = time.perf_counter()
                fn()
                sync()
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
    """A markdown table (columns padded so it also reads as plain text)."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(str(h)), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line([str(h) for h in headers]), sep, *(line(r) for r in rows)])
