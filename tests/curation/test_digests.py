"""Stat-keyed package hashes: equal to a full read, re-read only what changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mmrare.curation.digests import PackageDigests
from mmrare.curation.process import package_content_sha256

SHARED = Path(__file__).resolve().parents[3] / "shared"
PACKAGE = SHARED / "pmc" / "packages" / "PMC6358576"


def _package(tmp_path: Path) -> tuple[Path, list[Path]]:
    folder = shutil.copytree(PACKAGE, tmp_path / "PMC6358576")
    xml = next(folder.glob("*.xml"))
    return xml, sorted(p for p in folder.iterdir() if p != xml)


def test_unchanged_packages_are_not_reread(tmp_path: Path) -> None:
    xml, files = _package(tmp_path)
    store = tmp_path / "digests.json"
    first = PackageDigests(store)
    assert first.content_sha256(xml, files) == package_content_sha256(xml, files)
    first.save()
    again = PackageDigests(store)
    assert again.content_sha256(xml, files) == package_content_sha256(xml, files)
    assert again.rehashed == 0


def test_a_same_size_edit_is_reread(tmp_path: Path) -> None:
    xml, files = _package(tmp_path)
    store = tmp_path / "digests.json"
    digests = PackageDigests(store)
    before = digests.content_sha256(xml, files)
    digests.save()
    data = bytearray(xml.read_bytes())
    data[-2:-1] = b" " if data[-2:-1] != b" " else b"\n"  # one byte, same size
    stat = xml.stat()
    xml.write_bytes(bytes(data))
    os.utime(xml, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the mtime put back
    later = PackageDigests(store)
    after = later.content_sha256(xml, files)
    assert later.rehashed == 1 and after != before and after == package_content_sha256(xml, files)


def test_corrupt_store_is_ignored_and_vanished_packages_dropped(tmp_path: Path) -> None:
    xml, files = _package(tmp_path)
    store = tmp_path / "digests.json"
    store.write_text("{not json")
    digests = PackageDigests(store)
    digests.content_sha256(xml, files)
    assert digests.rehashed == 1
    digests.save()
    empty = PackageDigests(store)
    empty.save()  # this discovery saw no package: the stale entry goes
    assert PackageDigests(store).content_sha256(xml, files) == package_content_sha256(xml, files)
    assert '"packages": {}' in store.read_text()
