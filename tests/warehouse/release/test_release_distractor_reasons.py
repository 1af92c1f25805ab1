"""validity.json counts distractors by the kind of reason, not by each reason's detail."""

from __future__ import annotations

from mmrare.warehouse.release.validity import StoredEvidence, warehouse_facts


def test_reasons_are_counted_by_kind() -> None:
    rows = [{"item_id": "i1", "track": "examination"}, {"item_id": "i2", "track": "cross_image"}]
    stored = StoredEvidence(
        distractors=[
            ("i1", "differential: Medullary thyroid carcinoma"),
            ("i1", "ordo_sibling: Hereditary pheochromocytoma-paraganglioma"),
            ("i1", "similar: 0.62"),
            ("i1", "similar: 0.31"),
            ("i2", "same_case"),
            ("i3", "similar: 0.50"),  # not released
        ]
    )
    facts = warehouse_facts(rows, stored)
    assert facts["examination"]["distractor_reasons"] == {"differential": 1, "ordo_sibling": 1, "similar": 2}
    assert facts["cross_image"]["distractor_reasons"] == {"same_case": 1}
