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

from mmrare.annotations.drafting.options import selection_key
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import Vocabulary, system_weights
from mmrare.items import DistractorPool


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    category: str
    score: int
    tiebreak: str
    pooled: bool


def rank(
    vocab: Vocabulary,
    *,
    answer_category: str,
    exclude_ids: set[str],
    mentioned: Callable[[str], bool],
    context_text: str,
    pool: DistractorPool,
    pool_kind: str,
    pmcid: str,
    n: int,
    key: str,
) -> list[str]:
    """Distractor texts, best first; the caller takes as many as it needs."""
    weights = system_weights(context_text)
    pooled = pool.candidates(pool_kind, pmcid)
    pooled_names = {normalise(e.text) for e in pooled}
    vocab_names = {normalise(e.name) for e in vocab.entries}
    candidates: list[_Candidate] = []
    for entry in vocab.entries:
        pooled_name = normalise(entry.name) in pooled_names
        # generic entries ("CT scan") are too vague to be clearly wrong, unless another case's answer
        if (
            (entry.generic and not pooled_name)
            or entry.category == answer_category
            or entry.id in exclude_ids
        ):
            continue
        score = sum(weights.get(name, 0) for name in entry.systems) + ("general" in entry.systems)
        candidates.append(
            _Candidate(
                entry.name, entry.category, score + pooled_name, selection_key(key, entry.name), pooled_name
            )
        )
    for pooled_entry in pooled:
        category = pooled_entry.category or "other"
        if normalise(pooled_entry.text) in vocab_names or category == answer_category:
            continue
        if mentioned(pooled_entry.text):
            continue
        candidates.append(
            _Candidate(pooled_entry.text, category, 1, selection_key(key, pooled_entry.text), True)
        )
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
