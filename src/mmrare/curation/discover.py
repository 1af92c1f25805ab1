"""Turn configured source locations into curation work items, each with its content hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mmrare.curation.digests import PackageDigests
from mmrare.curation.process import PackageInput, package_content_sha256
from mmrare.curation.sources.local import DEFAULT_MAX_TOTAL_BYTES, LocalPackage, LocalReject, scan_local
from mmrare.curation.sources.rawcache import RawCache, parse_pmcid
from mmrare.records import Reject

_RAW_FOLDER = re.compile(r"^PMC\d+\.\d+$")


@dataclass(slots=True)
class Discovery:
    """Packages found, plus the inputs that could not even be opened (unsafe archives, ...)."""

    packages: list[PackageInput] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def discover_local(
    dirs: Iterable[Path],
    extract_dir: Path,
    versions: dict[str, str],
    digests: PackageDigests | None = None,
    *,
    max_archive_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> Discovery:
    """Scan local directories in a deterministic order; duplicate package ids keep the first.

    With ``digests``, a package whose files are unchanged since it was last hashed is not re-read.
    """
    found = Discovery()
    seen: set[str] = set()
    for root in dirs:
        if not root.exists():
            found.rejects.append(
                Reject(
                    str(root),
                    "ingest",
                    "source_missing",
                    "configured local directory does not exist",
                    str(root),
                    versions,
                )
            )
            continue
        # one extraction folder per root, so equal archive names under two roots never collide
        root_dir = extract_dir / hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        for item in scan_local(root, root_dir, max_total_bytes=max_archive_bytes):
            if isinstance(item, LocalReject):
                found.rejects.append(
                    Reject(str(item.path), "ingest", item.reason, item.detail, str(item.path), versions)
                )
                continue
            found.packages.append(_as_input(item, seen, digests))
    return found


def _as_input(pkg: LocalPackage, seen: set[str], digests: PackageDigests | None) -> PackageInput:
    package_id = pkg.package_id
    if package_id in seen:  # two sources with one name: keep both, distinguish by path
        package_id = f"{package_id}@{hashlib.sha256(str(pkg.xml_path).encode()).hexdigest()[:8]}"
    seen.add(package_id)
    return PackageInput(
        package_id=package_id,
        xml_path=pkg.xml_path,
        package_dir=pkg.package_dir,
        source=pkg.source,
        content_sha256=(
            package_content_sha256(pkg.xml_path, pkg.files)
            if digests is None
            else digests.content_sha256(pkg.xml_path, pkg.files)
        ),
    )


def discover_raw_cache(cache: RawCache) -> list[PackageInput]:
    """Complete packages of the remote-ingest cache, latest version per PMCID (partial ones are skipped).

    The content hash is derived from the sha256s recorded in the done-marker, so no file is re-read.
    """
    if not cache.root.exists():
        return []
    pmcids = sorted({parse_pmcid(p.name)[0] for p in cache.root.iterdir() if _RAW_FOLDER.match(p.name)})
    found = []
    for pmcid in pmcids:
        pkg = cache.latest(pmcid)
        if pkg is None:
            continue
        digest = hashlib.sha256()
        for f in sorted(pkg.files, key=lambda f: f.name):
            if f.role in ("xml", "media"):
                digest.update(f"{f.name}\0{f.sha256}\0".encode())
        found.append(
            PackageInput(
                package_id=pkg.key,
                xml_path=pkg.xml_path,
                package_dir=pkg.dir,
                source=pkg.source,
                content_sha256=digest.hexdigest(),
                retracted=bool(pkg.retracted),
            )
        )
    return found
