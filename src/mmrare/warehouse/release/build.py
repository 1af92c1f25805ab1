"""``mmrare release build``: write an immutable, versioned release directory from the warehouse.

Steps: collect accepted items and check them again (licence, retraction, image files) -> balance
answer positions -> split by case -> write every file (validity.json and its README section too)
into a temporary directory beside the target -> manifest.json last ->
record the release in the warehouse and rename the directory into place in one go. An existing
version (on disk or recorded) is refused: a published version never changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from mmrare.errors import FatalError
from mmrare.records import Reject
from mmrare.warehouse.release import reads
from mmrare.warehouse.release.collect import Collected, collect
from mmrare.warehouse.release.croissant import croissant, dump, validate
from mmrare.warehouse.release.datasheet import datasheet
from mmrare.warehouse.release.images import copy_images
from mmrare.warehouse.release.ledger import ledger_rows, write_excluded, write_ledger
from mmrare.warehouse.release.manifest import counts, file_hashes, manifest, write_manifest
from mmrare.warehouse.release.positions import balance_positions
from mmrare.warehouse.release.records import ReleaseItem
from mmrare.warehouse.release.schema import SPLITS, TRACKS
from mmrare.warehouse.release.settings import ReleaseSettings, check_version
from mmrare.warehouse.release.split import assign_splits
from mmrare.warehouse.release.validity import (
    StoredEvidence,
    section,
    stored_evidence,
    validity,
    write_validity,
)
from mmrare.warehouse.release.writers import write_jsonl, write_parquet, write_tsv
from mmrare.warehouse.shards import insert_rows

STAGE = "release"
SETTINGS_KEYS = ("split", "licence_policy", "retracted_list")
SPLIT_METHOD = "sha256(salt + pmcid) order, stratified by track (scarcest first), pinned to earlier releases"
DESCRIPTION = (
    "Rare-disease multimodal multi-image benchmark from PubMed Central Open Access case reports: "
    "diagnosis, examination, treatment and cross-image multiple-choice items with leakage-controlled "
    "contexts, reviewed by annotators."
)


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote: where, its manifest, the exclusions, and how long it took."""

    root: Path
    manifest: dict[str, Any]
    n_items: int
    n_excluded: int
    seconds: float
    bytes_written: int


def release_dir(releases_root: Path, version: str) -> Path:
    check_version(version)
    return releases_root / version


def build_release(
    con: duckdb.DuckDBPyConnection,
    version: str,
    releases_root: Path,
    settings: ReleaseSettings,
    *,
    config_hash: str,
    semantic_thresholds: Mapping[str, float],
    policy_thresholds: Sequence[tuple[str, str, float]] = (),
    now: datetime | None = None,
) -> BuildResult:
    """Build release ``version`` under ``releases_root`` (see the module docstring);
    ``policy_thresholds``: (track or "*", detector glob, threshold) of the leakage policy's rules, for
    the validity report (:func:`~mmrare.warehouse.release.validity.stored_evidence`)."""
    started = time.monotonic()
    target = release_dir(releases_root, version)
    if target.exists():
        raise FatalError(f"{target}: release {version} exists; releases are immutable, choose a new version")
    if version in reads.recorded_versions(con):
        raise FatalError(f"release {version} is recorded in the warehouse already; choose a new version")
    content = collect(con, settings, config_hash=config_hash, semantic_thresholds=semantic_thresholds)
    if not content.items:
        raise FatalError(
            f"nothing to release: {content.n_accepted} accepted item(s), {len(content.exclusions)} excluded"
        )
    pinned = reads.pinned_splits(con)
    splits = assign_splits(_tracks_of(content.items), settings.dev_fraction, settings.split_salt, pinned)
    placed = balance_positions(content.items, pinned=reads.pinned_positions(con))
    items = [i.with_split(splits[i.item.pmcid]) for i in placed]
    stored = stored_evidence(con, [i.item.item_id for i in items], semantic_thresholds, policy_thresholds)
    created = now or datetime.now(UTC)
    releases_root.mkdir(parents=True, exist_ok=True)
    tmp = releases_root / f".{version}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        data = _write_files(tmp, version, items, content, settings, pinned, stored)
        split_method = {
            "method": SPLIT_METHOD,
            "dev_fraction": settings.dev_fraction,
            "salt": settings.split_salt,
            "pinned_cases": sum(1 for p in splits if p in pinned),
        }
        doc = manifest(
            version=version, created_at=created, provenance=content.provenance, settings=settings.as_dict(),
            split_method=split_method, counts=data["counts"], files=data["files"],
        )  # fmt: skip
        write_manifest(tmp, doc)
        _record(con, version, target, doc, items, content, created, tmp)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return BuildResult(
        root=target,
        manifest=doc,
        n_items=len(items),
        n_excluded=len(content.exclusions),
        seconds=time.monotonic() - started,
        bytes_written=sum((target / rel).stat().st_size for rel in doc["files"]),
    )


def _tracks_of(items: list[ReleaseItem]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in items:
        out.setdefault(item.item.pmcid, set()).add(item.item.track)
    return out


def _write_files(
    root: Path,
    version: str,
    items: list[ReleaseItem],
    content: Collected,
    settings: ReleaseSettings,
    pinned: Mapping[str, str],
    stored: StoredEvidence,
) -> dict[str, Any]:
    """Every file but the manifest; returns the counts and the sha256 table."""
    copy_images(root, ((name, str(src.path), str(src.sha256)) for name, src in content.images.items()))
    written = list(content.images)
    present: dict[str, list[str]] = {}
    for track in TRACKS:
        mine = [i for i in items if i.item.track == track]
        if not mine:
            continue
        for split in SPLITS:
            rows = [i for i in mine if i.split == split]
            if rows:
                written.append(write_parquet(root, track, split, rows))
                written.append(write_tsv(root, track, split, rows))
                present.setdefault(track, []).append(split)
        written.append(write_jsonl(root, track, mine))
    written.append(write_ledger(root, ledger_rows(content.articles, items, content.images)))
    written.append(write_excluded(root, content.exclusions))
    n_counts = counts(items, content.exclusions, len(content.images))
    years = {p: str(a.year or "") for p, a in content.articles.items()}
    report = validity([i.row() for i in items], years, stored)
    written.append(write_validity(root, report))
    flag_counts: Counter[str] = Counter(f for i in items for f in i.leakage_flags)
    readme = datasheet(
        name=settings.name, version=version, provenance=content.provenance, counts=n_counts, present=present,
        licences=Counter(a.licence for a in content.articles.values()),
        flagged_articles=sum(1 for a in content.articles.values() if a.licence_flagged),
        exclusions=content.exclusions, dev_fraction=settings.dev_fraction, flags=flag_counts,
        validity=section(report),
    )  # fmt: skip
    (root / "README.md").write_text(readme, encoding="utf-8")
    written.append("README.md")
    data_files = file_hashes(root, written)
    doc = croissant(
        name=settings.name, version=version, description=DESCRIPTION, url=settings.url,
        licences=sorted({a.licence_url or a.licence for a in content.articles.values()}),
        files=data_files, tracks={t: n_counts[t]["total"] for t in TRACKS},
        citation=f"{settings.name} {version}: a rare-disease multimodal multi-image benchmark.",
    )  # fmt: skip
    (root / "croissant.json").write_text(dump(doc), encoding="utf-8")
    problems = validate(root / "croissant.json")
    if problems:
        raise FatalError(f"croissant.json does not validate: {problems[0]}")
    files = {**data_files, **file_hashes(root, ["croissant.json"])}
    return {"counts": n_counts, "files": files, "pinned": len(pinned)}


def _record(
    con: duckdb.DuckDBPyConnection,
    version: str,
    target: Path,
    doc: Mapping[str, Any],
    items: list[ReleaseItem],
    content: Collected,
    created: datetime,
    tmp: Path,
) -> None:
    """Insert the release rows and rename the directory into place in one transaction."""
    manifest_sha = hashlib.sha256((tmp / "manifest.json").read_bytes()).hexdigest()
    versions = {"release": version, "code_version": content.provenance.code_version,
                "config_hash": content.provenance.config_hash}  # fmt: skip
    moved = False
    con.execute("BEGIN TRANSACTION")
    try:
        insert_rows(con, "releases", [{
            "version": version, "path": str(target), "created_at": created,
            "code_version": content.provenance.code_version, "config_hash": content.provenance.config_hash,
            "manifest_sha256": manifest_sha,
            "ordo_sha256": (content.provenance.ordo or {}).get("sha256"),
            "model_sha256": (content.provenance.embedding_model or {}).get("sha256"),
            "counts": json.dumps(doc["counts"], sort_keys=True),
            "settings": json.dumps({k: doc[k] for k in SETTINGS_KEYS}, sort_keys=True),
        }])  # fmt: skip
        insert_rows(con, "release_items", [
            {"version": version, "item_id": i.item.item_id, "item_version": i.item_version,
             "track": i.item.track, "pmcid": i.item.pmcid, "split": i.split, "row_sha256": i.row_sha256,
             "answer_index": i.item.answer_index}
            for i in items
        ])  # fmt: skip
        rejects = [
            {**Reject(e.item_id or e.pmcid, STAGE, e.reason, e.detail, e.pmcid, versions, created).row(),
             "run_id": None}
            for e in content.exclusions
        ]  # fmt: skip
        insert_rows(con, "rejects", rejects)
        if target.exists():
            raise FatalError(
                f"{target}: appeared while building; releases are immutable, choose a new version"
            )
        os.replace(tmp, target)
        moved = True
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        if moved:  # not recorded, so not released: take it back out of place (the caller removes tmp)
            os.replace(target, tmp)
        raise
