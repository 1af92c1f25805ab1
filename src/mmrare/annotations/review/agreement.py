"""Inter-annotator agreement over double-reviewed items: Cohen's kappa per annotator pair and
Fleiss' kappa per track, both on the verdict (accept / edit / reject).

The kappas themselves are in :mod:`mmrare.kappa`, shared with the release's validity report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from mmrare.annotations.review.records import VERDICTS
from mmrare.annotations.review.store import ReviewStore
from mmrare.kappa import cohen_kappa, fleiss_kappa
from mmrare.warehouse.queries import review as queries


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """Cohen's kappa of two annotators over the items both reviewed."""

    annotator_a: str
    annotator_b: str
    n_items: int
    observed: float | None
    kappa: float | None


@dataclass(frozen=True, slots=True)
class TrackAgreement:
    """Fleiss' kappa of one track over its items with ``raters`` reviews each."""

    track: str
    n_items: int
    raters: int
    all_agree: float | None  # share of items on which every rater gave the same verdict
    kappa: float | None
    verdicts: dict[str, int]


@dataclass(frozen=True, slots=True)
class AgreementReport:
    pairs: list[PairAgreement]
    tracks: list[TrackAgreement]

    def as_dict(self) -> dict[str, Any]:
        return {"pairs": [asdict(p) for p in self.pairs], "tracks": [asdict(t) for t in self.tracks]}


def _observed(a: Sequence[str], b: Sequence[str]) -> float | None:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a else None


def pair_agreement(verdicts: Mapping[str, Mapping[str, str]]) -> list[PairAgreement]:
    """``verdicts[item][annotator]`` -> one row per annotator pair that shares at least one item."""
    shared: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item_id, by_annotator in verdicts.items():
        for a, b in combinations(sorted(by_annotator), 2):
            shared[(a, b)].append(item_id)
    out = []
    for (a, b), items in sorted(shared.items()):
        la = [verdicts[i][a] for i in items]
        lb = [verdicts[i][b] for i in items]
        out.append(PairAgreement(a, b, len(items), _observed(la, lb), cohen_kappa(la, lb)))
    return out


def track_agreement(track: str, verdicts: Mapping[str, Mapping[str, str]]) -> TrackAgreement:
    """Fleiss' kappa over the items with the most common number (>= 2) of reviews in the track."""
    sizes = Counter(len(v) for v in verdicts.values() if len(v) >= 2)
    if not sizes:
        return TrackAgreement(track, 0, 0, None, None, {})
    raters = max(sizes, key=lambda k: (sizes[k], k))
    rows = [Counter(v.values()) for v in verdicts.values() if len(v) == raters]
    matrix = [[row[c] for c in VERDICTS] for row in rows]
    agreeing = sum(1 for row in rows if len(row) == 1)
    totals: Counter[str] = Counter()
    for row in rows:
        totals.update(row)
    return TrackAgreement(
        track, len(rows), raters, agreeing / len(rows), fleiss_kappa(matrix), {c: totals[c] for c in VERDICTS}
    )


def agreement_stats(store: ReviewStore) -> AgreementReport:
    """Kappas over every item with at least two reviews."""
    with store.read() as cur:
        rows = queries.double_review_verdicts(cur)
    everything: dict[str, dict[str, str]] = defaultdict(dict)
    per_track: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for item_id, track, annotator, verdict in rows:
        everything[item_id][annotator] = verdict
        per_track[track][item_id][annotator] = verdict
    tracks = [track_agreement(t, per_track[t]) for t in sorted(per_track)]
    return AgreementReport(pair_agreement(everything), tracks)
