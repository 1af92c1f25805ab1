"""What stops a run is one red line and exit 2, with a hint that matches the cause (issue: fatal
errors flooded the console with tracebacks and exit 1). Each test runs the real ``mmrare`` command."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import ORDO
from cli_run import run_mmrare as _mmrare
from pmc_server import FakePmcServer


def _one_error_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return errors[0]


def _workspace_config(tmp_path: Path, workspace: Path, sources: str = "local_dirs = []") -> Path:
    config = tmp_path / "mmrare.toml"
    config.write_text(
        f'workspace = "{workspace}"\n[sources]\n{sources}\n'
        f'[ontology]\nordo_path = "{ORDO}"\n'
    )
    return config


@pytest.fixture
def truncated_warehouse(tmp_path: Path) -> Path:
    """A warehouse file cut short, as a full disk or a bad copy leaves it."""
    import duckdb

    workspace = tmp_path / "ws"
    workspace.mkdir()
    whole = tmp_path / "whole.duckdb"
    con = duckdb.connect(str(whole))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
    con.close()
    (workspace / "warehouse.duckdb").write_bytes(whole.read_bytes()[:5000])
    return workspace


@pytest.mark.parametrize("command", [["status"], ["build", "--no-progress"]])
def test_a_damaged_warehouse_is_one_line_saying_so(
    tmp_path: Path, truncated_warehouse: Path, command: list[str]
) -> None:
    line = _one_error_line(_mmrare(_workspace_config(tmp_path, truncated_warehouse), *command))
    assert "damaged or not a DuckDB file" in line and "another mmrare process" not in line


def test_a_workspace_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the workspace should be")
    line = _one_error_line(_mmrare(_workspace_config(tmp_path, blocker / "ws"), "build", "--no-progress"))
    assert str(blocker) in line


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nothing can be written in: without write permission, or (as root, whom permissions do
    not stop) a read-only tmpfs mounted there."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=False)
    if mounted.returncode != 0:
        pytest.skip("running as root without the right to mount: no folder is read-only to root here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_read_only_workspace_is_one_line_saying_so(tmp_path: Path, read_only_folder: Path) -> None:
    config = _workspace_config(tmp_path, read_only_folder / "ws")
    line = _one_error_line(_mmrare(config, "build", "--no-progress"))
    assert str(read_only_folder) in line and "read-only" in line


def test_e_utilities_answering_an_html_page_is_one_line(server: FakePmcServer, ingest_config: Path) -> None:
    server.add_fault("/entrez/eutils/esearch.fcgi", "html", times=-1)
    result = _mmrare(ingest_config, "ingest", "--query", "rare", "--no-progress")
    line = _one_error_line(result)
    assert "not an ESearch result" in line


def test_e_utilities_that_hang_are_one_line_within_the_deadline(
    server: FakePmcServer, ingest_config: Path
) -> None:
    server.add_fault("/entrez/eutils/esearch.fcgi", "drip", times=-1, delay=0.5)  # never a read timeout
    text = ingest_config.read_text(encoding="utf-8")
    ingest_config.write_text(text.replace("max_attempts = 2\n", "max_attempts = 2\ndeadline_s = 2.0\n"))
    result = _mmrare(ingest_config, "ingest", "--query", "rare", "--no-progress", timeout=120)
    line = _one_error_line(result)
    assert "esearch" in line.lower() and "deadline" in line


def test_an_ingest_where_everything_failed_exits_non_zero(tmp_path: Path, ingest_config: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("PMC1\nPMC2\n")  # neither is in the bucket
    result = _mmrare(ingest_config, "ingest", "--pmcids", str(ids), "--no-progress")
    line = _one_error_line(result, code=1)
    assert "2 of 2 PMCIDs failed" in line
