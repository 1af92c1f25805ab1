"""A tiny hand-written ORDO slice in the shape of the real ``ORDO_en_4.2.owl`` (RDF/XML, OWL).

Same encodings as the full file: entity types as superclasses, part_of (BFO_0000050) restrictions,
``owl:Axiom`` annotations carrying the xref mapping relation, obsolete / deprecated / non rare
classes under C041 with ``referred_to`` / ``moved_to`` restrictions, and a gene with its symbol,
locus and a disease-gene restriction. The IDs below are real ORPHA codes.
"""

from __future__ import annotations

import gzip
from pathlib import Path

ROOT_GROUP = "ORPHA:98053"  # Rare genetic disease (group, "Category")
CHILD_GROUP = "ORPHA:183530"  # is_a ROOT_GROUP (group, "Clinical group")
MARFAN = "ORPHA:558"  # disease; part_of CHILD_GROUP; xrefs with relations
XXYY = "ORPHA:10"  # malformation syndrome; part_of CHILD_GROUP
NEONATAL_MARFAN = "ORPHA:284979"  # clinical subtype; part_of MARFAN
NON_RARE = "ORPHA:99108"  # "NON RARE IN EUROPE: Patent foramen ovale"
OBSOLETE = "ORPHA:100040"  # obsolete disorder, referred_to MARFAN
DEPRECATED = "ORPHA:100039"  # deprecated disorder, moved_to OBSOLETE (a chain)
OBSOLETE_TEXT_ONLY = "ORPHA:100050"  # obsolete; the replacement is only named in the reason text
FBN1_GENE = "ORPHA:121752"  # gene "fibrillin 1", symbol FBN1, disease-causing in MARFAN

ORDO_VERSION = "4.2"
ORDO_MODIFIED = "2022-12-02T15:15:42"

LABELLED_CLASSES = 25  # 15 upper-level classes + 10 concepts above

_HEADER = """<?xml version="1.0"?>
<rdf:RDF xmlns="http://www.w3.org/2002/07/owl#"
     xml:base="http://www.w3.org/2002/07/owl"
     xmlns:efo="http://www.ebi.ac.uk/efo/"
     xmlns:obo="http://purl.obolibrary.org/obo/"
     xmlns:owl="http://www.w3.org/2002/07/owl#"
     xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:xml="http://www.w3.org/XML/1998/namespace"
     xmlns:xsd="http://www.w3.org/2001/XMLSchema#"
     xmlns:ORDO="http://www.orpha.net/ORDO/"
     xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
     xmlns:skos="http://www.w3.org/2004/02/skos/core#"
     xmlns:terms="http://purl.org/dc/terms/"
     xmlns:oboInOwl="http://www.geneontology.org/formats/oboInOwl#">
    <Ontology rdf:about="https://www.orphadata.com/data/ontologies/ordo/last_version/ORDO_en_4.2.owl">
        <versionIRI rdf:resource="https://www.orphadata.com/data/ontologies/ordo/last_version/ORDO_en_4.2.owl"/>
        <terms:modified rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">{modified}</terms:modified>
        <versionInfo>{version}</versionInfo>
    </Ontology>
    <AnnotationProperty rdf:about="http://purl.obolibrary.org/obo/ECO_0000218">
        <rdfs:label>manual_assertion</rdfs:label>
    </AnnotationProperty>
    <AnnotationProperty rdf:about="http://www.orpha.net/ORDO/symbol"/>
    <ObjectProperty rdf:about="http://purl.obolibrary.org/obo/BFO_0000050">
        <rdfs:label>part_of</rdfs:label>
    </ObjectProperty>
    <ObjectProperty rdf:about="http://www.orpha.net/ORDO/Orphanet_317343">
        <rdfs:label>disease-causing germline mutation(s) in</rdfs:label>
    </ObjectProperty>
    <ObjectProperty rdf:about="http://www.orpha.net/ORDO/moved_to"/>
    <ObjectProperty rdf:about="http://www.orpha.net/ORDO/referred_to"/>
    <DatatypeProperty rdf:about="http://www.orpha.net/ORDO/Orphanet_C040">
        <rdfs:label>has_chromosomal location</rdfs:label>
    </DatatypeProperty>
"""

# Upper-level classes: (local id, label, parent local id or None)
_UPPER = [
    ("C001", "clinical entity", None),
    ("557492", "group of disorders", "C001"),
    ("557493", "disorder", "C001"),
    ("557494", "subtype of a disorder", "C001"),
    ("377788", "disease", "557493"),
    ("377789", "malformation syndrome", "557493"),
    ("C010", "genetic material", None),
    ("410298", "gene with protein product", "C010"),
    ("C041", "inactive clinical entity", None),
    ("C050", "obsolete clinical entity", "C041"),
    ("C052", "obsolete disorder", "C050"),
    ("C042", "deprecated clinical entity", "C041"),
    ("C044", "deprecated disorder", "C042"),
    ("C046", "non rare clinical entity", "C041"),
    ("C048", "non rare disorder", "C046"),
]

# The real file's wording, including its double spaces.
_NON_RARE_REASON = (
    "This disease is not rare in Europe. It does not belong to the Orphanet nomenclature of rare diseases."
)
_OBSOLETE_REASON = (
    "This entity has been obsoleted from the Orphanet nomenclature of rare diseases."
    "Instead, consider using  Marfan syndrome"
)
_DEPRECATED_REASON = (
    "This entity has been excluded from the Orphanet nomenclature of rare diseases and moved to"
    "  Marfanoid habitus, obsolete"
)
_EXACT = "E (Exact mapping: the two concepts are equivalent)"
_BTNT = "BTNT (ORPHA code&apos;s Broader Term maps to a Narrower Term)"
_E_SPECIFIC = (
    "- E (Exact mapping: the two concepts are equivalent).\n"
    "- Specific code (The ORPHA code has its own code in the ICD)."
)
_NTBT_ATTRIBUTED = (
    "- NTBT (ORPHA code&apos;s Narrower Term maps to a Broader Term).\n"
    "- Attributed (The ICD code is attributed by Orphanet)."
)


def _axiom(local: str, xref: str, note: str) -> str:
    """An owl:Axiom annotating the hasDbXref triple (class, xref) with its mapping relation."""
    return (
        "    <Axiom>\n"
        f'        <annotatedSource rdf:resource="http://www.orpha.net/ORDO/Orphanet_{local}"/>\n'
        '        <annotatedProperty rdf:resource="http://www.geneontology.org/formats/oboInOwl#hasDbXref"/>\n'
        f"        <annotatedTarget>{xref}</annotatedTarget>\n"
        f'        <obo:ECO_0000218 xml:lang="en">{note}</obo:ECO_0000218>\n'
        "    </Axiom>"
    )


_CONCEPTS = """
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_98053">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_557492"/>
        <rdfs:label>Rare genetic disease</rdfs:label>
        <skos:notation xml:lang="en">Category</skos:notation>
        <skos:notation>ORPHA:98053</skos:notation>
    </Class>
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_183530">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_98053"/>
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_557492"/>
        <rdfs:label>Rare genetic developmental defect during embryogenesis</rdfs:label>
        <skos:notation xml:lang="en">Clinical group</skos:notation>
        <skos:notation>ORPHA:183530</skos:notation>
    </Class>
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_558">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_377788"/>
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_557493"/>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://purl.obolibrary.org/obo/BFO_0000050"/>
                <someValuesFrom rdf:resource="http://www.orpha.net/ORDO/Orphanet_183530"/>
            </Restriction>
        </rdfs:subClassOf>
        <efo:alternative_term xml:lang="en">MFS</efo:alternative_term>
        <efo:definition xml:lang="en">A systemic disease of connective tissue.</efo:definition>
        <oboInOwl:hasDbXref>ICD-10:Q87.4</oboInOwl:hasDbXref>
        <oboInOwl:hasDbXref>MeSH:D008382</oboInOwl:hasDbXref>
        <oboInOwl:hasDbXref>OMIM:154700</oboInOwl:hasDbXref>
        <oboInOwl:hasDbXref>UMLS:C0024796</oboInOwl:hasDbXref>
        <rdfs:label>Marfan syndrome</rdfs:label>
        <skos:notation>ORPHA:558</skos:notation>
    </Class>
{marfan_axioms}
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_10">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_377789"/>
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_557493"/>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://purl.obolibrary.org/obo/BFO_0000050"/>
                <someValuesFrom rdf:resource="http://www.orpha.net/ORDO/Orphanet_183530"/>
            </Restriction>
        </rdfs:subClassOf>
        <oboInOwl:hasDbXref>ICD-10:Q98.8</oboInOwl:hasDbXref>
        <rdfs:label>48,XXYY syndrome</rdfs:label>
        <skos:notation>ORPHA:10</skos:notation>
    </Class>
{xxyy_axioms}
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_284979">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_557494"/>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://purl.obolibrary.org/obo/BFO_0000050"/>
                <someValuesFrom rdf:resource="http://www.orpha.net/ORDO/Orphanet_558"/>
            </Restriction>
        </rdfs:subClassOf>
        <efo:alternative_term xml:lang="en">Infantile Marfan syndrome</efo:alternative_term>
        <rdfs:label>Neonatal Marfan syndrome</rdfs:label>
        <skos:notation xml:lang="en">Clinical subtype</skos:notation>
        <skos:notation>ORPHA:284979</skos:notation>
    </Class>
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_99108">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_C048"/>
        <efo:reason_for_obsolescence>{non_rare_reason}</efo:reason_for_obsolescence>
        <rdfs:label>NON RARE IN EUROPE: Patent foramen ovale</rdfs:label>
        <skos:notation>ORPHA:99108</skos:notation>
    </Class>
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_100040">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_C052"/>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://www.orpha.net/ORDO/referred_to"/>
                <someValuesFrom rdf:resource="http://www.orpha.net/ORDO/Orphanet_558"/>
            </Restriction>
        </rdfs:subClassOf>
        <efo:reason_for_obsolescence>{obsolete_reason}</efo:reason_for_obsolescence>
        <rdfs:label>Marfanoid habitus, obsolete</rdfs:label>
        <skos:notation>ORPHA:100040</skos:notation>
    </Class>
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_100039">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_C044"/>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://www.orpha.net/ORDO/moved_to"/>
                <someValuesFrom rdf:resource="http://www.orpha.net/ORDO/Orphanet_100040"/>
            </Restriction>
        </rdfs:subClassOf>
        <efo:reason_for_obsolescence>{deprecated_reason}</efo:reason_for_obsolescence>
        <oboInOwl:hasDbXref>OMIM:177720</oboInOwl:hasDbXref>
        <rdfs:label>Deprecated Marfan-like entity</rdfs:label>
        <skos:notation>ORPHA:100039</skos:notation>
    </Class>
{deprecated_axioms}
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_100050">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_C052"/>
        <efo:reason_for_obsolescence>Obsoleted and moved to ORPHA:10</efo:reason_for_obsolescence>
        <rdfs:label>XXYY variant, obsolete</rdfs:label>
        <skos:notation>ORPHA:100050</skos:notation>
    </Class>
    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_121752">
        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_410298"/>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://www.orpha.net/ORDO/Orphanet_317343"/>
                <someValuesFrom rdf:resource="http://www.orpha.net/ORDO/Orphanet_558"/>
            </Restriction>
        </rdfs:subClassOf>
        <rdfs:subClassOf>
            <Restriction>
                <onProperty rdf:resource="http://www.orpha.net/ORDO/Orphanet_C040"/>
                <hasValue>15q21.1</hasValue>
            </Restriction>
        </rdfs:subClassOf>
        <efo:alternative_term xml:lang="en">Marfan syndrome</efo:alternative_term>
        <oboInOwl:hasDbXref>HGNC:3603</oboInOwl:hasDbXref>
        <oboInOwl:hasDbXref>OMIM:134797</oboInOwl:hasDbXref>
        <ORDO:symbol>FBN1</ORDO:symbol>
        <rdfs:label>fibrillin 1</rdfs:label>
    </Class>
</rdf:RDF>
"""


def slice_owl(version: str = ORDO_VERSION, modified: str = ORDO_MODIFIED) -> str:
    """The slice as RDF/XML text."""
    parts = [_HEADER.format(version=version, modified=modified)]
    for local, label, parent in _UPPER:
        parts.append(f'    <Class rdf:about="http://www.orpha.net/ORDO/Orphanet_{local}">\n')
        if parent:
            parts.append(
                f'        <rdfs:subClassOf rdf:resource="http://www.orpha.net/ORDO/Orphanet_{parent}"/>\n'
            )
        parts.append(f"        <rdfs:label>{label}</rdfs:label>\n    </Class>\n")
    parts.append(
        _CONCEPTS.format(
            marfan_axioms="\n".join(
                [
                    _axiom("558", "ICD-10:Q87.4", _E_SPECIFIC),
                    _axiom("558", "MeSH:D008382", _EXACT),
                    _axiom("558", "OMIM:154700", _BTNT),
                ]
            ),
            xxyy_axioms=_axiom("10", "ICD-10:Q98.8", _NTBT_ATTRIBUTED),
            deprecated_axioms=_axiom("100039", "OMIM:177720", _EXACT),
            non_rare_reason=_NON_RARE_REASON,
            obsolete_reason=_OBSOLETE_REASON,
            deprecated_reason=_DEPRECATED_REASON,
        )
    )
    return "".join(parts)


def write_slice(folder: Path, *, gz: bool = False, version: str = ORDO_VERSION) -> Path:
    """Write the slice into ``folder`` as ``ordo_slice.owl`` (or ``.owl.gz``) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    data = slice_owl(version=version).encode("utf-8")
    if gz:
        path = folder / "ordo_slice.owl.gz"
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path = folder / "ordo_slice.owl"
        path.write_bytes(data)
    return path
