"""MZI mesh speed: photonn's column-parallel Clements mesh against a dense complex matmul and
peer libraries, forward and forward+backward, in one process.

    python -m benchmarks.mesh                    # photonn + dense (+ peers when importable)
    python -m benchmarks --peers /path/to/peer-venv/bin/python --only mesh   # with peers

Case: an N-mode Clements mesh (N = 64 and 256) applied to a batch of 256 complex64
vectors; the loss for the backward pass is ``sum |y|^2``. The reference is a dense
complex matmul ``x @ W.T`` with ``W`` a trainable ``(N, N)`` complex64 matrix (the
same arithmetic a free-form linear layer costs). Timings are medians of interleaved
repeats (the machines are shared and noisy; on CUDA synchronised before and after
each call); ratios are against the dense matmul of the same repeat set. Sizes
above 64 use a third of ``--repeats`` (at least 3), photontorch 3.

Peers (optional, each skipped when it does not import; see the notes in the
results): neurophox (torch backend ``RMTorch`` and TensorFlow ``RM``), photontorch
(``ClementsNxN``, a circuit solver: only N = 8 and 16 are feasible) and torchonn.
With ``--device cuda`` the CPU-only peers (neurophox-tf with tensorflow-cpu,
photontorch) are skipped.

Threads: by default (``--threads 0``) every library runs with its own default
thread settings, which on a 2-core machine means both cores (torch 2 threads,
TensorFlow its defaults); ``--threads N`` gives torch N threads and TensorFlow N
intra-op threads and one inter-op thread.

Writes ``benchmarks/results/mesh.md`` (``--out DIR`` elsewhere; ``--json FILE``
also writes the rows as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import Run, add_output_argument, import_shims, peer_ok
from benchmarks._timing import (
    add_device_argument,
    median_times,
    positive_int,
    resolve_device,
    table,
)
from photonn.onchip import MZIMesh

NAME = "mesh"
REPEATS = 30
NOTES: dict[str, str] = {}
DEVICE = [torch.device("cpu")]  # the --device of this run
CPU_ONLY = ("neurophox-tf", "photontorch")  # skipped with --device cuda


def photonn_case(n, batch, gen):
    mesh = MZIMesh(n, init="haar", generator=gen).to(DEVICE[0])
    x = torch.randn(batch, n, dtype=torch.complex64, generator=gen).to(DEVICE[0])

    def fwd():
        with torch.no_grad():
            return mesh(x)

    def fwdbwd():
        mesh.zero_grad(set_to_none=True)
        y = mesh(x)
        (y.real**2 + y.imag**2).sum().backward()

    return fwd, fwdbwd


def dense_case(n, batch, gen):
    W = torch.randn(n, n, dtype=torch.complex64, generator=gen).to(DEVICE[0]).requires_grad_()
    x = torch.randn(batch, n, dtype=torch.complex64, generator=gen).to(DEVICE[0])

    def fwd():
        with torch.no_grad():
            return x @ W.T

    def fwdbwd():
        W.grad = None
        y = x @ W.T
        (y.real**2 + y.imag**2).sum().backward()

    return fwd, fwdbwd


def shims():
    if not import_shims():
        return None
    import shims as s

    return s


def neurophox_torch_case(n, batch, gen):
    shims()
    from neurophox.torch import RMTorch

    mesh = RMTorch(n).to(DEVICE[0])
    x = torch.randn(2, batch, n, generator=gen).to(DEVICE[0])  # neurophox: (real, imag) stacked

    def fwd():
        with torch.no_grad():
            return mesh(x)

    def fwdbwd():
        mesh.zero_grad(set_to_none=True)
        y = mesh(x)
        (y**2).sum().backward()

    NOTES["neurophox-torch"] = (
        "neurophox 0.1.0a4 RMTorch: needs the numpy aliases np.complex/np.float restored "
        "(shims.py); fields as real (2, batch, N) tensors"
    )
    return fwd, fwdbwd


def neurophox_tf_case(n, batch, gen):
    shims()
    import numpy as np
    import tensorflow as tf
    from neurophox.tensorflow import RM

    if THREADS[0]:  # --threads N: the same budget for TensorFlow; 0 leaves its defaults
        try:  # only possible before TensorFlow starts its runtime (first case built)
            tf.config.threading.set_intra_op_parallelism_threads(THREADS[0])
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
    mesh = RM(n)
    xr = torch.randn(batch, n, dtype=torch.complex64, generator=gen).numpy()
    x = tf.constant(xr.astype(np.complex64))

    @tf.function
    def f_fwd():
        return mesh(x)

    # RM keeps its phases as plain attributes: its trainable_variables list is empty, and
    # a gradient with respect to it would let TensorFlow prune the whole computation
    variables = [v for v in (mesh.theta, mesh.phi, getattr(mesh, "gamma", None)) if v is not None]

    @tf.function
    def f_bwd():
        with tf.GradientTape() as tape:
            y = mesh(x)
            loss = tf.reduce_sum(tf.abs(y) ** 2)
        return loss, tape.gradient(loss, variables)

    NOTES["neurophox-tf"] = (
        "neurophox 0.1.0a4 RM (TensorFlow 2 keras layer, tf.function): needs tensorflow-cpu "
        "and the numpy aliases restored (shims.py); gradients taken with respect to its "
        "theta/phi/gamma variables (its trainable_variables list is empty)"
    )
    return (lambda: f_fwd()), (lambda: f_bwd())


def photontorch_case(n, batch, gen):
    shm = shims()
    # torch 2.x still defines a torch.solve stub that raises, so the shim's
    # hasattr test does not replace it: override it unconditionally
    torch.solve = lambda b, a: (torch.linalg.solve(a, b), None)
    import photontorch as pt

    if shm is not None:
        shm.patch_photontorch()
    nw = pt.ClementsNxN(N=n).terminate()
    src = torch.randn(n, batch, generator=gen)
    env = pt.Environment(wl=1.55e-6, freqdomain=True, grad=True)

    def fwd():
        with env, torch.no_grad():
            return nw(source=src)

    def fwdbwd():
        nw.zero_grad(set_to_none=True)
        with env:
            y = nw(source=src)
            y.sum().backward()

    NOTES["photontorch"] = (
        "photontorch 0.4.1 ClementsNxN(N).terminate() in a frequency-domain Environment: needs "
        "torch.solve re-defined (torch 2.13 keeps a stub that raises) and Network._handle_source "
        "replaced (named tensors; shims.patch_photontorch); it solves the whole circuit "
        "(detected powers, not fields), so only small N are feasible"
    )
    return fwd, fwdbwd


def torchonn_case(n, batch, gen):
    from torchonn.layers import MZIBlockLinear  # noqa: F401

    raise RuntimeError("torchonn imported but no CPU-capable mesh path was found")


PEERS = {
    "neurophox-torch": neurophox_torch_case,
    "neurophox-tf": neurophox_tf_case,
    "photontorch": photontorch_case,
    "torchonn": torchonn_case,
}
PEER_SIZES = {"photontorch": (8, 16)}


THREADS = [0]  # the --threads of this run (0: every library's default)


PEER_DIST = {"neurophox-torch": "neurophox", "neurophox-tf": "neurophox"}


def run(sizes, batch, repeats, peers, threads, gc_each_call=False, device="cpu", status=None):
    """The result rows; ``status`` (a dict) receives each peer's availability."""
    THREADS[0] = threads
    DEVICE[0] = torch.device(device)
    status = {} if status is None else status
    if threads:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for n in sorted(set(sizes) | ({m for s in PEER_SIZES.values() for m in s} if peers else set())):
        cases = {}
        if n in sizes or peers:
            cases["dense"] = dense_case(n, batch, gen)
            cases["photonn"] = photonn_case(n, batch, gen)
        if peers:
            for name, make in PEERS.items():
                allowed = PEER_SIZES.get(name)
                if (allowed is not None and n not in allowed) or (
                    allowed is None and n not in sizes
                ):
                    continue
                if DEVICE[0].type != "cpu" and name in CPU_ONLY:
                    status[name] = f"skipped (CPU only here; --device {DEVICE[0].type})"
                    continue
                try:
                    cases[name] = make(n, batch, gen)
                except Exception as exc:  # a peer that does not run is recorded, not fatal
                    NOTES.setdefault(name, f"skipped: {type(exc).__name__}: {exc}"[:300])
                    status.setdefault(name, f"not available ({type(exc).__name__})")
                    continue
                dist = PEER_DIST.get(name, name)
                status[name] = peer_ok(dist)
                if name == "neurophox-tf":
                    status[name] += ", " + peer_ok("tensorflow-cpu")
        reps = repeats if n <= 64 else max(3, repeats // 3)
        if "photontorch" in cases:
            reps = 3
        fw = median_times(
            {k: v[0] for k, v in cases.items()}, reps, gc_each_call=gc_each_call, device=device
        )
        fb = median_times(
            {k: v[1] for k, v in cases.items()}, reps, gc_each_call=gc_each_call, device=device
        )
        for k in cases:
            rows.append(
                {
                    "n": n,
                    "batch": batch,
                    "impl": k,
                    "repeats": reps,
                    "fwd_ms": 1e3 * fw[k],
                    "fwdbwd_ms": 1e3 * fb[k],
                    "fwd_vs_dense": fw[k] / fw["dense"],
                    "fwdbwd_vs_dense": fb[k] / fb["dense"],
                    "fwdbwd_vs_photonn": fb[k] / fb["photonn"],
                }
            )
        print(f"# N = {n} done", file=sys.stderr)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="MZI mesh benchmark")
    ap.add_argument("--sizes", type=positive_int, nargs="+", help="N (default 64 256)")
    ap.add_argument("--batch", type=positive_int, help="vectors per call (default 256)")
    ap.add_argument(
        "--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 2); N > 64: a third"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads for torch and TensorFlow (intra-op; TF inter-op 1); "
        "0 (default): each library's default, i.e. all cores",
    )
    ap.add_argument("--quick", action="store_true", help="N = 16, batch 32, 2 repeats (smoke run)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument(
        "--gc-each-call",
        action="store_true",
        help="full garbage collection before every timed call (cold-cache protocol)",
    )
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    if args.threads < 0:
        ap.error(f"--threads must be >= 0 (0: each library's default), got {args.threads}")
    device = resolve_device(ap, args.device)
    sizes = args.sizes or ([16] if args.quick else [64, 256])
    batch = args.batch or (32 if args.quick else 256)
    repeats = args.repeats or (2 if args.quick else REPEATS)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = Run(
        NAME,
        "MZI mesh benchmark" + (" (--quick smoke run)" if args.quick else ""),
        argv,
        device,
        repeats,
        2 if args.quick else REPEATS,
    )
    if args.no_peers:
        report.peers["all"] = "skipped (--no-peers)"
    rows = run(
        sizes,
        batch,
        repeats,
        not args.no_peers,
        args.threads,
        args.gc_each_call,
        device,
        report.peers,
    )
    threads = args.threads or f"each library's default (torch {torch.get_num_threads()})"
    body = [
        "## Forward and forward+backward",
        "",
        f"batch {batch}, complex64, threads: {threads}; "
        f"{'gc before every call' if args.gc_each_call else 'gc off while timing'}; "
        "medians of interleaved runs (the reps column) in one process, ratios of medians "
        "(lower is faster); the loss for the backward is sum |y|^2.",
        "",
        table(
            [
                (
                    r["n"],
                    r["impl"],
                    r["repeats"],
                    f"{r['fwd_ms']:.3f}",
                    f"{r['fwdbwd_ms']:.3f}",
                    f"{r['fwd_vs_dense']:.2f}",
                    f"{r['fwdbwd_vs_dense']:.2f}",
                    f"{r['fwdbwd_vs_photonn']:.2f}",
                )
                for r in rows
            ],
            [
                "N",
                "impl",
                "reps",
                "fwd ms",
                "fwd+bwd ms",
                "fwd / dense",
                "fwd+bwd / dense",
                "fwd+bwd / photonn",
            ],
        ),
        "",
        "- dense: `x @ W.T` with a trainable complex64 (N, N) `W`, the cost of a free-form "
        "linear layer. photonn: `photonn.onchip.MZIMesh(N)`, Clements, column-parallel.",
    ]
    body += [f"- {k}: {v}" for k, v in NOTES.items()]
    text = "\n".join(body)
    print(text)
    path = report.write(args.out, text)
    print(f"# wrote {path}", file=sys.stderr)
    if args.json:
        from photonn._io import atomic_write_text

        atomic_write_text(args.json, json.dumps({"rows": rows, "notes": NOTES}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
