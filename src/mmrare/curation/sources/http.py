"""Polite, resumable HTTP for every remote source: one shared rate limiter, backoff, atomic files.

Why one module: NCBI counts requests per IP/API key for the whole process, so every thread and every
source (E-utilities, the PMC Cloud bucket) must draw from the same :class:`RateLimiter`; and a
download that dies halfway must never leave a file that looks finished, so everything lands in a
temporary file beside its target and is renamed into place only after it was checked.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import logging
import math
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import requests
import urllib3.exceptions

from mmrare import __version__
from mmrare.errors import FatalError, RecordError, RetryableError
from mmrare.versions import INGEST_VERSION

log = logging.getLogger(__name__)

T = TypeVar("T")

NCBI_RATE = 3.0  # requests per second without an API key (NCBI E-utilities policy)
NCBI_RATE_WITH_KEY = 10.0  # requests per second with an API key
USER_AGENT = f"mmrare/{__version__} ({INGEST_VERSION})"
CHUNK_SIZE = 1 << 16
TEMP_SUFFIX = ".part"
_NOT_FOUND = frozenset({404, 410})
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")
_SECRET_PARAM = re.compile(r"(?i)\b(api_key|apikey|token|signature|x-amz-signature)=[^&#]*")


class RateLimiter:
    """Hands out request slots at most ``rate`` per second, shared by every thread that holds it.

    A minimum-interval scheduler (a token bucket of capacity one): each caller reserves the next free
    slot under a lock and sleeps outside it, so threads never burst past the rate and never hold
    the lock while waiting. No burst allowance on purpose: NCBI's "3 per second" is checked on
    short windows.
    """

    def __init__(
        self,
        rate: float = NCBI_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0 or math.isinf(rate):
            raise ValueError(f"rate must be a positive finite number of requests per second, got {rate!r}")
        self.rate = float(rate)
        self._interval = 1.0 / self.rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def for_ncbi(cls, api_key: str | None = None) -> RateLimiter:
        """The E-utilities limit: 3 req/s, or 10 req/s with an API key."""
        return cls(NCBI_RATE_WITH_KEY if api_key else NCBI_RATE)

    def acquire(self) -> float:
        """Block until this caller may send one request; returns the granted slot (clock time)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
        return slot


class AttemptCounter:
    """Counts HTTP attempts (first tries and retries) for one unit of work, e.g. one PMCID.

    Passed down explicitly so a caller can record how many requests a record cost even when the
    work ends in an exception.
    """

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self._count += n

    @property
    def count(self) -> int:
        return self._count


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A fully read, successful response."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int

    @property
    def etag(self) -> str | None:
        return clean_etag(self.headers.get("ETag"))


@dataclass(frozen=True, slots=True)
class Download:
    """A file that was streamed to disk, checked, and renamed into place."""

    url: str
    path: Path
    size: int
    md5: str
    sha256: str
    etag: str | None
    attempts: int
    md5_checked_against: str | None  # "expected", "etag", or None when nothing could be checked


class _Transient(Exception):
    """One failed attempt worth retrying; ``reason`` is a short code for the log and the final error."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None) -> None:
        detail = redact(detail)  # transport errors quote the full URL, query string included
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


class HttpClient:
    """GETs and streaming downloads with rate limiting, bounded retries and typed failures.

    Every attempt, retries included, first takes a slot from the shared limiter. Transient failures
    (429, 5xx, connection errors, timeouts, truncated bodies, md5 mismatches) are retried with
    exponential backoff and full jitter (delay = U(0, min(cap, base * 2**(n-1))), or the server's
    Retry-After). After ``max_attempts`` a :class:`RetryableError` is raised (a
    :class:`RecordError` ``md5_mismatch`` when the content itself kept being wrong); 404/410 raise
    ``RecordError(record_id, "not_found")`` at once, other 4xx ``RecordError(record_id, "http_<code>")``.

    requests does not promise that a ``Session`` is thread-safe, so each thread gets its own
    session from ``session_factory``; they share the limiter and the retry policy.
    """

    def __init__(
        self,
        limiter: RateLimiter | None = None,
        *,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        retry_after_cap: float = 60.0,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        deadline_s: float = 600.0,
        user_agent: str = USER_AGENT,
        session_factory: Callable[[], requests.Session] = requests.Session,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.limiter = limiter or RateLimiter()
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.timeout = timeout
        self.deadline_s = deadline_s
        self.user_agent = user_agent
        self.total_attempts = AttemptCounter()
        self._session_factory = session_factory
        self._sleep = sleep
        self._jitter = jitter
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    # -- public API ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        record_id: str | None = None,
        counter: AttemptCounter | None = None,
        check: Callable[[bytes], str | None] | None = None,
    ) -> HttpResponse:
        """GET ``url`` and read the whole body (for small documents: JSON, listings, E-utilities XML).

        ``check`` names what is wrong with a body that arrived (not JSON, not a listing): such a
        body is retried like a transient fault, since a proxy or an overloaded server sends them."""
        rid = record_id or url
        attempts = AttemptCounter()

        def once() -> HttpResponse:
            with (
                _transport_errors(url, self.deadline_s) as deadline,
                self._session().get(url, params=params, timeout=self.timeout, stream=True) as resp,
                deadline.watch(resp),
            ):
                _raise_for_status(resp, rid)
                content = b"".join(resp.iter_content(CHUNK_SIZE))
                _check_length(resp, len(content))
                problem = check(content) if check is not None else None
                if problem is not None:
                    raise _Transient("unexpected_content", problem)
                return HttpResponse(resp.url, resp.status_code, resp.headers, content, attempts.count)

        return self._retrying(url, rid, once, attempts, counter)

    def download(
        self,
        url: str,
        dest: Path,
        *,
        expected_md5: str | None = None,
        verify_etag: bool = True,
        record_id: str | None = None,
        counter: AttemptCounter | None = None,
        check: Callable[[Path], str | None] | None = None,
    ) -> Download:
        """Stream ``url`` into ``dest`` via a temp file in the same folder; rename only when verified.

        The body is hashed while it is written. It must match ``expected_md5`` when given, else the
        S3 ETag when that is a plain md5 (single-part upload; multipart ETags end in ``-<n>``).
        A mismatch is retried like a truncated transfer; nothing is left at ``dest`` on failure.
        Where the server gives neither, only the content can tell a good body from an error page or
        a body cut short by a closed connection: ``check`` reads the finished temp file and names
        what is wrong with it (an HTML page where a file was asked for always is).
        """
        rid = record_id or url
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        expected = expected_md5.lower() if expected_md5 else None
        attempts = AttemptCounter()

        def once() -> Download:
            with (
                _transport_errors(url, self.deadline_s) as deadline,
                self._session().get(url, timeout=self.timeout, stream=True) as resp,
                deadline.watch(resp),
            ):
                _raise_for_status(resp, rid)
                return _stream_to(resp, dest, expected, verify_etag, attempts.count, check)

        return self._retrying(url, rid, once, attempts, counter)

    def close(self) -> None:
        """Close every per-thread session (their connection pools)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _retrying(
        self,
        url: str,
        record_id: str,
        once: Callable[[], T],
        attempts: AttemptCounter,
        counter: AttemptCounter | None,
    ) -> T:
        """Run ``once`` until it succeeds, fails for good, or ``max_attempts`` is used up."""
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            for c in (attempts, counter, self.total_attempts):
                if c is not None:
                    c.add()
            try:
                return once()
            except _Transient as exc:
                if attempt >= self.max_attempts:
                    _give_up(url, record_id, exc, attempt)
                delay = self._delay(attempt, exc.retry_after)
                log.info(
                    "%s: %s (attempt %d/%d); retrying in %.2fs", url, exc, attempt, self.max_attempts, delay
                )
                self._sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff, unless the server said how long to wait."""
        if retry_after is not None:
            if retry_after > self.retry_after_cap:
                log.warning("server asked to wait %.0fs; waiting %.0fs (retry_after_cap)", retry_after,
                            self.retry_after_cap)  # fmt: skip
            return min(max(retry_after, 0.0), self.retry_after_cap)
        return self._jitter() * min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))


# A bad URL is a configuration problem: retrying cannot help.
_CONFIG_ERRORS = (
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.URLRequired,
)
_TRANSPORT_ERRORS = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class _Deadline:
    """An overall limit on one attempt. The read timeout bounds each wait for bytes, so a server
    that sends a byte now and then never trips it; this shuts the connection when the whole
    response has taken too long, and the read in progress fails at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = threading.Event()

    @contextlib.contextmanager
    def watch(self, resp: requests.Response) -> Iterator[None]:
        timer = threading.Timer(self.seconds, self._cut, (resp,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _cut(self, resp: requests.Response) -> None:
        self.passed.set()
        with contextlib.suppress(OSError, AttributeError):
            resp.raw.shutdown()  # urllib3's way to end a read blocked in another thread


@contextlib.contextmanager
def _transport_errors(url: str, deadline_s: float = 600.0) -> Iterator[_Deadline]:
    """Turn what requests/urllib3 raise into a fatal config error or a retryable :class:`_Transient`."""
    deadline = _Deadline(deadline_s)
    try:
        yield deadline
    except _CONFIG_ERRORS as exc:
        raise FatalError(f"cannot request {url!r}: {exc}") from exc
    except _TRANSPORT_ERRORS as exc:
        if deadline.passed.is_set():
            raise _Transient("deadline", f"no whole response within {deadline_s:.0f}s") from exc
        raise _classify(exc) from exc
    if deadline.passed.is_set():  # a cut connection can also read as a clean end of the body
        raise _Transient("deadline", f"no whole response within {deadline_s:.0f}s")


def _classify(exc: BaseException) -> _Transient:
    """Map a transport exception to a retryable failure with a short reason code."""
    if isinstance(exc, requests.exceptions.Timeout | TimeoutError | urllib3.exceptions.TimeoutError):
        return _Transient("timeout", str(exc))
    if isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError
        | urllib3.exceptions.ProtocolError
        | http.client.IncompleteRead,
    ):
        return _Transient("truncated", str(exc))
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError):
        # requests reports a read timeout in the middle of a streamed body as a ConnectionError.
        reason = "timeout" if "timed out" in str(exc).lower() else "connection_error"
        return _Transient(reason, str(exc))
    return _Transient("transport_error", f"{type(exc).__name__}: {exc}")


def _give_up(url: str, record_id: str, exc: _Transient, attempts: int) -> NoReturn:
    """The last attempt failed: content that kept being wrong rejects the record, the rest is retryable."""
    if exc.reason in ("md5_mismatch", "unexpected_content"):
        raise RecordError(record_id, exc.reason, f"{url}: {exc.detail} after {attempts} attempts") from exc
    said = f"{url}: {exc.detail}" if exc.detail and exc.detail != url else url  # the URL once
    raise RetryableError(f"{record_id}: {exc.reason} after {attempts} attempts ({said})") from exc


def _raise_for_status(resp: requests.Response, record_id: str) -> None:
    """Decide what a status code means for the caller: success, retry, or a rejected record."""
    code = resp.status_code
    if 200 <= code < 300:
        return
    url = redact(resp.url)
    if code in _NOT_FOUND:
        raise RecordError(record_id, "not_found", f"HTTP {code} {url}")
    if code == 429 or code >= 500:
        raise _Transient(f"http_{code}", url, parse_retry_after(resp.headers.get("Retry-After")))
    raise RecordError(record_id, f"http_{code}", url)


def redact(url: str) -> str:
    """The URL with secrets (``api_key=...``) masked, for messages that end up in logs and tables."""
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=***", url)


def _check_length(resp: requests.Response, received: int) -> None:
    """Catch a short body even where the transport did not (only when the length is the raw one)."""
    declared = resp.headers.get("Content-Length")
    if declared is None or resp.headers.get("Content-Encoding", "identity") != "identity":
        return
    if declared.isdigit() and int(declared) != received:
        raise _Transient("truncated", f"received {received} of {declared} bytes")


def _stream_to(
    resp: requests.Response,
    dest: Path,
    expected: str | None,
    verify_etag: bool,
    n: int,
    check: Callable[[Path], str | None] | None = None,
) -> Download:
    """Write the body to a temp file, check length and md5, then rename it onto ``dest``."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    with _temp_file(dest) as (tmp, fh):
        for chunk in resp.iter_content(CHUNK_SIZE):
            fh.write(chunk)
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
        _check_length(resp, size)
        etag = clean_etag(resp.headers.get("ETag"))
        checked = _verify_md5(md5.hexdigest(), expected, etag if verify_etag else None)
        fh.flush()
        problem = _content_problem(resp, dest, tmp, check)
        if problem is not None:
            raise _Transient("unexpected_content", problem)
        _commit_temp(fh, tmp, dest)
    return Download(resp.url, dest, size, md5.hexdigest(), sha256.hexdigest(), etag, n, checked)


def _content_problem(
    resp: requests.Response, dest: Path, tmp: Path, check: Callable[[Path], str | None] | None
) -> str | None:
    """What is wrong with a body that arrived whole: an HTML page instead of the file, or what
    ``check`` finds in it."""
    content_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "text/html" and dest.suffix.lower() not in (".html", ".htm"):
        return f"an HTML page came for {dest.name}"
    return check(tmp) if check is not None else None


def _verify_md5(actual: str, expected: str | None, etag: str | None) -> str | None:
    """Compare against the published md5, else a single-part S3 ETag; say which one was used."""
    if expected is not None:
        if actual != expected:
            raise _Transient("md5_mismatch", f"expected {expected}, got {actual}")
        return "expected"
    if etag is not None and _MD5_HEX.match(etag):
        if actual != etag:
            raise _Transient("md5_mismatch", f"ETag {etag}, got {actual}")
        return "etag"
    return None


def clean_etag(value: str | None) -> str | None:
    """``W/"abc"`` -> ``abc``; ``None`` stays ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower() or None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; ``None`` when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# -- atomic files ---------------------------------------------------------------------------


def temp_path_for(dest: Path) -> Path:
    """A unique hidden sibling of ``dest``: same filesystem, so ``os.replace`` is atomic."""
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


@contextlib.contextmanager
def _temp_file(dest: Path) -> Iterator[tuple[Path, IO[bytes]]]:
    """Open a temp sibling of ``dest``; it is removed unless it was renamed into place."""
    tmp = temp_path_for(dest)
    try:
        with open(tmp, "xb") as fh:
            yield tmp, fh
    finally:
        tmp.unlink(missing_ok=True)


def _commit_temp(fh: IO[bytes], tmp: Path, dest: Path) -> None:
    """Flush and fsync the temp file, rename it over ``dest``, and fsync the folder entry."""
    fh.flush()
    os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
    fsync_dir(dest.parent)


def atomic_write(path: Path | str, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old content or all of ``data``, never a part."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _temp_file(dest) as (tmp, fh):
        fh.write(data)
        _commit_temp(fh, tmp, dest)


def fsync_dir(path: Path) -> None:
    """Persist a rename; some filesystems cannot fsync a directory, which is harmless here."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
