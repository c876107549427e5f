"""CoupledModePNN benchmark: one training step of Wanjura and Marquardt's layered scattering
network, with the data layer eliminated (Schur complement) against dense solves, in one process.

The network (:class:`photonn.models.CoupledModePNN`): ``N = 196`` data modes whose
detunings carry the pixels, 80 hidden modes, 10 probed output modes; the scores
``10 Im S_ll``; cross-entropy; batch 32, complex64. A step is forward, loss and the
backward to every parameter. Implementations, all on the same parameters and batch:

* ``photonn``: the model's ``forward`` (:func:`~photonn.functional.coupled_mode.schur_scattering`:
  ``A = (M - omega) - K^H diag(1 / d) K``, one batched GEMM, then a solve of size 90 per
  sample with the 10 port columns as right-hand sides);
* ``photonn-dense``: the same scores from :meth:`CoupledModePNN.dense_scattering`, the full
  286-mode dynamical matrix solved per sample (``safe_solve``);
* ``bare``: the direct formulation in plain PyTorch, the full matrix per sample and
  ``torch.linalg.solve`` on the 10 port columns, autograd. Batched solves of this size are
  wrong with two threads on this machine (``/work/shared/PITFALLS.md``, section 1), so the
  benchmark runs on one thread unless ``--threads`` says otherwise (then ``bare`` is
  left out).

Time: the median of ``--repeats`` interleaved runs (``_timing.median_times``). Accuracy:
the scores against ``photonn-dense`` in complex128 (a float64 copy of the model),
``max |s - s_ref| / max |s_ref|``.
"""

from __future__ import annotations

import argparse
import sys

import torch

from benchmarks._report import Run, add_output_argument
from benchmarks._timing import (
    add_device_argument,
    median_times,
    positive_int,
    resolve_device,
    table,
)
from photonn.models import CoupledModePNN

NAME = "coupled_mode"
REPEATS = 15
SIZES = (196, 80, 10, 32)  # data modes, hidden, classes, batch
QUICK_SIZES = (16, 6, 3, 4)


def bare_scores(model: CoupledModePNN, x: torch.Tensor) -> torch.Tensor:
    """The scores from the full dynamical matrix and ``torch.linalg.solve``, plain PyTorch."""
    H, kappa = model.hamiltonian(x)
    C, n = model.num_classes, H.shape[-1]
    sk = kappa[-C:].sqrt().to(H.dtype)
    rhs = torch.zeros(n, C, dtype=H.dtype)
    rhs[n - C + torch.arange(C), torch.arange(C)] = sk
    eye = torch.eye(n, dtype=H.dtype)
    G = torch.linalg.solve(H - model.omega * eye, rhs.expand(H.shape[0], n, C))[:, -C:, :]
    S = torch.eye(C, dtype=H.dtype) + 1j * sk.unsqueeze(-1) * G
    return model.gain * torch.diagonal(S, dim1=-2, dim2=-1).imag


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 2)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (smoke run)")
    ap.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    torch.set_num_threads(args.threads)
    N, hidden, C, B = QUICK_SIZES if args.quick else SIZES
    repeats = args.repeats or (2 if args.quick else REPEATS)
    title = "CoupledModePNN benchmark" + (" (--quick smoke run)" if args.quick else "")
    run = Run(NAME, title, argv, device, repeats, 2 if args.quick else REPEATS)
    run.peers["all"] = "none implement this model"
    gen = torch.Generator().manual_seed(0)
    model = CoupledModePNN(N, C, hidden, coupling=1.0, generator=gen).to(device)
    x = torch.rand(B, N, generator=gen).to(device)
    labels = torch.randint(0, C, (B,), generator=gen).to(device)
    ways = {
        "photonn": model,
        "photonn-dense": lambda v: (
            model.gain * torch.diagonal(model.dense_scattering(v), dim1=-2, dim2=-1).imag
        ),
    }
    if args.threads == 1 or device.type != "cpu":
        ways["bare"] = lambda v: bare_scores(model, v)
    else:
        run.notes.append("bare left out: batched dense solves are wrong on more than one thread")

    def step(fn):
        def go():
            model.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(fn(x), labels).backward()

        return go

    times = median_times({k: step(f) for k, f in ways.items()}, repeats, device=device)
    ref_model = CoupledModePNN(N, C, hidden, coupling=1.0, dtype=torch.complex128).to(device)
    ref_model.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    with torch.no_grad():
        ref = (
            ref_model.gain
            * torch.diagonal(ref_model.dense_scattering(x.double()), dim1=-2, dim2=-1).imag
        )
        errs = {
            k: float((f(x).double() - ref).abs().max() / ref.abs().max()) for k, f in ways.items()
        }
    rows = [
        (k, f"{times[k] * 1e3:.1f}", f"{times[k] / times['photonn']:.1f}", f"{errs[k]:.1e}")
        for k in ways
    ]
    body = "\n".join(
        [
            "## Training step",
            "",
            f"{N} data modes, {hidden} hidden, {C} outputs, batch {B}, complex64, torch "
            f"threads {torch.get_num_threads()}; medians of {repeats} interleaved runs in one "
            "process; ratio = time / photonn's; scores against the dense complex128 solve.",
            "",
            table(rows, ["impl", "step ms", "time / photonn", "scores rel err"]),
        ]
    )
    path = run.write(args.out, body)
    print(f"wrote {path}", file=sys.stderr)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
