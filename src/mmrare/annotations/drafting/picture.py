"""The texts the build embeds so examination and treatment distractors fit a case's clinical picture.

Drafting never loads the encoder: the stage embeds :func:`option_texts` once per run (short texts
shared by every case, cached by content) and each case's :func:`presentation_sentences`, and hands the
vectors to the case as plain data (:class:`~mmrare.items.ClinicalPicture`); an item's options are
then compared with the mean of its context sentences, the same vector the text-only baseline uses.
"""

from __future__ import annotations

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import examinations, treatments
from mmrare.items import CaseInput, DistractorPool
from mmrare.records import Sentence

PICTURE_KINDS = ("examination", "treatment")


def option_texts(pool: DistractorPool) -> list[str]:
    """Every examination and treatment a case may be offered, normalised, once each, in a fixed
    order: the two vocabularies' names, then the pool's texts of those kinds."""
    names = [e.name for vocab in (examinations(), treatments()) for e in vocab.entries]
    names += [e.text for e in pool.entries if e.kind in PICTURE_KINDS]
    return [t for t in dict.fromkeys(normalise(n) for n in names) if t]


def presentation_sentences(case: CaseInput) -> list[Sentence]:
    """The case presentation's sentences (framing left out): every examination and treatment
    context is a run of them, so their vectors give any item's context vector."""
    view = CaseView(case)
    return [s for s in view.case_sentences if not view.is_framing(s)]
