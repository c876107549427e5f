"""Propagation benchmark: photonn's Propagator against bare PyTorch and peer libraries.

For each case (batch 32 at 256^2, 1 at 1024^2, 1 at 2048^2; complex64;
lambda = 633 nm, pitch 8 um, z = 1 cm) it times, interleaved and repeated:

* ``bare``: ``ifft2(fft2(pad(x)) * H)`` cropped, with H precomputed at the same 2x padding;
* ``photonn``: ``Propagator(..., pad_factor=2, trim=False)``: equal padding;
* ``photonn-trim``: the default ``Propagator``: padding only as far as the light
  cone reaches, rounded to a 2-3-5-7-smooth FFT size;
* ``bare-nopad`` / ``photonn-nopad``: periodic boundaries (pad_factor=1);
* torchoptics (float32 and its float64 default) and SVETlANNa (``zpASM``) at
  equal 2x padding, when they are importable (peer venv; never a dependency).

It prints median times and ratios to the bare reference, forward and
forward+backward, then the complex64 accuracy of each implementation on the
Gaussian-beam case of the physics tests (w0 = 100 um, 633 nm, 4 um, 512^2).

Run: ``python benchmarks/propagation.py [--repeats 7] [--quick]`` (peers:
``PYTHONPATH=. /path/to/peer-venv/bin/python benchmarks/propagation.py``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import fwd_bwd, median_times, table  # noqa: E402

from photonn import Grid, SamplingWarning  # noqa: E402
from photonn.freespace import Propagator  # noqa: E402
from photonn.functional import gaussian_beam, transfer_function  # noqa: E402
from photonn.units import cm, nm, um  # noqa: E402

LAM, PITCH, Z = 633 * nm, 8 * um, 1 * cm


def bare_fn(grid: Grid, pad: int):
    """Bare PyTorch: precomputed H (float64-built, cast once), explicit pad and crop."""
    ny, nx = grid.shape
    H = transfer_function(grid, LAM, Z, "asm", pad_factor=pad, trim=False)
    assert H.shape == (pad * ny, pad * nx)

    def run(x):
        if pad > 1:
            x = torch.nn.functional.pad(x, (0, (pad - 1) * nx, 0, (pad - 1) * ny))
        out = torch.fft.ifft2(torch.fft.fft2(x) * H)
        return out[..., :ny, :nx] if pad > 1 else out

    return run


def peers(grid: Grid):
    """Peer implementations at equal 2x padding, complex64 input; missing ones skipped."""
    out = {}
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "peers"))
        import shims  # noqa: F401
    except ImportError:
        pass
    try:
        import torchoptics
        from torchoptics import Field

        def make_to(dtype):
            def run(x):
                torchoptics.config.Config.dtype = dtype
                f = Field(x, wavelength=LAM, spacing=(grid.dy, grid.dx))
                pad = (grid.ny // 2, grid.nx // 2)
                return f.propagate_to_z(Z, propagation_method="ASM", asm_pad=pad).data

            return run

        out["torchoptics-f32"] = make_to(torch.float32)
        out["torchoptics-f64"] = make_to(torch.float64)
    except Exception as exc:  # pragma: no cover - depends on the peer venv
        print(f"# torchoptics unavailable: {type(exc).__name__}: {exc}")
    try:
        import svetlanna as sv
        from svetlanna.elements import FreeSpace

        params = sv.SimulationParameters(
            x=(torch.arange(grid.nx) - grid.nx // 2) * grid.dx,
            y=(torch.arange(grid.ny) - grid.ny // 2) * grid.dy,
            wavelength=LAM,
        )
        fs = FreeSpace(params, distance=Z, method="zpASM")
        out["svetlanna"] = lambda x: fs(x)
    except Exception as exc:  # pragma: no cover
        print(f"# svetlanna unavailable: {type(exc).__name__}: {exc}")
    return out


def accuracy(impls_for_grid) -> list:
    """Relative L2 error in complex64 on the Gaussian-beam case (w0 = 100 um, 4 um, 512^2)."""
    grid = Grid(512, 4 * um)
    rows = []
    for z in (1 * cm, 10 * cm):
        src = gaussian_beam(grid, LAM, 100 * um, dtype=torch.complex64)
        ref = gaussian_beam(grid, LAM, 100 * um, z)
        global Z
        z_saved, Z = Z, z
        try:
            for name, fn in impls_for_grid(grid).items():
                with torch.no_grad():
                    out = fn(src).to(torch.complex128)
                err = ((out - ref).norm() / ref.norm()).item()
                rows.append((name, f"{z / cm:g} cm", f"{err:.2e}"))
        finally:
            Z = z_saved
    return rows


def implementations(grid: Grid, with_peers: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        impls = {
            "bare": bare_fn(grid, 2),
            "photonn": Propagator(grid, LAM, Z, pad_factor=2, trim=False),
            "photonn-trim": Propagator(grid, LAM, Z),
            "bare-nopad": bare_fn(grid, 1),
            "photonn-nopad": Propagator(grid, LAM, Z, pad_factor=1),
        }
    if with_peers:
        impls.update(peers(grid))
    return impls


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (smoke run)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cases = [(2, 32), (1, 64)] if args.quick else [(32, 256), (1, 1024), (1, 2048)]
    repeats = 2 if args.quick else args.repeats
    gen = torch.Generator().manual_seed(0)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, complex64, "
        f"lambda {LAM / nm:g} nm, pitch {PITCH / um:g} um, z {Z / cm:g} cm, repeats {repeats}"
    )
    rows = []
    for batch, n in cases:
        grid = Grid(n, PITCH)
        impls = implementations(grid, not args.no_peers)
        trim_shape = impls["photonn-trim"].padded_shape
        x = torch.randn(batch, n, n, dtype=torch.complex64, generator=gen)
        g = torch.randn(batch, n, n, dtype=torch.complex64, generator=gen)
        with torch.no_grad():
            fwd = median_times({k: (lambda f=f, x=x: f(x)) for k, f in impls.items()}, repeats)
        fb = median_times({k: fwd_bwd(f, x, g) for k, f in impls.items()}, repeats)
        for name in impls:
            ref = "bare-nopad" if name.endswith("nopad") else "bare"
            rows.append(
                (
                    f"{batch}x{n}^2",
                    name,
                    f"{fwd[name] * 1e3:.2f}",
                    f"{fwd[name] / fwd[ref]:.2f}",
                    f"{fb[name] * 1e3:.2f}",
                    f"{fb[name] / fb[ref]:.2f}",
                )
            )
        print(f"# {batch}x{n}^2: photonn-trim FFT shape {trim_shape} vs 2x {(2 * n, 2 * n)}")
    print()
    print(table(rows, ["case", "impl", "fwd ms", "fwd / bare", "fwd+bwd ms", "fwd+bwd / bare"]))
    if not args.quick:
        print()
        print("complex64 accuracy, Gaussian beam w0 = 100 um, 633 nm, 4 um pitch, 512^2:")
        acc = accuracy(
            lambda grid: {
                k: v
                for k, v in implementations(grid, not args.no_peers).items()
                if not k.startswith("bare")
            }
        )
        print(table(acc, ["impl", "z", "relative L2 error"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
