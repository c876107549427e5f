"""Aggregate ``results/reservoir_seed*.json`` into ``results/reservoir.md``.

    python experiments/circuits/reservoir_aggregate.py

Per fibre (D L) and receiver: the chosen configuration and the test bit errors of
each seed, the bit error rate with its 95 % Clopper-Pearson interval (0 errors: the
upper bound 3/N, the "rule of three"), the errors pooled over the seeds with their
interval, and the mean and standard deviation of the per-seed BER.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from scipy.stats import beta

HERE = Path(__file__).parent / "results"


def interval(k: int, n: int) -> tuple[float, float]:
    """95 % interval of a BER from k errors in n bits."""
    if k == 0:
        return 0.0, 3 / n
    return float(beta.ppf(0.025, k, n - k + 1)), float(beta.ppf(0.975, k + 1, n - k))


def fmt(k: int, n: int) -> str:
    lo, hi = interval(k, n)
    if k == 0:
        return f"0/{n} (< {hi:.1e})"
    return f"{k}/{n} = {k / n:.2e} [{lo:.1e}, {hi:.1e}]"


def main() -> None:
    runs = sorted(
        (json.loads(p.read_text()) for p in HERE.glob("reservoir_seed*.json")),
        key=lambda r: r["seed"],
    )
    if not runs:
        raise SystemExit(f"no results in {HERE}; run reservoir.py --seed 0 (1, 2) first")
    lines = [
        "# Reservoir against linear equaliser: test bit errors",
        "",
        "Written by `reservoir_aggregate.py` from "
        + ", ".join(f"`reservoir_seed{r['seed']}.json`" for r in runs)
        + " (protocol: the README).",
        "Errors k/N on the test bits of each seed; BER with its 95 % Clopper-Pearson",
        "interval (0 errors: upper bound 3/N). Chosen on validation: FIR taps K,",
        "sampling phase (samples into the bit, of 8), ridge; reservoir delay m [steps],",
        "coupling kappa, readout taps K_r.",
        "",
    ]
    for dl in runs[0]["cases"]:
        lines += [f"## D L = {float(dl):g} ps/nm", ""]
        lines += ["| seed | receiver | chosen | val errors | test errors, BER [95 % CI] |",
                  "|---|---|---|---|---|"]  # fmt: skip
        pooled = {"fir": [0, 0], "reservoir": [0, 0]}
        bers = {"fir": [], "reservoir": []}
        for r in runs:
            case = r["cases"][dl]
            for rx in ("fir", "reservoir"):
                c = case[rx]
                if rx == "fir":
                    chosen = f"K = {c['taps']}, phase {c['phase']}, ridge {c['ridge']:g}"
                else:
                    chosen = (f"m = {c['delay_steps']}, kappa {c['kappa']}, K_r = {c['taps']}, "
                              f"phase {c['phase']}, ridge {c['ridge']:g}")  # fmt: skip
                k, n = c["test_errors"], c["n_test"]
                pooled[rx][0] += k
                pooled[rx][1] += n
                bers[rx].append(k / n)
                lines.append(f"| {r['seed']} | {rx} | {chosen} | {c['val_errors']}/{c['n_val']} "
                             f"| {fmt(k, n)} |")  # fmt: skip
        lines.append("")
        for rx in ("fir", "reservoir"):
            k, n = pooled[rx]
            sd = statistics.stdev(bers[rx]) if len(bers[rx]) > 1 else float("nan")
            lines.append(f"- {rx}, pooled over {len(runs)} seeds: {fmt(k, n)}; per-seed BER "
                         f"mean {statistics.mean(bers[rx]):.2e}, sd {sd:.1e}")  # fmt: skip
        lines.append("")
        zero_val = [sum(g["val_errors"] == 0 for g in r["cases"][dl]["reservoir_grid"])
                    for r in runs]  # fmt: skip
        grid = len(runs[0]["cases"][dl]["reservoir_grid"])
        lines.append(f"Reservoir configurations with 0 validation errors, per seed: "
                     f"{zero_val} of {grid}.")  # fmt: skip
        lines.append("")
    fir_taps = {dl: [r["cases"][dl]["fir"]["weights"] for r in runs] for dl in runs[0]["cases"]}
    lines += ["## FIR taps (bias first, then taps from the earliest sample), per seed", ""]
    for dl, ws in fir_taps.items():
        for r, w in zip(runs, ws):
            lines.append(f"- D L {float(dl):g}, seed {r['seed']}: "
                         + ", ".join(f"{x:.4g}" for x in w))  # fmt: skip
    lines.append("")
    walls = [r["wall_s"] for r in runs]
    lines.append(f"Wall time per seed [s]: {', '.join(f'{w:.0f}' for w in walls)} "
                 "(one thread, on a shared machine).")  # fmt: skip
    out = HERE / "reservoir.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
