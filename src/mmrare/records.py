"""Typed records that flow between stages.

Stages never import their siblings; they share these plain, frozen records instead. Every record
maps one-to-one onto a warehouse table row (see ``warehouse/migrations``); ``row()`` gives that row.
Identifiers are derived from content and position only (never from run numbers), so re-parsing the
same file yields the same ids and re-loading it adds no rows.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class SectionRole(StrEnum):
    """Normalised role of a section, used by drafting to cut contexts at the right place."""

    TITLE = "title"
    ABSTRACT = "abstract"
    BACKGROUND = "background"
    CASE_PRESENTATION = "case_presentation"
    INVESTIGATIONS = "investigations"
    TREATMENT = "treatment"
    OUTCOME = "outcome"
    DISCUSSION = "discussion"
    CONCLUSION = "conclusion"
    OTHER = "other"


class _Row:
    """Mixin: the record as a warehouse row (lists and dicts become JSON text)."""

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in stored_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, (list, tuple, dict)):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            elif isinstance(value, StrEnum):
                value = value.value
            out[name] = value
        return out


@functools.cache
def stored_fields(cls: type) -> tuple[str, ...]:
    """A record class's stored field names (its columns), in order; ``dataclasses.fields`` rebuilds
    them on every call, and a build makes a row for every sentence."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("stored", True))


@dataclass(frozen=True, slots=True)
class Article(_Row):
    """Front matter of one JATS article."""

    pmcid: str  # "PMC6358579"; for articles without a PMCID, a stable "SRC-<sha256[:16]>" id
    version: int  # PMC article version (1 when unknown)
    pmid: str | None
    doi: str | None
    title: str
    journal: str | None
    year: int | None  # the year of pub_date
    # ISO 8601 to the precision the article gives ("2018", "2018-12", "2018-12-05"; mmrare.dates):
    # electronic publication first, then print, then collection, then any other <pub-date>
    pub_date: str | None
    pub_date_type: str | None  # which <pub-date> gave it: "epub", "ppub", "collection", ...
    history_dates: dict[str, str]  # <history> dates by kind ("received", "accepted", ...), same format
    article_type: str | None
    subjects: tuple[str, ...]
    keywords: tuple[str, ...]
    licence: str  # SPDX-like id ("CC-BY-4.0") or "unknown"
    licence_url: str | None
    licence_text: str | None
    source_path: str
    xml_sha256: str
    parser_version: str


@dataclass(frozen=True, slots=True)
class Section(_Row):
    """A titled section (or the abstract) with its normalised role; text is its paragraphs joined."""

    section_id: str  # "<pmcid>:sec<ordinal>"
    pmcid: str
    ordinal: int
    parent_id: str | None
    depth: int
    title: str
    sec_type: str | None
    role: SectionRole
    text: str


@dataclass(frozen=True, slots=True)
class Sentence(_Row):
    """One sentence; ``start``/``end`` are character offsets into its section's ``text``."""

    sentence_id: str  # "<section_id>:p<paragraph>:s<index>"
    pmcid: str
    section_id: str
    paragraph_index: int
    sentence_index: int
    ordinal: int  # position in the whole article, for cutting contexts
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class FigureMention(_Row):
    """A sentence citing a figure through ``<xref ref-type="fig">``."""

    sentence_id: str
    pmcid: str
    figure_id: str  # "<pmcid>:<fig xml id>"
    xref_text: str


@dataclass(frozen=True, slots=True)
class Figure(_Row):
    """A ``<fig>``; a figure without ``<caption>`` has empty caption fields, never a neighbour's."""

    figure_id: str  # "<pmcid>:<fig xml id>"
    pmcid: str
    ordinal: int
    xml_id: str
    label: str
    caption_title: str
    caption_text: str
    group_id: str | None  # the enclosing <fig-group> id, for panels


@dataclass(frozen=True, slots=True)
class Graphic(_Row):
    """One image file of a figure: the ``<graphic xlink:href>`` and what decoding it found."""

    graphic_id: str  # "<figure_id>:g<index>"
    figure_id: str
    pmcid: str
    href: str
    path: str | None  # resolved file on disk, None when absent
    sha256: str | None = None
    phash: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    status: str = "unchecked"  # "ok", or the reject reason
    # the decoder's own words for a reject, for the rejects table (not a column of graphics)
    problem: str = field(default="", compare=False, metadata={"stored": False})


@dataclass(frozen=True, slots=True)
class Table(_Row):
    """A ``<table-wrap>`` with caption and flattened cell text (rows joined by newlines, cells by tabs)."""

    table_id: str
    pmcid: str
    ordinal: int
    label: str
    caption: str
    text: str


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """Everything the parser extracts from one article."""

    article: Article
    sections: tuple[Section, ...]
    sentences: tuple[Sentence, ...]
    figures: tuple[Figure, ...]
    graphics: tuple[Graphic, ...]
    mentions: tuple[FigureMention, ...]
    tables: tuple[Table, ...]


@dataclass(frozen=True, slots=True)
class Reject(_Row):
    """A record that a stage did not keep, with why and which versions decided it."""

    record_id: str
    stage: str
    reason: str
    detail: str
    source: str
    versions: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def reject_id(self) -> str:
        """Same record, stage, reason and versions give the same id, so re-runs add no rows."""
        import hashlib

        key = json.dumps([self.record_id, self.stage, self.reason, self.versions], sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:24]

    def row(self) -> dict[str, Any]:
        out = _Row.row(self)
        out["reject_id"] = self.reject_id
        return out
