"""Content-keyed cache of raw OA packages: ``root/PMC<id>.<version>/`` plus a done-marker written last.

Resume works on content, not on run numbers: a package is done exactly when its folder holds
``_complete.json`` and every file that marker lists, with the listed size. A folder without the
marker is the remains of an interrupted download; it is never returned and is redone (keeping any
file whose md5 still matches what the source publishes, so a resume re-downloads only what is
missing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from mmrare.errors import FatalError
from mmrare.versions import INGEST_VERSION

from .http import TEMP_SUFFIX, atomic_write, fsync_dir

log = logging.getLogger(__name__)

MARKER = "_complete.json"
MARKER_FORMAT = 1
_PMCID = re.compile(r"^(?:PMC)?(\d+)(?:\.(\d+))?$", re.IGNORECASE)
_FOLDER = re.compile(r"^PMC(\d+)\.(\d+)$")


def parse_pmcid(text: str) -> tuple[str, int | None]:
    """``"PMC123"``, ``"pmc123"``, ``"123"`` -> ``("PMC123", None)``; ``"PMC123.2"`` -> ``("PMC123", 2)``.

    Raises ``ValueError`` for anything else, so callers can say which input line was wrong.
    """
    match = _PMCID.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a PMCID: {text!r} (expected PMC<digits> or <digits>, optionally .<version>)")
    version = int(match.group(2)) if match.group(2) is not None else None
    if version == 0:
        raise ValueError(f"PMC article versions start at 1: {text!r}")
    return f"PMC{int(match.group(1))}", version


def check_file_name(name: str) -> str:
    """Return ``name`` if it is a safe relative path inside a package folder, else raise ``ValueError``.

    Names come from remote metadata, so they must not escape the folder (``..``, absolute paths),
    collide with the marker (``_*``) or with temp files (``.*``).
    """
    parts = PurePosixPath(name).parts
    if (
        not parts
        or name.startswith("/")
        or "\\" in name
        or any(p in {"", ".", ".."} or p.startswith((".", "_")) for p in parts)
    ):
        raise ValueError(f"unsafe file name {name!r}")
    return name


def package_key(pmcid: str, version: int) -> str:
    """The folder name and bucket prefix of one article version: ``PMC123.1``."""
    return f"{pmcid}.{version}"


def file_digests(path: Path) -> tuple[str, str]:
    """(md5, sha256) of a file, read in chunks."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


@dataclass(frozen=True, slots=True)
class CachedFile:
    """One file of a package as recorded in the done-marker."""

    name: str  # path relative to the package folder, POSIX separators
    role: str  # "xml", "media", "pdf" or "metadata"
    size: int
    sha256: str
    md5: str
    url: str | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class CachedPackage:
    """A complete package version in the cache: what the ingest step hands to the parser."""

    pmcid: str
    version: int
    dir: Path
    xml_path: Path
    files: tuple[CachedFile, ...]
    licence_code: str | None
    retracted: bool | None
    open_access: bool | None
    source: str  # e.g. "pmc-cloud"
    source_url: str | None  # where the XML came from
    etag: str | None  # ETag of the XML
    fetched_at: str
    ingest_version: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return package_key(self.pmcid, self.version)

    @property
    def md5s(self) -> dict[str, str]:
        return {f.name: f.md5 for f in self.files}

    @property
    def xml_md5(self) -> str:
        return next(f.md5 for f in self.files if f.role == "xml")

    @property
    def media_paths(self) -> tuple[Path, ...]:
        return tuple(self.dir / f.name for f in self.files if f.role == "media")


class RawCache:
    """The cache root. Safe for many threads working on *different* packages; one writer per package."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def dir_for(self, pmcid: str, version: int) -> Path:
        return self.root / package_key(pmcid, version)

    def get(self, pmcid: str, version: int, *, verify_hashes: bool = False) -> CachedPackage | None:
        """The complete package, or ``None`` when absent or partial (no marker, missing/short files).

        Sizes are always checked; ``verify_hashes`` also re-hashes every file (slow, for audits).
        """
        folder = self.dir_for(pmcid, version)
        marker = folder / MARKER
        if not marker.is_file():
            return None
        try:
            package = _package_from_marker(folder, json.loads(marker.read_bytes()))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: unreadable done-marker, treating as partial (%s)", folder, exc)
            return None
        if (package.pmcid, package.version) != (pmcid, version) or not _files_intact(package, verify_hashes):
            return None
        return package

    def versions(self, pmcid: str) -> list[int]:
        """Versions of ``pmcid`` that are complete in the cache, ascending."""
        found = []
        for folder in self.root.glob(f"{pmcid}.*"):
            match = _FOLDER.match(folder.name)
            if match and f"PMC{match.group(1)}" == pmcid and self.get(pmcid, int(match.group(2))):
                found.append(int(match.group(2)))
        return sorted(found)

    def latest(self, pmcid: str) -> CachedPackage | None:
        """The highest complete cached version of ``pmcid``, without any network call."""
        versions = self.versions(pmcid)
        return self.get(pmcid, versions[-1]) if versions else None

    def writer(self, pmcid: str, version: int) -> PackageWriter:
        """Start (or restart) writing one package version."""
        return PackageWriter(self, pmcid, version)

    def discard(self, pmcid: str, version: int) -> None:
        """Remove a package folder, complete or not."""
        shutil.rmtree(self.dir_for(pmcid, version), ignore_errors=True)


class PackageWriter:
    """Fills one package folder: files arrive atomically one by one, the marker comes last.

    Opening a writer on an existing folder first withdraws its marker (the package is being
    rewritten, so it must not look complete) and clears temp leftovers of an interrupted run.
    """

    def __init__(self, cache: RawCache, pmcid: str, version: int) -> None:
        self.pmcid = pmcid
        self.version = version
        self.dir = cache.dir_for(pmcid, version)
        self._files: dict[str, CachedFile] = {}
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FatalError(f"cannot create cache folder {self.dir}: {exc}") from exc
        (self.dir / MARKER).unlink(missing_ok=True)
        for leftover in self.dir.rglob(f"*{TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)

    def path_for(self, name: str) -> Path:
        """Where file ``name`` goes (see :func:`check_file_name`)."""
        return self.dir.joinpath(*PurePosixPath(check_file_name(name)).parts)

    def reuse(self, name: str, md5: str | None, *, role: str, url: str | None) -> CachedFile | None:
        """Record a file left by an interrupted run if it still has the published md5; else ``None``.

        Only an md5 published by the source counts: without one there is nothing to trust the old
        file against, so it is downloaded again.
        """
        path = self.path_for(name)
        if md5 is None or not path.is_file():
            return None
        actual_md5, sha256 = file_digests(path)
        if actual_md5 != md5.lower():
            return None
        file = CachedFile(name, role, path.stat().st_size, sha256, actual_md5, url, None)
        self._files[name] = file
        return file

    def add(self, file: CachedFile) -> None:
        """Record a file that is already in place (written atomically by the caller)."""
        if not self.path_for(file.name).is_file():
            raise FileNotFoundError(self.path_for(file.name))
        self._files[file.name] = file

    def write_bytes(
        self, name: str, data: bytes, *, role: str, url: str | None, etag: str | None
    ) -> CachedFile:
        """Atomically write a small file (e.g. the metadata JSON) and record it."""
        atomic_write(self.path_for(name), data)
        file = CachedFile(
            name=name,
            role=role,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            url=url,
            etag=etag,
        )
        self._files[name] = file
        return file

    def commit(
        self,
        *,
        xml_name: str,
        licence_code: str | None,
        retracted: bool | None,
        open_access: bool | None,
        source: str,
        source_url: str | None,
        etag: str | None,
        extra: dict[str, Any] | None = None,
    ) -> CachedPackage:
        """Write the done-marker (atomically, last) and return the complete package."""
        if xml_name not in self._files or self._files[xml_name].role != "xml":
            raise ValueError(f"{self.pmcid}.{self.version}: the XML {xml_name!r} was not added before commit")
        package = CachedPackage(
            pmcid=self.pmcid,
            version=self.version,
            dir=self.dir,
            xml_path=self.dir / xml_name,
            files=tuple(self._files.values()),
            licence_code=licence_code,
            retracted=retracted,
            open_access=open_access,
            source=source,
            source_url=source_url,
            etag=etag,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            ingest_version=INGEST_VERSION,
            extra=dict(extra or {}),
        )
        fsync_dir(self.dir)
        atomic_write(self.dir / MARKER, _marker_bytes(package))
        return package

    def discard(self) -> None:
        """Drop the whole folder (used when the record is rejected: nothing half-done stays behind)."""
        shutil.rmtree(self.dir, ignore_errors=True)


def _marker_bytes(package: CachedPackage) -> bytes:
    body = {
        "marker_format": MARKER_FORMAT,
        "pmcid": package.pmcid,
        "version": package.version,
        "xml": package.xml_path.name,
        "files": [asdict(f) for f in package.files],
        "licence_code": package.licence_code,
        "retracted": package.retracted,
        "open_access": package.open_access,
        "source": package.source,
        "source_url": package.source_url,
        "etag": package.etag,
        "fetched_at": package.fetched_at,
        "ingest_version": package.ingest_version,
        "extra": package.extra,
    }
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _package_from_marker(folder: Path, body: dict[str, Any]) -> CachedPackage:
    if body.get("marker_format") != MARKER_FORMAT:
        raise ValueError(f"unknown marker_format {body.get('marker_format')!r}")
    files = tuple(CachedFile(**f) for f in body["files"])
    return CachedPackage(
        pmcid=body["pmcid"],
        version=int(body["version"]),
        dir=folder,
        xml_path=folder / body["xml"],
        files=files,
        licence_code=body["licence_code"],
        retracted=body["retracted"],
        open_access=body["open_access"],
        source=body["source"],
        source_url=body["source_url"],
        etag=body["etag"],
        fetched_at=body["fetched_at"],
        ingest_version=body["ingest_version"],
        extra=body.get("extra") or {},
    )


def _files_intact(package: CachedPackage, verify_hashes: bool) -> bool:
    """Every listed file exists with its recorded size (and hash, when asked) and the XML is listed."""
    if not any(package.dir / f.name == package.xml_path and f.role == "xml" for f in package.files):
        return False
    for f in package.files:
        path = package.dir / f.name
        if not path.is_file() or path.stat().st_size != f.size:
            log.warning(
                "%s: %s is missing or has the wrong size; package treated as partial", package.dir, f.name
            )
            return False
        if verify_hashes and file_digests(path) != (f.md5, f.sha256):
            log.warning("%s: %s does not match its recorded hashes", package.dir, f.name)
            return False
    return True
