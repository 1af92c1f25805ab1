"""A download counts as complete only when its content is what was asked for (issue: with no md5
or ETag from the bucket, a 200 carrying an HTML page, or a body cut short by a closed connection,
was stored as a complete package and later runs called it cached)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pmc_server import PMC_DIR, FakePmcServer

from mmrare.curation.sources.cloud import PmcCloudClient
from mmrare.curation.sources.content import content_problem
from mmrare.curation.sources.http import HttpClient, RateLimiter
from mmrare.curation.sources.rawcache import RawCache
from mmrare.errors import RecordError

PMCID = "PMC7500000"


@pytest.fixture
def unsigned_server() -> Iterator[FakePmcServer]:
    """The bucket with no md5 in its URLs and no ETags: only the content can be checked."""
    server = FakePmcServer.from_shared(PMC_DIR)
    for article in server.articles.values():
        article.md5_in_urls = False
    server.send_etags = False
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _client(server: FakePmcServer) -> PmcCloudClient:
    http = HttpClient(
        RateLimiter(1000.0), max_attempts=3, timeout=(2.0, 2.0), backoff_base=0.001, backoff_cap=0.005
    )
    return PmcCloudClient(http, base_url=server.base_url)


def _xml_path(server: FakePmcServer) -> str:
    return server.file_path(PMCID, server.articles[f"{PMCID}.1"].xml_name)


def test_an_html_page_for_the_article_is_never_stored_as_complete(
    unsigned_server: FakePmcServer, tmp_path: Path
) -> None:
    unsigned_server.add_fault(_xml_path(unsigned_server), "html", times=-1)
    cache = RawCache(tmp_path / "raw")
    with pytest.raises(RecordError) as caught:
        _client(unsigned_server).fetch(PMCID, cache)
    assert caught.value.reason == "unexpected_content" and "HTML page" in caught.value.detail
    assert cache.get(PMCID, 1) is None and not list((tmp_path / "raw").rglob("_complete.json"))


@pytest.mark.parametrize("fault", ["cut", "html"])
def test_a_bad_body_once_is_fetched_again_and_then_stored(
    unsigned_server: FakePmcServer, tmp_path: Path, fault: str
) -> None:
    article = unsigned_server.articles[f"{PMCID}.1"]
    figure = article.media_names[0]
    unsigned_server.add_fault(unsigned_server.file_path(PMCID, figure), fault, times=1)
    unsigned_server.add_fault(_xml_path(unsigned_server), fault, times=1)
    cached = _client(unsigned_server).fetch(PMCID, RawCache(tmp_path / "raw"))
    assert (cached.dir / figure).read_bytes() == article.files[figure]
    assert (cached.dir / article.xml_name).read_bytes() == article.files[article.xml_name]


def test_content_checks_tell_whole_files_from_damaged_ones(tmp_path: Path) -> None:
    package = PMC_DIR / "packages" / PMCID
    xml = next(package.glob("*.xml"))
    jpg = next(package.glob("*.jpg"))
    assert content_problem(xml, name=xml.name, role="xml") is None
    assert content_problem(jpg, name=jpg.name, role="media") is None
    for source, role in ((xml, "xml"), (jpg, "media")):
        cut = tmp_path / source.name
        cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
        assert content_problem(cut, name=source.name, role=role) is not None
    page = tmp_path / "page.xml"
    page.write_text("<html><body>Service unavailable</body></html>")
    assert "no JATS <article>" in (content_problem(page, name="a.xml", role="xml") or "")


@pytest.mark.parametrize("where", ["metadata", "listing"])
def test_a_damaged_metadata_or_listing_reply_is_retried(
    unsigned_server: FakePmcServer, tmp_path: Path, where: str
) -> None:
    path = unsigned_server.metadata_path(PMCID) if where == "metadata" else "/"
    unsigned_server.add_fault(path, "corrupt", times=1)
    cached = _client(unsigned_server).fetch(PMCID, RawCache(tmp_path / "raw"))
    assert cached.pmcid == PMCID
