"""``mmrare release verify``: is a release directory intact, well-formed and releasable?

Checks, each failure one line naming the file or item: every file listed in the manifest exists with
its sha256 and no unlisted file is present; every Parquet file has exactly the item schema and rows
that agree with themselves (answer, letter, images, splits by case) and with the manifest counts,
the JSONL files and the TSV files (one per track and split, holding exactly that split's items;
releases of format /1 had one TSV per track, which is not checked); every image a row names is
shipped under its own sha256; every licence passes the policy (the manifest's and, when given, the
one in force now) and is in the ledger; leakage flags agree with ``leakage_clean``; and validity.json
states what the rows and the ledger say (:func:`~mmrare.warehouse.release.validity.check_validity`).
Items carrying unresolved flags are a warning (the release marks them on purpose), an error with
``strict``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mmrare.errors import FatalError
from mmrare.warehouse.release.checks import sha256_file
from mmrare.warehouse.release.croissant import validate
from mmrare.warehouse.release.ledger import read_tsv
from mmrare.warehouse.release.manifest import MANIFEST, read_manifest
from mmrare.warehouse.release.schema import FORMAT, ITEM_SCHEMA, LETTERS, SPLITS, TRACKS, data_path, tsv_path
from mmrare.warehouse.release.settings import LicencePolicy
from mmrare.warehouse.release.validity import VALIDITY, check_validity, years_of


@dataclass
class VerifyReport:
    """Errors make a release unusable; warnings are worth a look."""

    root: Path
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_items: int = 0
    n_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def verify_release(root: Path, *, policy: LicencePolicy | None = None, strict: bool = False) -> VerifyReport:
    """Verify ``root`` (see the module docstring); ``policy``: the licence policy in force now."""
    root = Path(root)
    report = VerifyReport(root)
    try:
        doc = read_manifest(root)
    except FatalError as exc:
        report.errors.append(str(exc))
        return report
    files: dict[str, str] = doc["files"]
    report.n_files = len(files)
    intact = _check_files(root, files, report)
    rows = _check_tables(root, files, intact, report)
    report.n_items = len(rows)
    _check_counts(doc, rows, report)
    _check_jsonl(root, files, intact, rows, report)
    if doc.get("format") == FORMAT:
        _check_tsv(root, files, intact, rows, report)
    policies = [("manifest", LicencePolicy.from_dict(doc.get("licence_policy") or {}))]
    if policy is not None:  # its allow and deny lists; what a build chose to leave out is the manifest's
        now = replace(policy, exclude_flagged=False, exclude_no_derivatives=False)
        policies.append(("current config", now))
    _check_licences(root, files, intact, rows, policies, report)
    _check_leakage(rows, strict, report)
    _check_validity(root, files, intact, rows, report)
    if "croissant.json" in intact:
        report.errors += [f"{root / 'croissant.json'}: {p}" for p in validate(root / "croissant.json")[:5]]
    return report


def _check_files(root: Path, files: dict[str, str], report: VerifyReport) -> set[str]:
    intact = set()
    for relative, expected in sorted(files.items()):
        path = root / relative
        if not path.is_file():
            report.errors.append(f"{path}: listed in the manifest but missing")
            continue
        actual = sha256_file(path)
        if actual != expected:
            report.errors.append(
                f"{path}: sha256 {actual[:12]}… does not match the manifest ({expected[:12]}…)"
            )
            continue
        intact.add(relative)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative != MANIFEST and relative not in files:
            report.errors.append(f"{path}: not listed in the manifest")
    return intact


def _check_tables(
    root: Path, files: dict[str, str], intact: set[str], report: VerifyReport
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for track in TRACKS:
        for split in SPLITS:
            relative = data_path(track, split)
            if relative not in intact:
                continue
            path = root / relative
            try:
                table = pq.read_table(path)
            except Exception as exc:  # pyarrow raises several types for a bad file
                report.errors.append(f"{path}: unreadable Parquet ({exc})")
                continue
            if not table.schema.equals(ITEM_SCHEMA, check_metadata=False):
                report.errors.append(f"{path}: schema differs from the release item schema")
                continue
            for row in table.to_pylist():
                problem = _row_problem(row, track, split, files)
                if problem:
                    report.errors.append(f"{path}: item {row.get('item_id')}: {problem}")
                rows.append(row)
    if not rows:
        report.errors.append(f"{root}: no item files")
    ids = Counter(r["item_id"] for r in rows)
    for item_id, n in sorted(ids.items()):
        if n > 1:
            report.errors.append(f"item {item_id}: in {n} rows")
    splits_of: dict[str, set[str]] = {}
    for r in rows:
        splits_of.setdefault(r["pmcid"], set()).add(r["split"])
    for pmcid, splits in sorted(splits_of.items()):
        if len(splits) > 1:
            report.errors.append(
                f"{pmcid}: in splits {', '.join(sorted(splits))} (cases must not cross splits)"
            )
    return rows


def _row_problem(row: dict[str, Any], track: str, split: str, files: dict[str, str]) -> str | None:
    options = row["options"] or []
    index = row["answer_index"]
    if row["track"] != track or row["split"] != split:
        return f"track/split {row['track']}/{row['split']} in the {track}/{split} file"
    if not 1 <= len(options) <= len(LETTERS) or not 0 <= index < len(options):
        return f"answer_index {index} outside {len(options)} options"
    if options[index] != row["answer"] or row["answer_letter"] != LETTERS[index]:
        return "answer / answer_letter do not match options[answer_index]"
    positions = [im["position"] for im in row["images"] or []]
    if positions != list(range(1, len(positions) + 1)):
        return f"image positions {positions} are not 1..n"
    for im in row["images"] or []:
        if im["file"] not in files:
            return f"image {im['file']} is not in the release"
        if not im["file"].startswith(f"images/{im['sha256']}."):
            return f"image {im['file']} is not named by its sha256 {im['sha256'][:12]}…"
    if any(p not in positions for p in row["evidence_image_positions"] or []):
        return "evidence_image_positions outside the item's images"
    return None


def _check_counts(doc: dict[str, Any], rows: list[dict[str, Any]], report: VerifyReport) -> None:
    counts = doc.get("counts") or {}
    for track in TRACKS:
        for split in SPLITS:
            actual = sum(1 for r in rows if r["track"] == track and r["split"] == split)
            expected = (counts.get(track) or {}).get(split, 0)
            if actual != expected:
                report.errors.append(f"manifest counts {track}/{split} = {expected}, files hold {actual}")


def _check_jsonl(
    root: Path, files: dict[str, str], intact: set[str], rows: list[dict[str, Any]], report: VerifyReport
) -> None:
    for track in TRACKS:
        relative = f"jsonl/{track}.jsonl"
        expected = sorted(r["item_id"] for r in rows if r["track"] == track)
        if relative not in files:
            if expected:
                report.errors.append(f"{root / relative}: missing for {len(expected)} {track} items")
            continue
        if relative not in intact:
            continue
        with open(root / relative, encoding="utf-8") as fh:
            ids = sorted(json.loads(line)["item_id"] for line in fh if line.strip())
        if ids != expected:
            report.errors.append(f"{root / relative}: items differ from the Parquet files")


def _check_tsv(
    root: Path, files: dict[str, str], intact: set[str], rows: list[dict[str, Any]], report: VerifyReport
) -> None:
    expected_files = set()
    for track in TRACKS:
        for split in SPLITS:
            expected = sorted(r["item_id"] for r in rows if r["track"] == track and r["split"] == split)
            relative = tsv_path(track, split)
            if not expected:
                continue
            expected_files.add(relative)
            if relative not in files:
                report.errors.append(f"{root / relative}: missing for {len(expected)} {track}/{split} items")
                continue
            if relative not in intact:
                continue
            try:
                found = _tsv_ids(root / relative)
            except (OSError, csv.Error, KeyError, UnicodeDecodeError) as exc:
                report.errors.append(f"{root / relative}: unreadable TSV ({exc})")
                continue
            others = sorted({s for _, s in found} - {split})
            if others:
                report.errors.append(f"{root / relative}: holds rows of split {', '.join(others)}")
            elif sorted(i for i, _ in found) != expected:
                report.errors.append(f"{root / relative}: items differ from {data_path(track, split)}")
    for relative in sorted(p for p in files if p.startswith("tsv/") and p not in expected_files):
        report.errors.append(f"{root / relative}: no items of the release belong in this TSV")


def _tsv_ids(path: Path) -> list[tuple[str, str]]:
    """(item_id, split) of every row of a VLMEvalKit TSV, read as a stream (cells hold base64 images)."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    with open(path, encoding="utf-8", newline="") as fh:
        return [(row["item_id"], row["split"]) for row in csv.DictReader(fh, delimiter="\t")]


def _check_licences(
    root: Path,
    files: dict[str, str],
    intact: set[str],
    rows: list[dict[str, Any]],
    policies: list[tuple[str, LicencePolicy]],
    report: VerifyReport,
) -> None:
    for name, pol in policies:
        for licence, pmcids in sorted(_by_licence(rows).items()):
            verdict = pol.verdict(licence)
            if verdict:
                report.errors.append(
                    f"licence {licence} ({', '.join(sorted(pmcids)[:3])}): {verdict[1]} ({name} policy)"
                )
    if "LICENSES.tsv" not in intact:
        if "LICENSES.tsv" not in files:
            report.errors.append(f"{root / 'LICENSES.tsv'}: missing (licence ledger)")
        return
    ledger = read_tsv(root / "LICENSES.tsv")
    articles = {r["pmcid"]: r["licence"] for r in ledger if r["kind"] == "article"}
    images = {(r["pmcid"], r["path"]) for r in ledger if r["kind"] == "image"}
    for r in rows:
        if articles.get(r["pmcid"]) != r["licence"]:
            report.errors.append(
                f"item {r['item_id']}: licence {r['licence']} of {r['pmcid']} not in LICENSES.tsv"
            )
        for im in r["images"] or []:
            if (r["pmcid"], im["file"]) not in images:
                report.errors.append(f"item {r['item_id']}: image {im['file']} has no LICENSES.tsv row")


def _by_licence(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["licence"], set()).add(r["pmcid"])
    return out


def _check_leakage(rows: list[dict[str, Any]], strict: bool, report: VerifyReport) -> None:
    flagged = 0
    for r in rows:
        flags = r["leakage_flags"] or []
        if bool(flags) == bool(r["leakage_clean"]):
            report.errors.append(
                f"item {r['item_id']}: leakage_clean={r['leakage_clean']} but leakage_flags={flags}"
            )
        if flags:
            flagged += 1
            if strict:
                report.errors.append(f"item {r['item_id']}: unresolved leakage flags {', '.join(flags)}")
    if flagged and not strict:
        report.warnings.append(f"{flagged} item(s) carry unresolved leakage flags (leakage_clean=false)")


def _check_validity(
    root: Path, files: dict[str, str], intact: set[str], rows: list[dict[str, Any]], report: VerifyReport
) -> None:
    path = root / VALIDITY
    if VALIDITY not in files:
        report.errors.append(f"{path}: missing (validity report)")
        return
    if VALIDITY not in intact or "LICENSES.tsv" not in intact:
        return  # already reported as damaged
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.errors.append(f"{path}: unreadable ({exc})")
        return
    years = years_of(read_tsv(root / "LICENSES.tsv"))
    report.errors += [f"{path}: {p}" for p in check_validity(doc, rows, years)]
