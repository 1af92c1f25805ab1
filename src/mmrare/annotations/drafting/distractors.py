"""Distractors for the examination and treatment tracks, drawn from a vocabulary and the pool.

A distractor must be wrong for this case and should fit its clinical picture. Wrong: it comes from
another category than the answer (a second imaging test could be a valid answer too), nothing in the
article mentions it (a drug the discussion calls an alternative is not wrong enough) and a pool text
naming a vocabulary entry of the answer's category, or one the article mentions, is no option either
(it may be the answer under another name). Fitting, in this order:

1. the workup or therapy of a related disease: the examinations and treatments of other cases whose
   diagnosis the article names in its differential, or is an ORDO sibling of this case's (the
   stage finds those cases: :class:`~mmrare.items.ClinicalPicture`), when they lie close to the
   item's context in embedding space (similarity >= :data:`SIMILAR_MIN`) or concern a body
   system the context talks about most; the differential first, then as in 2.;
2. the rest that concern a body system the context talks about most (or lie close to the context,
   :data:`CLOSE_MIN`, and closer than the answer), by similarity to the item's context (the mean of
   its sentences' vectors): nearest the answer's own similarity first (distractors all closer to
   the context than the answer would be a shortcut of their own), else the most similar from
   :data:`SIMILAR_MIN` up;
3. the rest by how much the context talks about their body systems (a pool text outside the
   vocabulary gets the systems its own words name, else those its own case talks about); a third
   of the slots (at least one) go to real answers of other cases from the pool that fit the
   context's systems, so another case's answer that fits nothing here (an antibody test of a gut
   disease for a neck tumour) is never preferred.

No category fills more than half of the slots. Each distractor's reason says which rule chose it
("differential: <disease>", "ordo_sibling: <disease>", "similar: 0.62", "other_case_answer",
"vocabulary_fit").
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from mmrare.annotations.drafting.options import selection_key
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import VocabEntry, Vocabulary, context_weights, system_weights
from mmrare.items import ClinicalPicture, DistractorNote, DistractorPool, PoolEntry

SIMILAR_MIN = 0.15  # cosine of a short option text to a context's mean vector that "fits the case"
CLOSE_MIN = 0.3  # ... that fits it without concerning a body system the context talks about most
MAIN_SYSTEMS = 3  # the body systems a context talks about most, which a related disease's workup may fit
_RELATION_ORDER = {"differential": 0, "ordo_sibling": 1}


class _Candidate(NamedTuple):
    text: str
    category: str
    score: int
    pooled: bool
    source: str  # vocabulary id, or the PMCID of the case whose answer it is
    fits: bool  # names a body system the context talks about
    why: str = ""  # the clinical-picture rule that chose it, when one did
    systems: tuple[str, ...] = ()  # the body systems it concerns

    def note(self) -> DistractorNote:
        """Why it is offered: the clinical-picture rule, else another case's real answer or a
        vocabulary entry fitting the context."""
        reason = self.why or ("other_case_answer" if self.pooled else "vocabulary_fit")
        return DistractorNote(self.text, reason, self.source)


class _Related(NamedTuple):
    """A pool entry of a related case, with what it names in the vocabulary."""

    text: str
    category: str
    vocab_id: str | None  # the vocabulary entry of that name, if any
    pmcid: str
    relation: str
    label: str
    systems: tuple[str, ...]  # the vocabulary entry's, else those its words name, else its case's


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
    picture: ClinicalPicture = field(default_factory=ClinicalPicture)
    _named: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict, init=False, repr=False)

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

    @cached_property
    def _vocab_by_name(self) -> dict[str, VocabEntry]:
        return {normalise(e.name): e for e in self.vocab.entries}

    @cached_property
    def _related(self) -> list[_Related]:
        """Entries of the related cases, first of each text, most related case first; none the
        article names. Read from the pool case by case, never by a pass over the whole pool."""
        out: list[_Related] = []
        seen: set[str] = set()
        for case in self.picture.related:
            if case.pmcid == self.pmcid:
                continue
            for entry in self.pool.of_case(self.pool_kind, case.pmcid):
                name = normalise(entry.text)
                if name in seen:
                    continue
                seen.add(name)
                if self.mentioned(entry.text):
                    continue
                known = self._vocab_by_name.get(name)
                category = known.category if known else (entry.category or "other")
                vocab_id = known.id if known else None
                systems = known.systems if known else tuple(system_weights(entry.text)) or entry.systems
                out.append(
                    _Related(entry.text, category, vocab_id, entry.pmcid, case.relation, case.label, systems)
                )
        return out

    def _names(self, text: str) -> frozenset[tuple[str, str]]:
        """(category, id) of the vocabulary entries a text names (memoised per case)."""
        found = self._named.get(text)
        if found is None:
            found = frozenset((m.entry.category, m.entry.id) for m in self.vocab.find(text))
            self._named[text] = found
        return found

    def _clashes(self, text: str, answer_category: str, exclude_ids: set[str]) -> bool:
        """Whether ``text`` names an entry of the answer's category or one the article mentions: it
        could be the answer, or something done, under another name."""
        return any(c == answer_category or i in exclude_ids for c, i in self._names(text))

    def _fitting(
        self,
        answer_category: str,
        exclude_ids: set[str],
        eligible: Iterable[_Candidate],
        key: str,
        weights: dict[str, int],
        answer: str,
        similarities: Mapping[str, float],
        n: int,
    ) -> list[_Candidate]:
        """Tiers 1 and 2: related cases' entries that lie close to the case or concern one of the
        body systems the context talks about most (a related disease's workup can still be far from
        this case: another organ, another stage), then the eligible candidates that concern one of
        those systems or lie clearly closer to the context (:data:`CLOSE_MIN`) than the answer.
        ``weights`` are the context's system weights, ``similarities`` each option text's cosine to
        the item's context.

        Within a tier, candidates whose similarity to the case is nearest the answer's come first,
        not the most similar: distractors all closer to the context than the answer would make
        "pick the option least like the context" a shortcut, and all farther "pick the most like
        it" (the text-only solver compares the same vectors). So tier 2 puts first as many options
        above the answer's similarity as the item's seeded rank asks for (the answer's place among
        ``n`` options, by :func:`selection_key`), then those below. Without the answer's similarity,
        the most similar come first, from :data:`SIMILAR_MIN` up."""

        def similarity_of(text: str) -> float | None:
            return similarities.get(normalise(text))

        target = similarity_of(answer) if answer else None

        def distance(similarity: float | None) -> float:
            if similarity is None:
                return 2.0
            return abs(similarity - target) if target is not None else -similarity

        ranked: list[tuple[int, float, str, _Candidate]] = []
        taken: set[str] = set()
        ranked_systems = sorted((-w, name) for name, w in weights.items() if name != "general")
        main = {name for _, name in ranked_systems[:MAIN_SYSTEMS]}
        for rel in self._related:
            if rel.category == answer_category or (rel.vocab_id is not None and rel.vocab_id in exclude_ids):
                continue
            similarity = similarity_of(rel.text)
            if not ((similarity is not None and similarity >= SIMILAR_MIN) or main & set(rel.systems)):
                continue
            if self._clashes(rel.text, answer_category, exclude_ids):
                continue
            why = f"{rel.relation}: {rel.label}"
            cand = _Candidate(rel.text, rel.category, 0, True, rel.pmcid, True, why)
            order = _RELATION_ORDER.get(rel.relation, len(_RELATION_ORDER))
            ranked.append((order, distance(similarity), selection_key(key, rel.text), cand))
            taken.add(normalise(rel.text))
        ranked.sort(key=lambda r: r[:3])
        first = [r[3] for r in ranked]
        # how many of the options the related cases give lie closer to the context than the answer
        related_above = sum(
            1 for c in first[: n - 1] if target is not None and (similarity_of(c.text) or -1.0) > target
        )
        ranked = []
        if similarities:
            for cand in eligible:
                similarity = similarity_of(cand.text)
                if similarity is None or (target is None and similarity < SIMILAR_MIN):
                    continue
                close = max(CLOSE_MIN, target if target is not None else 1.0)
                if not main & set(cand.systems) and similarity < close:
                    continue  # outside the context's main systems: only if close, closer than the answer
                if normalise(cand.text) in taken:
                    continue
                outside = normalise(cand.text) not in self._vocab_by_name  # a pool text: check what it names
                if outside and self._clashes(cand.text, answer_category, exclude_ids):
                    continue
                why = f"similar: {similarity:.2f}"
                side = int(target is not None and similarity <= target)  # 0: above the answer
                ranked.append((side, distance(similarity), selection_key(key, cand.text),
                               cand._replace(why=why)))  # fmt: skip
                taken.add(normalise(cand.text))
        ranked.sort(key=lambda r: r[:3])
        higher = [r[3] for r in ranked if r[0] == 0]
        lower = [r[3] for r in ranked if r[0] == 1]
        wanted = int(selection_key(key, "answer-rank")[:8], 16) % n  # options above the answer
        wanted -= related_above
        per_category = Counter(c.category for c in first[: n - 1])
        picked: list[_Candidate] = []
        for cand in higher:  # as the options will take them: no category over half of the slots
            if len(picked) >= wanted:
                break
            if per_category[cand.category] < max(1, n // 2):
                per_category[cand.category] += 1
                picked.append(cand)
        return first + picked + lower + [c for c in higher if c not in picked]

    def rank(
        self,
        *,
        answer_category: str,
        exclude_ids: set[str],
        context: Sequence[str],
        n: int,
        key: str,
        answer: str = "",
        context_ids: Sequence[str] = (),
    ) -> Iterator[DistractorNote]:
        """Distractors with their reasons, best first, made only as far as the caller reads (it takes a few);
        ``context`` is the texts of the item's context sentences, ``context_ids`` their ids,
        ``answer`` the gold option.

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
            name, systems = entry.name, entry.systems
            cand = _Candidate(name, entry.category, score, pooled_name, entry.id, fit[i] > 0, "", systems)
            by_score.setdefault(score, []).append(cand)
        for text, category, pmcid, systems in self._pool_only:
            if category != answer_category:
                own = sum(weights.get(system, 0) for system in systems)
                score = own + 1 if own else 0
                cand = _Candidate(text, category, score, True, pmcid, own > 0, "", systems)
                by_score.setdefault(score, []).append(cand)
        levels = [by_score[score] for score in sorted(by_score, reverse=True)]
        similarities = self.picture.similarity(context_ids)
        if not (self.picture.related or similarities):
            return _arranged(levels, key, n)
        eligible = (c for level in levels for c in level)
        first = self._fitting(answer_category, exclude_ids, eligible, key, weights, answer, similarities, n)
        taken = {normalise(c.text) for c in first}
        levels = [[c for c in level if normalise(c.text) not in taken] for level in levels]
        return _arranged(levels, key, n, first)


def _arranged(
    levels: list[list[_Candidate]], key: str, n: int, first: Sequence[_Candidate] = ()
) -> Iterator[DistractorNote]:
    """The candidates' texts by score, ties broken by ``selection_key(key, text)``, after those that
    fit the clinical picture (``first``, in their order); a third of the distractors (at least one)
    from the pool first, when it has some that fit the context; no category taking more than half
    of the slots before every other candidate has had its turn.

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

    share = max(0, max(1, (n - 1) // 3) - sum(1 for c in first if c.pooled))  # other cases' answers first
    from_pool: list[_Candidate] = []
    for level in levels:
        if len(from_pool) >= share:
            break
        from_pool += tiebroken([c for c in level if c.pooled and c.fits])[: share - len(from_pool)]
    cap = max(1, (n - 1 + 1) // 2)
    per_category: dict[str, int] = {}
    over_cap: list[DistractorNote] = []
    rest = (c for level in levels for c in tiebroken(level) if c not in from_pool)
    for cand in itertools.chain(first, from_pool, rest):
        if per_category.get(cand.category, 0) < cap:
            per_category[cand.category] = per_category.get(cand.category, 0) + 1
            yield cand.note()
        else:
            over_cap.append(cand.note())
    yield from over_cap
