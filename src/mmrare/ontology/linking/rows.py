"""Warehouse rows of the linking output (tables ``disease_mentions`` and ``case_diagnoses``, 003).

Rows are keyed by the ORDO file's sha256 and the linker version, so a new ORDO release or linker adds
rows beside the old ones instead of overwriting them; mention ids are content hashes, so re-loading
the same rows adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from mmrare.ontology.linking.diagnosis import CaseDiagnosis
from mmrare.ontology.linking.mentions import Mention
from mmrare.ontology.model import OrdoRelease


def mention_rows(
    pmcid: str, mentions: list[Mention], linker_version: str, release: OrdoRelease
) -> list[dict[str, Any]]:
    """One row per mention, negated / differential / family-history ones included (for audit)."""
    rows = []
    for m in mentions:
        # the case is part of the key: a title's sentence id is "title" in every case
        key = f"{pmcid}|{m.sentence_id}|{m.start}|{m.end}|{m.code}|{linker_version}|{release.sha256}"
        rows.append(
            {
                "mention_id": hashlib.sha256(key.encode()).hexdigest()[:24],
                "pmcid": pmcid,
                "sentence_id": m.sentence_id,
                "start": m.start,
                "end": m.end,
                "text": m.text,
                "code": m.code,
                "label": m.label,
                "match_kind": str(m.match_kind),
                "negated": m.negated,
                "differential": m.differential,
                "family_history": m.family_history,
                "score": m.score,
                "linker_version": linker_version,
                "ordo_version": release.version,
                "ordo_sha256": release.sha256,
            }
        )
    return rows


def diagnosis_row(
    pmcid: str,
    diagnosis: CaseDiagnosis,
    *,
    linker_version: str,
    release: OrdoRelease,
    config_hash: str,
    run_id: str,
    embedding_model: str | None,
    statement_sentence_id: str | None = None,
) -> dict[str, Any]:
    """The case-level decision, with its evidence, the alternatives and the versions behind it."""
    return {
        "pmcid": pmcid,
        "ordo_sha256": release.sha256,
        "linker_version": linker_version,
        "config_hash": config_hash,
        "code": diagnosis.code,
        "label": diagnosis.label,
        "confidence": diagnosis.confidence,
        "evidence_sentence_ids": json.dumps(list(diagnosis.evidence_sentence_ids)),
        "alternatives": json.dumps([list(a) for a in diagnosis.alternatives]),
        "reason": diagnosis.reason,
        "ordo_version": release.version,
        "embedding_model": embedding_model,
        "statement_sentence_id": statement_sentence_id,
        "run_id": run_id,
        "created_at": datetime.now(UTC),
    }
