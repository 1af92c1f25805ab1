"""A real HTTP server on 127.0.0.1 playing the PMC Cloud bucket and NCBI ESearch, for tests.

It serves the real OA packages under ``shared/pmc/packages`` in the bucket's article-version
layout (``metadata/PMC<id>.<v>.json`` with real md5s and the MANIFEST licence, ``PMC<id>.<v>/`` with
the real XML and figure files, ListObjectsV2 listings) and ESearch XML replies backed by a history
server (WebEnv + QueryKey). Faults are injected per path and per count, and every request is logged
with its arrival time so tests can assert what went over the wire.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

SHARED = Path(__file__).resolve().parents[3] / "shared"  # tests/support -> tests -> repo -> its parent
PMC_DIR = SHARED / "pmc"

# The nine real packages of shared/pmc/packages (see its MANIFEST.tsv).
CASE_REPORTS = (
    "PMC6358576",
    "PMC6358577",
    "PMC6358578",
    "PMC6358579",
    "PMC6358580",
    "PMC6358581",
    "PMC7500000",
)
OTHER_PACKAGES = ("PMC10802347", "PMC12419688")
ALL_PACKAGES = CASE_REPORTS + OTHER_PACKAGES

BUCKET = "pmc-oa-opendata"
FAULT_KINDS = frozenset(
    {"429", "500", "503", "timeout", "truncate", "corrupt", "reset", "html", "cut", "drip", "wait"}
)
_ESEARCH_DOCTYPE = (
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">'
)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass
class ArticleVersion:
    """One article version as the bucket holds it."""

    pmcid: str
    version: int
    files: dict[str, bytes]  # name inside the version folder -> bytes
    xml_name: str
    pdf_name: str | None
    licence_code: str
    pmid: str | None = None
    doi: str | None = None
    title: str = ""
    retracted: bool = False
    md5_in_urls: bool = True
    md5_override: dict[str, str] = field(default_factory=dict)  # name -> md5 to announce instead
    shared_files: dict[str, Path] = field(default_factory=dict)  # served name -> original shared file
    metadata_overrides: dict[str, Any] = field(default_factory=dict)  # fields to replace in the JSON

    @property
    def key(self) -> str:
        return f"{self.pmcid}.{self.version}"

    @property
    def media_names(self) -> list[str]:
        return sorted(n for n in self.files if n not in {self.xml_name, self.pdf_name})

    def s3_url(self, name: str) -> str:
        url = f"s3://{BUCKET}/{self.key}/{quote(name)}"
        if self.md5_in_urls:
            url += f"?md5={self.md5_override.get(name, md5_hex(self.files[name]))}"
        return url

    def metadata(self) -> dict[str, Any]:
        """Field names of the real ``metadata/PMC<id>.<v>.json`` objects."""
        body: dict[str, Any] = {
            "pmcid": self.pmcid,
            "version": self.version,
            "pmid": int(self.pmid) if self.pmid else None,
            "doi": self.doi,
            "mid": None,
            "title": self.title,
            "citation": "",
            "is_pmc_openaccess": True,
            "is_manuscript": False,
            "is_historical_ocr": False,
            "is_retracted": self.retracted,
            "license_code": self.licence_code,
            "xml_url": self.s3_url(self.xml_name),
            "text_url": None,
            "pdf_url": self.s3_url(self.pdf_name) if self.pdf_name else None,
            "media_urls": [self.s3_url(n) for n in self.media_names],
        }
        return {**body, **self.metadata_overrides}


@dataclass
class Fault:
    kind: str
    remaining: int  # -1: every time
    delay: float = 0.0


@dataclass(frozen=True)
class Hit:
    path: str
    query: dict[str, str]
    at: float  # time.monotonic() on arrival


def licence_code(manifest_licence: str) -> str:
    """MANIFEST says "CC BY-NC-ND 4.0"; the bucket's license_code has no version: "CC BY-NC-ND"."""
    return re.sub(r"\s+\d+(\.\d+)?$", "", manifest_licence.strip())


def load_shared_packages(pmc_dir: Path) -> dict[str, ArticleVersion]:
    """Every package of ``shared/pmc/packages`` as version 1, keyed ``PMC<id>.1``."""
    articles: dict[str, ArticleVersion] = {}
    with open(pmc_dir / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["path"].startswith("pmc/packages/")]
    for row in rows:
        xml_path = pmc_dir.parent / row["path"]
        key = f"{row['pmcid']}.1"
        files: dict[str, bytes] = {f"{key}.xml": xml_path.read_bytes()}
        shared = {f"{key}.xml": xml_path}
        pdf_name = None
        for path in sorted(xml_path.parent.iterdir()):
            if path == xml_path:
                continue
            name = f"{key}.pdf" if path.suffix == ".pdf" else path.name
            pdf_name = name if path.suffix == ".pdf" else pdf_name
            files[name] = path.read_bytes()
            shared[name] = path
        articles[key] = ArticleVersion(
            pmcid=row["pmcid"],
            version=1,
            files=files,
            xml_name=f"{key}.xml",
            pdf_name=pdf_name,
            licence_code=licence_code(row["license"]),
            pmid=row["pmid"] or None,
            doi=row["doi"] or None,
            title=row["title"],
            shared_files=shared,
        )
    return articles


class FakePmcServer:
    """Bucket + ESearch on one port. Thread-safe counters; faults are consumed in order per path."""

    def __init__(self, articles: dict[str, ArticleVersion]) -> None:
        self.articles = articles
        self.search_ids: list[str] = sorted({a.pmcid.removeprefix("PMC") for a in articles.values()})
        self.search_error_list: dict[str, list[str]] = {}
        self.listing_forbidden = False
        self.send_etags = True  # False: the bucket gives no ETag, so only the content can be checked
        self.listing_page_size = 1000
        self.file_budget: int | None = None  # after this many file responses the server "dies"
        self.hits: list[Hit] = []
        self.counts: Counter[str] = Counter()
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._webenv = f"MCID_{uuid.uuid4().hex[:16]}"
        self._files_served = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_shared(cls, pmc_dir: Path) -> FakePmcServer:
        return cls(load_shared_packages(pmc_dir))

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakePmcServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-pmc", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def eutils_url(self) -> str:
        return f"{self.base_url}/entrez/eutils/"

    # -- test controls --------------------------------------------------------------------------

    def add_fault(self, path: str, kind: str, times: int = 1, delay: float = 0.0) -> None:
        """Make the next ``times`` requests for ``path`` fail with ``kind`` (-1: all of them)."""
        assert kind in FAULT_KINDS, kind
        with self._lock:
            self._faults.setdefault(path, []).append(Fault(kind, times, delay))

    def add_version(self, pmcid: str, version: int, *, xml_suffix: bytes) -> ArticleVersion:
        """A further version of an article: same files, XML with ``xml_suffix`` appended."""
        base = self.articles[f"{pmcid}.1"]
        key = f"{pmcid}.{version}"
        files = {n.replace(base.key, key) if n.startswith(base.key) else n: b for n, b in base.files.items()}
        files[f"{key}.xml"] = base.files[base.xml_name] + xml_suffix
        article = ArticleVersion(
            pmcid=pmcid,
            version=version,
            files=files,
            xml_name=f"{key}.xml",
            pdf_name=f"{key}.pdf" if base.pdf_name else None,
            licence_code=base.licence_code,
            pmid=base.pmid,
            doi=base.doi,
            title=base.title,
        )
        self.articles[key] = article
        return article

    def file_path(self, pmcid: str, name: str, version: int = 1) -> str:
        return f"/{pmcid}.{version}/{name}"

    def metadata_path(self, pmcid: str, version: int = 1) -> str:
        return f"/metadata/{pmcid}.{version}.json"

    def count(self, path: str) -> int:
        with self._lock:
            return self.counts[path]

    def count_prefix(self, prefix: str) -> int:
        """Requests for an article: pass ``"PMC123."`` to count its metadata, listing and files."""
        with self._lock:
            return sum(
                n for p, n in self.counts.items() if p.startswith((f"/{prefix}", f"/metadata/{prefix}"))
            ) + sum(1 for h in self.hits if h.path == "/" and h.query.get("prefix") == prefix)

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.counts.clear()

    # -- called by the handler ------------------------------------------------------------------

    def _record(self, path: str, query: dict[str, str]) -> None:
        with self._lock:
            self.hits.append(Hit(path, query, time.monotonic()))
            self.counts[path] += 1

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            if self.file_budget is not None and self._files_served >= self.file_budget:
                return Fault("reset", -1)
            queue = self._faults.get(path) or []
            while queue and queue[0].remaining == 0:
                queue.pop(0)
            if not queue:
                return None
            fault = queue[0]
            if fault.remaining > 0:
                fault.remaining -= 1
            return fault

    def _file_served(self) -> None:
        with self._lock:
            self._files_served += 1

    def listing(self, query: dict[str, str]) -> bytes:
        """ListObjectsV2 with delimiter "/": the version folders under ``prefix``, paged."""
        prefix = query.get("prefix", "")
        folders = sorted({f"{k}/" for k in self.articles if f"{k}/".startswith(prefix)})
        start = int(query.get("continuation-token") or 0)
        page = folders[start : start + self.listing_page_size]
        more = start + len(page) < len(folders)
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            f"<Name>{BUCKET}</Name><Prefix>{escape(prefix)}</Prefix><Delimiter>/</Delimiter>",
            f"<KeyCount>{len(page)}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>{str(more).lower()}</IsTruncated>",
            *(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in page),
            f"<NextContinuationToken>{start + len(page)}</NextContinuationToken>" if more else "",
            "</ListBucketResult>",
        ]
        return "".join(parts).encode()

    def esearch(self, query: dict[str, str]) -> bytes:
        """ESearch: a new search stores ``search_ids`` under QueryKey 1; ``term=#1`` + WebEnv pages it."""
        term = query.get("term", "")
        history = query.get("usehistory") == "y"
        if term.startswith("#") and not (history and query.get("WebEnv") == self._webenv and term == "#1"):
            return _esearch_xml("<ERROR>Unable to obtain query #1</ERROR>")
        start, retmax = int(query.get("retstart", 0)), int(query.get("retmax", 20))
        ids = self.search_ids[start : start + retmax]
        body = [
            f"<Count>{len(self.search_ids)}</Count><RetMax>{len(ids)}</RetMax><RetStart>{start}</RetStart>",
            f"<QueryKey>1</QueryKey><WebEnv>{self._webenv}</WebEnv>" if history else "",
            "<IdList>",
            *(f"<Id>{i}</Id>" for i in ids),
            "</IdList><TranslationSet/>",
            f"<QueryTranslation>{escape(term)}</QueryTranslation>",
        ]
        if self.search_error_list:
            items = "".join(f"<{k}>{escape(v)}</{k}>" for k, vs in self.search_error_list.items() for v in vs)
            body.append(f"<ErrorList>{items}</ErrorList>")
        return _esearch_xml("".join(body))


def _esearch_xml(inner: str) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8" ?>\n{_ESEARCH_DOCTYPE}\n'
    return f"{head}<eSearchResult>{inner}</eSearchResult>".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out or get reset on purpose are not errors worth printing."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakePmcServer
    protocol_version = "HTTP/1.0"  # one request per connection: a reset or a truncation ends it

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.fake._record(path, query)
        fault = self.fake._take_fault(path)
        if fault is not None and self._early_fault(fault):
            return
        status, body, headers = self._route(path, query)
        if status == 200 and fault is not None:
            self._late_fault(fault, body, headers)
            return
        self._send(status, body, headers)

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        fake = self.fake
        if path == "/" and query.get("list-type") == "2":
            if fake.listing_forbidden:
                return 403, b"<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"}
            return 200, fake.listing(query), {"Content-Type": "application/xml"}
        if path == "/entrez/eutils/esearch.fcgi":
            return 200, fake.esearch(query), {"Content-Type": "text/xml; charset=UTF-8"}
        if match := re.fullmatch(r"/metadata/(PMC\d+\.\d+)\.json", path):
            article = fake.articles.get(match.group(1))
            if article is None:
                return self._missing()
            body = json.dumps(article.metadata()).encode()
            return 200, body, {"Content-Type": "application/json", "ETag": f'"{md5_hex(body)}"'}
        if match := re.fullmatch(r"/(PMC\d+\.\d+)/(.+)", path):
            article = fake.articles.get(match.group(1))
            data = article.files.get(match.group(2)) if article else None
            if data is None:
                return self._missing()
            fake._file_served()
            headers = {"Content-Type": "application/octet-stream"}
            if fake.send_etags:
                headers["ETag"] = f'"{md5_hex(data)}"'
            return 200, data, headers
        return 404, b"not here", {}

    def _missing(self) -> tuple[int, bytes, dict[str, str]]:
        """S3 says 404 only to callers allowed to list the bucket; to others a missing key is a 403."""
        if self.fake.listing_forbidden:
            return 403, b"<Error><Code>AccessDenied</Code></Error>", {}
        return 404, b"<Error><Code>NoSuchKey</Code></Error>", {}

    def _early_fault(self, fault: Fault) -> bool:
        """Faults that replace the response: error statuses, a reset, or a stall before the headers."""
        if fault.kind in {"429", "500", "503"}:
            self._send(int(fault.kind), b"try again", {"Retry-After": "0"} if fault.kind != "500" else {})
            return True
        if fault.kind == "wait":  # a 503 that asks for a very long wait
            self._send(503, b"come back tomorrow", {"Retry-After": "100000"})
            return True
        if fault.kind == "reset":
            self.close_connection = True
            return True  # nothing written: the client sees the connection closed without a response
        if fault.kind == "timeout":
            time.sleep(fault.delay)
        return False

    def _late_fault(self, fault: Fault, body: bytes, headers: dict[str, str]) -> None:
        """Faults that damage a successful response: a short body, or flipped bytes."""
        if fault.kind == "truncate":
            self._send(200, body[: len(body) // 2], headers, content_length=len(body))
        elif fault.kind == "corrupt":
            self._send(200, bytes([body[0] ^ 0xFF]) + body[1:], headers)
        elif fault.kind == "drip":  # a byte now and then: no read timeout ever trips
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(fault.delay or 0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif fault.kind == "cut":  # no Content-Length, and the connection closes half way
            self.close_connection = True
            self._send(200, body[: len(body) // 2], headers, content_length=-1)
        elif fault.kind == "html":  # a proxy's or an outage page, with a 200 status
            page = b"<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>"
            self._send(200, page, {**headers, "Content-Type": "text/html"})
        else:
            self._send(200, body, headers)

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], content_length: int | None = None
    ) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            length = len(body) if content_length is None else content_length
            if length != -1:  # -1: none sent, the body ends when the connection closes
                self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to do
