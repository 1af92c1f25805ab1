"""Read-side helpers for leakage audits (``mmrare audit item``, ``mmrare leakage apply --dry-run``).

Everything comes from stored rows: the item, the descriptor it was checked against, the scores and
the decisions of the latest leakage run. Nothing is embedded and ORDO is not read, so an audit shows
exactly what was decided, with the versions that decided it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from mmrare.flows.leakage_inputs import SCORE_ORDER, case_sentences, load_items
from mmrare.items import QAItem
from mmrare.leakage import AnswerDescriptor, LeakageDecision, LeakageInput, LeakageScore


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


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
    items = load_items(con, [item_id])
    if not items:
        return None
    contexts = _dicts(
        con.execute(
            "SELECT * FROM leakage_contexts WHERE item_id = ? ORDER BY created_at DESC LIMIT 1", [item_id]
        )
    )
    context = contexts[0] if contexts else None
    audit = ItemAudit(item=items[0], context=context, descriptor=None)
    if context is None:
        return audit
    basis = context["basis"]
    desc = con.execute(
        "SELECT descriptor FROM leakage_descriptors WHERE item_id = ? ORDER BY descriptor_sha256", [item_id]
    ).fetchall()
    audit.descriptor = json.loads(desc[-1][0]) if desc else None
    audit.scores = [
        LeakageScore.from_row(r)
        for r in _dicts(
            con.execute(
                "SELECT * FROM leakage_scores WHERE item_id = ? AND basis = ?" + SCORE_ORDER, [item_id, basis]
            )
        )
    ]
    audit.decisions = [
        LeakageDecision.from_row(r)
        for r in _dicts(
            con.execute(
                "SELECT * FROM leakage_decisions WHERE item_id = ? AND basis = ? AND policy_sha256 = ?"
                " AND config_hash = ? ORDER BY coalesce(start, -1), detector",
                [item_id, basis, context["policy_sha256"], context["config_hash"]],
            )
        )
    ]
    audit.flags = _dicts(
        con.execute(
            "SELECT flag, other_item_id, ref, score, threshold, flagged FROM dataset_flags"
            " WHERE item_id = ? AND flagged ORDER BY flag, other_item_id",
            [item_id],
        )
    )
    return audit


def stored_inputs(con: duckdb.DuckDBPyConnection, track: str | None = None) -> list[LeakageInput]:
    """Leakage inputs of every decided item, rebuilt from stored rows (descriptor included)."""
    rows = con.execute(
        "SELECT DISTINCT c.item_id FROM leakage_contexts c JOIN qa_items q USING (item_id)"
        " WHERE (CAST(? AS VARCHAR) IS NULL OR q.track = ?) ORDER BY 1",
        [track, track],
    ).fetchall()
    items = load_items(con, [r[0] for r in rows])
    descriptors = {
        item_id: AnswerDescriptor.from_dict(json.loads(text))
        for item_id, text in con.execute(
            "SELECT item_id, descriptor FROM leakage_descriptors WHERE list_contains(?, item_id)",
            [[i.item_id for i in items]],
        ).fetchall()
    }
    sentences = case_sentences(con, sorted({i.pmcid for i in items}))
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
    bases = sorted({e.basis for e in inputs})
    if not bases:
        return []
    return [
        LeakageScore.from_row(r)
        for r in _dicts(
            con.execute("SELECT * FROM leakage_scores WHERE list_contains(?, basis)" + SCORE_ORDER, [bases])
        )
    ]
