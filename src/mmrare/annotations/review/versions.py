"""Item versions: version 0 is the draft as drafted; every edit adds version max+1 and keeps the rest.

``content_sha256`` hashes the normalised content (whitespace collapsed; aliases and evidence as sets),
so two annotators who independently make the same edit produce versions that "agree" (006_review.sql).
Functions take a cursor that is already inside the caller's write transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from mmrare.annotations.review.errors import InvalidInput, NotFound
from mmrare.annotations.review.records import EditInput, ItemVersion
from mmrare.items import MAX_OPTIONS, MIN_OPTIONS, QAItem
from mmrare.warehouse.queries import review as queries
from mmrare.warehouse.queries.review import Cursor

MAX_TEXT = 4000  # characters per field: a form is not a place for whole articles


def _clean(text: str) -> str:
    return " ".join(text.split())


def content_sha256(
    question: str,
    options: tuple[str, ...],
    answer_index: int,
    aliases: tuple[str, ...],
    evidence_sentence_ids: tuple[str, ...],
    evidence_figure_ids: tuple[str, ...],
) -> str:
    """Hash of what a version says; option order matters (it is what the model sees), sets do not."""
    key = json.dumps(
        [
            _clean(question),
            [_clean(o) for o in options],
            answer_index,
            sorted({_clean(a).casefold() for a in aliases}),
            sorted(set(evidence_sentence_ids)),
            sorted(set(evidence_figure_ids)),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def get_version(cur: Cursor, item_id: str, version: int) -> ItemVersion:
    """One version (version 0 falls back to the draft when it was never copied)."""
    row = queries.item_version(cur, item_id, version)
    if row is None:
        raise NotFound(f"item {item_id!r} has no version {version}")
    return ItemVersion.from_row(row)


def list_versions(cur: Cursor, item_id: str) -> list[ItemVersion]:
    return [ItemVersion.from_row(r) for r in queries.item_versions(cur, item_id)]


def ensure_version0(cur: Cursor, item_id: str, now: datetime) -> None:
    """Copy the draft into ``item_versions`` as version 0 (once), hashed like every other version."""
    if queries.has_stored_version0(cur, item_id):
        return
    draft = get_version(cur, item_id, 0)
    sha = content_sha256(
        draft.question,
        draft.options,
        draft.answer_index,
        draft.aliases,
        draft.evidence_sentence_ids,
        draft.evidence_figure_ids,
    )
    row = draft.row() | {"content_sha256": sha, "created_at": now, "editor": "drafter"}
    queries.insert_item_version(cur, row)


def validate_edit(cur: Cursor, item: QAItem, edit: EditInput) -> EditInput:
    """The edit with whitespace tidied, or :class:`InvalidInput` naming the field that is wrong.

    Evidence must point into the item's own article (sentences) and at images the model is shown
    (figures), so an edit can never cite something a reviewer of the release could not check.
    """
    question = _clean(edit.question)
    options = tuple(_clean(o) for o in edit.options)
    aliases = tuple(dict.fromkeys(a for a in (_clean(a) for a in edit.aliases) if a))
    if not question:
        raise InvalidInput("question: must not be empty")
    if any(len(t) > MAX_TEXT for t in (question, *options, *aliases, edit.note)):
        raise InvalidInput(f"a field is longer than {MAX_TEXT} characters")
    if any(not o for o in options):
        raise InvalidInput("options: an option is empty")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise InvalidInput(f"options: {len(options)} given; need {MIN_OPTIONS} to {MAX_OPTIONS}")
    if len({o.casefold() for o in options}) != len(options):
        raise InvalidInput("options: two options are the same")
    if not 0 <= edit.answer_index < len(options):
        raise InvalidInput("answer: choose which option is the gold answer")
    sentences = tuple(dict.fromkeys(edit.evidence_sentence_ids))
    figures = tuple(dict.fromkeys(edit.evidence_figure_ids))
    if not sentences and not figures:
        raise InvalidInput("evidence: keep at least one evidence sentence or image")
    if sentences:
        known = queries.case_sentence_ids(cur, item.pmcid, sentences) | set(item.context_sentence_ids)
        unknown = [s for s in sentences if s not in known]
        if unknown:
            raise InvalidInput(f"evidence: {', '.join(unknown)} is not a sentence of {item.pmcid}")
    shown = {i.figure_id for i in item.images}
    unknown_figs = [f for f in figures if f not in shown]
    if unknown_figs:
        raise InvalidInput(f"evidence: {', '.join(unknown_figs)} is not one of the item's images")
    return EditInput(question, options, edit.answer_index, aliases, sentences, figures, _clean(edit.note))


def add_version(
    cur: Cursor,
    item: QAItem,
    base: ItemVersion,
    edit: EditInput,
    editor: str,
    now: datetime,
) -> ItemVersion:
    """Validate ``edit`` and store it as the item's next version; refuses an edit that changes nothing."""
    clean = validate_edit(cur, item, edit)
    sha = content_sha256(
        clean.question,
        clean.options,
        clean.answer_index,
        clean.aliases,
        clean.evidence_sentence_ids,
        clean.evidence_figure_ids,
    )
    base_sha = content_sha256(
        base.question,
        base.options,
        base.answer_index,
        base.aliases,
        base.evidence_sentence_ids,
        base.evidence_figure_ids,
    )
    if sha == base_sha:
        raise InvalidInput("the edit changes nothing; accept the item instead")
    number = queries.last_version(cur, item.item_id) + 1
    version = ItemVersion(
        item_id=item.item_id,
        version=number,
        based_on=base.version,
        question=clean.question,
        options=clean.options,
        answer_index=clean.answer_index,
        answer=clean.answer,
        aliases=clean.aliases,
        evidence_sentence_ids=clean.evidence_sentence_ids,
        evidence_figure_ids=clean.evidence_figure_ids,
        editor=editor,
        note=clean.note,
        content_sha256=sha,
        created_at=now,
    )
    queries.insert_item_version(cur, version.row())
    return version
