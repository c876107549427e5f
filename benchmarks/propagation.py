"""Propagation benchmark: photonn's Propagator against bare PyTorch and peer libraries.

For each case (batch 32 at 256^2, 1 at 1024^2, 1 at 2048^2; complex64;
lambda = 633 nm, pitch 8 um, z = 1 cm) it times, interleaved and repeated in one
process, forward and forward+backward (gradient with respect to the input):

* ``bare``: ``ifft2(fft2(pad(x)) * H)`` cropped, with H precomputed at the same
  2x padding: the reference;
* ``photonn``: ``Propagator(..., pad_factor=2, trim=False)``: equal padding;
* ``photonn-trim``: the default ``Propagator``: padding only as far as the light
  cone reaches, rounded to a 2-3-5-7-smooth FFT size (e.g. 315^2 instead of 512^2);
* ``bare-trim``: the bare ``ifft2(fft2(pad(x)) * H)`` at exactly photonn-trim's
  FFT size (H from ``transfer_function(..., trim=True)``);
* ``bare-nopad`` / ``photonn-nopad``: periodic boundaries (pad_factor=1);
* torchoptics (float32 and its float64 default) and SVETlANNa (``zpASM``) at
  equal 2x padding, when they are importable (peer venv; never a dependency).

Every row is reported against two references: ``bare`` at 2x padding, which for
every windowed (non-periodic) row is a comparison at equal accuracy (the
light-cone padding is exact on the window: a zero-padded FFT convolution of n
samples on N points is exact for spreads up to N - n samples; see the README's
"Padding" paragraph and tests/physics), and bare PyTorch at the row's own FFT
size (photonn-trim against bare-trim, the nopad rows against bare-nopad).

Then the complex64 accuracy of every implementation, bare ones included, on the
Gaussian-beam case of the physics tests (w0 = 100 um, 633 nm, 4 um, 512^2, z = 1
and 10 cm), with each one's FFT size.

Run: ``python -m benchmarks.propagation [--repeats 7] [--quick] [--device cuda]``
(or ``python benchmarks/propagation.py``; peers: ``python -m benchmarks --peers
/path/to/peer-venv/bin/python``). Writes ``benchmarks/results/propagation.md``
(``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import Run, add_output_argument, import_shims, peer_failed, peer_ok
from benchmarks._timing import (
    add_device_argument,
    fwd_bwd,
    median_times,
    positive_int,
    resolve_device,
    table,
)
from photonn import Grid, SamplingWarning
from photonn.freespace import Propagator
from photonn.functional import gaussian_beam, transfer_function
from photonn.units import cm, nm, um

NAME = "propagation"
LAM, PITCH, Z = 633 * nm, 8 * um, 1 * cm
REPEATS = 7
CASES = [(32, 256), (1, 1024), (1, 2048)]
QUICK_CASES = [(2, 32), (1, 64)]


def bare_fn(grid: Grid, z: float, pad: int, trim: bool, device):
    """Bare PyTorch: precomputed H (float64-built, cast once), explicit pad and crop.

    ``trim=False``: H on the ``pad``-times grid; ``trim=True``: H on photonn's
    light-cone FFT size, so the bare step runs at exactly photonn-trim's size.
    """
    ny, nx = grid.shape
    H = transfer_function(grid, LAM, z, "asm", pad_factor=pad, trim=trim, device=device)
    Ny, Nx = H.shape
    padded = (Ny, Nx) != (ny, nx)

    def run(x):
        if padded:
            x = torch.nn.functional.pad(x, (0, Nx - nx, 0, Ny - ny))
        out = torch.fft.ifft2(torch.fft.fft2(x) * H)
        return out[..., :ny, :nx] if padded else out

    run.fft_shape = (Ny, Nx)
    return run


def peers(grid: Grid, z: float, device, run: Run | None):
    """Peer implementations at equal 2x padding, complex64 input; missing ones skipped."""
    out = {}
    import_shims()
    try:
        import torchoptics
        from torchoptics import Field

        def make_to(dtype):
            def step(x):
                torchoptics.config.Config.dtype = dtype
                f = Field(x, wavelength=LAM, spacing=(grid.dy, grid.dx))
                pad = (grid.ny // 2, grid.nx // 2)
                return f.propagate_to_z(z, propagation_method="ASM", asm_pad=pad).data

            return step

        out["torchoptics-f32"] = make_to(torch.float32)
        out["torchoptics-f64"] = make_to(torch.float64)
        if run is not None:
            run.peers.setdefault("torchoptics", peer_ok("torchoptics"))
    except Exception as exc:  # pragma: no cover - depends on the peer venv
        if run is not None:
            run.peers.setdefault("torchoptics", peer_failed(exc))
    try:
        import svetlanna as sv
        from svetlanna.elements import FreeSpace

        params = sv.SimulationParameters(
            x=(torch.arange(grid.nx) - grid.nx // 2) * grid.dx,
            y=(torch.arange(grid.ny) - grid.ny // 2) * grid.dy,
            wavelength=LAM,
        )
        fs = FreeSpace(params, distance=z, method="zpASM").to(device)
        out["svetlanna"] = lambda x: fs(x)
        if run is not None:
            run.peers.setdefault("svetlanna", peer_ok("svetlanna"))
    except Exception as exc:  # pragma: no cover
        if run is not None:
            run.peers.setdefault("svetlanna", peer_failed(exc))
    for fn in out.values():
        fn.fft_shape = (2 * grid.ny, 2 * grid.nx)
    return out


def implementations(grid: Grid, z: float, device, with_peers: bool, run: Run | None = None):
    """name -> callable with ``fft_shape``; the same-FFT-size bare reference is in REF."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        photonn_2x = Propagator(grid, LAM, z, pad_factor=2, trim=False, device=device)
        photonn_trim = Propagator(grid, LAM, z, device=device)
        photonn_nopad = Propagator(grid, LAM, z, pad_factor=1, device=device)
        impls = {
            "bare": bare_fn(grid, z, 2, False, device),
            "photonn": photonn_2x,
            "bare-trim": bare_fn(grid, z, 2, True, device),
            "photonn-trim": photonn_trim,
            "bare-nopad": bare_fn(grid, z, 1, False, device),
            "photonn-nopad": photonn_nopad,
        }
    for name in ("photonn", "photonn-trim", "photonn-nopad"):
        impls[name].fft_shape = impls[name].padded_shape
    assert impls["bare-trim"].fft_shape == photonn_trim.padded_shape
    assert impls["bare"].fft_shape == photonn_2x.padded_shape
    if with_peers:
        impls.update(peers(grid, z, device, run))
    return impls


# the bare reference at the same FFT size as each row
REF = {"photonn-trim": "bare-trim", "bare-trim": "bare-trim"}
REF.update({k: "bare-nopad" for k in ("bare-nopad", "photonn-nopad")})


def _shape(s) -> str:
    return f"{s[0]}^2" if s[0] == s[1] else f"{s[0]}x{s[1]}"


def accuracy(device, with_peers: bool, run: Run | None) -> list:
    """Relative L2 error in complex64 on the Gaussian-beam case (w0 = 100 um, 4 um, 512^2)."""
    grid = Grid(512, 4 * um)
    src = gaussian_beam(grid, LAM, 100 * um, dtype=torch.complex64).to(device)
    results: dict[str, list] = {}
    for z in (1 * cm, 10 * cm):
        ref = gaussian_beam(grid, LAM, 100 * um, z, dtype=torch.complex128)
        for name, fn in implementations(grid, z, device, with_peers, run).items():
            try:
                with torch.no_grad():
                    out = fn(src).cpu().to(torch.complex128)
                err = f"{((out - ref).norm() / ref.norm()).item():.2e}"
            except Exception as exc:  # a peer failing here is recorded, not fatal
                err = f"failed: {type(exc).__name__}"
            results.setdefault(name, []).extend([_shape(fn.fft_shape), err])
    return [(name, *v) for name, v in results.items()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 2)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (smoke run)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--threads", type=positive_int, default=2, help="torch threads (default 2)")
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    torch.set_num_threads(args.threads)
    cases = QUICK_CASES if args.quick else CASES
    repeats = args.repeats or (2 if args.quick else REPEATS)
    run = Run(
        NAME,
        "Propagation benchmark" + (" (--quick smoke run)" if args.quick else ""),
        argv,
        device,
        repeats,
        2 if args.quick else REPEATS,
    )
    if args.no_peers:
        run.peers["all"] = "skipped (--no-peers)"
    gen = torch.Generator().manual_seed(0)
    rows = []
    for batch, n in cases:
        grid = Grid(n, PITCH)
        impls = implementations(grid, Z, device, not args.no_peers, run)
        x = torch.randn(batch, n, n, dtype=torch.complex64, generator=gen).to(device)
        g = torch.randn(batch, n, n, dtype=torch.complex64, generator=gen).to(device)
        for name in list(impls):  # one call each: a peer that fails here is dropped
            try:
                with torch.no_grad():
                    impls[name](x)
            except Exception as exc:
                if name.startswith("bare") or name.startswith("photonn"):
                    raise
                run.peers[name] = f"failed at {batch}x{n}^2 ({type(exc).__name__}: {exc})"[:200]
                del impls[name]
        with torch.no_grad():
            fwd = median_times(
                {k: (lambda f=f, x=x: f(x)) for k, f in impls.items()}, repeats, device=device
            )
        fb = median_times({k: fwd_bwd(f, x, g) for k, f in impls.items()}, repeats, device=device)
        for name, fn in impls.items():
            ref = REF.get(name, "bare")
            periodic = name.endswith("nopad")
            rows.append(
                (
                    f"{batch}x{n}^2",
                    name,
                    _shape(fn.fft_shape),
                    f"{fwd[name] * 1e3:.2f}",
                    f"{fb[name] * 1e3:.2f}",
                    "-" if periodic else f"{fwd[name] / fwd['bare']:.2f}",
                    "-" if periodic else f"{fb[name] / fb['bare']:.2f}",
                    ref,
                    f"{fwd[name] / fwd[ref]:.2f}",
                    f"{fb[name] / fb[ref]:.2f}",
                )
            )
        print(f"# {batch}x{n}^2 done", file=sys.stderr)
    headers = [
        "case",
        "impl",
        "FFT",
        "fwd ms",
        "fwd+bwd ms",
        "fwd / bare",
        "fwd+bwd / bare",
        "same-FFT ref",
        "fwd / ref",
        "fwd+bwd / ref",
    ]
    body = [
        "## Time",
        "",
        f"complex64, lambda {LAM / nm:g} nm, pitch {PITCH / um:g} um, z {Z / cm:g} cm, "
        f"torch threads {torch.get_num_threads()}; medians of {repeats} interleaved runs "
        "in one process, ratios of medians (lower is faster).",
        "",
        table(rows, headers),
        "",
        "- `/ bare`: against `bare` at 2x padding. For every windowed row (all but the "
        "nopad ones) this is a comparison **at equal accuracy**: the light-cone padding of "
        "photonn-trim and bare-trim is exact on the window (a zero-padded FFT convolution of "
        "n samples on N points is exact for spreads up to N - n samples; README, "
        '"Padding"; tests/physics), as the accuracy table shows.',
        "- `same-FFT ref`, `/ ref`: against bare PyTorch **at the same FFT size**: "
        "photonn-trim against bare-trim (both on the light-cone size in the FFT column), "
        "the 2x rows and the peers against bare, the nopad rows against bare-nopad.",
        "- nopad rows: periodic boundaries, a different result from a padded step: no "
        "ratio to bare at 2x.",
        "- peers: torchoptics with `asm_pad` = n/2 per side (2x) in float32 and its float64 "
        "default; SVETlANNa `FreeSpace(method='zpASM')` (2x).",
    ]
    if not args.quick:
        acc = accuracy(device, not args.no_peers, run)
        body += [
            "",
            "## Accuracy",
            "",
            "complex64, relative L2 error against the analytic Gaussian beam (w0 = 100 um, "
            "633 nm, 4 um pitch, 512^2), with each implementation's FFT size:",
            "",
            table(acc, ["impl", "FFT, 1 cm", "error, 1 cm", "FFT, 10 cm", "error, 10 cm"]),
        ]
    text = "\n".join(body)
    print(text)
    path = run.write(args.out, text)
    print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
