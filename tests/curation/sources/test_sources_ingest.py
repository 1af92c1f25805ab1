"""ingest_pmcids: concurrent, resumable, one outcome per PMCID, failures isolated."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pmc_server import ALL_PACKAGES, FakePmcServer, md5_hex

from mmrare.curation.sources.cloud import PmcCloudClient
from mmrare.curation.sources.ingest import IngestOutcome, ingest_pmcids, read_pmcid_file
from mmrare.curation.sources.rawcache import RawCache
from mmrare.errors import FatalError
from mmrare.versions import INGEST_VERSION


class Interrupted(Exception):
    """Raised by a progress callback to stop a run midway, as a Ctrl-C or a crash would."""


def by_pmcid(outcomes: list[IngestOutcome]) -> dict[str, IngestOutcome]:
    counts = Counter(o.pmcid for o in outcomes)
    assert max(counts.values(), default=1) == 1, f"duplicate outcomes: {counts}"
    return {o.pmcid: o for o in outcomes}


def test_a_full_run_fetches_everything_once(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    wanted = [*ALL_PACKAGES, "6358579", "pmc7500000"]  # bare digits and repeats name the same articles
    seen: list[IngestOutcome] = []
    outcomes = by_pmcid(list(ingest_pmcids(wanted, cloud, cache, workers=4, progress=seen.append)))

    assert set(outcomes) == set(ALL_PACKAGES) and len(seen) == len(ALL_PACKAGES)
    for pmcid, o in outcomes.items():
        xml = pmc_server.articles[f"{pmcid}.1"].files[f"{pmcid}.1.xml"]
        assert (o.status, o.version, o.source, o.error, o.reason) == ("fetched", 1, "pmc-cloud", None, None)
        assert o.md5 == md5_hex(xml) == o.etag
        assert o.attempts == pmc_server.count_prefix(f"{pmcid}.")  # listing + metadata + files, no retries
        assert Path(o.local_dir or "").is_dir() and cache.get(pmcid, 1) is not None
        assert o.ingest_version == INGEST_VERSION
    assert outcomes["PMC7500000"].licence_code == "CC BY"
    assert outcomes["PMC6358576"].licence_code == "CC BY-NC-ND"


def test_a_second_run_is_all_cached_with_zero_requests(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    list(ingest_pmcids(ALL_PACKAGES, cloud, cache))
    pmc_server.reset_counts()
    outcomes = by_pmcid(list(ingest_pmcids(ALL_PACKAGES, cloud, cache, workers=3)))
    assert {o.status for o in outcomes.values()} == {"cached"}
    assert {o.attempts for o in outcomes.values()} == {0}
    assert pmc_server.hits == []


def test_one_bad_pmcid_does_not_stop_the_others(
    pmc_server: FakePmcServer, make_http, cache: RawCache
) -> None:
    cloud = PmcCloudClient(make_http(max_attempts=2), base_url=pmc_server.base_url)
    pmc_server.articles["PMC6358577.1"].md5_override["CG-CGCR180085F003.jpg"] = "f" * 32
    pmc_server.add_fault("/metadata/PMC6358578.1.json", "500", times=-1)
    outcomes = by_pmcid(list(ingest_pmcids([*ALL_PACKAGES, "PMC999999"], cloud, cache, workers=4)))

    failed = {p: o for p, o in outcomes.items() if o.status == "failed"}
    assert {p: o.reason for p, o in failed.items()} == {
        "PMC6358577": "md5_mismatch",
        "PMC6358578": "retry_exhausted",
        "PMC999999": "not_found",
    }
    assert failed["PMC999999"].version is None and failed["PMC999999"].attempts == 1
    assert failed["PMC6358578"].attempts == 1 + 2  # the listing, then two tries at the metadata
    assert all(o.error and "\n" not in o.error and o.local_dir is None for o in failed.values())
    assert failed["PMC6358577"].error.startswith("PMC6358577: md5_mismatch")
    assert not cache.dir_for("PMC6358577", 1).exists()  # a rejected record leaves nothing behind
    assert sum(o.status == "fetched" for o in outcomes.values()) == len(ALL_PACKAGES) - 2


def test_an_interrupted_run_resumes_with_only_what_is_missing(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    first: list[IngestOutcome] = []

    def stop_after_three(outcome: IngestOutcome) -> None:
        first.append(outcome)
        if len(first) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        for _ in ingest_pmcids(ALL_PACKAGES, cloud, cache, workers=2, progress=stop_after_three):
            pass
    done_before = {p for p in ALL_PACKAGES if cache.get(p, 1) is not None}
    assert {o.pmcid for o in first} <= done_before  # fetches already running were allowed to finish
    assert 3 <= len(done_before) < len(ALL_PACKAGES)  # queued ones were cancelled

    pmc_server.reset_counts()
    second = by_pmcid(list(ingest_pmcids(ALL_PACKAGES, cloud, cache, workers=4)))
    assert set(second) == set(ALL_PACKAGES)
    for pmcid, o in second.items():
        if pmcid in done_before:
            assert (o.status, o.attempts) == ("cached", 0)
            assert pmc_server.count_prefix(f"{pmcid}.") == 0
        else:
            assert o.status == "fetched" and o.attempts == pmc_server.count_prefix(f"{pmcid}.") > 0


def test_a_run_cut_off_by_a_dead_server_resumes_file_by_file(
    pmc_server: FakePmcServer, make_http, cache: RawCache
) -> None:
    cloud = PmcCloudClient(make_http(max_attempts=2), base_url=pmc_server.base_url)
    # One worker makes the cut-off exact: PMC6358576 (XML + 3 figures) and PMC6358577 (XML + 5)
    # complete, then the server dies after the XML and first figure of PMC6358578.
    pmc_server.file_budget = 12
    first = by_pmcid(list(ingest_pmcids(ALL_PACKAGES, cloud, cache, workers=1)))
    fetched = {p for p, o in first.items() if o.status == "fetched"}
    failed = {p for p, o in first.items() if o.status == "failed"}
    assert fetched == {"PMC6358576", "PMC6358577"} and failed == set(ALL_PACKAGES) - fetched
    assert {first[p].reason for p in failed} == {"retry_exhausted"}
    partial_files = {
        (p, f.name)
        for p in failed
        if cache.dir_for(p, 1).is_dir()
        for f in cache.dir_for(p, 1).iterdir()
        if f.suffix in {".xml", ".jpg", ".gif"}
    }
    assert partial_files == {("PMC6358578", "PMC6358578.1.xml"), ("PMC6358578", "CG-CGCR180076F001.jpg")}

    pmc_server.file_budget = None
    pmc_server.reset_counts()
    second = by_pmcid(list(ingest_pmcids(ALL_PACKAGES, cloud, cache, workers=4)))
    assert {p for p, o in second.items() if o.status == "cached"} == fetched
    assert {p for p, o in second.items() if o.status == "fetched"} == failed
    assert all(pmc_server.count_prefix(f"{p}.") == 0 for p in fetched)
    for pmcid, name in partial_files:  # verified files from the cut-off run are not downloaded again
        assert pmc_server.count(pmc_server.file_path(pmcid, name)) == 0, (pmcid, name)
    assert all(cache.get(p, 1, verify_hashes=True) is not None for p in ALL_PACKAGES)


def test_a_pinned_version_is_looked_up_as_such(
    pmc_server: FakePmcServer, cloud: PmcCloudClient, cache: RawCache
) -> None:
    pmc_server.add_version("PMC6358580", 2, xml_suffix=b"<!-- v2 -->")
    [o] = ingest_pmcids(["PMC6358580.1"], cloud, cache)
    assert (o.status, o.version) == ("fetched", 1)
    assert pmc_server.count("/") == 0  # no discovery needed
    [latest] = ingest_pmcids(["PMC6358580"], cloud, cache)
    assert (latest.status, latest.version) == ("cached", 1)  # any complete version counts as done
    [v2] = ingest_pmcids(["PMC6358580.2"], cloud, cache)
    assert (v2.status, v2.version) == ("fetched", 2)


def test_bad_input_stops_the_run(cloud: PmcCloudClient, cache: RawCache) -> None:
    with pytest.raises(FatalError, match="not a PMCID"):
        list(ingest_pmcids(["PMC1", "PMID2"], cloud, cache))
    with pytest.raises(FatalError, match="workers"):
        list(ingest_pmcids(["PMC1"], cloud, cache, workers=0))


def test_read_pmcid_file(tmp_path: Path) -> None:
    listing = tmp_path / "ids.txt"
    listing.write_text(
        "\ufeff# rare-disease case reports\nPMC6358579\n\n6358580   # bare digits are fine\n"
        "pmc7500000.1\nPMC6358579\n",
        encoding="utf-8",
    )
    assert read_pmcid_file(listing) == ["PMC6358579", "PMC6358580", "PMC7500000.1"]

    listing.write_text("PMC1\nPMC2\nPMID 3\n", encoding="utf-8")
    with pytest.raises(FatalError, match=r"ids\.txt:3: not a PMCID: 'PMID 3'"):
        read_pmcid_file(listing)
    with pytest.raises(FatalError, match="cannot read"):
        read_pmcid_file(tmp_path / "missing.txt")
