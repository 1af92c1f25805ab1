"""Which ORDO disorders the synthetic cases have, and the facts each case is written from.

Candidates are active, rare clinical entities at the *disorder* level (no groups, no subtypes, no
obsolete, deprecated or "non rare in Europe" classes) of a diagnosable type: "particular clinical
situation in a disease" (pregnancy in X, ...) is left out. With HPO annotations, only disorders
with at least :data:`MIN_PHENOTYPES` annotated phenotypes are used (~4,000 in ORDO 4.2), so every
case presents real signs of its disease; without, those whose definition names at least
:data:`MIN_DEFINITION_PHENOTYPES` signs.

The order is a seeded shuffle of the candidates sorted by code, taken in rounds (re-shuffled per
round), so case *i* of a seed is the same disorder whatever N is: a larger run extends a smaller one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import Concept, EntityType, Level, Status
from mmrare.synth.phenotypes import HpoAnnotations, Phenotype, phenotypes_from_definition

DIAGNOSABLE_TYPES = frozenset(
    {
        EntityType.DISEASE,
        EntityType.MALFORMATION_SYNDROME,
        EntityType.MORPHOLOGICAL_ANOMALY,
        EntityType.CLINICAL_SYNDROME,
        EntityType.BIOLOGICAL_ANOMALY,
    }
)
MIN_PHENOTYPES = 3
MIN_DEFINITION_PHENOTYPES = 2  # without HPO: signs read from the definition's "characterized by" clause
# Gene associations that make a genetic test result plausible ("candidate gene tested in" does not).
_CAUSAL_RELATIONS = ("disease-causing", "major susceptibility factor")


@dataclass(frozen=True, slots=True)
class DiseaseFacts:
    """Everything about one disorder that a case text needs (plain data, picklable for workers)."""

    code: str
    label: str
    synonyms: tuple[str, ...]
    running_label: str  # the label inside a sentence: "proximal symphalangism", but "Susac syndrome"
    running_synonyms: tuple[str, ...]
    definition: str | None
    entity_type: str
    phenotypes: tuple[Phenotype, ...]
    gene_symbol: str | None
    gene_code: str | None
    gene_relation: str | None
    differential_code: str | None  # a sibling disorder, named in the discussion's differential
    differential_label: str | None
    differential_running_label: str | None


def candidate_disorders(index: OrdoIndex, hpo: HpoAnnotations | None) -> list[Concept]:
    """Eligible disorders sorted by code (see the module docstring)."""
    out = []
    for concept in index.concepts(levels=[Level.DISORDER], include_inactive=False):
        if concept.status is not Status.ACTIVE or concept.non_rare:
            continue
        if concept.entity_type not in DIAGNOSABLE_TYPES:
            continue
        phenotypes = hpo.for_code(concept.code) if hpo else phenotypes_from_definition(concept.definition)
        if len(phenotypes) < (MIN_PHENOTYPES if hpo is not None else MIN_DEFINITION_PHENOTYPES):
            continue
        out.append(concept)
    return sorted(out, key=lambda c: _code_number(c.code))


def pick_diseases(index: OrdoIndex, n: int, seed: int, hpo: HpoAnnotations | None) -> list[DiseaseFacts]:
    """Facts for cases 1..n of ``seed``."""
    candidates = candidate_disorders(index, hpo)
    if not candidates:
        raise ValueError("no eligible disorder in this ORDO release")
    order = _rounds(candidates, seed)
    common = common_words(
        c.label for c in index.concepts(levels=[Level.DISORDER, Level.GROUP, Level.SUBTYPE])
    )
    return [disease_facts(index, next(order), hpo, seed, common) for _ in range(n)]


def common_words(labels: Iterable[str]) -> frozenset[str]:
    """Words that ORDO labels write in lower case after their first word ("proximal", "congenital").

    A label whose first word is one of them is lower-cased inside a sentence; any other first word
    (an eponym such as "Susac", a gene, an acronym) keeps its capital.
    """
    found: set[str] = set()
    for label in labels:
        found.update(w for w in re.findall(r"[A-Za-z]+", label)[1:] if w.islower())
    return frozenset(found)


def running_form(name: str, common: frozenset[str]) -> str:
    """``name`` as it reads inside a sentence."""
    first = re.match(r"[A-Za-z]+", name)
    word = first[0] if first else ""
    if len(word) > 1 and word[0].isupper() and word[1:].islower() and word.lower() in common:
        return name[0].lower() + name[1:]
    return name


def _rounds(candidates: list[Concept], seed: int) -> Iterator[Concept]:
    round_no = 0
    while True:
        shuffled = list(candidates)
        random.Random(f"mmrare-synth/{seed}/diseases/{round_no}").shuffle(shuffled)
        yield from shuffled
        round_no += 1


def disease_facts(
    index: OrdoIndex, concept: Concept, hpo: HpoAnnotations | None, seed: int, common: frozenset[str]
) -> DiseaseFacts:
    """The facts of one disorder; the differential is chosen with a seed-and-code keyed RNG."""
    if hpo is not None:
        phenotypes = hpo.for_code(concept.code)
    else:
        phenotypes = phenotypes_from_definition(concept.definition)
    gene_code, gene_symbol, relation = _gene(index, concept.code)
    differential = _differential(index, concept, random.Random(f"mmrare-synth/{seed}/{concept.code}"))
    return DiseaseFacts(
        code=concept.code,
        label=concept.label,
        synonyms=concept.synonyms,
        running_label=running_form(concept.label, common),
        running_synonyms=tuple(running_form(s, common) for s in concept.synonyms),
        definition=concept.definition,
        entity_type=concept.entity_type.value,
        phenotypes=phenotypes,
        gene_symbol=gene_symbol,
        gene_code=gene_code,
        gene_relation=relation,
        differential_code=differential.code if differential else None,
        differential_label=differential.label if differential else None,
        differential_running_label=running_form(differential.label, common) if differential else None,
    )


def _gene(index: OrdoIndex, code: str) -> tuple[str | None, str | None, str | None]:
    """The first causal gene (by gene code) with a symbol, or Nones."""
    links = sorted(
        (link for link in index.genes_for(code) if link.relation.startswith(_CAUSAL_RELATIONS)),
        key=lambda link: _code_number(link.gene),
    )
    for link in links:
        gene = index.get(link.gene)
        if gene is not None and gene.symbol:
            return gene.code, gene.symbol, link.relation
    return None, None, None


def _differential(index: OrdoIndex, concept: Concept, rng: random.Random) -> Concept | None:
    """Another active rare disorder filed under the same classification parent."""
    for parent in (*concept.part_of, *concept.is_a):
        siblings = [
            c
            for code in index.children(parent)
            if code != concept.code
            and (c := index.get(code)) is not None
            and c.level is Level.DISORDER
            and c.status is Status.ACTIVE
            and not c.non_rare
        ]
        if siblings:
            return rng.choice(siblings)
    return None


def _code_number(code: str) -> tuple[int, str]:
    local = code.split(":", 1)[1]
    return (int(local), "") if local.isdigit() else (-1, local)
