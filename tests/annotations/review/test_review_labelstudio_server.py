"""The Label Studio round trip against a real Label Studio server (issue: push, label, pull).

Needs Label Studio in its own virtual environment (``scripts/labelstudio-env.sh`` or
``make labelstudio-env``; ``$MMRARE_LABELSTUDIO_VENV`` points elsewhere); skipped without it. The
server runs on 127.0.0.1 and a free port with sqlite in a temporary folder, with two members
(alice, bob) besides the admin whose token mmrare uses. mmrare's carol is no member, so her review
travels as a prediction.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from processes import stop
from typer.testing import CliRunner

from mmrare.annotations.review.labelstudio import AnnotatorResolver, ImageOptions
from mmrare.annotations.review.labelstudio.config import choice, text
from mmrare.annotations.review.labelstudio.sync import Server, push
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.cli import app
from mmrare.errors import FatalError
from mmrare.warehouse.db import connect
from mmrare.warehouse.queries import review as queries

ROOT = Path(__file__).resolve().parents[3]
CONFIG = str(ROOT / "mmrare.toml")
runner = CliRunner()
VENV = Path(os.environ.get("MMRARE_LABELSTUDIO_VENV", ROOT / ".labelstudio-venv"))
ADMIN_TOKEN = "mmrare-test-admin-token-0123456789"
MEMBERS = {"alice": "mmrare-test-alice-token-0123456789", "bob": "mmrare-test-bob-token-0123456789"}
STARTUP_S = 600  # the first start migrates a new sqlite database; a busy machine is slow at it

pytestmark = pytest.mark.skipif(
    not (VENV / "bin" / "label-studio").exists(),
    reason=f"no Label Studio at {VENV}: run scripts/labelstudio-env.sh (or make labelstudio-env)",
)


@dataclass(frozen=True)
class LabelStudio:
    url: str
    files: Path  # LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO", "DJANGO"))}
    return env | {
        "SENTRY_DSN": "",  # sentry-sdk 3 rejects Label Studio's options and the server would not start
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
        "LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LABEL_STUDIO_USERNAME": "admin@hospital.example",
        "LABEL_STUDIO_PASSWORD": "admin-password-123",
        "LABEL_STUDIO_USER_TOKEN": ADMIN_TOKEN,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(data / "files"),
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module", name="ls")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudio]:
    """A Label Studio server with alice and bob as members; yields its URL."""
    data = tmp_path_factory.mktemp("label-studio")
    (data / "files").mkdir()
    port = _free_port()
    env = _env(data)
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(VENV / "bin" / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"label-studio exited with {proc.returncode}; see {data / 'server.log'}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"label-studio did not answer /health; see {data / 'server.log'}")
            time.sleep(2)
        made = subprocess.run(
            [
                str(VENV / "bin" / "python"),
                str(Path(__file__).with_name("labelstudio_users.py")),
                *(f"{name}@hospital.example={token}" for name, token in MEMBERS.items()),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert made.returncode == 0, made.stderr[-2000:]
        yield LabelStudio(url, data / "files")
    finally:
        stop(proc)
        log.close()


def _api(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60)


def _tasks(url: str, project: int) -> dict[str, dict[str, Any]]:
    with _api(url, ADMIN_TOKEN) as api:
        listed = api.get("/api/tasks/", params={"project": project, "fields": "all", "page_size": 1000})
    listed.raise_for_status()
    return {t["data"]["item_id"]: t for t in listed.json()["tasks"]}


def _reviews(warehouse: Path) -> set[tuple[str, str, str, str | None]]:
    with _opened(warehouse, read_only=True) as store, store.read() as cur:
        items = [o[0] for o in queries.queued_outcomes(cur)]
        return {(r[0], r[1], r[2], r[5]) for item in items for r in queries.reviews(cur, item)}


@contextmanager
def _opened(warehouse: Path, read_only: bool = False) -> Iterator[ReviewStore]:
    """The warehouse for a moment, as any command beside ``review serve`` opens it."""
    store = ReviewStore(connect(warehouse, read_only=read_only, wait_s=30, migrated=True))
    try:
        yield store
    finally:
        store.close()


def _mmrare(*args: str) -> str:
    """One ``mmrare review`` command in-process; its stdout (it must succeed)."""
    result = runner.invoke(app, ["review", *args, "--config", CONFIG])
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return " ".join(result.stdout.split())


@pytest.fixture
def serving(tmp_path: Path, template_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workspace with annotators alice, bob and carol, its review app running; yields the warehouse."""
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(template_warehouse, ws / "warehouse.duckdb")
    monkeypatch.setenv("MMRARE_WORKSPACE", str(ws))
    monkeypatch.setenv("MMRARE_TEST_LS_TOKEN", ADMIN_TOKEN)
    for name in ("alice", "bob", "carol"):
        _mmrare("add-annotator", name)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from mmrare.cli import main; main()",
            "review",
            "serve",
            "--port",
            str(port),
            "--config",
            CONFIG,
        ],
        env=os.environ | {"MMRARE_WORKSPACE": str(ws)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"review serve did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.5)
        yield ws / "warehouse.duckdb"
        assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=30).status_code == 200
    finally:
        stop(proc)


def test_push_label_pull_against_label_studio(ls: LabelStudio, serving: Path) -> None:
    """The issue's round trip with the commands a curator types, while ``review serve`` runs."""
    label_studio = ls.url
    sync = ("--url", label_studio, "--token-env", "MMRARE_TEST_LS_TOKEN")
    with _opened(serving) as store:
        with store.read() as cur:
            items = [o[0] for o in queries.queued_outcomes(cur)]
        # before the push: one review by a member (alice) and one by carol, who is no member
        submit_review(store, item_id=items[0], annotator="alice", verdict="accept")
        submit_review(
            store,
            item_id=items[1],
            annotator="carol",
            verdict="reject",
            reject_reason="ambiguous",
            comment="B and C both fit",
        )

    said = _mmrare("push-labelstudio", *sync)
    with _api(label_studio, ADMIN_TOKEN) as api:
        project = next(
            p for p in api.get("/api/projects/").json()["results"] if p["title"] == "mmrare review"
        )
        users = {u["email"]: u["id"] for u in api.get("/api/users/").json()}
    assert said == (
        f"project 'mmrare review' (id {project['id']}) created: tasks {len(items)} created, 0 updated,"
        " 0 skipped (up to date); reviews sent as 1 annotations and 1 predictions; images inline"
    )
    assert (project["maximum_annotations"], project["overlap_cohort_percentage"]) == (2, 100)
    tasks = _tasks(label_studio, project["id"])
    assert set(tasks) == set(items) and all(t["overlap"] == 2 for t in tasks.values())
    # every image is a data URI Label Studio shows as is: no mmrare login, no warehouse
    images = [u for t in tasks.values() for u in t["data"]["images"]]
    assert images and all(u.startswith("data:image/") for u in images)
    for uri in images:
        Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).verify()
    assert [a["completed_by"] for a in tasks[items[0]]["annotations"]] == [users["alice@hospital.example"]]
    assert "mmrare-review:carol" in [p["model_version"] for p in tasks[items[1]]["predictions"]]

    # alice and bob label three other tasks in Label Studio, as themselves
    plan = {
        items[2]: {"alice": ("accept", None), "bob": ("accept", None)},
        items[3]: {"alice": ("reject", "answer_leaked"), "bob": ("accept", None)},
        items[4]: {"alice": ("accept", None), "bob": ("reject", "not_answerable")},
    }
    for item, verdicts in plan.items():
        for who, (verdict, reason) in verdicts.items():
            result = [choice("verdict", verdict)]
            result += [choice("reject_reason", reason), text("comment", f"{who}: {reason}")] if reason else []
            with _api(label_studio, MEMBERS[who]) as api:
                made = api.post(f"/api/tasks/{tasks[item]['id']}/annotations/", json={"result": result})
            assert made.status_code == 201, made.text

    before = _reviews(serving)
    said = _mmrare("pull-labelstudio", *sync)
    assert said == (
        f"project 'mmrare review': {len(items)} tasks; imported 6 reviews, skipped 2 (2 already in mmrare)"
    )
    assert _reviews(serving) - before == {
        (item, who, verdict, reason) for item, v in plan.items() for who, (verdict, reason) in v.items()
    }
    said = _mmrare("pull-labelstudio", *sync)
    assert said.endswith("imported 0 reviews, skipped 8 (8 already in mmrare)")

    # a review made in mmrare after the push reaches the existing task, credited to the member
    with _opened(serving) as store:
        submit_review(store, item_id=items[0], annotator="bob", verdict="accept")
    said = _mmrare("push-labelstudio", *sync)
    assert "unchanged: tasks 0 created, 1 updated" in said and "1 annotations and 0 predictions" in said
    shown = _tasks(label_studio, project["id"])[items[0]]["annotations"]
    assert sorted(a["completed_by"] for a in shown) == sorted(users[f"{n}@hospital.example"] for n in MEMBERS)
    said = _mmrare("push-labelstudio", *sync)
    assert f"tasks 0 created, 0 updated, {len(items)} skipped" in said


def test_local_files_images_are_served_by_label_studio(
    ls: LabelStudio, store: ReviewStore, tokens: dict[str, str]
) -> None:
    """``--images files``: Label Studio serves the copies itself, to its own users only."""
    label_studio, root = ls.url, ls.files
    server = Server(label_studio, ADMIN_TOKEN)
    with store.read() as cur:
        resolver = AnnotatorResolver(queries.active_annotator_names(cur), users=server.users())
    options = ImageOptions("files", image_dir=root / "mmrare-images", document_root=root)
    pushed = push(server, store, "mmrare review (files)", resolver, options)
    assert pushed.images == "files" and pushed.created > 0
    task = next(iter(_tasks(label_studio, pushed.project_id).values()))
    link = task["data"]["images"][0]
    assert link.startswith("/data/local-files/?d=mmrare-images/")
    with _api(label_studio, MEMBERS["alice"]) as api:
        served = api.get(link)
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"
    assert httpx.get(label_studio + link).status_code in (302, 401, 403)  # not without a login


def test_a_wrong_token_is_one_line(ls: LabelStudio) -> None:
    with pytest.raises(FatalError, match=r"GET /api/users/: HTTP 401 .*; check the token"):
        Server(ls.url, "not-a-token").users()
