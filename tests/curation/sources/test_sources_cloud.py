"""PmcCloudClient against the fake bucket serving the real shared packages."""

from __future__ import annotations

import json

import pytest
from pmc_server import ALL_PACKAGES, FakePmcServer, md5_hex

from mmrare.curation.sources.cloud import PmcCloudClient
from mmrare.curation.sources.http import AttemptCounter
from mmrare.curation.sources.rawcache import MARKER, RawCache
from mmrare.errors import RecordError, RetryableError

PMCID = "PMC7500000"  # BMC Medical Genomics case report, CC BY 4.0, two figures
FIGURES = ("12920_2020_789_Fig1_HTML.jpg", "12920_2020_789_Fig2_HTML.jpg")


def test_fetches_a_real_package_byte_for_byte(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    counter = AttemptCounter()
    package = cloud.fetch(PMCID, cache, counter=counter)
    article = pmc_server.articles[f"{PMCID}.1"]

    assert (package.pmcid, package.version, package.source) == (PMCID, 1, "pmc-cloud")
    assert package.xml_path.name == f"{PMCID}.1.xml"
    assert package.xml_path.read_bytes() == article.shared_files[f"{PMCID}.1.xml"].read_bytes()
    for name in FIGURES:
        assert (package.dir / name).read_bytes() == article.shared_files[name].read_bytes()
        assert package.md5s[name] == md5_hex(article.shared_files[name].read_bytes())
    assert package.licence_code == "CC BY"  # from MANIFEST "CC BY 4.0", in the bucket's spelling
    assert (package.retracted, package.open_access) == (False, True)
    assert package.etag == package.xml_md5  # single-part S3 ETag
    assert package.extra["pmid"] == 32948182 and package.extra["metadata_url"].endswith(
        f"/metadata/{PMCID}.1.json"
    )
    assert json.loads((package.dir / f"{PMCID}.1.json").read_bytes())["license_code"] == "CC BY"
    assert cache.get(PMCID, 1) == package
    # one listing, one metadata JSON, the XML and the two figures
    assert counter.count == 5 == pmc_server.count_prefix(f"{PMCID}.")


def test_every_shared_package_round_trips(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    for pmcid in ALL_PACKAGES:
        package = cloud.fetch(pmcid, cache)
        article = pmc_server.articles[f"{pmcid}.1"]
        images = {n for n in article.media_names if n.endswith((".jpg", ".gif"))}
        assert {f.name for f in package.files if f.role == "media"} == images
        for f in package.files:
            if f.role != "metadata":
                assert f.md5 == md5_hex(article.shared_files[f.name].read_bytes()), (pmcid, f.name)
    assert not any(f.role == "pdf" for f in cache.get("PMC12419688", 1).files)  # PDFs only when asked


def test_pdf_is_fetched_when_asked(pmc_server: FakePmcServer, make_http, cache: RawCache) -> None:
    client = PmcCloudClient(make_http(), base_url=pmc_server.base_url, include_pdf=True)
    package = client.fetch("PMC12419688", cache)
    pdf = next(f for f in package.files if f.role == "pdf")
    assert pdf.name == "PMC12419688.1.pdf" and (package.dir / pdf.name).read_bytes().startswith(b"%PDF")


def test_latest_version_comes_from_the_bucket_listing(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    pmc_server.add_version(PMCID, 2, xml_suffix=b"\n<!-- v2 -->\n")
    pmc_server.listing_page_size = 1  # force the continuation-token path
    assert cloud.versions(PMCID) == [1, 2]
    package = cloud.fetch(PMCID, cache)
    assert package.version == 2 and package.xml_path.read_bytes().endswith(b"<!-- v2 -->\n")
    assert pmc_server.count(pmc_server.metadata_path(PMCID, 1)) == 0
    assert cache.versions(PMCID) == [2]


def test_versions_are_probed_when_listing_is_refused(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    pmc_server.add_version(PMCID, 2, xml_suffix=b"<!-- v2 -->")
    pmc_server.listing_forbidden = True
    package = cloud.fetch(PMCID, cache)
    assert package.version == 2
    # v3 answered 403 (S3 without list permission), which ends the probe; v2 was read only once
    probes = [pmc_server.count(pmc_server.metadata_path(PMCID, v)) for v in (1, 2, 3)]
    assert probes == [1, 1, 1]
    with pytest.raises(RecordError, match="not_found"):
        cloud.fetch("PMC999999", cache)


def test_pmcids_are_normalised(pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache) -> None:
    assert cloud.fetch("7500000", cache).pmcid == PMCID
    assert cloud.latest_version("pmc7500000") == 1
    with pytest.raises(RecordError, match="bad_pmcid"):
        cloud.fetch("PMID7500000", cache)


def test_an_explicit_version_needs_no_discovery_and_a_cached_one_no_request(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    cloud.fetch(PMCID, cache, version=1)
    assert pmc_server.count("/") == 0
    pmc_server.reset_counts()
    assert cloud.fetch(PMCID, cache, version=1).version == 1
    assert pmc_server.hits == []


def test_unknown_article_is_not_found(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    with pytest.raises(RecordError) as err:
        cloud.fetch("PMC999999", cache)
    assert (err.value.record_id, err.value.reason) == ("PMC999999", "not_found")
    with pytest.raises(RecordError, match="not_found"):
        cloud.fetch("PMC999999", cache, version=1)
    assert not cache.root.exists() or not any(cache.root.iterdir())


def test_md5_mismatch_is_retried_then_rejected_leaving_nothing_in_the_cache(
    pmc_server: FakePmcServer, make_http, cache: RawCache
) -> None:
    client = PmcCloudClient(make_http(max_attempts=3), base_url=pmc_server.base_url)
    pmc_server.articles[f"{PMCID}.1"].md5_override[FIGURES[1]] = "0" * 32
    with pytest.raises(RecordError) as err:
        client.fetch(PMCID, cache)
    assert (err.value.record_id, err.value.reason) == (PMCID, "md5_mismatch")
    assert pmc_server.count(pmc_server.file_path(PMCID, FIGURES[1])) == 3
    assert cache.get(PMCID, 1) is None and not cache.dir_for(PMCID, 1).exists()


def test_transient_faults_on_every_kind_of_request_are_ridden_out(
    pmc_server: FakePmcServer, make_http, cache: RawCache
) -> None:
    client = PmcCloudClient(make_http(timeout=(2.0, 0.5)), base_url=pmc_server.base_url)
    pmc_server.add_fault("/", "503")
    pmc_server.add_fault(pmc_server.metadata_path(PMCID), "429")
    pmc_server.add_fault(pmc_server.file_path(PMCID, f"{PMCID}.1.xml"), "500", times=2)
    pmc_server.add_fault(pmc_server.file_path(PMCID, FIGURES[0]), "truncate")
    pmc_server.add_fault(pmc_server.file_path(PMCID, FIGURES[1]), "timeout", delay=1.5)
    pmc_server.add_fault(pmc_server.file_path(PMCID, FIGURES[1]), "corrupt")
    counter = AttemptCounter()
    package = client.fetch(PMCID, cache, counter=counter)
    assert cache.get(PMCID, 1, verify_hashes=True) == package
    assert counter.count == 5 + 7  # five requests plus one retry per injected fault


def test_etag_guards_downloads_when_the_metadata_has_no_md5(
    pmc_server: FakePmcServer, make_http, cache: RawCache
) -> None:
    client = PmcCloudClient(make_http(max_attempts=2), base_url=pmc_server.base_url)
    article = pmc_server.articles[f"{PMCID}.1"]
    article.md5_in_urls = False
    assert client.fetch(PMCID, cache).md5s[FIGURES[0]] == md5_hex(article.files[FIGURES[0]])

    other = pmc_server.articles["PMC6358579.1"]
    other.md5_in_urls = False
    pmc_server.add_fault(pmc_server.file_path("PMC6358579", "CG-CGCR180082F002.jpg"), "corrupt", times=-1)
    with pytest.raises(RecordError, match="md5_mismatch"):
        client.fetch("PMC6358579", cache)
    assert not cache.dir_for("PMC6358579", 1).exists()


def test_retraction_and_licence_are_recorded_not_acted_on(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    pmc_server.articles[f"{PMCID}.1"].retracted = True
    package = cloud.fetch(PMCID, cache)
    assert package.retracted is True
    assert json.loads((package.dir / MARKER).read_text())["retracted"] is True


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"xml_url": None}, "no_xml"),
        ({"media_urls": ["s3://pmc-oa-opendata/PMC1.1/other.jpg?md5=" + "0" * 32]}, "bad_metadata"),
        ({"media_urls": ["s3://another-bucket/PMC7500000.1/x.jpg"]}, "bad_metadata"),
        ({"media_urls": ["s3://pmc-oa-opendata/PMC7500000.1/../PMC1.1/x.jpg"]}, "bad_metadata"),
        ({"media_urls": ["s3://pmc-oa-opendata/PMC7500000.1/_complete.json"]}, "bad_metadata"),
        ({"pmcid": "PMC1"}, "metadata_mismatch"),
        ({"version": 3}, "metadata_mismatch"),
    ],
)
def test_untrustworthy_metadata_rejects_the_record(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache, override: dict, reason: str
) -> None:
    pmc_server.articles[f"{PMCID}.1"].metadata_overrides = override
    with pytest.raises(RecordError) as err:
        cloud.fetch(PMCID, cache)
    assert err.value.reason == reason
    assert pmc_server.count_prefix(f"{PMCID}.1/") == 0  # no file was requested
    assert not cache.dir_for(PMCID, 1).exists()


def test_an_interrupted_package_resumes_with_only_the_missing_files(
    pmc_server: FakePmcServer, make_http, cache: RawCache
) -> None:
    client = PmcCloudClient(make_http(max_attempts=2), base_url=pmc_server.base_url)
    pmc_server.file_budget = 2  # the server dies after serving the XML and the first figure
    with pytest.raises(RetryableError):
        client.fetch(PMCID, cache, version=1)
    assert cache.get(PMCID, 1) is None  # partial: no marker
    assert (cache.dir_for(PMCID, 1) / FIGURES[0]).is_file()

    pmc_server.file_budget = None
    pmc_server.reset_counts()
    package = client.fetch(PMCID, cache, version=1)
    assert pmc_server.count(pmc_server.file_path(PMCID, f"{PMCID}.1.xml")) == 0
    assert pmc_server.count(pmc_server.file_path(PMCID, FIGURES[0])) == 0
    assert pmc_server.count(pmc_server.file_path(PMCID, FIGURES[1])) == 1
    assert cache.get(PMCID, 1, verify_hashes=True) == package
