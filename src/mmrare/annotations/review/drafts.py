"""The drafted item as stored in ``qa_items`` (read-only here: review never rewrites drafts)."""

from __future__ import annotations

import duckdb

from mmrare.annotations.review.errors import NotFound
from mmrare.items import QAItem


def load_item(cur: duckdb.DuckDBPyConnection, item_id: str) -> QAItem:
    """The drafted item with its evidence (the content of version 0), or :class:`NotFound`."""
    found = cur.execute("SELECT * FROM qa_items WHERE item_id = ?", [item_id])
    names = [d[0] for d in found.description]
    row = found.fetchone()
    if row is None:
        raise NotFound(f"no item {item_id!r} in the warehouse")
    evidence = cur.execute(
        "SELECT kind, ref_id, ordinal FROM qa_evidence WHERE item_id = ?", [item_id]
    ).fetchall()
    return QAItem.from_row(
        dict(zip(names, row, strict=True)), [{"kind": k, "ref_id": r, "ordinal": o} for k, r, o in evidence]
    )
