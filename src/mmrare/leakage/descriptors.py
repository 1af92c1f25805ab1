"""What the leakage stage is told about an answer: plain typed input built by the orchestrator.

Leakage control must not read ORDO, the linker or the warehouse (stages never import each other), so
the orchestrator resolves everything that names the gold answer — ORDO label, synonyms, definition,
cross-reference names, abbreviations the case defines for it, causal genes the case names, figure
captions for cross-image items — into an :class:`AnswerDescriptor` and hands it over with the item.
The descriptor is stored with its sha256 (``leakage_descriptors``), so a later re-decision (new
threshold, new policy) can run its post-condition without looking anything up again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmrare.items import QAItem
from mmrare.leakage.scores import JSON_SORTED, JSON_TEXT


@dataclass(frozen=True, slots=True)
class FigureText:
    """One figure shown with a cross-image item: its label ("Figure 2"), caption and image marker."""

    figure_id: str
    label: str
    caption: str
    marker: str | None = None  # "Image 2" when the figure is shown with the item
    is_answer: bool = False  # the figure the gold answer points at

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure_id": self.figure_id,
            "label": self.label,
            "caption": self.caption,
            "marker": self.marker,
            "is_answer": self.is_answer,
        }


@dataclass(frozen=True, slots=True)
class AnswerDescriptor:
    """Every way the gold answer may be named or described, for the detectors to look for.

    ``abbreviations`` are short forms *defined in the case* for the answer ("AIE"); they are matched
    case-sensitively, and so are ``short_names`` (standard ones, from ORDO). ``related_names`` are
    names of the answer's relatives in ORDO that give it away as well as its own names do.
    ``gene_symbols`` are matched case-sensitively too ("SDHD", never "sdhd" inside a
    word); everything else is matched on normalised words. Only genes the case itself names belong
    here: a gene the case never mentions cannot leak.
    """

    label: str
    synonyms: tuple[str, ...] = ()
    definition: str | None = None
    abbreviations: tuple[str, ...] = ()
    xref_names: tuple[str, ...] = ()
    gene_symbols: tuple[str, ...] = ()
    gene_names: tuple[str, ...] = ()
    figures: tuple[FigureText, ...] = ()
    code: str | None = None  # "ORPHA:94080", or a vocabulary id for treatments / examinations
    # diagnosis: names of the answer's narrowing ancestors and of its subtypes ("Prader-Willi syndrome"
    # for a deletion subtype of it), matched on normalised words like synonyms
    related_names: tuple[str, ...] = ()
    # diagnosis: standard short names matched case-sensitively: ORDO acronyms of the answer and its
    # relatives, initials of their names ("CJD"), bare eponyms ("Castleman")
    short_names: tuple[str, ...] = ()
    # to_json() of this (immutable) descriptor, made on first use: the sha256 keys the basis, the
    # stored row and the matcher cache, several times per item
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError("an answer descriptor needs a non-empty label")

    @classmethod
    def for_item(cls, item: QAItem, **extra: Any) -> AnswerDescriptor:
        """The minimal descriptor an item carries itself (answer + aliases + ORPHA code), plus ``extra``."""
        values: dict[str, Any] = {
            "label": item.answer,
            "synonyms": tuple(item.aliases),
            "code": item.orpha_code,
        }
        values.update(extra)
        return cls(**values)

    def names(self) -> tuple[str, ...]:
        """Label, synonyms and xref names, de-duplicated case-insensitively, label first."""
        seen: dict[str, str] = {}
        for name in (self.label, *self.synonyms, *self.xref_names):
            key = " ".join(name.casefold().split())
            if key:
                seen.setdefault(key, name)
        return tuple(seen.values())

    def semantic_texts(self, track: str) -> list[tuple[str, str]]:
        """(kind, text) pairs the semantic detector compares sentences with.

        Label, synonyms and definition; for cross-image items also the captions of the answer's figures,
        since the answer there ("Image 2") means nothing to a text encoder.
        """
        out = [("label", self.label)]
        out += [("synonym", s) for s in self.synonyms if s.strip()]
        if self.definition and self.definition.strip():
            out.append(("definition", self.definition))
        if track == "cross_image":
            out += [(f"caption:{f.figure_id}", f.caption) for f in self.figures if f.is_answer and f.caption]
        seen: set[str] = set()
        unique = []
        for kind, text in out:
            if text not in seen:
                seen.add(text)
                unique.append((kind, text))
        return unique

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "synonyms": list(self.synonyms),
            "definition": self.definition,
            "abbreviations": list(self.abbreviations),
            "xref_names": list(self.xref_names),
            "gene_symbols": list(self.gene_symbols),
            "gene_names": list(self.gene_names),
            "figures": [f.as_dict() for f in self.figures],
            "code": self.code,
            **({"related_names": list(self.related_names)} if self.related_names else {}),
            **({"short_names": list(self.short_names)} if self.short_names else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerDescriptor:
        """Inverse of :meth:`as_dict` (a stored ``leakage_descriptors.descriptor``)."""
        return cls(
            label=data["label"],
            synonyms=tuple(data.get("synonyms", ())),
            definition=data.get("definition"),
            abbreviations=tuple(data.get("abbreviations", ())),
            xref_names=tuple(data.get("xref_names", ())),
            gene_symbols=tuple(data.get("gene_symbols", ())),
            gene_names=tuple(data.get("gene_names", ())),
            figures=tuple(FigureText(**f) for f in data.get("figures", ())),
            code=data.get("code"),
            related_names=tuple(data.get("related_names", ())),
            short_names=tuple(data.get("short_names", ())),
        )

    def to_json(self) -> str:
        if self._json is None:
            object.__setattr__(self, "_json", JSON_SORTED.encode(self.as_dict()))
        return self._json  # type: ignore[return-value]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def row(self, item_id: str, ordo_version: str) -> dict[str, Any]:
        """The ``leakage_descriptors`` row: the descriptor an item was checked against."""
        return {
            "item_id": item_id,
            "descriptor_sha256": self.sha256,
            "code": self.code,
            "label": self.label,
            "descriptor": self.to_json(),
            "ordo_version": ordo_version,
        }


@dataclass(frozen=True, slots=True)
class LeakageInput:
    """One item to check: the drafted item, its answer descriptor and the raw texts of its sentences.

    ``sentence_texts`` maps the item's ``context_sentence_ids`` to the sentences' text as parsed; the
    rendered context differs from them (citations removed, figure references rewritten), and they let
    the detector find each sentence in it exactly. Without them the context is split by punctuation.
    """

    item: QAItem
    descriptor: AnswerDescriptor
    sentence_texts: Mapping[str, str] = field(default_factory=dict)
    _basis: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def basis(self) -> str:
        """sha256 of everything the scores depend on (context, options, descriptor), 16 hex digits.

        Item ids survive a re-draft whose content changed; keying scores on this too means stale
        offsets are never applied to a new context. Computed once (the stage asks for it per score
        lookup, detection, decision and work key).
        """
        if self._basis is None:
            object.__setattr__(self, "_basis", input_basis(self.item, self.descriptor))
        return self._basis  # type: ignore[return-value]


def input_basis(item: QAItem, descriptor: AnswerDescriptor) -> str:
    """See :attr:`LeakageInput.basis`."""
    key = JSON_TEXT.encode(
        [
            item.item_id,
            item.track,
            item.context,
            list(item.context_sentence_ids),
            list(item.options),
            item.answer_index,
            descriptor.sha256,
        ]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
