"""Which leakage findings are still unresolved for a released item (``leakage_flags``).

Leakage control stores findings; the release decides which still matter for the items it ships, so
results can be reported on the full set and on the leakage-clean set:

- reviewer flags of the item's latest leakage context (option shortcuts such as ``option.length``)
  stay unresolved: the policy flagged them precisely because it could not fix them (they were
  computed on the drafted options; an edit in review does not clear them until leakage re-runs);
- an item with no leakage context at all was never checked: ``leakage_unchecked``;
- dataset flags count only when ``flagged`` in the item's latest dataset-check run, and:
  ``same_case_track`` is resolved by construction (splits are by case, so both items share a split);
  ``near_duplicate_context`` counts only when the other item is released too, ``duplicate_image``
  only when a released item of another case shows the other image; ``text_answerable`` and any
  unknown flag always count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mmrare.warehouse.release.reads import ContextInfo, DatasetFlagRow

RESOLVED_BY_SPLIT = "same_case_track"
UNCHECKED = "leakage_unchecked"


@dataclass
class FlagSummary:
    """Unresolved flags per item, and how many findings were resolved by which rule (for the manifest)."""

    by_item: dict[str, tuple[str, ...]] = field(default_factory=dict)
    resolved: Counter[str] = field(default_factory=Counter)


def unresolved_flags(
    item_ids: Iterable[str],
    contexts: Mapping[str, ContextInfo],
    dataset_flags: Iterable[DatasetFlagRow],
    graphics_of: Mapping[str, set[str]],
    pmcid_of: Mapping[str, str],
) -> FlagSummary:
    """Sorted unresolved flag names per released item (``graphics_of``: item -> graphic ids shown)."""
    released = set(item_ids)
    found: dict[str, set[str]] = {i: set() for i in released}
    summary = FlagSummary()
    for item_id in released:
        ctx = contexts.get(item_id)
        found[item_id].update(ctx.flags if ctx else (UNCHECKED,))
    shown_by: dict[str, set[str]] = {}  # graphic -> pmcids of released items showing it
    for item_id, graphics in graphics_of.items():
        if item_id in released:
            for g in graphics:
                shown_by.setdefault(g, set()).add(pmcid_of[item_id])
    for row in dataset_flags:
        if row.item_id not in released or not row.flagged:
            continue
        if row.flag == RESOLVED_BY_SPLIT:
            summary.resolved["same_case_track: same split by construction"] += 1
            continue
        if row.flag == "near_duplicate_context" and row.other_item_id not in released:
            summary.resolved["near_duplicate_context: other item not released"] += 1
            continue
        if row.flag == "duplicate_image":
            other = (row.ref or "").split("|")[-1]
            if not (shown_by.get(other, set()) - {pmcid_of[row.item_id]}):
                summary.resolved["duplicate_image: other image not released"] += 1
                continue
        found[row.item_id].add(row.flag)
    summary.by_item = {i: tuple(sorted(found[i])) for i in sorted(found)}
    return summary
