"""The local source over the real ../shared/pmc sample, and over good and hostile archives built in tmp."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mmrare.curation.sources import local
from mmrare.curation.sources.local import (
    ARCHIVE_TOO_LARGE,
    CORRUPT_ARCHIVE,
    DUPLICATE_ARCHIVE_NAME,
    MARKER_NAME,
    NO_PACKAGE_IN_ARCHIVE,
    NOT_JATS_XML,
    SOURCE_ARCHIVE,
    SOURCE_DIR,
    SOURCE_XML,
    UNSAFE_ARCHIVE_MEMBER,
    LocalPackage,
    LocalReject,
    scan_local,
    sha256_file,
)
from mmrare.errors import FatalError

SHARED = Path(__file__).resolve().parents[4] / "shared"
PMC = SHARED / "pmc"
PACKAGES = PMC / "packages"
PACKAGE = PACKAGES / "PMC6358579"  # 4 placeholder JPEGs
PACKAGE_JPEGS = [f"CG-CGCR180082F00{i}.jpg" for i in range(1, 5)]
JATS_BYTES = (PACKAGE / "PMC6358579.xml").read_bytes()

Result = LocalPackage | LocalReject


def packages_of(results: list[Result]) -> list[LocalPackage]:
    return [r for r in results if isinstance(r, LocalPackage)]


def rejects_of(results: list[Result]) -> list[LocalReject]:
    return [r for r in results if isinstance(r, LocalReject)]


def manifest_paths() -> set[str]:
    with (PMC / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        return {row["path"] for row in csv.DictReader(fh, delimiter="\t")}


def copy_folder(src: Path, dest: Path) -> Path:
    """Copy file contents only: the shared tree is read-only and its modes must not follow."""
    dest.mkdir(parents=True)
    for path in src.iterdir():
        shutil.copyfile(path, dest / path.name)
    return dest


def make_archive(dest: Path, folder: Path = PACKAGE, arcname: str | None = None) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(folder, arcname=arcname or folder.name)
    return dest


def add_file(tar: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_special(tar: tarfile.TarFile, name: str, kind: bytes, linkname: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    tar.addfile(info)


def files_outside(tmp_path: Path, extract: Path) -> set[Path]:
    return {p for p in tmp_path.rglob("*") if extract not in p.parents and p != extract}


# --- the shared sample -----------------------------------------------------------------------------


def test_shared_sample_gives_the_57_manifest_articles(tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    results = list(scan_local(PMC, extract))
    assert rejects_of(results) == []
    found = packages_of(results)
    assert len(found) == 57
    assert {str(p.xml_path.relative_to(SHARED / "pmc").as_posix()) for p in found} == {
        path.removeprefix("pmc/") for path in manifest_paths()
    }
    folders = [p for p in found if p.source == SOURCE_DIR]
    loose = [p for p in found if p.source == SOURCE_XML]
    assert [p.package_id for p in folders] == sorted(d.name for d in PACKAGES.iterdir())
    assert len(loose) == 48
    assert all(p.package_dir is None and p.files == () and p.origin == p.xml_path for p in loose)
    assert not extract.exists()  # no archives, nothing extracted


def test_package_folders_list_their_other_files(tmp_path: Path) -> None:
    found = {p.package_id: p for p in packages_of(list(scan_local(PACKAGES, tmp_path)))}
    pkg = found["PMC6358579"]
    assert (pkg.xml_path, pkg.package_dir, pkg.origin) == (PACKAGE / "PMC6358579.xml", PACKAGE, PACKAGE)
    assert [f.name for f in pkg.files] == PACKAGE_JPEGS
    assert [f.name for f in found["PMC12419688"].files] == ["koaf197.pdf", "koaf197f1.gif", "koaf197f1.jpg"]
    preprint = found["PMC10802347"]
    assert preprint.xml_path.name == "nihpp-2023.12.31.573776v1.nxml"
    assert len(preprint.files) == 7 and preprint.notes == ()


def test_scan_order_is_deterministic(tmp_path: Path) -> None:
    first = list(scan_local(PMC, tmp_path))
    assert first == list(scan_local(PMC, tmp_path))
    paths = [str(p.xml_path) for p in packages_of(first)]
    assert paths == sorted(paths)


def test_loose_package_ids_are_file_stems(tmp_path: Path) -> None:
    ids = [p.package_id for p in packages_of(list(scan_local(PMC / "articles", tmp_path)))]
    assert "pubmedparser_pone.0000217" in ids and "tidypmc_PMC6358585" in ids
    assert len(ids) == len(set(ids)) == 48


# --- archives: the good path -------------------------------------------------------------------------


@pytest.fixture
def mixed_root(tmp_path: Path) -> Path:
    """An archive and a plain package folder side by side, as a download directory would hold them."""
    root = tmp_path / "root"
    root.mkdir()
    make_archive(root / "PMC6358579.tar.gz")
    copy_folder(PACKAGES / "PMC6358580", root / "PMC6358580")
    (root / "README.md").write_text("downloaded packages\n")
    (root / ".DS_Store").write_bytes(b"\0")
    return root


def test_archive_is_extracted_and_yields_its_package(tmp_path: Path, mixed_root: Path) -> None:
    extract = tmp_path / "extract"
    results = list(scan_local(mixed_root, extract))
    assert rejects_of(results) == []
    archived, folder = packages_of(results)
    archive = mixed_root / "PMC6358579.tar.gz"
    assert (archived.package_id, archived.source, archived.origin) == ("PMC6358579", SOURCE_ARCHIVE, archive)
    assert archived.archive_sha256 == sha256_file(archive)
    assert archived.package_dir == extract / "PMC6358579" / "PMC6358579"
    assert archived.xml_path == archived.package_dir / "PMC6358579.xml"
    assert archived.xml_path.read_bytes() == JATS_BYTES
    assert [f.name for f in archived.files] == PACKAGE_JPEGS
    for f in archived.files:
        assert f.read_bytes() == (PACKAGE / f.name).read_bytes()
    assert (folder.package_id, folder.source) == ("PMC6358580", SOURCE_DIR)
    marker = json.loads((extract / "PMC6358579" / MARKER_NAME).read_text())
    assert marker["archive_sha256"] == archived.archive_sha256 and marker["members"] == 6
    assert sorted(os.listdir(extract)) == ["PMC6358579"]  # no temp dirs left behind


def test_second_scan_reuses_the_extraction(tmp_path: Path, mixed_root: Path) -> None:
    extract = tmp_path / "extract"
    first = list(scan_local(mixed_root, extract))
    target, marker = extract / "PMC6358579", extract / "PMC6358579" / MARKER_NAME
    before = (target.stat().st_ino, marker.stat().st_mtime_ns)
    assert list(scan_local(mixed_root, extract)) == first
    assert (target.stat().st_ino, marker.stat().st_mtime_ns) == before


def test_changed_archive_is_extracted_again(tmp_path: Path, mixed_root: Path) -> None:
    extract = tmp_path / "extract"
    list(scan_local(mixed_root, extract))
    make_archive(mixed_root / "PMC6358579.tar.gz", PACKAGES / "PMC6358578", arcname="PMC6358579")
    archived = packages_of(list(scan_local(mixed_root, extract)))[0]
    assert archived.xml_path.name == "PMC6358578.xml"
    assert len(archived.files) == 2
    assert archived.archive_sha256 == sha256_file(mixed_root / "PMC6358579.tar.gz")
    assert sorted(os.listdir(extract)) == ["PMC6358579"]


def test_half_finished_extraction_without_marker_is_replaced(tmp_path: Path, mixed_root: Path) -> None:
    extract = tmp_path / "extract"
    (extract / "PMC6358579").mkdir(parents=True)
    (extract / "PMC6358579" / "partial.jpg").write_bytes(b"half")
    archived = packages_of(list(scan_local(mixed_root, extract)))[0]
    assert not (extract / "PMC6358579" / "partial.jpg").exists()
    assert [f.name for f in archived.files] == PACKAGE_JPEGS


def test_extract_dir_inside_the_root_is_not_scanned(mixed_root: Path) -> None:
    extract = mixed_root / "_extracted"
    first = list(scan_local(mixed_root, extract))
    assert [p.package_id for p in packages_of(first)] == ["PMC6358579", "PMC6358580"]
    assert list(scan_local(mixed_root, extract)) == first


def test_flat_archive_without_top_folder(tmp_path: Path) -> None:
    archive = tmp_path / "PMC6358579.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(PACKAGE.iterdir()):
            tar.add(path, arcname=path.name)
    (pkg,) = list(scan_local(archive, tmp_path / "extract"))
    assert isinstance(pkg, LocalPackage)
    assert pkg.package_dir == tmp_path / "extract" / "PMC6358579"
    assert [f.name for f in pkg.files] == PACKAGE_JPEGS


# --- archives: hostile and broken ----------------------------------------------------------------------

Builder = Callable[[Path, Path], None]


def with_package(*extra: Callable[[tarfile.TarFile, Path], None]) -> Builder:
    """A valid package folder ``bad/`` plus the given extra members, so only those can cause a reject."""

    def build(dest: Path, tmp_path: Path) -> None:
        with tarfile.open(dest, "w:gz") as tar:
            add_file(tar, "bad/bad.xml", JATS_BYTES)
            for add in extra:
                add(tar, tmp_path)

    return build


def extra_files(count: int, size: int) -> Callable[[tarfile.TarFile, Path], None]:
    def add(tar: tarfile.TarFile, _: Path) -> None:
        for i in range(count):
            add_file(tar, f"bad/extra{i}.tif", bytes(size))

    return add


def truncated(dest: Path, tmp_path: Path) -> None:
    data = make_archive(tmp_path / "whole.tar.gz").read_bytes()
    (tmp_path / "whole.tar.gz").unlink()
    dest.write_bytes(data[: len(data) // 2])


def bad_crc(dest: Path, tmp_path: Path) -> None:
    data = bytearray(make_archive(tmp_path / "whole.tar.gz").read_bytes())
    (tmp_path / "whole.tar.gz").unlink()
    data[-8] ^= 0xFF  # the gzip trailer's CRC32; every tar header and member still reads fine
    dest.write_bytes(bytes(data))


def trailing_bomb(dest: Path, tmp_path: Path) -> None:
    with tarfile.open(dest, "w:gz") as tar:
        add_file(tar, "bad/bad.xml", JATS_BYTES)
        tar.fileobj.write(bytes(2 * 1024 * 1024))  # type: ignore[union-attr]  # reads as the end marker


def plain_tar(dest: Path, tmp_path: Path) -> None:
    with tarfile.open(dest, "w") as tar:  # not gzip-compressed despite its name
        add_file(tar, "bad/bad.xml", JATS_BYTES)


HOSTILE: list[tuple[str, Builder, dict[str, Any], str]] = [
    ("dotdot", with_package(lambda t, _: add_file(t, "bad/../../evil.txt")), {}, UNSAFE_ARCHIVE_MEMBER),
    ("absolute", with_package(lambda t, tmp: add_file(t, str(tmp / "outside" / "evil.txt"))), {},
     UNSAFE_ARCHIVE_MEMBER),
    ("symlink", with_package(lambda t, _: add_special(t, "bad/evil", tarfile.SYMTYPE, "/etc/passwd")), {},
     UNSAFE_ARCHIVE_MEMBER),
    ("inner-symlink", with_package(lambda t, _: add_special(t, "bad/evil", tarfile.SYMTYPE, "bad.xml")), {},
     UNSAFE_ARCHIVE_MEMBER),
    ("hardlink", with_package(lambda t, _: add_special(t, "bad/evil", tarfile.LNKTYPE, "/etc/passwd")), {},
     UNSAFE_ARCHIVE_MEMBER),
    ("fifo", with_package(lambda t, _: add_special(t, "bad/evil", tarfile.FIFOTYPE)), {},
     UNSAFE_ARCHIVE_MEMBER),
    ("chardev", with_package(lambda t, _: add_special(t, "bad/evil", tarfile.CHRTYPE)), {},
     UNSAFE_ARCHIVE_MEMBER),
    ("duplicate", with_package(lambda t, _: add_file(t, "./bad/bad.xml", b"<article>evil</article>")), {},
     UNSAFE_ARCHIVE_MEMBER),
    # The limits are set so that the good archive beside it (6 members, 78 kB, largest 19.5 kB) passes.
    ("too-many-members", with_package(extra_files(10, 1)), {"max_members": 8}, ARCHIVE_TOO_LARGE),
    ("oversize-member", with_package(extra_files(1, 100_000)), {"max_member_bytes": 50_000},
     ARCHIVE_TOO_LARGE),
    ("oversize-total", with_package(extra_files(4, 40_000)), {"max_total_bytes": 100_000}, ARCHIVE_TOO_LARGE),
    ("truncated", truncated, {}, CORRUPT_ARCHIVE),
    ("bad-crc", bad_crc, {}, CORRUPT_ARCHIVE),
    ("trailing-bomb", trailing_bomb, {}, CORRUPT_ARCHIVE),
    ("not-gzip", plain_tar, {}, CORRUPT_ARCHIVE),
    ("garbage", lambda dest, _: dest.write_bytes(b"\x1f\x8b definitely not a tarball"), {}, CORRUPT_ARCHIVE),
    ("empty", lambda dest, _: tarfile.open(dest, "w:gz").close(), {}, NO_PACKAGE_IN_ARCHIVE),
    ("no-jats", lambda dest, _: make_archive(dest, PACKAGE / PACKAGE_JPEGS[0], "bad/f.jpg"), {},
     NO_PACKAGE_IN_ARCHIVE),
]


@pytest.mark.parametrize(
    ("builder", "limits", "reason"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_hostile_archive_is_rejected_and_the_rest_comes_through(
    tmp_path: Path, mixed_root: Path, builder: Builder, limits: dict[str, Any], reason: str
) -> None:
    bad = mixed_root / "PMC9999999.tar.gz"
    builder(bad, tmp_path)
    extract = tmp_path / "extract"
    outside_before = files_outside(tmp_path, extract)

    results = list(scan_local(mixed_root, extract, **limits))

    (reject,) = rejects_of(results)
    assert (reject.path, reject.reason) == (bad, reason), reject.detail
    assert reject.detail
    assert [p.package_id for p in packages_of(results)] == ["PMC6358579", "PMC6358580"]
    assert files_outside(tmp_path, extract) == outside_before
    assert not list(tmp_path.rglob("evil*")) and not (tmp_path / "outside").exists()
    if reason != NO_PACKAGE_IN_ARCHIVE:
        assert sorted(os.listdir(extract)) == ["PMC6358579"]  # nothing extracted, no temp dirs left


def test_limits_are_rechecked_when_reusing_an_extraction(tmp_path: Path, mixed_root: Path) -> None:
    extract = tmp_path / "extract"
    list(scan_local(mixed_root, extract))
    (reject,) = rejects_of(list(scan_local(mixed_root, extract, max_members=3)))
    assert reject.reason == ARCHIVE_TOO_LARGE


def test_data_filter_is_the_second_line_of_defence(
    tmp_path: Path, mixed_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With our own member checks switched off, tarfile's data filter still refuses the escape."""
    monkeypatch.setattr(local, "_member_problem", lambda member: None)
    bad = mixed_root / "PMC9999999.tar.gz"
    with_package(lambda t, _: add_file(t, "bad/../../evil.txt"))(bad, tmp_path)
    (reject,) = rejects_of(list(scan_local(mixed_root, tmp_path / "extract")))
    assert reject.reason == UNSAFE_ARCHIVE_MEMBER and "data filter" in reject.detail
    assert not list(tmp_path.rglob("evil*"))
    assert sorted(os.listdir(tmp_path / "extract")) == ["PMC6358579"]


def test_two_different_archives_with_one_name(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for sub in ("a", "b"):
        (root / sub).mkdir(parents=True)
    make_archive(root / "a" / "PMC1.tar.gz", PACKAGE)
    make_archive(root / "b" / "PMC1.tar.gz", PACKAGES / "PMC6358578")
    first, second = list(scan_local(root, tmp_path / "extract"))
    assert isinstance(first, LocalPackage) and first.xml_path.name == "PMC6358579.xml"
    assert isinstance(second, LocalReject) and second.reason == DUPLICATE_ARCHIVE_NAME
    assert first.xml_path.exists()  # the first extraction was not overwritten


# --- folder layouts --------------------------------------------------------------------------------------


def test_folder_with_several_jats_files_picks_one_and_says_so(tmp_path: Path) -> None:
    folder = copy_folder(PACKAGE, tmp_path / "PMC6358579")
    (folder / "z-other.nxml").write_bytes(JATS_BYTES + b"<!-- padding to be the largest -->")
    (pkg,) = list(scan_local(tmp_path / "PMC6358579", tmp_path / "extract"))
    assert isinstance(pkg, LocalPackage)
    assert pkg.xml_path.name == "PMC6358579.xml"  # named like the folder beats the larger .nxml
    assert "z-other.nxml" in [f.name for f in pkg.files]
    assert len(pkg.notes) == 1 and "named like the folder" in pkg.notes[0]


def test_supplementary_xml_does_not_compete_with_the_article(tmp_path: Path) -> None:
    folder = copy_folder(PACKAGE, tmp_path / "pkg")
    (folder / "supplement.xml").write_text('<?xml version="1.0"?><dataset><row/></dataset>')
    (pkg,) = list(scan_local(folder, tmp_path / "extract"))
    assert isinstance(pkg, LocalPackage) and pkg.xml_path.name == "PMC6358579.xml" and pkg.notes == ()
    assert "supplement.xml" in [f.name for f in pkg.files]


def test_non_jats_xml_among_loose_articles_is_rejected(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    for name in ("tidypmc_PMC6358585.xml", "sibils_PMC2386533.xml"):
        shutil.copyfile(PMC / "articles" / name, loose / name)
    pubmed = "<?xml version='1.0'?><PubmedArticleSet><PubmedArticle/></PubmedArticleSet>"
    (loose / "pubmed.xml").write_text(pubmed)
    (loose / "MANIFEST.tsv").write_text("path\n")
    (loose / ".hidden.xml").write_bytes(JATS_BYTES)
    results = list(scan_local(loose, tmp_path / "extract"))
    assert [type(r).__name__ for r in results] == ["LocalReject", "LocalPackage", "LocalPackage"]
    assert results[0].path == loose / "pubmed.xml" and results[0].reason == NOT_JATS_XML
    assert all(p.package_dir is None for p in packages_of(results))


def test_single_file_roots(tmp_path: Path) -> None:
    (xml,) = list(scan_local(PACKAGE / "PMC6358579.xml", tmp_path))
    assert isinstance(xml, LocalPackage) and xml.source == SOURCE_XML and xml.package_dir is None


def test_missing_root_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="does not exist"):
        list(scan_local(tmp_path / "nope", tmp_path / "extract"))


def test_reject_converts_to_the_record_error() -> None:
    error = LocalReject(Path("x.tar.gz"), CORRUPT_ARCHIVE, "EOFError: truncated").error()
    assert error.one_line() == "x.tar.gz: corrupt_archive (EOFError: truncated)"
