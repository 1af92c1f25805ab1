-- 011: reopening decided items (mmrare.annotations.review.adjudication.reopen). An adjudicator may
-- reopen an item that is accepted or rejected, with a reason; the reviews, versions and adjudications
-- that decided it are kept. A reopened item is open again until an adjudication newer than the
-- reopening decides it, so a release built meanwhile leaves it out.
--
-- The outcome rule of 006 gains one step, after the leakage drop and before everything else:
--   0. When the item's latest reopening is newer than its latest adjudication (or it has none), the
--      outcome is 'needs_adjudication' and nothing about it is final.
-- review_outcomes also gains the column reopened_at: the time of the reopening that holds the item
-- open, NULL when none does.

CREATE TABLE reopenings (
    reopening_id  VARCHAR PRIMARY KEY,       -- sha256(item, adjudicator, time)[:24]
    item_id       VARCHAR NOT NULL,
    adjudicator   VARCHAR NOT NULL,          -- annotators.name (is_adjudicator)
    reason        VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    outcome_before VARCHAR NOT NULL CHECK (outcome_before IN ('accepted', 'rejected')),
    version_before INTEGER,                  -- the accepted version it reopened (NULL for a rejection)
    decided_by_before VARCHAR NOT NULL,      -- 'reviews' or 'adjudication'
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX reopenings_item ON reopenings (item_id);

CREATE OR REPLACE VIEW review_outcomes AS
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
reo AS (
    SELECT item_id, max(created_at) AS reopened_at FROM reopenings GROUP BY item_id
),
base AS (
    SELECT q.item_id, q.track,
           coalesce(rq.required_reviews, 2) AS required_reviews,
           coalesce(rv.n_reviews, 0) AS n_reviews,
           rv.n_accept, rv.n_edit, rv.n_reject, rv.n_accept_versions, rv.accept_version,
           rv.n_edit_contents, rv.edit_version, rv.last_review_at,
           adj.adjudication_id, adj.decision AS adj_decision, adj.item_version AS adj_version,
           adj.created_at AS adj_at,
           CASE WHEN reo.reopened_at > coalesce(adj.created_at, '-infinity'::TIMESTAMPTZ)
                THEN reo.reopened_at END AS reopened_at,
           coalesce(lc.status = 'dropped', false) AS leakage_dropped
    FROM qa_items q
    LEFT JOIN review_queue rq USING (item_id)
    LEFT JOIN rv USING (item_id)
    LEFT JOIN adj USING (item_id)
    LEFT JOIN reo USING (item_id)
    LEFT JOIN latest_leakage_contexts lc USING (item_id)
),
decided AS (
    SELECT *,
        CASE
            WHEN leakage_dropped THEN 'dropped_by_leakage'
            WHEN reopened_at IS NOT NULL THEN 'needs_adjudication'
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
       END AS decided_at,
       reopened_at
FROM decided;
