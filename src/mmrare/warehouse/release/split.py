"""Split assignment by case: deterministic, stratified by track, stable across releases.

Method (recorded in manifest.json and the datasheet):

1. Every case (PMCID) gets the key sha256(salt + PMCID); cases are taken in key order, so the same
   cases and salt always give the same assignment, independent of row order or time.
2. A case that was in an earlier release of this warehouse keeps its split ("pinned"), so an item
   published as test never becomes dev later, and a new release only adds cases to splits.
3. Tracks are handled from the one with the fewest cases to the one with the most. For a track with
   ``n`` cases the dev target is round(fraction * n), at least 1 and at most n - 1 when n >= 2 and
   0 < fraction < 1. Its unassigned cases, in key order, go to dev until the track's dev count
   (pinned and already assigned cases included) reaches the target, the rest to test.
4. A case is assigned once, with all its items: no PMCID is ever in two splits. The scarcest track
   gets its target exactly (when enough cases are free); later tracks get it as far as the cases
   already bound by earlier tracks allow.

The fraction counts cases, so a split's share of items follows how many items each case has: on a
few cases, one large case can put most items in dev. ``mmrare release build`` warns when dev's share
of the items is more than 10 percentage points from the fraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from mmrare.errors import FatalError
from mmrare.warehouse.release.schema import SPLITS

# A dev share of items further than this from the dev fraction (in percentage points) is warned about:
# within it, the split is what a case-level fraction gives on a few dozen cases of uneven size.
FAR_POINTS = 10


def case_key(salt: str, pmcid: str) -> str:
    return hashlib.sha256(f"{salt}{pmcid}".encode()).hexdigest()


def dev_target(n_cases: int, fraction: float) -> int:
    """How many of a track's ``n_cases`` cases should be dev (see the module docstring, step 3)."""
    target = int(fraction * n_cases + 0.5)
    if n_cases >= 2 and 0.0 < fraction < 1.0:
        target = min(max(target, 1), n_cases - 1)
    return target


def assign_splits(
    tracks_of: Mapping[str, Iterable[str]],
    fraction: float,
    salt: str,
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """PMCID -> "dev" | "test" for every case in ``tracks_of`` (PMCID -> tracks it has items in)."""
    cases = {p: set(t) for p, t in tracks_of.items()}
    assigned = {p: s for p, s in (pinned or {}).items() if p in cases}
    for pmcid, split in assigned.items():
        if split not in SPLITS:
            raise FatalError(f"{pmcid}: pinned to unknown split {split!r}")
    order = sorted(cases, key=lambda p: (case_key(salt, p), p))
    counts: dict[str, int] = {}
    for tracks in cases.values():
        for track in tracks:
            counts[track] = counts.get(track, 0) + 1
    for track in sorted(counts, key=lambda t: (counts[t], t)):
        members = [p for p in order if track in cases[p]]
        target = dev_target(len(members), fraction)
        dev = sum(1 for p in members if assigned.get(p) == "dev")
        for pmcid in members:
            if pmcid in assigned:
                continue
            if dev < target:
                assigned[pmcid] = "dev"
                dev += 1
            else:
                assigned[pmcid] = "test"
    return {p: assigned[p] for p in sorted(assigned)}


def share_warning(counts: Mapping[str, Any], fraction: float) -> str | None:
    """One line when dev's share of all items is more than FAR_POINTS points from ``fraction``.

    ``counts`` is the manifest's ``counts`` (``all`` with items and cases per split)."""
    total = counts["all"]
    if not total["total"]:
        return None
    share = total["dev"] / total["total"]
    if round(abs(share - fraction) * 100, 6) <= FAR_POINTS:  # exactly 10 points is not far
        return None
    cases = total["cases_per_split"]
    return (
        f"dev holds {share:.0%} of the items ({total['dev']} of {total['total']}; {cases['dev']} of "
        f"{total['cases']} cases) for a dev fraction of {fraction:g}, more than {FAR_POINTS} points off: "
        "splits keep each case's items together, so on few or uneven cases the item shares follow the cases"
    )
