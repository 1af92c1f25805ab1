-- 003: disease linking output. Keyed by the ORDO file and linker versions that produced it, so a new
-- ORDO release or linker adds new rows beside the old ones instead of overwriting them.

CREATE TABLE disease_mentions (
    mention_id    VARCHAR PRIMARY KEY,       -- hash(sentence, offsets, code, linker, ordo sha256)
    pmcid         VARCHAR NOT NULL,
    sentence_id   VARCHAR NOT NULL,
    start         INTEGER NOT NULL,          -- character offsets into the sentence text
    "end"         INTEGER NOT NULL,
    text          VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,          -- ORPHA:n
    label         VARCHAR NOT NULL,
    match_kind    VARCHAR NOT NULL,          -- label | synonym | abbreviation | embedding
    negated       BOOLEAN NOT NULL,
    differential  BOOLEAN NOT NULL,
    family_history BOOLEAN NOT NULL,
    score         DOUBLE,
    linker_version VARCHAR NOT NULL,
    ordo_version  VARCHAR NOT NULL,
    ordo_sha256   VARCHAR NOT NULL
);

CREATE TABLE case_diagnoses (
    pmcid         VARCHAR NOT NULL,
    ordo_sha256   VARCHAR NOT NULL,
    linker_version VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    code          VARCHAR,                   -- NULL: no rare-disease diagnosis (see reason)
    label         VARCHAR,
    confidence    DOUBLE NOT NULL,
    evidence_sentence_ids JSON NOT NULL,
    alternatives  JSON NOT NULL,             -- [[code, label, score], ...]
    reason        VARCHAR NOT NULL,
    ordo_version  VARCHAR NOT NULL,
    embedding_model VARCHAR,                 -- model id + sha256 when the fallback was used
    run_id        VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pmcid, ordo_sha256, linker_version, config_hash)
);
