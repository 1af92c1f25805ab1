"""Distractors for the examination and treatment tracks, drawn from a vocabulary and the pool.

A distractor must be wrong for this case and should not be absurd for it. Wrong: it comes from
another category than the answer (a second imaging test could be a valid answer too) and nothing in
the article mentions it (a drug the discussion calls an alternative is not wrong enough). Not absurd:
candidates rank by how much the context talks about their body systems; a third of the slots (at
least one) go to real answers of other cases from the pool; no category fills more than half.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from mmrare.annotations.drafting.options import selection_key
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import VocabEntry, Vocabulary, system_weights
from mmrare.items import DistractorPool, PoolEntry


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    category: str
    score: int
    tiebreak: str
    pooled: bool


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
    def _pool_only(self) -> list[tuple[str, str]]:
        """(text, category) of pool entries the vocabulary does not know and the article never names."""
        vocab_names = {normalise(e.name) for e in self.vocab.entries}
        return [
            (e.text, e.category or "other")
            for e in self._pooled
            if normalise(e.text) not in vocab_names and not self.mentioned(e.text)
        ]

    def rank(
        self, *, answer_category: str, exclude_ids: set[str], context_text: str, n: int, key: str
    ) -> list[str]:
        """Distractor texts, best first; the caller takes as many as it needs."""
        weights = system_weights(context_text)
        candidates: list[_Candidate] = []
        for entry, pooled_name, general in self._entries:
            # generic entries ("CT scan") are too vague to be clearly wrong, unless another case's answer
            if (
                (entry.generic and not pooled_name)
                or entry.category == answer_category
                or entry.id in exclude_ids
            ):
                continue
            score = sum(weights.get(name, 0) for name in entry.systems) + general + pooled_name
            tiebreak = selection_key(key, entry.name)
            candidates.append(_Candidate(entry.name, entry.category, score, tiebreak, pooled_name))
        for text, category in self._pool_only:
            if category != answer_category:
                candidates.append(_Candidate(text, category, 1, selection_key(key, text), True))
        candidates.sort(key=lambda c: (-c.score, c.tiebreak))
        # a third of the distractors (at least one) are real answers of other cases when the pool has them
        share = max(1, (n - 1) // 3)
        from_pool = [c for c in candidates if c.pooled][:share]
        candidates = from_pool + [c for c in candidates if c not in from_pool]
        cap = max(1, (n - 1 + 1) // 2)
        first, rest, per_category = [], [], {}
        for cand in candidates:
            if per_category.get(cand.category, 0) < cap:
                per_category[cand.category] = per_category.get(cand.category, 0) + 1
                first.append(cand.text)
            else:
                rest.append(cand.text)
        return first + rest
