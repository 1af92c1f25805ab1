"""Treatment track: which treatment was given, knowing the presentation and the diagnosis?

Treatment sentences are case sentences with a treatment verb ("treated with", "started on",
"underwent", "was given", "received", "resection", "surgery", ...). The answer is the treatment that
verb governs, normalised through the treatment vocabulary (or, when the vocabulary does not know
it, the short phrase after the verb). The context is cut before that sentence; treatments given
after the diagnosis statement are asked first, and a treatment already named in the context (given
earlier) is not asked again. The question names the diagnosis, so the context need not contain it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmrare.annotations.drafting import distractors
from mmrare.annotations.drafting.base import Draft, TrackRun
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import SENTENCE_MEMO, VocabEntry, examinations, treatments
from mmrare.memo import chunk_memo
from mmrare.records import Sentence

_OBJECT_VERBS = (
    r"treated\s+with|treatment\s+with|therapy\s+with|started\s+(?:on|with)|initiated\s+(?:on|with)|"
    r"began\s+(?:treatment|therapy)\s+with|began\s+(?:on|with)|commenced\s+(?:on|with)?|underwent|"
    r"(?:was|were)\s+given|received|administered|prescribed|managed\s+with|placed\s+on|switched\s+to|"
    r"addition\s+of"
)
TREATMENT_CUE = re.compile(
    rf"\b(?:{_OBJECT_VERBS}|(?:was|were)\s+(?:started|initiated|commenced|administered)|"
    r"(?:was|were)\s+subjected\s+to|resect\w*|surgery|surgical\w*|excis\w*|removed|\w+ectomy)\b",
    re.IGNORECASE,
)
OBJECT_CUE = re.compile(rf"\b(?:{_OBJECT_VERBS})\b", re.IGNORECASE)
NEGATED = re.compile(r"\b(?:not|never|no|declined|refused|without)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_PHRASE_END = re.compile(
    r"[,;.:()\[\]]|\b(?:and|which|who|for|to|at|after|before|because|but|with|in|on|daily|every|"
    r"since|until|due|as|was|were|is|are)\b",
    re.IGNORECASE,
)
_LEADING = re.compile(
    r"^(?:(?:a|an|the|her|his|their|its|high-dose|low-dose|oral|intravenous|iv|topical|systemic|"
    r"further|additional|empirical|empiric|combined)\s+)+",
    re.IGNORECASE,
)
_NOT_TREATMENT_WORDS = """
diagnosis treatment therapy care dose doses evaluation examination workup follow assessment testing
test tests investigation investigations imaging admission hospitalization consultation monitoring
observation
"""
_NOT_TREATMENTS = frozenset(_NOT_TREATMENT_WORDS.split())
QUESTION = "Based on the case and the images, which treatment was given next?"


@dataclass(frozen=True, slots=True)
class TreatmentMention:
    answer: str
    category: str
    entry: VocabEntry | None
    sentence: Sentence
    phrase: str

    def named_in(self, text: str) -> bool:
        if self.entry is not None:
            return self.entry.mentioned_in(text)
        return normalise(self.answer) in normalise(text)


def _raw_phrase(text: str) -> str | None:
    """The short noun phrase after a treatment verb, when it looks like a treatment."""
    tail = text.strip()
    end = _PHRASE_END.search(tail)
    phrase = _LEADING.sub("", tail[: end.start()] if end else tail).strip(" -")
    words = phrase.split()
    if not 1 <= len(words) <= 6 or not any(len(w) >= 4 and w.isalpha() for w in words):
        return None
    if {w.casefold() for w in words} & _NOT_TREATMENTS or examinations().find(phrase):
        return None
    return phrase


@chunk_memo(maxsize=SENTENCE_MEMO)
def treatment_mention(sentence: Sentence) -> TreatmentMention | None:
    """The treatment a case sentence says was given, or None (memoised: the distractor pool reads
    every case sentence before the treatment track reads it again)."""
    text = sentence.text
    cue = TREATMENT_CUE.search(text)
    if cue is None or NEGATED.search(text[: cue.start()]):
        return None
    matches = treatments().find(text)
    after = [m for m in matches if m.end > cue.start()]
    chosen = (after or matches)[:1]
    if chosen:
        m = chosen[0]
        return TreatmentMention(m.entry.name, m.entry.category, m.entry, sentence, text[m.start : m.end])
    obj = OBJECT_CUE.search(text)
    if obj is None:
        return None
    phrase = _raw_phrase(text[obj.end() :])
    if phrase is None:
        return None
    return TreatmentMention(phrase[0].upper() + phrase[1:], "other", None, sentence, phrase)


def treatment_mentions(run: TrackRun) -> list[TreatmentMention]:
    """Treatment mentions in case order, those after the diagnosis statement first."""
    view = run.view
    found = [m for s in view.case_sentences if not view.is_framing(s) and (m := treatment_mention(s))]
    dx = view.case.diagnosis
    if dx is None:
        return found
    terms = view.diagnosis_terms()
    evidence = set(dx.evidence_sentence_ids)
    statement = next(
        (s.ordinal for s in view.case_sentences if s.sentence_id in evidence or terms.states(s.text)), None
    )
    if statement is None:
        return found
    return [m for m in found if m.sentence.ordinal > statement] + [
        m for m in found if m.sentence.ordinal <= statement
    ]


def draft_treatment(run: TrackRun) -> None:
    view = run.view
    mentions = treatment_mentions(run)
    if not mentions:
        run.reject("no_treatment_found", "no case sentence says which treatment was given")
        return
    vocab = treatments()
    given = vocab.mentioned_ids(s.text for s in view.sentences)
    asked: set[str] = set()
    dx = view.case.diagnosis
    question = (f"The patient's final diagnosis is {dx.label}. " if dx else "") + QUESTION
    offered = distractors.Distractors(
        vocab,
        mentioned=lambda text: normalise(text) in view.normalised_article,
        pool=run.pool,
        pool_kind="treatment",
        pmcid=view.pmcid,
        picture=view.case.picture,
    )
    for mention in mentions:
        if run.full("treatment"):
            break
        key = normalise(mention.answer)
        if key in asked:
            continue
        context = view.before(mention.sentence.ordinal)
        if mention.named_in(" ".join(s.text for s in context)):
            continue  # given before the cut: not the next treatment decision
        asked.add(key)
        images = view.images(view.figures_cited_by(s.sentence_id for s in context))
        ranked = offered.rank(
            answer_category=mention.category,
            exclude_ids=given,
            context=[s.text for s in context],
            context_ids=[s.sentence_id for s in context],
            n=run.settings.options,
            answer=mention.answer,
            key=f"{view.pmcid}:{key}",
        )
        evidence = [mention.sentence.sentence_id]
        normalised = (
            f'normalised to "{mention.answer}" ({mention.category})'
            if mention.entry
            else "not in the treatment vocabulary, kept as written"
        )
        run.add(
            Draft(
                track="treatment",
                question_type="treatment",
                question=question,
                answer=mention.answer,
                distractors=ranked,
                context=context,
                images=images,
                evidence_sentence_ids=evidence,
                evidence_figure_ids=view.figures_cited_by(evidence),
                rationale=(
                    f'Treatment given in {mention.sentence.sentence_id}: "{mention.sentence.text}" '
                    f'("{mention.phrase}", {normalised}). Distractors are treatments of other categories '
                    f"that the article never mentions, the therapy of related diseases and those closest "
                    f"to the case first."
                ),
                answer_category=mention.category,
                key=mention.entry.id if mention.entry else key.replace(" ", "_"),
            )
        )
