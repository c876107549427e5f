"""Time domain: photonn.circuits.TimeDomain against photontorch on the same circuits.

    PEER/bin/python benchmarks/circuits_time.py     # the peer venv with photontorch
                                                    # (see ../shared/peers/README.md)

Without photontorch (or its shims) the script says so and exits 0, writing nothing.

Cases (one carrier, 1550 nm; the same time step in both; every waveguide delay a
whole number of steps, so neither simulator rounds):
- ``ring``: an all-pass ring, a coupler (power coupling 0.1) closed by a waveguide of
  25 steps with 300 dB/m loss; input at the bus, output at the bus.
- ``mzi_delay``: an unbalanced MZI, two 50 % couplers joined by arms of 7 and 19 steps
  (the delay line); input at one port, outputs at both.
- ``coupled_rings``: a second-order add-drop filter, bus - ring 1 - ring 2 - bus, each
  ring two half-ring waveguides of 10 and 11 steps, couplings 0.2, 0.05, 0.2; input
  at the through bus, outputs at its through and drop ports.

The drive is a complex random sequence (a unit pulse first, then independent
complex Gaussian samples, generator seed 0), ``--steps`` samples, a batch of
``--batch`` independent streams. Agreement: the largest ``|E_photonn - E_photontorch|``
over all outputs, steps and streams, with photontorch in float64 (its default dtype
set so) and in float32 (its usual setting). Both are the same discrete-time model
(instantaneous couplers, waveguides as delay lines times ``exp(i 2 pi neff L /
lambda)`` and their loss), so in float64 they must agree to rounding: each waveguide
phase is about 1e4 rad, rounded to ~4e-12 rad, and a ring's field is the sum of a
few tens of round trips of decaying amplitude, so differences of ~1e-12 are expected
and the tolerance is 1e-10 on fields of order 1; in float32 the same count gives
~1e-6 (eps 1.2e-7).
Speed: medians of ``--repeats`` interleaved forward runs, one thread by default.
Writes ``benchmarks/results/circuits_time.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from photonn.circuits import Circuit, TimeDomain  # noqa: E402

C0 = 299_792_458.0
LAM = 1.55e-6
DT = 1e-12
WG = {"neff": 2.4, "ng": 4.2, "wavelength0": LAM}
TOL64 = 1e-10
NOTES = """Notes. What photontorch 0.4.1 needed on torch 2.13 (the peer environment of
`../shared/peers`, `import shims` first): `torch.solve` restored as
`torch.linalg.solve` (removed in torch 2.0; photontorch calls it to reduce the
memory-less part of the network), and `shims.patch_photontorch()`, which replaces
`Network._handle_source` (it relied on named tensors). Nothing else was changed. Its
float64 runs set `torch.set_default_dtype(torch.float64)` around construction and
run (photontorch builds its S-matrices in the default dtype); photonn's `TimeDomain`
always runs in complex128. Both give the output at the step of the input (no extra
latency) and the same convention: coupler cross amplitude `+i sqrt(k)`, waveguide
phase `exp(+i 2 pi neff L / lambda)`, so no re-alignment or conjugation was applied.
photontorch advances one time step per Python iteration; photonn advances by blocks
of the shortest waveguide delay (25, 7 and 10 steps in the three cases), with one
gather per group of equal delays and one matrix product through the reduced
instantaneous network per block, which is where most of the difference in time
comes from."""


def _len(steps: int) -> float:
    return steps * DT * C0 / WG["ng"]


# photonn netlists; coupler ports: o1 -> o4 through, o1 -> o3 cross, o2 -> o3 through
def photonn_case(name: str) -> tuple[dict, list[str], list[str]]:
    """netlist, input ports, output ports."""
    if name == "ring":
        net = {
            "instances": {
                "dc": {"component": "coupler", "settings": {"coupling": 0.1}},
                "wg": {"component": "straight",
                       "settings": {"length": _len(25), "loss_db_per_m": 300.0, **WG}},
            },
            "connections": {"dc,o3": "wg,o1", "wg,o2": "dc,o2"},
            "ports": {"in": "dc,o1", "out": "dc,o4"},
        }  # fmt: skip
        return net, ["in"], ["out"]
    if name == "mzi_delay":
        net = {
            "instances": {
                "dc1": {"component": "coupler", "settings": {"coupling": 0.5}},
                "dc2": {"component": "coupler", "settings": {"coupling": 0.5}},
                "wa": {"component": "straight", "settings": {"length": _len(7), **WG}},
                "wb": {"component": "straight", "settings": {"length": _len(19), **WG}},
            },
            "connections": {"dc1,o4": "wa,o1", "wa,o2": "dc2,o1",
                            "dc1,o3": "wb,o1", "wb,o2": "dc2,o2"},
            "ports": {"in": "dc1,o1", "in2": "dc1,o2", "bar": "dc2,o4", "cross": "dc2,o3"},
        }  # fmt: skip
        return net, ["in"], ["bar", "cross"]
    if name == "coupled_rings":
        inst = {
            "dc1": {"component": "coupler", "settings": {"coupling": 0.2}},
            "dc12": {"component": "coupler", "settings": {"coupling": 0.05}},
            "dc2": {"component": "coupler", "settings": {"coupling": 0.2}},
        }
        for r, (a, b) in {"r1": (10, 11), "r2": (11, 10)}.items():
            inst[f"{r}a"] = {"component": "straight", "settings": {"length": _len(a), **WG}}
            inst[f"{r}b"] = {"component": "straight", "settings": {"length": _len(b), **WG}}
        net = {
            "instances": inst,
            "connections": {
                # ring 1 between dc1 (bus) and dc12; ring 2 between dc12 and dc2 (drop bus)
                "dc1,o3": "r1a,o1", "r1a,o2": "dc12,o1", "dc12,o4": "r1b,o1",
                "r1b,o2": "dc1,o2",
                "dc12,o3": "r2a,o1", "r2a,o2": "dc2,o1", "dc2,o4": "r2b,o1",
                "r2b,o2": "dc12,o2",
            },
            "ports": {"in": "dc1,o1", "through": "dc1,o4", "add": "dc2,o2", "drop": "dc2,o3"},
        }  # fmt: skip
        return net, ["in"], ["through", "drop"]
    raise KeyError(name)


def photontorch_case(pt, name: str):
    """The same circuits in photontorch: ``DirectionalCoupler`` ports 0 -> 1 through,
    0 -> 2 cross, 3 -> 2 through (photonn o1, o4, o3, o2), the same ``+i sqrt(k)``
    cross coupling and ``exp(+i 2 pi neff L / lambda)`` waveguide phase."""

    def dc(k):
        return pt.DirectionalCoupler(coupling=k, trainable=False)

    def wg(steps, loss=0.0):
        return pt.Waveguide(length=_len(steps), loss=loss, neff=WG["neff"], ng=WG["ng"],
                            wl0=LAM, trainable=False)  # fmt: skip

    class Ring(pt.Network):
        def __init__(self):
            super().__init__()
            self.src, self.det = pt.Source(), pt.Detector()
            self.dc, self.wg = dc(0.1), wg(25, 300.0)
            self.link("src:0", "0:dc:1", "0:det")
            self.link("dc:2", "0:wg:1", "3:dc")

    class MziDelay(pt.Network):
        def __init__(self):
            super().__init__()
            self.src, self.term = pt.Source(), pt.Term()
            self.bar, self.cross = pt.Detector(), pt.Detector()
            self.dc1, self.dc2, self.wa, self.wb = dc(0.5), dc(0.5), wg(7), wg(19)
            self.link("src:0", "0:dc1:1", "0:wa:1", "0:dc2:1", "0:bar")
            self.link("term:0", "3:dc1:2", "0:wb:1", "3:dc2:2", "0:cross")

    class CoupledRings(pt.Network):
        def __init__(self):
            super().__init__()
            self.src, self.term = pt.Source(), pt.Term()
            self.through, self.drop = pt.Detector(), pt.Detector()
            self.dc1, self.dc12, self.dc2 = dc(0.2), dc(0.05), dc(0.2)
            self.r1a, self.r1b, self.r2a, self.r2b = wg(10), wg(11), wg(11), wg(10)
            self.link("src:0", "0:dc1:1", "0:through")
            self.link("dc1:2", "0:r1a:1", "0:dc12:1", "0:r1b:1", "3:dc1")
            self.link("dc12:2", "0:r2a:1", "0:dc2:1", "0:r2b:1", "3:dc12")
            self.link("term:0", "3:dc2:2", "0:drop")

    return {"ring": Ring, "mzi_delay": MziDelay, "coupled_rings": CoupledRings}[name]()


def drive(steps: int, batch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, steps, 2, generator=g, dtype=torch.float64)
    x = torch.complex(x[..., 0], x[..., 1]) / 2**0.5
    x[:, :50] = 0
    x[:, 0] = 1.0
    return x  # (batch, steps)


def run_photonn(name, x):
    net, ins, outs = photonn_case(name)
    td = TimeDomain(Circuit(net), LAM, dt=DT)
    ports = td.ports
    full = torch.zeros(*x.shape, len(ports), dtype=torch.complex128)
    full[..., ports.index(ins[0])] = x

    def fwd():
        with torch.no_grad():
            return td(full)[..., [ports.index(o) for o in outs]]

    return fwd


def run_photontorch(pt, name, x, dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        nw = photontorch_case(pt, name)
    finally:
        torch.set_default_dtype(old)
    steps = x.shape[1]
    src = torch.stack([x.real, x.imag]).permute(0, 2, 1)[:, :, None, None, :].to(dtype)

    def fwd():
        old = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            with (
                torch.no_grad(),
                pt.Environment(
                    dt=DT, t_start=0, t_end=steps * DT, wl=LAM, freqdomain=False, grad=False
                ),
            ):
                det = nw(source=src, power=False)  # (2, t, w, detectors, batch)
        finally:
            torch.set_default_dtype(old)
        e = torch.complex(det[0, :, 0].double(), det[1, :, 0].double())  # (t, det, b)
        return e.permute(2, 0, 1)  # (batch, t, detectors)

    return fwd


def _median_times(fns, repeats):
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", nargs="+", default=["ring", "mzi_delay", "coupled_rings"])
    ap.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "circuits_time.md"
    )
    args = ap.parse_args(argv)
    try:
        sys.path.insert(0, str(ROOT.parent / "shared" / "peers"))
        import photontorch as pt
        import shims

        shims.patch_photontorch()
    except Exception as exc:  # photontorch or its shims absent
        print(f"photontorch is not importable here ({type(exc).__name__}: {exc}); skipped")
        return 0
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    x = drive(args.steps, args.batch)
    rows = []
    for name in args.cases:
        f_pn = run_photonn(name, x)
        f_64 = run_photontorch(pt, name, x, torch.float64)
        f_32 = run_photontorch(pt, name, x, torch.float32)
        a, b, c = f_pn(), f_64(), f_32()
        d64 = float((a - b).abs().max())
        d32 = float((a - c).abs().max())
        t_pn, t_64, t_32 = _median_times([f_pn, f_64, f_32], args.repeats)
        row = {"case": name, "outputs": a.shape[-1], "max_abs_field": float(a.abs().max()),
               "maxdiff_photontorch_f64": d64, "maxdiff_photontorch_f32": d32,
               "photonn_s": t_pn, "photontorch_f64_s": t_64, "photontorch_f32_s": t_32,
               "photontorch_f64_over_photonn": t_64 / t_pn,
               "photontorch_f32_over_photonn": t_32 / t_pn}  # fmt: skip
        rows.append(row)
        print(row, flush=True)
        if d64 > TOL64:
            print(f"{name}: disagreement {d64:.3g} > {TOL64:g}")
    lines = [
        "# Time domain: photonn.circuits.TimeDomain against photontorch",
        "",
        "Written by `benchmarks/circuits_time.py` (its docstring: cases, drive, tolerance).",
        f"torch {torch.__version__}, photontorch {getattr(pt, '__version__', '?')}, "
        f"threads {torch.get_num_threads()}; load average at the start {load:.1f} on "
        f"{os.cpu_count()} cores (a shared machine: ratios, measured interleaved, are "
        "what counts).",
        f"{args.steps} steps of dt = {DT:g} s, batch {args.batch}; times are medians [s] "
        f"of {args.repeats} forward runs (no gradient); `maxdiff` is the largest "
        "|E_photonn - E_photontorch| over outputs, steps and streams.",
        "",
        "| case | key | value |",
        "|---|---|---|",
    ]
    for row in rows:
        for k, v in row.items():
            if k != "case":
                val = f"{v:.4g}" if isinstance(v, float) else str(v)
                lines.append(f"| {row['case']} | {k} | {val} |")
    lines += ["", NOTES]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["maxdiff_photontorch_f64"] <= TOL64 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
