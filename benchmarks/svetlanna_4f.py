"""photonn's ``FourierFilter4f`` against SVETlANNa's 4f layer (``ConvLayer4F``): agreement
and speed.

The two discretise one 4f system differently. photonn: the input zero-padded to ``N``
samples, a Fourier lens as one FFT (Fourier-plane pitch ``lambda f / (N d)``), the
mask, a second FFT, the centre cropped. SVETlANNa: on an ``N``-sample grid, free space
``f`` (angular spectrum, circular), thin lens, free space ``f``, the mask, the same
again: four FFT pairs.

Agreement (float64; same input, mask, focal length, grid). At ``f = N d^2 / lambda``
the Fourier-plane pitch is ``d``, so one mask array serves both, and the paraxial
(Fresnel transfer function) version of SVETlANNa's chain is exactly photonn's
operator: the discrete chirps of the lenses and of the Fresnel steps factor the DFT
(``exp(-2 pi i m k / N) = exp(-i pi m^2 / N) exp(i pi (m - k)^2 / N) exp(-i pi k^2 /
N)``, periodic for even ``N``). SVETlANNa's angular spectrum differs from the Fresnel
step by the phase ``phi(rho) = f (k sqrt(1 - lambda^2 rho^2) - k + pi lambda rho^2)``
per frequency ``rho``. Every other operator of the chain is a contraction (unitary
FFTs, chirps, a unit-modulus mask, the crop), so, telescoping over the four steps,

    |out_svetlanna - out_photonn| <= sum_i |(exp(i phi) - 1) FFT(v_i)| / N

with ``v_i`` the field entering step ``i`` in SVETlANNa's chain (Parseval). The bound
is computed from the run and is the tolerance (plus float64 round-off of the phase
``4 k f``); the script reports the error, the bound, and whether it holds.

Speed (complex64, one thread, each side's own padding to the same FFT size ``N``;
medians of interleaved runs in one process): forward, and forward + backward to the
mask's parameters (photonn's ``PhaseMask.raw``, SVETlANNa's mask ``Parameter``), for
``N`` = 128, 256, 512; with bare PyTorch's ``ifft2(fft2(x) * M)`` (two FFTs, the
least a 4f costs) as the reference.

Run: ``PYTHONPATH=. /work/peers/bin/python benchmarks/svetlanna_4f.py [--repeats 15]
[--quick]``; needs SVETlANNa (the peer venv), and exits with a message, writing
nothing, without it. Writes ``benchmarks/results/svetlanna_4f.md`` (``--out DIR``).
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import Run, add_output_argument, import_shims, peer_ok  # noqa: E402
from benchmarks._timing import median_times, positive_int, table  # noqa: E402

LAM = 633e-9
PITCH = 20e-6
REPEATS = 15


def cpu_medians(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Median CPU time [s] of the calling thread per call, runs interleaved (as
    ``median_times``, with ``time.thread_time``): with one torch thread the work runs in
    this thread, and time the scheduler gives to other processes is not counted, so
    the figure holds on a loaded machine where wall time does not."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                t0 = time.thread_time()
                fn()
                samples[name].append(time.thread_time() - t0)
    finally:
        gc.enable()
    return {name: statistics.median(v) for name, v in samples.items()}


def _svetlanna():
    import_shims()
    try:
        import svetlanna as sv
        from svetlanna.networks import ConvLayer4F
    except Exception as exc:  # ImportError, or a broken install
        return None, None, exc
    return sv, ConvLayer4F, None


def sv_layer(sv, ConvLayer4F, N, f, mask, dtype):
    x = (torch.arange(N, dtype=dtype) - N // 2) * PITCH
    params = sv.SimulationParameters(x=x, y=x.clone(), wavelength=torch.tensor(LAM, dtype=dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'AS' is the alias of 'ASM' in this version
        return ConvLayer4F(params, focal_length=f, conv_diffractive_mask=mask, fs_method="AS")


def agreement(sv, ConvLayer4F, n=32, seed=0) -> dict:
    """float64: photonn's FourierFilter4f and SVETlANNa's ConvLayer4F on one case."""
    import photonn as pn
    from photonn.freespace import FourierFilter4f

    N = 2 * n
    f = N * PITCH**2 / LAM  # Fourier-plane pitch lambda f / (N d) = d
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(N, N, generator=g, dtype=torch.float64) * 2 * math.pi
    c = (torch.arange(n, dtype=torch.float64) - n // 2) * PITCH
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    blob = torch.exp(-(xx**2 + yy**2) / (6 * PITCH) ** 2)
    u = (blob * (1 + 0.5 * torch.rand(n, n, generator=g, dtype=torch.float64))).to(torch.complex128)
    ours = FourierFilter4f(pn.Grid(n, PITCH), LAM, f, init=mask.clone(), dtype=torch.complex128)
    assert abs(ours.fourier_grid.dx - PITCH) < 1e-12 * PITCH
    with torch.no_grad():
        out_ours = ours(u)
    layer = sv_layer(sv, ConvLayer4F, N, f, mask, torch.float64)
    lo = N // 2 - n // 2
    v = torch.zeros(N, N, dtype=torch.complex128)
    v[lo : lo + n, lo : lo + n] = u
    # SVETlANNa's chain element by element, keeping the field entering each free space
    fx = torch.fft.fftfreq(N, PITCH, dtype=torch.float64)
    rho2 = fx[:, None] ** 2 + fx[None, :] ** 2
    k = 2 * math.pi / LAM
    kz = torch.sqrt((k**2 - (2 * math.pi) ** 2 * rho2).clamp_min(0))
    phi = f * (kz - k + math.pi * LAM * rho2)
    bound = 0.0
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = sv.Wavefront(v)
        for el in layer.conv_layer_4f.elements:
            if type(el).__name__ == "FreeSpace":
                spec = torch.fft.fft2(torch.as_tensor(w))
                bound += float(((torch.exp(1j * phi) - 1) * spec).norm()) / N
            w = el(w)
    out_sv = torch.as_tensor(w)[lo : lo + n, lo : lo + n]
    diff = float((out_sv - out_ours).norm())
    norm_in = float(u.norm())
    # round-off: float64 of the global phase 4 k f, and of the FFT sums
    roundoff = (8 * 4 * k * f * 2.2e-16 + 1e-12) * norm_in
    return {
        "n": n,
        "N": N,
        "f": f,
        "max_phase_error_rad": float(phi.abs().max()),
        "error_l2_rel": diff / float(out_ours.norm()),
        "error_max": float((out_sv - out_ours).abs().max()),
        "output_max": float(out_ours.abs().max()),
        "bound_l2_rel": (bound + roundoff) / float(out_ours.norm()),
        "holds": diff <= bound + roundoff,
    }


def timings(sv, ConvLayer4F, N, repeats) -> dict:
    """Median seconds [forward, forward + backward] of photonn, SVETlANNa and bare torch."""
    import photonn as pn
    from photonn.freespace import FourierFilter4f

    n = N // 2
    f = N * PITCH**2 / LAM
    g = torch.Generator().manual_seed(1)
    mask = torch.rand(N, N, generator=g) * 2 * math.pi
    u = torch.rand(n, n, generator=g).to(torch.complex64)
    ours = FourierFilter4f(pn.Grid(n, PITCH), LAM, f, init=mask.clone())
    sv_mask = sv.Parameter(mask.clone())
    theirs = sv_layer(sv, ConvLayer4F, N, f, sv_mask, torch.float32)
    lo = N // 2 - n // 2
    v = torch.zeros(N, N, dtype=torch.complex64)
    v[lo : lo + n, lo : lo + n] = u
    w = sv.Wavefront(v)
    bare_t = torch.polar(torch.ones_like(mask), mask)  # forward: the mask precomputed
    bare_raw = mask.clone().requires_grad_(True)

    def bare(x, raw):
        return torch.fft.ifft2(torch.fft.fft2(x) * torch.polar(torch.ones_like(raw), raw))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fwd = {
            "photonn": lambda: ours(u),
            "svetlanna": lambda: theirs(w),
            "bare": lambda: torch.fft.ifft2(torch.fft.fft2(v) * bare_t),
        }

        def back(fn, params):
            def run():
                out = fn()
                grads = torch.autograd.grad(out.abs().pow(2).sum(), params)
                return grads

            return run

        fb = {
            "photonn": back(lambda: ours(u), [ours.mask.raw]),
            "svetlanna": back(lambda: torch.as_tensor(theirs(w)), [p for p in theirs.parameters()]),
            "bare": back(lambda: bare(v, bare_raw), [bare_raw]),
        }
        out = {"N": N}
        for kind, fns in (("forward", fwd), ("forward_backward", fb)):
            out[kind] = cpu_medians(fns, repeats)
            out[kind + "_wall"] = median_times(fns, repeats)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 3)")
    ap.add_argument("--quick", action="store_true", help="N = 128 only, 3 repeats")
    ap.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    add_output_argument(ap)
    args = ap.parse_args(argv)
    sv, ConvLayer4F, exc = _svetlanna()
    if sv is None:
        print(
            f"svetlanna_4f: SVETlANNa is not importable here ({type(exc).__name__}: {exc}); "
            "run with the peer venv's python. Nothing written.",
            file=sys.stderr,
        )
        return 0
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else REPEATS)
    run = Run(
        "svetlanna_4f",
        "4f layer: photonn FourierFilter4f vs SVETlANNa ConvLayer4F",
        argv,
        "cpu",
        repeats,
        REPEATS,
    )
    run.peers["svetlanna"] = peer_ok("svetlanna")
    acc = agreement(sv, ConvLayer4F)
    sizes = (128,) if args.quick else (128, 256, 512)
    rows, wall = [], []
    for N in sizes:
        t = timings(sv, ConvLayer4F, N, repeats)
        for kind in ("forward", "forward_backward"):
            m = t[kind + "_wall"]
            wall.append(
                [
                    N,
                    kind.replace("_", " + "),
                    f"{m['photonn'] * 1e3:.3g}",
                    f"{m['svetlanna'] * 1e3:.3g}",
                    f"{m['bare'] * 1e3:.3g}",
                    f"{m['svetlanna'] / m['photonn']:.2f}",
                    f"{m['photonn'] / m['bare']:.2f}",
                ]
            )
            m = t[kind]
            rows.append(
                [
                    N,
                    kind.replace("_", " + "),
                    f"{m['photonn'] * 1e3:.3g}",
                    f"{m['svetlanna'] * 1e3:.3g}",
                    f"{m['bare'] * 1e3:.3g}",
                    f"{m['svetlanna'] / m['photonn']:.2f}",
                    f"{m['photonn'] / m['bare']:.2f}",
                ]
            )
        print(rows[-2], rows[-1], flush=True)
    body = [
        "## Agreement (float64)",
        "",
        f"Input: a Gaussian blob (1/e radius 6 pixels) times a random pattern, {acc['n']}^2 "
        f"pixels of {PITCH * 1e6:g} um, zero-padded to {acc['N']}^2; {LAM * 1e9:g} nm; "
        f"f = N d^2 / lambda = {acc['f'] * 1e3:.4g} mm (the Fourier-plane pitch is d); a random "
        "phase mask, uniform in [0, 2 pi), the same array in both. Tolerance: the bound of "
        "the script's docstring (SVETlANNa's angular spectrum against the paraxial step that "
        f"makes photonn's operator exactly; its phase reaches {acc['max_phase_error_rad']:.3g} "
        "rad at the band's corner), computed from the run.",
        "",
        table(
            [
                [
                    f"{acc['error_l2_rel']:.3g}",
                    f"{acc['error_max']:.3g} (output max {acc['output_max']:.3g})",
                    f"{acc['bound_l2_rel']:.3g}",
                    "yes" if acc["holds"] else "NO",
                ]
            ],
            ["relative L2 difference", "max abs difference", "bound (relative L2)", "within"],
        ),
        "",
        "## Speed (complex64)",
        "",
        f"CPU time of the calling thread, median of {repeats} interleaved runs in one "
        f"process, {torch.get_num_threads()} torch thread(s) (the work runs in that thread; "
        "time given to other processes is not counted, so this holds on a loaded machine); "
        "input N/2 x N/2, FFT size N for all three (photonn pads 2x, SVETlANNa is given the "
        "padded field, bare is the two FFTs and the mask on the padded field). "
        "'forward + backward': the gradient of sum |out|^2 to the mask's parameters.",
        "",
        table(
            rows,
            [
                "N",
                "pass",
                "photonn [ms]",
                "SVETlANNa [ms]",
                "bare [ms]",
                "SVETlANNa / photonn",
                "photonn / bare",
            ],
        ),
        "",
        "Wall time, medians of the same kind of runs (on a loaded machine these include "
        "time the process waited for a core; see the header's load average):",
        "",
        table(
            wall,
            [
                "N",
                "pass",
                "photonn [ms]",
                "SVETlANNa [ms]",
                "bare [ms]",
                "SVETlANNa / photonn",
                "photonn / bare",
            ],
        ),
        "",
        "SVETlANNa's layer runs four angular-spectrum steps (four FFT pairs) and two lens "
        "chirps on the full grid; photonn's two Fourier-lens FFTs: the ratio is mostly "
        "that count, at equal FFT size, threads and precision. photonn's forward also "
        "computes the mask's transmission exp(i raw) on every call, pads and crops, and "
        "shifts and scales the two Fourier planes; bare's forward has the transmission "
        "precomputed (its forward + backward computes it from the phases, as photonn does).",
    ]
    text = "\n".join(body)
    print(text)
    path = run.write(args.out, text)
    print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
