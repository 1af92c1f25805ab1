"""Typed records the linker returns: concept mentions and the unmatched phrases an embedding fallback
may resolve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# label / synonym: an ORDO name matched in the text; abbreviation: a short form the document defines
# for a matched long form; head_noun: a bare disease noun standing for the one group all its ORDO
# names share ("paragangliomas"); gene_deficiency: "<gene> deficiency" for the disorder ORDO says the
# gene causes; embedding: a phrase resolved by the fallback hook; unqualified: an ORDO name without a
# qualifier that only says "the usual form" ("mycosis fungoides" for "Classic mycosis fungoides");
# gene_variant: a gene ORDO ties to one disorder, named as carrying a variant ("FBN1 mutation").
MatchKind = Literal[
    "label", "synonym", "abbreviation", "head_noun", "gene_deficiency", "embedding", "unqualified",
    "gene_variant",
]


@dataclass(frozen=True, slots=True)
class Mention:
    """One concept mention; ``start``/``end`` are character offsets into its sentence's text.

    The assertion flags come from :mod:`~mmrare.ontology.linking.context`; a mention with any of
    ``negated``, ``differential``, ``family_history``, ``historical`` or ``hypothetical`` set is not
    evidence of the patient's diagnosis. ``score`` is the match's strength in [0, 1]: 1 for a
    label, less for a synonym, an acronym or an ambiguous name, the fallback's own score for an
    embedding match.
    """

    sentence_id: str
    start: int
    end: int
    text: str
    code: str
    label: str
    match_kind: MatchKind
    negated: bool = False
    differential: bool = False
    family_history: bool = False
    score: float = 1.0
    historical: bool = False
    hypothetical: bool = False
    diagnostic_cue: bool = False  # in the scope of "diagnosed with", "consistent with", "confirmed", ...
    patient: bool = False  # the sentence refers to the patient ("the patient", "she", "a 46-year-old woman")
    section_role: str = "other"
    non_rare: bool = False  # ORDO marks the concept "not rare in Europe": never a rare-disease answer
    term: str = ""  # the ORDO name (or the defined long form) that matched

    @property
    def affirmed(self) -> bool:
        """Not negated, differential, a relative's, past or hypothetical."""
        return not (
            self.negated or self.differential or self.family_history or self.historical or self.hypothetical
        )


@dataclass(frozen=True, slots=True)
class CandidatePhrase:
    """A disease-like phrase after a diagnosis cue with no lexical ORDO match.

    ``text`` is the phrase as written (``start``/``end`` into the sentence); ``query`` is what to
    embed: the same text with the document's own short forms expanded ("AIE" -> "autoimmune
    enteropathy").
    """

    sentence_id: str
    start: int
    end: int
    text: str
    query: str
