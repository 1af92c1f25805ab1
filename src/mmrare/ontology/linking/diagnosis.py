"""Choose a case's rare-disease diagnosis from its mentions — or say why there is none.

Score first, decide separately: every affirmed mention of a rare concept is weighted, the weights
are summed per concept (with ancestors' evidence carried down), and a few documented rules pick the
answer.

**Mention weight** = (section weight + cue bonus) x ``mention.score``:

==============================================  ======
title                                            3.0
abstract, conclusion, keywords                   1.5
case_presentation, investigations, treatment,    1.0
outcome
background, discussion                           0.5
other                                            0.25
cue bonus: diagnosis cue about the patient       +3.0  ("our patient was diagnosed with X"; a cue in the
                                                       title, abstract, conclusion or a case section)
cue bonus: other diagnosis cue                   +0.5  ("80% of those diagnosed with X")
==============================================  ======

Negated, differential, family-history, historical and hypothetical mentions weigh nothing.
**Repeats** add with diminishing returns: a concept's weights, highest first, are summed as
``w1 + 0.7 w2 + 0.7^2 w3 ...`` (:data:`REPEAT_DECAY`), so ten passing mentions in the discussion
do not outweigh one "diagnosed with" about the patient.

**Decision rules**

1. Only rare clinical concepts count; non-rare ones are never answers (reason ``only_non_rare``).
2. Over-generic classes (:mod:`~mmrare.ontology.linking.generic`) are never answers, but their
   evidence counts for their descendants. When the only evidence is for a generic class named by
   an unqualified name, and exactly one of its children is that name with a "default" qualifier
   ("primary", "isolated", "classic", "non-syndromic", ...; :data:`DEFAULT_QUALIFIERS`), that child
   is the answer: ORDO files "autoimmune enteropathy" under a category whose children are the
   primary and the syndromic forms, and an unqualified name means the primary one. Not when the
   text names the class with words of its own (a defined long form that is no ORDO name of it,
   "refractory autoimmune enteropathy (RAE)"): that may be another member of the group.
3. **Most specific**: a concept's total is its own evidence plus that of its ancestors that have
   evidence (is_a and part_of), so when a concept and its ancestor are both mentioned the
   descendant wins, carrying the ancestor's evidence. A descendant needs own evidence of at least
   :data:`MIN_OWN_WEIGHT` (a mention in a case section or the abstract, or any cue) to take the
   ancestor's place: a passing mention in the discussion does not make the answer more specific.
4. **Patient evidence**: the answer must have (itself or through a carried ancestor) at least one
   *anchor*: a title mention, a diagnosis cue about the patient, or a mention in a case section
   (case_presentation, investigations, treatment, outcome; head-noun matches anchor only from the
   title or a cue; so do gene-variant mentions, "a novel HSD3B7 mutation", which support a disease
   without naming it). A disease discussed only in the background ("Fusobacterium is known to cause
   Lemierre's syndrome") is not the patient's. When the document has no case section at all
   (``sections_present``), abstract, conclusion and "other" mentions anchor too.
5. The highest total among anchored candidates wins; ties go to the more specific concept, then
   the lower code. ``confidence = best / (best + rival + 1)``, where the rival is the best
   anchored candidate that is neither an ancestor nor a descendant of the answer.
6. **Calibrated abstention**: below :data:`MIN_CONFIDENCE` there is no answer (reason
   ``low_confidence``); the evidence of the best candidate and the alternatives (it first) are kept,
   so the abstention says what it would have answered and why it did not. A lone passing mention
   (one disease named once in a discussion) or two diseases of equal weight end here.

Reasons when ``code`` is None: ``no_rare_disease_mention``, ``only_non_rare``,
``only_negated_mentions`` (every rare mention negated / differential / family / past /
hypothetical), ``only_generic_mentions``, ``no_patient_evidence``, ``low_confidence``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from mmrare.memo import chunk_memo
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.generic import Answerability, answerability
from mmrare.ontology.linking.mentions import Mention
from mmrare.ontology.linking.normalise import normalise_phrase

SECTION_WEIGHTS: dict[str, float] = {
    "title": 3.0,
    "abstract": 1.5,
    "conclusion": 1.5,
    "keywords": 1.5,
    "case_presentation": 1.0,
    "investigations": 1.0,
    "treatment": 1.0,
    "outcome": 1.0,
    "background": 0.5,
    "discussion": 0.5,
    "other": 0.25,
}
PATIENT_CUE_BONUS = 3.0
OTHER_CUE_BONUS = 0.5
REPEAT_DECAY = 0.7
MIN_OWN_WEIGHT = 1.0
CASE_SECTIONS = frozenset({"case_presentation", "investigations", "treatment", "outcome"})
_PATIENT_CUE_SECTIONS = CASE_SECTIONS | {"title", "abstract", "conclusion"}
_FALLBACK_ANCHOR_SECTIONS = frozenset({"abstract", "conclusion", "keywords", "other"})
DEFAULT_QUALIFIERS: tuple[tuple[str, ...], ...] = (
    ("primary",),
    ("isolated",),
    ("classic",),
    ("classical",),
    ("typical",),
    ("simple",),
    ("non", "syndromic"),
    ("nonsyndromic",),
)
MAX_ALTERNATIVES = 5
# Below this confidence the linker abstains (rule 6). A benchmark's wrong gold label costs more than
# a case left out; the trade-off per threshold is in bench/RESULTS.md (bench/quality.py --curve).
MIN_CONFIDENCE = 0.4


@dataclass(frozen=True, slots=True)
class CaseDiagnosis:
    """The case's rare-disease concept, or None with the reason; ``alternatives`` are the other
    candidates as ``(code, label, score)``, best first."""

    code: str | None
    label: str | None
    confidence: float
    evidence_sentence_ids: tuple[str, ...]
    alternatives: tuple[tuple[str, str, float], ...]
    reason: str


@dataclass(frozen=True, slots=True)
class _Evidence:
    mention: Mention
    code: str  # resolved (obsolete codes replaced)
    weight: float
    anchor: bool


def mention_weight(mention: Mention) -> float:
    """The weight of one affirmed mention (table in the module docstring)."""
    weight = SECTION_WEIGHTS.get(mention.section_role, SECTION_WEIGHTS["other"])
    if mention.diagnostic_cue:
        weight += PATIENT_CUE_BONUS if _patient_context(mention) else OTHER_CUE_BONUS
    return weight * mention.score


def _patient_context(mention: Mention) -> bool:
    return mention.patient or mention.section_role in _PATIENT_CUE_SECTIONS


def is_anchor(mention: Mention, sections_present: Collection[str] | None = None) -> bool:
    """Whether an affirmed mention ties its concept to this patient (rule 4)."""
    if mention.section_role == "title":
        return True
    if mention.diagnostic_cue and _patient_context(mention):
        return True
    if mention.match_kind in ("head_noun", "gene_variant"):
        return False
    if mention.section_role in CASE_SECTIONS:
        return True
    no_case_section = sections_present is not None and not (set(sections_present) & CASE_SECTIONS)
    return no_case_section and mention.section_role in _FALLBACK_ANCHOR_SECTIONS


def diagnose_case(
    index: OrdoIndex, mentions: Iterable[Mention], sections_present: Collection[str] | None = None
) -> CaseDiagnosis:
    """The case's diagnosis from its mentions (rules in the module docstring).

    ``sections_present`` are the section roles the document has; it only matters when none of
    them is a case section (rule 4). None means "not known": case sections are assumed.
    """
    evidence, reason = _evidence(index, mentions, sections_present)
    if reason is not None:
        return _none(reason)
    own: dict[str, list[_Evidence]] = defaultdict(list)
    for item in evidence:
        own[item.code].append(item)
    candidates = _candidates(index, own)
    if not candidates:
        return _none("only_generic_mentions")
    scored = {code: _carried(index, code, own) for code in candidates}
    anchored = [c for c in candidates if any(e.anchor for e in scored[c])]
    if not anchored:
        return _none("no_patient_evidence", _alternatives(index, scored, candidates, None))
    totals = {code: decayed_sum(e.weight for e in scored[code]) for code in candidates}
    best = max(anchored, key=lambda c: (round(totals[c], 9), len(index.ancestors(c)), _neg_code(c)))
    rival = max((totals[c] for c in anchored if c != best and not _related(index, c, best)), default=0.0)
    confidence = round(totals[best] / (totals[best] + rival + 1.0), 4)
    if confidence < MIN_CONFIDENCE:
        return CaseDiagnosis(
            code=None,
            label=None,
            confidence=confidence,
            evidence_sentence_ids=_evidence_sentences(scored[best]),
            alternatives=_alternatives(index, scored, candidates, None),
            reason="low_confidence",
        )
    reason = "supported_default_child" if best not in own else "supported"
    concept = index[best]
    return CaseDiagnosis(
        code=best,
        label=concept.label,
        confidence=confidence,
        evidence_sentence_ids=_evidence_sentences(scored[best]),
        alternatives=_alternatives(index, scored, candidates, best),
        reason=reason,
    )


def decayed_sum(weights: Iterable[float]) -> float:
    """``w1 + d w2 + d^2 w3 ...`` over the weights sorted high to low (d = :data:`REPEAT_DECAY`)."""
    return sum(w * REPEAT_DECAY**i for i, w in enumerate(sorted(weights, reverse=True)))


def _none(reason: str, alternatives: tuple[tuple[str, str, float], ...] = ()) -> CaseDiagnosis:
    return CaseDiagnosis(None, None, 0.0, (), alternatives, reason)


def _evidence(
    index: OrdoIndex, mentions: Iterable[Mention], sections_present: Collection[str] | None
) -> tuple[list[_Evidence], str | None]:
    """Weighted affirmed mentions of rare clinical concepts, or the reason there are none."""
    rare: list[tuple[Mention, str]] = []
    non_rare = False
    for mention in mentions:
        concept = index.resolve_obsolete(mention.code)
        if concept is None or not concept.is_clinical_entity:
            continue
        if concept.non_rare or mention.non_rare:
            non_rare = True
            continue
        rare.append((mention, concept.code))
    if not rare:
        return [], "only_non_rare" if non_rare else "no_rare_disease_mention"
    evidence = [
        _Evidence(m, code, mention_weight(m), is_anchor(m, sections_present))
        for m, code in rare
        if m.affirmed
    ]
    if not evidence:
        return [], "only_negated_mentions"
    return evidence, None


def _candidates(index: OrdoIndex, own: dict[str, list[_Evidence]]) -> list[str]:
    """Answerable concepts with evidence, plus the default children of generic ones (rule 2)."""
    out: list[str] = []
    for code, items in own.items():
        status = answerability(index, code)
        if status is Answerability.ANSWERABLE:
            out.append(code)
        elif status is Answerability.GENERIC:
            child = default_child(index, code, _names_used(index, code, items))
            if child is not None:
                out.append(child)
    return list(dict.fromkeys(out))


def _substantial(items: Sequence[_Evidence]) -> bool:
    """Own evidence strong enough to take an ancestor's place (rule 3)."""
    return any(e.anchor for e in items) or decayed_sum(e.weight for e in items) >= MIN_OWN_WEIGHT


def _names_used(index: OrdoIndex, code: str, items: Sequence[_Evidence]) -> set[tuple[str, ...]]:
    """The normalised names by which the text referred to a concept (its matched terms)."""
    names = {name_norms(e.mention.term) for e in items if e.mention.term}
    names.add(name_norms(index[code].label))
    return names


def default_child(index: OrdoIndex, code: str, names: Collection[tuple[str, ...]]) -> str | None:
    """The one answerable child of ``code`` named "<default qualifier> <a name of code>" (rule 2)."""
    own_names = {name_norms(name) for name in (index[code].label, *index[code].synonyms)}
    if any(name not in own_names for name in names):
        return None  # the text qualified the name ("refractory autoimmune enteropathy (RAE)")
    wanted = {qualifier + name for qualifier in DEFAULT_QUALIFIERS for name in names}
    found: set[str] = set()
    for child in index.children(code):
        if answerability(index, child) is not Answerability.ANSWERABLE:
            continue
        concept = index[child]
        if any(name_norms(child_name) in wanted for child_name in (concept.label, *concept.synonyms)):
            found.add(child)
    return next(iter(found)) if len(found) == 1 else None


@chunk_memo(maxsize=1 << 16)
def name_norms(name: str) -> tuple[str, ...]:
    """:func:`normalise_phrase` of a name, remembered: case after case names the same generic
    groups, and :func:`default_child` compares the names of all their children again."""
    return normalise_phrase(name)


def _carried(index: OrdoIndex, code: str, own: dict[str, list[_Evidence]]) -> list[_Evidence]:
    """The candidate's own evidence, plus that of its ancestors when its own is substantial or it is
    a default child (which has none of its own by definition); rules 2 and 3.

    Ancestors are visited in code order: their set's own order follows string hashing, which
    differs per process, and the stored evidence order keeps this order among equal weights.
    """
    items = list(own.get(code, ()))
    if items and not _substantial(items):
        return items
    for ancestor in sorted(index.ancestors(code)):
        items.extend(own.get(ancestor, ()))
    return items


def _related(index: OrdoIndex, a: str, b: str) -> bool:
    return a in index.ancestors(b) or b in index.ancestors(a)


def _neg_code(code: str) -> tuple[int, str]:
    """Sort key preferring the lower ORPHA number under ``max``."""
    local = code.split(":", 1)[1]
    return (-int(local), "") if local.isdigit() else (0, local)


def _evidence_sentences(items: Sequence[_Evidence]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for item in sorted(items, key=lambda e: -e.weight):
        out.setdefault(item.mention.sentence_id, None)
    return tuple(out)


def _alternatives(
    index: OrdoIndex, scored: dict[str, list[_Evidence]], candidates: Sequence[str], best: str | None
) -> tuple[tuple[str, str, float], ...]:
    excluded = index.ancestors(best) | {best} if best is not None else frozenset()
    rows = [
        (code, index[code].label, round(decayed_sum(e.weight for e in scored[code]), 4))
        for code in candidates
        if code not in excluded
    ]
    rows.sort(key=lambda r: (-r[2], r[0]))
    return tuple(rows[:MAX_ALTERNATIVES])
