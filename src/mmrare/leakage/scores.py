"""Detector output: one :class:`LeakageScore` per hit or per scored sentence, and the detector registry.

Detectors only *score*; the policy (:mod:`mmrare.leakage.policy`) decides. Scores are stored in full
(``leakage_scores``) — including the semantic score of every sentence, not only those above a
threshold — so that a threshold or policy change re-decides from stored rows and never re-embeds.

Offsets: ``start``/``end`` are character offsets into the item's ``context`` (for semantic scores,
the sentence's span), ``None`` for item-level scores (option shortcuts).
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmrare.errors import FatalError
from mmrare.leakage.provenance import Provenance
from mmrare.memo import chunk_memo

# Encoders made once and shared by the row builders: json.dumps with any non-default option builds a
# new encoder per call, and a stage writes rows by the ten thousand. Output is json.dumps's.
JSON_TEXT = json.JSONEncoder(ensure_ascii=False)
JSON_SORTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)

# Bump whenever a detector may score the same input differently (patterns, normalisation, splitting).
# 2: British spellings fold to American ones; diagnosis names of ORDO relatives and standard short
# names; short forms the context defines for a name of the answer.
# 3: names only the text gives the diagnosis (defined long forms in its own words, aliases after a
# cue, synonym lists); short forms glued to the next word.
# 4: option.central (the gold is the option most like the others).
DETECTOR_VERSION = "leakage-detectors/4"

SEMANTIC = "semantic"

# Explicit registry: name -> what a hit means, in words (used by explanations and policy checks).
DETECTORS: dict[str, str] = {
    "lexical.label": "the gold answer's label",
    "lexical.synonym": "a synonym of the gold answer",
    "lexical.abbreviation": "an abbreviation the case defines for the gold answer",
    "lexical.xref": "a cross-referenced name of the gold answer",
    "lexical.gene": "a causal gene of the gold diagnosis named by the case",
    "lexical.head_word": "the distinctive head noun of the gold diagnosis",
    "lexical.related": "a name of the gold diagnosis's group or of one of its subtypes",
    "lexical.short_name": "a standard short name of the gold diagnosis (acronym, initials, bare eponym)",
    "lexical.defined_short": "a short form the context defines for a name of the gold diagnosis, or "
    "the words an acronym of it stands for",
    "lexical.near_name": "a long name of the gold diagnosis with one inner word left out",
    "lexical.text_name": "a name the text itself gives the gold diagnosis: a long form it defines in "
    "the diagnosis's own words, an alias after 'also known as', an item of a synonyms list",
    "lexical.result_phrase": "a phrase reporting the result of the gold investigation",
    "lexical.figure_ref": "a figure reference that ties text to a specific image",
    "lexical.panel_ref": "a panel reference that ties text to a specific image",
    "lexical.image_marker": "an image marker that ties text to a specific image",
    "lexical.caption_ngram": "a phrase found in only one of the item's figure captions",
    SEMANTIC: "a sentence whose meaning is close to the answer's label, synonyms or definition",
    "option.length": "the gold option's length stands out from the distractors",
    "option.overlap": "the gold option shares words with the context that no distractor shares",
    "option.central": "the gold option is the one sharing most words with the other options",
}

# Lexical detectors that run for each track.
TRACK_LEXICAL: dict[str, tuple[str, ...]] = {
    "diagnosis": (
        "lexical.label",
        "lexical.synonym",
        "lexical.abbreviation",
        "lexical.xref",
        "lexical.gene",
        "lexical.head_word",
        "lexical.related",
        "lexical.short_name",
        "lexical.defined_short",
        "lexical.near_name",
        "lexical.text_name",
    ),
    "treatment": ("lexical.label", "lexical.synonym", "lexical.abbreviation", "lexical.xref"),
    "examination": (
        "lexical.label",
        "lexical.synonym",
        "lexical.abbreviation",
        "lexical.xref",
        "lexical.result_phrase",
    ),
    "cross_image": (
        "lexical.figure_ref",
        "lexical.panel_ref",
        "lexical.image_marker",
        "lexical.caption_ngram",
    ),
}


def check_detector_pattern(pattern: str) -> str:
    """``pattern`` (an fnmatch glob over detector names) if it names at least one detector.

    A typo in a policy table would otherwise silently never fire; the error suggests the closest name.
    """
    if any(fnmatch.fnmatchcase(name, pattern) for name in DETECTORS):
        return pattern
    close = difflib.get_close_matches(pattern, list(DETECTORS), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise FatalError(
        f"policy names unknown detector {pattern!r}{hint} (known: {', '.join(sorted(DETECTORS))})"
    )


@dataclass(frozen=True, slots=True)
class LeakageScore:
    """One detector hit (lexical: score 1.0), one scored sentence (semantic) or one item-level score."""

    item_id: str
    detector: str
    sentence_id: str | None
    start: int | None
    end: int | None
    matched_text: str
    score: float
    detail: Mapping[str, Any]
    track: str
    basis: str = ""  # LeakageInput.basis: the context + descriptor the score was computed on

    @property
    def score_id(self) -> str:
        """Content key: the same hit on the same input by the same detector version is one row."""
        key = JSON_TEXT.encode(
            [
                self.item_id,
                self.basis,
                self.detector,
                DETECTOR_VERSION,
                self.sentence_id,
                self.start,
                self.end,
                self.matched_text,
                self.detail.get("model_sha256") if self.detector == SEMANTIC else None,
            ]
        )
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]

    def row(self, provenance: Provenance) -> dict[str, Any]:
        """The ``leakage_scores`` row."""
        return {name: values[0] for name, values in LeakageScore.columns([self], provenance).items()}

    @staticmethod
    def columns(scores: Sequence[LeakageScore], provenance: Provenance) -> dict[str, list[Any]]:
        """The ``leakage_scores`` rows of ``scores``, column by column (:meth:`row` is one of them):
        the largest table of a build, which Arrow wants as columns, not a dict per score."""
        n = len(scores)
        return {
            "score_id": [s.score_id for s in scores],
            "item_id": [s.item_id for s in scores],
            "track": [s.track for s in scores],
            "basis": [s.basis for s in scores],
            "detector": [s.detector for s in scores],
            "detector_version": [DETECTOR_VERSION] * n,
            "sentence_id": [s.sentence_id for s in scores],
            "start": [s.start for s in scores],
            "end": [s.end for s in scores],
            "matched_text": [s.matched_text for s in scores],
            "score": [float(s.score) for s in scores],
            "detail": [detail_json(s.detail) for s in scores],
            "model_id": [provenance.model_id] * n,
            "model_sha256": [provenance.model_sha256] * n,
            "ordo_version": [provenance.ordo_version] * n,
            "created_at": [provenance.created_at] * n,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LeakageScore:
        """A score read back from ``leakage_scores`` (for re-deciding without re-embedding)."""
        detail = row["detail"]
        return cls(
            item_id=row["item_id"],
            detector=row["detector"],
            sentence_id=row["sentence_id"],
            start=row["start"],
            end=row["end"],
            matched_text=row["matched_text"],
            score=float(row["score"]),
            detail=json.loads(detail) if isinstance(detail, str) else dict(detail),
            track=row["track"],
            basis=row.get("basis", "") or "",
        )


def detail_json(detail: Mapping[str, Any]) -> str:
    """``JSON_SORTED.encode(dict(detail))``; a detail of text values only is encoded once per content.

    The semantic score of every sentence names its closest descriptor, so an item's sentences share a
    few details: encoding each again was a third of making the score rows. Only text (or null) values
    are keyed, since equal keys must encode alike (``1 == 1.0 == True`` do not).
    """
    items = tuple(detail.items())
    if all(type(k) is str and (v is None or type(v) is str) for k, v in items):
        return _text_detail_json(items)
    return JSON_SORTED.encode(dict(detail))


@chunk_memo(maxsize=4096)
def _text_detail_json(items: tuple[tuple[str, str | None], ...]) -> str:
    return JSON_SORTED.encode(dict(items))


def by_item(scores: Iterable[LeakageScore]) -> dict[str, list[LeakageScore]]:
    """Scores grouped by item id, each group in input order."""
    out: dict[str, list[LeakageScore]] = {}
    for score in scores:
        out.setdefault(score.item_id, []).append(score)
    return out
