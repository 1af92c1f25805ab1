"""Leakage control for a text that is not (yet) an item: ``mmrare leakage mask --text-file F ...``.

The same detectors, policy and post-condition as for items, on a text split into sentences by
punctuation (ids ``s1``, ``s2``, ...). The result is plain JSON-able data for the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmrare.config import ThresholdsConfig
from mmrare.errors import FatalError
from mmrare.items import TRACKS
from mmrare.leakage.descriptors import AnswerDescriptor
from mmrare.leakage.lexical import build_matchers, lexical_scores
from mmrare.leakage.masking import postcondition_hits, render
from mmrare.leakage.policy import (
    DEFAULT_POLICY,
    Action,
    Policy,
    apply_policy,
    item_level,
    item_status,
    layout_from_scores,
    removed_fraction,
    semantic_thresholds,
)
from mmrare.leakage.segments import ContextSentence, split_sentences
from mmrare.leakage.semantic import Embedder, as_embedder, semantic_scores

FREE_TEXT_ID = "free-text"


@dataclass(frozen=True)
class MaskResult:
    """The masked text, what was removed and why, and the versions that decided it."""

    track: str
    answer: str
    code: str | None
    masked_text: str
    status: str
    reason: str
    kept_sentence_ids: tuple[str, ...]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    masks: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[dict[str, Any]] = field(default_factory=list)
    removed_fraction: float = 0.0
    model_id: str = ""
    model_sha256: str = ""
    policy_version: str = ""
    threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "answer": self.answer,
            "code": self.code,
            "status": self.status,
            "reason": self.reason,
            "masked_text": self.masked_text,
            "kept_sentence_ids": list(self.kept_sentence_ids),
            "dropped": self.dropped,
            "masks": self.masks,
            "sentences": self.sentences,
            "removed_fraction": round(self.removed_fraction, 4),
            "model_id": self.model_id,
            "model_sha256": self.model_sha256,
            "policy_version": self.policy_version,
            "threshold": self.threshold,
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, **kwargs)


def mask_free_text(
    text: str,
    descriptor: AnswerDescriptor,
    track: str,
    embedder: Embedder,
    thresholds: ThresholdsConfig | Mapping[str, float] | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> MaskResult:
    """Detect, decide, mask and post-check ``text`` as if it were the context of a ``track`` item."""
    if track not in TRACKS:
        raise FatalError(f"unknown track {track!r} (known: {', '.join(TRACKS)})")
    embedder = as_embedder(embedder)
    layout = tuple(
        ContextSentence(f"s{n}", s, e, text[s:e]) for n, (s, e) in enumerate(split_sentences(text), start=1)
    )
    matchers = build_matchers(descriptor, track)
    scores = lexical_scores(FREE_TEXT_ID, track, text, layout, matchers)
    descriptors = descriptor.semantic_texts(track)
    vectors = embedder.embed([s.text for s in layout] + [t for _, t in descriptors])
    scores += semantic_scores(
        FREE_TEXT_ID,
        track,
        layout,
        vectors[: len(layout)],
        descriptors,
        vectors[len(layout) :],
        model_sha256=embedder.model_sha256,
    )
    semantic = semantic_thresholds(thresholds)
    decisions = apply_policy(scores, policy, semantic)
    masked, _ = render(text, decisions, policy.mask_token)
    if policy.postcondition and item_status(decisions)[0] == "kept":
        leaks = postcondition_hits(masked, descriptor, track, policy, semantic, matchers=matchers)
        if leaks:
            names = ", ".join(dict.fromkeys(repr(h["text"]) for h in leaks))
            decisions.append(
                item_level(
                    FREE_TEXT_ID,
                    track,
                    "",
                    "postcondition",
                    1.0,
                    1.0,
                    f"postcondition_failed: the masked text still contains {names}",
                )
            )
    status, reason = item_status(decisions)
    dropped_ids = {d.sentence_id for d in decisions if d.action is Action.DROP_SENTENCE}
    fraction, _ = removed_fraction(layout_from_scores(scores), decisions)
    by_sentence = {s.sentence_id: s for s in scores if s.detector == "semantic"}
    return MaskResult(
        track=track,
        answer=descriptor.label,
        code=descriptor.code,
        masked_text=masked,
        status=status,
        reason=reason,
        kept_sentence_ids=tuple(s.sentence_id for s in layout if s.sentence_id not in dropped_ids),
        dropped=[
            {
                "sentence_id": d.sentence_id,
                "text": d.matched_text
                if d.detector == "semantic"
                else text[d.start : d.end]
                if d.start is not None
                else "",
                "detector": d.detector,
                "score": d.score,
                "threshold": d.threshold,
                "reason": d.reason,
            }
            for d in decisions
            if d.action is Action.DROP_SENTENCE
        ],
        masks=[
            {"start": d.start, "end": d.end, "text": d.matched_text, "detector": d.detector}
            for d in decisions
            if d.action is Action.MASK
        ],
        sentences=[
            {
                "sentence_id": s.sentence_id,
                "start": s.start,
                "end": s.end,
                "semantic": by_sentence[s.sentence_id].score if s.sentence_id in by_sentence else None,
                "closest": by_sentence[s.sentence_id].detail.get("descriptor")
                if s.sentence_id in by_sentence
                else None,
            }
            for s in layout
        ],
        removed_fraction=fraction,
        model_id=embedder.model_id,
        model_sha256=embedder.model_sha256,
        policy_version=policy.label,
        threshold=semantic.get(track),
    )
