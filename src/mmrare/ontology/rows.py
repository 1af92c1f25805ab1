"""Warehouse rows for the ORDO tables (schema: ``warehouse/migrations/002_ordo.sql``).

Every row carries ``ordo_sha256`` and it is part of every primary key, so loading the same release
twice adds nothing (``INSERT OR IGNORE``) and two releases can sit side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import Relation

ORDO_TABLES: tuple[str, ...] = (
    "ordo_concepts",
    "ordo_synonyms",
    "ordo_xrefs",
    "ordo_parents",
    "ordo_gene_associations",
)


def concept_rows(index: OrdoIndex) -> Iterator[dict[str, Any]]:
    release = index.release
    for c in index.concepts():
        yield {
            "ordo_sha256": release.sha256,
            "code": c.code,
            "label": c.label,
            "definition": c.definition,
            "entity_type": c.entity_type.value,
            "level": c.level.value,
            "status": c.status.value,
            "non_rare": c.non_rare,
            "obsolete": c.obsolete,
            "replaced_by": c.replaced_by,
            "symbol": c.symbol,
            "ordo_version": release.version,
        }


def synonym_rows(index: OrdoIndex) -> Iterator[dict[str, Any]]:
    sha256 = index.release.sha256
    for c in index.concepts():
        for synonym in c.synonyms:
            yield {"ordo_sha256": sha256, "code": c.code, "synonym": synonym}


def xref_rows(index: OrdoIndex) -> Iterator[dict[str, Any]]:
    sha256 = index.release.sha256
    for c in index.concepts():
        for x in c.xrefs:
            yield {
                "ordo_sha256": sha256,
                "code": c.code,
                "source": x.source,
                "xref_id": x.xref_id,
                "relation": x.relation.value if x.relation else None,
                "icd_relation": x.icd_relation,
            }


def parent_rows(index: OrdoIndex) -> Iterator[dict[str, Any]]:
    sha256 = index.release.sha256
    for c in index.concepts():
        for relation, parents in ((Relation.IS_A, c.is_a), (Relation.PART_OF, c.part_of)):
            for parent in parents:
                yield {"ordo_sha256": sha256, "code": c.code, "parent": parent, "relation": relation.value}


def gene_association_rows(index: OrdoIndex) -> Iterator[dict[str, Any]]:
    sha256 = index.release.sha256
    for g in index.gene_associations:
        yield {
            "ordo_sha256": sha256,
            "gene": g.gene,
            "disorder": g.disorder,
            "relation": g.relation,
            "relation_code": g.relation_code,
        }


def warehouse_rows(index: OrdoIndex) -> dict[str, list[dict[str, Any]]]:
    """All ORDO tables' rows, keyed by table name (the order of :data:`ORDO_TABLES`)."""
    return {
        "ordo_concepts": list(concept_rows(index)),
        "ordo_synonyms": list(synonym_rows(index)),
        "ordo_xrefs": list(xref_rows(index)),
        "ordo_parents": list(parent_rows(index)),
        "ordo_gene_associations": list(gene_association_rows(index)),
    }
