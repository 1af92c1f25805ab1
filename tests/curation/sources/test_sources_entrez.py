"""search_pmc: ESearch on the history server, paged, through the shared limiter, against the fake server."""

from __future__ import annotations

import time

import pytest
from pmc_server import CASE_REPORTS, FakePmcServer

from mmrare.curation.sources.entrez import (
    CC_LICENCE_FILTER,
    DEFAULT_QUERY,
    build_query,
    ncbi_limiter,
    parse_esearch,
    search_pmc,
)
from mmrare.curation.sources.http import RateLimiter
from mmrare.errors import FatalError

ESEARCH = "/entrez/eutils/esearch.fcgi"
EMAIL = "curator@example.org"


class CountingLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(1000.0)
        self.acquired = 0

    def acquire(self) -> float:
        self.acquired += 1
        return super().acquire()


@pytest.fixture
def server(pmc_server: FakePmcServer) -> FakePmcServer:
    pmc_server.search_ids = [p.removeprefix("PMC") for p in CASE_REPORTS]
    return pmc_server


def test_pages_through_the_history_server(server: FakePmcServer, make_http) -> None:
    ids = search_pmc(
        DEFAULT_QUERY,
        7,
        mindate="2018",
        maxdate="2020/12/31",
        email=EMAIL,
        api_key="secret",
        base_url=server.eutils_url,
        client=make_http(),
        page_size=3,
    )
    assert ids == list(CASE_REPORTS)
    first, *pages = [h.query for h in server.hits_for(ESEARCH)]
    assert first["term"] == DEFAULT_QUERY and first["usehistory"] == "y" and first["db"] == "pmc"
    assert (first["datetype"], first["mindate"], first["maxdate"]) == ("pdat", "2018", "2020/12/31")
    assert [(p["retstart"], p["retmax"]) for p in pages] == [("3", "3"), ("6", "1")]
    assert all(
        p["term"] == "#1" and p["WebEnv"].startswith("MCID_") and p["usehistory"] == "y" for p in pages
    )
    for q in (first, *pages):
        assert (q["tool"], q["email"], q["api_key"]) == ("mmrare", EMAIL, "secret")


def test_stops_at_max_results(server: FakePmcServer, make_http) -> None:
    ids = search_pmc("x", 4, email=EMAIL, base_url=server.eutils_url, client=make_http(), page_size=3)
    assert ids == list(CASE_REPORTS[:4])
    assert [h.query["retmax"] for h in server.hits_for(ESEARCH)] == ["3", "1"]


def test_every_request_takes_a_limiter_slot_and_rate_limits_are_retried(
    server: FakePmcServer, make_http
) -> None:
    client = make_http()
    limiter = CountingLimiter()
    client.limiter = limiter
    server.add_fault(ESEARCH, "429")
    server.add_fault(ESEARCH, "500")
    ids = search_pmc("x", 100, email=EMAIL, base_url=server.eutils_url, client=client, page_size=5)
    assert ids == list(CASE_REPORTS)
    assert limiter.acquired == len(server.hits_for(ESEARCH)) == 2 + 2  # two pages, two retries


def test_without_a_client_the_process_wide_ncbi_limiter_paces_requests(server: FakePmcServer) -> None:
    assert ncbi_limiter("a") is ncbi_limiter("b") and ncbi_limiter("a").rate == 10.0
    assert ncbi_limiter(None).rate == 3.0
    t0 = time.monotonic()
    ids = search_pmc("x", 7, email=EMAIL, api_key="k", base_url=server.eutils_url, page_size=3)
    assert len(ids) == 7
    arrivals = sorted(h.at for h in server.hits_for(ESEARCH))
    assert len(arrivals) == 3
    # 10 req/s with a key: the k-th request cannot reach the server before t0 + k * 0.1 s
    assert all(at - t0 >= k * 0.1 - 1e-3 for k, at in enumerate(arrivals))


def test_phrases_ncbi_could_not_use_stop_the_search(server: FakePmcServer, make_http) -> None:
    server.search_error_list = {"PhraseNotFound": ["cse reprots"]}
    with pytest.raises(FatalError, match="PhraseNotFound: cse reprots"):
        search_pmc("cse reprots[pt]", 10, email=EMAIL, base_url=server.eutils_url, client=make_http())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": None}, "contact email"),
        ({"mindate": "2018"}, "together"),
        ({"mindate": "2018-01-01", "maxdate": "2019"}, "YYYY"),
    ],
)
def test_bad_settings_stop_before_any_request(
    server: FakePmcServer, make_http, kwargs: dict, message: str
) -> None:
    settings = {"email": EMAIL, "base_url": server.eutils_url, "client": make_http(), **kwargs}
    with pytest.raises(FatalError, match=message):
        search_pmc("x", 10, **settings)
    assert server.hits == []


def test_a_wrong_base_url_is_fatal_and_the_message_hides_the_api_key(
    server: FakePmcServer, make_http
) -> None:
    with pytest.raises(FatalError, match="not_found") as err:
        search_pmc(
            "x", 10, email=EMAIL, api_key="s3cr3t", base_url=server.base_url + "/nope/", client=make_http()
        )
    assert "api_key=***" in str(err.value) and "s3cr3t" not in str(err.value)


def test_parse_esearch_turns_an_error_element_into_a_fatal_error() -> None:
    reply = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n'
        b'<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN"'
        b' "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
        b"<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>"
    )
    with pytest.raises(FatalError, match="Invalid query"):
        parse_esearch(reply, "q")


def test_build_query_adds_the_licence_filter() -> None:
    assert build_query() == DEFAULT_QUERY
    assert build_query(licence_filter=CC_LICENCE_FILTER) == f'({DEFAULT_QUERY}) AND "cc license"[filter]'
