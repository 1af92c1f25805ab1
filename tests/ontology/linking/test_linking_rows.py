"""Warehouse rows of linking: mention ids are content hashes that never join two cases' mentions."""

from __future__ import annotations

from mmrare.ontology.linking import LINKER_VERSION, Mention
from mmrare.ontology.linking.rows import mention_rows
from mmrare.ontology.model import OrdoRelease

from .linking_slice import MARFAN

RELEASE = OrdoRelease("4.2", None, "0" * 64, None, "ORDO_en_4.2.owl.gz")


def _title_mention() -> Mention:
    # the title's sentence id is "title" in every case
    return Mention(
        sentence_id="title", start=0, end=15, text="Marfan syndrome", code=MARFAN,
        label="Marfan syndrome", match_kind="label", section_role="title",
    )


def test_the_same_title_mention_in_two_cases_gets_two_ids() -> None:
    first = mention_rows("PMC1", [_title_mention()], LINKER_VERSION, RELEASE)
    second = mention_rows("PMC2", [_title_mention()], LINKER_VERSION, RELEASE)
    assert first[0]["mention_id"] != second[0]["mention_id"]


def test_the_same_mention_gets_the_same_id_again() -> None:
    # re-loading a case's rows adds nothing
    assert mention_rows("PMC1", [_title_mention()], LINKER_VERSION, RELEASE) == mention_rows(
        "PMC1", [_title_mention()], LINKER_VERSION, RELEASE
    )
