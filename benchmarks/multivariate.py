"""MultivariatePNN benchmark: one training step (forward, loss, backward) of Savinson et al.'s
cavity network against the authors' dense-solve formulation, in one process.

The model (:class:`photonn.models.MultivariatePNN`): for each class ``c`` and replica
``rho``, ``T = diag(exp(i (a x + b)))``, ``S = expm(i Sym(P))``,
``E = (2I - T S T)^-1 I_in`` and the score ``|sum_{rho, j} E|^2 / (R N)``; cross-entropy
on the raw scores; batch 32, N = 196 inputs, 10 classes, R = 1 and 4 replicas,
complex64. A step takes the gradient with respect to every parameter (``a``, ``b``,
``I_in``, ``P``). Implementations, all on the same parameters and batch:

* ``photonn``: ``MultivariatePNN(196, 10, R)``, its default solver ``"neumann"``
  (:func:`~photonn.functional.cavity.cavity_neumann_sym`: ``eigh(Sym(P))`` in float64,
  ``S`` applied in its eigenbasis, an adjoint-series backward, the gradient to ``P``
  by the Daleckii-Krein formula);
* ``photonn-direct``: the same model with ``solver = "direct"`` (a dense solve per
  system through ``safe_solve``, which runs batched CPU solves on one thread);
* ``photonn-dense-S``: ``cavity_neumann`` with ``S = symmetric_unitary(P)`` formed
  densely (autograd through ``eigh``): what the eigenbasis path buys;
* ``autograd-neumann``: a plain-PyTorch Neumann series of 22 terms (tail bound
  ``2^-22 = 2.4e-7``) differentiated by autograd, ``S`` from ``torch.linalg.eigh``
  in float64 cast to complex64;
* ``authors``: the authors' formulation in plain PyTorch: ``S =
  torch.linalg.matrix_exp(1j * Sym(P))`` in complex64 (float32 parameters, PyTorch's
  default dtype, so ``1j * Sym(P)`` is complex64), the dense ``A = 2I - T S T``,
  ``torch.linalg.solve`` batched over (batch, class, replica), autograd. It always
  runs on ONE torch thread: with two threads a batched solve of this size is wrong or
  hangs (``/work/shared/PITFALLS.md``, section 1), so its callable sets one thread
  around forward and backward and checks it; on two cores its one-thread time is its
  best correct setting.

Threads: the process runs with ``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets
it (set before torch is imported, inherited by the subprocesses). With libgomp's
default policy, threads spin at every barrier, and on a machine loaded by other jobs
a parallel region on two threads then waits for its descheduled partner thread: the
many small parallel regions of a batched ``eigh`` and of the series' GEMMs and
elementwise operations add up to orders of magnitude. The section "Two threads and
OpenMP's wait policy" times the float64 ``eigh`` and one photonn step on two threads
in fresh subprocesses, with the policy unset and with PASSIVE (``--no-policy-check``
skips it).

Time: for each ``--threads`` count (default 1 and 2) and each R, the median of
``--repeats`` interleaved runs in one process (``_timing.median_times``, one warm-up
call each); the photonn rows and the plain-PyTorch series run on that many threads,
the authors' on one. Ratios are of medians from the same interleaved set.

Accuracy: each implementation's scores and gradients (one step on the same
parameters and batch, on that thread count) against ``photonn-direct`` in complex128
(a float64 copy of the parameters, computed on one thread): ``scores rel`` is
``max|s - s_ref| / max|s_ref|``, ``elementwise`` is ``max |s - s_ref| / |s_ref|``,
``grad rel`` the largest over the four parameters of ``||g - g_ref|| / ||g_ref||``.

S: forward and forward+backward (an upstream gradient of the shape of ``S``) of the
ways to compute ``S = expm(i Sym(P))`` for the ``C x R`` matrices at R = 1, with
``max |S - S_ref|`` and the relative error of the gradient to ``P`` against float64
``eigh`` (complex128). The eigenbasis path never forms ``S``: its forward is the
``eigh`` alone and its backward to ``P`` is the Daleckii-Krein step inside the
cavity's backward (the "photonn step" breakdown gives its cost); its error is that of
the operator ``Q diag(e^{i lam}) Q^T`` after ``Q`` is cast to float32.

Breakdown (R = 1, each thread count, interleaved): the float64 ``eigh``, the forward
pass without autograd, a step without the gradient to ``P``, and the full step.

Peak memory: each implementation runs in a fresh subprocess on one thread (the median
of ``--memory-runs`` subprocesses, default 3): after building the model and the batch
and one warm-up step, freed heap is returned to the OS (``malloc_trim``), the
peak-RSS counter is reset (``/proc/self/clear_refs``), three steps run, and the figure
is ``VmHWM - VmRSS_before``, with glibc's ``MALLOC_MMAP_THRESHOLD_=131072`` so that
RSS follows the live tensors (the protocol of ``benchmarks/d2nn.py``, which explains
it). On CUDA: ``torch.cuda.max_memory_allocated`` over the three steps.

Run: ``python -m benchmarks.multivariate [--replicas 1 4] [--threads 1 2] [--repeats 3]``
(or ``python -m benchmarks --only multivariate``; ``--quick`` for a smoke run with
N = 16, 3 classes, batch 4, memory at R = 1 only). Writes
``benchmarks/results/multivariate.md`` (``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# libgomp reads OMP_WAIT_POLICY when torch loads it: set before the import (see the docstring)
if __name__ == "__main__" and "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.nn.functional as F

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import REPO, Run, add_output_argument
from benchmarks._timing import (
    add_device_argument,
    median_times,
    positive_int,
    resolve_device,
    synchronizer,
    table,
)
from photonn.functional.cavity import cavity_neumann, sym_eigh, symmetric_unitary
from photonn.models import MultivariatePNN

NAME = "multivariate"
N, CLASSES, BATCH = 196, 10, 32
QUICK_N, QUICK_CLASSES, QUICK_BATCH = 16, 3, 4
REPLICAS = (1, 4)
THREADS = (1, 2)
REPEATS = 3
AUTOGRAD_TERMS = 22
IMPLS = ("photonn", "photonn-direct", "photonn-dense-S", "autograd-neumann", "authors")
PARAMS = ("a", "b", "source", "P")


@contextlib.contextmanager
def one_thread():
    """Run the enclosed code on one torch thread (PITFALLS 1: batched solves on 2 threads)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def sizes(quick: bool) -> tuple[int, int, int]:
    return (QUICK_N, QUICK_CLASSES, QUICK_BATCH) if quick else (N, CLASSES, BATCH)


def setup(replicas: int, quick: bool, device, seed: int = 0):
    """The photonn model (authors' initialisation), a batch of inputs and labels."""
    n, classes, batch = sizes(quick)
    g = torch.Generator().manual_seed(seed)
    model = MultivariatePNN(n, classes, replicas, generator=g).to(device)
    x = torch.randn(batch, n, generator=g).to(device)  # standardised features
    labels = torch.randint(0, classes, (batch,), generator=g).to(device)
    return model, x, labels


def _scores(E: torch.Tensor) -> torch.Tensor:
    """``|sum_{rho, j} E|^2 / (R N)`` for ``E`` of shape ``(B, C, R, N)``."""
    return E.sum(dim=(-2, -1)).abs().square() / (E.shape[-2] * E.shape[-1])


def _transmissions(a, b, x):
    ph = a * x[:, None, None, :] + b  # (B, C, R, N)
    return torch.polar(torch.ones_like(ph), ph)


class Impl:
    """One implementation: ``scores()`` (with graph) and its leaf tensors ``a, b, source, P``
    (``source`` the real view ``(C, R, N, 2)``, or the authors' complex ``I_in``)."""

    def __init__(self, scores, leaves: dict, labels, guard=None, zero=None):
        self._scores, self.leaves, self.labels = scores, leaves, labels
        self.guard = guard or contextlib.nullcontext
        self._zero = zero

    def zero(self):
        for v in self.leaves.values():
            v.grad = None
        if self._zero is not None:
            self._zero()

    def step(self):
        with self.guard():
            loss = F.cross_entropy(self._scores(), self.labels)
            loss.backward()
        self.zero()
        return loss.detach()

    def evaluate(self):
        """Scores and gradients ``{a, b, source, P}`` of one step (``source``: real view)."""
        with self.guard():
            s = self._scores()
            F.cross_entropy(s, self.labels).backward()
        grads = {}
        for k, v in self.leaves.items():
            g = v.grad
            grads[k] = (torch.view_as_real(g) if g.is_complex() else g).detach().clone()
        self.zero()
        return s.detach(), grads


def _plain_leaves(model):
    return {k: getattr(model, k).detach().clone().requires_grad_(True) for k in PARAMS}


def build(name: str, model, x, labels) -> Impl:
    """The implementation ``name`` on a copy of ``model``'s parameters."""
    if name in ("photonn", "photonn-direct"):
        m = copy.deepcopy(model)
        m.solver = "neumann" if name == "photonn" else "direct"
        leaves = {k: getattr(m, k) for k in PARAMS}
        return Impl(lambda: m(x), leaves, labels, zero=lambda: m.zero_grad(set_to_none=True))
    v = _plain_leaves(model)
    if name == "photonn-dense-S":
        terms = model.terms

        def scores():
            t = _transmissions(v["a"], v["b"], x)
            S = symmetric_unitary(v["P"]).to(torch.complex64)
            src = torch.view_as_complex(v["source"])
            return _scores(cavity_neumann(t, S, src, 0.5, terms=terms))

        return Impl(scores, v, labels)
    if name == "autograd-neumann":

        def scores():
            # E = (2I - TST)^-1 s = 1/2 sum_k (TST / 2)^k s, in column layout (C, R, N, B)
            t = _transmissions(v["a"], v["b"], x).permute(1, 2, 3, 0)
            p = v["P"].to(torch.float64)
            lam, Q = torch.linalg.eigh(0.5 * (p + p.mT))
            Qc = Q.to(torch.complex128)
            S = ((Qc * torch.polar(torch.ones_like(lam), lam).unsqueeze(-2)) @ Qc.mT).to(
                torch.complex64
            )
            y = torch.view_as_complex(v["source"]).unsqueeze(-1).expand_as(t)
            acc = y
            for _ in range(AUTOGRAD_TERMS - 1):
                y = 0.5 * t * (S @ (t * y))
                acc = acc + y
            return _scores(0.5 * acc.permute(3, 0, 1, 2))

        return Impl(scores, v, labels)
    if name == "authors":
        # the authors' parameters: a, b real, I_in complex, S_param real; float32 throughout
        v["source"] = torch.view_as_complex(v["source"].detach()).clone().requires_grad_(True)
        n = x.shape[-1]
        eye = torch.eye(n, dtype=torch.complex64, device=x.device)

        def scores():
            if torch.get_num_threads() != 1:  # never a batched solve on 2 threads (PITFALLS 1)
                raise RuntimeError("the authors' formulation must run on one torch thread")
            P = v["P"]
            S = torch.linalg.matrix_exp(1j * (0.5 * (P + P.mT)))  # complex64
            T = torch.exp(1j * (v["a"] * x[:, None, None, :] + v["b"]))  # (B, C, R, N)
            A = 2 * eye - T.unsqueeze(-1) * S * T.unsqueeze(-2)
            rhs = v["source"].expand(T.shape).unsqueeze(-1)
            E = torch.linalg.solve(A, rhs).squeeze(-1)
            return _scores(E)

        return Impl(scores, v, labels, guard=one_thread)
    raise ValueError(f"unknown implementation {name!r}")


def reference(model, x, labels):
    """Scores and gradients of ``photonn-direct`` in complex128 (one thread)."""
    ref = MultivariatePNN(
        model.in_features,
        model.num_classes,
        model.replicas,
        solver="direct",
        dtype=torch.complex128,
        device=x.device,
    )
    ref.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    leaves = {k: getattr(ref, k) for k in PARAMS}
    impl = Impl(lambda: ref(x.double()), leaves, labels, guard=one_thread)
    return impl.evaluate()


def errors(result, ref) -> tuple[float, float, float]:
    """(scores rel, elementwise rel, worst gradient rel) of ``result`` against ``ref``."""
    s, g = result
    s_ref, g_ref = ref
    d = (s.double() - s_ref).abs()
    rel = float(d.max() / s_ref.abs().max())
    elem = float((d / s_ref.abs()).max())
    grad = max(float((g[k].double() - g_ref[k]).norm() / g_ref[k].norm()) for k in PARAMS if k in g)
    return rel, elem, grad


# -- S = expm(i Sym(P)): the ways to compute it -------------------------------------------
S_WAYS = (
    "matrix_exp complex64 (authors)",
    "matrix_exp complex128",
    "eigh float64 + autograd (dense S)",
    "eigh float32 + autograd (dense S)",
    "eigh float64 alone (photonn: eigenbasis)",
)


def _s_fn(way: str):
    def sym(P):
        return 0.5 * (P + P.mT)

    if way.startswith("matrix_exp complex64"):
        return lambda P: torch.linalg.matrix_exp(1j * sym(P.float()))
    if way.startswith("matrix_exp complex128"):
        return lambda P: torch.linalg.matrix_exp(1j * sym(P.double()))
    if way.startswith("eigh float64 + autograd"):
        return symmetric_unitary

    if way.startswith("eigh float32"):

        def eig32(P):
            lam, Q = torch.linalg.eigh(sym(P.float()))
            Qc = Q.to(torch.complex64)
            return (Qc * torch.polar(torch.ones_like(lam), lam).unsqueeze(-2)) @ Qc.mT

        return eig32
    raise ValueError(way)


def s_comparison(P32: torch.Tensor, repeats: int, device):
    """Rows: way, forward ms, forward+backward ms, max |S - S_ref|, grad rel error."""
    gen = torch.Generator().manual_seed(1)
    G = torch.randn(P32.shape, dtype=torch.complex128, generator=gen).to(P32.device)
    P_ref = P32.detach().double().requires_grad_(True)
    with one_thread():
        S_ref = symmetric_unitary(P_ref)
        (g_ref,) = torch.autograd.grad(S_ref, P_ref, G)
    S_ref = S_ref.detach()
    fwd, fb, acc = {}, {}, {}
    for way in S_WAYS:
        if way.startswith("eigh float64 alone"):
            fwd[way] = lambda: sym_eigh(P32)
            lam, Q = sym_eigh(P32)
            Qc = Q.float().to(torch.complex128)  # the operator the float32 GEMMs apply
            e = torch.polar(torch.ones_like(lam), lam).to(torch.complex64).to(torch.complex128)
            S = (Qc * e.unsqueeze(-2)) @ Qc.mT
            acc[way] = (float((S - S_ref).abs().max()), None)
            continue
        f = _s_fn(way)
        Pl = P32.detach().clone().requires_grad_(True)

        def forward(f=f, Pl=Pl):
            with torch.no_grad():
                return f(Pl)

        def both(f=f, Pl=Pl):
            S = f(Pl)
            return torch.autograd.grad(S, Pl, G.to(S.dtype))

        fwd[way], fb[way] = forward, both
        S = forward()
        (g,) = both()
        acc[way] = (
            float((S.to(torch.complex128) - S_ref).abs().max()),
            float((g.double() - g_ref).norm() / g_ref.norm()),
        )
    fns = {("fwd", k): f for k, f in fwd.items()} | {("fb", k): f for k, f in fb.items()}
    t = median_times(fns, repeats, warmup=1, device=device)  # one interleaved set
    t_f = {k: v for (kind, k), v in t.items() if kind == "fwd"}
    t_fb = {k: v for (kind, k), v in t.items() if kind == "fb"}
    rows = []
    for way in S_WAYS:
        err, gerr = acc[way]
        rows.append(
            [
                way,
                f"{t_f[way] * 1e3:.1f}",
                f"{t_fb[way] * 1e3:.1f}" if way in t_fb else "(in the step: DK)",
                f"{err:.1e}",
                "-" if gerr is None else f"{gerr:.1e}",
            ]
        )
    return rows


def breakdown(model, x, labels, repeats: int, device):
    """Interleaved medians [s] of the parts of photonn's step (R = 1)."""
    full = build("photonn", model, x, labels)
    m_nop = copy.deepcopy(model)
    m_nop.P.requires_grad_(False)  # the series' backward without the Daleckii-Krein step
    nop = Impl(
        lambda: m_nop(x),
        {k: getattr(m_nop, k) for k in ("a", "b", "source")},
        labels,
        zero=lambda: m_nop.zero_grad(set_to_none=True),
    )
    m_fwd = copy.deepcopy(model)

    def forward():
        with torch.no_grad():
            return m_fwd(x)

    fns = {
        "eigh float64 of Sym(P)": lambda: sym_eigh(model.P),
        "forward (no autograd)": forward,
        "step without dL/dP": nop.step,
        "full step": full.step,
    }
    return median_times(fns, repeats, warmup=1, device=device)


# -- peak memory in a fresh subprocess (the protocol of benchmarks/d2nn.py) ----------------
def _status() -> dict:
    s = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", s).group(1)) for k in ("VmRSS", "VmHWM")}


def child(name: str, replicas: int, quick: bool, device) -> None:
    """Subprocess entry: print the extra memory [MiB] that three steps need (one thread)."""
    import ctypes
    import gc

    torch.set_num_threads(1)
    model, x, labels = setup(replicas, quick, device)
    impl = build(name, model, x, labels)
    del model
    impl.step()  # warm-up: one-time allocations are not counted
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        for _ in range(3):
            impl.step()
        torch.cuda.synchronize(device)
        peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20
    else:
        try:  # hand freed heap memory back to the OS, so the baseline is what is really held
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
        before = _status()["VmRSS"]
        for _ in range(3):
            impl.step()
        peak = (_status()["VmHWM"] - before) / 1024
    print(json.dumps({"peak_mib": peak}))


def memory_supported(device) -> bool:
    return device.type == "cuda" or Path("/proc/self/clear_refs").exists()


def peak_memory(name: str, replicas: int, quick: bool, device, runs: int):
    """Median over ``runs`` fresh subprocesses of :func:`child`'s figure; (MiB, error)."""
    cmd = [sys.executable, "-m", "benchmarks.multivariate", "--child", name]
    cmd += ["--replicas", str(replicas), "--device", device.type] + (["--quick"] if quick else [])
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "PYTHONPATH": path}
    out = []
    for _ in range(runs):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        if r.returncode:
            return None, (r.stderr.strip().splitlines() or ["?"])[-1][:200]
        out.append(json.loads(r.stdout.strip().splitlines()[-1])["peak_mib"])
    return sorted(out)[len(out) // 2], None


def policy_child(quick: bool, device) -> None:
    """Subprocess entry: one float64 ``eigh`` and one photonn step (R = 1) on two threads."""
    import time

    torch.set_num_threads(2)
    model, x, labels = setup(1, quick, device)
    impl = build("photonn", model, x, labels)
    t0 = time.perf_counter()
    sym_eigh(model.P)
    t1 = time.perf_counter()
    impl.step()
    t2 = time.perf_counter()
    print(json.dumps({"eigh": t1 - t0, "step": t2 - t1}))


def policy_check(quick: bool, device, timeout: float = 300.0):
    """Rows: OMP_WAIT_POLICY, eigh s, step s, each in a fresh two-thread subprocess."""
    # imported, not run as __main__: the module then leaves OMP_WAIT_POLICY as it finds it
    main_call = "import sys; from benchmarks.multivariate import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", main_call, "--child-policy"]
    cmd += ["--device", device.type] + (["--quick"] if quick else [])
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    rows = []
    for label, extra in (
        ("unset (libgomp's default)", {}),
        ("PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"}),
    ):
        env = {**base, **extra, "PYTHONPATH": path}
        try:
            r = subprocess.run(
                cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            rows.append([label, f"> {timeout:.0f} s (stopped)", "-"])
            continue
        if r.returncode:
            rows.append(
                [label, "failed: " + (r.stderr.strip().splitlines() or ["?"])[-1][:120], "-"]
            )
            continue
        out = json.loads(r.stdout.strip().splitlines()[-1])
        rows.append([label, f"{out['eigh'] * 1e3:.0f}", f"{out['step'] * 1e3:.0f}"])
    return rows


# -- the run --------------------------------------------------------------------------------
def _log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def _fmt_ms(t: float) -> str:
    return f"{t * 1e3:.0f}" if t >= 0.1 else f"{t * 1e3:.1f}"


def _fmt_mib(m: float) -> str:
    return f"{m:.0f}" if abs(m) >= 10 else f"{m:.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--replicas",
        type=positive_int,
        nargs="+",
        default=list(REPLICAS),
        help="R values, square numbers (default 1 4)",
    )
    ap.add_argument(
        "--threads",
        type=positive_int,
        nargs="+",
        default=list(THREADS),
        help="torch thread counts for the photonn rows (default 1 2; the authors' always 1)",
    )
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 1)")
    ap.add_argument("--memory-runs", type=positive_int, help="subprocesses per figure (3)")
    ap.add_argument("--quick", action="store_true", help="N = 16, 3 classes, batch 4, 1 repeat")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-policy-check", action="store_true", help="skip the wait-policy check")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-policy", action="store_true", help=argparse.SUPPRESS)
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    for r in args.replicas:
        if int(r**0.5) ** 2 != r:
            ap.error(f"--replicas must be square numbers, got {r}")
    if args.child:
        child(args.child, args.replicas[0], args.quick, device)
        return 0
    if args.child_policy:
        policy_child(args.quick, device)
        return 0
    repeats = args.repeats or (1 if args.quick else REPEATS)
    mem_runs = args.memory_runs or (1 if args.quick else 3)
    threads = sorted(set(args.threads))
    run = Run(
        NAME,
        "MultivariatePNN training-step benchmark" + (" (--quick smoke run)" if args.quick else ""),
        argv,
        device,
        repeats,
        1 if args.quick else REPEATS,
    )
    run.peers["authors"] = (
        "the authors' formulation re-written in plain PyTorch (matrix_exp complex64, "
        "dense solve), not their code"
    )
    n, classes, batch = sizes(args.quick)
    sync = synchronizer(device)
    times, accs, brk, s_rows = {}, {}, {}, {}
    for R in args.replicas:
        model, x, labels = setup(R, args.quick, device)
        ref = reference(model, x, labels)
        impls = {name: build(name, model, x, labels) for name in IMPLS}
        for T in threads:
            torch.set_num_threads(T)
            _log(f"R = {R}, {T} thread(s): accuracy")
            for name, impl in impls.items():
                accs[R, T, name] = errors(impl.evaluate(), ref)
            sync()
            _log(f"R = {R}, {T} thread(s): timing {repeats} interleaved repeats")
            times[R, T] = median_times(
                {k: v.step for k, v in impls.items()}, repeats, warmup=1, device=device
            )
            _log("  " + ", ".join(f"{k} {v:.3f} s" for k, v in times[R, T].items()))
            if R == min(args.replicas):
                brk[T] = breakdown(model, x, labels, repeats, device)
                s_rows[T] = s_comparison(model.P.detach(), repeats, device)
        del impls, ref
    mem, mem_err = {}, {}
    mem_rs = args.replicas[:1] if args.quick else args.replicas
    if args.no_memory:
        mem_note = "not measured (--no-memory)"
    elif not memory_supported(device):
        mem_note = "not measured (needs Linux /proc/self/clear_refs or CUDA)"
    else:
        mem_note = None
        for R in mem_rs:
            for name in IMPLS:
                _log(f"memory: {name}, R = {R}")
                mem[R, name], mem_err[R, name] = peak_memory(name, R, args.quick, device, mem_runs)
    policy_rows = None
    if 2 in threads and not args.no_policy_check:
        _log("two threads: OMP_WAIT_POLICY unset and PASSIVE, fresh subprocesses")
        policy_rows = policy_check(args.quick, device)
    torch.set_num_threads(max(threads))  # the header's thread count: the largest used
    counter = "torch.cuda.max_memory_allocated" if device.type == "cuda" else "VmHWM - VmRSS"
    run.notes.append(
        f"torch threads {', '.join(map(str, threads))} (one table each); the authors' "
        "formulation always on one thread (PITFALLS 1)"
    )
    policy = os.environ.get("OMP_WAIT_POLICY")
    run.notes.append(
        f"OMP_WAIT_POLICY={policy} (this benchmark's default when unset: see its docstring)"
        if policy
        else "OMP_WAIT_POLICY unset (libgomp's default: spinning threads)"
    )

    # -- tables --------------------------------------------------------------------------
    body = [
        "## Training step",
        "",
        f"Batch {batch}, N = {n}, {classes} classes, complex64, forward + cross-entropy + "
        "backward to a, b, I_in and P. Step time: median of "
        f"{repeats} interleaved runs in one process per (R, threads), one warm-up each; "
        "`authors / impl`: how many times faster than the authors' formulation (same "
        "interleaved set; the authors' row always on one thread). Accuracy against "
        "photonn-direct in complex128 on the same parameters and batch. Peak memory: "
        + (
            mem_note
            or f"the extra memory of three steps after a warm-up ({counter}), median of "
            f"{mem_runs} fresh one-thread subprocess{'es' if mem_runs > 1 else ''}"
        )
        + ".",
        "",
    ]
    headers = [
        "R",
        "threads",
        "impl",
        "step ms",
        "/ photonn",
        "authors / impl",
        "scores rel",
        "elementwise",
        "grad rel",
        "peak MiB",
        "mem / authors",
    ]
    rows = []
    for R in args.replicas:
        for T in threads:
            t = times[R, T]
            for name in IMPLS:
                m, m_a = mem.get((R, name)), mem.get((R, "authors"))
                rel, elem, grad = accs[R, T, name]
                rows.append(
                    [
                        R,
                        1 if name == "authors" else T,
                        name,
                        _fmt_ms(t[name]),
                        f"{t[name] / t['photonn']:.2f}",
                        f"{t['authors'] / t[name]:.1f}",
                        f"{rel:.1e}",
                        f"{elem:.1e}",
                        f"{grad:.1e}",
                        "-" if m is None else _fmt_mib(m),
                        "-" if m is None or not m_a else f"{m / m_a:.2f}",
                    ]
                )
    body += [table(rows, headers), ""]

    # -- targets ---------------------------------------------------------------------------
    trows = []
    for R in args.replicas:
        for T in threads:
            t = times[R, T]
            speed = t["authors"] / t["photonn"]
            goal = 10 if T == 1 else 15
            rel = accs[R, T, "photonn"][0]
            m, m_a = mem.get((R, "photonn")), mem.get((R, "authors"))
            trows.append(
                [
                    R,
                    T,
                    f"{speed:.1f}x",
                    f">= {goal}x: {'yes' if speed >= goal else 'NO'}",
                    f"{rel:.1e}: {'yes' if rel <= 1e-5 else 'NO'}",
                    "-"
                    if m is None or m_a is None
                    else f"{_fmt_mib(m)} / {_fmt_mib(m_a)}: {'yes' if m <= m_a else 'NO'}",
                ]
            )
    body += [
        "## Targets",
        "",
        "photonn's default step against the authors' formulation on one thread (the "
        "threads column is photonn's), scores within 1e-5 relative of the direct solver, "
        "peak memory no higher than the authors' (photonn / authors MiB).",
        "",
        table(trows, ["R", "threads", "authors / photonn", "speed", "scores <= 1e-5", "memory"]),
        "",
    ]

    # -- S and the breakdown -----------------------------------------------------------------
    R0 = min(args.replicas)
    for T in threads:
        body += [
            f"## S = expm(i Sym(P)), {classes * R0} matrices of {n} x {n}, {T} thread(s)",
            "",
            "Medians of one interleaved set (forward and forward+backward together); errors "
            "against float64 eigh (complex128): "
            "`max |S - S_ref|` and the relative norm error of the gradient to P for a random "
            "upstream gradient.",
            "",
            table(s_rows[T], ["way", "fwd ms", "fwd+bwd ms", "max |S - S_ref|", "grad rel"]),
            "",
        ]
    for T in threads:
        b = brk[T]
        full = b["full step"]
        parts = [
            ["eigh float64 of Sym(P)", b["eigh float64 of Sym(P)"]],
            ["forward (no autograd), eigh included", b["forward (no autograd)"]],
            ["step without dL/dP", b["step without dL/dP"]],
            ["full step", full],
            [
                "derived: forward series (forward - eigh)",
                b["forward (no autograd)"] - b["eigh float64 of Sym(P)"],
            ],
            [
                "derived: adjoint series + loss (step without dL/dP - forward)",
                b["step without dL/dP"] - b["forward (no autograd)"],
            ],
            ["derived: Daleckii-Krein (full - without dL/dP)", full - b["step without dL/dP"]],
        ]
        body += [
            f"## photonn step breakdown, R = {R0}, {T} thread(s)",
            "",
            "Medians of interleaved runs (each measured, the derived rows are differences of "
            "medians, so only indicative).",
            "",
            table(
                [[k, _fmt_ms(v), f"{v / full:.2f}"] for k, v in parts],
                ["part", "ms", "/ full step"],
            ),
            "",
        ]
    if policy_rows:
        body += [
            "## Two threads and OpenMP's wait policy",
            "",
            f"R = 1, two threads, one float64 eigh of the {classes} matrices of Sym(P) and one "
            "photonn training step (no warm-up), each policy in a fresh subprocess. The "
            "tables above ran with the policy in the header.",
            "",
            table(policy_rows, ["OMP_WAIT_POLICY", "eigh ms", "step ms"]),
            "",
        ]
    for (R, name), err in mem_err.items():
        if err:
            body.append(f"- {name}, R = {R}: memory run failed: {err}")
    text = "\n".join(body)
    print(text)
    path = run.write(args.out, text)
    print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
