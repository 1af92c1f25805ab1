"""Client for the PMC Cloud Service open-data bucket (``pmc-oa-opendata``) over plain HTTPS.

Layout used (the article-version layout PMC introduced in 2024; legacy prefixes live under
``deprecated/``)::

    metadata/PMC<id>.<v>.json      one JSON object per article version (see below)
    PMC<id>.<v>/PMC<id>.<v>.xml    the JATS XML  (also .txt, .pdf, .json in the same folder)
    PMC<id>.<v>/<media file>       figures and supplementary files, by their original names

Metadata fields read: ``pmcid``, ``version``, ``license_code`` (e.g. "CC BY", "CC BY-NC-ND"),
``is_retracted``, ``is_pmc_openaccess``, ``is_manuscript``, ``is_historical_ocr``, ``pmid``, ``doi``,
``xml_url``, ``pdf_url`` and ``media_urls``. URLs are ``s3://pmc-oa-opendata/<key>?md5=<hex>``; the md5
in the query is what downloads are checked against (else the S3 ETag of a single-part upload).
Versions are found by listing the bucket (ListObjectsV2, ``prefix=PMC<id>.``, ``delimiter=/``),
falling back to probing ``metadata/PMC<id>.1.json``, ``.2``, ... where listing is not allowed.

Ingestion records licence and retraction status but does not act on them: selection decides.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

from mmrare.errors import RecordError, RetryableError

from .content import content_problem
from .http import AttemptCounter, HttpClient
from .rawcache import (
    CachedFile,
    CachedPackage,
    PackageWriter,
    RawCache,
    check_file_name,
    package_key,
    parse_pmcid,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://pmc-oa-opendata.s3.amazonaws.com"
BUCKET = "pmc-oa-opendata"
SOURCE = "pmc-cloud"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".webp", ".bmp"})
_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_LISTING_REFUSED = frozenset({"http_400", "http_403", "http_405"})
# Without ListBucket permission (the usual reason listing is refused) S3 answers 403, not 404, for a
# key that does not exist; when probing, both mean "no such version".
_ABSENT = frozenset({"not_found", "http_403"})


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One object of an article-version folder, as announced by its metadata."""

    name: str  # path inside the version folder
    role: str  # "xml", "media" or "pdf"
    url: str  # HTTPS URL actually fetched
    md5: str | None  # published md5 (lower-case hex), when the metadata gives one


@dataclass(frozen=True, slots=True)
class ArticleMetadata:
    """The parts of ``metadata/PMC<id>.<v>.json`` that ingestion needs, plus the raw bytes."""

    pmcid: str
    version: int
    url: str
    raw: bytes
    licence_code: str | None
    retracted: bool | None
    open_access: bool | None
    xml: RemoteFile
    media: tuple[RemoteFile, ...]
    pdf: RemoteFile | None
    extra: dict[str, Any]

    @property
    def files(self) -> tuple[RemoteFile, ...]:
        """XML first: it is the file a package cannot do without."""
        return (self.xml, *self.media, *((self.pdf,) if self.pdf else ()))


class PmcCloudClient:
    """Fetches article versions from the bucket into a :class:`RawCache`. Thread-safe (stateless)."""

    source = SOURCE

    def __init__(
        self,
        http: HttpClient | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        bucket: str = BUCKET,
        media_suffixes: Iterable[str] | None = IMAGE_SUFFIXES,
        include_pdf: bool = False,
        discovery: Literal["list", "probe"] = "list",
        max_versions: int = 50,
    ) -> None:
        self.http = http or HttpClient()
        self.base_url = base_url.rstrip("/")
        self.bucket = bucket
        self.media_suffixes = None if media_suffixes is None else frozenset(s.lower() for s in media_suffixes)
        self.include_pdf = include_pdf
        self.discovery = discovery
        self.max_versions = max_versions

    # -- discovery ------------------------------------------------------------------------------

    def metadata_url(self, pmcid: str, version: int) -> str:
        return f"{self.base_url}/metadata/{package_key(pmcid, version)}.json"

    def versions(self, pmcid: str, counter: AttemptCounter | None = None) -> list[int]:
        """Versions present in the bucket, from a ListObjectsV2 of ``PMC<id>.`` (paged)."""
        pmcid = _normalise(pmcid)
        params = {"list-type": "2", "prefix": f"{pmcid}.", "delimiter": "/"}
        pattern = re.compile(rf"^{re.escape(pmcid)}\.(\d+)/$")
        found: set[int] = set()
        while True:
            resp = self.http.get(
                f"{self.base_url}/", params=params, record_id=pmcid, counter=counter, check=_not_xml
            )
            prefixes, token = _parse_listing(resp.content, resp.url)
            found.update(int(m.group(1)) for p in prefixes if (m := pattern.match(p)))
            if not token:
                return sorted(found)
            params = {**params, "continuation-token": token}

    def latest_version(self, pmcid: str, counter: AttemptCounter | None = None) -> int:
        """The highest version in the bucket; ``RecordError(pmcid, "not_found")`` when there is none."""
        version, _ = self._discover(_normalise(pmcid), counter)
        return version

    def metadata(self, pmcid: str, version: int, counter: AttemptCounter | None = None) -> ArticleMetadata:
        """Fetch and check ``metadata/PMC<id>.<v>.json``."""
        pmcid = _normalise(pmcid)
        url = self.metadata_url(pmcid, version)
        resp = self.http.get(url, record_id=pmcid, counter=counter, check=_not_json)
        return self._parse_metadata(resp.content, pmcid=pmcid, version=version, url=url)

    # -- fetching -------------------------------------------------------------------------------

    def fetch(
        self,
        pmcid: str,
        cache: RawCache,
        *,
        version: int | None = None,
        counter: AttemptCounter | None = None,
    ) -> CachedPackage:
        """Make ``pmcid`` (latest version unless given) complete in ``cache`` and return it.

        Raises ``RecordError`` (record rejected: not found, bad metadata, md5 mismatch; nothing of
        it is left in the cache) or ``RetryableError`` (transient; verified files are kept so the
        next run resumes where this one stopped).
        """
        pmcid = _normalise(pmcid)
        meta: ArticleMetadata | None = None
        if version is None:
            version, meta = self._discover(pmcid, counter)
        cached = cache.get(pmcid, version)
        if cached is not None:
            return cached
        meta = meta or self.metadata(pmcid, version, counter)
        return self._download(meta, cache, counter)

    def _discover(self, pmcid: str, counter: AttemptCounter | None) -> tuple[int, ArticleMetadata | None]:
        """Latest version by listing; by probing (which also yields its metadata) when listing is refused."""
        if self.discovery == "list":
            try:
                versions = self.versions(pmcid, counter)
            except RecordError as exc:
                if exc.reason not in _LISTING_REFUSED:
                    raise
                log.info("%s: bucket listing refused (%s); probing versions instead", pmcid, exc.reason)
            else:
                if not versions:
                    raise RecordError(pmcid, "not_found", f"no {pmcid}.<version>/ folder in {self.base_url}")
                return versions[-1], None
        return self._probe_latest(pmcid, counter)

    def _probe_latest(self, pmcid: str, counter: AttemptCounter | None) -> tuple[int, ArticleMetadata]:
        """Try v1, v2, ... until the first absent one; versions are numbered consecutively from 1."""
        latest: ArticleMetadata | None = None
        for version in range(1, self.max_versions + 1):
            try:
                latest = self.metadata(pmcid, version, counter)
            except RecordError as exc:
                if exc.reason not in _ABSENT:
                    raise
                break
        if latest is None:
            raise RecordError(pmcid, "not_found", f"no {self.metadata_url(pmcid, 1)}")
        return latest.version, latest

    def _download(
        self, meta: ArticleMetadata, cache: RawCache, counter: AttemptCounter | None
    ) -> CachedPackage:
        writer = cache.writer(meta.pmcid, meta.version)
        try:
            writer.write_bytes(
                f"{package_key(meta.pmcid, meta.version)}.json",
                meta.raw,
                role="metadata",
                url=meta.url,
                etag=None,
            )
            xml_file = self._obtain(writer, meta.xml, counter)
            for remote in meta.files[1:]:
                self._obtain(writer, remote, counter)
            return writer.commit(
                xml_name=meta.xml.name,
                licence_code=meta.licence_code,
                retracted=meta.retracted,
                open_access=meta.open_access,
                source=self.source,
                source_url=meta.xml.url,
                etag=xml_file.etag,
                extra={**meta.extra, "metadata_url": meta.url},
            )
        except RecordError:
            writer.discard()
            raise

    def _obtain(
        self, writer: PackageWriter, remote: RemoteFile, counter: AttemptCounter | None
    ) -> CachedFile:
        """Keep a verified file from an interrupted run, else download it (md5-checked)."""
        reused = writer.reuse(remote.name, remote.md5, role=remote.role, url=remote.url)
        if reused is not None:
            return reused
        done = self.http.download(
            remote.url,
            writer.path_for(remote.name),
            expected_md5=remote.md5,
            record_id=writer.pmcid,
            counter=counter,
            check=partial(content_problem, name=remote.name, role=remote.role),
        )
        file = CachedFile(remote.name, remote.role, done.size, done.sha256, done.md5, remote.url, done.etag)
        writer.add(file)
        return file

    # -- metadata parsing -----------------------------------------------------------------------

    def _parse_metadata(self, raw: bytes, *, pmcid: str, version: int, url: str) -> ArticleMetadata:
        """Check identity and turn the announced URLs into :class:`RemoteFile`; reject what is unusable."""
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise RecordError(pmcid, "bad_metadata", f"{url} is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise RecordError(pmcid, "bad_metadata", f"{url} is not a JSON object")
        _check_identity(body, pmcid, version, url)
        if not body.get("xml_url"):
            raise RecordError(pmcid, "no_xml", f"{url} has no xml_url")
        prefix = f"{package_key(pmcid, version)}/"
        media = [self._remote(u, "media", pmcid, prefix) for u in body.get("media_urls") or []]
        pdf_url = body.get("pdf_url") if self.include_pdf else None
        return ArticleMetadata(
            pmcid=pmcid,
            version=version,
            url=url,
            raw=raw,
            licence_code=body.get("license_code") or None,
            retracted=_flag(body.get("is_retracted")),
            open_access=_flag(body.get("is_pmc_openaccess")),
            xml=self._remote(body["xml_url"], "xml", pmcid, prefix),
            media=tuple(m for m in media if self._wanted(m.name)),
            pdf=self._remote(pdf_url, "pdf", pmcid, prefix) if pdf_url else None,
            extra={
                k: body.get(k) for k in ("pmid", "doi", "is_manuscript", "is_historical_ocr") if k in body
            },
        )

    def _remote(self, url: Any, role: str, pmcid: str, prefix: str) -> RemoteFile:
        """``s3://bucket/PMC1.1/a.jpg?md5=..`` (or an https URL of the same key) -> :class:`RemoteFile`."""
        parts = urlsplit(str(url))
        path = parts.path.lstrip("/")
        if parts.scheme == "s3" and parts.netloc != self.bucket:
            raise RecordError(pmcid, "bad_metadata", f"{url} is not in bucket {self.bucket}")
        if parts.scheme in {"http", "https"} and path.startswith(f"{self.bucket}/"):
            path = path[len(self.bucket) + 1 :]  # path-style S3 URL
        if parts.scheme not in {"s3", "http", "https"} or not path.startswith(prefix):
            raise RecordError(pmcid, "bad_metadata", f"{url} is outside {prefix}")
        try:
            name = check_file_name(path[len(prefix) :])
        except ValueError as exc:
            raise RecordError(pmcid, "bad_metadata", f"{url}: {exc}") from exc
        md5 = (parse_qs(parts.query).get("md5") or [None])[0]
        if md5 is not None and not _MD5_HEX.match(md5):
            log.warning("%s: ignoring malformed md5 %r in %s", pmcid, md5, url)
            md5 = None
        return RemoteFile(name, role, f"{self.base_url}/{quote(path)}", md5.lower() if md5 else None)

    def _wanted(self, name: str) -> bool:
        return self.media_suffixes is None or PurePosixPath(name).suffix.lower() in self.media_suffixes


def _not_json(content: bytes) -> str | None:
    """A metadata body cut short or replaced by an error page is retried, not taken as bad metadata."""
    try:
        json.loads(content)
    except ValueError as exc:
        return f"not JSON ({exc})"
    return None


def _not_xml(content: bytes) -> str | None:
    try:
        ET.fromstring(content)
    except ET.ParseError as exc:
        return f"not an XML listing ({exc})"
    return None


def _normalise(pmcid: str) -> str:
    """``"123"`` / ``"pmc123"`` -> ``"PMC123"``, so URLs and cache keys never depend on spelling."""
    try:
        return parse_pmcid(pmcid)[0]
    except ValueError as exc:
        raise RecordError(str(pmcid), "bad_pmcid", str(exc)) from None


def _check_identity(body: dict[str, Any], pmcid: str, version: int, url: str) -> None:
    """The JSON must describe the article version that was asked for."""
    got_id = str(body.get("pmcid") or pmcid).upper()
    got_version = body.get("version", version)
    if got_id != pmcid.upper() or str(got_version) != str(version):
        raise RecordError(pmcid, "metadata_mismatch", f"{url} describes {got_id}.{got_version}")


def _flag(value: Any) -> bool | None:
    """A JSON boolean, tolerating "true"/"false"/"yes"/"no"/1/0; ``None`` when absent or unclear."""
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1"}:
        return True
    if text in {"false", "no", "n", "0"}:
        return False
    return None


def _parse_listing(content: bytes, url: str) -> tuple[list[str], str | None]:
    """(common prefixes, continuation token or None) from a ListObjectsV2 response."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise RetryableError(f"unreadable bucket listing from {url}: {exc}") from exc
    prefixes = [p.text or "" for p in root.findall("{*}CommonPrefixes/{*}Prefix")]
    truncated = (root.findtext("{*}IsTruncated") or "false").strip().lower() == "true"
    token = root.findtext("{*}NextContinuationToken") if truncated else None
    return prefixes, token or None
