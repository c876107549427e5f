"""Partially coherent light benchmark: the cost of M coherent modes against one coherent step.

A partially coherent field is a batch of M coherent modes (photonn's coherent-mode
representation), so a step through an optical system costs M coherent steps, done as
one batched call. For each M (1 = coherent, then tens of modes of a Gaussian
Schell-model source) this times, interleaved in one process, a D2NN-like step on a
512^2 grid (phase mask, then the default trimmed angular-spectrum ``Propagator``,
633 nm, 8 um pitch, 5 mm; complex64) and the weighted detection
(:func:`photonn.functional.mode_intensity`), forward and forward+backward (gradient
with respect to the mask's phase). It reports the median time, the time per mode
relative to the coherent step, and the memory: the mode batch (``M N^2`` complex64
values) and the growth of the process's peak resident memory over the case (cases run
in increasing M, so each one's growth is what it needed beyond the previous ones).
A mutual-coherence model would hold ``N^4`` values: 512 GiB at 512^2 in complex64.

Then, when torchoptics is importable (a peer environment, never a dependency), the same
Gaussian Schell-model problem against its mutual-coherence model, at the sizes it can
hold (``--peer-sizes``).

Run: ``python -m benchmarks.coherence [--repeats 5] [--quick]`` (under ``nice`` on a
shared machine). Writes ``benchmarks/results/coherence.md`` (``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import resource
import sys
import warnings
from pathlib import Path

import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import Run, add_output_argument
from benchmarks._timing import (
    add_device_argument,
    median_times,
    positive_int,
    resolve_device,
    table,
)
from photonn import Grid, SamplingWarning
from photonn.freespace import GaussianSchellSource, PhaseMask, Propagator
from photonn.functional import mode_intensity
from photonn.units import mm, nm, um

NAME = "coherence"
REPEATS = 5


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(n: int, ms, repeats: int, device):
    grid = Grid(n, 8 * um)
    wl = 633 * nm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        prop = Propagator(grid, wl, 5 * mm, device=device)
    mask = PhaseMask(grid, init="uniform", generator=torch.Generator().manual_seed(0)).to(device)
    rows = []
    base = {}
    for M in ms:
        if M == 1:
            fields = torch.ones(1, n, n, dtype=torch.complex64, device=device)
            weights = torch.ones(1, device=device)
            waist = sigma_g = None
        else:
            # a GSM source whose truncation at 1e-3 gives about M modes
            waist = n * 8 * um / 8
            sigma_g = 8 * waist
            src = GaussianSchellSource(grid, wl, waist=waist, coherence_width=sigma_g)
            while src.truncation(1e-3).num_modes < M:
                sigma_g *= 0.9
                src = GaussianSchellSource(grid, wl, waist=waist, coherence_width=sigma_g)
            fields, weights = src.modes(1e-3)
            fields, weights = fields.to(device), weights.to(device)
        M_eff = fields.shape[0]
        before = _peak_rss_mib()

        def fwd(f=fields, w=weights):
            with torch.no_grad():
                return mode_intensity(prop(mask(f)), w)

        def fwd_bwd(f=fields, w=weights):
            mask.zero_grad(set_to_none=True)
            mode_intensity(prop(mask(f)), w).sum().backward()

        t = median_times({"fwd": fwd, "fwd+bwd": fwd_bwd}, repeats, device=device)
        grown = _peak_rss_mib() - before
        if M == 1:
            base = t
        rows.append(
            (
                M_eff,
                "-" if sigma_g is None else f"{sigma_g / waist:.3f}",
                f"{t['fwd'] * 1e3:.1f}",
                f"{t['fwd'] / base['fwd'] / M_eff:.2f}",
                f"{t['fwd+bwd'] * 1e3:.1f}",
                f"{t['fwd+bwd'] / base['fwd+bwd'] / M_eff:.2f}",
                f"{M_eff * n * n * 8 / 2**20:.0f}",
                f"{grown:.0f}",
            )
        )
        print(f"# M = {M_eff} done", file=sys.stderr)
    return rows, tuple(prop.padded_shape)


def peer_rows(sizes, repeats: int, peers: dict):
    """photonn's coherent modes against torchoptics' mutual-coherence model (N^4 values).

    Same Gaussian Schell-model source (w = N dx / 6, sigma_g = w, 633 nm, 4 um
    pitch), same angular-spectrum step (z = 2 mm, zero padding to 2N per axis in both:
    torchoptics ``asm_pad = N/2``), complex128, forward only. photonn keeps the modes its
    truncation rule needs for tolerance 1e-4
    (their intensity is then within 1e-4 c/a = 1.7e-4 of the exact one, relative to its
    peak). Reported: median times, their ratio, the
    data each holds, and the largest difference of the output intensities (relative to
    its peak), which cross-checks the two models.
    """
    try:
        import torchoptics
        from torchoptics import SpatialCoherence
        from torchoptics.profiles import gaussian_schell_model
    except ImportError as exc:
        peers["torchoptics"] = f"not available ({type(exc).__name__}: {str(exc)[:120]})"
        return []
    peers["torchoptics"] = f"torchoptics {getattr(torchoptics, '__version__', '?')}"
    torchoptics.set_default_dtype(torch.float64)
    rows = []
    wl, dx, z = 633 * nm, 4 * um, 2 * mm
    for n in sizes:
        grid = Grid(n, dx)
        waist = n * dx / 6
        sigma_g = waist
        src = GaussianSchellSource(
            grid, wl, waist=waist, coherence_width=sigma_g, dtype=torch.complex128
        )
        fields, weights = src.modes(1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            prop = Propagator(grid, wl, z, pad_factor=2, trim=False, dtype=torch.complex128)
        gamma = gaussian_schell_model((n, n), waist, sigma_g, spacing=dx).to(torch.complex128)
        sc = SpatialCoherence(gamma, wavelength=wl, spacing=dx)

        def ours(f=fields, w=weights, prop=prop):
            return mode_intensity(prop(f), w)

        def theirs(sc=sc, n=n):
            return sc.propagate_to_z(z, asm_pad=(n // 2, n // 2)).intensity()

        with torch.no_grad():
            t = median_times({"photonn": ours, "torchoptics": theirs}, repeats)
            a, b = ours(), theirs()
        scale = float(a.max()) / float(b.max()) if float(b.max()) > 0 else 1.0
        diff = float((a - b * scale).abs().max() / a.max())
        rows.append(
            (
                f"{n}^2",
                fields.shape[0],
                f"{t['photonn'] * 1e3:.2f}",
                f"{t['torchoptics'] * 1e3:.1f}",
                f"{t['torchoptics'] / t['photonn']:.0f}x",
                f"{fields.shape[0] * n * n * 16 / 2**20:.2f}",
                f"{n**4 * 16 / 2**20:.0f}",
                f"{diff:.1e}",
                f"{scale:.4g}",
            )
        )
        print(f"# peers N = {n} done", file=sys.stderr)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="partially coherent light (coherent modes) benchmark")
    ap.add_argument("--size", type=positive_int, help="N of the N x N grid (default 512)")
    ap.add_argument("--modes", type=positive_int, nargs="+", help="M values (default 1 10 28 55)")
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 2)")
    ap.add_argument("--quick", action="store_true", help="N = 128, M = 1 10, 2 repeats")
    ap.add_argument(
        "--peer-sizes",
        type=positive_int,
        nargs="*",
        help="N for torchoptics (default 25 33 41; odd: both libraries centre the beam on a pixel)",
    )
    ap.add_argument("--threads", type=positive_int, help="torch threads (default: torch's)")
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = args.size or (128 if args.quick else 512)
    ms = sorted(set(args.modes or ([1, 10] if args.quick else [1, 10, 28, 55])))
    if ms[0] != 1:
        ms = [1, *ms]
    repeats = args.repeats or (2 if args.quick else REPEATS)
    report = Run(
        NAME,
        "Partially coherent light benchmark" + (" (--quick smoke run)" if args.quick else ""),
        argv,
        device,
        repeats,
        2 if args.quick else REPEATS,
    )
    rows, fft = run(n, ms, repeats, device)
    sizes = (
        args.peer_sizes if args.peer_sizes is not None else ([17] if args.quick else [25, 33, 41])
    )
    prows = peer_rows(sizes, repeats, report.peers) if device.type == "cpu" else []
    body = [
        f"## {n}^2 grid, phase mask + angular-spectrum step (FFT {fft[0]}x{fft[1]}) + "
        "weighted detection, complex64",
        "",
        "M modes of a Gaussian Schell-model source (sigma_g / w chosen so that the "
        "truncation rule at tolerance 1e-3 keeps at least M modes; M = 1 is the coherent "
        "step). 'per mode' is the median time divided by M and by the coherent step's: "
        "1.00 means M modes cost exactly M coherent steps. Memory: the mode batch, and "
        "the growth of the peak resident memory during the case (0 when an earlier case "
        "already reached it).",
        "",
        table(
            rows,
            [
                "M",
                "sigma_g / w",
                "fwd [ms]",
                "fwd per mode",
                "fwd+bwd [ms]",
                "fwd+bwd per mode",
                "modes [MiB]",
                "peak RSS growth [MiB]",
            ],
        ),
        "",
        f"A mutual-coherence model of the same field would hold N^4 = {n**4:.3g} complex "
        f"values ({n**4 * 8 / 2**30:.0f} GiB in complex64).",
    ]
    if prows:
        body += [
            "",
            "## Against torchoptics' mutual-coherence model (complex128, forward)",
            "",
            peer_rows.__doc__.split("\n\n")[1].replace("\n    ", " ").strip(),
            "",
            table(
                prows,
                [
                    "grid",
                    "photonn modes M",
                    "photonn [ms]",
                    "torchoptics [ms]",
                    "time ratio",
                    "photonn data [MiB]",
                    "torchoptics data [MiB]",
                    "max intensity difference",
                    "power scale",
                ],
            ),
            "",
            "'power scale' is the ratio of the two libraries' peak intensities (both normalise "
            "the beam to a total power of 1 W, so 1 means they agree in absolute units); the "
            "difference is taken after rescaling by it.",
        ]
    path = report.write(args.out, "\n".join(body))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
