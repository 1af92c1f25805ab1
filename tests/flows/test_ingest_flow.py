"""``mmrare ingest`` as a Prefect flow against a real HTTP server on 127.0.0.1 serving real packages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pmc_server import PMC_DIR, FakePmcServer

from mmrare.config import load_config

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[FakePmcServer]:
    fake = FakePmcServer.from_shared(PMC_DIR).start()
    fake.search_ids = ["6358579", "7500000"]  # what the "search" finds
    try:
        yield fake
    finally:
        fake.stop()


SHARED = Path(__file__).resolve().parents[3] / "shared"


def _config(tmp_path: Path, server: FakePmcServer) -> Path:
    path = tmp_path / "mmrare.toml"
    path.write_text(
        f'workspace = "{tmp_path / "ws"}"\n[sources]\nlocal_dirs = []\n'
        f'cloud_base_url = "{server.base_url}"\nentrez_base_url = "{server.eutils_url}"\n'
        'entrez_api_key = "test-key"\n'  # 10 req/s instead of 3: the limiter still paces every request
        f'[ontology]\nordo_path = "{SHARED / "ordo" / "ORDO_en_4.2.owl.gz"}"\n'
    )
    return path


def test_ingest_retries_records_manifest_and_resumes(
    prefect_harness, server: FakePmcServer, tmp_path: Path
) -> None:
    from mmrare.flows.build import run_build_flow
    from mmrare.flows.ingest import ingest_flow

    config = _config(tmp_path, server)
    ids = tmp_path / "ids.txt"
    ids.write_text("# wanted\nPMC1\n")  # not in the bucket: a reject, the rest goes on
    server.add_fault(server.file_path("PMC6358579", "PMC6358579.1.xml"), "500")
    server.add_fault(server.file_path("PMC7500000", "PMC7500000.1.xml"), "truncate")

    first = ingest_flow(config_file=str(config), query="rare", pmcids_file=str(ids), show_progress=False)
    assert first["by_status"] == {"fetched": 2, "failed": 1}
    db = load_config(config).warehouse_path
    con = duckdb.connect(str(db), read_only=True)
    manifest = con.execute("SELECT pmcid, status, attempts FROM ingest_manifest ORDER BY pmcid").fetchall()
    assert [(p, s) for p, s, _ in manifest] == [
        ("PMC1", "failed"),
        ("PMC6358579", "fetched"),
        ("PMC7500000", "fetched"),
    ]
    fetched_attempts = {p: a for p, _, a in manifest}
    assert fetched_attempts["PMC6358579"] >= 7  # listing + metadata + xml retried + 4 figures
    rejects = con.execute("SELECT record_id, stage, reason FROM rejects").fetchall()
    assert rejects == [("PMC1", "ingest", "not_found")]
    con.close()

    server.reset_counts()
    second = ingest_flow(config_file=str(config), query="rare", show_progress=False)
    assert second["by_status"] == {"cached": 2}
    assert server.count_prefix("PMC6358579.") == 0 and server.count_prefix("PMC7500000.") == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM ingest_manifest").fetchone()[0] == 3
    con.close()

    built = run_build_flow(str(config), workers=2, show_progress=False)
    assert built["cases"] == 2
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM graphics WHERE status = 'ok'").fetchone()[0] == 6
    con.close()
