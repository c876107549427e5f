"""Statistics shared by the experiments' aggregate scripts.

Accuracies are in percent; a gap is "beyond noise" only when it exceeds two standard
errors, the larger of the seed standard error (std over seeds, n - 1, divided by
sqrt(n)) and the binomial standard error of the test set sqrt(p (1 - p) / n_test).

An aggregate script imports it after putting ``experiments/`` on its path::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _stats import accuracy_stats, verdict
"""

from __future__ import annotations

import math


def accuracy_stats(values: list[float], n_test: int) -> dict:
    """Mean, std (n - 1), seed SE and binomial SE [percentage points] of accuracies [%].

    With one value the seed terms are NaN and the binomial SE is used.
    """
    n = len(values)
    if n == 0:
        raise ValueError("accuracy_stats needs at least one accuracy")
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else float("nan")
    p = mean / 100
    seed_se = std / math.sqrt(n) if n > 1 else float("nan")
    binom_se = 100 * math.sqrt(p * (1 - p) / n_test)
    se = max(seed_se, binom_se) if n > 1 else binom_se
    return {
        "n_seeds": n,
        "mean": mean,
        "std": std,
        "seed_se": seed_se,
        "binomial_se": binom_se,
        "se": se,
        "se_used": "seed" if n > 1 and seed_se > binom_se else "binomial",
    }


def verdict(gap: float, se: float, reference: str) -> str:
    """ "beats", "falls short of" or "matches ... within noise" at two standard errors."""
    if gap > 2 * se:
        return f"beats {reference}"
    if gap < -2 * se:
        return f"falls short of {reference}"
    return f"matches {reference} within noise"
