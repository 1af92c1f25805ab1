"""Package content hashes remembered by file identity, so discovery re-reads only what changed.

Discovery keys all curation work on a sha256 over every byte of a package. Re-reading every byte of
every package on each build made adding 20 packages to a 2,000-package workspace re-read ~2,000
packages first. A package's hash is reused only when each of its files still has the same path,
size, inode, mtime and ctime (nanoseconds) as when it was hashed: ctime moves on any write, rename
or ``touch``, and cannot be set back by a user, so an edited file is always re-read. The file is a
cache, not a record: deleting it only costs one full re-read, and a corrupt one is ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from mmrare.curation.process import package_content_sha256

_FORMAT = 1


def _signature(paths: list[Path]) -> list[list[object]]:
    signature: list[list[object]] = []
    for path in paths:
        info = path.stat()
        signature.append([str(path), info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns])
    return signature


class PackageDigests:
    """``package_content_sha256`` with a stat-keyed memory in one JSON file (``save`` writes it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries = self._read(path)
        self._seen: dict[str, dict[str, object]] = {}
        self.rehashed = 0

    @staticmethod
    def _read(path: Path) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return {}
        packages = data.get("packages")
        return packages if isinstance(packages, dict) else {}

    def content_sha256(self, xml_path: Path, files: Iterable[Path]) -> str:
        """The package's content hash, re-reading its files only when one of them changed."""
        files = list(files)
        key = str(xml_path)
        # the stat is taken before the read: a write during hashing changes ctime, so it is re-read next time
        signature = _signature([xml_path, *sorted(files)])
        entry = self._entries.get(key)
        if entry is None or entry.get("signature") != signature:
            entry = {"signature": signature, "sha256": package_content_sha256(xml_path, files)}
            self.rehashed += 1
        self._seen[key] = entry
        return str(entry["sha256"])

    def save(self) -> None:
        """Write the packages seen in this discovery (atomically; vanished packages are dropped)."""
        if self._seen == self._entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": _FORMAT, "packages": self._seen}), encoding="utf-8")
        os.replace(tmp, self.path)
