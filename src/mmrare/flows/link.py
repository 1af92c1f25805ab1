"""The link stage of ``mmrare build``: cases -> ORDO mentions -> one case-level diagnosis each.

Plain functions from ``ontology`` do the work; this module only loads inputs from the warehouse,
runs one task per chunk of cases (threads or Dask workers; rows go to Parquet shards, because
DuckDB has one writer) and loads the shards. Work is keyed by (pmcid, ORDO sha256, linker version,
config hash): a case already linked under the same versions is not linked again, and a new ORDO
release or linker adds rows beside the old ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from mmrare.config import Config
from mmrare.embedding.cpushare import python_work
from mmrare.flows.chunks import Sealed, chunk_label, chunked
from mmrare.flows.loading import add_counts, load_stage
from mmrare.flows.perf import section
from mmrare.flows.progress import stage_progress
from mmrare.flows.resources import BuildResources
from mmrare.flows.runners import fewest_chunks
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import Fallback, Linker, diagnose_case, link_document
from mmrare.ontology.linking.rows import diagnosis_row, mention_rows
from mmrare.ontology.linking.statement import final_statement
from mmrare.ontology.rows import warehouse_rows
from mmrare.records import Reject
from mmrare.warehouse.reads import CaseText, case_texts, current_case_ids
from mmrare.warehouse.shards import arrow_schemas, insert_rows, write_shard

LINK_TABLES = ("disease_mentions", "case_diagnoses", "rejects")


@dataclass(slots=True)
class LinkSummary:
    """What the link stage did, for the run record and the CLI."""

    ordo_version: str = ""
    linked: int = 0
    skipped_done: int = 0
    diagnosed: int = 0
    no_diagnosis: int = 0
    rows_added: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "ordo_version": self.ordo_version,
            "linked": self.linked,
            "skipped_done": self.skipped_done,
            "diagnosed": self.diagnosed,
            "no_diagnosis": self.no_diagnosis,
        }


def ensure_ordo_tables(con: duckdb.DuckDBPyConnection, index: OrdoIndex) -> dict[str, int]:
    """Load the ORDO concept tables once per ORDO file (rows are keyed by its sha256)."""
    row = con.execute(
        "SELECT count(*) FROM ordo_concepts WHERE ordo_sha256 = ?", [index.release.sha256]
    ).fetchone()
    if row and row[0]:
        return {}
    added = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, rows in warehouse_rows(index).items():
            added[table] = insert_rows(con, table, rows)
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
    return added


def link_one(
    case: CaseText,
    linker: Linker,
    index: OrdoIndex,
    *,
    config_hash: str,
    run_id: str,
    fallback: Fallback | None,
    fallback_threshold: float,
    fallback_name: str | None,
) -> dict[str, list[dict[str, Any]]]:
    """Rows for one case: its mentions, its diagnosis and, without a rare-disease diagnosis, a reject."""
    mentions = link_document(
        linker, list(case.sentences), case.title, fallback=fallback, fallback_threshold=fallback_threshold
    )
    diag = diagnose_case(index, mentions)
    used_fallback = any(str(m.match_kind) == "embedding" for m in mentions)
    rows: dict[str, list[dict[str, Any]]] = {
        "disease_mentions": mention_rows(case.pmcid, mentions, linker.version, index.release),
        "case_diagnoses": [
            diagnosis_row(
                case.pmcid, diag, linker_version=linker.version, release=index.release,
                config_hash=config_hash, run_id=run_id,
                embedding_model=fallback_name if used_fallback else None,
                statement_sentence_id=final_statement(index, mentions, diag.code),
            )
        ],
    }
    if diag.code is None:
        versions = {
            "linker": linker.version, "ordo_version": index.release.version,
            "ordo_sha256": index.release.sha256, "config_hash": config_hash,
        }
        detail = "; ".join(f"{c} {lbl} ({s:.2f})" for c, lbl, s in diag.alternatives[:3]) or "no mentions"
        reject = Reject(case.pmcid, "link", diag.reason, detail, case.pmcid, versions)
        rows["rejects"] = [{**reject.row(), "run_id": run_id}]
    return rows


@task(name="link-cases", cache_policy=NO_CACHE, task_run_name="link-{label}")
def link_cases(
    cases: Sealed[list[CaseText]],
    resources: Sealed[BuildResources],
    run_id: str,
    shard_root: Path,
    schemas: Sealed[dict[str, pa.Schema]],
    label: str,
) -> list[tuple[str, str | None, str]]:
    """Link a chunk of cases and write their rows as one shard (never the warehouse).

    The linker comes from ``resources`` (built once per process from the cache), so a Dask worker
    never receives the spaCy pipeline over the wire.
    """
    res = resources.value
    cfg = res.cfg
    fallback = res.fallback if cfg.ontology.embedding_fallback else None
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in LINK_TABLES}
    out = []
    with python_work():  # the encoder (label index) leaves this core to the linker, and its build
        linker, index = res.linker, res.ordo
        for case in cases.value:
            case_rows = link_one(
                case, linker, index, config_hash=cfg.stage_hash("link"), run_id=run_id, fallback=fallback,
                fallback_threshold=cfg.ontology.fallback_threshold,
                fallback_name=fallback.provenance if fallback else None,
            )
            for table, table_rows in case_rows.items():
                rows[table] += table_rows
            diag = case_rows["case_diagnoses"][0]
            out.append((case.pmcid, diag["code"], diag["reason"]))
    name = f"{label}-{linker.version}-{index.release.sha256[:12]}".replace("/", "_")
    write_shard(shard_root, name, rows, schemas.value)
    return out


def cases_to_link(
    con: duckdb.DuckDBPyConnection, cfg: Config, index: OrdoIndex, linker_version: str
) -> list[str]:
    """Current cases with no diagnosis yet under this ORDO file, linker version and config."""
    done = {
        r[0]
        for r in con.execute(
            "SELECT pmcid FROM case_diagnoses"
            " WHERE ordo_sha256 = ? AND linker_version = ? AND config_hash = ?",
            [index.release.sha256, linker_version, cfg.stage_hash("link")],
        ).fetchall()
    }
    return [p for p in current_case_ids(con, cfg.stage_hash("curation")) if p not in done]


def run_link_stage(
    resources: BuildResources, con: duckdb.DuckDBPyConnection, run_id: str, show_progress: bool
) -> LinkSummary:
    """Link every selected case not yet linked under the current ORDO file and linker version."""
    logger = get_run_logger()
    cfg = resources.cfg
    summary = LinkSummary()
    shard_root = cfg.workspace_dir / "shards" / "link"
    add_counts(summary.rows_added, load_stage(con, shard_root, LINK_TABLES))  # interrupted run
    index = resources.ordo
    summary.ordo_version = index.release.version
    with section("load") as load:
        ordo_rows = {k: v for k, v in ensure_ordo_tables(con, index).items() if v}
        load.items += sum(ordo_rows.values())
    summary.rows_added.update(ordo_rows)
    # the version is the class's: the linker itself (~1 s from its cache) is built only for work
    todo = cases_to_link(con, cfg, index, Linker.version)
    summary.skipped_done = len(current_case_ids(con, cfg.stage_hash("curation"))) - len(todo)
    logger.info("linking %d cases against ORDO %s", len(todo), index.release.version)
    if todo:
        schemas = arrow_schemas(con, LINK_TABLES)
        with stage_progress("link", len(todo), show_progress) as advance:
            futures = [
                link_cases.submit(
                    cases=Sealed(chunk), resources=Sealed(resources), run_id=run_id,
                    shard_root=shard_root, schemas=Sealed(schemas),
                    label=chunk_label([c.pmcid for c in chunk]),
                )
                for chunk in chunked(case_texts(con, todo), min_chunks=fewest_chunks())
            ]
            for future in as_completed(futures):
                for pmcid, code, reason in future.result():
                    summary.linked += 1
                    if code:
                        summary.diagnosed += 1
                    else:
                        summary.no_diagnosis += 1
                        summary.reject_lines.append(f"link: {pmcid}: {reason}")
                    advance(f"{pmcid}: {code or reason}")
    add_counts(summary.rows_added, load_stage(con, shard_root, LINK_TABLES))
    return summary
