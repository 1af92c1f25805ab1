"""Audit trail: every mask and drop has a versioned row; rows reload idempotently and re-decide alike."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import duckdb
import pytest

from mmrare.config import ThresholdsConfig
from mmrare.embedding import EmbeddingCache
from mmrare.leakage import (
    DEFAULT_POLICY,
    Action,
    Detection,
    LeakageInput,
    LeakageScore,
    Provenance,
    apply_policy,
    dataset_checks,
    decide,
    explain_item,
    mask_free_text,
)

from .leakage_cases import AIE_DESCRIPTOR, AIE_SENTENCES

ORDO_VERSION = "4.2"
CONFIG_HASH = "0123456789abcdef"


@pytest.fixture
def provenance(session_cache: EmbeddingCache) -> Provenance:
    return Provenance.for_run(
        session_cache, DEFAULT_POLICY, ordo_version=ORDO_VERSION, config_hash=CONFIG_HASH, code_version="test"
    )


def migrated() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    sql = (resources.files("mmrare.warehouse") / "migrations" / "005_leakage.sql").read_text(encoding="utf-8")
    con.execute(sql)
    return con


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> int:
    """INSERT OR IGNORE every row; returns the table's row count afterwards."""
    for row in rows:
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
    result = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert result is not None
    return int(result[0])


def test_every_mask_and_drop_has_a_versioned_decision_row(
    detected: tuple[list[LeakageInput], Detection], provenance: Provenance, session_cache: EmbeddingCache
) -> None:
    inputs, detection = detected
    decided = decide(inputs, detection.scores, DEFAULT_POLICY, ThresholdsConfig())
    acting = [
        d for d in decided.decisions if d.action in (Action.MASK, Action.DROP_SENTENCE, Action.DROP_ITEM)
    ]
    assert {d.action for d in acting} >= {Action.MASK, Action.DROP_SENTENCE}
    for decision in acting:
        row = decision.row(provenance)
        assert row["model_sha256"] == session_cache.model_sha256 and row["model_id"] == session_cache.model_id
        assert row["ordo_version"] == ORDO_VERSION and row["config_hash"] == CONFIG_HASH
        assert row["policy_version"] == DEFAULT_POLICY.label and row["policy_sha256"] == DEFAULT_POLICY.sha256
        assert row["reason"] and row["rule"] and row["created_at"] is not None
        if decision.action is not Action.DROP_ITEM:
            assert row["sentence_id"] and row["start"] is not None and row["end"] is not None
    # each masked span and dropped sentence in a context is backed by a decision
    for record in decided.contexts:
        mine = [d for d in acting if d.item_id == record.item_id]
        assert set(record.dropped_sentence_ids) == {
            d.sentence_id for d in mine if d.action is Action.DROP_SENTENCE
        }
        if record.n_masked_spans:
            assert any(d.action is Action.MASK for d in mine)


def test_rows_load_idempotently_and_stored_scores_redecide_the_same(
    detected: tuple[list[LeakageInput], Detection], provenance: Provenance, session_cache: EmbeddingCache
) -> None:
    inputs, detection = detected
    decided = decide(inputs, detection.scores)
    report = dataset_checks([e.item for e in inputs], session_cache)
    con = migrated()
    tables = {
        "leakage_descriptors": [e.descriptor.row(e.item.item_id, ORDO_VERSION) for e in inputs],
        "leakage_scores": [s.row(provenance) for s in detection.scores],
        "leakage_decisions": [d.row(provenance) for d in decided.decisions],
        "leakage_contexts": [c.row(provenance) for c in decided.contexts],
        "dataset_flags": [f.row(provenance) for f in report.flags],
    }
    counts = {name: insert(con, name, rows) for name, rows in tables.items()}
    assert counts == {name: insert(con, name, rows) for name, rows in tables.items()}  # reload adds nothing
    assert counts["leakage_scores"] == len(detection.scores)
    assert counts["leakage_contexts"] == len(inputs)
    # every sentence's semantic score is stored, not only those above a threshold
    semantic = con.execute("SELECT count(*) FROM leakage_scores WHERE detector = 'semantic'").fetchone()
    assert semantic is not None and semantic[0] == detection.sentences
    cursor = con.execute("SELECT * FROM leakage_scores ORDER BY score_id")
    names = [c[0] for c in cursor.description]
    stored = [LeakageScore.from_row(dict(zip(names, r, strict=True))) for r in cursor.fetchall()]

    def key(decisions: list) -> list:
        return sorted(
            (d.item_id, d.detector, d.sentence_id, d.start, d.end, d.action.value) for d in decisions
        )

    assert key(apply_policy(stored)) == key(apply_policy(detection.scores))
    redecided = decide(inputs, stored)
    assert [c.masked_context for c in redecided.contexts] == [c.masked_context for c in decided.contexts]


def test_explanations_and_rejects(
    detected: tuple[list[LeakageInput], Detection], provenance: Provenance
) -> None:
    inputs, detection = detected
    decided = decide(inputs, detection.scores)
    aie = inputs[0].item
    lines = explain_item(aie, detection.scores, decided.decisions)
    assert lines[0].startswith("Item aie-dx (diagnosis, PMC6358579): kept")
    assert any(line.startswith("Masked 'AIE'") and "abbreviation the case defines" in line for line in lines)
    assert any(line.startswith("Dropped sentence") and "cosine similarity" in line for line in lines)
    assert any(line.startswith("Semantic scores stored for all 9 sentences") for line in lines)
    assert all(decided.context(e.item.item_id).reject(provenance) is None for e in inputs)
    dropped = decide(inputs[:1], [])  # never scored -> dropped, with a reject row
    reject = dropped.contexts[0].reject(provenance)
    assert (
        reject is not None and reject.stage == "leakage" and reject.versions["ordo_version"] == ORDO_VERSION
    )


def test_mask_free_text_returns_json(session_cache: EmbeddingCache) -> None:
    text = " ".join(AIE_SENTENCES.values())
    result = mask_free_text(text, AIE_DESCRIPTOR, "diagnosis", session_cache, ThresholdsConfig())
    data = json.loads(result.to_json())
    assert data["status"] == "kept" and data["model_sha256"] == session_cache.model_sha256
    assert "AIE" not in data["masked_text"] and "autoimmune enteropathy" not in data["masked_text"].lower()
    assert {m["text"] for m in data["masks"]} >= {"AIE", "autoimmune enteropathy"}
    assert data["dropped"] and data["dropped"][0]["detector"] == "semantic"
    assert len(data["sentences"]) == len(AIE_SENTENCES)
    assert all(s["semantic"] is not None for s in data["sentences"])
