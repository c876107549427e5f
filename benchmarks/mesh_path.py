"""MZI mesh: which forward path is faster, by batch, against a dense complex matmul.

    python -m benchmarks.mesh_path                  # N = 64, batches 16 .. 1024
    python -m benchmarks.mesh_path --n 64 128 --batches 256

``photonn.onchip.MZIMesh.forward`` either runs the butterflies column by column on the
batch ("columns") or builds the mesh matrix once and multiplies ("matrix");
``photonn.functional.mzi_mesh.prefer_matrix`` chooses. Both paths are timed here,
forced, forward + backward (loss sum |y|^2, gradients to the mesh phases), with the
dense ``x @ W.T`` of a trainable complex64 ``W`` as the floor; medians of interleaved
runs in one process, one thread (each path alternating with the dense floor alone, so
that one path's memory traffic does not slow another's runs). The "chosen" column is
the path ``prefer_matrix`` picks, and "chosen / best" what that choice costs.

What bounds the matrix path: it is the dense GEMM with its backward, plus composing
``U`` (forward and backward). Composing cuts the ``L`` columns into ``nb`` blocks of
``g`` (``functional.mzi_mesh._block_size``), runs the blocks' butterflies on band
windows, and multiplies the ``nb`` block matrices in a tree: ``nb - 1`` dense
``N x N`` GEMMs forward and ``2 (nb - 1)`` backward. The "tree ms" column times that
tree alone (random blocks, forward + backward) and "tree floor / dense" is
``(dense + tree) / dense``: what the matrix path would cost if the butterflies and
the phase-to-coefficient algebra were free. Both ratios are also given in the
process's CPU time.

A second table takes the composition apart at batch ``--compose-batch``, for
every block size ``g`` (even, ``nb = ceil(L / g)`` blocks): the phase-to-coefficient
algebra ("coef"), composing ``U`` from the coefficients (butterflies and tree,
forward + backward, "compose"), the tree alone, and the ratio
``(dense + coef + compose) / dense``, which no choice of ``g`` in this method can beat
(it leaves out only the GEMM of ``U`` with the batch, which costs what the dense floor
does). CPU time of the process, medians of interleaved runs.
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
    ap.add_argument(
        "--compose-batch",
        type=positive_int,
        default=256,
        help="the batch of the block-size table (default 256)",
    )
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

            # each path is interleaved with the dense floor on its own: a third,
            # memory-hungry path (the columns') between two dense runs makes the dense
            # run fault fresh pages and look slower than it is in a training loop
            times, cpu = {}, {}
            for k, f in {"columns": columns, "matrix": matrix, "tree": tree}.items():
                t, c = _pair(f, dense, args.repeats)
                times[k], cpu[k] = t[0], c[0]
                times.setdefault("dense", []).extend(t[1])
                cpu.setdefault("dense", []).extend(c[1])
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
    parts = [_decompose(n, args.compose_batch, args.repeats) for n in args.n]
    body = "\n".join(
        [
            "Forward + backward, complex64, one thread, medians of "
            f"{args.repeats} runs of each path alternating with the dense floor [ms] (dense: "
            "the median over the three pairings); Clements mesh. When the load average "
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
            "",
            f"Composition by block size (batch {args.compose_batch}; CPU time of the process, "
            f"medians of {args.repeats} interleaved runs [ms]; `*` marks the block size "
            "that `_block_size` picks):",
            "",
            table(
                [r for part in parts for r in part],
                [
                    "N",
                    "g",
                    "blocks nb",
                    "dense ms",
                    "coef ms",
                    "compose ms",
                    "tree ms",
                    "(dense + coef + compose) / dense",
                ],
            ),
        ]
    )
    print(run.write(args.out, body))
    return 0


def _pair(f, dense, repeats):
    """Wall and CPU times [s] of ``f`` and ``dense`` run alternately (after a warm-up)."""
    f()
    dense()
    wall, cpu = ([], []), ([], [])
    for _ in range(repeats):
        for i, g in enumerate((f, dense)):
            t0, c0 = time.perf_counter(), time.process_time()
            g()
            wall[i].append(time.perf_counter() - t0)
            cpu[i].append(time.process_time() - c0)
    return wall, cpu


def _decompose(n: int, batch: int, repeats: int):
    """Rows of the block-size table for ``n`` modes (see the module docstring)."""
    import torch

    from photonn.functional.mzi import mzi_entries
    from photonn.functional.mzi_mesh import _block_size, _tree, mesh_coefficients, mesh_matrix
    from photonn.onchip import MZIMesh

    mesh = MZIMesh(n)
    layout = mesh.layout
    L = layout.n_columns
    chosen = _block_size(n, L)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, n, dtype=torch.complex64, generator=gen)
    W = torch.randn(n, n, dtype=torch.complex64, generator=gen, requires_grad=True)
    G = torch.randn(n, n, dtype=torch.complex64, generator=gen)
    theta = mesh.theta.detach().clone().requires_grad_()
    phi = mesh.phi.detach().clone().requires_grad_()
    a0, b0 = mesh_coefficients(*mzi_entries(theta.detach(), phi.detach()), layout)
    a = a0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    gs = sorted({g for g in (2, 4, 8, 16, 32, chosen) if g <= max(L, 2)})
    fns = {
        "dense": lambda: (x @ W.T).abs().square().sum().backward(),
        "coef": lambda: sum(
            c.real.sum() + c.imag.sum() for c in mesh_coefficients(*mzi_entries(theta, phi), layout)
        ).backward(),
    }
    blocks = {}
    for g in gs:
        nb = -(-L // g)
        blocks[g] = torch.randn(nb, n, n, dtype=torch.complex64, generator=gen, requires_grad=True)
        fns[f"compose{g}"] = lambda g=g: (
            (mesh_matrix(a, b, layout, block=g) * G).real.sum().backward()
        )
        fns[f"tree{g}"] = lambda g=g: (_tree(blocks[g], None) * G).real.sum().backward()
    cpu = {k: [] for k in fns}
    for f in fns.values():  # warm-up
        f()
    for _ in range(repeats):
        for k, f in fns.items():
            c0 = time.process_time()
            f()
            cpu[k].append(time.process_time() - c0)
    med = {k: statistics.median(v) * 1e3 for k, v in cpu.items()}
    rows = []
    for g in gs:
        total = med["dense"] + med["coef"] + med[f"compose{g}"]
        rows.append(
            [
                n,
                f"{g}*" if g == chosen else g,
                -(-L // g),
                f"{med['dense']:.3f}",
                f"{med['coef']:.3f}",
                f"{med[f'compose{g}']:.3f}",
                f"{med[f'tree{g}']:.3f}",
                f"{total / med['dense']:.2f}",
            ]
        )
        print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
