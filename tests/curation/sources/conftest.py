"""Fixtures for the remote-source tests: a real local server over the real shared packages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pmc_server import PMC_DIR, FakePmcServer

from mmrare.curation.sources.cloud import PmcCloudClient
from mmrare.curation.sources.http import HttpClient, RateLimiter
from mmrare.curation.sources.rawcache import RawCache

HttpFactory = Callable[..., HttpClient]


@pytest.fixture
def pmc_server() -> Iterator[FakePmcServer]:
    if not (PMC_DIR / "MANIFEST.tsv").is_file():
        pytest.fail(f"{PMC_DIR} is missing: these tests serve the real packages from ../shared/pmc")
    server = FakePmcServer.from_shared(PMC_DIR).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_http() -> Iterator[HttpFactory]:
    """HttpClients with test-speed settings: a fast limiter, millisecond backoff, short timeouts."""
    clients: list[HttpClient] = []

    def factory(
        rate: float = 1000.0, max_attempts: int = 4, timeout: Any = (2.0, 2.0), **kwargs: Any
    ) -> HttpClient:
        kwargs.setdefault("backoff_base", 0.001)
        kwargs.setdefault("backoff_cap", 0.005)
        client = HttpClient(RateLimiter(rate), max_attempts=max_attempts, timeout=timeout, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def cloud(pmc_server: FakePmcServer, make_http: HttpFactory) -> PmcCloudClient:
    return PmcCloudClient(make_http(), base_url=pmc_server.base_url)


@pytest.fixture
def cache(tmp_path: Path) -> RawCache:
    return RawCache(tmp_path / "raw")
