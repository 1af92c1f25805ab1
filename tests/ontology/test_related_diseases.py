"""The diseases of a case's clinical picture: its differential, then the ORDO siblings of its diagnosis."""

from __future__ import annotations

from mmrare.ontology.distractors import related_diseases, sibling_codes
from mmrare.ontology.index import OrdoIndex

from .ordo_slice import CHILD_GROUP, MARFAN, NEONATAL_MARFAN, ROOT_GROUP, XXYY


def test_siblings_are_the_other_children_of_the_parents(slice_index: OrdoIndex) -> None:
    assert sibling_codes(slice_index, MARFAN) == [XXYY]
    assert MARFAN in sibling_codes(slice_index, XXYY)
    assert sibling_codes(slice_index, "ORPHA:0") == []


def test_differential_first_then_siblings_never_the_diagnosis_or_its_kin(slice_index: OrdoIndex) -> None:
    differential = [XXYY, NEONATAL_MARFAN, MARFAN, CHILD_GROUP, ROOT_GROUP, "ORPHA:0"]
    related = related_diseases(slice_index, MARFAN, differential)
    # XXYY once, as a differential; the subtype, the diagnosis, its ancestors and unknown codes never
    assert related == [("differential", XXYY, slice_index[XXYY].label)]
    assert related_diseases(slice_index, MARFAN) == [("ordo_sibling", XXYY, slice_index[XXYY].label)]
    assert related_diseases(slice_index, "ORPHA:0", [XXYY]) == []


def test_siblings_from_loose_groups_are_left_out(slice_index: OrdoIndex) -> None:
    assert sibling_codes(slice_index, MARFAN, max_group=1) == []
    assert sibling_codes(slice_index, MARFAN, max_group=len(slice_index.children(CHILD_GROUP))) == [XXYY]
