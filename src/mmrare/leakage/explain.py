"""Plain-words explanations of leakage decisions, and dry runs of a new threshold.

``explain_item`` backs ``mmrare audit item ID``: one sentence per decision saying what was removed,
which detector found it, the score and the threshold it crossed, plus a line on what was *not* acted
on (the highest semantic score below the threshold), so a reviewer can judge the margin.

``dry_run`` backs ``mmrare leakage apply --track T --threshold X --dry-run``: it re-decides from stored
scores under the current and the proposed thresholds and lists only the items whose outcome changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmrare.config import ThresholdsConfig
from mmrare.items import QAItem
from mmrare.leakage.descriptors import LeakageInput
from mmrare.leakage.masking import decide
from mmrare.leakage.policy import (
    DEFAULT_POLICY,
    Action,
    LeakageDecision,
    Policy,
    apply_policy,
    item_status,
    semantic_thresholds,
)
from mmrare.leakage.scores import DETECTORS, SEMANTIC, LeakageScore, by_item

_SNIPPET = 90


def _snippet(text: str, limit: int = _SNIPPET) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _what(detector: str) -> str:
    return DETECTORS.get(detector, detector)


def describe_decision(decision: LeakageDecision) -> str:
    """One decision in words."""
    d = decision
    where = f"sentence {d.sentence_id}" if d.sentence_id else "the item"
    threshold = f"{d.threshold:g}" if d.threshold is not None else "-"
    if d.action is Action.MASK:
        return (
            f"Masked {d.matched_text!r} (characters {d.start}-{d.end}, {where}): it is {_what(d.detector)} "
            f"[{d.detector}, score {d.score:g} >= {threshold}]."
        )
    if d.action is Action.DROP_SENTENCE:
        if d.detector == SEMANTIC:
            return (
                f"Dropped {where} ({_snippet(d.matched_text)!r}): its cosine similarity to the answer is "
                f"{d.score:.3f}, at or above the {d.track} threshold {threshold} ({d.reason})."
            )
        return (
            f"Dropped {where}: it contains {d.matched_text!r}, {_what(d.detector)} "
            f"[{d.detector}, score {d.score:g} >= {threshold}]."
        )
    if d.action is Action.DROP_ITEM:
        return f"Dropped the whole item [{d.detector}]: {d.reason}."
    return (
        f"Flagged for review: {_what(d.detector)} [{d.detector}, score {d.score:g} >= {threshold}]"
        f"{'; ' + d.reason if d.reason else ''}."
    )


def explain_item(
    item: QAItem,
    scores: Iterable[LeakageScore],
    decisions: Iterable[LeakageDecision],
    *,
    thresholds: ThresholdsConfig | Mapping[str, float] | None = None,
) -> list[str]:
    """Every decision about ``item`` in plain words, headed by its status and followed by what was kept."""
    mine_scores = [s for s in scores if s.item_id == item.item_id]
    mine = [d for d in decisions if d.item_id == item.item_id]
    status, reason = item_status(mine)
    head = f"Item {item.item_id} ({item.track}, {item.pmcid}): {status}"
    lines = [head + (f" — {reason}" if reason else "")]
    if not mine_scores:
        lines.append("No leakage scores are stored for this item: detection has not run on it.")
    dropped = {d.sentence_id for d in mine if d.action is Action.DROP_SENTENCE}
    for d in mine:
        line = describe_decision(d)
        if d.action is Action.MASK and d.sentence_id in dropped:
            line = line[:-1] + " (its sentence is dropped anyway)."
        lines.append(line)
    acted = {_acted_key(d) for d in mine}
    semantic = [s for s in mine_scores if s.detector == SEMANTIC]
    below = [s for s in semantic if s.sentence_id not in dropped]
    threshold = semantic_thresholds(thresholds).get(item.track)
    if semantic:
        top = max(below, key=lambda s: s.score) if below else None
        text = f"Semantic scores stored for all {len(semantic)} sentences"
        if top is not None:
            text += (
                f"; the highest kept is {top.score:.3f} (sentence {top.sentence_id}, closest to the answer's "
                f"{top.detail.get('descriptor')})"
            )
        if threshold is not None:
            text += f"; {item.track} threshold {threshold:g}"
        lines.append(text + ".")
    ignored = [s for s in mine_scores if s.detector != SEMANTIC and _score_key(s) not in acted]
    for s in ignored:
        if s.sentence_id is None:
            lines.append(f"No action on {s.detector}: score {s.score:g} is below the policy's band.")
        else:
            lines.append(f"No action on {s.matched_text!r} [{s.detector}]: no policy rule applies.")
    if not mine and mine_scores:
        lines.append("Nothing in the context crossed a policy threshold; the context is released unchanged.")
    return lines


def _acted_key(d: LeakageDecision) -> tuple[Any, ...]:
    """The score a decision acted on: for a sentence dropped because of a hit, the hit's own span."""
    hit = d.detail.get("hit")
    start, end = (hit[0], hit[1]) if hit else (d.start, d.end)
    return (d.detector, d.sentence_id, start, end)


def _score_key(s: LeakageScore) -> tuple[Any, ...]:
    return (s.detector, s.sentence_id, s.start, s.end)


@dataclass(frozen=True, slots=True)
class ItemChange:
    """How one item's outcome would change under new thresholds (or a new policy)."""

    item_id: str
    track: str
    status_before: str
    status_after: str
    newly_dropped: tuple[str, ...]  # sentence ids dropped only under the new thresholds
    restored: tuple[str, ...]  # sentence ids dropped now but kept under the new thresholds
    masks_before: int
    masks_after: int
    reason_after: str

    def describe(self) -> str:
        parts = []
        if self.status_before != self.status_after:
            parts.append(f"{self.status_before} -> {self.status_after}")
        if self.newly_dropped:
            parts.append(f"drops {len(self.newly_dropped)} more sentence(s): {', '.join(self.newly_dropped)}")
        if self.restored:
            parts.append(f"keeps {len(self.restored)} sentence(s) again: {', '.join(self.restored)}")
        if self.masks_before != self.masks_after:
            parts.append(f"masked spans {self.masks_before} -> {self.masks_after}")
        text = f"{self.item_id} ({self.track}): " + "; ".join(parts)
        return text + (
            f" ({self.reason_after})" if self.reason_after and self.status_after == "dropped" else ""
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "track": self.track,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "newly_dropped": list(self.newly_dropped),
            "restored": list(self.restored),
            "masks_before": self.masks_before,
            "masks_after": self.masks_after,
            "reason_after": self.reason_after,
        }


def _outcomes(
    scores: Sequence[LeakageScore],
    policy: Policy,
    thresholds: Mapping[str, float],
    inputs: Sequence[LeakageInput] | None,
) -> dict[str, tuple[str, str, frozenset[str], int]]:
    """item id -> (status, reason, dropped sentence ids, masked spans)."""
    if inputs is not None:
        decided = decide(inputs, scores, policy, thresholds)
        per_item = by_item_decisions(decided.decisions)
    else:
        per_item = by_item_decisions(apply_policy(scores, policy, thresholds))
    out = {}
    for item_id in by_item(scores):
        mine = per_item.get(item_id, [])
        status, reason = item_status(mine)
        dropped = frozenset(d.sentence_id for d in mine if d.action is Action.DROP_SENTENCE and d.sentence_id)
        masks = sum(1 for d in mine if d.action is Action.MASK)
        out[item_id] = (status, reason, dropped, masks)
    return out


def by_item_decisions(decisions: Iterable[LeakageDecision]) -> dict[str, list[LeakageDecision]]:
    out: dict[str, list[LeakageDecision]] = {}
    for d in decisions:
        out.setdefault(d.item_id, []).append(d)
    return out


def dry_run(
    scores: Iterable[LeakageScore],
    new_thresholds: ThresholdsConfig | Mapping[str, float],
    *,
    current_thresholds: ThresholdsConfig | Mapping[str, float] | None = None,
    policy: Policy = DEFAULT_POLICY,
    new_policy: Policy | None = None,
    inputs: Sequence[LeakageInput] | None = None,
    track: str | None = None,
) -> list[ItemChange]:
    """Items whose outcome would change under ``new_thresholds`` (and/or ``new_policy``); nothing is embedded.

    With ``inputs`` (items + descriptors) the post-condition is included; without, decisions come
    from scores alone. ``track`` limits the report to one track.
    """
    scores = [s for s in scores if track is None or s.track == track]
    if inputs is not None and track is not None:
        inputs = [i for i in inputs if i.item.track == track]
    before = _outcomes(scores, policy, semantic_thresholds(current_thresholds), inputs)
    after = _outcomes(scores, new_policy or policy, semantic_thresholds(new_thresholds), inputs)
    track_of = {s.item_id: s.track for s in scores}
    changes = []
    for item_id in sorted(before):
        b, a = before[item_id], after[item_id]
        if b[0] == a[0] and b[2] == a[2] and b[3] == a[3]:
            continue
        changes.append(
            ItemChange(
                item_id=item_id,
                track=track_of[item_id],
                status_before=b[0],
                status_after=a[0],
                newly_dropped=tuple(sorted(a[2] - b[2])),
                restored=tuple(sorted(b[2] - a[2])),
                masks_before=b[3],
                masks_after=a[3],
                reason_after=a[1],
            )
        )
    return changes
