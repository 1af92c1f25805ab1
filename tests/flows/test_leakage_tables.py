"""Leakage rows made into Arrow tables wave by wave come out exactly as rows collected in batch order."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mmrare.flows.leakage import LEAKAGE_TABLES, _ItemRows, _OrderedTables
from mmrare.leakage import LeakageScore, Provenance
from mmrare.warehouse.db import connect
from mmrare.warehouse.shards import arrow_schemas, rows_table

PROV = Provenance("model", "0" * 64, "4.2", "cfg", "leakage-policy/1+abc", "f" * 64, "code")


def _entry(item_id: str) -> Any:
    return SimpleNamespace(item=SimpleNamespace(item_id=item_id))


def _rows(item_id: str, n_scores: int, dropped: bool) -> _ItemRows:
    def work(kind: str, n: int) -> dict[str, Any]:
        return {"work_key": f"{item_id}-{kind}-{n}", "stage": "leakage", "record_id": item_id,
                "versions": "{}", "outcome": kind, "run_id": "r1", "created_at": None}

    reject = {"reject_id": f"rej-{item_id}", "stage": "leakage", "reason": "leak", "record_id": item_id,
              "run_id": "r1"} if dropped else None
    return _ItemRows(
        scores=[
            LeakageScore(item_id, "lexical.label" if n % 2 else "semantic", f"{item_id}:s{n}" if n else None,
                         n or None, n + 4 if n else None, f"hit {n}", float(n), {"term": f"t{n}", "k": n},
                         "diagnosis", f"b-{item_id}")
            for n in range(n_scores)
        ],
        decisions=[{"decision_id": f"d-{item_id}", "item_id": item_id}],
        context={"item_id": item_id, "basis": f"b-{item_id}"},
        stage_work=work("kept", 0),
        reject=reject,
        masked_spans=n_scores,
    )


def test_waves_in_any_order_give_the_batch_order_rows(tmp_path: Path) -> None:
    schemas = arrow_schemas(connect(tmp_path / "w.duckdb"), LEAKAGE_TABLES)
    ids = [f"item-{n:02d}" for n in range(30)]
    made = {i: _rows(i, n_scores=n % 4, dropped=n % 7 == 0) for n, i in enumerate(ids)}
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)
    tables = _OrderedTables([_entry(i) for i in ids], schemas, PROV)
    for start in range(0, len(shuffled), 7):  # waves of items in the encoder's order, not the batch's
        tables.add({i: made[i] for i in shuffled[start : start + 7]})

    got = tables.tables()

    in_order = [made[i] for i in ids]
    expected = {
        "leakage_scores": [s.row(PROV) for m in in_order for s in m.scores],  # one row at a time
        "leakage_decisions": [r for m in in_order for r in m.decisions],
        "leakage_contexts": [m.context for m in in_order],
        "rejects": [m.reject for m in in_order if m.reject is not None],
        "stage_work": [m.stage_work for m in in_order],
    }
    assert set(got) == set(expected)
    for table, rows in expected.items():
        assert got[table].equals(rows_table(table, rows, schemas[table])), table
    assert tables.outcomes["item-07"] == (made["item-07"].reject, 3)


def test_a_table_without_rows_is_left_out(tmp_path: Path) -> None:
    schemas = arrow_schemas(connect(tmp_path / "w.duckdb"), LEAKAGE_TABLES)
    tables = _OrderedTables([_entry("a"), _entry("b")], schemas, PROV)
    tables.add({"b": _rows("b", 0, dropped=False), "a": _rows("a", 0, dropped=False)})
    got = tables.tables()
    assert "leakage_scores" not in got and "rejects" not in got
    assert got["leakage_contexts"].column("item_id").to_pylist() == ["a", "b"]
