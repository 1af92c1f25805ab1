"""Confidence intervals and paired tests for model comparisons.

Benchmarks of a few hundred items give wide intervals; reporting them (and paired tests on the same
items) keeps readers from ranking models on noise. Everything is seeded so a report is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

STATS_VERSION = "stats/1"


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float


def bootstrap_ci(
    values: Sequence[float], *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """Percentile bootstrap interval of the mean; same values + seed -> same interval."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return Interval(math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(resamples, arr.size))
    means = arr[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return Interval(float(arr.mean()), float(low), float(high))


@dataclass(frozen=True)
class TestResult:
    test: str
    n: int
    statistic: float
    p_value: float
    detail: dict[str, float]


def mcnemar(a: Sequence[float], b: Sequence[float], *, exact_below: int = 25) -> TestResult:
    """McNemar's test on paired 0/1 outcomes: exact binomial for few discordant pairs, else chi² (cc)."""
    if len(a) != len(b):
        raise ValueError("paired outcomes must have the same length")
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x >= 0.5 > y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y >= 0.5 > x)
    discordant = only_a + only_b
    detail = {"only_a": float(only_a), "only_b": float(only_b)}
    if discordant == 0:
        return TestResult("mcnemar_exact", len(a), 0.0, 1.0, detail)
    if discordant < exact_below:
        p = min(1.0, 2.0 * float(stats.binom.cdf(min(only_a, only_b), discordant, 0.5)))
        return TestResult("mcnemar_exact", len(a), float(min(only_a, only_b)), p, detail)
    chi2 = (abs(only_a - only_b) - 1.0) ** 2 / discordant
    return TestResult("mcnemar_chi2_cc", len(a), chi2, float(stats.chi2.sf(chi2, 1)), detail)


def wilcoxon(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Wilcoxon signed-rank test on paired scores (zero differences dropped); p = 1 when all tie."""
    if len(a) != len(b):
        raise ValueError("paired scores must have the same length")
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    nonzero = int(np.count_nonzero(diffs))
    detail = {"nonzero": float(nonzero), "mean_diff": float(diffs.mean()) if diffs.size else 0.0}
    if nonzero == 0:
        return TestResult("wilcoxon", len(a), 0.0, 1.0, detail)
    res = stats.wilcoxon(diffs, zero_method="wilcox")
    return TestResult("wilcoxon", len(a), float(res.statistic), float(res.pvalue), detail)
