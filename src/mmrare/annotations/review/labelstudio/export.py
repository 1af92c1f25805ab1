"""Review tasks as Label Studio JSON: the item to judge, the reviews it already has, the draft.

A task is ``{"data", "meta", "annotations", "predictions"}`` in the shape Label Studio imports:

* ``data``: what the labelling config (:data:`~.config.LABEL_CONFIG`) shows, plus the ids the
  importer needs back (``item_id``, ``item_version``).
* ``annotations``: every review mmrare already holds for the item whose annotator is a Label Studio
  member (``completed_by`` is ``{"email": ...}`` of a member, as Label Studio's import requires), so
  a task that has one of its two reviews needs only one more there, and nobody reviews it twice.
* ``predictions``: the drafted item (``model_version`` ``mmrare-draft:<drafter>``), which fills the
  edit boxes with the draft so an edit starts from it, and each review whose annotator is no member
  (``mmrare-review:<annotator>``), so it still travels and comes back to the same annotator.

Only pending items are exported unless decided ones are asked for; an export that selects nothing
says why (:meth:`TaskBatch.why_empty`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrare.annotations.review.itemview import REVIEW_VERSION, ItemPage, image_file, load_item_page
from mmrare.annotations.review.labelstudio.config import (
    DRAFT_MODEL,
    LABEL_CONFIG,
    LETTERS,
    REVIEW_MODEL,
    edit_result,
    options_text,
    review_result,
)
from mmrare.annotations.review.labelstudio.images import ImageOptions, image_value
from mmrare.annotations.review.labelstudio.users import AnnotatorResolver
from mmrare.annotations.review.queue import outcomes
from mmrare.annotations.review.records import Review
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.versions import get_version
from mmrare.warehouse.queries import review as queries


@dataclass(slots=True)
class TaskBatch:
    """Exported tasks, and what the queue held, to explain an empty selection."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    queued: Counter[str] = field(default_factory=Counter)  # outcome -> items in the queue
    images: str = "none"  # the image mode used
    annotations: int = 0
    predictions: int = 0
    left_out: int = 0  # decided items not selected (``include_decided`` selects them)

    def why_empty(self) -> str:
        """One line saying why nothing was selected ("" when something was)."""
        if self.tasks:
            return ""
        total = sum(self.queued.values())
        if total == 0:
            return (
                "0 tasks: the review queue is empty; `mmrare review serve` or `push-labelstudio` queues items"
            )
        held = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in sorted(self.queued.items()))
        return (
            f"0 tasks: none of the {total} queued items is pending ({held});"
            " pass --include-decided to export them with their reviews"
        )


def _reviews(store: ReviewStore, item_id: str) -> list[tuple[Review, Any]]:
    with store.read() as cur:
        reviews = [Review.from_row(r) for r in queries.reviews(cur, item_id)]
        return [
            (
                r,
                get_version(cur, item_id, r.result_version)
                if r.verdict == "edit" and r.result_version
                else None,
            )
            for r in reviews
        ]


def _data(page: ItemPage, images: list[str]) -> dict[str, Any]:
    v = page.version
    return {
        "item_id": page.item.item_id,
        "item_version": v.version,
        "track": page.item.track,
        "question_type": page.item.question_type,
        "pmcid": page.item.pmcid,
        "question": v.question,
        "context": page.context,
        "images": images,
        "image_markers": [i.marker for i in page.images],
        "options": list(v.options),
        "options_text": options_text(v.options),
        "answer": v.answer,
        "answer_index": v.answer_index,
        "answer_letter": LETTERS[v.answer_index],
        "aliases": list(v.aliases),
        "evidence_text": "\n".join(f"[{e.sentence_id}] {e.text}" for e in page.evidence),
        "evidence_sentence_ids": list(v.evidence_sentence_ids),
        "evidence_figure_ids": list(v.evidence_figure_ids),
        "leakage": [f"{d.action} {d.detector}: {d.reason}" for d in page.decisions],
    }


def _image_paths(store: ReviewStore, page: ItemPage) -> list[tuple[str, Path | None]]:
    """(graphic id, decoded file or None) of the item's images, in the order the model sees them."""
    found = [(i.graphic_id, image_file(store, i.graphic_id)) for i in page.images]
    return [(graphic, Path(f[0]) if f else None) for graphic, f in found]


def task_for(
    store: ReviewStore,
    page: ItemPage,
    outcome: str,
    images: ImageOptions,
    resolver: AnnotatorResolver,
    paths: list[tuple[str, Path | None]] | None = None,
) -> dict[str, Any]:
    """One item as a Label Studio task with its reviews and its draft (see the module docstring)."""
    urls = []
    for graphic, path in _image_paths(store, page) if paths is None else paths:
        url = image_value(images, graphic, path)
        if url:
            urls.append(url)
    annotations, predictions = (
        [],
        [{"model_version": f"{DRAFT_MODEL}:{page.item.drafter}", "result": edit_result(page.version)}],
    )
    for review, result in _reviews(store, page.item.item_id):
        entries = review_result(review, result)
        member = resolver.member(review.annotator)
        if member is None:
            predictions.append(
                {
                    "model_version": f"{REVIEW_MODEL}{review.annotator}",
                    "result": entries,
                    "created_at": review.created_at.isoformat(),
                }
            )
            continue
        annotations.append(
            {
                "result": entries,
                "completed_by": {"email": member.email},
                "created_at": review.created_at.isoformat(),
                "was_cancelled": False,
                "ground_truth": False,
            }
        )
    return {
        "data": _data(page, urls),
        "meta": {"source": "mmrare", "outcome": outcome},
        "annotations": annotations,
        "predictions": predictions,
    }


def build_tasks(
    store: ReviewStore,
    *,
    include_decided: bool = False,
    images: ImageOptions | None = None,
    resolver: AnnotatorResolver | None = None,
    skip: set[str] | None = None,
) -> TaskBatch:
    """The queued items (only pending ones unless ``include_decided``; none in ``skip``) as tasks."""
    if resolver is None:
        with store.read() as cur:
            resolver = AnnotatorResolver(queries.active_annotator_names(cur))
    batch = TaskBatch()
    chosen = []
    for o in outcomes(store):
        batch.queued[o.outcome] += 1
        if o.item_id in (skip or set()):
            continue
        if o.outcome == "pending" or include_decided:
            page = load_item_page(store, o.item_id, REVIEW_VERSION)
            chosen.append((o, page, _image_paths(store, page)))
        else:
            batch.left_out += 1
    options = (images or ImageOptions()).resolve([p for *_, paths in chosen for _g, p in paths if p])
    batch.images = options.mode
    for o, page, paths in chosen:
        task = task_for(store, page, o.outcome, options, resolver, paths)
        batch.annotations += len(task["annotations"])
        batch.predictions += len(task["predictions"])
        batch.tasks.append(task)
    return batch


def export_tasks(
    store: ReviewStore,
    out: Path,
    *,
    include_decided: bool = False,
    images: ImageOptions | None = None,
    resolver: AnnotatorResolver | None = None,
) -> TaskBatch:
    """Write the tasks to ``out`` and the labelling config to ``<out stem>.label_config.xml``."""
    batch = build_tasks(store, include_decided=include_decided, images=images, resolver=resolver)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(batch.tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out)
    out.with_name(out.stem + ".label_config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    return batch
