"""One unit of curation work: parse a package, decode its figures, decide whether it is a case.

Pure with respect to the warehouse: it returns rows per table, and the caller (a Prefect task)
writes them as a Parquet shard. Bad input never raises out of here; it becomes a reject row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmrare.config import FiguresConfig, SelectionConfig
from mmrare.curation.figures import decode_graphic
from mmrare.curation.jats import parse_jats
from mmrare.curation.selection import screen_article, select_case
from mmrare.curation.synthetic import synthetic_marker
from mmrare.errors import RecordError
from mmrare.records import Graphic, ParsedArticle, Reject
from mmrare.versions import FIGURE_DECODER_VERSION, PARSER_VERSION, SELECTION_VERSION

STAGE_VERSIONS: dict[str, str] = {
    "parser": PARSER_VERSION,
    "figure_decoder": FIGURE_DECODER_VERSION,
    "selection": SELECTION_VERSION,
}


@dataclass(frozen=True, slots=True)
class PackageInput:
    """What a curation task needs to know about one package (picklable, for any executor)."""

    package_id: str
    xml_path: Path
    package_dir: Path | None
    source: str
    content_sha256: str
    retracted: bool = False


@dataclass(slots=True)
class PackageResult:
    """Rows for every shard table, plus a one-line summary for progress and run counts."""

    package_id: str
    pmcid: str | None
    outcome: str  # "case" | "rejected"
    stage: str  # the stage that decided the outcome: "parse" | "select"
    reason: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        self.rows.setdefault(table, []).extend(rows)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_content_sha256(xml_path: Path, files: Iterable[Path]) -> str:
    """Hash of the XML and every file of the package: the resume key for all curation work."""
    digest = hashlib.sha256()
    for path in [xml_path, *sorted(files)]:
        digest.update(path.name.encode())
        digest.update(b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def work_key(content_sha256: str, config_hash: str) -> str:
    """Same content, same stage versions, same config: the work is already done."""
    versions = ",".join(f"{k}={v}" for k, v in sorted(STAGE_VERSIONS.items()))
    return sha256_bytes(f"{content_sha256}|{versions}|{config_hash}".encode())[:32]


def process_package(
    pkg: PackageInput,
    selection: SelectionConfig,
    figures: FiguresConfig,
    run_id: str,
    config_hash: str,
) -> PackageResult:
    """Parse, decode and select one package; every failure becomes a reject row, never an exception."""
    versions = {**STAGE_VERSIONS, "config_hash": config_hash}
    now = datetime.now(UTC)
    try:
        _check_file_size(pkg, selection)
        parsed = parse_jats(pkg.xml_path, pkg.package_dir)
        _check_article_size(parsed, selection)
    except RecordError as err:
        result = PackageResult(pkg.package_id, None, "rejected", "parse", err.one_line())
        result.add(
            "rejects", [_reject(err.record_id, "parse", err.reason, err.detail, pkg, versions, run_id)]
        )
        result.add("source_files", [_ledger(pkg, None, "rejected", versions, run_id, config_hash, now)])
        return result

    pmcid = parsed.article.pmcid
    result = PackageResult(pkg.package_id, pmcid, "rejected", "select", "")
    synthetic = synthetic_marker(pkg.xml_path, pkg.package_dir)
    screened = screen_article(parsed, selection, retracted=pkg.retracted, synthetic=synthetic)
    if screened is None:  # only possible cases pay for image decoding
        parsed = _decode_figures(parsed, figures)
    _add_parsed_rows(result, parsed)
    result.add(
        "rejects",
        (
            _reject(g.graphic_id, "figures", g.status, _graphic_detail(g), pkg, versions, run_id)
            for g in parsed.graphics
            if g.status not in ("ok", "unchecked")
        ),
    )
    decision = screened or select_case(parsed, selection, retracted=pkg.retracted, synthetic=synthetic)
    result.reason = f"{decision.reason} ({decision.detail})" if decision.detail else decision.reason
    if decision.selected:
        result.outcome = "case"
        result.add("cases", [_case_row(parsed, decision, versions, run_id, config_hash, now)])
    else:
        result.add(
            "rejects", [_reject(pmcid, "select", decision.reason, decision.detail, pkg, versions, run_id)]
        )
    result.add("source_files", [_ledger(pkg, pmcid, result.outcome, versions, run_id, config_hash, now)])
    return result


def _add_parsed_rows(result: PackageResult, parsed: ParsedArticle) -> None:
    result.add("articles", [parsed.article.row()])
    result.add("sections", (s.row() for s in parsed.sections))
    result.add("sentences", (s.row() for s in parsed.sentences))
    result.add("figures", (f.row() for f in parsed.figures))
    result.add("graphics", (g.row() for g in parsed.graphics))
    result.add("figure_mentions", (m.row() for m in parsed.mentions))
    result.add("article_tables", (t.row() for t in parsed.tables))


def _decode_figures(parsed: ParsedArticle, figures: FiguresConfig) -> ParsedArticle:
    decoded = tuple(
        decode_graphic(g, max_pixels=figures.max_pixels, max_bytes=figures.max_bytes) for g in parsed.graphics
    )
    return dataclasses.replace(parsed, graphics=decoded)


def _graphic_detail(graphic: Graphic) -> str:
    where = f"{graphic.href} -> {graphic.path or 'no file'}"
    return f"{where}: {graphic.problem}" if graphic.problem else where


def _check_file_size(pkg: PackageInput, selection: SelectionConfig) -> None:
    """An article file past the limit is refused unread: parsing it alone would hold the worker."""
    try:
        size = pkg.xml_path.stat().st_size
    except OSError as exc:
        raise RecordError(pkg.package_id, "unreadable_file", str(exc)) from None
    if size > selection.max_article_bytes:
        raise RecordError(
            pkg.package_id, "too_large", f"{pkg.xml_path.name} is {size:,} bytes, over max_article_bytes"
        )


def _check_article_size(parsed: ParsedArticle, selection: SelectionConfig) -> None:
    """Sentences and figures past their limits: no case report has that many, and every later stage
    (linking, drafting, leakage) would spend its time on the one record."""
    pmcid = parsed.article.pmcid
    if len(parsed.sentences) > selection.max_sentences:
        raise RecordError(pmcid, "too_large", f"{len(parsed.sentences):,} sentences, over max_sentences")
    if len(parsed.graphics) > selection.max_figures:
        raise RecordError(pmcid, "too_large", f"{len(parsed.graphics):,} images, over max_figures")


def _reject(
    record_id: str,
    stage: str,
    reason: str,
    detail: str,
    pkg: PackageInput,
    versions: dict[str, str],
    run_id: str,
) -> dict[str, Any]:
    row = Reject(record_id, stage, reason, detail, str(pkg.xml_path), versions).row()
    row["run_id"] = run_id
    return row


def _case_row(
    parsed: ParsedArticle,
    decision: Any,
    versions: dict[str, str],
    run_id: str,
    config_hash: str,
    now: datetime,
) -> dict[str, Any]:
    art = parsed.article
    return {
        "case_id": art.pmcid,
        "pmcid": art.pmcid,
        "config_hash": config_hash,
        "case_evidence": decision.case_evidence,
        "licence": art.licence,
        "licence_flagged": decision.licence_flagged,
        "n_figures": decision.n_figures,
        "n_usable_images": decision.n_usable_images,
        "multi_image": decision.multi_image,
        "versions": json.dumps(versions, sort_keys=True),
        "run_id": run_id,
        "created_at": now,
    }


def _ledger(
    pkg: PackageInput,
    pmcid: str | None,
    outcome: str,
    versions: dict[str, str],
    run_id: str,
    config_hash: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "work_key": work_key(pkg.content_sha256, config_hash),
        "content_sha256": pkg.content_sha256,
        "package_id": pkg.package_id,
        "path": str(pkg.xml_path),
        "pmcid": pmcid,
        "outcome": outcome,
        "versions": json.dumps(versions, sort_keys=True),
        "run_id": run_id,
        "processed_at": now,
    }
