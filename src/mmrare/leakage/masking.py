"""Turn decisions into the context reviewers and releases see, and check that it no longer leaks.

``masked_context`` is deterministic whatever order decisions come in: dropped sentences are removed
first, mask spans are merged where they overlap or touch (one mask token per merged span) and clipped
to what is left. ``decide`` runs the policy over stored scores, renders every item, then re-runs the
lexical detectors on the rendered text as a post-condition: a context that still names the answer
(spaCy matchers, or an independent regular-expression check) drops its item, with the reason stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field

from mmrare.config import ThresholdsConfig
from mmrare.items import QAItem
from mmrare.leakage.audit import ContextRecord
from mmrare.leakage.descriptors import AnswerDescriptor, LeakageInput
from mmrare.leakage.lexical import MatcherKey, TrackMatchers, build_matchers, literal_names, matcher_key
from mmrare.leakage.policy import (
    DEFAULT_POLICY,
    MASK_TOKEN,
    Action,
    LeakageDecision,
    Policy,
    apply_policy,
    item_level,
    item_status,
    layout_from_scores,
    merge_spans,
    removed_fraction,
    semantic_thresholds,
)
from mmrare.leakage.scores import LeakageScore, by_item

# runs of spaces and tabs that are not already one space: a run of one space is most matches of
# "[ \t]+" and replacing it by itself is most of the cost
_SPACES = re.compile(r"[ \t]{2,}|\t")
_SPACE_AT_LINE_EDGE = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:)\]])")
_ACTING = (Action.MASK, Action.DROP_SENTENCE, Action.DROP_ITEM)


def _subtract(span: tuple[int, int], holes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``span`` minus the (sorted, disjoint) ``holes``."""
    pieces, start = [], span[0]
    for hs, he in holes:
        if he <= start or hs >= span[1]:
            continue
        if hs > start:
            pieces.append((start, hs))
        start = max(start, he)
    if start < span[1]:
        pieces.append((start, span[1]))
    return pieces


def render(
    context: str, decisions: Iterable[LeakageDecision], mask_token: str = MASK_TOKEN
) -> tuple[str, int]:
    """(``context`` with dropped sentences removed and masked spans replaced, number of mask tokens)."""
    decisions = list(decisions)
    drops = merge_spans(
        (d.start, d.end)
        for d in decisions
        if d.action is Action.DROP_SENTENCE and d.start is not None and d.end is not None
    )
    masks = merge_spans(
        (d.start, d.end)
        for d in decisions
        if d.action is Action.MASK and d.start is not None and d.end is not None
    )
    cuts = [(s, e, "") for s, e in drops]
    for mask in masks:
        cuts += [(s, e, mask_token) for s, e in _subtract(mask, drops)]
    cuts.sort()
    out, pos = [], 0
    for start, end, replacement in cuts:
        out.append(context[pos:start])
        out.append(replacement)
        pos = end
    out.append(context[pos:])
    text = _SPACES.sub(" ", "".join(out))
    text = _SPACE_AT_LINE_EDGE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.strip(), sum(1 for _, _, r in cuts if r)


def masked_context(
    item: QAItem, decisions: Iterable[LeakageDecision], mask_token: str = MASK_TOKEN
) -> tuple[str, tuple[str, ...]]:
    """(masked context text, ids of the context sentences kept), from this item's decisions.

    Whether the item is kept at all is :func:`~mmrare.leakage.policy.item_status`'s answer; the text
    is rendered for dropped items too, so the audit shows what a reviewer would have seen.
    """
    text, kept_ids, _ = _masked(item, decisions, mask_token)
    return text, kept_ids


def _masked(
    item: QAItem, decisions: Iterable[LeakageDecision], mask_token: str
) -> tuple[str, tuple[str, ...], int]:
    """:func:`masked_context` plus the number of mask tokens, from one :func:`render`."""
    mine = [d for d in decisions if d.item_id == item.item_id]
    text, n_masks = render(item.context, mine, mask_token)
    dropped = {d.sentence_id for d in mine if d.action is Action.DROP_SENTENCE}
    return text, tuple(sid for sid in item.context_sentence_ids if sid not in dropped), n_masks


def postcondition_hits(
    text: str,
    descriptor: AnswerDescriptor,
    track: str,
    policy: Policy = DEFAULT_POLICY,
    thresholds: ThresholdsConfig | Mapping[str, float] | None = None,
    *,
    matchers: TrackMatchers | None = None,
) -> list[dict[str, str]]:
    """What still leaks in ``text``: lexical hits the policy would act on, and regex-found names."""
    semantic = semantic_thresholds(thresholds)
    matchers = matchers or build_matchers(descriptor, track)
    found = []
    for hit in matchers.hits_in(text):
        rule = policy.rule_for(track, hit.detector, 1.0, semantic)
        if rule is not None and rule.action in _ACTING:
            found.append({"detector": hit.detector, "text": hit.text, "check": "matcher"})
    seen = {f["text"].casefold() for f in found}
    for name in literal_names(text, descriptor, track):
        if name.casefold() not in seen:
            found.append({"detector": "regex", "text": name, "check": "regex"})
    return found


@dataclass(frozen=True)
class Decided:
    """Everything a policy run produced: decisions (incl. post-condition drops) and one context per item."""

    decisions: list[LeakageDecision]
    contexts: list[ContextRecord]
    by_id: dict[str, ContextRecord] = field(default_factory=dict)

    def context(self, item_id: str) -> ContextRecord:
        return self.by_id[item_id]

    def kept(self) -> list[ContextRecord]:
        return [c for c in self.contexts if c.kept]


def decide(
    inputs: Sequence[LeakageInput],
    scores: Iterable[LeakageScore],
    policy: Policy = DEFAULT_POLICY,
    thresholds: ThresholdsConfig | Mapping[str, float] | None = None,
    matchers: MutableMapping[MatcherKey, TrackMatchers] | None = None,
) -> Decided:
    """Apply ``policy`` to stored ``scores``, render each item's context and enforce the post-condition.

    Scores computed on another version of an item (different basis) are not used; an item without
    current scores is dropped ("not scored") rather than released unchecked. ``matchers``: compiled
    matchers by :func:`~mmrare.leakage.lexical.matcher_key`, e.g. detection's, so they are not
    compiled twice and an unchanged context is not matched twice.
    """
    grouped = by_item(scores)
    decisions: list[LeakageDecision] = []
    contexts: list[ContextRecord] = []
    matcher_cache = matchers if matchers is not None else {}
    for entry in inputs:
        item, basis = entry.item, entry.basis
        current = [s for s in grouped.get(item.item_id, []) if s.basis == basis]
        mine = apply_policy(current, policy, thresholds)
        if not current:
            stale = bool(grouped.get(item.item_id))
            mine.append(
                item_level(
                    item.item_id,
                    item.track,
                    basis,
                    "policy.not_scored",
                    0.0,
                    0.0,
                    "scores were computed on another version of this item; re-run detection"
                    if stale
                    else "no leakage scores for this item; run detection first",
                )
            )
        text, kept_ids, n_masks = _masked(item, mine, policy.mask_token)
        if policy.postcondition and item_status(mine)[0] == "kept":
            key = matcher_key(entry.descriptor, item.track)
            if key not in matcher_cache:
                matcher_cache[key] = build_matchers(entry.descriptor, item.track)
            leaks = postcondition_hits(
                text, entry.descriptor, item.track, policy, thresholds, matchers=matcher_cache[key]
            )
            if leaks:
                names = ", ".join(dict.fromkeys(repr(h["text"]) for h in leaks))
                decision = item_level(
                    item.item_id,
                    item.track,
                    basis,
                    "postcondition",
                    1.0,
                    1.0,
                    f"postcondition_failed: the masked context still contains {names}",
                )
                mine.append(
                    LeakageDecision(**{**_fields(decision), "matched_text": names, "detail": {"hits": leaks}})
                )
        status, reason = item_status(mine)
        fraction, _ = removed_fraction(layout_from_scores(current), mine)
        # n_masks is the count rendered above: the post-condition adds an item-level decision only,
        # which has no span and renders nothing
        dropped_ids = tuple(
            dict.fromkeys(d.sentence_id for d in mine if d.action is Action.DROP_SENTENCE and d.sentence_id)
        )
        contexts.append(
            ContextRecord(
                item_id=item.item_id,
                track=item.track,
                basis=basis,
                masked_context=text,
                kept_sentence_ids=kept_ids,
                dropped_sentence_ids=dropped_ids,
                n_masked_spans=n_masks,
                removed_fraction=fraction,
                status=status,
                reason=reason,
                flags=tuple(dict.fromkeys(d.detector for d in mine if d.action is Action.FLAG)),
            )
        )
        decisions += mine
    return Decided(decisions, contexts, {c.item_id: c for c in contexts})


def _fields(decision: LeakageDecision) -> dict[str, object]:
    return {name: getattr(decision, name) for name in decision.__dataclass_fields__}
