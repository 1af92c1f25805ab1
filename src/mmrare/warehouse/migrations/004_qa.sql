-- 004: benchmark item drafts (mmrare.items.QAItem.row / evidence_rows). Items are staged with status
-- 'draft'; review decisions belong in their own table keyed by item_id, never in these rows.
-- item_id = sha256(track, pmcid, answer, drafter version)[:24], so re-loading a draft adds nothing;
-- content_sha256 covers everything else (options, order, context) to spot a changed re-draft.

CREATE TABLE qa_items (
    item_id       VARCHAR PRIMARY KEY,
    track         VARCHAR NOT NULL CHECK (track IN ('diagnosis', 'examination', 'treatment', 'cross_image')),
    question_type VARCHAR NOT NULL,          -- diagnosis | next_examination | treatment | image_for_finding | ...
    pmcid         VARCHAR NOT NULL,
    question      VARCHAR NOT NULL,
    context       VARCHAR NOT NULL,          -- what the model reads (before leakage control); never captions
    context_sentence_ids JSON NOT NULL,      -- ordered sentence ids the context is made of
    images        JSON NOT NULL,             -- ordered [{position, marker, figure_id, graphic_id}]
    options       JSON NOT NULL,             -- ordered option texts (deterministic shuffle)
    n_options     INTEGER NOT NULL CHECK (n_options BETWEEN 4 AND 10),
    answer_index  INTEGER NOT NULL CHECK (answer_index >= 0 AND answer_index < n_options),
    answer        VARCHAR NOT NULL,          -- gold answer text (= options[answer_index])
    aliases       JSON NOT NULL,             -- other accepted names (ORDO synonyms for diagnosis)
    orpha_code    VARCHAR,                   -- gold ORPHA code (diagnosis track)
    answer_category VARCHAR,                 -- examination / treatment vocabulary category
    rationale     VARCHAR NOT NULL,
    drafter       VARCHAR NOT NULL,          -- rules | llm
    drafter_version VARCHAR NOT NULL,        -- rules-drafter/1, llm-drafter/1+<model>
    status        VARCHAR NOT NULL,          -- draft
    seed          INTEGER NOT NULL,          -- option shuffle seed
    content_sha256 VARCHAR NOT NULL
);

-- One row per evidence sentence or figure of an item, for joins back to sentences / figures.
CREATE TABLE qa_evidence (
    item_id       VARCHAR NOT NULL,
    pmcid         VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL CHECK (kind IN ('sentence', 'figure')),
    ref_id        VARCHAR NOT NULL,          -- sentences.sentence_id or figures.figure_id
    ordinal       INTEGER NOT NULL,          -- order within its kind
    PRIMARY KEY (item_id, kind, ref_id)
);
