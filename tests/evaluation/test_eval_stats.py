"""Bootstrap CIs, McNemar and Wilcoxon against known values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from mmrare.evaluation.stats import Interval, bootstrap_ci, mcnemar, wilcoxon


def test_bootstrap_is_seeded_and_close_to_scipy() -> None:
    values = np.random.default_rng(7).binomial(1, 0.6, size=300).astype(float)
    first = bootstrap_ci(values, resamples=2000, seed=3)
    assert first == bootstrap_ci(values, resamples=2000, seed=3)
    assert first != bootstrap_ci(values, resamples=2000, seed=4)
    assert first.mean == pytest.approx(values.mean())
    ref = sps.bootstrap((values,), np.mean, n_resamples=2000, method="percentile", random_state=3)
    assert first.low == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert first.high == pytest.approx(ref.confidence_interval.high, abs=0.01)
    assert bootstrap_ci([0.5, 0.5, 0.5]) == Interval(0.5, 0.5, 0.5)


def test_mcnemar_exact_and_chi2() -> None:
    # 1 vs 9 discordant: 2 * P(X <= 1 | n=10, p=0.5) = 2 * 11 / 1024
    res = mcnemar([1] * 1 + [0] * 9, [0] * 1 + [1] * 9)
    assert (res.test, res.p_value) == ("mcnemar_exact", pytest.approx(22 / 1024))
    # 10 vs 25 discordant: chi2 = (|10 - 25| - 1)^2 / 35 = 5.6, p = 0.017960...
    res = mcnemar([1] * 10 + [0] * 25 + [1] * 5, [0] * 10 + [1] * 25 + [1] * 5)
    assert res.test == "mcnemar_chi2_cc"
    assert res.statistic == pytest.approx(5.6)
    assert res.p_value == pytest.approx(0.0179604775, rel=1e-6)
    assert mcnemar([1, 0], [1, 0]).p_value == 1.0


def test_wilcoxon_matches_the_textbook_example() -> None:
    # scipy's documented example (Cucumber-plant heights, 15 paired differences): W = 24, p = 0.04126
    d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    res = wilcoxon(d, [0] * len(d))
    assert res.statistic == 24.0
    assert res.p_value == pytest.approx(0.041259765625)
    assert wilcoxon([0.5, 1.0], [0.5, 1.0]).p_value == 1.0
