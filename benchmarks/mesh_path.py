"""MZI mesh: which forward path is faster, by batch, against a dense complex matmul.

    python -m benchmarks.mesh_path                  # N = 64, batches 16 .. 1024
    python -m benchmarks.mesh_path --n 64 128 --batches 256

``photonn.onchip.MZIMesh.forward`` either runs the butterflies column by column on the
batch ("columns") or builds the mesh matrix once and multiplies ("matrix");
``photonn.functional.mzi_mesh.prefer_matrix`` chooses. Both paths are timed here,
forced, forward + backward (loss sum |y|^2, gradients to the mesh phases), with the
dense ``x @ W.T`` of a trainable complex64 ``W`` as the floor; medians of interleaved
runs in one process, one thread. The "chosen" column is the path ``prefer_matrix``
picks, and "chosen / best" what that choice costs.

What bounds the matrix path: it is the dense GEMM with its backward, plus composing
``U`` (forward and backward). Composing cuts the ``L`` columns into ``nb`` blocks of
``g`` (``functional.mzi_mesh._block_size``), runs the blocks' butterflies on band
windows, and multiplies the ``nb`` block matrices in a tree: ``nb - 1`` dense
``N x N`` GEMMs forward and ``2 (nb - 1)`` backward. The "tree ms" column times that
tree alone (random blocks, forward + backward) and "tree floor / dense" is
``(dense + tree) / dense``: what the matrix path would cost if the butterflies and
the phase-to-coefficient algebra were free. Both ratios are also given in the
process's CPU time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    import torch

    import photonn.onchip.mesh as mesh_mod
    from benchmarks._report import Run, add_output_argument
    from benchmarks._timing import positive_int, table
    from photonn.functional.mzi_mesh import _block_size, _tree, prefer_matrix
    from photonn.onchip import MZIMesh

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=positive_int, nargs="+", default=[64])
    ap.add_argument("--batches", type=positive_int, nargs="+", default=[16, 64, 256, 1024])
    ap.add_argument("--repeats", type=positive_int, default=15)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    run = Run(
        "mesh_path",
        "MZI mesh: column path vs matrix path vs dense matmul",
        argv,
        "cpu",
        args.repeats,
        default_repeats=15,
    )
    original = mesh_mod.prefer_matrix
    rows = []
    for n in args.n:
        mesh = MZIMesh(n)
        W = torch.randn(n, n, dtype=torch.complex64, requires_grad=True)
        L = mesh.layout.n_columns
        nb = -(-L // _block_size(n, L))
        blocks = torch.randn(nb, n, n, dtype=torch.complex64, requires_grad=True)
        for batch in args.batches:
            x = torch.randn(batch, n, dtype=torch.complex64)

            def columns(mesh=mesh, x=x):
                mesh_mod.prefer_matrix = lambda *a: False
                mesh(x).abs().square().sum().backward()

            def matrix(mesh=mesh, x=x):
                mesh_mod.prefer_matrix = lambda *a: True
                mesh(x).abs().square().sum().backward()

            def dense(x=x, W=W):
                (x @ W.T).abs().square().sum().backward()

            def tree(blocks=blocks):
                _tree(blocks, None).abs().square().sum().backward()

            fns = {"columns": columns, "matrix": matrix, "dense": dense, "tree": tree}
            times = {k: [] for k in fns}
            cpu = {k: [] for k in fns}
            for f in fns.values():  # warm-up
                f()
            for _ in range(args.repeats):
                for k, f in fns.items():
                    t0, c0 = time.perf_counter(), time.process_time()
                    f()
                    times[k].append(time.perf_counter() - t0)
                    cpu[k].append(time.process_time() - c0)
            mesh_mod.prefer_matrix = original
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            mc = {k: statistics.median(v) * 1e3 for k, v in cpu.items()}
            chosen = "matrix" if prefer_matrix(batch, n, mesh.layout.n_columns) else "columns"
            best = min(med["columns"], med["matrix"])
            rows.append(
                [
                    n,
                    batch,
                    f"{med['columns']:.3f}",
                    f"{med['matrix']:.3f}",
                    f"{med['dense']:.3f}",
                    chosen,
                    f"{med[chosen] / med['dense']:.2f}",
                    f"{med[chosen] / best:.2f}",
                    nb,
                    f"{med['tree']:.3f}",
                    f"{(med['dense'] + med['tree']) / med['dense']:.2f}",
                    f"{mc[chosen] / mc['dense']:.2f}",
                    f"{(mc['dense'] + mc['tree']) / mc['dense']:.2f}",
                ]
            )
            print(rows[-1], flush=True)
    body = "\n".join(
        [
            "Forward + backward, complex64, one thread, medians of "
            f"{args.repeats} interleaved runs [ms]; Clements mesh. When the load average "
            "(header) exceeds the core count, other processes shared the CPU: the matrix "
            "path's many small element-wise operations then slow down more than the GEMMs "
            "(dense, tree), so compare runs by their ratios and their load. The last two "
            "columns are the same ratios in the process's CPU time (one thread: the time "
            "each call computed), which a loaded machine inflates far less.",
            "",
            table(
                rows,
                [
                    "N",
                    "batch",
                    "columns ms",
                    "matrix ms",
                    "dense ms",
                    "chosen",
                    "chosen / dense",
                    "chosen / best",
                    "blocks nb",
                    "tree ms",
                    "tree floor / dense",
                    "chosen / dense (CPU)",
                    "tree floor / dense (CPU)",
                ],
            ),
        ]
    )
    print(run.write(args.out, body))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
