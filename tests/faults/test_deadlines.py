"""Every request has an overall deadline and a server's Retry-After is capped, with a log line
(issue: a server dripping 2 bytes/s hung ``ingest`` forever, and ``Retry-After: 100000`` stalled a
worker for up to 300 s per attempt without a word)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pmc_server import PMC_DIR, FakePmcServer

from mmrare.curation.sources.http import HttpClient, RateLimiter
from mmrare.errors import RetryableError


@pytest.fixture
def server() -> Iterator[FakePmcServer]:
    fake = FakePmcServer.from_shared(PMC_DIR).start()
    try:
        yield fake
    finally:
        fake.stop()


def test_a_dripping_server_meets_the_deadline(server: FakePmcServer) -> None:
    path = server.metadata_path("PMC7500000")
    server.add_fault(path, "drip", times=-1, delay=0.3)
    client = HttpClient(RateLimiter(1000.0), max_attempts=2, timeout=(2.0, 2.0), deadline_s=1.0,
                        backoff_base=0.001, backoff_cap=0.005)  # fmt: skip
    with pytest.raises(RetryableError, match="deadline after 2 attempts"):
        client.get(server.base_url + path)
    client.close()


def test_a_long_retry_after_is_capped_and_said(
    server: FakePmcServer, caplog: pytest.LogCaptureFixture
) -> None:
    path = server.metadata_path("PMC7500000")
    server.add_fault(path, "wait", times=1)
    waits: list[float] = []
    client = HttpClient(RateLimiter(1000.0), max_attempts=3, retry_after_cap=7.0, sleep=waits.append)
    with caplog.at_level(logging.WARNING):
        reply = client.get(server.base_url + path)
    client.close()
    assert reply.status == 200 and waits == [7.0]
    assert any("asked to wait 100000s; waiting 7s" in r.getMessage() for r in caplog.records)


def test_a_failure_line_names_the_url_once(server: FakePmcServer) -> None:
    path = server.metadata_path("PMC7500000")
    server.add_fault(path, "503", times=-1)
    client = HttpClient(RateLimiter(1000.0), max_attempts=2, backoff_base=0.001, backoff_cap=0.005,
                        retry_after_cap=0.0)  # fmt: skip
    with pytest.raises(RetryableError) as caught:
        client.get(server.base_url + path, record_id="PMC7500000")
    client.close()
    assert str(caught.value).count(path) == 1, str(caught.value)
