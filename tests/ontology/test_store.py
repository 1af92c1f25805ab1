"""The ORDO store: parsing the OWL encodings into the concept model, the index, the cache, the rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrare.errors import FatalError
from mmrare.ontology import owl
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import (
    EntityType,
    Level,
    MappingRelation,
    Relation,
    Status,
    Xref,
    parse_code,
    parse_mapping_annotation,
    split_xref,
)
from mmrare.ontology.rows import ORDO_TABLES, warehouse_rows
from mmrare.ontology.store import (
    EXTRACTOR_VERSION,
    cached_artifact,
    load_ordo,
)
from mmrare.warehouse.db import connect

from .ordo_slice import (
    CHILD_GROUP,
    DEPRECATED,
    FBN1_GENE,
    LABELLED_CLASSES,
    MARFAN,
    NEONATAL_MARFAN,
    NON_RARE,
    OBSOLETE,
    OBSOLETE_TEXT_ONLY,
    ORDO_MODIFIED,
    ORDO_VERSION,
    ROOT_GROUP,
    XXYY,
    write_slice,
)

ORDO_DIR = Path(__file__).resolve().parents[3] / "shared" / "ordo"
FULL_ORDO = ORDO_DIR / "ORDO_en_4.2.owl.gz"


# -- the concept model ----------------------------------------------------------------------


def test_release_is_read_from_the_ontology_header(slice_index: OrdoIndex, slice_path: Path) -> None:
    release = slice_index.release
    assert release.version == ORDO_VERSION
    assert release.modified == ORDO_MODIFIED
    assert release.sha256 == owl.file_sha256(slice_path)
    assert release.version_iri and release.version_iri.endswith("ORDO_en_4.2.owl")
    assert release.source_name == slice_path.name


def test_every_labelled_class_is_a_concept(slice_index: OrdoIndex) -> None:
    assert len(slice_index) == LABELLED_CLASSES
    codes = [c.code for c in slice_index.concepts()]
    assert codes == sorted(set(codes), key=codes.index)  # no duplicates
    assert MARFAN in slice_index and "ORPHA:999999" not in slice_index


def test_disorder_fields(slice_index: OrdoIndex) -> None:
    marfan = slice_index[MARFAN]
    assert marfan.label == "Marfan syndrome"
    assert marfan.definition == "A systemic disease of connective tissue."
    assert marfan.synonyms == ("MFS",)
    assert (marfan.level, marfan.entity_type, marfan.status) == (
        Level.DISORDER,
        EntityType.DISEASE,
        Status.ACTIVE,
    )
    assert not marfan.obsolete and not marfan.non_rare and marfan.replaced_by is None
    assert marfan.iri == "http://www.orpha.net/ORDO/Orphanet_558"
    assert marfan.is_a == ()  # its only named superclasses are entity types
    assert marfan.part_of == (CHILD_GROUP,)


def test_xrefs_carry_the_mapping_relation_of_their_axiom(slice_index: OrdoIndex) -> None:
    xrefs = {x.curie: x for x in slice_index[MARFAN].xrefs}
    assert set(xrefs) == {"ICD-10:Q87.4", "MeSH:D008382", "OMIM:154700", "UMLS:C0024796"}
    assert xrefs["OMIM:154700"] == Xref("OMIM", "154700", MappingRelation.BTNT, None)
    assert xrefs["ICD-10:Q87.4"] == Xref("ICD-10", "Q87.4", MappingRelation.E, "Specific code")
    assert xrefs["MeSH:D008382"].relation is MappingRelation.E
    assert xrefs["UMLS:C0024796"].relation is None  # no axiom in the file for this one
    (icd,) = slice_index[XXYY].xrefs
    assert (icd.relation, icd.icd_relation) == (MappingRelation.NTBT, "Attributed")


def test_entity_types_come_from_type_superclasses_and_notations(slice_index: OrdoIndex) -> None:
    expected = {
        ROOT_GROUP: (Level.GROUP, EntityType.CATEGORY),
        CHILD_GROUP: (Level.GROUP, EntityType.CLINICAL_GROUP),
        XXYY: (Level.DISORDER, EntityType.MALFORMATION_SYNDROME),
        NEONATAL_MARFAN: (Level.SUBTYPE, EntityType.CLINICAL_SUBTYPE),
        FBN1_GENE: (Level.GENE, EntityType.GENE),
        "ORPHA:557493": (Level.ONTOLOGY, EntityType.ONTOLOGY_CLASS),
        "ORPHA:C001": (Level.ONTOLOGY, EntityType.ONTOLOGY_CLASS),
    }
    for code, (level, entity_type) in expected.items():
        concept = slice_index[code]
        assert (concept.level, concept.entity_type) == (level, entity_type), code
    clinical = {c.code for c in slice_index.concepts(levels=[Level.GROUP, Level.DISORDER, Level.SUBTYPE])}
    assert FBN1_GENE not in clinical and "ORPHA:557493" not in clinical and MARFAN in clinical


def test_non_rare_prefix_is_stripped_and_flagged(slice_index: OrdoIndex) -> None:
    concept = slice_index[NON_RARE]
    assert concept.label == "Patent foramen ovale"
    assert concept.non_rare and concept.status is Status.NON_RARE
    assert not concept.obsolete and concept.replaced_by is None
    assert concept.obsolescence_reason and "not rare in Europe" in concept.obsolescence_reason


def test_obsolete_and_deprecated_name_their_replacement(slice_index: OrdoIndex) -> None:
    obsolete = slice_index[OBSOLETE]
    assert obsolete.obsolete and obsolete.status is Status.OBSOLETE
    assert obsolete.replaced_by == MARFAN  # ORDO:referred_to restriction
    assert obsolete.level is Level.DISORDER and obsolete.entity_type is EntityType.DISORDER
    deprecated = slice_index[DEPRECATED]
    assert deprecated.status is Status.DEPRECATED and deprecated.replaced_by == OBSOLETE  # ORDO:moved_to
    assert slice_index[OBSOLETE_TEXT_ONLY].replaced_by == XXYY  # "moved to ORPHA:10" in the reason text


def test_resolve_obsolete_follows_replacement_chains(slice_index: OrdoIndex) -> None:
    resolved = slice_index.resolve_obsolete(DEPRECATED)  # deprecated -> obsolete -> Marfan
    assert resolved is not None and resolved.code == MARFAN
    assert slice_index.resolve_obsolete(MARFAN) == slice_index[MARFAN]
    assert slice_index.resolve_obsolete("Orphanet_100040") == slice_index[MARFAN]
    assert slice_index.resolve_obsolete(NON_RARE) == slice_index[NON_RARE]  # not obsolete
    assert slice_index.resolve_obsolete("ORPHA:999999") is None


def test_hierarchy(slice_index: OrdoIndex) -> None:
    idx = slice_index
    assert idx.parents(NEONATAL_MARFAN) == (MARFAN,)
    assert idx.parents(CHILD_GROUP) == (ROOT_GROUP,)
    assert idx.parents(CHILD_GROUP, [Relation.PART_OF]) == ()
    assert idx.children(CHILD_GROUP) == (XXYY, MARFAN)
    assert idx.children(ROOT_GROUP, ["is_a"]) == (CHILD_GROUP,)
    assert idx.ancestors(NEONATAL_MARFAN) == {MARFAN, CHILD_GROUP, ROOT_GROUP}
    assert idx.ancestors(NEONATAL_MARFAN, [Relation.PART_OF]) == {MARFAN, CHILD_GROUP}
    assert idx.ancestors(NEONATAL_MARFAN, [Relation.IS_A]) == set()
    assert idx.descendants(ROOT_GROUP) == {CHILD_GROUP, MARFAN, XXYY, NEONATAL_MARFAN}
    assert idx.ancestors(NEONATAL_MARFAN) is idx.ancestors("Orphanet_284979")  # memoised
    assert idx.is_descendant(NEONATAL_MARFAN, ROOT_GROUP)
    assert idx.ancestors("ORPHA:999999") == frozenset()


def test_children_are_memoised_per_selection_in_any_spelling(slice_index: OrdoIndex) -> None:
    idx = slice_index
    assert idx.children(CHILD_GROUP) is idx.children("Orphanet_183530")
    assert idx.children(CHILD_GROUP, ["part_of", "is_a"]) is idx.children(CHILD_GROUP)
    assert idx.children(ROOT_GROUP, "is_a") is idx.children(ROOT_GROUP, [Relation.IS_A])
    assert idx.children(ROOT_GROUP, [Relation.PART_OF]) == ()
    assert idx.children("ORPHA:999999") == ()
    with pytest.raises(ValueError):
        idx.children(ROOT_GROUP, ["sibling_of"])


def test_codes_in_any_spelling(slice_index: OrdoIndex) -> None:
    for spelling in ("ORPHA:558", "Orphanet_558", "orpha 558", "http://www.orpha.net/ORDO/Orphanet_558"):
        concept = slice_index.get(spelling)
        assert concept is not None and concept.code == MARFAN
    assert slice_index.get("558") is None  # a bare number is not taken for a code
    with pytest.raises(KeyError, match="ORPHA:1"):
        slice_index["ORPHA:1"]
    assert parse_code("558", allow_bare=True) == MARFAN


def test_by_xref(slice_index: OrdoIndex) -> None:
    assert [c.code for c in slice_index.by_xref("OMIM:154700")] == [MARFAN]
    assert [c.code for c in slice_index.by_xref("icd10:q87.4")] == [MARFAN]
    assert [c.code for c in slice_index.by_xref("MeSH:D008382")] == [MARFAN]
    assert [c.code for c in slice_index.by_xref("HGNC:3603")] == [FBN1_GENE]
    assert slice_index.by_xref("OMIM:1") == () and slice_index.by_xref("not an xref") == ()


def test_gene_symbol_locus_and_association(slice_index: OrdoIndex) -> None:
    gene = slice_index[FBN1_GENE]
    assert (gene.label, gene.symbol, gene.locus) == ("fibrillin 1", "FBN1", "15q21.1")
    (link,) = slice_index.genes_for(MARFAN)
    assert (link.gene, link.disorder, link.relation_code) == (FBN1_GENE, MARFAN, "ORPHA:317343")
    assert link.relation == "disease-causing germline mutation(s) in"


def test_annotation_and_xref_parsing() -> None:
    assert parse_mapping_annotation("W (Wrong mapping: the two concepts are different)") == (
        MappingRelation.W,
        None,
    )
    text = (
        "- ND (not yet decided/unable to decide).\n- Index term (The ORPHA code is listed in the ICD Index)."
    )
    assert parse_mapping_annotation(text) == (MappingRelation.ND, "Index term")
    assert split_xref("MIM#154700") == ("OMIM", "154700")
    assert split_xref("umls c0024796") == ("UMLS", "C0024796")
    assert split_xref("Marfan syndrome") is None


# -- loading and the cache ------------------------------------------------------------------


def test_load_graph_gives_an_rdflib_graph_for_sparql(tmp_path: Path) -> None:
    graph = owl.load_graph(write_slice(tmp_path, gz=True))
    rows = graph.query(
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"
        " SELECT ?label WHERE { <http://www.orpha.net/ORDO/Orphanet_558> rdfs:label ?label }"
    )
    assert [str(r[0]) for r in rows] == ["Marfan syndrome"]


def test_gzipped_file_gives_the_same_model(tmp_path: Path, slice_index: OrdoIndex) -> None:
    gz_index = load_ordo(write_slice(tmp_path / "gz", gz=True))
    assert list(gz_index.concepts()) == list(slice_index.concepts())
    assert gz_index.release.sha256 != slice_index.release.sha256  # sha256 of the file as given


def test_warm_load_reads_the_cache_without_parsing(
    slice_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cold = load_ordo(slice_path, cache)
    entry = cache / cold.release.sha256
    marker = json.loads((entry / f"_complete-{EXTRACTOR_VERSION}.json").read_text())
    assert marker["sha256"] == cold.release.sha256 and marker["concepts"] == LABELLED_CLASSES

    def no_parse(path: Path) -> None:
        raise AssertionError("warm load must not parse the OWL file")

    monkeypatch.setattr(owl, "read_ordo", no_parse)
    warm = load_ordo(slice_path, cache)
    assert list(warm.concepts()) == list(cold.concepts())
    assert warm.release == cold.release and warm.gene_associations == cold.gene_associations
    assert warm.cache_entry == entry


@pytest.mark.parametrize("damage", ["corrupt_pickle", "no_marker", "wrong_marker"])
def test_damaged_cache_is_rebuilt(slice_path: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    first = load_ordo(slice_path, cache)
    entry = cache / first.release.sha256
    pickle_file = entry / f"concepts-{EXTRACTOR_VERSION}.pickle"
    marker = entry / f"_complete-{EXTRACTOR_VERSION}.json"
    if damage == "corrupt_pickle":
        pickle_file.write_bytes(b"\x80\x05garbage" + b"\0" * (pickle_file.stat().st_size - 10))
    elif damage == "no_marker":
        marker.unlink()
    else:
        marker.write_text(json.dumps({"sha256": "0" * 64, "extractor": EXTRACTOR_VERSION}))
    again = load_ordo(slice_path, cache)
    assert list(again.concepts()) == list(first.concepts())
    assert json.loads(marker.read_text())["sha256"] == first.release.sha256  # rewritten


def test_a_changed_file_gets_its_own_cache_entry(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    old = load_ordo(write_slice(tmp_path / "a", version="4.1"), cache)
    new = load_ordo(write_slice(tmp_path / "b", version="4.2"), cache)
    assert (old.release.version, new.release.version) == ("4.1", "4.2")
    assert sorted(p.name for p in cache.iterdir()) == sorted([old.release.sha256, new.release.sha256])


def test_cached_artifact_is_built_once_per_release(slice_index: OrdoIndex) -> None:
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {"n": len(slice_index)}

    assert cached_artifact(slice_index, "test-artifact-1", build) == {"n": LABELLED_CLASSES}
    assert cached_artifact(slice_index, "test-artifact-1", build) == {"n": LABELLED_CLASSES}
    assert len(calls) == 1
    with pytest.raises(ValueError, match="artifact name"):
        cached_artifact(slice_index, "../escape", build)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.owl", None),
        ("notes.owl", b"just some text, not XML"),
        ("broken.owl", b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><oops"),
        ("no_header.owl", b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'/>"),
        ("broken.owl.gz", b"\x1f\x8b\x08\x00 truncated"),
        ("empty.owl", b""),
    ],
)
def test_bad_files_are_fatal_with_a_one_line_message(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FatalError) as excinfo:
        load_ordo(path, tmp_path / "cache")
    message = str(excinfo.value)
    assert str(path) in message and "\n" not in message


def test_a_directory_is_not_an_ordo_file(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="not a file"):
        load_ordo(tmp_path)


def test_rdf_without_orphanet_classes_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "other.owl"
    path.write_text(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://www.w3.org/2002/07/owl#">'
        '<Ontology rdf:about="http://example.org/o"/><Class rdf:about="http://example.org/A"/></rdf:RDF>'
    )
    with pytest.raises(FatalError, match="no Orphanet classes"):
        load_ordo(path)


# -- warehouse rows -------------------------------------------------------------------------


def test_rows_fit_the_migration_and_reload_is_idempotent(slice_index: OrdoIndex, tmp_path: Path) -> None:
    rows = warehouse_rows(slice_index)
    assert tuple(rows) == ORDO_TABLES
    con = connect(tmp_path / "w.duckdb")
    for _ in range(2):
        for table, table_rows in rows.items():
            columns = list(table_rows[0])
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(
                f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                [[r[c] for c in columns] for r in table_rows],
            )
    for table, table_rows in rows.items():
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == len(table_rows)
    marfan = con.execute(
        "SELECT label, entity_type, level, non_rare, obsolete, ordo_version FROM ordo_concepts"
        " WHERE code = ?",
        [MARFAN],
    ).fetchone()
    assert marfan == ("Marfan syndrome", "disease", "disorder", False, False, ORDO_VERSION)
    assert con.execute(
        "SELECT relation FROM ordo_xrefs WHERE code = ? AND source = 'OMIM' AND xref_id = '154700'", [MARFAN]
    ).fetchone() == ("BTNT",)
    assert con.execute(
        "SELECT parent, relation FROM ordo_parents WHERE code = ? ORDER BY relation", [NEONATAL_MARFAN]
    ).fetchall() == [(MARFAN, "part_of")]
    assert con.execute("SELECT replaced_by FROM ordo_concepts WHERE code = ?", [OBSOLETE]).fetchone() == (
        MARFAN,
    )


# -- the full ORDO 4.2 ----------------------------------------------------------------------


@pytest.mark.slow
def test_full_ordo_counts_facts_cache_and_lookup_speed(tmp_path: Path) -> None:
    from mmrare.ontology.lookup import lookup, lookup_index

    if not FULL_ORDO.is_file():
        pytest.fail(f"{FULL_ORDO} is missing: tests need ../shared beside the project root")
    # load times are measured by bench/ontology.py; here: the second load is served by the cache
    cold = load_ordo(FULL_ORDO, tmp_path / "cache")
    warm = load_ordo(FULL_ORDO, tmp_path / "cache")
    assert warm.cache_entry is not None and warm.cache_entry == cold.cache_entry
    assert warm.cache_entry.is_dir() and warm.cache_entry.name == cold.release.sha256
    assert list(warm.concepts()) == list(cold.concepts())

    idx = warm
    assert idx.release.version == "4.2" and idx.release.modified == "2022-12-02T15:15:42"
    concepts = list(idx.concepts())
    assert 15_000 <= len(concepts) <= 15_500
    assert 25_000 <= sum(len(c.synonyms) for c in concepts) <= 26_000
    assert 52_000 <= sum(len(c.xrefs) for c in concepts) <= 53_000
    assert 4_300 <= sum(1 for c in concepts if c.symbol) <= 4_500
    obsolete = [c for c in concepts if c.obsolete]
    assert 1_200 <= len(obsolete) <= 1_400
    assert sum(1 for c in obsolete if c.replaced_by) >= 1_100
    assert 100 <= sum(1 for c in concepts if c.non_rare) <= 200
    assert not any(c.label.startswith("NON RARE") for c in concepts)
    untyped = [c.code for c in concepts if c.level is Level.ONTOLOGY and not c.code.startswith("ORPHA:C")]
    assert len(untyped) <= 15  # only the entity-type classes themselves

    marfan = idx[MARFAN]
    assert marfan.label == "Marfan syndrome" and marfan.entity_type is EntityType.DISEASE
    assert "OMIM:154700" in {x.curie for x in marfan.xrefs}
    assert marfan.part_of and not marfan.is_a
    assert MARFAN in {c.code for c in idx.by_xref("OMIM:154700")}
    assert idx.ancestors(MARFAN) and "ORPHA:284963" in idx.descendants(MARFAN)  # Marfan syndrome type 1
    assert "FBN1" in {idx[g.gene].symbol for g in idx.genes_for("ORPHA:284963")}
    assert all(idx.get(c.replaced_by) is not None for c in obsolete if c.replaced_by)

    lookup_index(idx)  # built once per release and cached beside the model
    for query in ("Marfan syndrome", "marfan syndrom", "OMIM:154700", "cystic fibrosis", "ehlers danlos"):
        hits = lookup(idx, query)
        assert hits, query
    assert lookup(idx, "marfan syndrom")[0].code == MARFAN
