"""Find candidate PMC articles with NCBI ESearch on the history server, paged, parsed by Bio.Entrez.

Why the requests go through :class:`HttpClient` and not through ``Bio.Entrez.esearch``: in
Biopython 1.88 each E-utility function hard-codes its URL
(``cgi = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi"``) and sends it with its private
``_open``, which throttles on a module-global timestamp that
knows nothing of our other threads, calls ``urlopen`` without a timeout, retries 429/5xx at once
without sleeping and sleeps a flat ``sleep_between_tries`` on network errors. None of that
can be redirected to a test server or to our shared limiter without patching private names.
So the transport is ours (shared :class:`RateLimiter`, jittered backoff honouring Retry-After,
overridable base URL) and Biopython does what it is good at: ``Entrez.read`` parses and validates
the replies against NCBI's DTDs bundled with it and turns ``<ERROR>`` into an exception.
Biopython's module globals (``Entrez.email``, ``tool``, ``api_key``, ``max_tries``) are left
untouched: tool, email and api_key travel as parameters of each request instead.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

from Bio import Entrez

from mmrare.errors import FatalError, RecordError, RetryableError

from .http import HttpClient, RateLimiter

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
DEFAULT_QUERY = '"Case Reports"[pt] AND "open access"[filter]'
CC_LICENCE_FILTER = '"cc license"[filter]'
DEFAULT_TOOL = "mmrare"
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000  # ESearch's largest retmax
_DATE = re.compile(r"^\d{4}(/\d{1,2}(/\d{1,2})?)?$")

_ncbi_limiters: dict[bool, RateLimiter] = {}
_ncbi_limiters_lock = threading.Lock()


def ncbi_limiter(api_key: str | None = None) -> RateLimiter:
    """The process-wide limiter for NCBI (NCBI counts per IP / key, so every caller must share it)."""
    with _ncbi_limiters_lock:
        key = bool(api_key)
        if key not in _ncbi_limiters:
            _ncbi_limiters[key] = RateLimiter.for_ncbi(api_key)
        return _ncbi_limiters[key]


def build_query(base: str = DEFAULT_QUERY, licence_filter: str | None = None) -> str:
    """``base`` optionally narrowed by a licence filter, e.g. :data:`CC_LICENCE_FILTER`."""
    return f"({base}) AND {licence_filter}" if licence_filter else base


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One parsed ESearch reply."""

    count: int
    ids: tuple[str, ...]
    webenv: str | None
    query_key: str | None


def search_pmc(
    query: str = DEFAULT_QUERY,
    max_results: int = 10_000,
    *,
    mindate: str | None = None,
    maxdate: str | None = None,
    tool: str = DEFAULT_TOOL,
    email: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    client: HttpClient | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[str]:
    """PMCIDs (``"PMC123"``) matching ``query`` in db=pmc, at most ``max_results``, in NCBI's order.

    The first ESearch stores the result set on the history server (``usehistory=y``); further pages
    are read from that stored set (``term=#<QueryKey>`` + ``WebEnv``) so that articles added while
    paging cannot shift the pages. Dates filter on publication date (``datetype=pdat``) and go in
    pairs, as E-utilities requires. Without ``client``, requests use the process-wide NCBI limiter.
    """
    params = _base_params(query, mindate=mindate, maxdate=maxdate, tool=tool, email=email, api_key=api_key)
    if max_results <= 0:
        return []
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/esearch.fcgi"
    owned = client is None
    http = client or HttpClient(ncbi_limiter(api_key))
    try:
        ids = _collect_ids(http, url, params, query, max_results, page_size)
    finally:
        if owned:
            http.close()
    return [f"PMC{i}" for i in ids]


def _collect_ids(
    http: HttpClient, url: str, params: dict[str, str], query: str, max_results: int, page_size: int
) -> list[str]:
    """First page with the search itself, then pages from the stored history set."""
    first = _esearch(
        http,
        url,
        {**params, "usehistory": "y", "retstart": "0", "retmax": str(min(page_size, max_results))},
        query,
    )
    if first.webenv is None or first.query_key is None:
        raise RetryableError(f"ESearch returned no WebEnv/QueryKey for {query!r}")
    wanted = min(first.count, max_results)
    history = {k: v for k, v in params.items() if k not in {"term", "datetype", "mindate", "maxdate"}}
    history.update(term=f"#{first.query_key}", WebEnv=first.webenv, usehistory="y")
    ids = dict.fromkeys(first.ids)  # ordered set: NCBI's order, no duplicates
    offset = len(first.ids)
    while offset < wanted:
        retmax = min(page_size, wanted - offset)
        page = _esearch(http, url, {**history, "retstart": str(offset), "retmax": str(retmax)}, query)
        if not page.ids:
            log.warning(
                "ESearch history page at %d was empty; stopping with %d of %d ids", offset, len(ids), wanted
            )
            break
        offset += len(page.ids)
        ids.update(dict.fromkeys(page.ids))
    return list(ids)[:max_results]


def _base_params(
    query: str, *, mindate: str | None, maxdate: str | None, tool: str, email: str | None, api_key: str | None
) -> dict[str, str]:
    """Parameters common to every request; bad settings stop the run with a message saying what to fix."""
    if not query.strip():
        raise FatalError("the PMC search query is empty")
    if not email:
        raise FatalError("NCBI E-utilities require a contact email: pass email=... (e.g. from the config)")
    if (mindate is None) != (maxdate is None):
        raise FatalError("mindate and maxdate must be given together (E-utilities ignores one alone)")
    params = {"db": "pmc", "term": query, "tool": tool, "email": email, "retmode": "xml"}
    if api_key:
        params["api_key"] = api_key
    if mindate is not None and maxdate is not None:
        for name, value in (("mindate", mindate), ("maxdate", maxdate)):
            if not _DATE.match(value):
                raise FatalError(f"{name} must look like YYYY, YYYY/MM or YYYY/MM/DD, got {value!r}")
        params.update(datetype="pdat", mindate=mindate, maxdate=maxdate)
    return params


def _esearch(http: HttpClient, url: str, params: Mapping[str, str], query: str) -> SearchPage:
    """One ESearch request through the shared client, parsed and checked."""
    try:
        resp = http.get(url, params=params, record_id="esearch")
    except RecordError as exc:  # 4xx: bad parameters, bad API key, wrong base URL
        raise FatalError(f"E-utilities refused the search {query!r}: {exc.one_line()}") from exc
    except RetryableError as exc:  # the client's retries are spent: nothing to search with
        raise FatalError(f"E-utilities did not answer the search (network; try later): {exc}") from None
    try:
        return parse_esearch(resp.content, query)
    except RetryableError as exc:  # an outage or proxy page instead of an ESearch reply
        raise FatalError(f"{url}: the reply is not an ESearch result (an outage page?): {exc}") from None


def parse_esearch(content: bytes, query: str = "") -> SearchPage:
    """Parse an ESearch XML reply with ``Bio.Entrez.read`` (DTD-validated)."""
    try:
        record: Any = Entrez.read(io.BytesIO(content))
    except RuntimeError as exc:  # Bio.Entrez raises this for an <ERROR> element
        raise FatalError(f"E-utilities rejected the search {query!r}: {exc}") from exc
    except (ValueError, ExpatError) as exc:  # not XML, truncated, or not an ESearch reply
        raise RetryableError(f"unreadable ESearch reply for {query!r}: {exc}") from exc
    _check_error_list(record, query)
    return SearchPage(
        count=int(record["Count"]),
        ids=tuple(str(i) for i in record["IdList"]),
        webenv=str(record["WebEnv"]) if "WebEnv" in record else None,
        query_key=str(record["QueryKey"]) if "QueryKey" in record else None,
    )


def _check_error_list(record: Mapping[str, Any], query: str) -> None:
    """NCBI silently drops unknown phrases/fields and searches the rest: for us that is a wrong query."""
    errors = record.get("ErrorList") or {}
    problems = [f"{kind}: {', '.join(map(str, items))}" for kind, items in errors.items() if items]
    if problems:
        raise FatalError(f"E-utilities could not use part of the search {query!r}: {'; '.join(problems)}")
    for kind, items in (record.get("WarningList") or {}).items():
        if items and kind != "OutputMessage":
            log.warning("ESearch warning for %r: %s %s", query, kind, list(items))
