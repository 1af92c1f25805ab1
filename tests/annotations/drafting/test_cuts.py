"""The whole-article texts a case view makes on demand are the texts the tracks used to build."""

from __future__ import annotations

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.text import normalise
from mmrare.items import CaseInput


def test_article_texts_are_every_sentence_in_order(samples: dict[str, CaseInput]) -> None:
    for case in samples.values():
        view = CaseView(case)
        joined = " ".join(s.text for s in sorted(case.sentences, key=lambda s: s.ordinal))
        assert view.casefolded_article == joined.casefold()
        assert view.normalised_article == normalise(joined)
        assert view.casefolded_article is view.casefolded_article  # made once
