"""HttpClient, RateLimiter and atomic files against a real local server (no network beyond 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pmc_server import FakePmcServer, md5_hex

from mmrare.curation.sources import http as http_mod
from mmrare.curation.sources.http import AttemptCounter, RateLimiter, atomic_write, parse_retry_after, redact
from mmrare.errors import FatalError, RecordError, RetryableError

PMCID = "PMC6358579"
FIGURE = "CG-CGCR180082F001.jpg"


class CountingLimiter(RateLimiter):
    """A fast limiter that counts slots, to prove every attempt (retries included) asks for one."""

    def __init__(self) -> None:
        super().__init__(1000.0)
        self.acquired = 0
        self._count_lock = threading.Lock()

    def acquire(self) -> float:
        with self._count_lock:
            self.acquired += 1
        return super().acquire()


def metadata_url(server: FakePmcServer) -> str:
    return server.base_url + server.metadata_path(PMCID)


def figure_url(server: FakePmcServer) -> str:
    return server.base_url + server.file_path(PMCID, FIGURE)


def figure_bytes(server: FakePmcServer) -> bytes:
    return server.articles[f"{PMCID}.1"].files[FIGURE]


# -- RateLimiter ------------------------------------------------------------------------------


def test_limiter_hands_out_slots_one_interval_apart() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    slots = [limiter.acquire() for _ in range(4)]
    assert slots == pytest.approx([100.0, 100.25, 100.5, 100.75])
    assert slept == pytest.approx([0.25, 0.5, 0.75])
    now[0] = 200.0  # after a long idle period there is no burst credit, just the next slot
    assert limiter.acquire() == 200.0
    assert limiter.acquire() == pytest.approx(200.25)


def test_ncbi_rates_and_bad_rates() -> None:
    assert RateLimiter.for_ncbi(None).rate == 3.0
    assert RateLimiter.for_ncbi("key").rate == 10.0
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            RateLimiter(bad)


def test_shared_limiter_keeps_the_rate_across_threads_on_the_wire(
    pmc_server: FakePmcServer, make_http
) -> None:
    rate, n = 20.0, 10
    interval = 1.0 / rate
    client = make_http(rate=rate)
    t0 = time.monotonic()  # the limiter is fresh: its first slot is no earlier than this
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: client.get(metadata_url(pmc_server)), range(n)))
    assert all(r.status == 200 for r in responses)
    arrivals = sorted(h.at for h in pmc_server.hits_for(pmc_server.metadata_path(PMCID)))
    assert len(arrivals) == n
    # Every request reaches the server after its slot and the k-th slot is >= t0 + k * interval, so
    # the k-th arrival can never be earlier, however loaded the machine is (same monotonic clock).
    for k, at in enumerate(arrivals):
        assert at - t0 >= k * interval - 1e-3, f"request {k} arrived {at - t0:.3f}s after start"
    assert arrivals[-1] - t0 < n * interval + 10.0  # and it did not hang (loose: the machine is shared)


# -- retries ----------------------------------------------------------------------------------


def test_429_is_retried_honouring_retry_after(pmc_server: FakePmcServer, make_http) -> None:
    slept: list[float] = []
    client = make_http(sleep=slept.append, jitter=lambda: 1.0)
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "429")
    counter = AttemptCounter()
    resp = client.get(metadata_url(pmc_server), counter=counter)
    assert resp.status == 200 and resp.attempts == 2 and counter.count == 2
    assert slept == [0.0]  # Retry-After: 0 wins over the jittered backoff (which would be 0.001)
    assert pmc_server.count(pmc_server.metadata_path(PMCID)) == 2


def test_5xx_is_retried_with_full_jitter_backoff_and_every_attempt_takes_a_slot(
    pmc_server: FakePmcServer, make_http
) -> None:
    slept: list[float] = []
    limiter = CountingLimiter()
    client = make_http(
        sleep=slept.append, jitter=lambda: 1.0, backoff_base=0.01, backoff_cap=0.03, max_attempts=5
    )
    client.limiter = limiter
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "500", times=3)
    resp = client.get(metadata_url(pmc_server))
    assert resp.attempts == 4
    assert slept == pytest.approx([0.01, 0.02, 0.03])  # base * 2**(n-1), capped; jitter pinned to its max
    assert limiter.acquired == 4 == pmc_server.count(pmc_server.metadata_path(PMCID))


def test_jitter_scales_the_delay_down(pmc_server: FakePmcServer, make_http) -> None:
    slept: list[float] = []
    client = make_http(sleep=slept.append, jitter=lambda: 0.5, backoff_base=0.01, backoff_cap=1.0)
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "503", times=1)
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "500", times=1)
    client.get(metadata_url(pmc_server))
    assert slept == pytest.approx([0.0, 0.01])  # 503 carried Retry-After: 0; the 500 got 0.5 * 0.02


def test_timeout_is_retried(pmc_server: FakePmcServer, make_http) -> None:
    client = make_http(timeout=(2.0, 0.5))
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "timeout", delay=1.5)
    resp = client.get(metadata_url(pmc_server))
    assert resp.attempts == 2
    assert resp.content == pmc_server_metadata(pmc_server)


def test_truncated_body_is_retried_for_get_and_download(
    pmc_server: FakePmcServer, make_http, tmp_path: Path
) -> None:
    client = make_http()
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "truncate")
    assert client.get(metadata_url(pmc_server)).attempts == 2

    pmc_server.add_fault(pmc_server.file_path(PMCID, FIGURE), "truncate")
    done = client.download(
        figure_url(pmc_server), tmp_path / FIGURE, expected_md5=md5_hex(figure_bytes(pmc_server))
    )
    assert done.attempts == 2
    assert (tmp_path / FIGURE).read_bytes() == figure_bytes(pmc_server)
    assert sorted(p.name for p in tmp_path.iterdir()) == [FIGURE]  # the short first try left no temp file


def test_connection_reset_is_retried(pmc_server: FakePmcServer, make_http) -> None:
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "reset", times=2)
    assert make_http().get(metadata_url(pmc_server)).attempts == 3


def test_gives_up_with_retryable_error_after_max_attempts(pmc_server: FakePmcServer, make_http) -> None:
    client = make_http(max_attempts=3)
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "500", times=-1)
    counter = AttemptCounter()
    with pytest.raises(RetryableError, match="http_500 after 3 attempts"):
        client.get(metadata_url(pmc_server), record_id=PMCID, counter=counter)
    assert counter.count == 3 == pmc_server.count(pmc_server.metadata_path(PMCID))


def test_not_found_and_forbidden_are_record_errors_without_retry(
    pmc_server: FakePmcServer, make_http
) -> None:
    client = make_http()
    with pytest.raises(RecordError) as missing:
        client.get(pmc_server.base_url + "/metadata/PMC1.1.json", record_id="PMC1")
    assert (missing.value.record_id, missing.value.reason) == ("PMC1", "not_found")
    assert pmc_server.count("/metadata/PMC1.1.json") == 1

    pmc_server.listing_forbidden = True
    with pytest.raises(RecordError) as forbidden:
        client.get(pmc_server.base_url + "/", params={"list-type": "2", "prefix": "PMC1."})
    assert forbidden.value.reason == "http_403"
    assert pmc_server.count("/") == 1


def test_secrets_never_reach_error_messages(pmc_server: FakePmcServer, make_http) -> None:
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "500", times=-1)
    with pytest.raises(RetryableError) as err:
        make_http(max_attempts=1).get(metadata_url(pmc_server), params={"api_key": "s3cr3t"})
    assert "s3cr3t" not in str(err.value)
    assert (
        redact("https://x/e.fcgi?db=pmc&api_key=abc&email=a@b")
        == "https://x/e.fcgi?db=pmc&api_key=***&email=a@b"
    )


def test_a_malformed_url_is_fatal_at_once(make_http) -> None:
    client = make_http()
    with pytest.raises(FatalError, match="cannot request"):
        client.get("127.0.0.1/metadata/PMC1.1.json")
    assert client.total_attempts.count == 1


# -- downloads and md5 ------------------------------------------------------------------------


def test_download_hashes_and_checks_the_published_md5(
    pmc_server: FakePmcServer, make_http, tmp_path: Path
) -> None:
    data = figure_bytes(pmc_server)
    done = make_http().download(
        figure_url(pmc_server), tmp_path / "a" / FIGURE, expected_md5=md5_hex(data).upper()
    )
    assert done.path.read_bytes() == data
    assert (done.md5, done.sha256, done.size) == (md5_hex(data), hashlib.sha256(data).hexdigest(), len(data))
    assert done.etag == md5_hex(data) and done.md5_checked_against == "expected"


def test_corrupt_body_is_retried_then_accepted(pmc_server: FakePmcServer, make_http, tmp_path: Path) -> None:
    pmc_server.add_fault(pmc_server.file_path(PMCID, FIGURE), "corrupt")
    done = make_http().download(
        figure_url(pmc_server), tmp_path / FIGURE, expected_md5=md5_hex(figure_bytes(pmc_server))
    )
    assert done.attempts == 2 and done.path.read_bytes() == figure_bytes(pmc_server)


def test_md5_mismatch_rejects_the_record_and_leaves_nothing(
    pmc_server: FakePmcServer, make_http, tmp_path: Path
) -> None:
    client = make_http(max_attempts=3)
    with pytest.raises(RecordError) as err:
        client.download(figure_url(pmc_server), tmp_path / FIGURE, expected_md5="0" * 32, record_id=PMCID)
    assert (err.value.record_id, err.value.reason) == (PMCID, "md5_mismatch")
    assert pmc_server.count(pmc_server.file_path(PMCID, FIGURE)) == 3  # retried before giving up
    assert list(tmp_path.iterdir()) == []


def test_etag_is_the_fallback_checksum(pmc_server: FakePmcServer, make_http, tmp_path: Path) -> None:
    client = make_http(max_attempts=2)
    done = client.download(figure_url(pmc_server), tmp_path / FIGURE)
    assert done.md5_checked_against == "etag"
    pmc_server.add_fault(pmc_server.file_path(PMCID, FIGURE), "corrupt", times=-1)
    with pytest.raises(RecordError, match="md5_mismatch"):
        client.download(figure_url(pmc_server), tmp_path / "again.jpg")
    assert not (tmp_path / "again.jpg").exists()
    # Told not to trust the ETag and given no md5, the client has nothing to check: it accepts the
    # bytes and says so, and the caller still gets their hashes for the record.
    unchecked = client.download(figure_url(pmc_server), tmp_path / "unchecked.jpg", verify_etag=False)
    assert unchecked.md5_checked_against is None and unchecked.md5 != md5_hex(figure_bytes(pmc_server))


# -- atomic files -----------------------------------------------------------------------------


def test_atomic_write_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write(target, b"first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(http_mod.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk went away"):
        atomic_write(target, b"third")
    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["f.json"]  # the temp file was cleaned up


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 30
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier) == 0.0


def pmc_server_metadata(server: FakePmcServer) -> bytes:
    return json.dumps(server.articles[f"{PMCID}.1"].metadata()).encode()
