"""Item, evidence and reject rows load into the migrated warehouse, idempotently."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from mmrare.annotations.drafting import draft_case
from mmrare.items import CaseInput, DistractorPool
from mmrare.warehouse.db import migrate


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> int:
    cols = list(rows[0])
    names = ", ".join(f'"{c}"' for c in cols)  # "end" and friends are keywords
    sql = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' for _ in cols)})"
    con.executemany(sql, [[r[c] for c in cols] for r in rows])
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_rows_load_idempotently(samples: dict[str, CaseInput], sample_pool: DistractorPool) -> None:
    con = duckdb.connect()
    assert "004_qa.sql" in migrate(con)
    results = [draft_case(c, pool=sample_pool) for c in samples.values()]
    items = [i.row() for r in results for i in r.items]
    evidence = [e for r in results for i in r.items for e in i.evidence_rows()]
    rejects = [j.row() for r in results for j in r.rejects]
    counts = [
        _insert(con, "qa_items", items),
        _insert(con, "qa_evidence", evidence),
        _insert(con, "rejects", rejects),
    ]
    assert counts == [len(items), len(evidence), len(rejects)]
    again = [draft_case(c, pool=sample_pool) for c in samples.values()]
    recount = [
        _insert(con, "qa_items", [i.row() for r in again for i in r.items]),
        _insert(con, "qa_evidence", [e for r in again for i in r.items for e in i.evidence_rows()]),
        _insert(con, "rejects", [j.row() for r in again for j in r.rejects]),
    ]
    assert recount == counts
    # JSON columns are real JSON, and evidence joins back to the item's options
    first = con.execute(
        "SELECT json_extract_string(options, '$[' || answer_index || ']') = answer, json_array_length(images)"
        " FROM qa_items WHERE track = 'diagnosis' ORDER BY pmcid"
    ).fetchall()
    assert first == [(True, 4), (True, 2)]
    statuses = con.execute("SELECT DISTINCT status FROM qa_items").fetchall()
    assert statuses == [("draft",)]
    kinds = dict(con.execute("SELECT kind, count(*) FROM qa_evidence GROUP BY kind").fetchall())
    assert kinds["sentence"] > 0 and kinds["figure"] > 0
    stored = con.execute("SELECT context_sentence_ids FROM qa_items LIMIT 1").fetchone()
    assert stored and isinstance(json.loads(stored[0]), list)


def test_item_round_trips_through_its_warehouse_rows(
    samples: dict[str, CaseInput], sample_pool: DistractorPool
) -> None:
    from mmrare.items import QAItem

    items = [i for c in samples.values() for i in draft_case(c, pool=sample_pool).items]
    assert items
    for item in items:
        again = QAItem.from_row(item.row(), list(reversed(item.evidence_rows())))
        assert again == item
        assert again.content_sha256 == item.content_sha256
