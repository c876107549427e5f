"""A recurrent delay-line network (passive reservoir) against a linear equaliser.

    python experiments/circuits/reservoir.py            # seeds 0, 1, 2 -> results/*.json
    python experiments/circuits/reservoir.py --seeds 1  # one seed

Recovers the bits of a dispersion-distorted 32 Gbit/s OOK signal. The protocol (signal
model, streams, hyper-parameter grids, selection on validation) is in this folder's
README; this script implements it, per seed, for both fibre lengths. The network
is simulated by ``photonn.circuits.TimeDomain`` (couplers and delay lines at the
carrier), detected by ``photonn.circuits.Photodetector``; the readouts are linear and
trained by least squares.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from photonn.circuits import Circuit, Photodetector, TimeDomain  # noqa: E402

C0 = 299_792_458.0
LAM = 1.55e-6
BIT_RATE = 32e9
SPB = 8  # samples per bit
DT = 1 / BIT_RATE / SPB
DL_PS_PER_NM = (170.0, 340.0)  # D L [ps/nm]
SNR_DB = 20.0
DET_BW = 0.75 * BIT_RATE
N_BITS = {"train": 8192, "val": 8192, "test": 4 * 8192}
WARMUP = 64
N_NODES = 16
NG, NEFF = 4.2, 2.4
DELAYS = (2, 4, 8)  # steps per delay line
KAPPAS = (0.3, 0.5, 0.7)
RIDGES = (1e-6, 1e-4, 1e-2)
FIR_TAPS = (1, 3, 5, 7, 9, 11, 15, 21)
RES_TAPS = (1, 3)
STREAM_BITS = 8192  # every simulated stream has this many bits


def streams(seed: int):
    """Bits ``(6, 8192)``: train, val, test x 4 (generator seeds 1000+s, 2000+s, 3000+s)."""
    out = []
    for split, base in (("train", 1000), ("val", 2000), ("test", 3000)):
        g = torch.Generator().manual_seed(base + seed)
        bits = torch.randint(0, 2, (N_BITS[split] // STREAM_BITS, STREAM_BITS), generator=g)
        out.append(bits)
    return torch.cat(out).to(torch.float64)


def received(bits: torch.Tensor, dl_ps_per_nm: float, seed: int) -> torch.Tensor:
    """The received field ``(n_streams, n_steps)`` [sqrt(mW)]: NRZ, dispersion, noise."""
    field = bits.repeat_interleave(SPB, -1).to(torch.complex128)
    n = field.shape[-1]
    w = 2 * math.pi * torch.fft.fftfreq(n, d=DT, dtype=torch.float64)
    dl = dl_ps_per_nm * 1e-12 / 1e-9  # s/m
    beta2_l = -dl * LAM**2 / (2 * math.pi * C0)  # [s^2]
    field = torch.fft.ifft(torch.fft.fft(field) * torch.exp(-0.5j * beta2_l * w**2))
    p_avg = field.abs().pow(2).mean(-1, keepdim=True)
    var = p_avg * SPB / 10 ** (SNR_DB / 10)
    g = torch.Generator().manual_seed(10_000 * (1 + seed) + int(dl_ps_per_nm))
    noise = torch.randn(*field.shape, 2, generator=g, dtype=torch.float64)
    noise = torch.complex(noise[..., 0], noise[..., 1]) * torch.sqrt(var / 2)
    return field + noise


def reservoir(m_steps: int, kappa: float, seed: int) -> tuple[TimeDomain, torch.Tensor]:
    """The ring of ``N_NODES`` couplers with delay lines of ``m_steps``; and the input
    weights ``(N_NODES,)`` (amplitude 1/sqrt(N), random phases)."""
    g = torch.Generator().manual_seed(seed)
    extra = torch.rand(N_NODES, generator=g, dtype=torch.float64) * LAM / NEFF
    phases = 2 * math.pi * torch.rand(N_NODES, generator=g, dtype=torch.float64)
    length = m_steps * DT * C0 / NG
    inst, conn, ports = {}, {}, {}
    for i in range(N_NODES):
        inst[f"n{i}"] = {"component": "coupler", "settings": {"coupling": kappa}}
        inst[f"w{i}"] = {
            "component": "straight",
            "settings": {"length": length + float(extra[i]), "ng": NG, "neff": NEFF},
        }
        conn[f"n{i},o3"] = f"w{i},o1"
        conn[f"w{i},o2"] = f"n{(i + 1) % N_NODES},o1"
    for i in range(N_NODES):
        ports[f"in{i}"] = f"n{i},o2"
    for i in range(N_NODES):
        ports[f"out{i}"] = f"n{i},o4"
    net = {"instances": inst, "connections": conn, "ports": ports}
    td = TimeDomain(Circuit(net), LAM, dt=DT)
    weights = torch.polar(torch.full((N_NODES,), N_NODES**-0.5, dtype=torch.float64), phases)
    return td, weights


def detect(field: torch.Tensor) -> torch.Tensor:
    """Photocurrents ``(..., n_steps, n)`` [A] of fields ``(..., n_steps, n)``."""
    return Photodetector(DT, responsivity=1.0, bandwidth=DET_BW)(field)


def tap_features(samples: np.ndarray, taps: int) -> np.ndarray:
    """``(n_streams, n_bits, F)`` -> ``(n_streams, n_bits, F * taps)``, centred taps
    (periodic within a stream, matching the periodic streams)."""
    h = (taps - 1) // 2
    return np.concatenate([np.roll(samples, -j, axis=1) for j in range(-h, h + 1)], -1)


def fit(X: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Least squares with a bias (not penalised); ridge relative to trace(X^T X)/F."""
    A = np.concatenate([np.ones((X.shape[0], 1)), X], 1)
    N = A.T @ A
    reg = ridge * np.trace(N[1:, 1:]) / max(X.shape[1], 1) * np.eye(N.shape[0])
    reg[0, 0] = 0
    return np.linalg.solve(N + reg, A.T @ y)


def errors(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> int:
    pred = (w[0] + X @ w[1:]) > 0.5
    return int((pred != (y > 0.5)).sum())


def select(currents: np.ndarray, bits: np.ndarray, taps_grid) -> dict:
    """Choose sampling phase, taps and ridge on validation; report the test errors.

    currents ``(6, n_steps, F)``; bits ``(6, n_bits)``; stream 0 train, 1 val, 2-5 test.
    """
    keep = slice(WARMUP, None)
    best = None
    for phase in range(SPB):
        samples = currents[:, phase::SPB, :]
        for taps in taps_grid:
            feats = tap_features(samples, taps)[:, keep]
            y = bits[:, keep]
            for ridge in RIDGES:
                w = fit(feats[0], y[0], ridge)
                e_val = errors(feats[1], y[1], w)
                key = (e_val, taps, ridge)
                if best is None or key < best[0]:
                    e_test = sum(errors(feats[k], y[k], w) for k in range(2, feats.shape[0]))
                    n_test = y[2:].size
                    best = (key, dict(phase=phase, taps=taps, ridge=ridge, val_errors=e_val,
                                      n_val=int(y[1].size), test_errors=e_test,
                                      n_test=int(n_test), weights=w.tolist()))  # fmt: skip
    return best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for seed in args.seeds:
        run_seed(seed, args.out)


def run_seed(seed: int, out: Path) -> None:
    t0 = time.perf_counter()
    bits = streams(seed)
    rx = {dl: received(bits, dl, seed) for dl in DL_PS_PER_NM}
    result = {"seed": seed, "protocol": "experiments/circuits/README.md", "cases": {}}
    # the linear equaliser on the single photodiode
    for dl in DL_PS_PER_NM:
        cur = detect(rx[dl][..., None]).numpy()
        fir = select(cur, bits.numpy(), FIR_TAPS)
        result["cases"][str(dl)] = {"fir": fir, "reservoir_grid": [], "reservoir": None}
        print(f"D L {dl} ps/nm FIR: {fir['taps']} taps, val {fir['val_errors']}, "
              f"test {fir['test_errors']}/{fir['n_test']}", flush=True)  # fmt: skip
    x_all = torch.stack([rx[dl] for dl in DL_PS_PER_NM])  # (2, 6, n_steps)
    for m in DELAYS:
        for kappa in KAPPAS:
            td, weights = reservoir(m, kappa, seed)
            x = torch.zeros(*x_all.shape, 2 * N_NODES, dtype=torch.complex128)
            x[..., :N_NODES] = x_all[..., None] * weights
            t1 = time.perf_counter()
            with torch.no_grad():
                y = td(x)[..., N_NODES:]
                cur = detect(y).numpy()
            sim_s = time.perf_counter() - t1
            for j, dl in enumerate(DL_PS_PER_NM):
                r = select(cur[j], bits.numpy(), RES_TAPS)
                r.update(delay_steps=m, kappa=kappa, sim_s=sim_s)
                case = result["cases"][str(dl)]
                case["reservoir_grid"].append(r)
                best = case["reservoir"]
                if best is None or (r["val_errors"], r["taps"]) < (
                    best["val_errors"],
                    best["taps"],
                ):
                    case["reservoir"] = r
                print(f"D L {dl} m {m} kappa {kappa}: val {r['val_errors']}, test "
                      f"{r['test_errors']} ({sim_s:.1f} s)", flush=True)  # fmt: skip
    result["wall_s"] = time.perf_counter() - t0
    result["torch"] = torch.__version__
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"reservoir_seed{seed}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)
    print(f"wrote {path} in {result['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
