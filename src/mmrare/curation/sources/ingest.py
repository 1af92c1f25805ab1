"""Fetch many PMCIDs into the raw cache concurrently; one typed outcome per PMCID, never a database.

Resume is on content: a PMCID whose package is complete in the :class:`RawCache` is reported as
``cached`` without any network call; everything else is fetched. An interrupted run (exception in
the consumer, Ctrl-C, crash) leaves only complete packages or marker-less folders behind, so the
next run fetches exactly what is missing. The warehouse manifest is written elsewhere from the
outcomes; this module only produces them.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mmrare.errors import FatalError, RecordError, RetryableError
from mmrare.versions import INGEST_VERSION

from .http import AttemptCounter
from .rawcache import CachedPackage, RawCache, parse_pmcid

log = logging.getLogger(__name__)

Status = Literal["fetched", "cached", "failed"]
_FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES})
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What happened to one PMCID in one run; the manifest and the rejects table are built from these."""

    pmcid: str
    version: int | None  # None when the version could not be determined (e.g. not in the bucket)
    source: str  # where the package came from, e.g. "pmc-cloud"
    status: Status
    attempts: int  # HTTP attempts this run spent on the PMCID (0 when cached)
    local_dir: str | None
    md5: str | None  # md5 of the article XML
    etag: str | None  # ETag of the article XML, when known
    source_url: str | None
    licence_code: str | None
    retracted: bool | None
    reason: str | None  # machine-friendly failure code ("not_found", "md5_mismatch", "retry_exhausted", ...)
    error: str | None  # one line for people
    ingest_version: str = INGEST_VERSION


class PackageSource(Protocol):
    """What ingestion needs from a source client (:class:`~.cloud.PmcCloudClient` is one)."""

    source: str

    def fetch(
        self,
        pmcid: str,
        cache: RawCache,
        *,
        version: int | None = None,
        counter: AttemptCounter | None = None,
    ) -> CachedPackage: ...


def ingest_pmcids(
    pmcids: Iterable[str],
    cloud_client: PackageSource,
    cache: RawCache,
    workers: int = 4,
    progress: Callable[[IngestOutcome], None] | None = None,
) -> Iterator[IngestOutcome]:
    """Yield one outcome per distinct PMCID (``"PMC123"``, ``"123"`` or ``"PMC123.2"``), cached ones first.

    Fetches run on ``workers`` threads and are reported in completion order. A failing PMCID becomes a
    ``failed`` outcome and the others go on; only a :class:`FatalError` (e.g. disk full) stops the
    run. ``progress`` is called with each outcome before it is yielded; if it raises (or the consumer
    stops iterating), queued fetches are cancelled, running ones finish, and the error propagates.
    """
    if workers < 1:
        raise FatalError(f"workers must be at least 1, got {workers}")
    wanted = _distinct(pmcids)
    missing: list[tuple[str, int | None]] = []
    for pmcid, version in wanted:
        cached = cache.get(pmcid, version) if version is not None else cache.latest(pmcid)
        if cached is None:
            missing.append((pmcid, version))
        else:
            yield _report(_outcome(cached, "cached", attempts=0), progress)
    if missing:
        yield from _fetch_all(missing, cloud_client, cache, workers, progress)


def read_pmcid_file(path: Path | str) -> list[str]:
    """PMCIDs from a text file: one per line, ``#`` starts a comment, blank lines ignored.

    Accepts ``PMC123``, ``123`` and ``PMC123.2`` (a pinned version); returns ``PMC``-prefixed ids in
    file order without duplicates. A bad line stops with a message naming the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FatalError(f"cannot read the PMCID list {path}: {exc.strerror or exc}") from exc
    found: dict[str, None] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            pmcid, version = parse_pmcid(entry)
        except ValueError as exc:
            raise FatalError(f"{path}:{lineno}: {exc}") from None
        found[pmcid if version is None else f"{pmcid}.{version}"] = None
    return list(found)


def _distinct(pmcids: Iterable[str]) -> list[tuple[str, int | None]]:
    """Parse and de-duplicate by PMCID (first mention wins), so no PMCID gets two outcomes."""
    seen: dict[str, int | None] = {}
    for raw in pmcids:
        try:
            pmcid, version = parse_pmcid(str(raw))
        except ValueError as exc:
            raise FatalError(str(exc)) from None
        if pmcid in seen:
            if seen[pmcid] != version:
                log.warning("%s listed again with another version (%s); keeping the first", pmcid, raw)
            continue
        seen[pmcid] = version
    return list(seen.items())


def _fetch_all(
    missing: list[tuple[str, int | None]],
    source: PackageSource,
    cache: RawCache,
    workers: int,
    progress: Callable[[IngestOutcome], None] | None,
) -> Iterator[IngestOutcome]:
    """Keep at most ``2 * workers`` fetches queued: an interruption cancels fast and memory stays flat."""
    queue = iter(missing)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmrare-ingest")
    running: set[Future[IngestOutcome]] = set()

    def submit_next() -> None:
        item = next(queue, None)
        if item is not None:
            running.add(pool.submit(_fetch_one, item[0], item[1], source, cache))

    try:
        for _ in range(2 * workers):
            submit_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.discard(future)
                outcome = future.result()  # only FatalError (or a BaseException) escapes _fetch_one
                submit_next()
                yield _report(outcome, progress)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _fetch_one(pmcid: str, version: int | None, source: PackageSource, cache: RawCache) -> IngestOutcome:
    """Fetch one PMCID and turn every per-record failure into a ``failed`` outcome."""
    counter = AttemptCounter()
    try:
        package = source.fetch(pmcid, cache, version=version, counter=counter)
    except RecordError as exc:
        return _failed(pmcid, version, source, counter, exc.reason, exc.one_line())
    except RetryableError as exc:
        return _failed(pmcid, version, source, counter, "retry_exhausted", str(exc))
    except OSError as exc:
        if exc.errno in _FATAL_ERRNOS:
            raise FatalError(f"cannot write to the raw cache {cache.root}: {exc}") from exc
        return _failed(pmcid, version, source, counter, "io_error", f"{type(exc).__name__}: {exc}")
    except FatalError:
        raise
    except Exception as exc:  # a bug for one record must not stop the others; keep the traceback in the log
        log.exception("%s: unexpected error while fetching", pmcid)
        return _failed(pmcid, version, source, counter, "internal_error", f"{type(exc).__name__}: {exc}")
    return _outcome(package, "fetched", attempts=counter.count)


def _outcome(package: CachedPackage, status: Status, *, attempts: int) -> IngestOutcome:
    return IngestOutcome(
        pmcid=package.pmcid,
        version=package.version,
        source=package.source,
        status=status,
        attempts=attempts,
        local_dir=str(package.dir),
        md5=package.xml_md5,
        etag=package.etag,
        source_url=package.source_url,
        licence_code=package.licence_code,
        retracted=package.retracted,
        reason=None,
        error=None,
    )


def _failed(
    pmcid: str, version: int | None, source: PackageSource, counter: AttemptCounter, reason: str, error: str
) -> IngestOutcome:
    line = " ".join(error.split())
    if len(line) > _MAX_ERROR_CHARS:
        line = line[: _MAX_ERROR_CHARS - 1] + "…"
    log.warning("%s: %s", pmcid, line)
    return IngestOutcome(
        pmcid=pmcid,
        version=version,
        source=source.source,
        status="failed",
        attempts=counter.count,
        local_dir=None,
        md5=None,
        etag=None,
        source_url=None,
        licence_code=None,
        retracted=None,
        reason=reason,
        error=line,
    )


def _report(outcome: IngestOutcome, progress: Callable[[IngestOutcome], None] | None) -> IngestOutcome:
    if progress is not None:
        progress(outcome)
    return outcome
