"""Scaling curves: how photonn's time and memory grow with the grid, the depth, the modes
and the replicas; one results file (+ JSON + log-log PNG) per curve.

    python -m benchmarks.scaling                              # every curve, CPU sizes
    python -m benchmarks.scaling --curves propagation mesh    # some of them
    python -m benchmarks.scaling --quick                      # smoke sizes (seconds)
    python -m benchmarks.scaling --device cuda                # GPU sizes (gpu_check)

Curves (``benchmarks/results/scaling_<curve>.md``, ``.json``, ``.png``):

* ``propagation``: ``Propagator`` (angular spectrum, light-cone padding rounded to a
  2-3-5-7-smooth FFT size) forward and forward+backward (gradient to the input field)
  against N (N^2 samples), on 1 and 2 torch threads, interleaved with the bare
  ``ifft2(fft2(pad(x)) * H)`` at exactly photonn's FFT size (``bare``): the ratio at
  every N, and the exponent ``p`` of ``time ~ N^p`` fitted by least squares on log-log
  axes with its standard error (an FFT of N^2 samples costs ``N^2 log N``: ``p`` a
  little above 2 over this range).
* ``d2nn``: one D2NN training step (forward, cross-entropy, backward; ``bl-asm``, 2x
  padding) against neurons per side and against layers: median step time and peak
  memory. On CPU every point runs in a fresh process (``benchmarks.recompute``'s
  child: resident high-water mark ``VmHWM`` of the step above the resident size
  before it, plus that size); on CUDA, ``torch.cuda.max_memory_allocated``.
* ``mesh``: Clements and Reck ``MZIMesh`` and the butterfly ``FFTMesh`` against N,
  forward+backward (loss ``sum |y|^2``, gradients to the phases) of a batch of 256
  complex64 vectors, interleaved with a dense complex matmul ``x @ W.T`` (trainable
  ``W``) of the same N.
* ``multivariate``: one ``MultivariatePNN`` training step (196 inputs, 10 classes,
  default solver) against the replicas R (batch 32) and against the batch (R = 1),
  on one torch thread (two-thread batched solves are unsafe on these CPUs; the
  default solver needs none, but one thread keeps the curve comparable).

Times are medians of interleaved repeats in one process (``_timing.median_times``),
fewer repeats at the largest sizes. Every results file records the load average at
its start and end: other processes share these machines, so compare ratios first.
PNG plots need matplotlib (the ``plot`` extra); ``--no-plots`` skips them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from pathlib import Path

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads libgomp

import torch

from benchmarks._report import Run, add_output_argument
from benchmarks._timing import (
    add_device_argument,
    fwd_bwd,
    median_times,
    positive_int,
    resolve_device,
    table,
)

CURVES = ("propagation", "d2nn", "mesh", "multivariate")
MESH_BATCH = 256
D2NN_NEURON_LAYERS, D2NN_NEURON_BATCH = 3, 4
D2NN_LAYER_SIZE, D2NN_LAYER_BATCH = 200, 8
MV_FEATURES, MV_CLASSES, MV_BATCH = 196, 10, 32

SIZES = {
    "cpu": {
        "propagation": [128, 256, 512, 1024, 2048, 4096],
        "neurons": [100, 200, 400, 700, 1000],
        "layers": [1, 2, 5, 10, 20],
        "mesh": [16, 32, 64, 128, 256, 512],
        "replicas": [1, 4, 9, 16],
        "batches": [8, 32, 128],
    },
    "cuda": {
        "propagation": [256, 512, 1024, 2048, 4096, 8192],
        "neurons": [200, 500, 1000, 2000],
        "layers": [1, 5, 10, 20, 50],
        "mesh": [16, 64, 256, 1024],
        "replicas": [1, 4, 9, 16, 25],
        "batches": [32, 128, 512],
    },
    "quick": {
        "propagation": [32, 64],
        "neurons": [16, 24],
        "layers": [1, 2],
        "mesh": [8, 16],
        "replicas": [1, 4],
        "batches": [4, 8],
    },
}


def repeats_for(size: int, big: int, repeats: int) -> int:
    """``repeats`` up to ``big``, then fewer (halved per doubling, at least 3)."""
    r = repeats
    while size > big and r > 3:
        size //= 2
        r = max(3, r // 2)
    return r


def wall_and_cpu(fns: dict, repeats: int, device) -> tuple[dict, dict | None]:
    """Medians of interleaved runs: wall time [s] of each callable, and on the CPU also
    the process's CPU time [s] (one torch thread: the time the step computed, which a
    loaded machine inflates far less than the wall time; ``None`` on CUDA)."""
    if device.type != "cpu":
        return median_times(fns, repeats, warmup=1, device=device), None
    import gc
    import statistics
    import time

    for fn in fns.values():
        fn()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            for k, fn in fns.items():
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                wall[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
    finally:
        gc.enable()
    med = statistics.median
    return {k: med(v) for k, v in wall.items()}, {k: med(v) for k, v in cpu.items()}


def fit_exponent(ns, ts) -> tuple[float, float]:
    """``(p, standard error)`` of the least-squares line ``log t = c + p log n``."""
    x = [math.log(n) for n in ns]
    y = [math.log(t) for t in ts]
    k = len(x)
    if k < 2:
        return float("nan"), float("nan")
    mx, my = sum(x) / k, sum(y) / k
    sxx = sum((a - mx) ** 2 for a in x)
    p = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sxx
    if k < 3:
        return p, float("nan")
    ssr = sum((b - my - p * (a - mx)) ** 2 for a, b in zip(x, y))
    return p, math.sqrt(ssr / (k - 2) / sxx)


# -- propagation -------------------------------------------------------------------------
def propagation_curve(sizes, threads, repeats, device) -> list[dict]:
    from benchmarks.propagation import LAM, PITCH, Z, bare_fn
    from photonn import Grid, SamplingWarning
    from photonn.freespace import Propagator

    rows = []
    for th in threads:
        torch.set_num_threads(th)
        for n in sizes:
            grid = Grid(n, PITCH)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SamplingWarning)
                prop = Propagator(grid, LAM, Z, device=device)
                bare = bare_fn(grid, Z, 2, True, device)
            fft = tuple(prop.padded_shape)
            if fft != tuple(bare.fft_shape):
                raise RuntimeError(f"FFT sizes differ at N={n}: {fft} vs {bare.fft_shape}")
            g = torch.Generator().manual_seed(n)
            x = torch.randn(1, n, n, dtype=torch.complex64, generator=g).to(device)
            grad = torch.randn(1, n, n, dtype=torch.complex64, generator=g).to(device)

            def fwd(fn, x=x):
                def run():
                    with torch.no_grad():
                        return fn(x)

                return run

            fns = {
                "photonn fwd": fwd(prop),
                "bare fwd": fwd(bare),
                "photonn fwd+bwd": fwd_bwd(prop, x, grad),
                "bare fwd+bwd": fwd_bwd(bare, x, grad),
            }
            reps = repeats_for(n, 512, repeats)
            med = median_times(fns, reps, warmup=1, device=device)
            for mode in ("fwd", "fwd+bwd"):
                rows.append(
                    {
                        "threads": th,
                        "n": n,
                        "fft": fft[0],
                        "mode": mode,
                        "repeats": reps,
                        "photonn_s": med[f"photonn {mode}"],
                        "bare_s": med[f"bare {mode}"],
                    }
                )
            print(json.dumps(rows[-2:]), flush=True)
            del prop, bare, x, grad, fns
    return rows


def propagation_report(rows, threads) -> str:
    table_rows = [
        [
            r["threads"],
            f"{r['n']}^2",
            f"{r['fft']}^2",
            r["mode"],
            r["repeats"],
            f"{r['photonn_s'] * 1e3:.3g}",
            f"{r['bare_s'] * 1e3:.3g}",
            f"{r['photonn_s'] / r['bare_s']:.2f}",
        ]
        for r in rows
    ]
    fits = []
    for th in threads:
        for mode in ("fwd", "fwd+bwd"):
            sel = [r for r in rows if r["threads"] == th and r["mode"] == mode]
            for impl in ("photonn", "bare"):
                p, se = fit_exponent([r["n"] for r in sel], [r[f"{impl}_s"] for r in sel])
                fits.append([th, mode, impl, f"{p:.2f}", f"{se:.2f}", len(sel)])
    return "\n".join(
        [
            "Complex64, one field (batch 1) of N^2 samples; 633 nm, 8 um pitch, z = 1 cm; "
            "photonn's default light-cone padding (FFT size column) and the bare step at "
            "that FFT size. Times are medians of interleaved runs [ms]; ratio = photonn / "
            "bare.",
            "",
            table(
                table_rows,
                ["threads", "N^2", "FFT", "mode", "repeats", "photonn ms", "bare ms", "ratio"],
            ),
            "",
            "Fitted exponent p of time ~ N^p (least squares on log-log axes over the N "
            "above; standard error from the residuals). For reference, the same fit of "
            f"N^2 log N over these N gives p = {_reference_exponent(rows):.2f}: a p well "
            "above it means cache or memory-bandwidth effects at the large sizes.",
            "",
            table(fits, ["threads", "mode", "impl", "p", "std err", "points"]),
        ]
    )


def _reference_exponent(rows) -> float:
    """The exponent fitted to ``N^2 log N`` itself over the N of ``rows``."""
    ns = sorted({r["n"] for r in rows})
    return fit_exponent(ns, [n * n * math.log(n) for n in ns])[0]


def propagation_plot(rows, threads, path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, mode in zip(axes, ("fwd", "fwd+bwd")):
        for th in threads:
            sel = [r for r in rows if r["threads"] == th and r["mode"] == mode]
            ns = [r["n"] for r in sel]
            for impl, style in (("photonn", "o-"), ("bare", "s--")):
                ax.loglog(ns, [r[f"{impl}_s"] for r in sel], style, label=f"{impl}, {th} thread(s)")
        ax.set_title(f"propagation {mode}")
        ax.set_xlabel("N (field of N x N samples)")
        _ticks(ax, [r["n"] for r in rows])
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("time [s]")
    axes[0].legend(fontsize=8)
    _save(fig, path)


# -- D2NN training step ------------------------------------------------------------------
def d2nn_point(layers, size, batch, steps, device, memory: bool) -> dict:
    """One training step's median time [s] and peak memory [MiB] (None when not measured)."""
    if device.type == "cpu" and memory:
        from benchmarks.recompute import run_point

        r = run_point(layers, 0, size, batch, steps)
        return {
            "step_s": r["step_s"],
            "cpu_s": r["cpu_s"],
            "extra_mib": r["extra_mib"],
            "peak_mib": r["rss_mib"] + r["extra_mib"],
        }
    from photonn import Grid
    from photonn.models import D2NN

    model = D2NN(
        Grid(size, 4e-4),
        7.5e-4,
        layers,
        0.01,
        input_size=max(1, size // 2),
        init="uniform",
        generator=torch.Generator().manual_seed(0),
        device=device,
    )
    images = torch.rand(batch, 28, 28, generator=torch.Generator().manual_seed(1)).to(device)
    labels = (torch.arange(batch) % 10).to(device)

    def step():
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        model.zero_grad(set_to_none=False)

    step()
    before = 0
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    t = median_times({"step": step}, steps, warmup=0, device=device)["step"]
    out = {"step_s": t, "cpu_s": None, "extra_mib": None, "peak_mib": None}
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
        out.update(extra_mib=(peak - before) / 2**20, peak_mib=peak / 2**20)
    return out


def d2nn_curve(neurons, layers, steps, device, memory) -> list[dict]:
    torch.set_num_threads(1)  # as the fresh-process points (benchmarks.recompute's child)
    rows = []
    for sweep, values in (("neurons", neurons), ("layers", layers)):
        for v in values:
            if sweep == "neurons":
                size, nl, batch = v, D2NN_NEURON_LAYERS, D2NN_NEURON_BATCH
            else:
                size, nl, batch = D2NN_LAYER_SIZE, v, D2NN_LAYER_BATCH
                if size > 4 * max(neurons):  # quick runs: keep the layer sweep small too
                    size = max(neurons)
            r = d2nn_point(nl, size, batch, steps, device, memory)
            rows.append({"sweep": sweep, "size": size, "layers": nl, "batch": batch, **r})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _mib(v) -> str:
    return "-" if v is None else f"{v:.0f}"


def d2nn_report(rows, steps, device) -> str:
    out = []
    for sweep, fixed in (
        ("neurons", f"{D2NN_NEURON_LAYERS} layers, batch {D2NN_NEURON_BATCH}"),
        ("layers", f"{rows[-1]['size'] if rows else '-'}^2 neurons, batch {D2NN_LAYER_BATCH}"),
    ):
        sel = [r for r in rows if r["sweep"] == sweep]
        key = "size" if sweep == "neurons" else "layers"
        p, se = fit_exponent([r[key] for r in sel], [r["step_s"] for r in sel])
        pm, sem = (
            fit_exponent([r[key] for r in sel], [r["extra_mib"] for r in sel])
            if sel and all(r["extra_mib"] for r in sel)
            else (float("nan"), float("nan"))
        )
        out += [
            f"### Against {'neurons per side' if sweep == 'neurons' else 'layers'} ({fixed})",
            "",
            table(
                [
                    [
                        r[key],
                        f"{r['step_s']:.3g}",
                        "-" if r["cpu_s"] is None else f"{r['cpu_s']:.3g}",
                        _mib(r["extra_mib"]),
                        _mib(r["peak_mib"]),
                    ]
                    for r in sel
                ],
                [
                    "neurons per side" if sweep == "neurons" else "layers",
                    "step s (wall)",
                    "step s (CPU)",
                    "step extra MiB",
                    "peak MiB",
                ],
            ),
            "",
            f"Fitted exponent of the step time in {key}: {p:.2f} +- {se:.2f}; of the step's "
            f"extra memory: {pm:.2f} +- {sem:.2f}.",
            "",
        ]
    where = (
        "every point in a fresh process (benchmarks.recompute's child, one torch thread): "
        "step extra = resident high-water mark during a step above the resident size "
        "before it; peak = that high-water mark"
        if device.type == "cpu"
        else "torch.cuda.max_memory_allocated during the timed steps (peak) and above the "
        "memory allocated before them (step extra)"
    )
    return "\n".join(
        [
            "D2NN training step (forward, cross-entropy, backward), complex64, bl-asm with 2x "
            "padding (FFTs of 2N x 2N for N x N neurons), 0.4 mm pitch, 0.75 mm wavelength, "
            f"1 cm between layers, 28 x 28 images resized to N/2. Time: median of {steps} "
            f"steps after a warm-up step. Memory: {where}.",
            "",
            *out,
        ]
    )


def d2nn_plot(rows, path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, sweep, key, label in (
        (axes[0], "neurons", "size", "neurons per side"),
        (axes[1], "layers", "layers", "layers"),
    ):
        sel = [r for r in rows if r["sweep"] == sweep]
        xs = [r[key] for r in sel]
        # the process's CPU time when measured (one thread: the less disturbed by load)
        cpu = all(r["cpu_s"] for r in sel)
        ts = [r["cpu_s"] if cpu else r["step_s"] for r in sel]
        ax.loglog(xs, ts, "o-", color="C0")
        ax.set_xlabel(label)
        ax.set_ylabel(f"step time [s, {'CPU' if cpu else 'wall'}]", color="C0")
        _ticks(ax, xs)
        ax.grid(True, which="both", alpha=0.3)
        if all(r["peak_mib"] for r in sel):
            ax2 = ax.twinx()
            ax2.set_yscale("log")
            ax2.plot(xs, [r["extra_mib"] for r in sel], "s--", color="C1")
            ax2.set_ylabel("step extra memory [MiB]", color="C1")
        ax.set_title(f"D2NN training step vs {label}")
    _save(fig, path)


# -- meshes ------------------------------------------------------------------------------
def mesh_curve(sizes, repeats, device) -> list[dict]:
    from photonn.onchip import FFTMesh, MZIMesh

    torch.set_num_threads(1)
    rows = []
    for n in sizes:
        g = torch.Generator().manual_seed(n)
        x = torch.randn(MESH_BATCH, n, dtype=torch.complex64, generator=g).to(device)
        W = torch.randn(n, n, dtype=torch.complex64, generator=g).to(device).requires_grad_()
        meshes = {
            "clements": MZIMesh(n, init="haar", generator=g, device=device),
            "reck": MZIMesh(n, "reck", init="haar", generator=g, device=device),
            "fftmesh": FFTMesh(n, init="random", generator=g, device=device),
        }

        def step(m, x=x):
            def run():
                m.zero_grad(set_to_none=True)
                y = m(x)
                (y.real**2 + y.imag**2).sum().backward()

            return run

        def dense(x=x, W=W):
            W.grad = None
            y = x @ W.T
            (y.real**2 + y.imag**2).sum().backward()

        fns = {"dense": dense, **{k: step(m) for k, m in meshes.items()}}
        reps = repeats_for(n, 64, repeats)
        wall, cpu = wall_and_cpu(fns, reps, device)
        row = {"n": n, "batch": MESH_BATCH, "repeats": reps, **wall}
        if cpu is not None:
            row.update({f"{k}_cpu": v for k, v in cpu.items()})
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
    return rows


MESHES = ("clements", "reck", "fftmesh")


def _mesh_table(rows, suffix: str) -> str:
    t = [
        [
            r["n"],
            r["repeats"],
            f"{r['dense' + suffix] * 1e3:.3g}",
            *(f"{r[k + suffix] * 1e3:.3g}" for k in MESHES),
            *(f"{r[k + suffix] / r['dense' + suffix]:.1f}" for k in MESHES),
        ]
        for r in rows
    ]
    heads = ["N", "repeats", "dense ms", *(f"{k} ms" for k in MESHES)]
    return table(t, heads + [f"{k} / dense" for k in MESHES])


def mesh_report(rows) -> str:
    cpu = bool(rows) and "dense_cpu" in rows[0]
    key = "_cpu" if cpu else ""
    fits = []
    for k in ("dense", *MESHES):
        p, se = fit_exponent([r["n"] for r in rows], [r[k + key] for r in rows])
        fits.append([k, f"{p:.2f}", f"{se:.2f}"])
    parts = [
        f"Forward + backward (loss sum |y|^2, gradients to the phases or to W) of a batch "
        f"of {MESH_BATCH} complex64 vectors, one torch thread, medians of interleaved "
        "runs [ms]; random phases (Haar for Clements and Reck). Each MZIMesh picks its "
        "own path (columns or matrix, functional.mzi_mesh.prefer_matrix); FFTMesh runs "
        "its log2 N butterfly stages on the batch.",
        "",
    ]
    if cpu:
        parts += [
            "CPU time of the process (one thread: the time each call computed; a "
            "loaded machine inflates it far less than the wall time):",
            "",
            _mesh_table(rows, "_cpu"),
            "",
            "Wall time:",
            "",
        ]
    parts += [
        _mesh_table(rows, ""),
        "",
        f"Fitted exponent p of {'CPU ' if cpu else ''}time ~ N^p over these N (standard "
        "error from the residuals):",
        "",
        table(fits, ["impl", "p", "std err"]),
    ]
    return "\n".join(parts)


def mesh_plot(rows, path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [r["n"] for r in rows]
    key = "_cpu" if rows and "dense_cpu" in rows[0] else ""
    for k, style in (("dense", "k--"), ("clements", "o-"), ("reck", "s-"), ("fftmesh", "^-")):
        ax.loglog(ns, [r[k + key] for r in rows], style, label=k)
    ax.set_ylabel(f"forward + backward [s, {'CPU' if key else 'wall'}]")
    ax.set_xlabel("modes N")
    _ticks(ax, ns)
    ax.set_title(f"meshes vs dense matmul, batch {MESH_BATCH}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path)


# -- multivariate solver -----------------------------------------------------------------
def multivariate_curve(replicas, batches, repeats, device, quick) -> list[dict]:
    from photonn.models import MultivariatePNN

    torch.set_num_threads(1)
    n, classes = (16, 3) if quick else (MV_FEATURES, MV_CLASSES)
    rows = []
    points = [("replicas", r, MV_BATCH if not quick else 4) for r in replicas]
    points += [("batch", 1, b) for b in batches]
    for sweep, R, B in points:
        g = torch.Generator().manual_seed(0)
        model = MultivariatePNN(n, classes, R, generator=g, device=device)
        x = torch.randn(B, n, generator=g).to(device)
        labels = torch.randint(0, classes, (B,), generator=g).to(device)

        def step(model=model, x=x, labels=labels):
            model.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), labels).backward()

        reps = max(3, repeats // 3) if R * B > 128 else repeats
        wall, cpu = wall_and_cpu({"step": step}, reps, device)
        rows.append(
            {
                "sweep": sweep,
                "replicas": R,
                "batch": B,
                "n": n,
                "repeats": reps,
                "step_s": wall["step"],
                "cpu_s": None if cpu is None else cpu["step"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def multivariate_report(rows) -> str:
    cpu = bool(rows) and rows[0].get("cpu_s") is not None
    out = []
    for sweep, key in (("replicas", "replicas"), ("batch", "batch")):
        sel = [r for r in rows if r["sweep"] == sweep]
        p, se = fit_exponent([r[key] for r in sel], [r["cpu_s" if cpu else "step_s"] for r in sel])
        head = (
            f"replicas R (batch {sel[0]['batch']})" if sweep == "replicas" else "the batch (R = 1)"
        )
        cells = [[r[key], r["repeats"], f"{r['step_s'] * 1e3:.3g}"] for r in sel]
        heads = [key, "repeats", "step ms (wall)"]
        if cpu:
            cells = [c + [f"{r['cpu_s'] * 1e3:.3g}"] for c, r in zip(cells, sel)]
            heads.append("step ms (CPU)")
        out += [
            f"### Against {head}",
            "",
            table(cells, heads),
            "",
            f"Fitted exponent of the step's {'CPU' if cpu else 'wall'} time in {key}: "
            f"{p:.2f} +- {se:.2f}.",
            "",
        ]
    n = rows[0]["n"] if rows else MV_FEATURES
    return "\n".join(
        [
            f"MultivariatePNN({n} inputs, default solver) training step (forward, "
            "cross-entropy, backward to every parameter), complex64, one torch thread; "
            "each point the median of its repeats, one point after the other (CPU time: "
            "the process's, which a loaded machine inflates far less than the wall time).",
            "",
            *out,
        ]
    )


def multivariate_plot(rows, path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, sweep, key in ((axes[0], "replicas", "replicas"), (axes[1], "batch", "batch")):
        sel = [r for r in rows if r["sweep"] == sweep]
        cpu = all(r.get("cpu_s") for r in sel)
        ax.loglog([r[key] for r in sel], [r["cpu_s" if cpu else "step_s"] for r in sel], "o-")
        ax.set_ylabel(f"step time [s, {'CPU' if cpu else 'wall'}]")
        ax.set_xlabel(key)
        _ticks(ax, [r[key] for r in sel])
        ax.set_title(f"multivariate PNN step vs {key}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("step time [s]")
    _save(fig, path)


# -- plumbing ----------------------------------------------------------------------------
def _ticks(ax, xs) -> None:
    """The measured x values as plain tick labels (no crowded minor labels)."""
    from matplotlib.ticker import NullFormatter

    xs = sorted(set(xs))
    ax.set_xticks(xs)
    ax.set_xticklabels([str(x) for x in xs])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    from photonn._io import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    _pyplot().close(fig)


TITLES = {
    "propagation": "Scaling: propagation time against the grid, against bare torch.fft",
    "d2nn": "Scaling: D2NN training step time and memory against neurons and layers",
    "mesh": "Scaling: MZI and butterfly meshes against a dense matmul, by modes",
    "multivariate": "Scaling: multivariate PNN step against replicas and batch",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curves", nargs="+", choices=CURVES, default=list(CURVES))
    ap.add_argument("--quick", action="store_true", help="smoke sizes, few repeats")
    ap.add_argument("--repeats", type=positive_int, default=None, help="at the small sizes")
    ap.add_argument("--threads", type=positive_int, nargs="+", default=None)
    ap.add_argument(
        "--no-memory",
        action="store_true",
        help="D2NN in this process, no fresh-process memory (CPU: time only)",
    )
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ap.add_argument(
        "--replot",
        action="store_true",
        help="only redraw the PNGs of --curves from their JSON in --out (no measurement)",
    )
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    sizes = SIZES["quick" if args.quick else device.type]
    repeats = args.repeats or (3 if args.quick else 15)
    threads = args.threads or ([1] if args.quick else [1, 2])
    steps = 2 if args.quick else 3
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        for curve in args.curves:
            rows = json.loads((out / f"scaling_{curve}.json").read_text())
            path = out / f"scaling_{curve}.png"
            if curve == "propagation":
                propagation_plot(rows, sorted({r["threads"] for r in rows}), path)
            else:
                {"d2nn": d2nn_plot, "mesh": mesh_plot, "multivariate": multivariate_plot}[curve](
                    rows, path
                )
            print(path)
        return 0
    for curve in args.curves:
        name = f"scaling_{curve}"
        run = Run(name, TITLES[curve], argv, device, repeats, default_repeats=15)
        if curve == "propagation":
            rows = propagation_curve(sizes["propagation"], threads, repeats, device)
            body = propagation_report(rows, threads)
            plot = lambda p, rows=rows: propagation_plot(rows, threads, p)  # noqa: E731
        elif curve == "d2nn":
            rows = d2nn_curve(sizes["neurons"], sizes["layers"], steps, device, not args.no_memory)
            body = d2nn_report(rows, steps, device)
            plot = lambda p, rows=rows: d2nn_plot(rows, p)  # noqa: E731
        elif curve == "mesh":
            rows = mesh_curve(sizes["mesh"], repeats, device)
            body = mesh_report(rows)
            plot = lambda p, rows=rows: mesh_plot(rows, p)  # noqa: E731
        else:
            rows = multivariate_curve(
                sizes["replicas"], sizes["batches"], repeats, device, args.quick
            )
            body = multivariate_report(rows)
            plot = lambda p, rows=rows: multivariate_plot(rows, p)  # noqa: E731
        if not args.no_plots:
            plot(out / f"{name}.png")
            body += f"\n\n![{curve} scaling]({name}.png)"
        from photonn._io import atomic_write_text

        atomic_write_text(out / f"{name}.json", json.dumps(rows, indent=1) + "\n")
        print(run.write(out, body), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
