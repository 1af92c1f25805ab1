"""Cohen's and Fleiss' kappa, written out (a few lines each) rather than pulled from a statistics
package, so the definition behind ``mmrare review stats`` and a release's validity report is the one
in this file. A kappa is ``None`` when it is undefined: chance agreement of 1 (everyone used one
category), or no items.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items (in the same order)."""
    if len(a) != len(b):
        raise ValueError("both raters need a label for every item")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca.keys() | cb.keys()) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from an items x categories matrix of rating counts (same raters per item)."""
    if not counts:
        return None
    raters = {sum(row) for row in counts}
    if len(raters) != 1:
        raise ValueError("Fleiss' kappa needs the same number of ratings for every item")
    n = raters.pop()
    if n < 2:
        return None
    items = len(counts)
    p_item = [(sum(c * c for c in row) - n) / (n * (n - 1)) for row in counts]
    p_bar = sum(p_item) / items
    k = len(counts[0])
    p_cat = [sum(row[j] for row in counts) / (items * n) for j in range(k)]
    p_e = sum(p * p for p in p_cat)
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def modal_fleiss(verdicts: Mapping[str, Mapping[str, str]]) -> tuple[int, int, float | None]:
    """(items, raters, Fleiss' kappa) over the items with the most common number (>= 2) of ratings;
    ``verdicts[item][rater]`` is a label. Categories are the labels seen."""
    sizes = Counter(len(v) for v in verdicts.values() if len(v) >= 2)
    if not sizes:
        return 0, 0, None
    raters = max(sizes, key=lambda k: (sizes[k], k))
    rows = [Counter(v.values()) for v in verdicts.values() if len(v) == raters]
    labels = sorted({label for row in rows for label in row})
    return len(rows), raters, fleiss_kappa([[row[label] for label in labels] for row in rows])
