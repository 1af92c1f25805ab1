"""Names that give a diagnosis away beyond its own ORDO names (what diagnosis masking looks for)."""

from __future__ import annotations

import pytest

from mmrare.ontology.answer_names import diagnosis_names, short_names
from mmrare.ontology.index import OrdoIndex

from .linking_slice import EDS, HEDS, SIME, WILSON


def test_short_names_of_one_name() -> None:
    assert short_names("Creutzfeldt-Jakob disease") == ["CJD", "Creutzfeldt-Jakob"]
    assert short_names("Tuberous sclerosis complex") == ["TSC"]
    assert short_names("CAPOS syndrome") == ["CS", "CAPOS"]
    assert short_names("Castleman disease") == ["CD", "Castleman"]
    assert short_names("Down syndrome") == ["DS"]  # "down" is an everyday word, never a bare eponym
    assert short_names("Mucopolysaccharidosis type 1") == []  # a number has no initial
    assert short_names("SCID") == ["SCID"]


def test_a_subtype_is_named_by_its_group_and_a_group_by_its_subtypes(link_index: OrdoIndex) -> None:
    hypermobile = diagnosis_names(link_index, HEDS)
    assert "Ehlers-Danlos syndrome" in hypermobile.related
    assert "EDS" in hypermobile.short  # the group's ORDO acronym
    group = diagnosis_names(link_index, EDS)
    assert "Hypermobile Ehlers-Danlos syndrome" in group.related


def test_generic_ancestors_do_not_name_the_diagnosis(link_index: OrdoIndex) -> None:
    names = diagnosis_names(link_index, WILSON)
    assert "Rare genetic disease" not in names.related
    assert "Severe immune-mediated enteropathy" not in diagnosis_names(link_index, SIME).related
    assert diagnosis_names(link_index, "ORPHA:0").related == ()


@pytest.mark.slow
def test_full_ordo_subtype_former_names_and_axes(full_index: OrdoIndex) -> None:
    deletion = diagnosis_names(full_index, "ORPHA:177901")  # Prader-Willi syndrome due to a deletion
    assert "Prader-Willi syndrome" in deletion.related
    assert {"PWS", "Prader-Willi"} <= set(deletion.short)
    # a classification axis above it shares no word with its names: a finding, not a name of it
    assert "Congenital hypogonadotropic hypogonadism" not in deletion.related
    moved = diagnosis_names(full_index, "ORPHA:141132")  # Oculo-auriculo-vertebral spectrum
    assert "Goldenhar syndrome" in moved.related  # a class ORDO moved into it
