"""The per-sentence memo of the examination track answers what the plain calls answer."""

from __future__ import annotations

from mmrare.annotations.drafting.examination import RESULT_CUE, _named_examinations
from mmrare.annotations.drafting.treatment import treatment_mention
from mmrare.annotations.drafting.vocab import examinations
from mmrare.items import CaseInput


def test_named_examinations_equal_the_plain_search_and_find(samples: dict[str, CaseInput]) -> None:
    for case in samples.values():
        for sentence in case.sentences:
            for _ in range(2):  # a miss, then a hit
                positive, matches = _named_examinations(sentence.text)
                assert positive == bool(RESULT_CUE.search(sentence.text))
                assert list(matches) == examinations().find(sentence.text)


def test_treatment_mentions_are_the_same_when_asked_again(samples: dict[str, CaseInput]) -> None:
    for case in samples.values():
        for sentence in case.sentences:
            first = treatment_mention(sentence)
            assert treatment_mention(sentence) == treatment_mention.__wrapped__(sentence) == first
