"""``mmrare release diff A B``: items added, removed and changed between two releases, per track.

Rows are compared column by column, so a change reports which columns differ (an edit in review shows
up as ``question`` / ``options`` / ``answer`` with a new ``item_version``). Both releases are read from
their own files only; a file whose sha256 does not match its manifest stops the diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mmrare.errors import FatalError
from mmrare.warehouse.release.checks import sha256_file
from mmrare.warehouse.release.manifest import read_manifest
from mmrare.warehouse.release.schema import SPLITS, TRACKS, data_path


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One item present in both releases whose row differs."""

    item_id: str
    columns: tuple[str, ...]
    version_a: int
    version_b: int


@dataclass
class TrackDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass
class ReleaseDiff:
    a: str
    b: str
    tracks: dict[str, TrackDiff] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "tracks": {
                t: {
                    "added": d.added,
                    "removed": d.removed,
                    "changed": [
                        {
                            "item_id": c.item_id,
                            "columns": list(c.columns),
                            "item_version": [c.version_a, c.version_b],
                        }
                        for c in d.changed
                    ],
                    "unchanged": d.unchanged,
                }
                for t, d in self.tracks.items()
            },
        }


def read_rows(root: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """(version, item_id -> row) of a release, every Parquet file checked against the manifest."""
    doc = read_manifest(root)
    files = doc["files"]
    rows: dict[str, dict[str, Any]] = {}
    for track in TRACKS:
        for split in SPLITS:
            relative = data_path(track, split)
            if relative not in files:
                continue
            path = root / relative
            if not path.is_file():
                raise FatalError(f"{path}: listed in the manifest but missing")
            if sha256_file(path) != files[relative]:
                raise FatalError(f"{path}: sha256 does not match the manifest; run `mmrare release verify`")
            for row in pq.read_table(path).to_pylist():
                rows[row["item_id"]] = row
    return str(doc.get("version", root.name)), rows


def diff_releases(a: Path, b: Path) -> ReleaseDiff:
    version_a, rows_a = read_rows(Path(a))
    version_b, rows_b = read_rows(Path(b))
    out = ReleaseDiff(version_a, version_b, {t: TrackDiff() for t in TRACKS})
    for item_id in sorted(set(rows_a) | set(rows_b)):
        old, new = rows_a.get(item_id), rows_b.get(item_id)
        if old is None and new is not None:
            out.tracks[new["track"]].added.append(item_id)
        elif new is None and old is not None:
            out.tracks[old["track"]].removed.append(item_id)
        elif old is not None and new is not None:
            columns = tuple(k for k in new if old.get(k) != new[k])
            track = new["track"]
            if old["track"] != track:  # moved between tracks: removed from one, added to the other
                out.tracks[old["track"]].removed.append(item_id)
                out.tracks[track].added.append(item_id)
            elif columns:
                out.tracks[track].changed.append(
                    ItemChange(item_id, columns, int(old["item_version"]), int(new["item_version"]))
                )
            else:
                out.tracks[track].unchanged += 1
    return out
