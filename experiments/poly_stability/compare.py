"""Compare two result sets of part (b), cell by cell.

    python experiments/poly_stability/compare.py OLD.json NEW.json

OLD and NEW are ``results_b.json`` files (for example the recorded one from git,
``git show REV:experiments/poly_stability/results/results_b.json > old.json``). Prints a
Markdown table of every cell present in both, with the test accuracy (or "NaN at step
k") before and after and the difference, then a summary: how many cells are identical,
the mean and the largest absolute change among cells that trained in both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def key(row: dict) -> tuple:
    return (row["arch"], row["dataset"], row["act"], bool(row["framework"]))


def outcome(row: dict) -> str:
    if row["test_acc"] is None:
        return f"NaN at step {row['nan_step']}"
    return f"{row['test_acc']:.2f}"


def compare(old: list[dict], new: list[dict]) -> tuple[list[str], dict]:
    """Markdown lines and a summary of the cells common to ``old`` and ``new``."""
    before = {key(r): r for r in old}
    lines = [
        "| arch | dataset | activation | framework | before | after | change |",
        "|---|---|---|---|---|---|---|",
    ]
    same = changed = 0
    deltas = []
    for r in new:
        o = before.get(key(r))
        if o is None:
            continue
        a, b = o["test_acc"], r["test_acc"]
        if a is not None and b is not None:
            d = b - a
            deltas.append(d)
            delta = f"{d:+.2f}"
        else:
            delta = "-" if a == b else "outcome changed"
        if outcome(o) == outcome(r):
            same += 1
        else:
            changed += 1
        fw = "with" if r["framework"] else "without"
        lines.append(
            f"| {r['arch']} | {r['dataset']} | {r['act']} | {fw}"
            f" | {outcome(o)} | {outcome(r)} | {delta} |"
        )
    summary = {
        "cells": same + changed,
        "identical": same,
        "changed": changed,
        "mean_change": sum(deltas) / len(deltas) if deltas else 0.0,
        "max_abs_change": max((abs(d) for d in deltas), default=0.0),
    }
    return lines, summary


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = (json.loads(Path(p).read_text()) for p in argv)
    lines, s = compare(old, new)
    print("\n".join(lines))
    print(
        f"\n{s['cells']} cells: {s['identical']} identical, {s['changed']} changed; "
        f"mean change {s['mean_change']:+.2f} points, largest |change| "
        f"{s['max_abs_change']:.2f} points"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
