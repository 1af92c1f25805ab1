-- 006: annotator review (mmrare.annotations.review). Side tables keyed by item id: qa_items and
-- qa_evidence are never rewritten; an edit adds an item version, a verdict adds a review row.
--
-- Final outcome of an item (view review_outcomes; accepted_items keeps the 'accepted' ones):
--   1. An adjudication decides when one exists (the latest by created_at, then adjudication_id):
--      decision 'accept' -> accepted at adjudications.item_version; 'reject' -> rejected.
--   2. Otherwise nothing is final until the item has at least its required number of reviews
--      (review_queue.required_reviews, 2 when the item was never queued). Then, over ALL its reviews:
--      a. every verdict is 'accept' and all name the same item_version -> accepted at that version;
--      b. every verdict is 'edit' and the edited versions agree (one distinct content_sha256, i.e. the
--         same question, options, answer, aliases and evidence after whitespace normalisation)
--         -> accepted at the latest (highest) of those versions;
--      c. every verdict is 'reject' -> rejected;
--      d. anything else (accept vs edit, accept vs reject, edits that differ) -> needs_adjudication.
--   Items whose latest leakage context (leakage_contexts, latest created_at) has status 'dropped' are
--   never accepted: leakage control removed them (outcome 'dropped_by_leakage').
-- accepted_items.context / context_sentence_ids come from that latest leakage context when one exists
-- (masked_context / kept_sentence_ids), else from qa_items.
-- accepted_at = the deciding adjudication's time, else the latest of the agreeing reviews.

-- Reviewers and adjudicators. The login token is shown once by `mmrare review add-annotator`;
-- only its sha256 is stored.
CREATE TABLE annotators (
    name          VARCHAR PRIMARY KEY,       -- also the id every review / version / adjudication names
    token_sha256  VARCHAR NOT NULL,          -- sha256 hex of the login token
    is_adjudicator BOOLEAN NOT NULL,
    active        BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- Items entered into review and how many independent reviews each needs (configurable per run).
CREATE TABLE review_queue (
    item_id       VARCHAR PRIMARY KEY,
    required_reviews INTEGER NOT NULL CHECK (required_reviews >= 1),
    enqueued_at   TIMESTAMPTZ NOT NULL
);

-- Every version of an item's reviewable content. Version 0 is the draft exactly as drafted (copied
-- from qa_items / qa_evidence, editor 'drafter'); each edit adds version max+1 and keeps the others.
CREATE TABLE item_versions (
    item_id       VARCHAR NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 0),
    based_on      INTEGER,                   -- the version the edit started from (NULL for version 0)
    question      VARCHAR NOT NULL,
    options       JSON NOT NULL,             -- ordered option texts
    answer_index  INTEGER NOT NULL CHECK (answer_index >= 0),
    answer        VARCHAR NOT NULL,          -- = options[answer_index]
    aliases       JSON NOT NULL,
    evidence_sentence_ids JSON NOT NULL,     -- ordered sentences.sentence_id
    evidence_figure_ids JSON NOT NULL,       -- ordered figures.figure_id
    editor        VARCHAR NOT NULL,          -- annotators.name, or 'drafter' for version 0
    note          VARCHAR NOT NULL,          -- why the editor changed it
    content_sha256 VARCHAR NOT NULL,         -- sha256 of the normalised content; equal = edits agree
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, version)
);

-- One independent verdict per item and annotator.
CREATE TABLE reviews (
    item_id       VARCHAR NOT NULL,
    annotator     VARCHAR NOT NULL,          -- annotators.name
    verdict       VARCHAR NOT NULL CHECK (verdict IN ('accept', 'edit', 'reject')),
    item_version  INTEGER NOT NULL,          -- the version the annotator was shown and judged
    result_version INTEGER,                  -- edit: the version it created; accept: = item_version
    reject_reason VARCHAR,                   -- reason code (mmrare.annotations.review.REJECT_REASONS)
    comment       VARCHAR NOT NULL,          -- free text (required context for 'other')
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, annotator),
    CHECK ((verdict = 'reject') = (reject_reason IS NOT NULL)),
    CHECK ((verdict = 'reject') = (result_version IS NULL))
);

-- Decisions on items whose reviews disagree (or that an adjudicator overrules). History is kept;
-- the latest row per item decides.
CREATE TABLE adjudications (
    adjudication_id VARCHAR PRIMARY KEY,     -- sha256(item, adjudicator, time)[:24]
    item_id       VARCHAR NOT NULL,
    adjudicator   VARCHAR NOT NULL,          -- annotators.name (is_adjudicator)
    decision      VARCHAR NOT NULL CHECK (decision IN ('accept', 'reject')),
    item_version  INTEGER,                   -- accepted version (required for 'accept')
    reject_reason VARCHAR,
    note          VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    CHECK ((decision = 'accept') = (item_version IS NOT NULL))
);
CREATE INDEX adjudications_item ON adjudications (item_id);

-- Every version, with version 0 read from qa_items / qa_evidence when it was never copied.
CREATE VIEW item_versions_all AS
WITH ev AS (
    SELECT item_id,
           to_json(coalesce(list(ref_id ORDER BY ordinal) FILTER (WHERE kind = 'sentence'), [])) AS sents,
           to_json(coalesce(list(ref_id ORDER BY ordinal) FILTER (WHERE kind = 'figure'), [])) AS figs
    FROM qa_evidence GROUP BY item_id
)
SELECT item_id, version, based_on, question, options, answer_index, answer, aliases,
       evidence_sentence_ids, evidence_figure_ids, editor, note, content_sha256, created_at
FROM item_versions
UNION ALL
SELECT q.item_id, 0, NULL, q.question, q.options, q.answer_index, q.answer, q.aliases,
       coalesce(ev.sents, '[]'::JSON), coalesce(ev.figs, '[]'::JSON), 'drafter', '', q.content_sha256, NULL
FROM qa_items q LEFT JOIN ev USING (item_id)
WHERE NOT EXISTS (SELECT 1 FROM item_versions v WHERE v.item_id = q.item_id AND v.version = 0);

-- The latest leakage context per item (any basis / policy): what reviewers and releases read.
CREATE VIEW latest_leakage_contexts AS
SELECT * FROM leakage_contexts
QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY created_at DESC, basis, policy_sha256) = 1;

-- One row per item: its review state and, once final, its outcome (rule at the top of this file).
CREATE VIEW review_outcomes AS
WITH rv AS (
    SELECT r.item_id,
           count(*) AS n_reviews,
           count(*) FILTER (WHERE verdict = 'accept') AS n_accept,
           count(*) FILTER (WHERE verdict = 'edit') AS n_edit,
           count(*) FILTER (WHERE verdict = 'reject') AS n_reject,
           count(DISTINCT item_version) FILTER (WHERE verdict = 'accept') AS n_accept_versions,
           min(item_version) FILTER (WHERE verdict = 'accept') AS accept_version,
           count(DISTINCT v.content_sha256) FILTER (WHERE verdict = 'edit') AS n_edit_contents,
           max(result_version) FILTER (WHERE verdict = 'edit') AS edit_version,
           max(r.created_at) AS last_review_at
    FROM reviews r
    LEFT JOIN item_versions v ON v.item_id = r.item_id AND v.version = r.result_version
    GROUP BY r.item_id
),
adj AS (
    SELECT * FROM adjudications
    QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY created_at DESC, adjudication_id DESC) = 1
),
base AS (
    SELECT q.item_id, q.track,
           coalesce(rq.required_reviews, 2) AS required_reviews,
           coalesce(rv.n_reviews, 0) AS n_reviews,
           rv.n_accept, rv.n_edit, rv.n_reject, rv.n_accept_versions, rv.accept_version,
           rv.n_edit_contents, rv.edit_version, rv.last_review_at,
           adj.adjudication_id, adj.decision AS adj_decision, adj.item_version AS adj_version,
           adj.created_at AS adj_at,
           coalesce(lc.status = 'dropped', false) AS leakage_dropped
    FROM qa_items q
    LEFT JOIN review_queue rq USING (item_id)
    LEFT JOIN rv USING (item_id)
    LEFT JOIN adj USING (item_id)
    LEFT JOIN latest_leakage_contexts lc USING (item_id)
),
decided AS (
    SELECT *,
        CASE
            WHEN leakage_dropped THEN 'dropped_by_leakage'
            WHEN adjudication_id IS NOT NULL THEN CASE adj_decision WHEN 'accept' THEN 'accepted' ELSE 'rejected' END
            WHEN n_reviews < required_reviews THEN 'pending'
            WHEN n_accept = n_reviews AND n_accept_versions = 1 THEN 'accepted'
            WHEN n_edit = n_reviews AND n_edit_contents = 1 THEN 'accepted'
            WHEN n_reject = n_reviews THEN 'rejected'
            ELSE 'needs_adjudication'
        END AS outcome
    FROM base
)
SELECT item_id, track, required_reviews, n_reviews, n_accept, n_edit, n_reject, outcome,
       CASE
           WHEN outcome <> 'accepted' THEN NULL
           WHEN adjudication_id IS NOT NULL THEN adj_version
           WHEN n_accept = n_reviews THEN accept_version
           ELSE edit_version
       END AS final_version,
       CASE
           WHEN outcome IN ('pending', 'needs_adjudication', 'dropped_by_leakage') THEN NULL
           WHEN adjudication_id IS NOT NULL THEN 'adjudication'
           ELSE 'reviews'
       END AS decided_by,
       CASE
           WHEN outcome IN ('pending', 'needs_adjudication', 'dropped_by_leakage') THEN NULL
           WHEN adjudication_id IS NOT NULL THEN adj_at
           ELSE last_review_at
       END AS decided_at
FROM decided;

-- One row per accepted item, at its final version: what release builds read.
CREATE VIEW accepted_items AS
SELECT q.item_id,
       o.final_version AS item_version,
       q.track,
       q.question_type,
       q.pmcid,
       v.question,
       coalesce(lc.masked_context, q.context) AS context,
       coalesce(lc.kept_sentence_ids, q.context_sentence_ids) AS context_sentence_ids,
       q.images,
       v.options,
       v.answer_index,
       v.answer,
       v.aliases,
       q.orpha_code,
       q.answer_category,
       q.rationale,
       v.evidence_sentence_ids,
       v.evidence_figure_ids,
       o.decided_at AS accepted_at
FROM review_outcomes o
JOIN qa_items q USING (item_id)
JOIN item_versions_all v ON v.item_id = o.item_id AND v.version = o.final_version
LEFT JOIN latest_leakage_contexts lc ON lc.item_id = o.item_id
WHERE o.outcome = 'accepted';
