"""Distractors for the examination and treatment tracks, drawn from a vocabulary and the pool.

A distractor must be wrong for this case and should not be absurd for it. Wrong: it comes from
another category than the answer (a second imaging test could be a valid answer too) and nothing in
the article mentions it (a drug the discussion calls an alternative is not wrong enough). Not absurd:
candidates rank by how much the context talks about their body systems (a pool text outside the
vocabulary gets the systems its own words name, else those its own case talks about); a third of
the slots (at least one) go to real answers of other cases from the pool that fit the context's
systems, so another case's answer that fits nothing here (an antibody test of a gut disease for a
neck tumour) is never preferred; no category fills more than half.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from mmrare.annotations.drafting.options import selection_key
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import VocabEntry, Vocabulary, context_weights, system_weights
from mmrare.items import DistractorNote, DistractorPool, PoolEntry


class _Candidate(NamedTuple):
    text: str
    category: str
    score: int
    pooled: bool
    source: str  # vocabulary id, or the PMCID of the case whose answer it is
    fits: bool  # names a body system the context talks about

    def note(self) -> DistractorNote:
        """Why it is offered: another case's real answer, or a vocabulary entry fitting the context."""
        return DistractorNote(
            self.text, "other_case_answer" if self.pooled else "vocabulary_fit", self.source
        )


@dataclass
class Distractors:
    """One case's distractors for one track: what the vocabulary and the pool offer, ranked per item.

    Everything that depends only on the case (the pool's entries from other cases, which of them
    the vocabulary knows or the article mentions) is worked out once, on the first :meth:`rank`;
    only the scores, the tie-breaks and the answer's category differ between a case's items.
    """

    vocab: Vocabulary
    mentioned: Callable[[str], bool]  # does the article name this text?
    pool: DistractorPool
    pool_kind: str
    pmcid: str

    @cached_property
    def _entries(self) -> list[tuple[VocabEntry, bool, int]]:
        """Each vocabulary entry, whether it is another case's answer, and its "general" bonus."""
        pooled_names = {normalise(e.text) for e in self._pooled}
        return [
            (entry, normalise(entry.name) in pooled_names, "general" in entry.systems)
            for entry in self.vocab.entries
        ]

    @cached_property
    def _pooled(self) -> list[PoolEntry]:
        return self.pool.candidates(self.pool_kind, self.pmcid)

    @cached_property
    def _pool_only(self) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """(text, category, pmcid, body systems) of pool entries the vocabulary does not know and the
        article never names; the systems are those its words name, else those of its own case."""
        vocab_names = {normalise(e.name) for e in self.vocab.entries}
        return [
            (e.text, e.category or "other", e.pmcid, tuple(system_weights(e.text)) or e.systems)
            for e in self._pooled
            if normalise(e.text) not in vocab_names and not self.mentioned(e.text)
        ]

    def rank(
        self, *, answer_category: str, exclude_ids: set[str], context: Sequence[str], n: int, key: str
    ) -> Iterator[DistractorNote]:
        """Distractors with their reasons, best first, made only as far as the caller reads (it takes a few);
        ``context`` is the texts of the item's context sentences.

        Candidates order by score, then by :func:`selection_key` of (``key``, text); the hashes are
        the costly part, so only the score levels read are hashed (:func:`_arranged`).
        """
        weights = context_weights(context)
        fit = self.vocab.system_scores(weights)
        by_score: dict[int, list[_Candidate]] = {}
        for i, (entry, pooled_name, general) in enumerate(self._entries):
            # generic entries ("CT scan") are too vague to be clearly wrong, unless another case's answer
            if (
                (entry.generic and not pooled_name)
                or entry.category == answer_category
                or entry.id in exclude_ids
            ):
                continue
            score = fit[i] + general + pooled_name
            by_score.setdefault(score, []).append(
                _Candidate(entry.name, entry.category, score, pooled_name, entry.id, fit[i] > 0)
            )
        for text, category, pmcid, systems in self._pool_only:
            if category != answer_category:
                own = sum(weights.get(system, 0) for system in systems)
                score = own + 1 if own else 0
                by_score.setdefault(score, []).append(_Candidate(text, category, score, True, pmcid, own > 0))
        return _arranged([by_score[score] for score in sorted(by_score, reverse=True)], key, n)


def _arranged(levels: list[list[_Candidate]], key: str, n: int) -> Iterator[DistractorNote]:
    """The candidates' texts by score, ties broken by ``selection_key(key, text)``; a third of the
    distractors (at least one) from the pool first, when it has some that fit the context; no
    category taking more than half of the slots before every other candidate has had its turn.

    The same as sorting all candidates and arranging the list, made one score level at a time
    (``levels``: the candidates of each score, highest first, in the order they were offered): the
    reader takes a few texts, and only the levels it gets to (and the pool's best) are hashed.
    """
    hashes: dict[str, str] = {}

    def tiebroken(level: list[_Candidate]) -> list[_Candidate]:
        """``level`` sorted by tie-break (stable, as a sort of all candidates would order it)."""
        for cand in level:
            if cand.text not in hashes:
                hashes[cand.text] = selection_key(key, cand.text)
        return sorted(level, key=lambda c: hashes[c.text])

    share = max(1, (n - 1) // 3)
    from_pool: list[_Candidate] = []
    for level in levels:
        if len(from_pool) == share:
            break
        from_pool += tiebroken([c for c in level if c.pooled and c.fits])[: share - len(from_pool)]
    cap = max(1, (n - 1 + 1) // 2)
    per_category: dict[str, int] = {}
    over_cap: list[DistractorNote] = []
    rest = (c for level in levels for c in tiebroken(level) if c not in from_pool)
    for cand in itertools.chain(from_pool, rest):
        if per_category.get(cand.category, 0) < cap:
            per_category[cand.category] = per_category.get(cand.category, 0) + 1
            yield cand.note()
        else:
            over_cap.append(cand.note())
    yield from over_cap
