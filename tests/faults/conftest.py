"""Fault fixtures: a fake PMC bucket and E-utilities on 127.0.0.1 serving the real shared packages,
and a workspace config that points every source at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import ORDO
from pmc_server import PMC_DIR, FakePmcServer


@pytest.fixture
def server() -> Iterator[FakePmcServer]:
    fake = FakePmcServer.from_shared(PMC_DIR).start()
    fake.search_ids = ["7500000"]
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def ingest_config(tmp_path: Path, server: FakePmcServer) -> Path:
    config = tmp_path / "mmrare.toml"
    config.write_text(
        f'workspace = "{tmp_path / "ws"}"\n[sources]\nlocal_dirs = []\n'
        f'cloud_base_url = "{server.base_url}"\nentrez_base_url = "{server.eutils_url}"\n'
        'entrez_api_key = "test-key"\nmax_attempts = 2\n'
        f'[ontology]\nordo_path = "{ORDO}"\n'
    )
    return config
