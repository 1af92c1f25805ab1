"""Local OA-package source: find JATS articles (and their figure files) under a directory.

Three layouts are recognised, walked in sorted (code-point) order so every run sees the same
sequence:

- a **package folder**: a directory holding one JATS file (``.xml``/``.nxml``) plus its figures,
  the layout of a PMC OA package;
- **loose articles**: a directory holding several JATS files and nothing else of substance; each
  file is its own package without figures on disk;
- **archives** (``.tar.gz``/``.tgz``, the PMC OA download format): extracted safely into
  ``extract_dir/<archive stem>/`` and then read as a package folder.

Archives are untrusted. Every member is checked *before* anything is written (no absolute paths,
no ``..``, no links, no devices or FIFOs, no duplicates; limits on member count, total size and
member size), so a reject names the specific problem; ``tarfile``'s ``filter="data"`` (PEP 706)
then guards the extraction itself as a second line of defence. Extraction goes to a temporary
directory that is renamed into place with a marker recording the archive's sha256, so a crash
never leaves a half-extracted package and an unchanged archive is never extracted twice.

Problems with one input never stop the scan: they are yielded as :class:`LocalReject` and the
caller stores them. Only a missing root or an unwritable ``extract_dir`` is fatal.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from mmrare.errors import FatalError, RecordError
from mmrare.versions import EXTRACTOR_VERSION

MARKER_NAME = ".mmrare-extracted.json"

SOURCE_DIR = "local-dir"
SOURCE_XML = "local-xml"
SOURCE_ARCHIVE = "local-archive"

# Reject reason codes.
UNSAFE_ARCHIVE_MEMBER = "unsafe_archive_member"
ARCHIVE_TOO_LARGE = "archive_too_large"
CORRUPT_ARCHIVE = "corrupt_archive"
NO_PACKAGE_IN_ARCHIVE = "no_package_in_archive"
DUPLICATE_ARCHIVE_NAME = "duplicate_archive_name"
NOT_JATS_XML = "not_jats_xml"
SYMLINK_REFUSED = "symlink_refused"
UNREADABLE_FILE = "unreadable_file"

DEFAULT_MAX_MEMBERS = 2_000
DEFAULT_MAX_TOTAL_BYTES = 1024**3
DEFAULT_MAX_MEMBER_BYTES = 500 * 1024**2

XML_SUFFIXES = (".xml", ".nxml")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# Files that describe a collection rather than belong to an article; never content of a package folder.
_COLLECTION_FILE = re.compile(r"^(manifest|readme|license|licence)([._-].*)?$", re.IGNORECASE)
_SNIFF_BYTES = 64 * 1024
# JATS root (possibly inside an OAI-PMH or efetch <pmc-articleset> envelope) or its DOCTYPE.
_JATS_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:article|pmc-articleset)[\s>/]|<!DOCTYPE\s+article[\s>]")
_CHUNK = 1024 * 1024
# Legitimate tar writers pad to a record (10 KiB by default); more than this after the end-of-archive
# marker is either corruption or an attempt to make us decompress a bomb.
_MAX_TRAILING_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what one archive may expand to; sizes are the uncompressed sizes in the tar headers."""

    max_members: int = DEFAULT_MAX_MEMBERS
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES


@dataclass(frozen=True, slots=True)
class LocalPackage:
    """One article found on disk: its JATS file and the files that may hold its figures.

    ``package_id`` is a filesystem name (folder, file or archive stem), stable across runs but not
    necessarily the PMCID: the parser reads that from the XML. ``package_dir`` is ``None`` for loose
    articles, which have no figure files. ``files`` are the package folder's other regular files,
    sorted, hidden files excluded. ``origin`` is what was found (folder, XML file or archive).
    """

    package_id: str
    xml_path: Path
    package_dir: Path | None
    files: tuple[Path, ...]
    source: str  # SOURCE_DIR, SOURCE_XML or SOURCE_ARCHIVE
    origin: Path
    archive_sha256: str | None = None
    notes: tuple[str, ...] = ()  # e.g. how the JATS file was chosen among several


@dataclass(frozen=True, slots=True)
class LocalReject:
    """An input that did not become a package, with a machine-friendly reason and a human detail."""

    path: Path
    reason: str
    detail: str = ""

    def error(self) -> RecordError:
        """The same reject as the project's record-level error, for the rejects table."""
        return RecordError(str(self.path), self.reason, self.detail)


@dataclass(slots=True)
class _Scan:
    """State shared by one scan: where archives go, their limits, and archive stems already used."""

    extract_dir: Path
    limits: ArchiveLimits
    skip_dir: Path | None
    stems: dict[str, str] = field(default_factory=dict)  # archive stem -> sha256


def scan_local(
    root: Path,
    extract_dir: Path,
    *,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Iterator[LocalPackage | LocalReject]:
    """Yield every package (or reject) under ``root`` in a deterministic order.

    ``root`` may also be a single JATS file or archive. ``extract_dir`` is skipped if it lies
    inside ``root``, so extracted archives are never found twice.
    """
    root = Path(root)
    extract_dir = Path(extract_dir)
    scan = _Scan(
        extract_dir=extract_dir,
        limits=ArchiveLimits(max_members, max_total_bytes, max_member_bytes),
        skip_dir=extract_dir.resolve(),
    )
    if root.is_dir():
        yield from _scan_dir(root, scan, allow_archives=True)
    elif root.is_file() and _is_archive(root):
        yield _archive_entry(root, scan)
    elif root.is_file() and _is_xml(root):
        yield _loose_entry(root, is_jats=looks_like_jats(root))
    elif root.exists():
        raise FatalError(f"local source {root} is neither a directory, a JATS file nor a .tar.gz archive")
    else:
        raise FatalError(f"local source {root} does not exist; check [sources] local_dirs in mmrare.toml")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large archives never sit in memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def looks_like_jats(path: Path) -> bool:
    """Cheap sniff: does the start of the file contain a JATS ``<article>`` root or DOCTYPE?

    Tells article files apart from other XML a package may carry (supplementary data, manifests).
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    return _JATS_ROOT.search(head) is not None


def archive_stem(archive: Path) -> str:
    """``PMC123.tar.gz`` -> ``PMC123``; the name of the archive's extraction folder."""
    name = Path(archive).name
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(archive).stem


# --- directory walking ------------------------------------------------------------------------------


def _scan_dir(directory: Path, scan: _Scan, *, allow_archives: bool) -> Iterator[LocalPackage | LocalReject]:
    """A directory is either one package folder or a holder of loose articles/archives; then recurse."""
    files, subdirs, links = _listing(directory)
    for link in links:
        yield LocalReject(link, SYMLINK_REFUSED, "symbolic links in sources are not followed; copy the file")
    jats = [f for f in files if _is_xml(f) and looks_like_jats(f)]
    package = _package_folder(directory, files, jats)
    if package is not None:
        yield package
    else:
        for path in files:
            if _is_xml(path):
                yield _loose_entry(path, is_jats=path in jats)
            elif allow_archives and _is_archive(path):
                yield _archive_entry(path, scan)
    for subdir in subdirs:
        if scan.skip_dir is not None and subdir.resolve() == scan.skip_dir:
            continue
        yield from _scan_dir(subdir, scan, allow_archives=allow_archives)


def _listing(directory: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """Visible regular files, real subdirectories and symbolic links, each sorted by name.

    Links are never followed: a link loop cannot make the walk endless, and a link cannot bring a
    file from outside the sources (``/etc/passwd`` as a figure) into the warehouse. Archives are
    refused for links inside them in the same way.
    """
    files: list[Path] = []
    subdirs: list[Path] = []
    links: list[Path] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                links.append(directory / entry.name)
            elif entry.is_dir(follow_symlinks=False):
                subdirs.append(directory / entry.name)
            elif entry.is_file(follow_symlinks=False):
                files.append(directory / entry.name)
    by_name = lambda p: p.name  # noqa: E731
    return sorted(files, key=by_name), sorted(subdirs, key=by_name), sorted(links, key=by_name)


def _package_folder(directory: Path, files: list[Path], jats: list[Path]) -> LocalPackage | None:
    """The package this folder is, or ``None`` when it only holds loose articles (or nothing).

    One JATS file makes a package folder, even with no other file (an article without figures).
    Several make one only beside content files (figures, supplements); otherwise they are loose.
    Archives inside a package folder are supplementary files, not packages to extract.
    """
    has_content = any(_is_content(f) for f in files)
    if not jats or (len(jats) > 1 and not has_content):
        return None
    main, notes = _choose_main_xml(directory, jats)
    return LocalPackage(
        package_id=directory.name,
        xml_path=main,
        package_dir=directory,
        files=tuple(f for f in files if f != main),
        source=SOURCE_DIR,
        origin=directory,
        notes=notes,
    )


def _choose_main_xml(directory: Path, jats: list[Path]) -> tuple[Path, tuple[str, ...]]:
    """Pick the article among JATS files: the only one, the one named like the folder, or the largest .nxml.

    Several JATS files beside figure files is unusual for an OA package, so the choice is noted.
    """
    if len(jats) == 1:
        return jats[0], ()
    named = [f for f in jats if _xml_stem(f) == directory.name]
    if len(named) == 1:
        main, rule = named[0], "named like the folder"
    else:
        pool = [f for f in jats if f.suffix.lower() == ".nxml"] or jats
        main = max(pool, key=lambda f: (f.stat().st_size, f.name))
        rule = "largest .nxml" if pool[0].suffix.lower() == ".nxml" else "largest XML"
    others = ", ".join(f.name for f in jats if f != main)
    return main, (f"{len(jats)} JATS files in package folder; chose {main.name} ({rule}); others: {others}",)


def _loose_entry(path: Path, *, is_jats: bool) -> LocalPackage | LocalReject:
    """A JATS file standing alone: its own package, with no figure files."""
    if not is_jats:
        return LocalReject(path, NOT_JATS_XML, f"no JATS <article> root in the first {_SNIFF_BYTES} bytes")
    return LocalPackage(
        package_id=_xml_stem(path),
        xml_path=path,
        package_dir=None,
        files=(),
        source=SOURCE_XML,
        origin=path,
    )


def _archive_entry(archive: Path, scan: _Scan) -> LocalPackage | LocalReject:
    """Extract an archive found by the scan, refusing a second, different archive with the same stem.

    Two different archives would otherwise share ``extract_dir/<stem>/`` and overwrite each other.
    """
    stem = archive_stem(archive)
    try:
        sha256 = sha256_file(archive)
    except OSError as exc:
        return LocalReject(archive, UNREADABLE_FILE, str(exc))
    seen = scan.stems.setdefault(stem, sha256)
    if seen != sha256:
        return LocalReject(
            archive, DUPLICATE_ARCHIVE_NAME, f"an archive named {stem} with other content came first"
        )
    return _archive_package(archive, sha256, scan.extract_dir, scan.limits)


def _is_xml(path: Path) -> bool:
    return path.suffix.lower() in XML_SUFFIXES


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _is_content(path: Path) -> bool:
    """Would this file make a folder a package (figures, supplements), as opposed to collection paperwork?"""
    if _is_xml(path) or _is_archive(path) or path.suffix.lower() == ".pdf":
        return False
    return _COLLECTION_FILE.match(path.name) is None


def _xml_stem(path: Path) -> str:
    return path.name[: -len(path.suffix)] if path.suffix else path.name


# --- archives --------------------------------------------------------------------------------------


def _archive_package(
    archive: Path, sha256: str, extract_dir: Path, limits: ArchiveLimits
) -> LocalPackage | LocalReject:
    """Extract (unless an extraction of this very archive is already in place) and find the package."""
    target = extract_dir / archive_stem(archive)
    if not _reusable(target, sha256, limits):
        try:
            _extract(archive, target, sha256, limits)
        except RecordError as exc:
            return LocalReject(archive, exc.reason, exc.detail)
    return _package_in_extraction(target, archive, sha256)


def _reusable(target: Path, sha256: str, limits: ArchiveLimits) -> bool:
    """Is ``target`` a finished extraction of exactly this archive, within today's limits?"""
    if target.is_symlink() or not target.is_dir():
        return False
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("extractor") != EXTRACTOR_VERSION:
        return False
    try:
        within_limits = (
            int(marker["members"]) <= limits.max_members
            and int(marker["total_bytes"]) <= limits.max_total_bytes
            and int(marker["largest_member_bytes"]) <= limits.max_member_bytes
        )
    except (KeyError, TypeError, ValueError):
        return False
    return marker.get("archive_sha256") == sha256 and within_limits


def _extract(archive: Path, target: Path, sha256: str, limits: ArchiveLimits) -> None:
    """Validate every member, then extract into a temp dir and rename it to ``target``.

    Raises ``RecordError`` with a specific reason for an unsafe, oversized or corrupt archive.
    """
    rid = str(archive)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = _validated_members(tar, limits, rid)
            _check_gzip_trailer(tar, rid)
            _extract_atomically(tar, members, target, _marker(archive, sha256, members))
    except tarfile.FilterError as exc:  # before TarError: it is one
        raise RecordError(rid, UNSAFE_ARCHIVE_MEMBER, f"rejected by tarfile's data filter: {exc}") from exc
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise RecordError(rid, CORRUPT_ARCHIVE, f"{type(exc).__name__}: {exc}") from exc


def _validated_members(tar: tarfile.TarFile, limits: ArchiveLimits, rid: str) -> list[tarfile.TarInfo]:
    """All members, each checked as soon as its header is read so a bad archive stops early."""
    members: list[tarfile.TarInfo] = []
    kinds: dict[tuple[str, ...], bool] = {}  # normalised name -> is a directory
    total = 0
    for member in tar:
        if len(members) >= limits.max_members:
            raise RecordError(rid, ARCHIVE_TOO_LARGE, f"more than {limits.max_members} members")
        problem = _member_problem(member)
        if problem is not None:
            raise RecordError(rid, UNSAFE_ARCHIVE_MEMBER, f"{member.name!r}: {problem}")
        key = tuple(p for p in PurePosixPath(member.name).parts if p != ".")
        if key in kinds and not (kinds[key] and member.isdir()):
            raise RecordError(rid, UNSAFE_ARCHIVE_MEMBER, f"{member.name!r}: duplicate member name")
        kinds[key] = member.isdir()
        if member.size > limits.max_member_bytes:
            detail = f"member {member.name!r} is {member.size} > {limits.max_member_bytes} bytes"
            raise RecordError(rid, ARCHIVE_TOO_LARGE, detail)
        total += member.size
        if total > limits.max_total_bytes:
            detail = f"more than {limits.max_total_bytes} bytes uncompressed"
            raise RecordError(rid, ARCHIVE_TOO_LARGE, detail)
        members.append(member)
    return members


def _check_gzip_trailer(tar: tarfile.TarFile, rid: str) -> None:
    """Read what follows the end-of-archive marker so gzip verifies its CRC and length trailer.

    ``tarfile`` stops at the marker and would never notice a corrupted or truncated tail.
    """
    stream = tar.fileobj
    if stream is None:
        return
    left = _MAX_TRAILING_BYTES
    while chunk := stream.read(min(_CHUNK, left + 1)):
        left -= len(chunk)
        if left < 0:
            detail = f"over {_MAX_TRAILING_BYTES} bytes after the end-of-archive marker"
            raise RecordError(rid, CORRUPT_ARCHIVE, detail)


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why this member must not be extracted, or ``None`` if it is a plain file or directory inside."""
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not name:
        return "empty name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in parts:
        return "'..' path component"
    if member.issym() or member.islnk():
        return f"link to {member.linkname!r}"
    if member.ischr() or member.isblk() or member.isfifo():
        return "device or FIFO"
    if not (member.isfile() or member.isdir()):
        return f"unsupported member type {member.type!r}"
    return None


def _marker(archive: Path, sha256: str, members: list[tarfile.TarInfo]) -> dict[str, object]:
    """What the done-marker records: which archive, by content, and how big its extraction is."""
    sizes = [m.size for m in members if m.isfile()]
    return {
        "archive_sha256": sha256,
        "archive_name": archive.name,
        "extractor": EXTRACTOR_VERSION,
        "members": len(members),
        "total_bytes": sum(sizes),
        "largest_member_bytes": max(sizes, default=0),
    }


def _extract_atomically(
    tar: tarfile.TarFile, members: list[tarfile.TarInfo], target: Path, marker: dict[str, object]
) -> None:
    """Extract into a hidden temp dir beside ``target``, write the marker last, then rename into place."""
    tmp = _make_temp_dir(target.parent, f".tmp-{target.name}-")
    try:
        tar.extractall(tmp, members=members, filter="data")
        (tmp / MARKER_NAME).write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _make_temp_dir(parent: Path, prefix: str) -> Path:
    """A fresh temp dir in ``parent``; an unwritable extraction area is fatal for the whole run."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:
        raise FatalError(f"cannot write archive extractions under {parent}: {exc}") from exc


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``, moving any stale extraction aside first and deleting it after."""
    if not (target.exists() or target.is_symlink()):
        os.replace(new, target)
        return
    trash = _make_temp_dir(target.parent, f".old-{target.name}-")
    os.replace(target, trash / "old")
    os.replace(new, target)
    shutil.rmtree(trash, ignore_errors=True)


def _package_in_extraction(target: Path, archive: Path, sha256: str) -> LocalPackage | LocalReject:
    """The single package inside an extracted archive, renamed after the archive."""
    found = [p for p in _scan_dir(target, _Scan(target, ArchiveLimits(), None), allow_archives=False)
             if isinstance(p, LocalPackage)]
    if len(found) != 1:
        names = ", ".join(str(p.xml_path.relative_to(target)) for p in found) or "none"
        return LocalReject(
            archive, NO_PACKAGE_IN_ARCHIVE, f"expected one JATS package folder, found {len(found)}: {names}"
        )
    return replace(
        found[0],
        package_id=archive_stem(archive),
        source=SOURCE_ARCHIVE,
        origin=archive,
        archive_sha256=sha256,
    )
