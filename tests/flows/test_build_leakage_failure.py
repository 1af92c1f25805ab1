"""Leakage control's decisions are committed with the dataset checks' flags or not at all."""

from __future__ import annotations

import traceback
from pathlib import Path

import duckdb
import pytest

from mmrare.config import load_config

_LEAKAGE_TABLES = (
    "leakage_descriptors", "leakage_scores", "leakage_decisions", "leakage_contexts", "dataset_flags",
)


def _build(config: Path) -> dict:
    from mmrare.flows.build import run_build_flow

    return run_build_flow(str(config), workers=2, show_progress=False)


def _counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _LEAKAGE_TABLES}
        work = "SELECT count(*) FROM stage_work WHERE stage = 'leakage'"
        out["leakage_work"] = con.execute(work).fetchone()[0]
        out["qa_items"] = con.execute("SELECT count(*) FROM qa_items").fetchone()[0]
        return out
    finally:
        con.close()


@pytest.mark.slow
def test_failed_dataset_checks_store_no_decision_and_the_next_build_stores_both(
    prefect_harness, write_config, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmrare.stages import leakage

    config = write_config(tmp_path / "mmrare.toml", tmp_path / "ws", [shared_dir / "pmc"])
    db = load_config(config).warehouse_path
    checks = leakage._dataset_flags

    def dying(*args: object, **kwargs: object) -> None:
        raise RuntimeError("dataset checks died")

    monkeypatch.setattr(leakage, "_dataset_flags", dying)
    with pytest.raises(RuntimeError, match="dataset checks died") as failure:
        _build(config)
    traceback.clear_frames(failure.tb)  # Prefect keeps the error; its frames held the warehouse open
    after_failure = _counts(db)
    assert after_failure["qa_items"] > 0  # the stages before leakage kept what they stored
    # no decision without its flags
    assert {t: n for t, n in after_failure.items() if t != "qa_items"} == dict.fromkeys(
        [*_LEAKAGE_TABLES, "leakage_work"], 0
    )

    monkeypatch.setattr(leakage, "_dataset_flags", checks)
    again = _build(config)
    leak = again["stages"]["leakage"]
    assert leak["decided"] == leak["items"] == leak["scored"] == after_failure["qa_items"]
    stored = _counts(db)
    assert stored["leakage_contexts"] == stored["leakage_work"] == stored["qa_items"]
    assert stored["dataset_flags"] > 0 and stored["leakage_scores"] > 0
    assert again["rows_added"]["dataset_flags"] == stored["dataset_flags"]
    # one provenance for the run: decisions, contexts and flags name the same versions and time, and
    # the scores (which carry fewer version columns) and the stage's work records the same time
    con = duckdb.connect(str(db), read_only=True)
    try:
        versions = "model_sha256, ordo_version, config_hash, policy_sha256, code_version, created_at"
        tables = ("leakage_decisions", "leakage_contexts", "dataset_flags")
        union = " UNION ALL ".join(f"SELECT {versions} FROM {t}" for t in tables)
        distinct = con.execute(f"SELECT DISTINCT * FROM ({union})").fetchall()
        scores = con.execute("SELECT DISTINCT model_sha256, ordo_version, created_at FROM leakage_scores")
        score_versions = scores.fetchall()
        work = "SELECT DISTINCT created_at FROM stage_work WHERE stage = 'leakage'"
        work_times = con.execute(work).fetchall()
    finally:
        con.close()
    assert len(distinct) == 1
    model, ordo, *_, created = distinct[0]
    assert score_versions == [(model, ordo, created)]
    assert work_times == [(created,)]
