"""manifest.json: the identity and provenance of a release, and the sha256 of every other file.

It is written last, so a directory with a manifest is complete, and it holds the only non-reproducible
field of a release (``created_at``); every other file is byte-identical for identical content.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError
from mmrare.warehouse.release.checks import sha256_file
from mmrare.warehouse.release.records import Exclusion, ReleaseItem, ReleaseProvenance
from mmrare.warehouse.release.schema import FORMAT, SPLITS, TRACKS

MANIFEST = "manifest.json"


def _count_row(items: Sequence[ReleaseItem]) -> dict[str, Any]:
    row: dict[str, Any] = {split: sum(1 for i in items if i.split == split) for split in SPLITS}
    row["total"] = len(items)
    row["leakage_clean"] = sum(1 for i in items if i.leakage_clean)
    row["cases"] = len({i.item.pmcid for i in items})
    row["cases_per_split"] = {s: len({i.item.pmcid for i in items if i.split == s}) for s in SPLITS}
    return row


def counts(items: Sequence[ReleaseItem], exclusions: Sequence[Exclusion], n_images: int) -> dict[str, Any]:
    """Items and cases per track and split (with leakage-clean counts), totals, images, exclusions."""
    out: dict[str, Any] = {track: _count_row([i for i in items if i.item.track == track]) for track in TRACKS}
    out["all"] = _count_row(items)
    out["cases_per_split"] = out["all"]["cases_per_split"]
    out["images"] = n_images
    out["excluded_articles"] = sum(1 for e in exclusions if not e.item_id)
    out["excluded_items"] = sum(1 for e in exclusions if e.item_id)
    return out


def file_hashes(root: Path, relatives: Iterable[str]) -> dict[str, str]:
    return {rel: sha256_file(root / rel) for rel in sorted(set(relatives))}


def manifest(
    *,
    version: str,
    created_at: datetime,
    provenance: ReleaseProvenance,
    settings: Mapping[str, Any],
    split_method: Mapping[str, Any],
    counts: Mapping[str, Any],
    files: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": version,
        "created_at": created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "code_version": provenance.code_version,
        "config_hash": provenance.config_hash,
        "ordo": provenance.ordo,
        "embedding_model": provenance.embedding_model,
        "leakage": provenance.leakage,
        "split": dict(split_method),
        "licence_policy": settings["licence_policy"],
        "retracted_list": settings["retracted_list"],
        "counts": dict(counts),
        "files": dict(sorted(files.items())),
    }


def write_manifest(root: Path, data: Mapping[str, Any]) -> Path:
    path = root / MANIFEST
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(root: Path) -> dict[str, Any]:
    """The parsed manifest of a release directory, or a one-line FatalError naming the file."""
    path = root / MANIFEST
    if not path.is_file():
        raise FatalError(f"{path}: not found (is {root} a release directory?)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FatalError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise FatalError(f"{path}: no 'files' table; not an mmrare release manifest")
    return data
