-- 010: an article's full publication date and its history dates (curation, jats-parser/2).
-- Dates keep the precision the article gives: ISO 8601 "2018", "2018-12" or "2018-12-05" (mmrare.dates),
-- so scoring can decide "published after a model's training cutoff" without inventing a day.
-- Rows parsed before this migration have NULLs until curation runs again: the parser version is part of
-- curation's work key, and loading the new parse refreshes these columns (warehouse.shards).

ALTER TABLE articles ADD COLUMN pub_date VARCHAR;          -- epub first, then ppub, collection, any other
ALTER TABLE articles ADD COLUMN pub_date_type VARCHAR;     -- which <pub-date> gave pub_date
ALTER TABLE articles ADD COLUMN history_dates JSON;        -- {"received": "2018-03-03", "accepted": ...}
