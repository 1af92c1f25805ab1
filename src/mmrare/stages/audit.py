"""What ``mmrare audit item`` and ``mmrare leakage apply --dry-run`` read: stored rows only.

The item, the descriptor it was checked against, and the scores and decisions of its latest leakage
run. Nothing is embedded and ORDO is not read, so an audit shows exactly what was decided, with the
versions that decided it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmrare.items import QAItem
from mmrare.leakage import AnswerDescriptor, LeakageDecision, LeakageInput, LeakageScore
from mmrare.warehouse.queries import leakage as queries

if TYPE_CHECKING:
    import duckdb


@dataclass(slots=True)
class ItemAudit:
    """One item's stored leakage record (latest decision run)."""

    item: QAItem
    context: dict[str, Any] | None
    descriptor: dict[str, Any] | None
    scores: list[LeakageScore] = field(default_factory=list)
    decisions: list[LeakageDecision] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)


def item_audit(con: duckdb.DuckDBPyConnection, item_id: str) -> ItemAudit | None:
    """The item, its latest leakage context and the scores/decisions behind it; None if no such item."""
    items = queries.load_items(con, [item_id])
    if not items:
        return None
    context = queries.latest_context(con, item_id)
    audit = ItemAudit(item=items[0], context=context, descriptor=None)
    if context is None:
        return audit
    descriptor = queries.latest_descriptor(con, item_id)
    audit.descriptor = json.loads(descriptor) if descriptor else None
    audit.scores = [LeakageScore.from_row(r) for r in queries.item_score_rows(con, item_id, context["basis"])]
    audit.decisions = [LeakageDecision.from_row(r) for r in queries.item_decision_rows(con, context)]
    audit.flags = queries.item_flags(con, item_id)
    return audit


def stored_inputs(con: duckdb.DuckDBPyConnection, track: str | None = None) -> list[LeakageInput]:
    """Leakage inputs of every decided item, rebuilt from stored rows (descriptor included)."""
    items = queries.load_items(con, queries.decided_item_ids(con, track))
    descriptors = {
        item_id: AnswerDescriptor.from_dict(json.loads(text))
        for item_id, text in queries.descriptors(con, [i.item_id for i in items]).items()
    }
    sentences = queries.case_sentences(con, sorted({i.pmcid for i in items}))
    return [
        LeakageInput(
            item=i,
            descriptor=descriptors[i.item_id],
            sentence_texts={
                s: sentences[i.pmcid][s] for s in i.context_sentence_ids if s in sentences[i.pmcid]
            },
        )
        for i in items
        if i.item_id in descriptors
    ]


def stored_scores_for(con: duckdb.DuckDBPyConnection, inputs: Sequence[LeakageInput]) -> list[LeakageScore]:
    """The stored scores of exactly these inputs (matching basis)."""
    return [LeakageScore.from_row(r) for r in queries.score_rows(con, sorted({e.basis for e in inputs}))]
