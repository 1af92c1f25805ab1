"""Typed records of a release build: items as released, their images and ORDO neighbours, exclusions.

Warehouse rows become these records at the edge (``reads``), and every file writer takes them, so no
writer depends on SQL column order and the item row has exactly one definition (:meth:`ReleaseItem.row`).
An item's own fields live in :class:`~mmrare.items.QAItem`; a release item wraps one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from mmrare.items import QAItem
from mmrare.warehouse.release.schema import COLUMN_NAMES, LETTERS


@dataclass(frozen=True, slots=True)
class ReleaseImage:
    """One image of an item, as shipped: ``images/<sha256>.<ext>`` plus where it came from."""

    position: int
    marker: str
    file: str
    sha256: str
    original_name: str
    figure_id: str

    def row(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "marker": self.marker,
            "file": self.file,
            "sha256": self.sha256,
            "original_name": self.original_name,
            "figure_id": self.figure_id,
        }


@dataclass(frozen=True, slots=True)
class RelatedConcept:
    """An ORDO parent or child of the gold diagnosis (partial credit in scoring)."""

    code: str
    label: str
    aliases: tuple[str, ...]
    relation: str  # "parent" | "child"
    n_descendants: int

    def row(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "aliases": list(self.aliases),
            "relation": self.relation,
            "n_descendants": self.n_descendants,
        }


@dataclass(frozen=True, slots=True)
class ReleaseItem:
    """An accepted item as released: the reviewed :class:`QAItem` plus what only a release adds
    (columns of docs/release-format.md). ``images`` are the item's images as shipped files, in the
    order of ``item.images``."""

    item: QAItem
    item_version: int
    images: tuple[ReleaseImage, ...]
    licence: str
    split: str = ""
    published: str | None = None  # the article's publication date (mmrare.dates), None when unknown
    related_concepts: tuple[RelatedConcept, ...] = ()
    leakage_flags: tuple[str, ...] = ()

    @property
    def answer_letter(self) -> str:
        return LETTERS[self.item.answer_index]

    @property
    def leakage_clean(self) -> bool:
        return not self.leakage_flags

    @property
    def evidence_image_positions(self) -> tuple[int, ...]:
        """Positions of the shown images that belong to an evidence figure."""
        wanted = set(self.item.evidence_figure_ids)
        return tuple(im.position for im in self.images if im.figure_id in wanted)

    def with_split(self, split: str) -> ReleaseItem:
        return replace(self, split=split)

    def row(self) -> dict[str, Any]:
        """The Parquet / JSONL row, keys in schema order."""
        item = self.item
        out: dict[str, Any] = {
            "item_id": item.item_id,
            "item_version": self.item_version,
            "track": item.track,
            "question_type": item.question_type,
            "pmcid": item.pmcid,
            "published": self.published,
            "split": self.split,
            "question": item.question,
            "context": item.context,
            "images": [im.row() for im in self.images],
            "options": list(item.options),
            "answer_index": item.answer_index,
            "answer_letter": self.answer_letter,
            "answer": item.answer,
            "aliases": list(item.aliases),
            "orpha_code": item.orpha_code,
            "answer_category": item.answer_category,
            "related_concepts": [rc.row() for rc in self.related_concepts],
            "evidence_sentence_ids": list(item.evidence_sentence_ids),
            "evidence_figure_ids": list(item.evidence_figure_ids),
            "evidence_image_positions": list(self.evidence_image_positions),
            "leakage_clean": self.leakage_clean,
            "leakage_flags": list(self.leakage_flags),
            "licence": self.licence,
        }
        assert tuple(out) == COLUMN_NAMES, "ReleaseItem.row and schema.COLUMNS disagree"
        return out

    @property
    def row_sha256(self) -> str:
        """Hash of the released row: equal hashes mean the item did not change between releases."""
        text = json.dumps(self.row(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An article (``item_id`` empty) or one item left out of a release, and why (excluded.tsv)."""

    pmcid: str
    item_id: str
    reason: str  # licence_not_allowed | unknown_licence | licence_flagged | retracted | image_missing | ...
    detail: str

    def sort_key(self) -> tuple[str, str, str]:
        return (self.pmcid, self.item_id, self.reason)


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """What the licence ledger and the datasheet need about one source article."""

    pmcid: str
    version: int
    pmid: str | None
    doi: str | None
    title: str
    journal: str | None
    year: int | None
    licence: str
    licence_url: str | None
    licence_text: str | None
    licence_flagged: bool = False
    pub_date: str | None = None  # ISO 8601 to the precision the article gives (mmrare.dates)


@dataclass(frozen=True, slots=True)
class ImageSource:
    """A graphic of the warehouse that an item shows: where the file is and what it must hash to."""

    graphic_id: str
    figure_id: str
    pmcid: str
    path: str | None
    sha256: str | None
    format: str | None
    status: str
    figure_label: str = ""


@dataclass(frozen=True, slots=True)
class ReleaseProvenance:
    """The versions behind a whole release, summarised from the stored rows it ships and the running
    code (manifest.json); not :class:`mmrare.leakage.Provenance`, which stamps one leakage run's rows."""

    code_version: str
    config_hash: str
    ordo: dict[str, str] | None
    embedding_model: dict[str, str] | None
    leakage: dict[str, Any] = field(default_factory=dict)
