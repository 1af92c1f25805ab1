"""Assertion rules: negated, differential, family history, historical, hypothetical, diagnosis cues."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmrare.ontology.linking import Mention
from mmrare.ontology.linking.context import Category, Direction, Rule, Trigger, resolve_overlaps

Link = Callable[..., list[Mention]]
FLAGS = ("negated", "differential", "family_history", "historical", "hypothetical")


def flags(mention: Mention) -> set[str]:
    return {name for name in FLAGS if getattr(mention, name)}


def only(link: Link, text: str) -> Mention:
    mentions = [m for m in link(text) if m.code == "ORPHA:558"]
    assert len(mentions) == 1, mentions
    return mentions[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # negated
        ("There was no evidence of Marfan syndrome.", {"negated"}),
        ("A tall man without Marfan syndrome.", {"negated"}),
        ("Marfan syndrome was ruled out.", {"negated"}),
        ("Genetic testing excluded Marfan syndrome.", {"negated"}),
        ("Marfan syndrome was excluded by testing.", {"negated"}),
        ("He was negative for Marfan syndrome.", {"negated"}),
        ("The findings were not consistent with Marfan syndrome.", {"negated"}),
        # differential
        ("The differential diagnosis included Marfan syndrome.", {"differential"}),
        ("Marfan syndrome was considered.", {"differential"}),
        ("Suspected Marfan syndrome prompted echocardiography.", {"differential"}),
        ("A possible Marfan syndrome was raised.", {"differential"}),
        ("Loeys-Dietz versus Marfan syndrome.", {"differential"}),
        ("Marfan syndrome versus Loeys-Dietz syndrome.", {"differential"}),
        ("Echocardiography to rule out Marfan syndrome.", {"differential"}),
        ("Marfan syndrome cannot be excluded.", {"differential"}),
        ("A phenotype similar to Marfan syndrome.", {"differential"}),
        # family history
        ("Her mother had Marfan syndrome.", {"family_history"}),
        ("There is a family history of Marfan syndrome.", {"family_history"}),
        ("Marfan syndrome was also diagnosed in her father.", {"family_history"}),
        # historical and hypothetical
        ("She has a past medical history of Marfan syndrome.", {"historical"}),
        ("A previous diagnosis of Marfan syndrome was revised.", {"historical"}),
        ("Patients at risk of Marfan syndrome were screened.", {"hypothetical"}),
        # affirmed
        ("Our patient was diagnosed with Marfan syndrome.", set()),
        ("Marfan syndrome is a connective tissue disorder.", set()),
        # pseudo-triggers and terminators
        ("There was no change in her Marfan syndrome.", set()),
        ("No fever was present, but Marfan syndrome was diagnosed.", set()),
        (
            "There was no fever, chills, weight loss or fatigue at all, and Marfan syndrome was diagnosed.",
            set(),
        ),
        ("No family history of Marfan syndrome was reported.", {"negated"}),
    ],
)
def test_assertion_classes(link: Link, text: str, expected: set[str]) -> None:
    assert flags(only(link, text)) == expected


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Our patient was diagnosed with Marfan syndrome.", True),
        ("A diagnosis of Marfan syndrome was made.", True),
        ("The findings were consistent with Marfan syndrome.", True),
        ("Genetic testing confirmed Marfan syndrome.", True),
        ("Marfan syndrome was confirmed by genetic testing.", True),
        ("We report a case of Marfan syndrome.", True),
        ("Marfan syndrome is a connective tissue disorder.", False),
        ("The findings were not consistent with Marfan syndrome.", False),  # negated, not a cue
    ],
)
def test_diagnosis_cues(link: Link, text: str, cue: bool) -> None:
    assert only(link, text).diagnostic_cue is cue


def test_patient_reference(link: Link) -> None:
    assert only(link, "A 46-year-old woman had Marfan syndrome.").patient
    assert only(link, "The patient had Marfan syndrome.").patient
    assert not only(link, "Patients with Marfan syndrome are tall.").patient


def test_rules_stay_inside_their_sentence(link: Link) -> None:
    mentions = link("There was no fever.", "Marfan syndrome was diagnosed.")
    assert flags(mentions[0]) == set() and mentions[0].diagnostic_cue


def test_longest_trigger_wins() -> None:
    short = Trigger(2, 3, Rule("consistent with", Category.DIAGNOSIS))
    long = Trigger(1, 3, Rule("not consistent with", Category.NEGATED))
    other = Trigger(5, 6, Rule("no", Category.NEGATED))
    assert resolve_overlaps([short, long, other]) == [long, other]
    assert Trigger(0, 1, Rule("no", Category.NEGATED, Direction.FORWARD)).window == 6
    assert Trigger(0, 3, Rule("no evidence of", Category.NEGATED, Direction.FORWARD)).window == 12
