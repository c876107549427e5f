"""Circuit solver: photonn.circuits against sax (JAX) on the same netlists and models.

    python benchmarks/circuits.py                        # photonn only
    PEER/bin/python benchmarks/circuits.py               # with sax (peer venv, see
                                                         # ../shared/peers/README.md)

Cases (frequency domain, CPU):
- ``mesh64``: a 64-mode rectangular (Clements-layout) mesh of 2016 ``mzi`` instances
  (random internal and external phases), 64 + 64 ports, at 16 wavelengths;
- ``rings100``: 100 all-pass rings in series, each a ``coupler`` and a ``straight``
  closed on itself (200 instances, 300 connections, 100 loops), at 1,000 wavelengths.

sax evaluates the same netlists with models written in JAX from the same formulas
(``JAX_MODELS``), and the ring also with sax's own ``coupler_ideal`` and ``straight``
(ports renamed: o1 -> in0, o2 -> in1, o4 -> out0, o3 -> out1). Agreement is the
largest ``|S_photonn - S_sax|`` over all S-parameters and wavelengths; times are
medians of interleaved repeats after one warm-up call (sax: after jit compilation,
whose time is reported separately), with torch and JAX on the machine's default
threads unless ``--threads`` is given. Writes ``benchmarks/results/circuits.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from photonn.circuits import Circuit  # noqa: E402

WG = {"neff": 2.4, "ng": 4.2, "wavelength0": 1.55e-6}


def mesh_netlist(n: int, seed: int = 0) -> dict:
    """A rectangular mesh of built-in ``mzi`` instances (``length`` 10 um, no arm
    difference, random ``phase``), plus an output phase shifter per mode."""
    g = np.random.default_rng(seed)
    inst, conn, ports = {}, {}, {}
    tip: dict[int, str | None] = dict.fromkeys(range(n))
    k = 0
    for col in range(n):
        for m in range(col % 2, n - 1, 2):
            name = f"mzi{k}"
            inst[name] = {
                "component": "mzi",
                "settings": {"length": 10e-6, "phase": float(g.uniform(0, 2 * math.pi)), **WG},
            }
            # mode m on the bottom arm (o1 -> o4), m + 1 on the top (o2 -> o3)
            for mode, port in ((m, "o1"), (m + 1, "o2")):
                if tip[mode] is None:
                    ports[f"in{mode}"] = f"{name},{port}"
                else:
                    conn[tip[mode]] = f"{name},{port}"
            tip[m], tip[m + 1] = f"{name},o4", f"{name},o3"
            k += 1
    for mode in range(n):
        ps = f"ps{mode}"
        inst[ps] = {"component": "phase_shifter", "settings": {"phase": float(g.uniform(0, 6))}}
        conn[tip[mode]] = f"{ps},o1"
        ports[f"out{mode}"] = f"{ps},o2"
    return {"instances": inst, "connections": conn, "ports": ports}


def rings_netlist(n_rings: int) -> dict:
    """``n_rings`` all-pass rings (coupler + straight) in series on one bus."""
    inst, conn = {}, {}
    for k in range(n_rings):
        inst[f"dc{k}"] = {"component": "coupler", "settings": {"coupling": 0.05 + 0.001 * k}}
        inst[f"wg{k}"] = {
            "component": "straight",
            "settings": {"length": 40e-6 + 0.05e-6 * k, "loss_db_per_m": 300.0, **WG},
        }
        conn[f"dc{k},o3"] = f"wg{k},o1"
        conn[f"wg{k},o2"] = f"dc{k},o2"
        if k:
            conn[f"dc{k - 1},o4"] = f"dc{k},o1"
    ports = {"in": "dc0,o1", "out": f"dc{n_rings - 1},o4"}
    return {"instances": inst, "connections": conn, "ports": ports}


def _median_times(fns, repeats: int) -> list[float]:
    """Medians of ``repeats`` interleaved calls of each function, after one warm-up each."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---- sax ------------------------------------------------------------------------------------
def _sax_models():
    import jax.numpy as jnp
    import sax

    def _neff(wl, neff, ng, wavelength0):
        return neff - (ng - neff) * (wl - wavelength0) / wavelength0

    def straight(wl=1.55, length=10e-6, neff=2.4, ng=4.2, wavelength0=1.55e-6, loss_db_per_m=0.0):
        lam = wl * 1e-6
        t = 10 ** (-loss_db_per_m * length / 20) * jnp.exp(
            2j * jnp.pi * _neff(lam, neff, ng, wavelength0) * length / lam
        )
        return sax.reciprocal({("o1", "o2"): t})

    def coupler(wl=1.55, coupling=0.5):
        t, x = jnp.sqrt(1 - coupling) + 0 * wl, 1j * jnp.sqrt(coupling) + 0 * wl
        return sax.reciprocal({("o1", "o4"): t, ("o2", "o3"): t, ("o1", "o3"): x, ("o2", "o4"): x})

    def phase_shifter(wl=1.55, phase=0.0):
        return sax.reciprocal({("o1", "o2"): jnp.exp(1j * phase) + 0 * wl})

    def mzi(wl=1.55, length=10e-6, phase=0.0, neff=2.4, ng=4.2, wavelength0=1.55e-6):
        lam = wl * 1e-6
        arm = jnp.exp(2j * jnp.pi * _neff(lam, neff, ng, wavelength0) * length / lam)
        bot, top = arm, arm * jnp.exp(1j * phase)
        s = 1 / jnp.sqrt(2)
        # T = C D C with C = s [[1, i], [i, 1]] (rows/cols: bottom, top)
        t00 = s * s * (bot - top)
        t01 = s * s * 1j * (bot + top)
        t11 = s * s * (top - bot)
        return sax.reciprocal({("o1", "o4"): t00, ("o2", "o4"): t01, ("o1", "o3"): t01,
                               ("o2", "o3"): t11})  # fmt: skip

    return {"straight": straight, "coupler": coupler, "phase_shifter": phase_shifter, "mzi": mzi}


def _sax_matrix(netlist, models, wl_um, ports, backend):
    import jax
    import sax

    circuit, _ = sax.circuit(netlist=netlist, models=models, backend=backend)
    f = jax.jit(lambda w: circuit(wl=w))
    t0 = time.perf_counter()
    S = f(wl_um)
    jax.block_until_ready(S[(ports[0], ports[0])])
    compile_s = time.perf_counter() - t0

    def run():
        out = f(wl_um)
        jax.block_until_ready(out[(ports[0], ports[0])])
        return out

    M = np.stack(
        [np.stack([np.asarray(S[(o, i)]) for i in ports], -1) for o in ports], -2
    )  # (n_wl, out, in)
    return M, run, compile_s


def _sax_ring_builtin(netlist):
    """The ring netlist with sax's own models: coupler_ideal and straight (um, dB/cm)."""
    rename = {"o1": "in0", "o2": "in1", "o4": "out0", "o3": "out1"}
    inst, conn = {}, {}
    for name, spec in netlist["instances"].items():
        s = spec["settings"]
        if spec["component"] == "coupler":
            inst[name] = {"component": "coupler_ideal", "settings": {"coupling": s["coupling"]}}
        else:
            inst[name] = {
                "component": "straight",
                "settings": {"length": s["length"] * 1e6, "neff": s["neff"], "ng": s["ng"],
                             "wl0": s["wavelength0"] * 1e6,
                             "loss_dB_cm": s["loss_db_per_m"] / 100},
            }  # fmt: skip

    def fix(ref):
        i, p = ref.split(",")
        if netlist["instances"][i]["component"] == "coupler":
            return f"{i},{rename[p]}"
        return f"{i},{'in0' if p == 'o1' else 'out0'}"

    for a, b in netlist["connections"].items():
        conn[fix(a)] = fix(b)
    ports = {k: fix(v) for k, v in netlist["ports"].items()}
    return {"instances": inst, "connections": conn, "ports": ports}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--cases", nargs="+", default=["rings100", "mesh64"])
    ap.add_argument("--backends", nargs="+", default=["klu"], help="sax backends to time")
    ap.add_argument(
        "--methods",
        nargs="+",
        default=["auto"],
        help="photonn elimination methods to time, interleaved (auto, dense, "
        "sparse, cascade); the first is the reference of the others' maxdiff",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "circuits.md")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = {
        "mesh64": (mesh_netlist(64), torch.linspace(1.54e-6, 1.56e-6, 16, dtype=torch.float64)),
        "rings100": (rings_netlist(100),
                     torch.linspace(1.545e-6, 1.555e-6, 1000, dtype=torch.float64)),
    }  # fmt: skip
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import sax

        have_sax = True
        sax_version = sax.__version__
    except ImportError:
        have_sax = False
        sax_version = None
    rows = []
    for name in args.cases:
        net, wl = cases[name]
        c = Circuit(net)
        S = c.s_matrix(wl).detach().numpy()
        row = {"case": name, "ports": len(c.ports), "instances": len(c.instances),
               "wavelengths": len(wl), "method": c._method}  # fmt: skip
        circuits = {m: (c if m == "auto" else Circuit(net, method=m)) for m in args.methods}
        times = _median_times(
            [lambda c=cm, wl=wl: c.s_matrix(wl) for cm in circuits.values()], args.repeats
        )
        ref = None
        for (m, cm), t in zip(circuits.items(), times):
            key = "photonn" if m == "auto" else f"photonn_{m}"
            row[f"{key}_s"] = t
            Sm = cm.s_matrix(wl).detach().numpy()
            if ref is None:
                ref = Sm
            else:
                row[f"{key}_maxdiff_vs_{args.methods[0]}"] = float(np.abs(Sm - ref).max())
        if have_sax:
            wl_um = jax.numpy.asarray(wl.numpy() * 1e6)
            for backend in args.backends:
                try:
                    M, run, comp = _sax_matrix(net, _sax_models(), wl_um, c.ports, backend)
                except Exception as exc:  # a backend may not exist in this sax version
                    row[f"sax_{backend}_error"] = f"{type(exc).__name__}: {exc}"[:120]
                    continue
                row[f"sax_{backend}_s"] = _median_time(run, args.repeats)
                row[f"sax_{backend}_compile_s"] = comp
                row[f"sax_{backend}_maxdiff"] = float(np.abs(M - S).max())
            if name == "rings100":
                import sax.models as sm

                bi = _sax_ring_builtin(net)
                models = {"coupler_ideal": sm.coupler_ideal, "straight": sm.straight}
                M, _, _ = _sax_matrix(bi, models, wl_um, c.ports, "klu")
                row["sax_builtin_models_maxdiff"] = float(np.abs(M - S).max())
        rows.append(row)
        print(row, flush=True)
    lines = [
        "# Circuits: photonn.circuits against sax",
        "",
        "Written by `benchmarks/circuits.py` (see its docstring for the cases and method).",
        f"torch {torch.__version__}, threads {torch.get_num_threads()}; sax {sax_version}; "
        f"load average at the start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "Times are medians [s] of one S-matrix evaluation over all wavelengths (CPU);",
        "`maxdiff` is the largest |S_photonn - S_sax| over all S-parameters and wavelengths.",
        "",
        "| case | key | value |",
        "|---|---|---|",
    ]
    for row in rows:
        for k, v in row.items():
            if k == "case":
                continue
            val = f"{v:.4g}" if isinstance(v, float) else str(v)
            lines.append(f"| {row['case']} | {k} | {val} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():  # keep the rows (and notes) this run did not write
        text = args.out.read_text()
        old = [ln for ln in text.splitlines() if ln.startswith("| ")]
        new_keys = {(r["case"], k) for r in rows for k in r}
        for ln in old[1:]:
            cells = [x.strip() for x in ln.split("|")]
            if len(cells) > 3 and (cells[1], cells[2]) not in new_keys:
                lines.append(ln)
        if "\nNotes" in text:
            lines += ["", text[text.index("\nNotes") + 1 :].rstrip()]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
