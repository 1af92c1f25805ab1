"""``mmrare review`` commands on a copy of the real test warehouse placed in a temporary workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mmrare.cli import app

REPO = Path(__file__).resolve().parents[3]
CONFIG = str(REPO / "mmrare.toml")
runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, template_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(template_warehouse, ws / "warehouse.duckdb")
    monkeypatch.setenv("MMRARE_WORKSPACE", str(ws))
    return ws


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["review", *args, "--config", CONFIG])
    return result.exit_code, result.stdout, result.stderr


def test_add_annotator_prints_a_working_token(workspace: Path) -> None:
    code, out, err = _run("add-annotator", "alice", "--adjudicator")
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40 and "adjudicator" in err
    import duckdb

    from mmrare.annotations.review.annotators import token_sha256

    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT token_sha256, is_adjudicator FROM annotators WHERE name = 'alice'"
        ).fetchone()
    finally:
        con.close()
    assert row == (token_sha256(token), True)
    code, _, err = _run("add-annotator", "alice")
    assert code == 2 and "exists" in err


def test_stats_and_label_studio_round_trip(workspace: Path, tmp_path: Path) -> None:
    for name in ("alice", "bob"):
        assert _run("add-annotator", name)[0] == 0
    code, out, err = _run("stats", "--json")
    assert code == 0, err
    assert json.loads(out) == {"pairs": [], "tracks": []}
    tasks = tmp_path / "ls" / "tasks.json"
    code, out, err = _run("export-labelstudio", str(tasks), "--images", "none", "--all")
    assert code == 0, err
    exported = json.loads(tasks.read_text())
    assert (tmp_path / "ls" / "tasks.label_config.xml").exists()
    assert exported == [] or "item_id" in exported[0]["data"]


def test_serve_binds_loopback_and_answers(workspace: Path) -> None:
    """The real command in a subprocess: it queues the drafts, serves the login page, stops on SIGTERM."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MMRARE_WORKSPACE": str(workspace)}
    cmd = [
        str(Path(sys.executable).parent / "mmrare"),
        "review",
        "serve",
        "--port",
        str(port),
        "--config",
        CONFIG,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.communicate()[1]) from None
                time.sleep(0.2)
        assert page.status_code == 200 and 'name="token"' in page.text
        assert (workspace / "review" / "session.key").stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "queued" in out and f"http://127.0.0.1:{port}/" in out
