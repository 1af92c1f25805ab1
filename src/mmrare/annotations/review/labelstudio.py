"""Exchange with Label Studio: export review tasks as Label Studio JSON, import its annotations back.

Export writes a task list (``[{"data": {...}, "meta": {...}}]``) plus a matching labeling config
(:data:`LABEL_CONFIG`). Import reads a Label Studio JSON export, maps every annotation to a verdict
(accept / edit / reject with a reason code) and submits it through :func:`submit_review`, so the same
checks apply as in the web app: the annotator must exist here, may review an item once, and an item
takes no more than its required reviews. Re-importing the same file adds nothing (each annotation is
then "already reviewed"). Anything not imported is reported with its reason, never dropped silently.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmrare.annotations.review.errors import InvalidInput, ReviewError
from mmrare.annotations.review.itemview import REVIEW_VERSION, image_file, load_item_page
from mmrare.annotations.review.queue import outcomes
from mmrare.annotations.review.records import REJECT_REASONS, VERDICTS, EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.warehouse.queries import review as queries

LETTERS = "ABCDEFGHIJ"
IMAGE_MODES = ("url", "inline", "none")

LABEL_CONFIG = """<View>
  <Header value="$question"/>
  <Text name="context" value="$context"/>
  <Image name="images" valueList="$images"/>
  <Header value="Options (gold: $answer_letter)" size="5"/>
  <Text name="options" value="$options_text"/>
  <Text name="evidence" value="$evidence_text"/>
  <Choices name="verdict" toName="context" choice="single" showInline="true" required="true">
    <Choice value="accept"/>
    <Choice value="edit"/>
    <Choice value="reject"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="reject">
    <Choices name="reject_reason" toName="context" choice="single">
{reasons}
    </Choices>
  </View>
  <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="edit">
    <TextArea name="edit_question" toName="context" maxSubmissions="1" placeholder="edited question"/>
    <TextArea name="edit_options" toName="context" maxSubmissions="1" placeholder="options, one per line"/>
    <TextArea name="edit_answer" toName="context" maxSubmissions="1" placeholder="gold: letter or text"/>
  </View>
  <TextArea name="comment" toName="context" maxSubmissions="1" placeholder="comment"/>
</View>
""".replace(
    "{reasons}",
    "\n".join(f'      <Choice value="{code}" hint="{label}"/>' for code, label in REJECT_REASONS.items()),
)


def _image_value(store: ReviewStore, graphic_id: str, mode: str, base_url: str) -> str | None:
    if mode == "url":
        return f"{base_url.rstrip('/')}/images/{graphic_id}"
    found = image_file(store, graphic_id)
    if found is None:
        return None
    path = Path(found[0])
    mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def export_tasks(
    store: ReviewStore,
    out: Path,
    *,
    include_decided: bool = False,
    images: str = "url",
    base_url: str = "http://127.0.0.1:8765",
) -> int:
    """Write queued items (only those still pending, unless ``include_decided``) as Label Studio tasks.

    ``images``: ``url`` points at the review app's image route (log in there in the same browser),
    ``inline`` embeds data URIs (self-contained, large), ``none`` leaves them out.
    Also writes ``<out stem>.label_config.xml``. Returns the number of tasks.
    """
    if images not in IMAGE_MODES:
        raise InvalidInput(f"images: one of {', '.join(IMAGE_MODES)}")
    tasks = []
    for o in outcomes(store):
        if o.outcome != "pending" and not include_decided:
            continue
        page = load_item_page(store, o.item_id, REVIEW_VERSION)
        v = page.version
        urls = [_image_value(store, i.graphic_id, images, base_url) for i in page.images if images != "none"]
        tasks.append(
            {
                "data": {
                    "item_id": page.item.item_id,
                    "item_version": v.version,
                    "track": page.item.track,
                    "question_type": page.item.question_type,
                    "pmcid": page.item.pmcid,
                    "question": v.question,
                    "context": page.context,
                    "images": [u for u in urls if u],
                    "image_markers": [i.marker for i in page.images],
                    "options": list(v.options),
                    "options_text": "\n".join(f"{LETTERS[k]}. {o}" for k, o in enumerate(v.options)),
                    "answer": v.answer,
                    "answer_index": v.answer_index,
                    "answer_letter": LETTERS[v.answer_index],
                    "aliases": list(v.aliases),
                    "evidence_text": "\n".join(f"[{e.sentence_id}] {e.text}" for e in page.evidence),
                    "evidence_sentence_ids": list(v.evidence_sentence_ids),
                    "evidence_figure_ids": list(v.evidence_figure_ids),
                    "leakage": [f"{d.action} {d.detector}: {d.reason}" for d in page.decisions],
                },
                "meta": {"source": "mmrare", "outcome": o.outcome},
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out)
    out.with_name(out.stem + ".label_config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    return len(tasks)


@dataclass(slots=True)
class ImportReport:
    imported: int = 0
    skipped: list[str] = field(default_factory=list)  # "item annotator: reason", one line each


def _values(result: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``from_name -> values`` of one annotation's result list (choices or text)."""
    out: dict[str, list[str]] = {}
    for entry in result:
        value = entry.get("value") or {}
        found = value.get("choices") or value.get("text") or []
        if isinstance(found, str):
            found = [found]
        out.setdefault(str(entry.get("from_name", "")), []).extend(str(v) for v in found)
    return out


def _annotator(completed_by: Any, mapping: Mapping[str, str], known: set[str]) -> str | None:
    keys: list[str] = []
    if isinstance(completed_by, dict):
        email = str(completed_by.get("email") or "")
        keys += [
            email,
            email.split("@")[0],
            str(completed_by.get("id", "")),
            str(completed_by.get("username", "")),
        ]
    elif completed_by is not None:
        keys.append(str(completed_by))
    for key in [k for k in keys if k]:
        name = mapping.get(key, key)
        if name in known:
            return name
    return None


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


def import_annotations(
    store: ReviewStore, path: Path, annotator_map: Mapping[str, str] | None = None
) -> ImportReport:
    """Submit every Label Studio annotation in ``path`` as a review (see the module docstring).

    ``annotator_map`` maps a Label Studio user (email, id or username) to an annotator name; without
    an entry, an annotator whose name equals the email, its local part, the id or the username is used.
    """
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: not a Label Studio JSON export ({exc})") from exc
    if not isinstance(tasks, list):
        raise InvalidInput(f"{path}: expected a JSON list of tasks")
    with store.read() as cur:
        known = queries.active_annotator_names(cur)
    mapping = dict(annotator_map or {})
    report = ImportReport()
    for task in tasks:
        data = task.get("data") or {}
        item_id = str(data.get("item_id", ""))
        for ann in task.get("annotations") or task.get("completions") or []:
            who = _annotator(ann.get("completed_by"), mapping, known)
            label = f"{item_id or '?'} {who or ann.get('completed_by')}"
            if not item_id:
                report.skipped.append(f"{label}: task has no data.item_id (not exported by mmrare)")
                continue
            if who is None:
                report.skipped.append(f"{label}: unknown annotator; add them or pass an annotator map")
                continue
            if ann.get("was_cancelled"):
                report.skipped.append(f"{label}: annotation was cancelled (skipped) in Label Studio")
                continue
            values = _values(ann.get("result") or [])
            verdict = (values.get("verdict") or [""])[0]
            try:
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
            except ReviewError as exc:
                report.skipped.append(f"{label}: {exc}")
                continue
            report.imported += 1
    return report
