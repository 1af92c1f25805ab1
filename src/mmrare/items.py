"""Benchmark items (QA drafts) and the typed input that drafters receive.

Shared by the annotation stage (which drafts items), the warehouse (which stores them) and the
evaluation stage (which asks models). The drafter never reads the warehouse or the ontology itself:
the orchestrator builds a :class:`CaseInput` from curation records plus the case's ORDO diagnosis
and distractor candidates, so stages stay independent and drafting is testable on plain data.

Item ids depend only on the track, the case, the gold answer and the drafter version, so drafting
the same case twice gives the same ids and re-loading adds no rows; a change to what a drafter
produces must bump its version (see ``DRAFTER_VERSIONS`` in ``mmrare.annotations.drafting``).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from mmrare.records import Figure, FigureMention, Graphic, ParsedArticle, Reject, Section, Sentence

TRACKS: tuple[str, ...] = ("diagnosis", "examination", "treatment", "cross_image")
STATUS_DRAFT = "draft"
MIN_OPTIONS = 4
MAX_OPTIONS = 10
DEFAULT_OPTIONS = 5
POOL_KINDS: tuple[str, ...] = ("examination", "treatment", "finding")


def image_marker(position: int) -> str:
    """The positional name a model sees next to the n-th image ("Image 1", 1-based)."""
    return f"Image {position}"


def item_id_for(track: str, pmcid: str, answer: str, drafter_version: str) -> str:
    """sha256(track, pmcid, answer, drafter version)[:24]: stable across runs, new per drafter version."""
    key = json.dumps([track, pmcid, answer, drafter_version], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image shown with an item: its position, the marker the text uses, and where it comes from."""

    position: int  # 1-based, the order the model receives the images in
    marker: str  # "Image 1"
    figure_id: str
    graphic_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "marker": self.marker,
            "figure_id": self.figure_id,
            "graphic_id": self.graphic_id,
        }


@dataclass(frozen=True, slots=True)
class DistractorNote:
    """Why one distractor of an item was chosen (``qa_distractors``): a reviewer checking that an
    option is plausible but wrong, and a validity report counting where distractors come from,
    read these rather than re-deriving them."""

    text: str
    reason: str  # e.g. same_case, same_modality_region, ordo_sibling_or_neighbour, other_case_answer,
    # vocabulary_fit; with a detail after a colon: "differential: <disease>", "ordo_sibling: <disease>",
    # "similar: 0.62" (examination and treatment options that fit the clinical picture)
    source: str = ""  # where it comes from: a figure id, a PMCID, a vocabulary id or an ORPHA code

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "reason": self.reason, "source": self.source}


@dataclass(frozen=True, slots=True)
class QAItem:
    """A multiple-choice benchmark item drafted from one case, with the evidence that justifies it.

    ``context`` is what the model will read (before leakage control); captions are never part of it.
    ``evidence_*`` name the sentences and figures a reviewer checks the answer against.
    """

    item_id: str
    track: str  # one of TRACKS
    question_type: str  # e.g. "diagnosis", "next_examination", "image_for_finding"
    pmcid: str
    question: str
    context: str
    context_sentence_ids: tuple[str, ...]
    images: tuple[ImageRef, ...]
    options: tuple[str, ...]
    answer_index: int
    answer: str
    aliases: tuple[str, ...]
    orpha_code: str | None
    answer_category: str | None  # examination / treatment category, None elsewhere
    evidence_sentence_ids: tuple[str, ...]
    evidence_figure_ids: tuple[str, ...]
    rationale: str
    drafter: str
    drafter_version: str
    seed: int
    status: str = STATUS_DRAFT
    # why each distractor was chosen, in option-priority order; stored beside the row (qa_distractors),
    # not in it, so reading an item back (and its content hash) does not depend on them
    distractor_notes: tuple[DistractorNote, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Invariants every drafter must keep; a violation is a bug in the drafter, not a bad record.
        if self.track not in TRACKS:
            raise ValueError(f"unknown track {self.track!r}")
        if not MIN_OPTIONS <= len(self.options) <= MAX_OPTIONS:
            raise ValueError(f"{len(self.options)} options; need {MIN_OPTIONS}..{MAX_OPTIONS}")
        if len({_norm(o) for o in self.options}) != len(self.options):
            raise ValueError("options are not distinct")
        if not 0 <= self.answer_index < len(self.options) or self.options[self.answer_index] != self.answer:
            raise ValueError("answer_index does not point at the answer")
        if [i.position for i in self.images] != list(range(1, len(self.images) + 1)):
            raise ValueError("image positions must be 1..n in order")
        if not self.evidence_sentence_ids and not self.evidence_figure_ids:
            raise ValueError("an item needs at least one evidence id")

    @classmethod
    def from_row(cls, row: Mapping[str, Any], evidence: list[dict[str, Any]] | None = None) -> QAItem:
        """Inverse of :meth:`row` plus :meth:`evidence_rows` (a stored ``qa_items`` row and its
        ``qa_evidence`` rows, any order). Without ``evidence`` the row carries the evidence ids as
        JSON lists itself, as a reviewed version does (``accepted_items``), so a reviewed item is
        this same record rather than another declaration of its fields."""

        def loads(value: Any) -> Any:
            return json.loads(value) if isinstance(value, str) else value

        if evidence is None:
            sentences = tuple(loads(row["evidence_sentence_ids"]))
            figures = tuple(loads(row["evidence_figure_ids"]))
        else:
            ordered = sorted(evidence, key=lambda e: (e["kind"], e["ordinal"]))
            sentences = tuple(e["ref_id"] for e in ordered if e["kind"] == "sentence")
            figures = tuple(e["ref_id"] for e in ordered if e["kind"] == "figure")
        return cls(
            item_id=row["item_id"],
            track=row["track"],
            question_type=row["question_type"],
            pmcid=row["pmcid"],
            question=row["question"],
            context=row["context"],
            context_sentence_ids=tuple(loads(row["context_sentence_ids"])),
            images=tuple(ImageRef(**i) for i in loads(row["images"])),
            options=tuple(loads(row["options"])),
            answer_index=int(row["answer_index"]),
            answer=row["answer"],
            aliases=tuple(loads(row["aliases"])),
            orpha_code=row["orpha_code"],
            answer_category=row["answer_category"],
            evidence_sentence_ids=sentences,
            evidence_figure_ids=figures,
            rationale=row["rationale"],
            drafter=row["drafter"],
            drafter_version=row["drafter_version"],
            seed=int(row["seed"]),
            status=row["status"],
        )

    @property
    def content_sha256(self) -> str:
        """Hash of everything the item says, so a changed re-draft under the same id is detectable."""
        return str(self.row()["content_sha256"])

    def row(self) -> dict[str, Any]:
        """The ``qa_items`` row (lists become JSON text)."""
        out: dict[str, Any] = {
            "item_id": self.item_id,
            "track": self.track,
            "question_type": self.question_type,
            "pmcid": self.pmcid,
            "question": self.question,
            "context": self.context,
            "context_sentence_ids": json.dumps(list(self.context_sentence_ids)),
            "images": json.dumps([i.as_dict() for i in self.images]),
            "options": json.dumps(list(self.options), ensure_ascii=False),
            "n_options": len(self.options),
            "answer_index": self.answer_index,
            "answer": self.answer,
            "aliases": json.dumps(list(self.aliases), ensure_ascii=False),
            "orpha_code": self.orpha_code,
            "answer_category": self.answer_category,
            "rationale": self.rationale,
            "drafter": self.drafter,
            "drafter_version": self.drafter_version,
            "status": self.status,
            "seed": self.seed,
        }
        out["content_sha256"] = hashlib.sha256(
            json.dumps(out, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        return out

    def distractor_rows(self) -> list[dict[str, Any]]:
        """The ``qa_distractors`` rows: one per distractor with a note, in priority order."""
        return [
            {"item_id": self.item_id, "ordinal": i, **note.as_dict()}
            for i, note in enumerate(self.distractor_notes)
        ]

    def evidence_rows(self) -> list[dict[str, Any]]:
        """The ``qa_evidence`` rows: one per evidence sentence or figure, in order."""
        rows = [
            {"item_id": self.item_id, "pmcid": self.pmcid, "kind": "sentence", "ref_id": ref, "ordinal": i}
            for i, ref in enumerate(self.evidence_sentence_ids)
        ]
        rows += [
            {"item_id": self.item_id, "pmcid": self.pmcid, "kind": "figure", "ref_id": ref, "ordinal": i}
            for i, ref in enumerate(self.evidence_figure_ids)
        ]
        return rows


@dataclass(frozen=True, slots=True)
class DiagnosisInput:
    """The case's mapped ORDO diagnosis and its distractor candidates, computed upstream.

    ``distractors`` are ordered (code, label) pairs, ORDO siblings first then embedding neighbours,
    already free of the gold concept's ancestors, descendants and synonyms.
    """

    code: str  # "ORPHA:94080"
    label: str
    aliases: tuple[str, ...] = ()
    evidence_sentence_ids: tuple[str, ...] = ()
    distractors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RelatedCase:
    """Another case whose diagnosis belongs to this case's clinical picture: a disease its article
    names in the differential, or an ORDO sibling of its diagnosis. That case's examinations and
    treatments are the workup and therapy a clinician would weigh here, so they are offered first."""

    pmcid: str
    relation: str  # "differential" | "ordo_sibling"
    code: str  # the related disease (that case's diagnosis), "ORPHA:n"
    label: str


class OptionSimilarity(Mapping[str, float]):
    """Each option text's cosine to one context: a view over a score vector (no dict per item)."""

    def __init__(self, rows: Mapping[str, int], scores: np.ndarray) -> None:
        self._rows, self._scores = rows, scores

    def __getitem__(self, text: str) -> float:
        return float(self._scores[self._rows[text]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True, slots=True)
class ClinicalPicture:
    """What the build knows of a case's clinical picture beyond its text, as plain data (the drafter
    reads neither ORDO nor the encoder): the related cases, most related first; the unit vectors of
    the run's examination and treatment texts (rows by the text as
    :func:`~mmrare.annotations.drafting.text.normalise` gives it, shared by every case) and of the
    case's sentences, so an item's options can be compared with the context it shows."""

    related: tuple[RelatedCase, ...] = ()
    option_rows: Mapping[str, int] = field(default_factory=dict)
    option_vectors: np.ndarray | None = None  # (len(option_rows), dim)
    sentence_vectors: Mapping[str, np.ndarray] = field(default_factory=dict)  # by sentence id

    def similarity(self, sentence_ids: Iterable[str]) -> Mapping[str, float]:
        """Every option text's cosine to the unit mean of these sentences' vectors: the context vector
        the text-only baseline compares options with (empty without vectors)."""
        rows = [self.sentence_vectors[s] for s in sentence_ids if s in self.sentence_vectors]
        if not rows or self.option_vectors is None or not self.option_rows:
            return {}
        mean = np.mean(rows, axis=0)
        norm = float(np.linalg.norm(mean))
        return OptionSimilarity(self.option_rows, self.option_vectors @ (mean / norm if norm > 0 else mean))


@dataclass(frozen=True, slots=True)
class CaseInput:
    """Everything a drafter may read about one case. Graphics other than status "ok" are ignored."""

    pmcid: str
    title: str
    sections: tuple[Section, ...]
    sentences: tuple[Sentence, ...]
    figures: tuple[Figure, ...]
    graphics: tuple[Graphic, ...]
    mentions: tuple[FigureMention, ...]
    diagnosis: DiagnosisInput | None = None
    picture: ClinicalPicture = field(default_factory=ClinicalPicture)

    @classmethod
    def from_parsed(cls, parsed: ParsedArticle, diagnosis: DiagnosisInput | None = None) -> CaseInput:
        """A case from parser output; the orchestrator passes graphics carrying decoder status."""
        return cls(
            pmcid=parsed.article.pmcid,
            title=parsed.article.title,
            sections=parsed.sections,
            sentences=parsed.sentences,
            figures=parsed.figures,
            graphics=parsed.graphics,
            mentions=parsed.mentions,
            diagnosis=diagnosis,
        )

    @property
    def usable_graphics(self) -> tuple[Graphic, ...]:
        return tuple(g for g in self.graphics if g.status == "ok")


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """A treatment, examination or image finding seen in one case, offered as a distractor elsewhere."""

    kind: str  # one of POOL_KINDS
    text: str
    category: str | None  # examination / treatment category; "modality|region" of a finding's figure
    pmcid: str
    ref: str = ""  # the figure a finding is shown in
    systems: tuple[str, ...] = ()  # body systems its case talks about most (what it was an answer to)


@dataclass(frozen=True, slots=True)
class DistractorPool:
    """Answers seen across the selected cases; a case never draws distractors from itself.

    Every case asks for candidates, and the pool grows with the number of cases; a scan per call
    made drafting quadratic in N. So each kind is indexed once (first entry of each normalised text,
    and for the texts a case owns first, the next entry from another case), and a call costs one
    pass over the distinct texts, with no text normalised again.
    """

    entries: tuple[PoolEntry, ...] = ()
    _index: dict[str, _KindIndex] | None = field(default=None, init=False, repr=False, compare=False)
    # drafting threads share one pool: the first to need a kind indexes it, the others wait for that
    # instead of each building the same index, one after another under the GIL
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _by_case: dict[tuple[str, str], tuple[PoolEntry, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __reduce__(self) -> tuple[type[DistractorPool], tuple[tuple[PoolEntry, ...]]]:
        """Pickle the entries only (a Dask worker indexes its copy; a lock does not pickle)."""
        return type(self), (self.entries,)

    def candidates(self, kind: str, exclude_pmcid: str) -> list[PoolEntry]:
        """Entries of one kind from other cases, first occurrence of each text only, in pool order."""
        return list(self.iter_candidates(kind, exclude_pmcid))

    def iter_candidates(self, kind: str, exclude_pmcid: str, where: str | None = None) -> Iterator[PoolEntry]:
        """:meth:`candidates`, produced only as far as read: a caller that needs a few distractors
        from a pool as large as the corpus then costs a few steps, not a pass over every text.

        ``where`` keeps the entries whose ``category`` matches it part by part ("|"-separated; "*"
        matches anything but an empty part): "ct|gi", "ct|*", "*|gi" for findings."""
        index = self._kind_index(kind if where is None else f"{kind}\x1f{where}")
        firsts = ((pos, e) for pos, e in index.firsts if e.pmcid != exclude_pmcid)
        alternates = index.alternates.get(exclude_pmcid)
        merged = heapq.merge(firsts, alternates, key=itemgetter(0)) if alternates else firsts
        return (entry for _, entry in merged)

    def of_case(self, kind: str, pmcid: str) -> tuple[PoolEntry, ...]:
        """The entries of one kind that one case contributed, in pool order (indexed on first use:
        every case asks for the entries of its few related cases)."""
        by_case = self._by_case
        if by_case is None:
            with self._lock:
                if self._by_case is None:
                    grouped: dict[tuple[str, str], list[PoolEntry]] = {}
                    for entry in self.entries:
                        grouped.setdefault((entry.kind, entry.pmcid), []).append(entry)
                    object.__setattr__(self, "_by_case", {k: tuple(v) for k, v in grouped.items()})
                by_case = self._by_case
                assert by_case is not None
        return by_case.get((kind, pmcid), ())

    def _kind_index(self, kind: str) -> _KindIndex:
        index = self._index
        if index is not None and kind in index:
            return index[kind]
        with self._lock:
            if self._index is None:
                object.__setattr__(self, "_index", {})
            index = self._index
            assert index is not None
            if kind not in index:
                base, _, where = kind.partition("\x1f")
                index[kind] = _KindIndex.build(
                    [
                        (i, e)
                        for i, e in enumerate(self.entries)
                        if e.kind == base and (not where or category_matches(e.category, where))
                    ]
                )
            return index[kind]


def category_matches(category: str | None, where: str) -> bool:
    """``category`` against a pattern of "|"-separated parts, "*" for any non-empty part."""
    parts = (category or "").split("|")
    wanted = where.split("|")
    if len(parts) != len(wanted):
        return False
    return all(w == p if w != "*" else bool(p) for w, p in zip(wanted, parts, strict=True))


@dataclass(frozen=True, slots=True)
class _KindIndex:
    """Pool entries of one kind: the first of each text, and per case the stand-ins for its own firsts."""

    firsts: list[tuple[int, PoolEntry]]
    alternates: dict[str, list[tuple[int, PoolEntry]]]

    @classmethod
    def build(cls, entries: list[tuple[int, PoolEntry]]) -> _KindIndex:
        by_text: dict[str, list[tuple[int, PoolEntry]]] = {}
        for pos, entry in entries:
            by_text.setdefault(_norm(entry.text), []).append((pos, entry))
        firsts = []
        alternates: dict[str, list[tuple[int, PoolEntry]]] = {}
        for group in by_text.values():
            first = group[0]
            firsts.append(first)
            other = next((pair for pair in group if pair[1].pmcid != first[1].pmcid), None)
            if other is not None:
                alternates.setdefault(first[1].pmcid, []).append(other)
        firsts.sort(key=itemgetter(0))
        for stand_ins in alternates.values():
            stand_ins.sort(key=itemgetter(0))
        return cls(firsts, alternates)


@dataclass(frozen=True, slots=True)
class DraftResult:
    """What drafting one case produced: items, and a reject for every draft that could not be made."""

    items: list[QAItem] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
