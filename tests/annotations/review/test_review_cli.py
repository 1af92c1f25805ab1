"""``mmrare review`` commands on a copy of the real test warehouse placed in a temporary workspace."""

from __future__ import annotations

import json
import os
import re
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
    proc, port = _start_server(workspace)
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert page.status_code == 200 and 'name="token"' in page.text
        assert (workspace / "review" / "session.key").stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "queued" in out and f"http://127.0.0.1:{port}/" in out


def _start_server(workspace: Path) -> tuple[subprocess.Popen[str], int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MMRARE_WORKSPACE": str(workspace)}
    mmrare = str(Path(sys.executable).parent / "mmrare")
    cmd = [mmrare, "review", "serve", "--port", str(port), "--config", CONFIG]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return proc, port
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.communicate()[1]) from None
            time.sleep(0.2)


def test_other_commands_run_while_the_review_app_serves(workspace: Path, tmp_path: Path) -> None:
    """The app holds the warehouse only inside a request: status, stats, Label Studio export, audit
    and release build all work beside it while annotators keep loading pages."""
    import threading

    from mmrare.warehouse.db import connect

    code, out, err = _run("add-annotator", "alice")
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    proc, port = _start_server(workspace)
    pages: list[int] = []
    stop = threading.Event()

    def annotate() -> None:  # a logged-in annotator reloading the dashboard
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            login = client.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert csrf is not None
            client.post("/login", data={"token": token, "csrf": csrf.group(1)})
            while not stop.is_set():
                pages.append(client.get("/").status_code)

    browser = threading.Thread(target=annotate)
    browser.start()
    try:
        con = connect(workspace / "warehouse.duckdb", read_only=True)
        item_id = con.execute("SELECT item_id FROM qa_items LIMIT 1").fetchone()[0]
        con.close()
        commands = [
            ["status"],
            ["review", "stats", "--json"],
            ["review", "export-labelstudio", str(tmp_path / "tasks.json"), "--images", "none", "--all"],
            ["audit", "item", item_id],
            ["release", "build", "--version", "1.0.0"],
        ]
        for args in commands:
            result = runner.invoke(app, [*args, "--config", CONFIG])
            assert result.exit_code in (0, 2), result.stderr
            assert "lock" not in result.stderr.lower(), (args, result.stderr)
            if args[0] != "release":  # an unreviewed warehouse may have nothing to release
                assert result.exit_code == 0, (args, result.stderr)
    finally:
        stop.set()
        browser.join(timeout=60)
        proc.terminate()
        proc.communicate(timeout=20)
    assert pages and set(pages) == {200}, pages


def test_label_studio_files_with_bare_user_ids(workspace: Path, tmp_path: Path) -> None:
    """An empty queue says why; Label Studio's project export (``completed_by`` a bare id) imports once
    the users list names the id, and a second import adds nothing."""
    from mmrare.annotations.review.queue import enqueue
    from mmrare.annotations.review.store import ReviewStore
    from mmrare.warehouse.db import connect

    assert _run("add-annotator", "alice")[0] == 0
    tasks = tmp_path / "tasks.json"
    code, out, err = _run("export-labelstudio", str(tasks), "--images", "none")
    assert code == 0, err
    assert " ".join(out.split()).startswith("0 tasks: the review queue is empty")
    store = ReviewStore(connect(workspace / "warehouse.duckdb"))
    enqueue(store, 2)
    store.close()
    code, out, err = _run("export-labelstudio", str(tasks), "--images", "none")
    assert code == 0 and " predictions)" in out, err
    first = json.loads(tasks.read_text())[0]
    verdict = {
        "from_name": "verdict",
        "to_name": "context",
        "type": "choices",
        "value": {"choices": ["accept"]},
    }
    export = tmp_path / "project-export.json"
    export.write_text(
        json.dumps(
            [
                {
                    "id": 9,
                    "data": first["data"],
                    "annotations": [
                        {
                            "id": 1,
                            "completed_by": 2,
                            "result": [verdict],
                            "created_at": "2026-12-01T09:00:00Z",
                        }
                    ],
                }
            ]
        )
    )
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps([{"id": 2, "email": "alice@hospital.example", "username": "alice@hospital.example"}])
    )
    code, out, err = _run("import-labelstudio", str(export))
    assert code == 0 and "imported 0 reviews, skipped 1 (1 unknown annotator)" in " ".join(out.split())
    assert "user 2 is not in the users list; pass --users FILE" in " ".join(err.split())
    code, out, err = _run("import-labelstudio", str(export), "--users", str(users))
    assert code == 0 and "imported 1 reviews, skipped 0" in out, err
    code, out, err = _run("import-labelstudio", str(export), "--users", str(users))
    assert "imported 0 reviews, skipped 1 (1 already in mmrare)" in " ".join(out.split())
