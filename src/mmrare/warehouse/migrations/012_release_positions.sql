-- 012: where each released item's answer sat (mmrare.warehouse.release.positions). A later release
-- keeps an unchanged item's answer where it was, and balances only the items new to it, so a diff
-- between releases shows real changes, not answers moved by the items added beside them.
ALTER TABLE release_items ADD COLUMN answer_index INTEGER;  -- NULL: released before 012
