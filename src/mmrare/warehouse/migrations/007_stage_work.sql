-- 007: a ledger of finished per-record work for the stages after curation (draft, leakage), and the
-- distractor pool the drafter builds across cases.
-- A stage writes its ledger row into the same Parquet shard as its output, so both are loaded in one
-- transaction: a record is either done with all its rows stored, or not done at all. The work key is
-- a hash of the record and every version/setting that can change the output, so a new drafter version
-- or config redoes the work and an unchanged one is skipped (resume on content, not on run numbers).

CREATE TABLE stage_work (
    work_key      VARCHAR PRIMARY KEY,
    stage         VARCHAR NOT NULL,          -- draft | leakage
    record_id     VARCHAR NOT NULL,          -- pmcid (draft) or item_id (leakage)
    versions      JSON NOT NULL,             -- what the key covers, for audit
    outcome       VARCHAR NOT NULL,          -- e.g. "4 items, 1 reject"
    run_id        VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- What one case contributes to the distractor pool (examinations, treatments and image findings it
-- reports), per drafter version. Stored so that adding cases only computes the new cases' entries.
CREATE TABLE draft_pool (
    pmcid         VARCHAR NOT NULL,
    drafter_version VARCHAR NOT NULL,
    ordinal       INTEGER NOT NULL,
    kind          VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    category      VARCHAR,
    PRIMARY KEY (pmcid, drafter_version, ordinal)
);

-- The sentence that states the case's final diagnosis (ontology.linking.statement): where the
-- diagnosis item's context is cut. NULL for rows linked before this column existed.
ALTER TABLE case_diagnoses ADD COLUMN statement_sentence_id VARCHAR;
