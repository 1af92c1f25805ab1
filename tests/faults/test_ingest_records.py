"""Recovery clears the record: a later success supersedes an article's earlier failure in
``ingest_manifest`` and in ``status`` (issue: a ``failed`` row stayed beside the later ``fetched``
row, and ``status`` still reported ``ingest retry_exhausted`` when everything was fetched)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from cli_run import run_mmrare
from pmc_server import FakePmcServer

from mmrare.config import load_config


def test_a_fetched_article_leaves_its_earlier_failure_to_history(
    tmp_path: Path, server: FakePmcServer, ingest_config: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("PMC7500000\n")
    server.add_fault(server.metadata_path("PMC7500000"), "500", times=-1)
    server.add_fault("/", "500", times=-1)  # the listing too: the version stays unknown
    failed = run_mmrare(ingest_config, "ingest", "--pmcids", str(ids), "--no-progress")
    assert failed.returncode == 1, failed.stderr[-2000:]
    server._faults.clear()
    fetched = run_mmrare(ingest_config, "ingest", "--pmcids", str(ids), "--no-progress")
    assert fetched.returncode == 0, fetched.stderr[-2000:]

    con = duckdb.connect(str(load_config(ingest_config).warehouse_path), read_only=True)
    try:
        manifest = con.execute("SELECT pmcid, version, status FROM ingest_manifest").fetchall()
        history = con.execute("SELECT count(*) FROM rejects WHERE stage = 'ingest'").fetchone()[0]
    finally:
        con.close()
    assert manifest == [("PMC7500000", 1, "fetched")]
    assert history >= 1  # the failure is still on record
    status = run_mmrare(ingest_config, "status")
    assert status.returncode == 0 and "rejects by stage and reason" not in status.stdout  # none left
