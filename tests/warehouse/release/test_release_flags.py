"""Which leakage findings stay unresolved in a release (the rules of mmrare.warehouse.release.flags)."""

from __future__ import annotations

from mmrare.warehouse.release.flags import unresolved_flags
from mmrare.warehouse.release.reads import ContextInfo, DatasetFlagRow


def _ctx(item_id: str, *flags: str) -> ContextInfo:
    return ContextInfo(item_id, flags, "m", "s", "4.2", "c", "p", "ps", "b")


def _flag(item_id: str, flag: str, other: str | None = None, ref: str | None = None, flagged: bool = True):
    return DatasetFlagRow(item_id, flag, other, ref, 1.0, flagged, "m", "s")


PMCID = {"a": "PMC1", "b": "PMC1", "c": "PMC2", "d": "PMC3"}
GRAPHICS = {"a": {"g1"}, "b": {"g1"}, "c": {"g2"}, "d": {"g3"}}


def test_rules() -> None:
    released = ["a", "b", "c"]  # "d" (PMC3, graphic g3) is not released
    summary = unresolved_flags(
        released,
        {"a": _ctx("a", "option.length"), "b": _ctx("b"), "c": _ctx("c")},
        [
            _flag("a", "same_case_track", "b", "PMC1"),  # resolved: same case, same split
            _flag("b", "near_duplicate_context", "c", "PMC2"),  # other item released: counts
            _flag("c", "near_duplicate_context", "d", "PMC3"),  # other item not released: resolved
            _flag("c", "duplicate_image", "a", "g2|g1"),  # g1 shown by PMC1 items: counts
            _flag("a", "duplicate_image", "d", "g1|g3"),  # g3 not shown by a released item: resolved
            _flag("b", "text_answerable"),
            _flag("c", "text_answerable", flagged=False),  # below the policy margin: not a finding
            _flag("d", "text_answerable"),  # not released
        ],
        GRAPHICS,
        PMCID,
    )
    assert summary.by_item == {
        "a": ("option.length",),
        "b": ("near_duplicate_context", "text_answerable"),
        "c": ("duplicate_image",),
    }
    assert summary.resolved == {
        "same_case_track: same split by construction": 1,
        "near_duplicate_context: other item not released": 1,
        "duplicate_image: other image not released": 1,
    }


def test_an_item_never_leakage_checked_is_not_clean() -> None:
    summary = unresolved_flags(["a"], {}, [], GRAPHICS, PMCID)
    assert summary.by_item == {"a": ("leakage_unchecked",)}
