"""photonn's structured meshes next to neurophox's: numerical agreement and speed.

Run with the peer environment (neurophox 0.1.0a4 on TensorFlow, with the numpy-alias
shims), the project importable:

    PYTHONPATH=. /work/peers/bin/python benchmarks/peers_structured_mesh.py \
        --shims /work/shared/peers

Without neurophox the script says so and exits 0 without writing anything.

**Agreement.** neurophox's rectangular (``RMNumpy``), permuting rectangular
(``PRMNumpy``) and butterfly (``BMNumpy``) meshes are set to their own random phases
(float64 numpy). Their MZI is not photonn's: neurophox's block carries a
``theta``-dependent common phase and its phases sit on other arms, so no per-MZI
formula maps one onto the other. Every 2x2 unitary ``B`` factors exactly as
``B = diag(e^{ia}, e^{ib}) T(theta, phi)`` with photonn's
``T = [[e^{i phi} cos theta, -sin theta], [e^{i phi} sin theta, cos theta]]``
(:func:`factor_u2`); the script walks both meshes stage by stage, following each
physical waveguide through both libraries' permutations, absorbs the pending phases of
the two input waveguides into the neurophox block, factors it, gives ``theta, phi`` to
the photonn MZI on the same two waveguides and carries ``e^{ia}, e^{ib}`` on; at the
end the carried phases are photonn's output screen. A neurophox block on two
waveguides that photonn does not join must be diagonal (its masked MZIs in the bar
state): its phases are carried too. The two matrices are then compared in complex128.

Tolerance: each stage adds a few float64 roundings to each entry (a 2x2 product, an
``angle``/``atan2`` and a ``polar`` per phase: below 16 eps), and unitary stages do
not amplify earlier errors, so after ``L`` stages the entries differ by less than
``16 L eps`` (``L`` = columns: N for the rectangular and permuting meshes, log2 N for
the butterfly). The script fails if an error exceeds it.

**Speed.** neurophox's PyTorch layers (``RMTorch``, ``PRMTorch``, ``BMTorch``; float32
phases, complex numbers as a leading real axis of 2) against photonn's ``MZIMesh``,
``PermutingMesh`` and ``FFTMesh`` (complex64: the same precision), a batch of 256
vectors, forward and forward+backward (loss ``sum |y|^2``), medians of interleaved
repeats in one process with equal threads; ratios neurophox / photonn.

Writes ``benchmarks/results/peers_structured_mesh.md`` (``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import cmath
import math
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_times, positive_int, table
from photonn.onchip import FFTMesh, MZIMesh, PermutingMesh

BATCH = 256
EPS = float(np.finfo(np.float64).eps)


def patch_neurophox_butterfly(helpers) -> None:
    """neurophox 0.1.0a4's ``butterfly_layer_permutation`` passes a generator to
    ``np.hstack``, which NumPy >= 1.24 refuses ("arrays to stack must be passed as a
    sequence"); the same function with a list."""

    def butterfly_layer_permutation(units: int, frequency: int):
        if units % 2:
            raise NotImplementedError("Odd input dimension case not yet implemented.")
        idx = np.arange(units)
        num_splits = units // frequency
        rest = idx[num_splits * frequency :]
        parts = [
            np.hstack([[i, i + frequency] for i in range(frequency)]) + 2 * frequency * k
            for k in range(num_splits // 2)
        ]
        return np.hstack(parts + [rest]).astype(np.int32)

    helpers.butterfly_layer_permutation = butterfly_layer_permutation


# ---- the convention map ----------------------------------------------------------------
def factor_u2(B: np.ndarray) -> tuple[float, float, float, float]:
    """``(a, b, theta, phi)`` with ``B = diag(e^{ia}, e^{ib}) T(theta, phi)`` for a 2x2
    unitary ``B`` (``T`` photonn's MZI, docs/architecture.md)."""
    c = (abs(B[0, 0]) + abs(B[1, 1])) / 2
    s = (abs(B[0, 1]) + abs(B[1, 0])) / 2
    theta = math.atan2(s, c)
    tiny = 1e-300
    if c >= s:
        b = cmath.phase(B[1, 1])
        phi = cmath.phase(B[1, 0]) - b if s > tiny else 0.0
        a = cmath.phase(B[0, 0]) - phi
    else:
        a = cmath.phase(-B[0, 1])
        phi = cmath.phase(B[0, 0]) - a if c > tiny else 0.0
        b = cmath.phase(B[1, 0]) - phi
    return a, b, theta, phi


def photonn_stages(mesh):
    """photonn's mesh as stages ``(gather or None, [(first, second, mzi index), ...])``
    on positions (MZIs act in place)."""
    stages = []
    if isinstance(mesh, MZIMesh):
        lay = mesh.layout
        for c in range(lay.n_columns):
            mz = [(m, m + 1, k) for k, (cc, m) in enumerate(zip(lay.columns, lay.tops)) if cc == c]
            stages.append((None, mz))
    elif isinstance(mesh, PermutingMesh):
        lay = mesh.layout
        for b, (blk, off) in enumerate(zip(lay.blocks, lay.offsets)):
            for c in range(blk.n_columns):
                mz = [
                    (m, m + 1, off + k)
                    for k, (cc, m) in enumerate(zip(blk.columns, blk.tops))
                    if cc == c
                ]
                gather = lay.perms[b - 1] if (b and c == 0) else None
                stages.append((gather, mz))
    elif isinstance(mesh, FFTMesh):
        lay, h = mesh.layout, mesh.n // 2
        for s in range(lay.n_stages):
            mz = [(f, g, s * h + k) for k, (f, g) in enumerate(zip(lay.first[s], lay.second[s]))]
            stages.append((lay.input_perm if s == 0 else None, mz))
    else:
        raise TypeError(type(mesh).__name__)
    return stages


def neurophox_stages(layer):
    """neurophox's numpy mesh as stages ``(gather, blocks, diagonal, final gather)``:
    ``blocks`` are ``(p, p + 1, B)`` with ``B`` the column-convention 2x2 on positions."""
    out = []
    n = layer.units
    for ml in layer.mesh_layers:
        T = ml.tunable_layer.T  # row convention (x @ T) -> column convention
        blocks = [(p, p + 1, T[p : p + 2, p : p + 2]) for p in range(0, n - 1, 2)]
        diag = {n - 1: T[n - 1, n - 1]} if n % 2 else {}
        out.append((ml.left_perm_idx, blocks, diag, ml.right_perm_idx))
    return out


def map_phases(layer, mesh, inputs=None) -> np.ndarray:
    """Set ``mesh`` (photonn) to neurophox ``layer``'s transfer matrix through the
    convention map. Waveguides are named by photonn's input index; neurophox's input
    ``i`` is photonn's input ``inputs[i]`` (default: the same). Returns the output-row
    permutation (identity when both libraries put the same waveguide on each output)."""
    n = layer.units
    inputs = list(range(n)) if inputs is None else list(inputs)
    gamma = np.asarray(layer.phases.input_phase_shift_layer, dtype=np.complex128).ravel()
    carry = {inputs[i]: gamma[i] for i in range(n)}  # pending phase per waveguide
    wire_n, wire_p = list(inputs), list(range(n))
    theta = np.zeros(mesh.layout.n_mzi)
    phi = np.zeros(mesh.layout.n_mzi)
    set_ = np.zeros(mesh.layout.n_mzi, dtype=bool)
    pst, nst = photonn_stages(mesh), neurophox_stages(layer)
    if len(pst) != len(nst):
        raise ValueError(f"{len(nst)} neurophox stages against {len(pst)} photonn stages")
    for (pg, pmz), (ng, blocks, diag, nr) in zip(pst, nst):
        if ng is not None:
            wire_n = [wire_n[i] for i in ng]
        if pg is not None:
            wire_p = [wire_p[i] for i in pg]
        by_wires = {frozenset((wire_p[f], wire_p[g])): (wire_p[f], wire_p[g], k) for f, g, k in pmz}
        for p, q, B in blocks:
            w1, w2 = wire_n[p], wire_n[q]
            Beff = B @ np.diag([carry[w1], carry[w2]])
            hit = by_wires.pop(frozenset((w1, w2)), None)
            if hit is None:
                if abs(Beff[0, 1]) + abs(Beff[1, 0]) > 1e-12:
                    raise ValueError(f"neurophox couples waveguides {w1}, {w2}; photonn does not")
                carry[w1], carry[w2] = Beff[0, 0], Beff[1, 1]
                continue
            wf, ws, k = hit
            if (wf, ws) != (w1, w2):
                Beff = Beff[::-1, ::-1]
            a, b, theta[k], phi[k] = factor_u2(Beff)
            set_[k] = True
            carry[wf], carry[ws] = cmath.exp(1j * a), cmath.exp(1j * b)
        if by_wires:
            raise ValueError(f"photonn MZIs without a neurophox block: {sorted(by_wires.values())}")
        for p, v in diag.items():
            carry[wire_n[p]] *= v
        if nr is not None:
            wire_n = [wire_n[i] for i in nr]
    assert set_.all()
    with torch.no_grad():
        mesh.theta.copy_(torch.from_numpy(theta))
        mesh.phi.copy_(torch.from_numpy(phi))
        out = [cmath.phase(carry[w]) for w in wire_p]
        mesh.output_phase.copy_(torch.tensor(out, dtype=torch.float64))
    # photonn output q carries waveguide wire_p[q]; neurophox output p carries wire_n[p]
    where = {w: p for p, w in enumerate(wire_n)}
    return np.array([where[w] for w in wire_p])


def agreement(nx, sizes):
    rows = []
    for n in sizes:
        np.random.seed(n)  # noqa: NPY002 (neurophox draws its phases from the global state)
        k = int(round(math.log2(n)))
        same = list(range(n))
        cases = [
            ("rectangular", nx.RMNumpy(n), MZIMesh(n, dtype=torch.complex128), n, same),
            (
                "permuting rectangular",
                nx.PRMNumpy(n),
                PermutingMesh(n, dtype=torch.complex128),
                n,
                same,
            ),
        ]
        if 2**k == n:
            # photonn's butterfly takes its inputs in bit-reversed order (decimation in
            # time), neurophox's in natural order: the same network, inputs renamed
            fft = FFTMesh(n, dtype=torch.complex128)
            cases.append(("butterfly", nx.BMNumpy(k), fft, k, fft.layout.input_perm))
        for name, layer, mesh, L, inputs in cases:
            U_n = layer.matrix.T  # neurophox: x @ M (rows); photonn: T[out, in]
            try:
                rows_map = map_phases(layer, mesh, inputs)
            except ValueError as err:
                rows.append([n, name, "-", "-", f"no map: {err}"])
                continue
            U_p = mesh.matrix().detach().numpy()[:, list(inputs)]
            err = float(np.abs(U_p - U_n[rows_map]).max())
            tol = 16 * L * EPS
            same = bool((rows_map == np.arange(n)).all())
            rows.append(
                [
                    n,
                    name,
                    f"{err:.1e}",
                    f"{tol:.1e}",
                    "same outputs" if same else "outputs relabelled (a fixed permutation)",
                ]
            )
            if not err < tol:
                raise AssertionError(f"{name} N={n}: error {err:.2e} above {tol:.2e}")
    return rows


# ---- speed ------------------------------------------------------------------------------
def speed(nt, sizes, repeats):
    rows = []
    for n in sizes:
        torch.manual_seed(n)
        gen = torch.Generator().manual_seed(n)
        k = int(round(math.log2(n)))
        xc = torch.randn(BATCH, n, dtype=torch.complex64, generator=gen)
        xr = torch.stack([xc.real, xc.imag]).contiguous()  # neurophox's complex layout
        pairs = {
            "rectangular": (nt.RMTorch(n), MZIMesh(n, init="haar", generator=gen)),
            "permuting rectangular": (
                nt.PRMTorch(n),
                PermutingMesh(n, init="pai", generator=gen),
            ),
        }
        if 2**k == n:
            pairs["butterfly"] = (nt.BMTorch(k), FFTMesh(n, init="random", generator=gen))
        fwd, bwd = {}, {}
        for name, (theirs, ours) in pairs.items():
            fwd[name, "neurophox"], bwd[name, "neurophox"] = _cases(theirs, xr)
            fwd[name, "photonn"], bwd[name, "photonn"] = _cases(ours, xc)
        reps = repeats if n <= 64 else max(3, repeats // 3)
        tf, tb = median_times(fwd, reps), median_times(bwd, reps)
        for name in pairs:
            a, b = (name, "neurophox"), (name, "photonn")
            rows.append(
                [
                    n,
                    name,
                    f"{tf[b] * 1e3:.2f}",
                    f"{tf[a] * 1e3:.2f}",
                    f"{tf[a] / tf[b]:.1f}",
                    f"{tb[b] * 1e3:.2f}",
                    f"{tb[a] * 1e3:.2f}",
                    f"{tb[a] / tb[b]:.1f}",
                ]
            )
        print(f"speed N={n}: done", file=sys.stderr)
    return rows


def _cases(module, x):
    def fwd():
        with torch.no_grad():
            return module(x)

    def fwdbwd():
        module.zero_grad(set_to_none=True)
        y = module(x)
        (y.real**2 + y.imag**2).sum().backward() if y.is_complex() else (y**2).sum().backward()

    return fwd, fwdbwd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shims", type=Path, default=None, help="folder of the peers' shims.py")
    ap.add_argument("--agree-sizes", type=positive_int, nargs="+", default=[4, 7, 8, 16, 64])
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[64, 256])
    ap.add_argument("--repeats", type=positive_int, default=15)
    ap.add_argument("--threads", type=positive_int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args(argv)
    if args.shims is not None:
        sys.path.insert(0, str(args.shims))
    try:
        if args.shims is not None:
            import shims  # noqa: F401  (numpy aliases that neurophox needs)
        import neurophox
        import neurophox.helpers
        import neurophox.numpy as nx
        import neurophox.torch as nt

        patch_neurophox_butterfly(neurophox.helpers)
    except Exception as err:  # the peer is optional: skip cleanly
        print(f"neurophox is not available ({type(err).__name__}: {err}); skipping")
        return 0
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    agree = agreement(nx, args.agree_sizes)
    fast = speed(nt, args.sizes, args.repeats)
    load = max(load, os.getloadavg()[0])
    text = "\n".join(
        [
            "# photonn's structured meshes next to neurophox",
            "",
            f"neurophox {getattr(neurophox, '__version__', '0.1.0a4')}, torch {torch.__version__}, "
            f"numpy {np.__version__}, {platform.processor() or platform.machine()}, "
            f"{args.threads} thread(s); load average up to {load:.1f} on {os.cpu_count()} cores "
            "during the run (a shared machine: read the ratios).",
            "",
            "Command: `PYTHONPATH=. /work/peers/bin/python benchmarks/peers_structured_mesh.py "
            f"--shims /work/shared/peers --sizes {' '.join(map(str, args.sizes))} "
            f"--repeats {args.repeats} --threads {args.threads}`",
            "",
            "## Agreement (complex128, neurophox's random phases mapped onto photonn's MZIs)",
            "",
            "Tolerance `16 L eps` (L columns; see the script's docstring).",
            "",
            table(agree, ["N", "mesh", "max abs error", "tolerance", "output waveguides"]),
            "",
            f"## Speed (batch {BATCH}, complex64 / float32 pairs, medians of {args.repeats} "
            "interleaved repeats, N > 64: a third)",
            "",
            table(
                fast,
                [
                    "N",
                    "mesh",
                    "photonn fwd [ms]",
                    "neurophox fwd [ms]",
                    "neurophox / photonn",
                    "photonn fwd+bwd [ms]",
                    "neurophox fwd+bwd [ms]",
                    "neurophox / photonn",
                ],
            ),
            "",
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "peers_structured_mesh.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
