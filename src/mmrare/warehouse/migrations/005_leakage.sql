-- 005: leakage control (mmrare.leakage). Side tables keyed by item id: qa_items is never rewritten.
-- Detectors store every score (leakage_scores: also the semantic score of every sentence), the policy
-- stores what it did and why (leakage_decisions), and the rendered, masked context per item and policy
-- (leakage_contexts). Primary keys are content hashes (or the natural key), so re-loading the same rows
-- with INSERT OR IGNORE adds nothing. "basis" = sha256(context, options, descriptor)[:16]: scores of a
-- changed re-draft under the same item id never mix with the old ones.

CREATE TABLE leakage_descriptors (
    item_id       VARCHAR NOT NULL,
    descriptor_sha256 VARCHAR NOT NULL,
    code          VARCHAR,                   -- ORPHA:n, or a vocabulary id
    label         VARCHAR NOT NULL,
    descriptor    JSON NOT NULL,             -- AnswerDescriptor.as_dict(): what the detectors looked for
    ordo_version  VARCHAR NOT NULL,
    PRIMARY KEY (item_id, descriptor_sha256)
);

CREATE TABLE leakage_scores (
    score_id      VARCHAR PRIMARY KEY,       -- sha256(item, basis, detector + version, span, text, model)[:24]
    item_id       VARCHAR NOT NULL,
    track         VARCHAR NOT NULL,
    basis         VARCHAR NOT NULL,
    detector      VARCHAR NOT NULL,          -- lexical.label | ... | semantic | option.length | option.overlap
    detector_version VARCHAR NOT NULL,
    sentence_id   VARCHAR,                   -- NULL for item-level scores
    start         INTEGER,                   -- character offsets into qa_items.context
    "end"         INTEGER,
    matched_text  VARCHAR NOT NULL,          -- the hit; for semantic scores the sentence
    score         DOUBLE NOT NULL,           -- lexical 1.0; semantic max cosine; option scores
    detail        JSON NOT NULL,             -- term matched, closest descriptor, option statistics
    model_id      VARCHAR NOT NULL,
    model_sha256  VARCHAR NOT NULL,
    ordo_version  VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX leakage_scores_item ON leakage_scores (item_id);

CREATE TABLE leakage_decisions (
    decision_id   VARCHAR PRIMARY KEY,       -- sha256(item, basis, span, action, reason, threshold, versions)[:24]
    item_id       VARCHAR NOT NULL,
    track         VARCHAR NOT NULL,
    basis         VARCHAR NOT NULL,
    detector      VARCHAR NOT NULL,          -- or policy.removed_fraction | policy.min_kept_sentences | postcondition
    sentence_id   VARCHAR,
    start         INTEGER,                   -- span acted on: the hit (mask) or the sentence (drop_sentence)
    "end"         INTEGER,
    matched_text  VARCHAR NOT NULL,
    score         DOUBLE NOT NULL,
    threshold     DOUBLE,
    action        VARCHAR NOT NULL CHECK (action IN ('mask', 'drop_sentence', 'drop_item', 'flag')),
    reason        VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,          -- the policy rule that fired
    detail        JSON NOT NULL,
    model_id      VARCHAR NOT NULL,
    model_sha256  VARCHAR NOT NULL,
    ordo_version  VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    policy_version VARCHAR NOT NULL,         -- leakage-policy/1+<sha256[:8]>
    policy_sha256 VARCHAR NOT NULL,
    code_version  VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX leakage_decisions_item ON leakage_decisions (item_id);

CREATE TABLE leakage_contexts (
    item_id       VARCHAR NOT NULL,
    track         VARCHAR NOT NULL,
    basis         VARCHAR NOT NULL,
    masked_context VARCHAR NOT NULL,         -- what reviewers and releases read; the original stays in qa_items
    kept_sentence_ids JSON NOT NULL,
    dropped_sentence_ids JSON NOT NULL,
    n_masked_spans INTEGER NOT NULL,
    removed_fraction DOUBLE NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('kept', 'dropped')),
    reason        VARCHAR NOT NULL,          -- why it was dropped ('' when kept)
    flags         JSON NOT NULL,             -- detectors the policy flagged for reviewers (option shortcuts)
    model_id      VARCHAR NOT NULL,
    model_sha256  VARCHAR NOT NULL,
    ordo_version  VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    policy_version VARCHAR NOT NULL,
    policy_sha256 VARCHAR NOT NULL,
    code_version  VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, basis, policy_sha256, config_hash)
);

CREATE TABLE dataset_flags (
    flag_id       VARCHAR PRIMARY KEY,       -- sha256(item, flag, other item, ref, model, policy, config)[:24]
    item_id       VARCHAR NOT NULL,
    track         VARCHAR NOT NULL,
    flag          VARCHAR NOT NULL CHECK (flag IN
                    ('same_case_track', 'near_duplicate_context', 'duplicate_image', 'text_answerable')),
    other_item_id VARCHAR,
    ref           VARCHAR,                   -- pmcid, or "graphic|other graphic"
    score         DOUBLE NOT NULL,           -- 1.0 | cosine | Hamming distance | blind-solver margin
    threshold     DOUBLE,
    flagged       BOOLEAN NOT NULL,          -- the policy's verdict at write time
    detail        JSON NOT NULL,
    model_id      VARCHAR NOT NULL,
    model_sha256  VARCHAR NOT NULL,
    ordo_version  VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    policy_version VARCHAR NOT NULL,
    policy_sha256 VARCHAR NOT NULL,
    code_version  VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX dataset_flags_item ON dataset_flags (item_id);
