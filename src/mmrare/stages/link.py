"""Linking as a stage: every selected case not yet linked under the current ORDO file, linker version
and link settings gets its ORDO mentions, one case-level diagnosis and, without a rare-disease
diagnosis, a reject with the reason and the closest alternatives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmrare.ontology.linking import Linker, diagnose_case, link_document
from mmrare.ontology.linking.rows import diagnosis_row, mention_rows
from mmrare.ontology.linking.statement import final_statement
from mmrare.ontology.rows import warehouse_rows
from mmrare.records import Reject
from mmrare.stages.base import Done, Pending
from mmrare.warehouse.queries import link as queries
from mmrare.warehouse.reads import CaseText, case_texts, current_case_ids

if TYPE_CHECKING:
    import duckdb

    from mmrare.stages.resources import BuildResources


def ensure_ordo_tables(con: duckdb.DuckDBPyConnection, resources: BuildResources) -> dict[str, int]:
    """Load ORDO's concept tables once per ORDO file; rows added per table."""
    index = resources.ordo
    if queries.ordo_loaded(con, index.release.sha256):
        return {}
    return {k: v for k, v in queries.load_ordo_rows(con, warehouse_rows(index)).items() if v}


@dataclass(frozen=True, slots=True)
class LinkStage:
    """Cases -> ORDO mentions -> one diagnosis each."""

    name: str = "link"
    tables: tuple[str, ...] = ("disease_mentions", "case_diagnoses", "rejects")

    def pending(self, con: duckdb.DuckDBPyConnection, resources: BuildResources) -> Pending[CaseText]:
        cfg = resources.cfg
        index = resources.ordo
        cases = current_case_ids(con, cfg.stage_hash("curation"))
        # the version is the class's: the linker itself is built only when there is work
        done = queries.linked_case_ids(con, index.release.sha256, Linker.version, cfg.stage_hash("link"))
        todo = [p for p in cases if p not in done]
        return Pending(records=todo, skipped_done=len(cases) - len(todo))

    def load(self, con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> Sequence[CaseText]:
        return case_texts(con, keys)

    def record_id(self, record: CaseText) -> str:
        return record.pmcid

    def run(self, record: CaseText, shared: object, resources: BuildResources, run_id: str) -> Done:
        cfg = resources.cfg
        linker, index = resources.linker, resources.ordo
        fallback = resources.fallback if cfg.ontology.embedding_fallback else None
        config_hash = cfg.stage_hash("link")
        mentions = link_document(
            linker,
            list(record.sentences),
            record.title,
            fallback=fallback,
            fallback_threshold=cfg.ontology.fallback_threshold,
        )
        roles = {role for _sid, role, _text in record.sentences}
        diag = diagnose_case(index, mentions, sections_present=roles)
        used_fallback = fallback is not None and any(str(m.match_kind) == "embedding" for m in mentions)
        rows = {
            "disease_mentions": mention_rows(record.pmcid, mentions, linker.version, index.release),
            "case_diagnoses": [
                diagnosis_row(
                    record.pmcid,
                    diag,
                    linker_version=linker.version,
                    release=index.release,
                    config_hash=config_hash,
                    run_id=run_id,
                    embedding_model=fallback.provenance if used_fallback and fallback else None,
                    statement_sentence_id=final_statement(index, mentions, diag.code),
                )
            ],
        }
        if diag.code is not None:
            return Done(record.pmcid, "diagnosed", rows)
        versions = {
            "linker": linker.version,
            "ordo_version": index.release.version,
            "ordo_sha256": index.release.sha256,
            "config_hash": config_hash,
        }
        detail = "; ".join(f"{c} {lbl} ({s:.2f})" for c, lbl, s in diag.alternatives[:3]) or "no mentions"
        reject = Reject(record.pmcid, "link", diag.reason, detail, record.pmcid, versions)
        rows["rejects"] = [{**reject.row(), "run_id": run_id}]
        return Done(record.pmcid, "no_diagnosis", rows, reject_lines=[f"link: {record.pmcid}: {diag.reason}"])


LINK = LinkStage()
