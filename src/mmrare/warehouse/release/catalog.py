"""``mmrare release ls``: the releases under ``workspace/releases`` and those the warehouse recorded.

A directory without a manifest is not a release (an interrupted build leaves only hidden temporary
directories, which are skipped); a recorded release whose directory is gone is listed as missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from mmrare.errors import FatalError
from mmrare.warehouse.release import reads
from mmrare.warehouse.release.manifest import read_manifest
from mmrare.warehouse.release.settings import check_version


@dataclass(frozen=True, slots=True)
class ReleaseEntry:
    version: str
    path: Path
    status: str  # ok | missing | no manifest
    created_at: str = ""
    items: int = 0
    dev: int = 0
    test: int = 0
    code_version: str = ""


def _sort_key(entry: ReleaseEntry) -> tuple[tuple[int, int, int], str]:
    try:
        return check_version(entry.version), entry.version
    except FatalError:
        return (1 << 30, 0, 0), entry.version


def list_releases(releases_root: Path, con: duckdb.DuckDBPyConnection | None = None) -> list[ReleaseEntry]:
    entries: dict[str, ReleaseEntry] = {}
    if releases_root.is_dir():
        for folder in sorted(p for p in releases_root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                doc = read_manifest(folder)
            except FatalError:
                entries[folder.name] = ReleaseEntry(folder.name, folder, "no manifest")
                continue
            total = (doc.get("counts") or {}).get("all") or {}
            entries[folder.name] = ReleaseEntry(
                version=str(doc.get("version", folder.name)),
                path=folder,
                status="ok",
                created_at=str(doc.get("created_at", "")),
                items=int(total.get("total", 0)),
                dev=int(total.get("dev", 0)),
                test=int(total.get("test", 0)),
                code_version=str(doc.get("code_version", "")),
            )
    if con is not None and reads.table_exists(con, "releases"):
        for version, path, created in con.execute(
            "SELECT version, path, created_at FROM releases ORDER BY version"
        ).fetchall():
            if version not in entries:
                entries[version] = ReleaseEntry(version, Path(path), "missing", str(created))
    return sorted(entries.values(), key=_sort_key)
