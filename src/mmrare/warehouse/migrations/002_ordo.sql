-- 002: the Orphanet ontology (ORDO) concept model and Orphadata prevalence enrichment.
-- Rows come from mmrare.ontology.rows and mmrare.ontology.orphadata. Every key starts with the sha256
-- of the source file, so re-loading a release adds nothing and two releases can coexist.

CREATE TABLE ordo_concepts (
    ordo_sha256   VARCHAR NOT NULL,          -- sha256 of the ORDO file the row came from
    code          VARCHAR NOT NULL,          -- ORPHA:558
    label         VARCHAR NOT NULL,          -- "NON RARE IN EUROPE:" prefix stripped (see non_rare)
    definition    VARCHAR,
    entity_type   VARCHAR NOT NULL,          -- disease | malformation syndrome | category | clinical subtype | gene with protein product | ...
    level         VARCHAR NOT NULL,          -- group of disorders | disorder | subtype of a disorder | gene | ontology class
    status        VARCHAR NOT NULL,          -- active | obsolete | deprecated | non_rare
    non_rare      BOOLEAN NOT NULL,
    obsolete      BOOLEAN NOT NULL,          -- status obsolete or deprecated
    replaced_by   VARCHAR,                   -- ORPHA code to use instead (obsolete / deprecated only)
    symbol        VARCHAR,                   -- gene symbol (genes only)
    ordo_version  VARCHAR NOT NULL,          -- owl:versionInfo, "4.2"
    PRIMARY KEY (ordo_sha256, code)
);

CREATE TABLE ordo_synonyms (
    ordo_sha256   VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,
    synonym       VARCHAR NOT NULL,
    PRIMARY KEY (ordo_sha256, code, synonym)
);

CREATE TABLE ordo_xrefs (
    ordo_sha256   VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,          -- OMIM | ICD-10 | ICD-11 | MeSH | UMLS | MedDRA | GARD | HGNC | ...
    xref_id       VARCHAR NOT NULL,          -- 154700, Q87.4, D008382
    relation      VARCHAR,                   -- E | NTBT | BTNT | NTBT/E | BTNT/E | ND | W (NULL when ORDO gives none)
    icd_relation  VARCHAR,                   -- ICD mappings: Attributed | Specific code | Index term | Inclusion term
    PRIMARY KEY (ordo_sha256, code, source, xref_id)
);

CREATE TABLE ordo_parents (
    ordo_sha256   VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,
    parent        VARCHAR NOT NULL,
    relation      VARCHAR NOT NULL,          -- is_a | part_of
    PRIMARY KEY (ordo_sha256, code, parent, relation)
);

CREATE TABLE ordo_gene_associations (
    ordo_sha256   VARCHAR NOT NULL,
    gene          VARCHAR NOT NULL,          -- ORPHA code of the gene class
    disorder      VARCHAR NOT NULL,
    relation      VARCHAR NOT NULL,          -- "disease-causing germline mutation(s) in", ...
    relation_code VARCHAR NOT NULL,          -- ORPHA:317343, ...
    PRIMARY KEY (ordo_sha256, gene, disorder, relation_code)
);

-- Orphadata product 9 (epidemiology). Keyed by the sha256 of the XML file.
CREATE TABLE ordo_prevalence (
    source_sha256 VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,
    prevalence_id VARCHAR NOT NULL,
    prevalence_type VARCHAR,                 -- Point prevalence | Birth prevalence | Annual incidence | Cases/families | ...
    qualification VARCHAR,                   -- Value and class | Class only | Case(s)
    prevalence_class VARCHAR,                -- "<1 / 1 000 000", "1-9 / 100 000", ...
    mean_value    DOUBLE,                    -- ValMoy
    geographic    VARCHAR,
    validation_status VARCHAR,
    source        VARCHAR,
    orphadata_date VARCHAR,
    orphadata_version VARCHAR,
    PRIMARY KEY (source_sha256, code, prevalence_id)
);
