"""Structured-mesh speed: photonn's butterfly ``FFTMesh`` and permuting rectangular
``PermutingMesh`` against its Clements ``MZIMesh`` and a dense complex matmul, forward
and forward+backward, in one process.

    python benchmarks/structured_mesh.py                  # N = 64 and 256, 1 thread
    python benchmarks/structured_mesh.py --threads 2 --repeats 30

Case: an N-mode mesh (random phases) applied to a batch of 256 complex64 vectors; the
loss for the backward pass is ``sum |y|^2``. Timings are medians of interleaved
repeats (benchmarks._timing.median_times); ratios are against the dense matmul of the
same repeat set. The Clements mesh picks its own path (photonn.functional.mzi_mesh:
matrix build then one GEMM for this batch); the butterfly runs its log2 N stages on
the batch directly.

Writes ``benchmarks/results/structured_mesh.md`` (``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_times, positive_int, table
from photonn.onchip import FFTMesh, MZIMesh, PermutingMesh, mesh_cost

BATCH = 256


def _cases(mesh, x):
    def fwd():
        with torch.no_grad():
            return mesh(x)

    def fwdbwd():
        mesh.zero_grad(set_to_none=True)
        y = mesh(x)
        (y.real**2 + y.imag**2).sum().backward()

    return fwd, fwdbwd


def dense_case(n, gen):
    W = torch.randn(n, n, dtype=torch.complex64, generator=gen).requires_grad_()
    x = torch.randn(BATCH, n, dtype=torch.complex64, generator=gen)

    def fwd():
        with torch.no_grad():
            return x @ W.T

    def fwdbwd():
        W.grad = None
        y = x @ W.T
        (y.real**2 + y.imag**2).sum().backward()

    return fwd, fwdbwd


def run(sizes, repeats):
    rows = []
    for n in sizes:
        gen = torch.Generator().manual_seed(n)
        x = torch.randn(BATCH, n, dtype=torch.complex64, generator=gen)
        cases = {
            "dense": dense_case(n, gen),
            "clements": _cases(MZIMesh(n, init="haar", generator=gen), x),
            "butterfly": _cases(FFTMesh(n, init="random", generator=gen), x),
            "permuting": _cases(PermutingMesh(n, init="pai", generator=gen), x),
        }
        reps = repeats if n <= 64 else max(3, repeats // 3)
        fwd = median_times({k: v[0] for k, v in cases.items()}, reps)
        bwd = median_times({k: v[1] for k, v in cases.items()}, reps)
        cost = mesh_cost(n)
        for name in ("dense", "clements", "permuting", "butterfly"):
            c = cost.get(name, {"depth": "-", "n_mzi": "-", "n_phases": "-"})
            rows.append(
                [
                    n,
                    name,
                    c["n_mzi"],
                    c["n_phases"],
                    c["depth"],
                    f"{fwd[name] * 1e3:.3f}",
                    f"{fwd[name] / fwd['dense']:.2f}",
                    f"{bwd[name] * 1e3:.3f}",
                    f"{bwd[name] / bwd['dense']:.2f}",
                ]
            )
        print(f"N={n}: done", file=sys.stderr)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[64, 256])
    ap.add_argument("--repeats", type=positive_int, default=30)
    ap.add_argument("--threads", type=positive_int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    rows = run(args.sizes, args.repeats)
    load = max(load, os.getloadavg()[0])
    headers = [
        "N",
        "mesh",
        "MZIs",
        "phases",
        "depth",
        "fwd [ms]",
        "fwd / dense",
        "fwd+bwd [ms]",
        "fwd+bwd / dense",
    ]
    text = "\n".join(
        [
            "# Structured meshes: butterfly (FFTMesh), permuting (PermutingMesh), Clements "
            "(MZIMesh), dense matmul",
            "",
            f"batch {BATCH} complex64 vectors, torch {torch.__version__}, "
            f"{args.threads} thread(s), {platform.processor() or platform.machine()}, "
            f"median of {args.repeats} interleaved repeats (N > 64: a third); shared, noisy "
            f"machine (load average up to {load:.1f} on {os.cpu_count()} cores during the run): "
            "read the ratios, not the absolute times.",
            "",
            f"Command: `python benchmarks/structured_mesh.py --sizes "
            f"{' '.join(map(str, args.sizes))} --repeats {args.repeats} --threads {args.threads}`",
            "",
            table(rows, headers),
            "",
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "structured_mesh.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    print(text)


if __name__ == "__main__":
    main()
