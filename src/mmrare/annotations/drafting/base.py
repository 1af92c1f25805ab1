"""Drafter registry, shared settings, and the step that turns a track's draft into a :class:`QAItem`.

Drafters are looked up by explicit name (no registration by import side effects); an unknown name
or track is a :class:`FatalError` that suggests the closest known one. Every track returns items and
rejects: a draft that cannot be made is a :class:`Reject` with a reason code, never silently lost.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.options import Candidate, assemble
from mmrare.errors import FatalError, RecordError
from mmrare.items import (
    DEFAULT_OPTIONS,
    MAX_OPTIONS,
    MIN_OPTIONS,
    TRACKS,
    CaseInput,
    DistractorPool,
    DraftResult,
    ImageRef,
    QAItem,
    item_id_for,
)
from mmrare.records import Reject, Sentence

STAGE = "draft"

# Bump a version whenever that drafter's output for the same case may change (code or vocabulary).
DRAFTER_VERSIONS: dict[str, str] = {
    "rules": "rules-drafter/3",
    "llm": "llm-drafter/1",
}

# Explicit name -> implementation table; imported lazily so the rules drafter never loads requests.
_DRAFTERS: dict[str, tuple[str, str]] = {
    "rules": ("mmrare.annotations.drafting.rules", "RulesDrafter"),
    "llm": ("mmrare.annotations.drafting.llm", "LlmDrafter"),
}


def _did_you_mean(kind: str, name: str, known: Iterable[str]) -> FatalError:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return FatalError(f"unknown {kind} {name!r}{hint} (known: {', '.join(known)})")


def resolve_tracks(tracks: Sequence[str] | None) -> tuple[str, ...]:
    """The requested tracks in canonical order (all when None); unknown names are fatal."""
    if tracks is None:
        return TRACKS
    if isinstance(tracks, str):
        tracks = [tracks]
    for name in tracks:
        if name not in TRACKS:
            raise _did_you_mean("track", name, TRACKS)
    return tuple(t for t in TRACKS if t in set(tracks))


@dataclass(frozen=True, slots=True)
class DraftSettings:
    """Knobs that change drafts; all of them are part of what makes a draft reproducible."""

    options: int = DEFAULT_OPTIONS  # options per item, answer included
    seed: int = 0
    max_per_kind: int = 3  # items per (track, question type) and case
    min_context_sentences: int = 2
    min_images: int = 1

    def __post_init__(self) -> None:
        if not MIN_OPTIONS <= self.options <= MAX_OPTIONS:
            raise FatalError(f"options must be between {MIN_OPTIONS} and {MAX_OPTIONS}, not {self.options}")
        if self.max_per_kind < 1 or self.min_context_sentences < 1 or self.min_images < 0:
            raise FatalError("max_per_kind and min_context_sentences must be >= 1, min_images >= 0")


class Drafter(Protocol):
    """Drafts benchmark items for one case."""

    name: str

    @property
    def version(self) -> str: ...

    def draft(
        self, case: CaseInput, tracks: Sequence[str], settings: DraftSettings, pool: DistractorPool
    ) -> DraftResult: ...


def available_drafters() -> list[str]:
    return sorted(_DRAFTERS)


def get_drafter(name: str, **kwargs: object) -> Drafter:
    """The drafter registered under ``name``; ``kwargs`` go to its constructor."""
    if name not in _DRAFTERS:
        raise _did_you_mean("drafter", name, _DRAFTERS)
    module_name, class_name = _DRAFTERS[name]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**kwargs)  # type: ignore[no-any-return]


def draft_case(
    case: CaseInput,
    tracks: Sequence[str] | None = None,
    drafter: str = "rules",
    options: int = DEFAULT_OPTIONS,
    seed: int = 0,
    pool: DistractorPool | None = None,
) -> DraftResult:
    """Draft items for every requested track of one case (all tracks when ``tracks`` is None)."""
    settings = DraftSettings(options=options, seed=seed)
    return get_drafter(drafter).draft(case, resolve_tracks(tracks), settings, pool or DistractorPool())


# ----------------------------------------------------------------------------- drafts -> items


@dataclass
class Draft:
    """What a track decided for one item, before ids, options and context text are derived."""

    track: str
    question_type: str
    question: str
    answer: str
    distractors: Iterable[Candidate]  # in priority order; may be lazy (consumed once, only as far as needed)
    context: list[Sentence]
    images: tuple[ImageRef, ...]
    evidence_sentence_ids: list[str]
    evidence_figure_ids: list[str]
    rationale: str
    aliases: tuple[str, ...] = ()
    orpha_code: str | None = None
    answer_category: str | None = None
    forbidden: tuple[str, ...] = ()  # texts that must never be a distractor (e.g. aliases)
    too_similar: Callable[[str, str], bool] | None = None
    ordered_options: bool = False
    strip_refs: bool = False  # context keeps no figure references (cross-image)
    key: str = ""  # names the draft in rejects
    reason: str = ""  # why a distractor given as plain text was chosen (qa_distractors.reason)


@dataclass
class TrackRun:
    """One drafter running one track on one case: settings, pool, and how to report results."""

    view: CaseView
    track: str
    settings: DraftSettings
    pool: DistractorPool
    drafter: str
    version: str
    items: list[QAItem] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def record_id(self, key: str = "") -> str:
        return f"{self.view.pmcid}:{self.track}" + (f":{key}" if key else "")

    def reject(self, reason: str, detail: str, key: str = "") -> None:
        self.rejects.append(
            Reject(
                record_id=self.record_id(key),
                stage=STAGE,
                reason=reason,
                detail=" ".join(detail.split())[:300],
                source=f"drafter:{self.drafter}",
                versions={"drafter": self.version},
            )
        )

    def count(self, question_type: str) -> int:
        return sum(1 for i in self.items if i.question_type == question_type)

    def full(self, question_type: str) -> bool:
        return self.count(question_type) >= self.settings.max_per_kind

    def add(self, draft: Draft) -> QAItem | None:
        """Finish a draft into an item, or record why it could not be made."""
        try:
            item = self.finish(draft)
        except RecordError as exc:
            self.reject(exc.reason, exc.detail, draft.key)
            return None
        if any(i.item_id == item.item_id for i in self.items):
            self.reject("duplicate_item", f"same answer as an earlier item: {item.answer}", draft.key)
            return None
        self.items.append(item)
        return item

    def finish(self, draft: Draft) -> QAItem:
        """Checks shared by all tracks, then the id, the options and the rendered context."""
        record_id = self.record_id(draft.key)
        if len(draft.context) < self.settings.min_context_sentences:
            raise RecordError(
                record_id,
                "context_too_short",
                f"{len(draft.context)} context sentences, need {self.settings.min_context_sentences}",
            )
        if len(draft.images) < self.settings.min_images:
            raise RecordError(record_id, "no_images", "no usable image may be shown before the cut")
        unknown = [s for s in draft.evidence_sentence_ids if s not in self.view.by_id]
        unknown += [f for f in draft.evidence_figure_ids if f not in self.view.figure_by_id]
        if unknown:
            raise RecordError(record_id, "unknown_evidence_id", ", ".join(unknown[:5]))
        item_id = item_id_for(draft.track, self.view.pmcid, draft.answer, self.version)
        options, answer_index, notes = assemble(
            draft.answer,
            draft.distractors,
            n=self.settings.options,
            seed=self.settings.seed,
            item_id=item_id,
            record_id=record_id,
            forbidden=draft.forbidden,
            too_similar=draft.too_similar,
            ordered=draft.ordered_options,
            reason=draft.reason,
        )
        context = sorted(draft.context, key=lambda s: s.ordinal)
        return QAItem(
            item_id=item_id,
            track=draft.track,
            question_type=draft.question_type,
            pmcid=self.view.pmcid,
            question=draft.question,
            context=self.view.render(context, draft.images, strip_refs=draft.strip_refs),
            context_sentence_ids=tuple(s.sentence_id for s in context),
            images=draft.images,
            options=options,
            answer_index=answer_index,
            answer=options[answer_index],
            aliases=draft.aliases,
            orpha_code=draft.orpha_code,
            answer_category=draft.answer_category,
            evidence_sentence_ids=tuple(
                sorted(dict.fromkeys(draft.evidence_sentence_ids), key=lambda s: self.view.by_id[s].ordinal)
            ),
            evidence_figure_ids=tuple(
                f.figure_id for f in self.view.figures if f.figure_id in set(draft.evidence_figure_ids)
            ),
            rationale=draft.rationale,
            drafter=self.drafter,
            drafter_version=self.version,
            seed=self.settings.seed,
            distractor_notes=notes,
        )
