"""Label Studio annotations back into mmrare as reviews.

Every annotation (and every ``mmrare-review:<annotator>`` prediction, a review that travelled as one)
becomes a verdict (accept / edit / reject with a reason code) submitted through
:func:`~mmrare.annotations.review.submit.submit_review`, so the web app's checks apply: the annotator
must exist here, reviews an item once, and an item takes no more than its required reviews.

Importing the same export twice adds nothing: a review mmrare already holds for that item and
annotator counts as "already in mmrare", which is also what the reviews a push sent out become when
they come back. Everything else not imported is reported with its reason; an unknown Label Studio
user is one line saying who and how to map them, however many annotations they wrote.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmrare.annotations.review.errors import InvalidInput, ReviewError
from mmrare.annotations.review.itemview import REVIEW_VERSION
from mmrare.annotations.review.labelstudio.config import LETTERS, REVIEW_MODEL, result_values
from mmrare.annotations.review.labelstudio.users import AnnotatorResolver, LSUser
from mmrare.annotations.review.records import VERDICTS, EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.warehouse.queries import review as queries


@dataclass(slots=True)
class ImportReport:
    """What an import did: reviews stored, reviews mmrare already had, and every other skip."""

    imported: int = 0
    already: int = 0  # reviews mmrare already holds for that item and annotator
    skipped: list[str] = field(default_factory=list)  # "item annotator: reason", one line each
    unknown: dict[str, int] = field(default_factory=dict)  # how-to-map line -> annotations skipped

    @property
    def n_skipped(self) -> int:
        return self.already + len(self.skipped) + sum(self.unknown.values())

    def lines(self) -> list[str]:
        """The skip lines to show: one per unknown user, one per other skip."""
        unknown = [f"{line} ({n} annotation{'s' if n != 1 else ''})" for line, n in self.unknown.items()]
        return unknown + self.skipped

    def summary(self) -> str:
        """One line: ``imported 6 reviews, skipped 6 (6 already in mmrare)``."""
        reasons = Counter[str]()
        if self.already:
            reasons["already in mmrare"] = self.already
        if self.unknown:
            reasons["unknown annotator"] = sum(self.unknown.values())
        for line in self.skipped:
            reasons[line.split(": ", 1)[-1].split(" (")[0].split(";")[0]] += 1
        why = ", ".join(f"{n} {r}" for r, n in reasons.most_common())
        return f"imported {self.imported} reviews, skipped {self.n_skipped}" + (f" ({why})" if why else "")


def _when(text: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _edit(values: dict[str, list[str]], data: dict[str, Any]) -> EditInput:
    question = "\n".join(values.get("edit_question", [])).strip() or str(data["question"])
    lines = "\n".join(values.get("edit_options", [])).splitlines()
    options = tuple(line.strip() for line in lines if line.strip()) or tuple(data["options"])
    options = tuple(o[3:] if len(o) > 3 and o[0] in LETTERS and o[1:3] == ". " else o for o in options)
    answer = "\n".join(values.get("edit_answer", [])).strip() or str(data["answer"])
    if len(answer) == 1 and answer.upper() in LETTERS[: len(options)]:
        index = LETTERS.index(answer.upper())
    else:
        matches = [k for k, o in enumerate(options) if o.casefold() == answer.casefold()]
        if not matches:
            raise InvalidInput(f"edit_answer {answer!r} is not one of the edited options")
        index = matches[0]
    return EditInput(
        question=question,
        options=options,
        answer_index=index,
        aliases=tuple(data.get("aliases", ())),
        evidence_sentence_ids=tuple(data.get("evidence_sentence_ids", ())),
        evidence_figure_ids=tuple(data.get("evidence_figure_ids", ())),
        note="edited in Label Studio",
    )


def _authored(task: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """(annotation, annotator named by mmrare or None) for each annotation and travelled review."""
    out: list[tuple[dict[str, Any], str | None]] = [
        (a, None) for a in task.get("annotations") or task.get("completions") or []
    ]
    for p in task.get("predictions") or []:
        version = str(p.get("model_version") or "") if isinstance(p, dict) else ""
        if version.startswith(REVIEW_MODEL):
            out.append((p, version[len(REVIEW_MODEL) :]))
    return out


def import_tasks(
    store: ReviewStore, tasks: list[dict[str, Any]], resolver: AnnotatorResolver
) -> ImportReport:
    """Submit every annotation of ``tasks`` (Label Studio's JSON task list) as a review."""
    with store.read() as cur:
        done = queries.reviewed_pairs(cur)
    report = ImportReport()
    for task in tasks:
        data = task.get("data") or {}
        item_id = str(data.get("item_id", ""))
        for ann, named in _authored(task):
            user = resolver.user(ann.get("completed_by")) if named is None else LSUser(None, "", named)
            who = resolver.annotator(user) if named is None else (named if named in resolver.known else None)
            label = f"{item_id or '?'} {who or user.label}"
            if not item_id:
                report.skipped.append(f"{label}: task has no data.item_id (not exported by mmrare)")
            elif who is None and named is not None:
                report.skipped.append(f"{label}: review by {named!r}, who is no active annotator here")
            elif who is None:
                how = resolver.how_to_map(user)
                report.unknown[how] = report.unknown.get(how, 0) + 1
            elif (item_id, who) in done:
                report.already += 1
            elif ann.get("was_cancelled"):
                report.skipped.append(f"{label}: annotation was cancelled (skipped) in Label Studio")
            else:
                try:
                    _submit(store, item_id, who, ann, data)
                except ReviewError as exc:
                    report.skipped.append(f"{label}: {exc}")
                    continue
                done.add((item_id, who))
                report.imported += 1
    return report


def _submit(store: ReviewStore, item_id: str, who: str, ann: dict[str, Any], data: dict[str, Any]) -> None:
    values = result_values(ann.get("result") or [])
    verdict = (values.get("verdict") or [""])[0]
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    reason = (values.get("reject_reason") or [None])[0] if verdict == "reject" else None
    submit_review(
        store,
        item_id=item_id,
        annotator=who,
        verdict=verdict,
        shown_version=int(data.get("item_version", REVIEW_VERSION)),
        edit=_edit(values, data) if verdict == "edit" else None,
        reject_reason=reason,
        comment="\n".join(values.get("comment", [])),
        now=_when(ann.get("created_at")),
    )


def read_tasks(path: Path) -> list[dict[str, Any]]:
    """The task list of a Label Studio JSON export (project export or snapshot)."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: not a Label Studio JSON export ({exc})") from exc
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise InvalidInput(f"{path}: expected a JSON list of tasks")
    return tasks


def import_annotations(
    store: ReviewStore,
    path: Path,
    annotator_map: dict[str, str] | None = None,
    users: list[LSUser] | None = None,
) -> ImportReport:
    """Import a Label Studio JSON export file (see the module docstring); ``users`` resolves bare ids."""
    tasks = read_tasks(path)
    with store.read() as cur:
        known = queries.active_annotator_names(cur)
    return import_tasks(store, tasks, AnnotatorResolver(known, annotator_map, users or ()))
