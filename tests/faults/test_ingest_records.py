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


def test_a_killed_ingest_keeps_the_record_of_every_finished_package(
    tmp_path: Path, server: FakePmcServer, ingest_config: Path
) -> None:
    import os
    import signal
    import subprocess
    import time

    from cli_run import MMRARE

    ids = tmp_path / "ids.txt"
    ids.write_text("PMC7500000\nPMC6358579\n")
    slow = server.articles["PMC6358579.1"]
    server.add_fault(server.file_path("PMC6358579", slow.xml_name), "drip", times=-1, delay=0.5)
    one_at_a_time = ingest_config.read_text().replace("max_attempts = 2", "max_attempts = 2\nworkers = 1")
    ingest_config.write_text(one_at_a_time)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMRARE_")}
    env["MMRARE_CONFIG"] = str(ingest_config)
    proc = subprocess.Popen([MMRARE, "ingest", "--pmcids", str(ids), "--no-progress"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while server.count(server.file_path("PMC6358579", slow.xml_name)) == 0:  # the first one is done
        assert proc.poll() is None and time.monotonic() < deadline, "ingest ended or stalled early"
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    con = duckdb.connect(str(load_config(ingest_config).warehouse_path), read_only=True)
    try:
        manifest = con.execute("SELECT pmcid, status FROM ingest_manifest").fetchall()
    finally:
        con.close()
    assert manifest == [("PMC7500000", "fetched")]
