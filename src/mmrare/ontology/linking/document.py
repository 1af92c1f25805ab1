"""Link one document: sentences in, concept mentions (and unmatched cue phrases) out.

A document is processed as one spaCy Doc (its sentences joined by newlines, which no term contains,
so no match crosses a sentence), so each phrase matcher runs once per document:

1. hits: ORDO names, head nouns, gene deficiencies, the document's abbreviations (``hits``);
2. assertion flags and diagnosis cues per hit, from the triggers of its sentence (``context``);
3. phrases after diagnosis cues that nothing matched (``phrases``), which an optional fallback (an
   embedding index) may resolve into ``embedding`` mentions.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from spacy.attrs import IDX, LOWER, NORM
from spacy.tokens import Doc

from mmrare.ontology.linking.context import Trigger, assert_mention, resolve_overlaps
from mmrare.ontology.linking.hits import Hit, Sentence, find_hits, members, sentence_of
from mmrare.ontology.linking.matcher import Linker
from mmrare.ontology.linking.mentions import CandidatePhrase, Mention
from mmrare.ontology.linking.phrases import PhraseSpan, phrase_spans, unmatched

Fallback = Callable[[list[str]], list[tuple[str, float] | None]]
_AGE = ("-year-old", "-month-old", "-week-old", "-day-old", "year old", "month old")


@dataclass(slots=True)
class _Analysis:
    """Everything found in one document before it becomes mentions."""

    doc: Doc
    sentences: list[Sentence]
    hits: list[Hit]
    triggers: dict[int, list[Trigger]]
    definitions: dict[str, str]  # SF -> LF, every definition of the document
    phrases: list[tuple[int, int, int]]  # (sentence, tok_start, tok_end) after diagnosis cues


def link_document(
    linker: Linker,
    sentences: Sequence[tuple[str, str, str]],
    title: str | None = None,
    *,
    fallback: Fallback | None = None,
    fallback_threshold: float = 0.0,
) -> list[Mention]:
    """Concept mentions of a document given as ``(sentence_id, section_role, text)`` sentences.

    The title, when given, is linked as a sentence with id and role ``"title"``. ``fallback`` gets
    the queries of the unmatched cue phrases (:func:`unmatched_phrases`) in one call and returns, for
    each, ``(code, score)`` or None; results scoring at least ``fallback_threshold`` become
    ``embedding`` mentions (obsolete codes are replaced by their successor, unknown or non-clinical
    codes dropped). Mentions come in document order.
    """
    analysis = _analyse(linker, sentences, title)
    hits = list(analysis.hits)
    if fallback is not None:
        hits.extend(_fallback_hits(linker, analysis, fallback, fallback_threshold))
        hits.sort(key=lambda h: (h.tok_start, h.tok_end))
    return _mentions(linker, analysis, hits)


def link_text(linker: Linker, text: str, title: str | None = None) -> list[Mention]:
    """Mentions in free text, split into sentences by the sentencizer (ids "s0", "s1", ...; role
    "other")."""
    parts = [sent.text for sent in linker.nlp(text).sents if sent.text.strip()]
    return link_document(linker, [(f"s{i}", "other", part) for i, part in enumerate(parts)], title)


def unmatched_phrases(
    linker: Linker, sentences: Sequence[tuple[str, str, str]], title: str | None = None
) -> list[CandidatePhrase]:
    """Phrases governed by a diagnosis cue ("diagnosed with X", "diagnosis of X", "consistent with
    X", "confirmed X") that no ORDO name, defined abbreviation or gene deficiency covers: what an
    embedding fallback should look up (``query`` has the document's short forms expanded)."""
    return [span.phrase for span in _unmatched(_analyse(linker, sentences, title))]


# -- analysis -------------------------------------------------------------------------------------


def _analyse(linker: Linker, sentences: Sequence[tuple[str, str, str]], title: str | None) -> _Analysis:
    parts = [("title", "title", title)] if title else []
    parts.extend(sentences)
    texts = [text.replace("\n", " ") for _sid, _role, text in parts]
    doc = linker.nlp.make_doc("\n".join(texts))
    token_idx = doc.to_array(IDX).astype(np.int64) if len(doc) else np.zeros(0, dtype=np.int64)
    # Each sentence starts one newline after the end of the one before; its tokens are found for all
    # sentences in one binary search.
    ends = np.cumsum([len(text) + 1 for text in texts], dtype=np.int64) - 1
    offsets = (ends - [len(text) for text in texts]).tolist()
    tok_starts = np.searchsorted(token_idx, offsets).tolist()
    tok_ends = np.searchsorted(token_idx, ends).tolist()
    sents = [
        Sentence(sentence_id, role, text, offset, start, end)
        for (sentence_id, role, _text), text, offset, start, end in zip(
            parts, texts, offsets, tok_starts, tok_ends, strict=True
        )
    ]
    hits, definitions = find_hits(linker, doc, sents)
    triggers = _triggers(linker, doc, sents)
    spans = phrase_spans(linker, doc, sents, triggers, definitions)
    return _Analysis(doc, sents, hits, triggers, definitions, spans)


def _triggers(linker: Linker, doc: Doc, sents: list[Sentence]) -> dict[int, list[Trigger]]:
    """Context triggers per sentence, overlaps resolved."""
    starts = [s.tok_start for s in sents]
    by_sentence: dict[int, list[Trigger]] = defaultdict(list)
    norms = doc.to_array(NORM).tolist()
    for _key, start, end in linker.trigger_matcher(doc):
        rule = linker.rule_hashes.get(tuple(norms[start:end]))
        if rule is not None:
            by_sentence[sentence_of(starts, start)].append(Trigger(start, end, rule))
    return {number: resolve_overlaps(found) for number, found in by_sentence.items()}


def _unmatched(analysis: _Analysis) -> list[PhraseSpan]:
    return unmatched(analysis.doc, analysis.sentences, analysis.phrases, analysis.hits, analysis.definitions)


# -- mentions -------------------------------------------------------------------------------------


def _mentions(linker: Linker, analysis: _Analysis, hits: Sequence[Hit]) -> list[Mention]:
    patient_words = members(analysis.doc.to_array(LOWER), linker.patient_array).tolist() if hits else []
    patient: dict[int, bool] = {}
    mentions: list[Mention] = []
    for hit in hits:
        sent = analysis.sentences[hit.sentence]
        if hit.sentence not in patient:
            patient[hit.sentence] = _refers_to_patient(patient_words, sent)
        assertion = assert_mention(
            analysis.triggers.get(hit.sentence, []), sent.tok_start, sent.tok_end, hit.tok_start, hit.tok_end
        )
        start = hit.char_start - sent.offset
        end = hit.char_end - sent.offset
        concept = linker.index.get(hit.code)
        mentions.append(
            Mention(
                sentence_id=sent.sentence_id,
                start=start,
                end=end,
                text=sent.text[start:end],
                code=hit.code,
                label=linker.label(hit.code),
                match_kind=hit.kind,
                negated=assertion.negated,
                differential=assertion.differential,
                family_history=assertion.family_history,
                score=round(hit.score, 4),
                historical=assertion.historical,
                hypothetical=assertion.hypothetical,
                diagnostic_cue=assertion.diagnostic_cue,
                patient=patient[hit.sentence],
                section_role=sent.role,
                non_rare=bool(concept is not None and concept.non_rare),
                term=hit.term,
            )
        )
    return mentions


def _refers_to_patient(patient_words: list[int], sent: Sentence) -> bool:
    """Whether the sentence is about the case's own patient ("she", "the patient", "a 4-month-old").

    ``patient_words`` are the document's tokens that are patient words (in order), found for the
    whole document at once rather than word by word per sentence.
    """
    first = bisect.bisect_left(patient_words, sent.tok_start)
    if first < len(patient_words) and patient_words[first] < sent.tok_end:
        return True
    return any(age in sent.text for age in _AGE)


def _fallback_hits(linker: Linker, analysis: _Analysis, fallback: Fallback, threshold: float) -> list[Hit]:
    spans = _unmatched(analysis)
    if not spans:
        return []
    results = fallback([span.phrase.query for span in spans])
    if len(results) != len(spans):
        raise ValueError(f"fallback returned {len(results)} results for {len(spans)} phrases")
    hits: list[Hit] = []
    for span, result in zip(spans, results, strict=True):
        if result is None or result[1] < threshold:
            continue
        concept = linker.index.resolve_obsolete(result[0])
        if concept is None or not concept.is_clinical_entity:
            continue
        offset = analysis.sentences[span.sentence].offset
        hits.append(
            Hit(
                span.sentence, span.tok_start, span.tok_end, concept.code, "embedding", float(result[1]),
                span.phrase.query, offset + span.phrase.start, offset + span.phrase.end,
            )
        )
    return hits
