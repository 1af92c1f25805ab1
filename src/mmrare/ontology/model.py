"""Typed records of the ORDO concept model, and the ORPHA code / IRI / cross-reference conventions.

How ORDO 4.x encodes what these records hold (checked against ``ORDO_en_4.2.owl``):

- Every concept is an ``owl:Class`` with IRI ``http://www.orpha.net/ORDO/Orphanet_<n>``; its code
  here is ``ORPHA:<n>`` (upper-level classes keep their letter: ``ORPHA:C001``).
- Entity types are classes too. A clinical entity is ``rdfs:subClassOf`` one *level* class
  (group of disorders 557492 / disorder 557493 / subtype of a disorder 557494) and a disorder also of
  one *typology* class (disease 377788, malformation syndrome 377789, ...). Groups and subtypes carry
  their finer type in ``skos:notation`` ("Category", "Clinical group", "Clinical subtype", ...).
  Genes are subclasses of gene with protein product 410298 / non coding RNA 410299 / disorder-associated
  locus 410297. Inactive entities sit under C041: obsolete (C050 -> C051-C053), deprecated
  (C042 -> C043-C045, "moved to") and non rare in Europe (C046 -> C048).
- The replacement of an obsolete or deprecated class is a ``ORDO:referred_to`` / ``ORDO:moved_to``
  someValuesFrom restriction; ``efo:reason_for_obsolescence`` names it by label only.
- Cross-references are ``oboInOwl:hasDbXref`` literals ("OMIM:154700"); the mapping relation sits in
  an ``owl:Axiom`` (annotatedSource / annotatedProperty / annotatedTarget) annotated with
  ``obo:ECO_0000218`` text such as "- NTBT (...).\\n- Attributed (...)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ORDO_NS = "http://www.orpha.net/ORDO/"
ORPHANET_PREFIX = ORDO_NS + "Orphanet_"


class EntityType(StrEnum):
    """The most specific Orphanet type of a concept (Orphadata's DisorderType, plus genes)."""

    GROUP_OF_DISORDERS = "group of disorders"
    CATEGORY = "category"
    CLINICAL_GROUP = "clinical group"
    DISORDER = "disorder"
    DISEASE = "disease"
    MALFORMATION_SYNDROME = "malformation syndrome"
    MORPHOLOGICAL_ANOMALY = "morphological anomaly"
    CLINICAL_SYNDROME = "clinical syndrome"
    BIOLOGICAL_ANOMALY = "biological anomaly"
    PARTICULAR_CLINICAL_SITUATION = "particular clinical situation in a disease or syndrome"
    SUBTYPE_OF_DISORDER = "subtype of a disorder"
    CLINICAL_SUBTYPE = "clinical subtype"
    ETIOLOGICAL_SUBTYPE = "etiological subtype"
    HISTOPATHOLOGICAL_SUBTYPE = "histopathological subtype"
    GENE = "gene with protein product"
    NON_CODING_RNA = "non coding RNA"
    DISORDER_LOCUS = "disorder-associated locus"
    ONTOLOGY_CLASS = "ontology class"  # the upper-level classes that encode types and statuses


class Level(StrEnum):
    """Classification level (Orphadata's DisorderGroup), genes, or an upper-level ontology class."""

    GROUP = "group of disorders"
    DISORDER = "disorder"
    SUBTYPE = "subtype of a disorder"
    GENE = "gene"
    ONTOLOGY = "ontology class"


class Status(StrEnum):
    """Whether a concept is in the current Orphanet nomenclature."""

    ACTIVE = "active"
    OBSOLETE = "obsolete"  # obsoleted; ``referred_to`` names what to use instead
    DEPRECATED = "deprecated"  # merged into another entity; ``moved_to`` names it
    NON_RARE = "non_rare"  # not rare in Europe, kept for reference


class Relation(StrEnum):
    """Kind of a hierarchy edge between two concepts."""

    IS_A = "is_a"  # direct rdfs:subClassOf a named concept (entity-type classes excluded)
    PART_OF = "part_of"  # BFO_0000050 someValuesFrom restriction: the Orphanet classifications


ALL_RELATIONS: tuple[Relation, ...] = (Relation.IS_A, Relation.PART_OF)


class MappingRelation(StrEnum):
    """Orphanet's mapping relation between an ORPHA code and an external code."""

    E = "E"  # exact: the two concepts are equivalent
    NTBT = "NTBT"  # ORPHA code is narrower than the target
    BTNT = "BTNT"  # ORPHA code is broader than the target
    NTBT_E = "NTBT/E"
    BTNT_E = "BTNT/E"
    ND = "ND"  # not yet decided / unable to decide
    W = "W"  # wrong mapping: the two concepts are different


@dataclass(frozen=True, slots=True)
class OrdoRelease:
    """Which ORDO file a result came from; carried by every index and warehouse row."""

    version: str  # owl:versionInfo, "4.2"
    modified: str | None  # dcterms:modified, ISO 8601 as written ("2022-12-02T15:15:42")
    sha256: str  # of the file as given (the .gz bytes for a .gz file)
    version_iri: str | None
    source_name: str  # file name, for messages and manifests


@dataclass(frozen=True, slots=True)
class Xref:
    """One cross-reference with its mapping relation (None when the file gives none, e.g. genes)."""

    source: str  # normalised prefix: OMIM, ICD-10, ICD-11, MeSH, UMLS, MedDRA, GARD, HGNC, ...
    xref_id: str  # "154700", "Q87.4", "D008382"
    relation: MappingRelation | None
    icd_relation: str | None = None  # ICD mappings: "Attributed", "Specific code", "Index term", ...

    @property
    def curie(self) -> str:
        return f"{self.source}:{self.xref_id}"


@dataclass(frozen=True, slots=True)
class Concept:
    """One ORDO class: a clinical entity, a gene, or an upper-level ontology class."""

    code: str  # "ORPHA:558"
    label: str  # preferred label, "NON RARE IN EUROPE: " prefix stripped
    entity_type: EntityType
    level: Level
    status: Status
    non_rare: bool  # label carried "NON RARE IN EUROPE:" or the class is a non rare disorder
    definition: str | None
    synonyms: tuple[str, ...]  # efo:alternative_term, exact synonyms, file order, deduplicated
    xrefs: tuple[Xref, ...]
    is_a: tuple[str, ...]  # direct named superclasses (codes), entity-type classes excluded
    part_of: tuple[str, ...]  # BFO_0000050 classification parents (codes)
    replaced_by: str | None  # obsolete/deprecated: the code to use instead
    obsolescence_reason: str | None  # efo:reason_for_obsolescence as written
    symbol: str | None = None  # genes: ORDO:symbol ("FBN1")
    locus: str | None = None  # genes: chromosomal location (Orphanet_C040), "15q21.1"

    @property
    def obsolete(self) -> bool:
        """Out of the nomenclature (obsoleted or deprecated); non rare entities are not obsolete."""
        return self.status in (Status.OBSOLETE, Status.DEPRECATED)

    @property
    def iri(self) -> str:
        return code_to_iri(self.code)

    @property
    def is_clinical_entity(self) -> bool:
        return self.level in (Level.GROUP, Level.DISORDER, Level.SUBTYPE)

    def parents(self, relations: tuple[Relation, ...] = ALL_RELATIONS) -> tuple[str, ...]:
        out: list[str] = []
        if Relation.IS_A in relations:
            out.extend(self.is_a)
        if Relation.PART_OF in relations:
            out.extend(p for p in self.part_of if p not in out)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class GeneAssociation:
    """A gene–disorder association read from a restriction on the gene class."""

    gene: str  # "ORPHA:120474"
    disorder: str  # "ORPHA:558"
    relation: str  # the object property's label, "disease-causing germline mutation(s) in"
    relation_code: str  # the object property's code, "ORPHA:317343"


NON_RARE_PREFIX = "NON RARE IN EUROPE:"

_CODE = re.compile(
    r"^\s*(?:https?://www\.orpha\.net/ORDO/Orphanet_|ORPHA(?:NET)?[\s:_-]*|ORDO[:_])(C?\d+)\s*$",
    re.IGNORECASE,
)
_BARE_CODE = re.compile(r"^\s*(C?\d+)\s*$", re.IGNORECASE)


def parse_code(text: str, *, allow_bare: bool = False) -> str | None:
    """``ORPHA:558`` for "ORPHA:558", "Orphanet_558", "orpha 558", the full IRI (or "558" when
    ``allow_bare``); None for anything else."""
    match = _CODE.match(text) or (_BARE_CODE.match(text) if allow_bare else None)
    if not match:
        return None
    number = match.group(1).upper()
    if number.startswith("C"):
        return f"ORPHA:{number}"
    return f"ORPHA:{int(number)}"


def iri_to_code(iri: str) -> str | None:
    """``ORPHA:<n>`` for an Orphanet class IRI, None for any other IRI."""
    if not iri.startswith(ORPHANET_PREFIX):
        return None
    local = iri[len(ORPHANET_PREFIX) :]
    if local.isdigit() or (local[:1] == "C" and local[1:].isdigit()):
        return f"ORPHA:{local}"
    return None


def code_to_iri(code: str) -> str:
    return ORPHANET_PREFIX + code.split(":", 1)[1]


# Prefix spellings met in ORDO, Orphadata and papers -> the prefix ORDO uses.
_XREF_SOURCES = {
    "omim": "OMIM",
    "mim": "OMIM",
    "icd-10": "ICD-10",
    "icd10": "ICD-10",
    "icd-11": "ICD-11",
    "icd11": "ICD-11",
    "mesh": "MeSH",
    "msh": "MeSH",
    "umls": "UMLS",
    "umls_cui": "UMLS",
    "meddra": "MedDRA",
    "gard": "GARD",
    "hgnc": "HGNC",
    "ensembl": "Ensembl",
    "swissprot": "SwissProt",
    "uniprot": "SwissProt",
    "uniprotkb": "SwissProt",
    "genatlas": "Genatlas",
    "reactome": "Reactome",
    "iuphar": "IUPHAR",
    "mondo": "MONDO",
}
_UPPER_ID_SOURCES = frozenset({"ICD-10", "ICD-11", "MeSH", "UMLS"})


def normalise_xref_source(prefix: str) -> str | None:
    """The ORDO spelling of a cross-reference prefix ("icd10" -> "ICD-10"), None if unknown."""
    return _XREF_SOURCES.get(prefix.strip().lower().replace(" ", ""))


def split_xref(text: str) -> tuple[str, str] | None:
    """("OMIM", "154700") for "OMIM:154700" / "omim 154700" / "MIM#154700"; None if not an xref."""
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9_]*(?:-1[01])?)\s*[:#_ ]\s*(\S+)\s*$", text)
    if not match:
        return None
    source = normalise_xref_source(match.group(1))
    if source is None:
        return None
    xref_id = match.group(2)
    if source in _UPPER_ID_SOURCES:
        xref_id = xref_id.upper()
    return source, xref_id


_RELATION_CODE = re.compile(r"^[\s-]*([A-Z]{1,4}(?:/[A-Z]{1,4})?)\s*\(")
_ICD_RELATION = re.compile(r"^[\s-]*([A-Za-z][A-Za-z ]*?)\s*\(")


def parse_mapping_annotation(text: str) -> tuple[MappingRelation | None, str | None]:
    """(relation, ICD relation) from an ECO_0000218 annotation such as
    "- NTBT (ORPHA code's Narrower Term ...).\\n- Attributed (The ICD code is attributed by Orphanet)."
    """
    relation: MappingRelation | None = None
    icd_relation: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if relation is None:
            match = _RELATION_CODE.match(line)
            if match:
                try:
                    relation = MappingRelation(match.group(1))
                except ValueError:
                    relation = None
                else:
                    continue
        if icd_relation is None:
            match = _ICD_RELATION.match(line)
            if match and match.group(1) not in MappingRelation.__members__:
                icd_relation = match.group(1)
    return relation, icd_relation
