"""Distractor diagnoses for a gold ORDO concept: siblings first, then embedding neighbours.

A good wrong option is a disease a clinician could confuse with the gold one, yet is unambiguously
not it. So candidates are (1) the gold's siblings — other children of its classification parents,
the diseases Orphanet itself groups with it — then (2) concepts whose names lie nearest to the
gold's label in embedding space. Never offered: the gold itself, its ancestors (true of the case),
its descendants (possibly the case's own subtype), concepts sharing a name with the gold, and
concepts that cannot be an answer at all (categories, genes, obsolete or non-rare classes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.generic import Answerability, answerability

Neighbours = Callable[[str, int], list[str]]  # (gold label, k) -> candidate codes, nearest first


def _names(index: OrdoIndex, code: str) -> frozenset[str]:
    """The concept's label and synonyms, case and spacing folded; remembered per release, since the
    same siblings are offered (and their names compared) for case after case."""
    memo = index.derived("distractor_names")
    names = memo.get(code)
    if names is None:
        concept = index.get(code)
        spellings = (concept.label, *concept.synonyms) if concept is not None else ()
        names = memo[code] = frozenset(" ".join(n.casefold().split()) for n in spellings)
    return names


def excluded_codes(index: OrdoIndex, code: str) -> frozenset[str]:
    """The gold, its ancestors and its descendants: never a distractor."""
    return frozenset({code}) | index.ancestors(code) | index.descendants(code)


def diagnosis_distractors(
    index: OrdoIndex,
    code: str,
    n: int,
    *,
    neighbours: Neighbours | None = None,
    min_before_neighbours: int | None = None,
) -> list[tuple[str, str]]:
    """Up to ``n`` (code, label) distractors for ``code``, siblings before embedding neighbours.

    ``neighbours`` is only asked when fewer than ``min_before_neighbours`` (default ``n``) siblings
    were found — typically the number of wrong options an item needs — so most cases never load an
    embedding model.
    """
    gold = index.get(code)
    if gold is None:
        return []
    excluded = excluded_codes(index, code)
    gold_names = _names(index, code)
    out: dict[str, str] = {}

    def offer(candidates: Iterable[str]) -> None:
        for cand in candidates:
            if len(out) >= n:
                return
            if cand in excluded or cand in out:
                continue
            if answerability(index, cand) is not Answerability.ANSWERABLE:
                continue
            if _names(index, cand) & gold_names:
                continue
            out[cand] = index[cand].label

    for parent in index.parents(code):
        offer(index.children(parent))
    wanted = n if min_before_neighbours is None else min(n, min_before_neighbours)
    if len(out) < wanted and neighbours is not None:
        offer(neighbours(gold.label, 4 * n + 10))
    return list(out.items())


SIBLING_GROUP_MAX = 50  # a parent with more children than this groups diseases too loosely


def sibling_codes(index: OrdoIndex, code: str, max_group: int = SIBLING_GROUP_MAX) -> list[str]:
    """The concept's ORDO siblings (other children of its classification parents), the smallest
    parent group first, from groups of at most ``max_group`` children: a parent with few children
    groups diseases a clinician would weigh together, one with hundreds ("rare syndromic intellectual
    disability") hardly does. Never the gold, its ancestors or descendants."""
    if index.get(code) is None:
        return []
    excluded = excluded_codes(index, code)
    groups = sorted((len(index.children(p)), p) for p in index.parents(code))
    out: dict[str, None] = {}
    for size, parent in groups:
        if size <= max_group:
            out.update((c, None) for c in index.children(parent) if c not in excluded)
    return list(out)


def related_diseases(
    index: OrdoIndex, code: str, differential: Iterable[str] = ()
) -> list[tuple[str, str, str]]:
    """(relation, code, label) of the diseases in a case's clinical picture: those its article names
    in the differential ("differential"), then the ORDO siblings of its diagnosis ("ordo_sibling").
    Never the diagnosis, its ancestors or descendants (their workup and therapy may be right for the
    case too), nor a code ORDO does not know; each disease once, under its first relation."""
    if index.get(code) is None:
        return []
    excluded = excluded_codes(index, code)
    out: dict[str, tuple[str, str, str]] = {}
    for relation, codes in (("differential", differential), ("ordo_sibling", sibling_codes(index, code))):
        for related in codes:
            concept = index.get(related)
            if concept is not None and related not in excluded and related not in out:
                out[related] = (relation, related, concept.label)
    return list(out.values())
