"""The leakage policy: stored scores in, decisions out — no model, no text, no embedding.

A policy is data: an ordered table of rules ``(tracks, detector glob, score band) -> action`` plus a few
item- and dataset-level limits. The first rule that matches a score decides it; a score no rule
matches is kept without a decision. The semantic rule's band starts at the per-track threshold of
the config (``Config.thresholds.semantic[track]``), so changing a threshold re-decides every item from
the stored scores alone (``apply_policy``), exactly as a dry run does.

Default table (``DEFAULT_POLICY``)::

    track        detector               score band            action
    diagnosis    lexical.*              >= 1.0                mask
    treatment    lexical.*              >= 1.0                mask
    examination  lexical.result_phrase  >= 1.0                drop_sentence
    examination  lexical.*              >= 1.0                mask
    cross_image  lexical.*              >= 1.0                mask
    *            semantic               >= config threshold   drop_sentence
    *            option.length          >= 3.0 (SDs)          flag
    *            option.overlap         >= 0.5                flag
    *            option.central         >= 0.15               flag
    item: more than 50% of the context's characters dropped or masked -> drop_item
    item: fewer than 1 sentence kept -> drop_item
    item: masked context still names the answer (post-condition) -> drop_item
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from mmrare.baselines import CONFIDENCE
from mmrare.config import ThresholdsConfig
from mmrare.errors import FatalError
from mmrare.items import TRACKS
from mmrare.leakage.provenance import Provenance
from mmrare.leakage.scores import (
    JSON_SORTED,
    JSON_TEXT,
    SEMANTIC,
    LeakageScore,
    by_item,
    check_detector_pattern,
)

POLICY_VERSION = "leakage-policy/1"
CONFIG_THRESHOLD = "threshold"  # min_score in a policy table meaning "Config.thresholds.semantic[track]"
MASK_TOKEN = "[MASKED]"


class Action(StrEnum):
    """What the policy does about a score."""

    MASK = "mask"  # replace the span with the mask token
    DROP_SENTENCE = "drop_sentence"  # remove the whole sentence from the context
    DROP_ITEM = "drop_item"  # the item leaves the benchmark (kept in the audit, with its reason)
    FLAG = "flag"  # keep, but mark for reviewers and for the leakage-clean report


def _action(value: str | Action) -> Action:
    try:
        return Action(value)
    except ValueError:
        close = difflib.get_close_matches(str(value), [a.value for a in Action], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FatalError(
            f"unknown leakage action {value!r}{hint} (known: {', '.join(a.value for a in Action)})"
        ) from None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """``tracks`` x ``detector`` (fnmatch glob) x score band ``[min_score, max_score)`` -> ``action``.

    ``min_score=None`` means "the track's semantic threshold from the config", so the threshold lives
    in one place and a config change is a policy change the audit can see (config hash).
    """

    detector: str
    action: Action
    tracks: tuple[str, ...] = ("*",)
    min_score: float | None = 1.0
    max_score: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", _action(self.action))
        object.__setattr__(self, "tracks", tuple(self.tracks))
        check_detector_pattern(self.detector)
        for track in self.tracks:
            if track != "*" and track not in TRACKS:
                close = difflib.get_close_matches(track, TRACKS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise FatalError(f"policy rule names unknown track {track!r}{hint}")

    def applies(self, track: str, detector: str) -> bool:
        return ("*" in self.tracks or track in self.tracks) and fnmatch.fnmatchcase(detector, self.detector)

    def lower_bound(self, track: str, semantic: Mapping[str, float]) -> float:
        if self.min_score is not None:
            return self.min_score
        if track not in semantic:
            raise FatalError(f"no semantic threshold for track {track!r} in the config (thresholds.semantic)")
        return float(semantic[track])

    def in_band(self, score: float, track: str, semantic: Mapping[str, float]) -> bool:
        upper_ok = self.max_score is None or score < self.max_score
        return score >= self.lower_bound(track, semantic) and upper_ok

    @property
    def name(self) -> str:
        low = "threshold" if self.min_score is None else f"{self.min_score:g}"
        band = f">={low}" + (f",<{self.max_score:g}" if self.max_score is not None else "")
        return f"{'|'.join(self.tracks)}:{self.detector}{band}->{self.action.value}"

    def as_dict(self) -> dict[str, Any]:
        """The rule as a table row; TOML has no null, so "the config threshold" is written "threshold"."""
        out = asdict(self)
        out["action"] = self.action.value
        out["tracks"] = list(self.tracks)
        if self.min_score is None:
            out["min_score"] = CONFIG_THRESHOLD
        if self.max_score is None:
            del out["max_score"]
        return out

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> PolicyRule:
        unknown = set(row) - {"detector", "action", "tracks", "min_score", "max_score", "reason"}
        if unknown:
            raise FatalError(f"unknown keys in a leakage policy rule: {', '.join(sorted(unknown))}")
        low = row.get("min_score", 1.0)
        return cls(
            detector=row["detector"],
            action=row["action"],
            tracks=tuple(row.get("tracks", ("*",))),
            min_score=None if low in (None, CONFIG_THRESHOLD) else float(low),
            max_score=None if row.get("max_score") is None else float(row["max_score"]),
            reason=row.get("reason", ""),
        )


def _rule(tracks: str, detector: str, action: Action, min_score: float | None, reason: str) -> PolicyRule:
    return PolicyRule(detector, action, tuple(tracks.split(",")), min_score, None, reason)


DEFAULT_RULES: tuple[PolicyRule, ...] = (
    _rule("diagnosis", "lexical.*", Action.MASK, 1.0, "names the gold diagnosis"),
    _rule("treatment", "lexical.*", Action.MASK, 1.0, "names the gold treatment"),
    _rule(
        "examination",
        "lexical.result_phrase",
        Action.DROP_SENTENCE,
        1.0,
        "reports the gold investigation's result",
    ),
    _rule("examination", "lexical.*", Action.MASK, 1.0, "names the gold investigation"),
    _rule("cross_image", "lexical.*", Action.MASK, 1.0, "tells which image is which"),
    _rule("*", SEMANTIC, Action.DROP_SENTENCE, None, "sentence means nearly the same as the answer"),
    _rule("*", "option.length", Action.FLAG, 3.0, "gold option length stands out"),
    _rule("*", "option.overlap", Action.FLAG, 0.5, "gold option echoes the context"),
    _rule("*", "option.central", Action.FLAG, CONFIDENCE["central"], "gold option most like the others"),
)


@dataclass(frozen=True)
class Policy:
    """Rules plus item- and dataset-level limits; hashed, so every decision names the policy it followed."""

    version: str = POLICY_VERSION
    rules: tuple[PolicyRule, ...] = DEFAULT_RULES
    max_removed_fraction: float = 0.5  # more of the context's characters dropped or masked -> drop_item
    min_kept_sentences: int = 1
    mask_token: str = MASK_TOKEN
    postcondition: bool = True  # re-run lexical detectors on the masked context; a hit drops the item
    blind_margin: float = 0.10  # blind solver: top-1 cosine margin that makes an item "text-answerable"
    near_duplicate_cosine: float = 0.95  # contexts of two cases this similar are near-duplicates
    image_max_hamming: int = 4  # phash distance at or below which two images are duplicates
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_removed_fraction <= 1.0:
            raise FatalError(f"max_removed_fraction must be in [0, 1], not {self.max_removed_fraction}")
        if self.min_kept_sentences < 0 or self.image_max_hamming < 0:
            raise FatalError("min_kept_sentences and image_max_hamming must be >= 0")

    def rule_for(
        self, track: str, detector: str, score: float, semantic: Mapping[str, float]
    ) -> PolicyRule | None:
        """The first rule matching (track, detector, score), or None (keep, no decision)."""
        for rule in self.rules:
            if rule.applies(track, detector) and rule.in_band(score, track, semantic):
                return rule
        return None

    def thresholds(self) -> list[tuple[str, str, float]]:
        """(track or "*", detector glob, threshold) of every rule with a fixed threshold: what a
        release's validity report shows next to the stored scores."""
        return [
            (track, rule.detector, float(rule.min_score))
            for rule in self.rules
            if rule.min_score is not None
            for track in rule.tracks
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "rules": [r.as_dict() for r in self.rules],
            "max_removed_fraction": self.max_removed_fraction,
            "min_kept_sentences": self.min_kept_sentences,
            "mask_token": self.mask_token,
            "postcondition": self.postcondition,
            "blind_margin": self.blind_margin,
            "near_duplicate_cosine": self.near_duplicate_cosine,
            "image_max_hamming": self.image_max_hamming,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """A policy from a table (TOML/JSON): unknown keys are fatal, rules default to the built-in table."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise FatalError(f"unknown leakage policy keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "rules" in values:
            values["rules"] = tuple(PolicyRule.from_dict(r) for r in values["rules"])
        return cls(**values)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    @property
    def label(self) -> str:
        """``version+sha256[:8]``: readable, and changes whenever any rule or limit changes."""
        return f"{self.version}+{self.sha256[:8]}"

    def table(self) -> list[str]:
        """The rule table in words, one line per rule, for ``mmrare leakage policy`` and reports."""
        lines = []
        for rule in self.rules:
            low = "config threshold" if rule.min_score is None else f"{rule.min_score:g}"
            band = f">= {low}" + (f", < {rule.max_score:g}" if rule.max_score is not None else "")
            lines.append(f"{','.join(rule.tracks):<12} {rule.detector:<22} {band:<22} {rule.action.value}")
        lines.append(f"item: > {self.max_removed_fraction:.0%} of the context dropped or masked -> drop_item")
        lines.append(f"item: fewer than {self.min_kept_sentences} sentence(s) kept -> drop_item")
        if self.postcondition:
            lines.append("item: masked context still names the answer -> drop_item")
        return lines


DEFAULT_POLICY = Policy()


def semantic_thresholds(thresholds: ThresholdsConfig | Mapping[str, float] | None) -> dict[str, float]:
    """Per-track semantic thresholds from the config object, a plain mapping, or the defaults."""
    if thresholds is None:
        return dict(ThresholdsConfig().semantic)
    if isinstance(thresholds, ThresholdsConfig):
        return dict(thresholds.semantic)
    return {str(k): float(v) for k, v in thresholds.items()}


def with_threshold(
    thresholds: ThresholdsConfig | Mapping[str, float] | None, track: str, value: float
) -> dict[str, float]:
    """A copy of the thresholds with one track's semantic threshold changed (for dry runs)."""
    if track not in TRACKS:
        close = difflib.get_close_matches(track, TRACKS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FatalError(f"unknown track {track!r}{hint}")
    if not 0.0 <= value <= 1.0:
        raise FatalError(f"a cosine threshold must be in [0, 1], not {value}")
    out = semantic_thresholds(thresholds)
    out[track] = float(value)
    return out


@dataclass(frozen=True, slots=True)
class LeakageDecision:
    """What the policy did about one score (or about the whole item), and why.

    ``start``/``end`` are the span acted on, in the item's context: the hit for ``mask``, the whole
    sentence for ``drop_sentence``, ``None`` for item-level actions.
    """

    item_id: str
    track: str
    detector: str
    sentence_id: str | None
    start: int | None
    end: int | None
    matched_text: str
    score: float
    threshold: float | None
    action: Action
    reason: str
    rule: str
    basis: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def decision_id(self, provenance: Provenance) -> str:
        """Same decision under the same versions is the same row, so reloading adds nothing."""
        key = JSON_TEXT.encode(
            [
                self.item_id,
                self.basis,
                self.detector,
                self.sentence_id,
                self.start,
                self.end,
                self.matched_text,
                self.action.value,
                self.reason,
                self.threshold,
                provenance.policy_sha256,
                provenance.config_hash,
                provenance.model_sha256,
                provenance.ordo_version,
            ]
        )
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]

    def row(self, provenance: Provenance) -> dict[str, Any]:
        """The ``leakage_decisions`` row, with every version that produced it."""
        return {
            "decision_id": self.decision_id(provenance),
            "item_id": self.item_id,
            "track": self.track,
            "basis": self.basis,
            "detector": self.detector,
            "sentence_id": self.sentence_id,
            "start": self.start,
            "end": self.end,
            "matched_text": self.matched_text,
            "score": float(self.score),
            "threshold": self.threshold,
            "action": self.action.value,
            "reason": self.reason,
            "rule": self.rule,
            "detail": JSON_SORTED.encode(dict(self.detail)),
            **provenance.columns(),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LeakageDecision:
        """A decision read back from ``leakage_decisions`` (for audits: what actually happened)."""
        detail = row["detail"]
        return cls(
            item_id=row["item_id"],
            track=row["track"],
            detector=row["detector"],
            sentence_id=row["sentence_id"],
            start=row["start"],
            end=row["end"],
            matched_text=row["matched_text"],
            score=float(row["score"]),
            threshold=row["threshold"],
            action=Action(row["action"]),
            reason=row["reason"],
            rule=row["rule"],
            basis=row.get("basis", "") or "",
            detail=json.loads(detail) if isinstance(detail, str) else dict(detail),
        )


@dataclass(frozen=True, slots=True)
class Layout:
    """Sentence spans of one item's context as the stored semantic scores describe them."""

    spans: dict[str, tuple[int, int]]  # sentence id -> (start, end), in text order

    @property
    def total_chars(self) -> int:
        return sum(e - s for s, e in self.spans.values())


def layout_from_scores(scores: Iterable[LeakageScore]) -> Layout:
    """Every sentence has a semantic score, so the stored semantic rows double as the sentence layout."""
    spans = {
        s.sentence_id: (s.start, s.end)
        for s in sorted(
            (
                s
                for s in scores
                if s.detector == SEMANTIC and s.sentence_id is not None and s.start is not None
            ),
            key=lambda s: (s.start, s.end),
        )
        if s.end is not None
    }
    return Layout(spans)  # type: ignore[arg-type]


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans merged, sorted: the same result whatever the input order."""
    merged: list[list[int]] = []
    for start, end in sorted(set(spans)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def removed_fraction(layout: Layout, decisions: Sequence[LeakageDecision]) -> tuple[float, int]:
    """(share of the context's sentence characters dropped or masked, sentences kept)."""
    dropped = {d.sentence_id for d in decisions if d.action is Action.DROP_SENTENCE}
    kept_spans = [span for sid, span in layout.spans.items() if sid not in dropped]
    removed = sum(e - s for sid, (s, e) in layout.spans.items() if sid in dropped)
    masks = merge_spans(
        (d.start, d.end)
        for d in decisions
        if d.action is Action.MASK and d.start is not None and d.end is not None
    )
    for ms, me in masks:
        for ks, ke in kept_spans:
            removed += max(0, min(me, ke) - max(ms, ks))
    total = layout.total_chars
    return (removed / total if total else 0.0), len(kept_spans)


def _decision(score: LeakageScore, rule: PolicyRule, threshold: float, layout: Layout) -> LeakageDecision:
    action, start, end, reason = rule.action, score.start, score.end, rule.reason or rule.name
    detail: dict[str, Any] = {}
    if action is Action.DROP_SENTENCE:
        span = layout.spans.get(score.sentence_id or "")
        if span is None:
            # Without the sentence's span the leak cannot be cut out precisely: drop the item instead.
            action, start, end = Action.DROP_ITEM, None, None
            reason = f"{reason}; sentence span unknown, item dropped instead"
        else:
            if score.start is not None:
                detail["hit"] = [score.start, score.end]
            start, end = span
    return LeakageDecision(
        item_id=score.item_id,
        track=score.track,
        detector=score.detector,
        sentence_id=score.sentence_id,
        start=start,
        end=end,
        matched_text=score.matched_text,
        score=score.score,
        threshold=threshold,
        action=action,
        reason=reason,
        rule=rule.name,
        basis=score.basis,
        detail=detail,
    )


def item_level(
    item_id: str, track: str, basis: str, detector: str, score: float, threshold: float, reason: str
) -> LeakageDecision:
    """A ``drop_item`` decision that no single span caused (too much removed, post-condition, ...)."""
    return LeakageDecision(
        item_id=item_id,
        track=track,
        detector=detector,
        sentence_id=None,
        start=None,
        end=None,
        matched_text="",
        score=score,
        threshold=threshold,
        action=Action.DROP_ITEM,
        reason=reason,
        rule=detector,
        basis=basis,
    )


def apply_policy(
    scores: Iterable[LeakageScore],
    policy: Policy = DEFAULT_POLICY,
    thresholds: ThresholdsConfig | Mapping[str, float] | None = None,
) -> list[LeakageDecision]:
    """Decisions for stored scores: per-score rules, then the item-level limits. Pure and cheap.

    The text-dependent post-condition is :func:`mmrare.leakage.masking.decide`'s job; this function
    needs nothing but scores, so a threshold change re-decides a whole release in milliseconds.
    """
    semantic = semantic_thresholds(thresholds)
    out: list[LeakageDecision] = []
    # the rules whose track and detector glob fit, in table order, per (track, detector): what
    # Policy.rule_for scans for, matched once per pair instead of once per score
    fitting: dict[tuple[str, str], tuple[PolicyRule, ...]] = {}
    for item_id, group in by_item(scores).items():
        layout = layout_from_scores(group)
        decisions = []
        for score in group:
            key = (score.track, score.detector)
            if key not in fitting:
                fitting[key] = tuple(r for r in policy.rules if r.applies(*key))
            rule = next((r for r in fitting[key] if r.in_band(score.score, score.track, semantic)), None)
            if rule is not None:
                decisions.append(_decision(score, rule, rule.lower_bound(score.track, semantic), layout))
        track, basis = group[0].track, group[0].basis
        if layout.spans:
            fraction, kept = removed_fraction(layout, decisions)
            if fraction > policy.max_removed_fraction:
                decisions.append(
                    item_level(
                        item_id,
                        track,
                        basis,
                        "policy.removed_fraction",
                        round(fraction, 4),
                        policy.max_removed_fraction,
                        f"{fraction:.0%} of the context leaks (dropped or masked), "
                        f"more than the policy's {policy.max_removed_fraction:.0%}",
                    )
                )
            if kept < policy.min_kept_sentences:
                decisions.append(
                    item_level(
                        item_id,
                        track,
                        basis,
                        "policy.min_kept_sentences",
                        float(kept),
                        float(policy.min_kept_sentences),
                        f"{kept} sentence(s) left after dropping, policy needs {policy.min_kept_sentences}",
                    )
                )
        out += sorted(decisions, key=_order)
    return out


def _order(d: LeakageDecision) -> tuple[Any, ...]:
    return (
        d.start if d.start is not None else 1 << 62,
        d.end or 0,
        d.detector,
        d.action.value,
        d.matched_text,
    )


# Why an item is kept: its masks and dropped sentences carry reasons of their own (leakage_decisions)
KEPT_REASON = "no drop_item rule of the policy matched its scores"


def item_status(decisions: Iterable[LeakageDecision]) -> tuple[str, str]:
    """("kept", :data:`KEPT_REASON`) or ("dropped", the reasons of every drop_item decision joined):
    a kept item's stored context says why too, not only a dropped one's."""
    reasons = [d.reason for d in decisions if d.action is Action.DROP_ITEM]
    return ("dropped", "; ".join(dict.fromkeys(reasons))) if reasons else ("kept", KEPT_REASON)
