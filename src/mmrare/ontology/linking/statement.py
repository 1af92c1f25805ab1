"""Which sentence states the case's *final* diagnosis: where a diagnosis question must be cut.

A case report names its disease many times: in the title and abstract, in the introduction, in a
first working diagnosis ("was diagnosed with extravascular compression and CPGLs"), in the
pathology that confirms it, in the discussion. The benchmark's diagnosis item must stop before the
text gives the answer away, and it should keep the work-up that leads to it. So the statement is
the **last** affirmed mention with a diagnostic cue ("diagnosed with", "confirmed", "consistent
with") of the chosen concept — or of an ancestor or descendant it was resolved through — inside
the case's own narrative (case presentation, investigations, treatment, outcome); earlier naming
sentences are the drafter's business (it leaves them out of the context).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.mentions import Mention

CASE_ROLES = frozenset({"case_presentation", "investigations", "treatment", "outcome"})


def final_statement(index: OrdoIndex, mentions: Sequence[Mention], code: str | None) -> str | None:
    """Sentence id of the final diagnostic statement for ``code``, or None when the narrative has
    no cue-bearing affirmed mention of it (the drafter then falls back on its own cue search)."""
    if code is None:
        return None
    family = {code} | index.ancestors(code) | index.descendants(code)
    last: str | None = None
    for m in mentions:
        if m.code in family and m.affirmed and m.diagnostic_cue and m.section_role in CASE_ROLES:
            last = m.sentence_id
    return last
