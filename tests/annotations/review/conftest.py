"""Review fixtures: a real warehouse built once per session, copied for every test.

The warehouse holds what the earlier stages really produce for two sample articles in ../shared
(PMC7500000, PMC6358579): curation rows from ``process_package`` (sentences, figures, decoded
graphics), items drafted by the rules drafter (``samples`` / ``sample_pool`` from
tests/annotations/conftest.py) and leakage control run with the packaged encoder (masked contexts,
decisions). Each test gets its own copy of the file, so tests never share state.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from mmrare.annotations.drafting import draft_case
from mmrare.annotations.review.annotators import add_annotator
from mmrare.annotations.review.queue import enqueue
from mmrare.annotations.review.settings import ReviewSettings
from mmrare.annotations.review.store import ReviewStore
from mmrare.config import FiguresConfig, SelectionConfig
from mmrare.curation.process import PackageInput, package_content_sha256, process_package
from mmrare.items import CaseInput, DistractorPool, QAItem
from mmrare.warehouse.db import connect
from mmrare.warehouse.shards import insert_rows

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

PACKAGES = Path(__file__).resolve().parents[4] / "shared" / "pmc" / "packages"
SECRET = b"review-tests-session-secret-0123456789abcdef"
CONFIG_HASH = "review-tests"


def _curate(pmcid: str) -> dict[str, list[dict]]:
    folder = PACKAGES / pmcid
    xml = folder / f"{pmcid}.xml"
    files = [f for f in folder.iterdir() if f != xml]
    pkg = PackageInput(pmcid, xml, folder, "local", package_content_sha256(xml, files))
    result = process_package(pkg, SelectionConfig(), FiguresConfig(), "review-tests", CONFIG_HASH)
    assert result.outcome == "case", result.reason
    return result.rows


def _leakage_rows(items: list[QAItem], cases: dict[str, CaseInput], cache_dir: Path) -> dict[str, list[dict]]:
    """Leakage control as the pipeline runs it: real detectors and encoder, default policy."""
    from mmrare.embedding import EmbeddingCache, load_encoder
    from mmrare.leakage import DEFAULT_POLICY, AnswerDescriptor, LeakageInput, Provenance, decide, detect

    texts = {s.sentence_id: s.text for c in cases.values() for s in c.sentences}
    inputs = [
        LeakageInput(
            i, AnswerDescriptor.for_item(i), {k: texts[k] for k in i.context_sentence_ids if k in texts}
        )
        for i in items
    ]
    cache = EmbeddingCache(cache_dir, load_encoder(threads=2))
    decided = decide(inputs, detect(inputs, cache).scores, DEFAULT_POLICY)
    prov = Provenance.for_run(cache, DEFAULT_POLICY, ordo_version="4.2", config_hash=CONFIG_HASH)
    return {
        "leakage_decisions": [d.row(prov) for d in decided.decisions],
        "leakage_contexts": [c.row(prov) for c in decided.contexts],
    }


@pytest.fixture(scope="session")
def template_warehouse(
    tmp_path_factory: pytest.TempPathFactory, samples: dict[str, CaseInput], sample_pool: DistractorPool
) -> Path:
    """The session's warehouse file (never opened by tests directly; see ``warehouse``)."""
    root = tmp_path_factory.mktemp("review-warehouse")
    path = root / "warehouse.duckdb"
    con = connect(path)
    items: list[QAItem] = []
    for pmcid, case in sorted(samples.items()):
        for table, rows in _curate(pmcid).items():
            insert_rows(con, table, rows)
        items += draft_case(case, pool=sample_pool).items
    insert_rows(con, "qa_items", [i.row() for i in items])
    insert_rows(con, "qa_evidence", [e for i in items for e in i.evidence_rows()])
    for table, rows in _leakage_rows(items, samples, root / "embeddings").items():
        insert_rows(con, table, rows)
    con.close()
    return path


@pytest.fixture
def warehouse(tmp_path: Path, template_warehouse: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(template_warehouse, path)
    return path


@pytest.fixture
def store(warehouse: Path) -> Iterator[ReviewStore]:
    s = ReviewStore(connect(warehouse))
    yield s
    s.close()


@pytest.fixture
def tokens(store: ReviewStore) -> dict[str, str]:
    """Two reviewers and one adjudicator; every drafted item queued for two reviews."""
    out = {
        "alice": add_annotator(store, "alice"),
        "bob": add_annotator(store, "bob"),
        "carol": add_annotator(store, "carol", adjudicator=True),
    }
    enqueue(store, 2)
    return out


@pytest.fixture
def settings() -> ReviewSettings:
    return ReviewSettings()


# ----------------------------------------------------------------------------- live server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    store: ReviewStore


@pytest.fixture
def live_server(store: ReviewStore, tokens: dict[str, str], settings: ReviewSettings) -> Iterator[LiveServer]:
    """The app under uvicorn on 127.0.0.1 and a free port, in a thread, for browser and race tests."""
    import uvicorn

    from mmrare.annotations.review.web.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(store, settings, SECRET), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", store)
    server.should_exit = True
    thread.join(timeout=10)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def login(client: httpx.Client, token: str) -> str:
    """Log ``client`` in; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post("/login", data={"csrf": csrf_of(page.text), "token": token})
    assert response.status_code == 303, response.text
    home = client.get("/")
    assert home.status_code == 200
    return csrf_of(home.text)


@pytest.fixture
def web() -> SimpleNamespace:
    """Helpers for tests that drive the app over HTTP: ``web.login(client, token)``, ``web.csrf_of(html)``."""
    return SimpleNamespace(login=login, csrf_of=csrf_of)
