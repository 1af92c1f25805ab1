"""Read an ORDO OWL file (RDF/XML, optionally gzipped) into the concept model.

The file is parsed once with rdflib over an Oxigraph-backed store (oxrdflib's ``ox-xml`` parser,
much faster than rdflib's own RDF/XML parser); the concept model is then pulled out with
direct pyoxigraph pattern scans, one per predicate, which is much faster than SPARQL joins over the
restriction blank nodes. rdflib and pyoxigraph are imported here only, so a warm load from the
cache (:mod:`mmrare.ontology.store`) never pays for them.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError
from mmrare.ontology.model import (
    NON_RARE_PREFIX,
    ORDO_NS,
    Concept,
    EntityType,
    GeneAssociation,
    Level,
    OrdoRelease,
    Status,
    Xref,
    iri_to_code,
    normalise_xref_source,
    parse_mapping_annotation,
)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
EFO = "http://www.ebi.ac.uk/efo/"
OBO = "http://purl.obolibrary.org/obo/"
OBOINOWL = "http://www.geneontology.org/formats/oboInOwl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"

PART_OF = OBO + "BFO_0000050"
MOVED_TO = ORDO_NS + "moved_to"
REFERRED_TO = ORDO_NS + "referred_to"
CHROMOSOMAL_LOCATION = ORDO_NS + "Orphanet_C040"
SYMBOL = ORDO_NS + "symbol"
HAS_DBXREF = OBOINOWL + "hasDbXref"
MAPPING_ANNOTATIONS = (OBO + "ECO_0000218", OBO + "ECO_0000205")

# Entity-type classes of ORDO 4.x: local id -> (level, entity type). Statuses come from the C041 tree.
_TYPE_CLASSES: dict[str, tuple[Level, EntityType]] = {
    "557492": (Level.GROUP, EntityType.GROUP_OF_DISORDERS),
    "557493": (Level.DISORDER, EntityType.DISORDER),
    "557494": (Level.SUBTYPE, EntityType.SUBTYPE_OF_DISORDER),
    "377788": (Level.DISORDER, EntityType.DISEASE),
    "377789": (Level.DISORDER, EntityType.MALFORMATION_SYNDROME),
    "377790": (Level.DISORDER, EntityType.BIOLOGICAL_ANOMALY),
    "377791": (Level.DISORDER, EntityType.MORPHOLOGICAL_ANOMALY),
    "377792": (Level.DISORDER, EntityType.CLINICAL_SYNDROME),
    "377793": (Level.DISORDER, EntityType.PARTICULAR_CLINICAL_SITUATION),
    "410298": (Level.GENE, EntityType.GENE),
    "410299": (Level.GENE, EntityType.NON_CODING_RNA),
    "410297": (Level.GENE, EntityType.DISORDER_LOCUS),
}
# Roots of the inactive-entity subtrees (under C041 "inactive clinical entity").
_STATUS_ROOTS = {"C050": Status.OBSOLETE, "C042": Status.DEPRECATED, "C046": Status.NON_RARE}
_LEVEL_DEFAULT_TYPE = {
    Level.GROUP: EntityType.GROUP_OF_DISORDERS,
    Level.DISORDER: EntityType.DISORDER,
    Level.SUBTYPE: EntityType.SUBTYPE_OF_DISORDER,
    Level.GENE: EntityType.GENE,
    Level.ONTOLOGY: EntityType.ONTOLOGY_CLASS,
}
_NOTATION_TYPES = {
    t.value: t
    for t in (
        EntityType.CATEGORY,
        EntityType.CLINICAL_GROUP,
        EntityType.CLINICAL_SUBTYPE,
        EntityType.ETIOLOGICAL_SUBTYPE,
        EntityType.HISTOPATHOLOGICAL_SUBTYPE,
    )
}
_ORPHA_IN_TEXT = re.compile(r"ORPHA[:_ ]?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedOrdo:
    """Everything read from one ORDO file."""

    release: OrdoRelease
    concepts: tuple[Concept, ...]
    gene_associations: tuple[GeneAssociation, ...]


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes; a missing or unreadable file is a :class:`FatalError`."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ORDO file: {_one_line(exc)}") from exc
    return digest.hexdigest()


def read_ordo(path: Path) -> ParsedOrdo:
    """Parse an ORDO ``.owl`` / ``.owl.gz`` file; anything that is not one is a :class:`FatalError`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ORDO file: {_one_line(exc)}") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    _graph, store = _parse_rdfxml(path, _gunzip(path, raw))
    del raw
    return _extract(store, path, sha256)


def load_graph(path: Path) -> Any:
    """The whole ORDO file as an rdflib ``Graph`` over an in-memory Oxigraph store, for ad-hoc SPARQL
    (``graph.query(...)``); about as slow as a cold :func:`read_ordo`, so not for the pipeline."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ORDO file: {_one_line(exc)}") from exc
    graph, _store = _parse_rdfxml(path, _gunzip(path, raw))
    return graph


def _gunzip(path: Path, raw: bytes) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise FatalError(f"{path}: not a readable gzip file: {_one_line(exc)}") from exc


def _parse_rdfxml(path: Path, data: bytes) -> tuple[Any, Any]:
    """Load RDF/XML into an in-memory Oxigraph store through rdflib: (rdflib graph, pyoxigraph store)."""
    import pyoxigraph
    from oxrdflib import OxigraphStore
    from rdflib import Graph

    head = data[:4096].lstrip()
    if not head.startswith(b"<"):
        raise FatalError(f"{path}: not an RDF/XML OWL file (does not start with XML)")
    ox_store = pyoxigraph.Store()
    graph = Graph(store=OxigraphStore(store=ox_store))
    try:
        # transactional=False: Oxigraph's bulk loader (no transaction log; the store is private)
        graph.parse(data=data, format="ox-xml", publicID=path.resolve().as_uri(), transactional=False)
    except (SyntaxError, ValueError, OSError) as exc:
        raise FatalError(f"{path}: not a valid RDF/XML OWL file: {_one_line(exc)}") from exc
    return graph, ox_store


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Scan:
    """Pattern scans over one pyoxigraph store, returning plain strings."""

    def __init__(self, store: Any) -> None:
        import pyoxigraph

        self._store = store
        self._ox = pyoxigraph

    def pairs(self, predicate: str) -> Iterator[tuple[Any, Any]]:
        """(subject, object) terms of every triple with this predicate, in any graph."""
        for quad in self._store.quads_for_pattern(None, self._ox.NamedNode(predicate), None, None):
            yield quad.subject, quad.object

    def is_named(self, term: Any) -> bool:
        return isinstance(term, self._ox.NamedNode)

    def is_blank(self, term: Any) -> bool:
        return isinstance(term, self._ox.BlankNode)

    def is_literal(self, term: Any) -> bool:
        return isinstance(term, self._ox.Literal)

    def literals(self, predicate: str) -> dict[str, list[tuple[str, str | None]]]:
        """subject IRI -> [(text, language)] for a literal-valued predicate."""
        out: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for subject, obj in self.pairs(predicate):
            if self.is_named(subject) and self.is_literal(obj):
                out[subject.value].append((obj.value, obj.language))
        return out


def _pick(values: list[tuple[str, str | None]] | None) -> str | None:
    """One value, preferring untagged then English literals, deterministic otherwise."""
    if not values:
        return None
    ranked = sorted(values, key=lambda v: (0 if v[1] is None else 1 if v[1] == "en" else 2, v[0]))
    text = ranked[0][0].strip()
    return text or None


def _code_sort_key(code: str) -> tuple[int, int, str]:
    local = code.split(":", 1)[1]
    return (1, 0, local) if local.startswith("C") else (0, int(local), "")


def _extract(store: Any, path: Path, sha256: str) -> ParsedOrdo:
    scan = _Scan(store)
    release = _release(scan, path, sha256)

    classes = {s.value for s, o in scan.pairs(RDF + "type") if o.value == OWL + "Class" and scan.is_named(s)}
    codes = {iri: code for iri in classes if (code := iri_to_code(iri)) is not None}
    if not codes:
        raise FatalError(f"{path}: no Orphanet classes found; is this an ORDO file?")

    labels = scan.literals(RDFS + "label")
    named_supers: dict[str, list[str]] = defaultdict(list)
    restriction_of: dict[str, list[str]] = defaultdict(list)  # class IRI -> restriction bnode ids
    for subject, obj in scan.pairs(RDFS + "subClassOf"):
        if not scan.is_named(subject):
            continue
        if scan.is_named(obj):
            named_supers[subject.value].append(obj.value)
        elif scan.is_blank(obj):
            restriction_of[subject.value].append(obj.value)

    upper = _upper_classes(codes)
    type_of = _type_table(codes, named_supers, labels, upper)

    # Restrictions: bnode -> property, and its someValuesFrom (class) or hasValue (literal).
    on_property = {s.value: o.value for s, o in scan.pairs(OWL + "onProperty") if scan.is_blank(s)}
    some_values = {
        s.value: o.value
        for s, o in scan.pairs(OWL + "someValuesFrom")
        if scan.is_blank(s) and scan.is_named(o)
    }
    has_value = {
        s.value: o.value for s, o in scan.pairs(OWL + "hasValue") if scan.is_blank(s) and scan.is_literal(o)
    }
    property_labels = {iri: _pick(v) or iri for iri, v in labels.items()}

    synonyms = scan.literals(EFO + "alternative_term")
    definitions = scan.literals(EFO + "definition")
    notations = scan.literals(SKOS + "notation")
    symbols = scan.literals(SYMBOL)
    reasons = scan.literals(EFO + "reason_for_obsolescence")
    xref_values = scan.literals(HAS_DBXREF)
    annotations = _xref_annotations(scan)

    concepts: list[Concept] = []
    gene_links: list[GeneAssociation] = []
    for iri, code in codes.items():
        label = _pick(labels.get(iri))
        if label is None:
            continue  # unlabelled classes (none in ORDO 4.2) are not concepts
        non_rare_label = label.upper().startswith(NON_RARE_PREFIX)
        if non_rare_label:
            label = label[len(NON_RARE_PREFIX) :].strip()

        part_of: set[str] = set()
        replacements: set[str] = set()
        locus: str | None = None
        for node in restriction_of.get(iri, ()):
            prop = on_property.get(node)
            target = some_values.get(node)
            target_code = codes.get(target) if target else None
            if prop == PART_OF and target_code:
                part_of.add(target_code)
            elif prop in (MOVED_TO, REFERRED_TO) and target_code:
                replacements.add(target_code)  # one per class in ORDO 4.2
            elif prop == CHROMOSOMAL_LOCATION and node in has_value:
                locus = has_value[node].strip() or None
            elif prop and target_code and prop.startswith(ORDO_NS):
                gene_links.append(
                    GeneAssociation(
                        gene=code,
                        disorder=target_code,
                        relation=property_labels.get(prop, prop),
                        relation_code=iri_to_code(prop) or prop,
                    )
                )

        level, entity_type, status = type_of[iri]
        if iri not in upper and level in (Level.GROUP, Level.SUBTYPE) and status is Status.ACTIVE:
            # groups and subtypes carry their finer type as a second notation ("Category"@en)
            for text, _lang in sorted(notations.get(iri, ())):
                if text.strip().lower() in _NOTATION_TYPES:
                    entity_type = _NOTATION_TYPES[text.strip().lower()]
                    break

        reason = _pick(reasons.get(iri))
        replacement = min(replacements, key=_code_sort_key) if replacements else None
        if replacement is None and reason:
            found = _ORPHA_IN_TEXT.search(reason)
            replacement = f"ORPHA:{int(found.group(1))}" if found else None

        is_a = {
            c
            for s in named_supers.get(iri, ())
            if (c := codes.get(s)) is not None and (s not in upper or iri in upper)
        }
        concepts.append(
            Concept(
                code=code,
                label=label,
                entity_type=entity_type,
                level=level,
                status=status,
                non_rare=non_rare_label or status is Status.NON_RARE,
                definition=_pick(definitions.get(iri)),
                synonyms=tuple(sorted({t.strip() for t, _ in synonyms.get(iri, ()) if t.strip()})),
                xrefs=_xrefs(iri, xref_values.get(iri, ()), annotations),
                is_a=tuple(sorted(is_a, key=_code_sort_key)),
                part_of=tuple(sorted(part_of, key=_code_sort_key)),
                replaced_by=replacement if status is not Status.ACTIVE else None,
                obsolescence_reason=reason,
                symbol=_pick(symbols.get(iri)),
                locus=locus,
            )
        )
    concepts.sort(key=lambda c: _code_sort_key(c.code))
    gene_links = sorted(
        set(gene_links), key=lambda g: (_code_sort_key(g.gene), _code_sort_key(g.disorder), g.relation_code)
    )
    return ParsedOrdo(release=release, concepts=tuple(concepts), gene_associations=tuple(gene_links))


def _release(scan: _Scan, path: Path, sha256: str) -> OrdoRelease:
    ontologies = [
        s.value for s, o in scan.pairs(RDF + "type") if o.value == OWL + "Ontology" and scan.is_named(s)
    ]
    if not ontologies:
        raise FatalError(f"{path}: no owl:Ontology header; not an OWL file")
    head = ontologies[0]

    def value(predicate: str) -> str | None:
        for subject, obj in scan.pairs(predicate):
            if subject.value == head:
                return obj.value
        return None

    return OrdoRelease(
        version=value(OWL + "versionInfo") or "unknown",
        modified=value(DCTERMS + "modified"),
        sha256=sha256,
        version_iri=value(OWL + "versionIRI"),
        source_name=path.name,
    )


def _upper_classes(codes: dict[str, str]) -> set[str]:
    """The ORDO classes that encode types and statuses rather than entities."""
    upper = {iri for iri, code in codes.items() if code.split(":", 1)[1].startswith("C")}
    upper |= {iri for iri, code in codes.items() if code.split(":", 1)[1] in _TYPE_CLASSES}
    return upper


def _type_table(
    codes: dict[str, str],
    named_supers: dict[str, list[str]],
    labels: dict[str, list[tuple[str, str | None]]],
    upper: set[str],
) -> dict[str, tuple[Level, EntityType, Status]]:
    """(level, entity type, status) of every class, read from its entity-type superclasses."""
    local = {iri: code.split(":", 1)[1] for iri, code in codes.items()}

    def status_root(iri: str, seen: frozenset[str] = frozenset()) -> Status | None:
        if local.get(iri) in _STATUS_ROOTS:
            return _STATUS_ROOTS[local[iri]]
        for parent in named_supers.get(iri, ()):
            if parent in upper and parent not in seen:
                found = status_root(parent, seen | {iri})
                if found is not None:
                    return found
        return None

    # Level of a status class (C051 "obsolete group of disorder" -> group), from its label.
    def status_level(iri: str) -> Level:
        text = (_pick(labels.get(iri)) or "").lower()
        if "group" in text:
            return Level.GROUP
        if "subtype" in text:
            return Level.SUBTYPE
        return Level.DISORDER

    table: dict[str, tuple[Level, EntityType, Status]] = {}
    for iri in codes:
        if iri in upper:
            table[iri] = (Level.ONTOLOGY, EntityType.ONTOLOGY_CLASS, Status.ACTIVE)
            continue
        level: Level | None = None
        entity_type: EntityType | None = None
        status = Status.ACTIVE
        for parent in named_supers.get(iri, ()):
            if parent not in upper:
                continue
            known = _TYPE_CLASSES.get(local.get(parent, ""))
            if known is not None:
                parent_level, parent_type = known
                level = level or parent_level
                # a typology (disease, malformation syndrome, ...) is finer than the level class
                if entity_type is None or entity_type == _LEVEL_DEFAULT_TYPE[parent_level]:
                    entity_type = parent_type
                continue
            found = status_root(parent)
            if found is not None:
                status = found
                level = level or status_level(parent)
        level = level or Level.ONTOLOGY
        table[iri] = (level, entity_type or _LEVEL_DEFAULT_TYPE[level], status)
    return table


def _xref_annotations(scan: _Scan) -> dict[tuple[str, str], str]:
    """(class IRI, xref text) -> the mapping annotation of that hasDbXref axiom."""
    source = {s.value: o.value for s, o in scan.pairs(OWL + "annotatedSource") if scan.is_named(o)}
    prop = {s.value: o.value for s, o in scan.pairs(OWL + "annotatedProperty")}
    target = {s.value: o.value for s, o in scan.pairs(OWL + "annotatedTarget") if scan.is_literal(o)}
    out: dict[tuple[str, str], str] = {}
    for predicate in reversed(MAPPING_ANNOTATIONS):  # the first listed wins
        for node, text in scan.pairs(predicate):
            axiom = node.value
            if prop.get(axiom) == HAS_DBXREF and axiom in source and axiom in target:
                out[(source[axiom], target[axiom])] = text.value
    return out


def _xrefs(
    iri: str, values: list[tuple[str, str | None]] | tuple[()], annotations: dict[tuple[str, str], str]
) -> tuple[Xref, ...]:
    found: dict[tuple[str, str], Xref] = {}
    for text, _lang in values:
        prefix, sep, xref_id = text.strip().partition(":")
        if not sep or not xref_id.strip():
            continue
        source = normalise_xref_source(prefix) or prefix.strip()
        relation, icd_relation = (None, None)
        note = annotations.get((iri, text))
        if note is not None:
            relation, icd_relation = parse_mapping_annotation(note)
        key = (source, xref_id.strip())
        if key not in found or found[key].relation is None:
            found[key] = Xref(source=source, xref_id=key[1], relation=relation, icd_relation=icd_relation)
    return tuple(found[k] for k in sorted(found))
