"""Distractor ranking made lazily gives exactly the list the eager ranking gave.

:meth:`Distractors.rank` hashes candidates one score level at a time and arranges them (pool share,
category cap) as they are read; the reference below is the eager version it replaced: score every
candidate, hash every one, sort, then arrange the whole list.
"""

from __future__ import annotations

import itertools
import random

import pytest

from mmrare.annotations.drafting import distractors as distractors_module
from mmrare.annotations.drafting.distractors import Distractors
from mmrare.annotations.drafting.options import selection_key
from mmrare.annotations.drafting.vocab import Vocabulary, examinations, system_weights, treatments
from mmrare.items import CaseInput, DistractorPool, PoolEntry


def _eager(
    offered: Distractors, answer_category: str, exclude_ids: set[str], context: str, n: int, key: str
) -> list[str]:
    weights = system_weights(context)
    candidates = []
    for entry, pooled_name, general in offered._entries:
        excluded = entry.category == answer_category or entry.id in exclude_ids
        if (entry.generic and not pooled_name) or excluded:
            continue
        fit = sum(weights.get(name, 0) for name in entry.systems)
        score = fit + general + pooled_name
        candidates.append(
            (entry.name, entry.category, score, selection_key(key, entry.name), pooled_name and fit > 0)
        )
    for text, category, _, systems in offered._pool_only:
        if category != answer_category:
            own = sum(weights.get(name, 0) for name in systems)
            candidates.append((text, category, own + 1 if own else 0, selection_key(key, text), own > 0))
    candidates.sort(key=lambda c: (-c[2], c[3]))
    share = max(1, (n - 1) // 3)
    from_pool = [c for c in candidates if c[4]][:share]
    candidates = from_pool + [c for c in candidates if c not in from_pool]
    cap = max(1, (n - 1 + 1) // 2)
    first, rest, per_category = [], [], {}
    for cand in candidates:
        if per_category.get(cand[1], 0) < cap:
            per_category[cand[1]] = per_category.get(cand[1], 0) + 1
            first.append(cand[0])
        else:
            rest.append(cand[0])
    return first + rest


def _pool(vocab: Vocabulary, kind: str, rng: random.Random) -> DistractorPool:
    """Some vocabulary answers and some texts it does not know, spread over a few cases."""
    texts = [(e.name, e.category) for e in rng.sample(vocab.entries, len(vocab.entries) // 2)]
    texts += [(f"Unlisted remedy {i}", None) for i in range(6)] + [("unlisted REMEDY 1", None)]
    entries = [
        PoolEntry(kind, t, c, f"PMC{rng.randrange(5)}") for t, c in texts for _ in range(rng.randrange(1, 3))
    ]
    return DistractorPool(tuple(sorted(entries, key=lambda e: e.pmcid)))


@pytest.mark.parametrize("vocab_name", ["examinations", "treatments"])
def test_lazy_ranking_equals_the_eager_ranking(vocab_name: str, samples: dict[str, CaseInput]) -> None:
    vocab = examinations() if vocab_name == "examinations" else treatments()
    rng = random.Random(3)
    contexts = [""] + [s.text for case in samples.values() for s in case.sentences]
    contexts = [" ".join(rng.sample(contexts, 6)) for _ in range(25)] + contexts[:3]
    for pmcid in ("PMC0", "PMC2", "PMC9"):
        pool = _pool(vocab, vocab_name[:-1], rng)
        offered = Distractors(vocab, lambda t: "3" in t, pool, vocab_name[:-1], pmcid)
        for context, n in itertools.product(contexts, (4, 5, 7, 10)):
            category = rng.choice([*vocab.categories, "other"])
            exclude = {e.id for e in rng.sample(vocab.entries, 5)}
            key = f"{pmcid}:{rng.random()}"
            lazy = offered.rank(
                answer_category=category, exclude_ids=exclude, context=[context], n=n, key=key
            )
            assert [note.text for note in lazy] == _eager(offered, category, exclude, context, n, key)


def test_ranking_hashes_only_the_score_levels_read(monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = examinations()
    offered = Distractors(vocab, lambda t: False, DistractorPool(), "examination", "PMC1")
    hashed: list[str] = []

    def counting(key: str, text: str) -> str:
        hashed.append(text)
        return selection_key(key, text)

    monkeypatch.setattr(distractors_module, "selection_key", counting)
    context = "Brain MRI showed a seizure focus; neurological examination and headache. " * 3
    ranked = offered.rank(answer_category="laboratory", exclude_ids=set(), context=[context], n=5, key="k")
    first = [note.text for note in itertools.islice(ranked, 2)]
    assert len(first) == 2 and 0 < len(hashed) < len(vocab.entries) / 2
    assert first + [note.text for note in ranked] == _eager(offered, "laboratory", set(), context, 5, "k")


def test_system_scores_sum_each_entrys_system_weights(samples: dict[str, CaseInput]) -> None:
    for vocab in (examinations(), treatments()):
        for case in samples.values():
            for sentence in case.sentences:
                weights = system_weights(sentence.text)
                expected = [sum(weights.get(s, 0) for s in e.systems) for e in vocab.entries]
                assert vocab.system_scores(weights) == expected
