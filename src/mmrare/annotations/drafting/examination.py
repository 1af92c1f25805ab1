"""Examination track: which examination should be suggested next?

A *key investigation* is an examination of the vocabulary whose result the case reports ("revealed",
"showed", "confirmed", "positive", ...). The context is cut before the first case sentence that
names it, so the model sees neither the examination nor its result, and the images are those the
kept sentences cite (an image of the examination itself would give the answer away).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmrare.annotations.drafting import distractors
from mmrare.annotations.drafting.base import Draft, TrackRun
from mmrare.annotations.drafting.vocab import SENTENCE_MEMO, VocabEntry, VocabMatch, examinations
from mmrare.memo import chunk_memo
from mmrare.records import Sentence

QUESTION = "Based on the case so far and the images, which examination should be suggested next?"
RESULT_CUE = re.compile(
    r"\b(?:reveal\w*|show(?:s|ed|n|ing)?|demonstrat\w*|confirm\w*|detect\w*|identif\w*|display\w*|"
    r"disclos\w*|significant\s+for|notable\s+for|consistent\s+with|positive|found|indicat\w*|"
    r"suggest\w*|presence\s+of|exhibit\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class KeyInvestigation:
    entry: VocabEntry
    first: Sentence  # first case sentence naming it: the cut
    phrase: str  # the words that named it there
    results: tuple[Sentence, ...]  # sentences reporting its result


def key_investigations(run: TrackRun) -> list[KeyInvestigation]:
    """Examinations with a reported result, in order of first mention; one per cut sentence."""
    first: dict[str, tuple[Sentence, int, str]] = {}
    results: dict[str, list[Sentence]] = {}
    entries: dict[str, VocabEntry] = {}
    for sentence in run.view.case_sentences:
        positive, matches = _named_examinations(sentence.text)
        for match in matches:
            entry_id = match.entry.id
            entries[entry_id] = match.entry
            first.setdefault(entry_id, (sentence, match.start, sentence.text[match.start : match.end]))
            if positive:
                results.setdefault(entry_id, []).append(sentence)
    found = sorted(
        (eid for eid in first if eid in results),
        key=lambda eid: (first[eid][0].ordinal, first[eid][1], entries[eid].order),
    )
    out: list[KeyInvestigation] = []
    used_cuts: set[str] = set()
    for eid in found:
        sentence, _, phrase = first[eid]
        if sentence.sentence_id in used_cuts:
            continue  # two examinations in one sentence share a context: only the first is asked
        used_cuts.add(sentence.sentence_id)
        out.append(KeyInvestigation(entries[eid], sentence, phrase, tuple(results[eid])))
    return out


@chunk_memo(maxsize=SENTENCE_MEMO)
def _named_examinations(text: str) -> tuple[bool, tuple[VocabMatch, ...]]:
    """Whether a case sentence reports a result, and the examinations it names (memoised: the
    distractor pool reads every case sentence before the examination track reads it again)."""
    return bool(RESULT_CUE.search(text)), tuple(examinations().find(text))


def performed(run: TrackRun) -> set[str]:
    """Vocabulary ids of every examination the article mentions anywhere (never distractors)."""
    return examinations().mentioned_ids(s.text for s in run.view.sentences)


def draft_examination(run: TrackRun) -> None:
    view = run.view
    found = key_investigations(run)
    if not found:
        run.reject("no_key_investigation", "no examination of the vocabulary with a reported result")
        return
    done = performed(run)
    offered = distractors.Distractors(
        examinations(),
        mentioned=lambda text: text.casefold() in view.casefolded_article,
        pool=run.pool,
        pool_kind="examination",
        pmcid=view.pmcid,
        picture=view.case.picture,
    )
    for inv in found:
        if run.full("next_examination"):
            break
        context = view.before(inv.first.ordinal)
        images = view.images(view.figures_cited_by(s.sentence_id for s in context))
        evidence = [inv.first.sentence_id, *(s.sentence_id for s in inv.results[:3])]
        ranked = offered.rank(
            answer_category=inv.entry.category,
            exclude_ids=done,
            context=[s.text for s in context],
            context_ids=[s.sentence_id for s in context],
            n=run.settings.options,
            answer=inv.entry.name,
            key=f"{view.pmcid}:{inv.entry.id}",
        )
        rationale = (
            f'First named in {inv.first.sentence_id} ("{inv.phrase}"); result reported in '
            f'{", ".join(s.sentence_id for s in inv.results[:3])}. Normalised to "{inv.entry.name}" '
            f"({inv.entry.category}). Distractors are examinations of other categories that the article "
            f"never mentions, the workup of related diseases and those closest to the case first."
        )
        run.add(
            Draft(
                track="examination",
                question_type="next_examination",
                question=QUESTION,
                answer=inv.entry.name,
                distractors=ranked,
                context=context,
                images=images,
                evidence_sentence_ids=evidence,
                evidence_figure_ids=view.figures_cited_by(evidence),
                rationale=rationale,
                answer_category=inv.entry.category,
                key=inv.entry.id,
            )
        )
