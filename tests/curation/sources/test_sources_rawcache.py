"""RawCache: complete means marker + intact files; partial folders are never returned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pmc_server import PMC_DIR, md5_hex

from mmrare.curation.sources.rawcache import (
    MARKER,
    CachedPackage,
    RawCache,
    check_file_name,
    parse_pmcid,
)
from mmrare.versions import INGEST_VERSION

PMCID = "PMC6358580"
SHARED_XML = PMC_DIR / "packages" / PMCID / f"{PMCID}.xml"
SHARED_FIGURE = PMC_DIR / "packages" / PMCID / "CG-CGCR180077F001.jpg"


def write_package(cache: RawCache, version: int = 1, *, commit: bool = True) -> CachedPackage | None:
    """Put the real PMC6358580 files into the cache the way a source client does."""
    writer = cache.writer(PMCID, version)
    writer.write_bytes(f"{PMCID}.{version}.xml", SHARED_XML.read_bytes(), role="xml", url="s3://x", etag="e1")
    writer.write_bytes(SHARED_FIGURE.name, SHARED_FIGURE.read_bytes(), role="media", url="s3://y", etag=None)
    if not commit:
        return None
    return writer.commit(
        xml_name=f"{PMCID}.{version}.xml",
        licence_code="CC BY-NC-ND",
        retracted=False,
        open_access=True,
        source="pmc-cloud",
        source_url="https://example/xml",
        etag="e1",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PMC6358580", ("PMC6358580", None)),
        ("pmc6358580", ("PMC6358580", None)),
        (" 6358580 ", ("PMC6358580", None)),
        ("PMC6358580.2", ("PMC6358580", 2)),
        ("PMC06358580", ("PMC6358580", None)),
    ],
)
def test_parse_pmcid(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_pmcid(text) == expected


@pytest.mark.parametrize("text", ["", "PMC", "PMCX1", "PMC1.0", "PMC0", "PMID123", "PMC1 PMC2", "PMC1.2.3"])
def test_parse_pmcid_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_pmcid(text)


def test_a_committed_package_is_returned_with_its_provenance(cache: RawCache) -> None:
    written = write_package(cache)
    got = cache.get(PMCID, 1)
    assert got == written and got is not None
    assert got.xml_path.read_bytes() == SHARED_XML.read_bytes()
    assert got.xml_md5 == md5_hex(SHARED_XML.read_bytes())
    assert got.md5s[SHARED_FIGURE.name] == md5_hex(SHARED_FIGURE.read_bytes())
    assert got.media_paths == (got.dir / SHARED_FIGURE.name,)
    assert (got.licence_code, got.retracted, got.etag, got.ingest_version) == (
        "CC BY-NC-ND",
        False,
        "e1",
        INGEST_VERSION,
    )
    marker = json.loads((got.dir / MARKER).read_text())
    assert {f["name"] for f in marker["files"]} == {f"{PMCID}.1.xml", SHARED_FIGURE.name}
    assert all(len(f["sha256"]) == 64 and len(f["md5"]) == 32 for f in marker["files"])
    assert marker["fetched_at"].endswith("Z") and marker["source_url"] == "https://example/xml"


def test_files_without_the_marker_are_a_partial_package(cache: RawCache) -> None:
    write_package(cache, commit=False)
    assert (cache.dir_for(PMCID, 1) / SHARED_FIGURE.name).is_file()
    assert cache.get(PMCID, 1) is None
    assert cache.latest(PMCID) is None and cache.versions(PMCID) == []


def test_a_missing_or_resized_file_makes_the_package_partial(cache: RawCache) -> None:
    package = write_package(cache)
    assert package is not None
    figure = package.dir / SHARED_FIGURE.name
    figure.write_bytes(figure.read_bytes()[:-1])
    assert cache.get(PMCID, 1) is None
    figure.unlink()
    assert cache.get(PMCID, 1) is None


def test_same_size_corruption_is_caught_only_by_a_deep_check(cache: RawCache) -> None:
    package = write_package(cache)
    assert package is not None
    figure = package.dir / SHARED_FIGURE.name
    data = bytearray(figure.read_bytes())
    data[100] ^= 0xFF
    figure.write_bytes(bytes(data))
    assert cache.get(PMCID, 1) is not None
    assert cache.get(PMCID, 1, verify_hashes=True) is None


def test_an_unreadable_marker_is_a_partial_package(cache: RawCache) -> None:
    package = write_package(cache)
    assert package is not None
    (package.dir / MARKER).write_text("{not json")
    assert cache.get(PMCID, 1) is None


def test_latest_is_the_highest_complete_version(cache: RawCache) -> None:
    write_package(cache, 1)
    write_package(cache, 3)
    write_package(cache, 4, commit=False)  # interrupted download of a newer version
    assert cache.versions(PMCID) == [1, 3]
    latest = cache.latest(PMCID)
    assert latest is not None and latest.version == 3
    assert cache.latest("PMC635858") is None  # a prefix of the id is another article


def test_reopening_a_package_withdraws_its_marker_and_clears_temp_files(cache: RawCache) -> None:
    write_package(cache)
    folder = cache.dir_for(PMCID, 1)
    (folder / f".{SHARED_FIGURE.name}.abc.part").write_bytes(b"half")
    writer = cache.writer(PMCID, 1)
    assert not (folder / MARKER).exists() and cache.get(PMCID, 1) is None
    assert not list(folder.glob("*.part")) and not list(folder.glob(".*.part"))
    # a file that still matches its published md5 is kept for the rewrite; a wrong one is not
    good = writer.reuse(SHARED_FIGURE.name, md5_hex(SHARED_FIGURE.read_bytes()), role="media", url="u")
    assert good is not None and good.size == SHARED_FIGURE.stat().st_size
    assert writer.reuse(SHARED_FIGURE.name, "0" * 32, role="media", url="u") is None
    assert writer.reuse(SHARED_FIGURE.name, None, role="media", url="u") is None
    writer.discard()
    assert not folder.exists()


def test_commit_requires_the_xml(cache: RawCache) -> None:
    writer = cache.writer(PMCID, 1)
    writer.write_bytes("a.jpg", b"x", role="media", url=None, etag=None)
    with pytest.raises(ValueError, match="XML"):
        writer.commit(
            xml_name="PMC6358580.1.xml",
            licence_code=None,
            retracted=None,
            open_access=None,
            source="t",
            source_url=None,
            etag=None,
        )
    assert cache.get(PMCID, 1) is None


@pytest.mark.parametrize("name", ["../x.jpg", "/etc/passwd", MARKER, ".hidden", "a\\b.jpg", "", "a/../b"])
def test_unsafe_file_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        check_file_name(name)
    with pytest.raises(ValueError):
        RawCache(tmp_path).writer(PMCID, 1).path_for(name)


def test_nested_names_stay_inside_the_package(cache: RawCache) -> None:
    writer = cache.writer(PMCID, 1)
    assert writer.path_for("figs/a.jpg") == cache.dir_for(PMCID, 1) / "figs" / "a.jpg"
