"""Which ORDO classes are too generic to be a case's diagnosis, and which cannot be one at all.

A benchmark item asks "which rare disease is this?"; "Rare genetic disease" or "Rare hepatic disease"
is true of thousands of cases and answers nothing. The rule, checked on the whole of ORDO 4.2 in
``tests/ontology/linking/test_linking_generic.py``:

1. **Upper-level ontology classes** (level ``ontology class``: "disease", "clinical entity", the
   type and status classes) are never answers.
2. **Categories** (entity type ``category``, 1,716 classes in 4.2) are Orphanet's classification
   headings: "Rare neurologic disease", "Tumor of endocrine glands", "Rare intestinal disease". They
   group disorders by an axis (organ, aetiology), not by a shared clinical picture, so they are never
   answers; a text that names one (an ORDO synonym can point at a category) can still hand its
   evidence down to a descendant (see :mod:`~mmrare.ontology.linking.diagnosis`).
3. **Classification heads**: any group with no clinical-entity parent (the 30 roots of the
   Orphanet classifications). In 4.2 these are all categories; the rule keeps holding if a future
   release types one differently.
4. **Clinical groups near the top**: a clinical group whose subtree holds more than
   :data:`MAX_GROUP_DISORDERS` disorders. Depth from a root does not work for ORDO: clinical groups
   directly under a root include precise diagnoses ("Hereditary angioedema", 2 disorders; "Cleft
   palate"), so breadth, the information-content view of "near the top", is the measure. The
   largest clinical group of 4.2 ("Hereditary spastic paraplegia") has 96 disorders, so in 4.2 this
   rule excludes none; it guards against a release that makes a broad heading a clinical group.
5. **Labels that name the rarity, not a disease**: "Rare disease", "Rare genetic disease", "Rare
   disorder without a determined diagnosis after full investigation" (pattern
   :data:`RARE_HEADING`), whatever their type.

Separately from genericity, a concept is *not answerable* when it is not a clinical entity (genes),
is obsolete or deprecated (resolve it with :meth:`OrdoIndex.resolve_obsolete` first), or is not
rare in Europe (``non_rare``).
"""

from __future__ import annotations

import re
from enum import StrEnum

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import Concept, EntityType, Level

MAX_GROUP_DISORDERS = 150
RARE_HEADING = re.compile(
    r"^(?:non[\s-]+)?rare\s+(?:\S+\s+){0,3}?(?:disease|diseases|disorder|disorders|condition)s?\b", re.I
)


class Answerability(StrEnum):
    """Why a concept can or cannot be a case diagnosis."""

    ANSWERABLE = "answerable"
    GENERIC = "generic"
    NON_RARE = "non_rare"
    INACTIVE = "inactive"
    NOT_CLINICAL = "not_clinical"


def answerability(index: OrdoIndex, code: str) -> Answerability:
    """Whether ``code`` may be chosen as a case's rare-disease diagnosis (remembered per release:
    diagnosis and distractors ask it for the same groups and their children case after case)."""
    memo = index.derived("answerability")
    found = memo.get(code)
    if found is None:
        found = memo[code] = _answerability(index, code)
    return found


def _answerability(index: OrdoIndex, code: str) -> Answerability:
    concept = index.get(code)
    if concept is None or not concept.is_clinical_entity:
        return Answerability.NOT_CLINICAL
    if concept.obsolete:
        return Answerability.INACTIVE
    if concept.non_rare:
        return Answerability.NON_RARE
    if is_generic(index, concept):
        return Answerability.GENERIC
    return Answerability.ANSWERABLE


def is_generic(index: OrdoIndex, concept: Concept) -> bool:
    """Rules 1-5 of the module docstring."""
    if concept.level is Level.ONTOLOGY or concept.entity_type is EntityType.CATEGORY:
        return True
    if RARE_HEADING.match(concept.label):
        return True
    if concept.level is not Level.GROUP:
        return False
    if not any(_is_clinical(index, parent) for parent in concept.parents()):
        return True
    return disorder_count(index, concept.code) > MAX_GROUP_DISORDERS


def disorder_count(index: OrdoIndex, code: str) -> int:
    """How many disorder-level concepts sit below ``code`` (is_a and part_of)."""
    count = 0
    for child in index.descendants(code):
        concept = index.get(child)
        if concept is not None and concept.level is Level.DISORDER:
            count += 1
    return count


def _is_clinical(index: OrdoIndex, code: str) -> bool:
    concept = index.get(code)
    return concept is not None and concept.is_clinical_entity
