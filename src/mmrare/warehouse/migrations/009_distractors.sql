-- 009: why each distractor was chosen (mmrare.items.QAItem.distractor_rows), beside qa_items so the
-- item rows and their content hashes stay as they are; and the figure a distractor-pool finding comes
-- from (draft_pool.category holds its "modality|region"), so a cross-image distractor names its source;
-- and the body systems of the case a pool entry comes from, so another case's answer is offered only
-- where it fits the presentation.

CREATE TABLE qa_distractors (
    item_id       VARCHAR NOT NULL,
    ordinal       INTEGER NOT NULL,          -- priority order among the item's distractors
    text          VARCHAR NOT NULL,          -- the option text as offered
    reason        VARCHAR NOT NULL,          -- same_case | same_modality_region | same_modality | same_region |
                                             -- ordo_sibling | other_case_answer | vocabulary_fit | ...
    source        VARCHAR NOT NULL,          -- figure id, PMCID, vocabulary id or ORPHA code ('' if none)
    PRIMARY KEY (item_id, ordinal)
);

ALTER TABLE draft_pool ADD COLUMN ref VARCHAR DEFAULT '';
ALTER TABLE draft_pool ADD COLUMN systems VARCHAR DEFAULT '';       -- comma-separated systems.toml names
