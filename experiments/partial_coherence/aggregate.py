"""Aggregate ``results/raw.jsonl`` into ``results.json``, ``results.md`` and a PNG plot.

Usage: python experiments/partial_coherence/aggregate.py [RESULTS_DIR]

Mean and standard error (sd / sqrt(n_seeds)) over seeds of the test accuracy, per
training illumination and test illumination; the plot shows accuracy against the
coherence width (GSM sigma_g, LED sigma_eq) for the coherently trained networks and
for the networks fine-tuned under the partially coherent illumination.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRATCH = "scratch/"  # trained-label prefix of the from-scratch arm (same-budget networks)


def _atomic(path: Path, text: str):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _sigma(tested: str) -> tuple[str, float]:
    kind, s = tested.split(":")
    return kind, float(s)


def pool(records):
    """One record per (seed, trained, tested, split, tolerance): the test-image ranges of
    several runs (``test_start``, ``n``) pooled, weighted by their image counts."""
    chunks = {}
    for r in records:
        key = (r["seed"], r["trained"], r["tested"], r["split"], r["tolerance"])
        chunks.setdefault(key, {}).setdefault(r.get("test_start", 0), r)  # first wins
    out = []
    for parts in chunks.values():
        starts = sorted(parts)
        for a, b in zip(starts, starts[1:]):
            if a + parts[a]["n"] > b:
                raise ValueError(f"overlapping test ranges at {a} and {b}: {parts[a]}")
        first = dict(parts[starts[0]])
        n = sum(p["n"] for p in parts.values())
        first["accuracy"] = sum(p["accuracy"] * p["n"] for p in parts.values()) / n
        first["n"] = n
        first["ranges"] = [[a, a + parts[a]["n"]] for a in starts]
        out.append(first)
    return out


def summarise(records):
    groups = {}
    for r in pool(records):
        key = (r["trained"], r["tested"], r["split"], r["tolerance"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (trained, tested, split, tol), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        accs = [r["accuracy"] for r in rs]
        n = len(accs)
        mean = sum(accs) / n
        sd = math.sqrt(sum((a - mean) ** 2 for a in accs) / (n - 1)) if n > 1 else float("nan")
        kind, sigma = _sigma(tested)
        rows.append(
            {
                "trained": trained,
                "tested": tested,
                "illumination": kind,
                "coherence_width_mm": sigma,
                "split": split,
                "tolerance": tol,
                "seeds": [r["seed"] for r in rs],
                "accs": accs,
                "mean": mean,
                "se": sd / math.sqrt(n) if n > 1 else float("nan"),
                "images": rs[0]["n"]
                if len({r["n"] for r in rs}) == 1
                else [r["n"] for r in rs],  # seeds with different test sets: shown
                "image_ranges": rs[0]["ranges"],
                "modes": rs[0]["info"]["modes"],
                "source_modes": rs[0]["info"]["source_modes"],
                "omitted_in_support": rs[0]["info"]["omitted_in_support"],
                "train_modes": rs[0].get("train_info", {}).get("modes"),
                "budget": rs[0].get("budget"),
            }
        )
    order = {"gsm": 0, "led": 1}
    rows.sort(
        key=lambda r: (
            r["split"] != "test",
            r["trained"] != "coherent",
            order[r["illumination"]],
            -r["coherence_width_mm"],
            -r["tolerance"],
        )
    )
    return rows


def _name(kind: str, sigma: float) -> str:
    if math.isinf(sigma):
        return "coherent"
    return f"GSM sigma_g = {sigma:g} mm" if kind == "gsm" else f"LED sigma_eq = {sigma:g} mm"


def scratch_pairs(rows):
    """From-scratch arm: per training illumination, the fresh network trained under it and
    the coherent network trained at the same budget, both tested under it; the paired
    per-seed difference (same initialisation, same images) with mean +- SE."""
    out = []
    for r in rows:
        if r["split"] != "test" or not r["trained"].startswith(SCRATCH):
            continue
        if r["trained"] == SCRATCH + "coherent":
            continue
        base = next(
            (
                b
                for b in rows
                if b["split"] == "test"
                and b["trained"] == SCRATCH + "coherent"
                and b["tested"] == r["tested"]
            ),
            None,
        )
        pair = {"illumination": r, "coherent_same_budget": base, "diff": None}
        if base is not None:
            common = sorted(set(r["seeds"]) & set(base["seeds"]))
            d = [
                r["accs"][r["seeds"].index(k)] - base["accs"][base["seeds"].index(k)]
                for k in common
            ]
            n = len(d)
            mean = sum(d) / n if n else float("nan")
            sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1)) if n > 1 else float("nan")
            pair["diff"] = {
                "seeds": common,
                "diffs": d,
                "mean": mean,
                "se": sd / math.sqrt(n) if n > 1 else float("nan"),
            }
        out.append(pair)
    return out


def _pm(mean, se):
    return f"{100 * mean:.1f} +- {100 * se:.1f} %"


def scratch_table(rows) -> list[str]:
    pairs = scratch_pairs(rows)
    if not pairs:
        return []
    b = pairs[0]["illumination"]["budget"] or {}
    coh = next(
        (
            r
            for r in rows
            if r["split"] == "test"
            and r["trained"] == SCRATCH + "coherent"
            and math.isinf(r["coherence_width_mm"])
        ),
        None,
    )
    lines = [
        "",
        f"From scratch, at one budget for every network ({b.get('steps')} steps of batch "
        f"{b.get('batch')}, {b.get('images')} images, Adam lr 0.03, the seed's initialisation, "
        "the same images in the same order): a fresh network trained under the light it is "
        "tested under, against the coherent network trained at the same budget and tested "
        "under that light; difference paired by seed (mean +- SE):",
        "",
        "| illumination | modes per wavelength: training, test | coherent network, same budget "
        "| trained from scratch under it | from scratch - coherent | per seed (coherent; "
        "from scratch) | seeds | test images |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if coh is not None:
        lines.append(
            f"| coherent | 1, 1 | {_pm(coh['mean'], coh['se'])} | | | "
            + ", ".join(f"{100 * a:.1f}" for a in coh["accs"])
            + f" | {len(coh['accs'])} | {coh['images']} |"
        )
    for p in pairs:
        r, base, d = p["illumination"], p["coherent_same_budget"], p["diff"]

        def fmt(m):
            return m if isinstance(m, int) else "/".join(map(str, m))

        lines.append(
            f"| {_name(r['illumination'], r['coherence_width_mm'])} | "
            f"{fmt(r['train_modes'])}, {fmt(r['modes'])} | "
            + (_pm(base["mean"], base["se"]) if base else "")
            + f" | {_pm(r['mean'], r['se'])} | "
            + (f"{100 * d['mean']:+.1f} +- {100 * d['se']:.1f} points" if d else "")
            + " | "
            + (", ".join(f"{100 * a:.1f}" for a in base["accs"]) if base else "")
            + "; "
            + ", ".join(f"{100 * a:.1f}" for a in r["accs"])
            + f" | {len(r['accs'])} | {r['images']} |"
        )
    return lines


def table(rows) -> str:
    lines = [
        "| trained under | tested under | modes per wavelength (source's rule -> kept) | "
        "test accuracy, mean +- SE | per seed | seeds | test images |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["split"] != "test" or r["trained"].startswith(SCRATCH):
            continue
        trained = "coherent" if r["trained"] == "coherent" else _name(*_sigma(r["trained"]))
        modes = r["modes"] if isinstance(r["modes"], int) else "/".join(map(str, r["modes"]))
        lines.append(
            f"| {trained} | {_name(r['illumination'], r['coherence_width_mm'])} | "
            f"{r['source_modes']} -> {modes} | {100 * r['mean']:.1f} +- {100 * r['se']:.1f} % | "
            + ", ".join(f"{100 * a:.1f}" for a in r["accs"])
            + f" | {len(r['accs'])} | {r['images']} |"
        )
    repro = [r for r in rows if r["split"] == "repro-first-300"]
    if repro:
        lines += [
            "",
            "The later run re-trained the same coherent networks: their accuracy on the first "
            "300 test images (coherent light) was "
            + ", ".join(f"{100 * a:.1f}" for a in repro[0]["accs"])
            + f" % (seeds {', '.join(map(str, repro[0]['seeds']))}).",
        ]
    lines += scratch_table(rows)
    check = [r for r in rows if r["split"] == "validation"]
    if check:
        lines += [
            "",
            "Truncation check (validation images, coherently trained network of seed "
            f"{check[0]['seeds'][0]}):",
            "",
            "| tested under | tolerance | modes kept | validation accuracy |",
            "|---|---|---|---|",
        ]
        for r in check:
            modes = r["modes"] if isinstance(r["modes"], int) else "/".join(map(str, r["modes"]))
            lines.append(
                f"| {_name(r['illumination'], r['coherence_width_mm'])} | {r['tolerance']:g} | "
                f"{modes} | {100 * r['mean']:.1f} % |"
            )
    return "\n".join(lines) + "\n"


def plot(rows, path: Path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plotting is optional
        print("matplotlib missing: no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    test = [r for r in rows if r["split"] == "test"]
    scratch = [r for r in test if r["trained"].startswith(SCRATCH)]
    test = [r for r in test if not r["trained"].startswith(SCRATCH)]
    coherent = [r for r in test if r["trained"] == "coherent"]
    ref = [r for r in coherent if math.isinf(r["coherence_width_mm"])]
    xinf = 8.0  # where "coherent" sits on the axis
    styles = {
        ("coherent", "gsm"): dict(color="C0", marker="o", ls="-", label="trained coherent, GSM"),
        ("coherent", "led"): dict(color="C1", marker="s", ls="-", label="trained coherent, LED"),
        ("pc", "gsm"): dict(
            color="C0",
            marker="o",
            ls="none",
            mfc="none",
            ms=9,
            label="fine-tuned under the test light, GSM",
        ),  # fmt: skip
        ("pc", "led"): dict(
            color="C1",
            marker="s",
            ls="none",
            mfc="none",
            ms=9,
            label="fine-tuned under the test light, LED",
        ),  # fmt: skip
    }
    for kind in ("gsm", "led"):
        rs = [r for r in coherent if r["illumination"] == kind] + (ref if kind == "led" else [])
        rs = sorted(rs, key=lambda r: -r["coherence_width_mm"])
        xs = [xinf if math.isinf(r["coherence_width_mm"]) else r["coherence_width_mm"] for r in rs]
        ax.errorbar(xs, [100 * r["mean"] for r in rs], [100 * r["se"] for r in rs], capsize=3,
                    **styles[("coherent", kind)])  # fmt: skip
        pc = [r for r in test if r["trained"] != "coherent" and r["illumination"] == kind]
        if pc:
            ax.errorbar([r["coherence_width_mm"] for r in pc], [100 * r["mean"] for r in pc],
                        [100 * r["se"] for r in pc], capsize=3, **styles[("pc", kind)])  # fmt: skip
    for kind, color, m in (("gsm", "C0", "D"), ("led", "C1", "D")):
        sc = [
            r for r in scratch if r["illumination"] == kind and r["trained"] != SCRATCH + "coherent"
        ]
        cb = [r for r in scratch if r["illumination"] == kind
              and r["trained"] == SCRATCH + "coherent"
              and not math.isinf(r["coherence_width_mm"])]  # fmt: skip
        if sc:
            ax.errorbar([r["coherence_width_mm"] * 1.04 for r in sc], [100 * r["mean"] for r in sc],
                        [100 * r["se"] for r in sc], capsize=3, color=color, marker=m, ls="none",
                        label=f"trained from scratch under it, {kind.upper()}")  # fmt: skip
        if cb:
            ax.errorbar([r["coherence_width_mm"] * 1.04 for r in cb], [100 * r["mean"] for r in cb],
                        [100 * r["se"] for r in cb], capsize=3, color=color, marker="x", ls="none",
                        label=f"coherent at the from-scratch budget, {kind.upper()}")  # fmt: skip
    ax.set_xscale("log")
    ticks = [1, 2, 4, xinf]
    ax.minorticks_off()
    ax.set_xticks(ticks)
    ax.set_xticklabels(["1", "2", "4", "coherent"])
    ax.set_xlabel("coherence width on the object [mm] (GSM sigma_g, LED sigma_eq)")
    ax.set_ylabel("MNIST test accuracy [%] (mean +- SE, 3 seeds)")
    ax.set_title("3-layer 64x64 D2NN, digit 8 mm, beam radius 8 mm")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else HERE / "results"
    records = [json.loads(x) for x in (out / "raw.jsonl").read_text().splitlines() if x.strip()]
    rows = summarise(records)
    pairs = scratch_pairs(rows)
    setup = {}
    if (HERE / "run.py").exists():
        sys.path.insert(0, str(HERE))
        import run

        setup = {
            "grid": [run.N, run.N],
            "pitch_m": run.PITCH,
            "wavelength_m": run.WL,
            "distance_m": run.DIST,
            "layers": run.LAYERS,
            "input_size": run.INPUT,
            "waist_m": run.WAIST,
            "gsm_source_tolerance": run.SOURCE_TOL,
            "test_tolerance": run.TEST_TOL,
            "train_tolerance": run.TRAIN_TOL,
            "led_focal_m": run.LED_FOCAL,
            "led_fwhm_m": run.LED_FWHM,
            "led_wavelengths": run.LED_WAVELENGTHS,
            "coherent_training": "6000 images, 2 epochs, Adam lr 0.03, batch 64",
            "fine_tuning": f"{run.FT_STEPS} steps, batch {run.FT_BATCH}, Adam lr {run.LR}",
            "from_scratch": f"fresh networks (the seed's initialisation), {run.SCRATCH_STEPS} "
            f"steps, batch {run.SCRATCH_BATCH}, Adam lr {run.LR}, under each training "
            "illumination and coherently (the same images in the same order)",
            "spread": "se = sample sd / sqrt(number of seeds)",
        }
    _atomic(
        out / "results.json",
        json.dumps(
            {
                "setup": setup,
                "results": rows,
                "from_scratch_minus_coherent_same_budget": [
                    {"tested": p["illumination"]["tested"], **p["diff"]} for p in pairs if p["diff"]
                ],
            },
            indent=1,
        ),
    )
    md = table(rows)
    _atomic(out / "results.md", md)
    plot(rows, out / "accuracy_vs_coherence.png")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
