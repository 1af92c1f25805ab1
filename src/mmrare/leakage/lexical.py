"""Lexical leakage detectors: spaCy matchers over the context, one set per track.

- diagnosis: label, synonyms, xref names, gene names, names of ORDO relatives (normalised words);
  abbreviations defined in the case, standard short names, gene symbols (case-sensitive, also when
  glued to the next word: "NF1is"); any short form the context itself defines right after one of
  those names ("... syndrome (AS)"); and the names only the text gives the answer (its own long
  forms, aliases, synonym lists: :mod:`mmrare.leakage.textnames`);
- treatment: the treatment's names and abbreviations;
- examination: the investigation's names, and phrases reporting its result ("MRI showed", "biopsy
  revealed", "sequencing identified", "revealed by CT");
- cross_image: figure and panel references, image markers, and n-grams found in only one of the
  item's captions (they say which image shows what).

Every hit is a :class:`LeakageScore` with score 1.0; whether it is masked, dropped or ignored is the
policy's business. The same matchers re-run on the masked context as the policy's post-condition.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmrare.leakage.descriptors import AnswerDescriptor
from mmrare.leakage.scores import TRACK_LEXICAL, LeakageScore
from mmrare.leakage.segments import ContextSentence
from mmrare.leakage.textnames import (
    alias_statements,
    answer_word_sets,
    defined_long_forms,
    short_form_pattern,
    synonym_lists,
)
from mmrare.leakage.textnorm import APOSTROPHES, nlp, normalise_text, normalise_word, term_variants
from mmrare.memo import chunk_memo

if TYPE_CHECKING:
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc

_RESULT_VERB_TEXT = """
    show shows showed shown showing reveal reveals revealed revealing demonstrate demonstrates demonstrated
    demonstrating confirm confirms confirmed confirming identify identifies identified identifying detect
    detects detected disclose disclosed disclosing found indicated indicating displayed exhibited suggested
    positive negative unremarkable normal consistent compatible significant notable diagnostic
"""
# Words after an investigation's name that report its result ("MRI showed", "biopsy was positive").
RESULT_VERBS = tuple(_RESULT_VERB_TEXT.split())
_RESULT_PREPOSITIONS = ("by", "on", "at", "in", "with", "from", "via")
_FIGURE_WORD = r"^(?:supplementary|suppl\.?)?(?:fig|figs|figure|figures)\.?$"
_FIGURE_NUM = r"^(?:S?\d+[A-Za-z]?(?:[-–,]\w+)*)$"
_STOP_TEXT = """
    a an the of in on at to for with without and or but by from as is are was were be been this that
    these those its their her his our there which who also both all any each other some such than then
    into onto over under image images figure figures fig panel panels patient patients case shows showing
    shown seen see arrow arrows arrowhead arrowheads note noted view views no not after before during
    while whereas revealing revealed taken
"""
_STOP = frozenset(_STOP_TEXT.split())
_NGRAM_SIZES = (2, 3)
_GENERIC_TEXT = """
    syndrome disease disorder deficiency tumor tumour cancer carcinoma neoplasm neoplasia anomaly
    malformation defect infection lesion condition variant complex sequence association abnormality
    insufficiency failure
"""
# Head nouns too generic to give a diagnosis away on their own ("tumor", "syndrome").
GENERIC_HEADS = frozenset(_GENERIC_TEXT.split())


@dataclass(frozen=True, slots=True)
class Hit:
    """One matched span in a doc, before it becomes a score."""

    detector: str
    start: int  # character offsets
    end: int
    text: str
    detail: dict[str, Any]


# What :func:`build_matchers` reads for a track: equal keys give identical matchers.
MatcherKey = tuple[Any, ...]


@dataclass(frozen=True)
class TrackMatchers:
    """The compiled matchers of one (descriptor, track); build once, run on any number of texts.

    Hits are a pure function of the text, so :meth:`hits_in` keeps them per text: the post-condition
    re-checks most contexts unchanged (nothing masked or dropped) and gets detection's hits back.
    """

    track: str
    phrase_norm: PhraseMatcher | None
    phrase_orth: PhraseMatcher | None
    patterns: Matcher | None
    labels: dict[int, tuple[str, dict[str, Any]]]  # match id -> (detector, detail)
    references: Matcher | None = None  # figure, panel and image references: one matcher for all items
    # detectors whose hits, when "(SF)" follows them, make SF a short form of the answer everywhere in
    # the text ("lexical.defined_short"); empty: the track does not look for such definitions
    defining: frozenset[str] = frozenset()
    # acronyms of the answer whose spelled-out lists ("coloboma, heart defects, ...") leak it
    acronyms: tuple[str, ...] = ()
    # content words of each name of the answer, for the names only the text gives it
    # ("lexical.text_name", :mod:`mmrare.leakage.textnames`); empty: the track does not look for them
    answer_words: tuple[frozenset[str], ...] = ()
    # (detector, short form) of the case-sensitive terms also looked for glued to a next word ("NF1is")
    glued: tuple[tuple[str, str], ...] = ()
    # norm hashes one of which every match of ``patterns`` holds (the investigation's names of a result
    # phrase); a doc without any is not run through them. Empty: no such word is known, always run.
    pattern_norms: frozenset[int] = frozenset()
    _memo: dict[str, tuple[Hit, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def hits(self, doc: Doc) -> list[Hit]:
        """All hits in ``doc``, de-duplicated per (detector, span), in text order."""
        found: dict[tuple[str, int, int], Hit] = {}
        patterns = self.patterns
        if patterns is not None and self.pattern_norms:
            from spacy.attrs import NORM

            if self.pattern_norms.isdisjoint(doc.to_array(NORM).tolist()):
                patterns = None  # the token-by-token pattern matcher would find nothing
        for matcher in (self.phrase_norm, self.phrase_orth, patterns, self.references):
            if matcher is None:
                continue
            for match_id, s, e in matcher(doc):
                detector, detail = self.labels[match_id]
                span = doc[s:e]
                start, end = span.start_char, span.end_char
                key = (detector, start, end)
                if key not in found:
                    found[key] = Hit(detector, start, end, span.text, dict(detail))
        for detector, term in self.glued:
            for match in short_form_pattern(term).finditer(doc.text):
                hit = Hit(detector, match.start(), match.end(), match.group(), {"term": term})
                found.setdefault((detector, hit.start, hit.end), hit)
        if self.answer_words:
            names = [h for h in found.values() if h.detector in self.defining]
            for hit in text_name_hits(doc.text, names, self.answer_words):
                found.setdefault((hit.detector, hit.start, hit.end), hit)
        if self.defining:
            names = [h for h in found.values() if h.detector in self.defining]
            for hit in defined_short_hits(doc.text, names):
                found.setdefault((hit.detector, hit.start, hit.end), hit)
        for hit in spelled_acronym_hits(doc.text, self.acronyms):
            found.setdefault((hit.detector, hit.start, hit.end), hit)
        return sorted(found.values(), key=lambda h: (h.start, h.end, h.detector))

    def hits_in(self, text: str, doc: Doc | None = None) -> list[Hit]:
        """:meth:`hits` of ``text``, computed once per text; ``doc`` (``nlp()``'s tokens of ``text``)
        saves tokenising it when the text is new. The hits are shared: callers must not mutate them."""
        found = self._memo.get(text)
        if found is None:
            found = self._memo[text] = tuple(self.hits(doc if doc is not None else nlp().make_doc(text)))
        return list(found)


def matcher_key(descriptor: AnswerDescriptor, track: str) -> MatcherKey:
    """Everything :func:`build_matchers` reads of ``descriptor`` for ``track``, as a hashable key.

    Items of one case share most of it (a cross-image item's matchers depend on the figures shown,
    not on which one is the answer; a diagnosis's on its names, not its definition), so caching
    matchers on this key compiles each distinct set once instead of once per descriptor.
    """
    if track == "cross_image":
        return (track, tuple((f.figure_id, f.label, f.caption) for f in descriptor.figures))
    genes: tuple[tuple[str, ...], ...] = ()
    if "lexical.gene" in TRACK_LEXICAL.get(track, ()):
        genes = (tuple(descriptor.gene_symbols), tuple(descriptor.gene_names))
    names = (descriptor.synonyms, descriptor.xref_names, descriptor.abbreviations)
    related: tuple[tuple[str, ...], ...] = ()
    if "lexical.related" in TRACK_LEXICAL.get(track, ()):
        related = (tuple(descriptor.related_names), tuple(descriptor.short_names))
    return (track, descriptor.label, *(tuple(n) for n in names), genes, related)


def build_matchers(descriptor: AnswerDescriptor, track: str) -> TrackMatchers:
    """The matchers for ``track``'s lexical detectors over ``descriptor``."""
    from spacy.matcher import Matcher, PhraseMatcher

    pipeline = nlp()
    wanted = set(TRACK_LEXICAL.get(track, ()))
    norm = PhraseMatcher(pipeline.vocab, attr="NORM")
    orth = PhraseMatcher(pipeline.vocab, attr="ORTH")
    patterns = Matcher(pipeline.vocab)
    labels: dict[int, tuple[str, dict[str, Any]]] = {}
    counts = {"norm": 0, "orth": 0, "patterns": 0}
    pattern_norms: frozenset[int] = frozenset()

    def key(detector: str, detail: dict[str, Any]) -> str:
        name = f"{detector}|{sorted(detail.items())}"
        labels[pipeline.vocab.strings.add(name)] = (detector, detail)
        return name

    def add_terms(detector: str, terms: Iterable[str], *, exact: bool) -> None:
        for term in terms:
            docs = _term_docs(term, exact)
            if docs:
                target = orth if exact else norm
                target.add(key(detector, {"term": term}), list(docs))
                counts["orth" if exact else "norm"] += 1

    if "lexical.label" in wanted:
        add_terms("lexical.label", [descriptor.label], exact=False)
    if "lexical.synonym" in wanted:
        add_terms("lexical.synonym", descriptor.synonyms, exact=False)
    if "lexical.xref" in wanted:
        add_terms("lexical.xref", descriptor.xref_names, exact=False)
    if "lexical.abbreviation" in wanted:
        add_terms("lexical.abbreviation", descriptor.abbreviations, exact=True)
    if "lexical.head_word" in wanted:
        add_terms("lexical.head_word", head_words(descriptor), exact=False)
    if "lexical.related" in wanted:
        add_terms("lexical.related", descriptor.related_names, exact=False)
    if "lexical.near_name" in wanted:
        add_terms("lexical.near_name", near_names(descriptor), exact=False)
    if "lexical.short_name" in wanted:
        add_terms("lexical.short_name", descriptor.short_names, exact=True)
    if "lexical.gene" in wanted:
        add_terms("lexical.gene", descriptor.gene_symbols, exact=True)
        add_terms("lexical.gene", descriptor.gene_names, exact=False)
    if "lexical.result_phrase" in wanted:
        heads = _heads(descriptor)
        if heads:
            verbs = list(RESULT_VERBS)
            patterns.add(
                key("lexical.result_phrase", {"form": "name_then_result"}),
                [[{"NORM": {"IN": heads}}, {"IS_PUNCT": False, "OP": "{0,4}"}, {"LOWER": {"IN": verbs}}]],
                greedy="LONGEST",
            )
            patterns.add(
                key("lexical.result_phrase", {"form": "result_then_name"}),
                [
                    [
                        {"LOWER": {"IN": verbs}},
                        {"LOWER": {"IN": list(_RESULT_PREPOSITIONS)}},
                        {"IS_PUNCT": False, "OP": "{0,3}"},
                        {"NORM": {"IN": heads}},
                    ]
                ],
                greedy="LONGEST",
            )
            counts["patterns"] += 2
            # each match holds a word with one of these norms (the only patterns of this track)
            pattern_norms = frozenset(pipeline.vocab.strings.add(h) for h in heads)
    glued: list[tuple[str, str]] = []
    answer_words: tuple[frozenset[str], ...] = ()
    if "lexical.text_name" in wanted:
        exact = (
            ("lexical.abbreviation", descriptor.abbreviations),
            ("lexical.short_name", descriptor.short_names),
            ("lexical.gene", descriptor.gene_symbols),
        )
        glued = [(d, t.strip()) for d, terms in exact if d in wanted for t in terms if t.strip()]
        answer_words = answer_word_sets(
            (descriptor.label, *descriptor.synonyms, *descriptor.xref_names, *descriptor.related_names)
        )
    references = None
    if track == "cross_image":
        references, reference_labels = _reference_patterns(frozenset(wanted))
        labels.update(reference_labels)
        _add_cross_image(descriptor, wanted, norm, key, counts)
    return TrackMatchers(
        track=track,
        phrase_norm=norm if counts["norm"] else None,
        phrase_orth=orth if counts["orth"] else None,
        patterns=patterns if counts["patterns"] else None,
        labels=labels,
        references=references,
        pattern_norms=pattern_norms,
        defining=_DEFINING if "lexical.defined_short" in wanted else frozenset(),
        acronyms=_list_acronyms(descriptor) if "lexical.defined_short" in wanted else (),
        answer_words=answer_words,
        glued=tuple(glued),
    )


# Name detectors after whose hits a "(SF)" defines a short form of the answer.
_DEFINING = frozenset({
    "lexical.label", "lexical.synonym", "lexical.xref", "lexical.related", "lexical.short_name",
    "lexical.near_name", "lexical.text_name",
})
# "MELAS (myopathy, encephalopathy, lactic acidosis and stroke)": the words an acronym stands for
_EXPANSION = re.compile(r"\s*\(([^()]{8,160})\)")
# "(SF)" right after a name, or after a head word the matched name leaves out ("... syndrome (SF)")
_DEFINITION = re.compile(
    r"(?:\s+(?:syndrome|disease|disorder))?\s*\(\s*([A-Za-z][A-Za-z0-9\-]{1,9})\s*[),;]"
)


def _spells(short: str, long_form: str) -> bool:
    """Whether ``long_form``'s words start with the letters of the acronym ``short``, in order
    (small words such as "and", "of" may be skipped): "MELAS" and "myopathy, encephalopathy, lactic
    acidosis and stroke"."""
    if not short.isupper() or not 2 <= len(short) <= 10:
        return False
    letters = [w[0].lower() for w in re.findall(r"[A-Za-z]+", long_form)]
    wanted = short.lower()
    if letters and letters[0] != wanted[0]:
        return False
    position = 0
    for letter in letters:
        if position < len(wanted) and letter == wanted[position]:
            position += 1
    return position == len(wanted) and len(letters) <= 2 * len(wanted) + 2


MIN_LIST_ACRONYM = 4
_LIST_SEGMENT = re.compile(r"[^.;:!?()\[\]\n‘“”\"]+")  # "’" is an apostrophe as often as a quote
_LIST_SEPARATOR = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+")
_LIST_WORD = re.compile(r"[A-Za-z][\w’'-]*")


def _list_acronyms(descriptor: AnswerDescriptor) -> tuple[str, ...]:
    """The answer's all-capital acronyms of at least :data:`MIN_LIST_ACRONYM` letters."""
    names = (*descriptor.short_names, *descriptor.abbreviations, *descriptor.synonyms, descriptor.label)
    found = [n for n in names if n.isalpha() and n.isupper() and len(n) >= MIN_LIST_ACRONYM]
    return tuple(dict.fromkeys(found))


def spelled_acronym_hits(text: str, acronyms: Sequence[str]) -> list[Hit]:
    """Lists that spell out an acronym of the answer without naming it: "characterized by
    coloboma, heart defects, atresia choanae, retarded growth, genital and ear anomalies" for
    CHARGE. A run of three or more list items (commas, "and", "or"; at most four words each) whose
    first item starts with the acronym's first letter, whose last item starts with its last letter,
    and whose words' initials hold the acronym's letters in order (a word or two more allowed)."""
    if not acronyms:
        return []
    out: list[Hit] = []
    for segment in _LIST_SEGMENT.finditer(text):
        items = _list_items(segment.group(), segment.start())
        for acronym in acronyms:
            out.extend(_spelled_runs(text, items, acronym))
    return out


def _list_items(segment: str, offset: int) -> list[tuple[int, int, list[str]]]:
    """(start, end, words) of each comma / "and"-separated item of a text segment."""
    items = []
    position = 0
    for separator in [*_LIST_SEPARATOR.finditer(segment), None]:
        end = separator.start() if separator is not None else len(segment)
        piece = segment[position:end]
        words = _LIST_WORD.findall(piece)
        if words:
            lead = len(piece) - len(piece.lstrip())
            items.append((offset + position + lead, offset + position + len(piece.rstrip()), words))
        position = separator.end() if separator is not None else len(segment)
    return items


def _spelled_runs(text: str, items: list[tuple[int, int, list[str]]], acronym: str) -> list[Hit]:
    wanted = acronym.lower()
    out: list[Hit] = []
    for i, (start, _end, words) in enumerate(items):
        if words[-1][0].lower() != wanted[0] or len(words) > 4:
            continue
        letters = [words[-1][0].lower()]  # the item's last word: "combined coloboma"
        for j in range(i + 1, min(len(items), i + len(wanted))):
            more = items[j][2]
            if len(more) > 4:
                break
            letters += [w[0].lower() for w in more]
            if j - i + 1 < 3 or more[0][0].lower() != wanted[-1] or len(letters) > 2 * len(wanted) + 2:
                continue
            if _subsequence(wanted, letters):
                first = text.rfind(words[-1], start, items[i][1])
                detail = {"term": acronym, "form": "spelled_list"}
                end = items[j][1]
                out.append(Hit("lexical.defined_short", first, end, text[first:end], detail))
                break
    return out


def _subsequence(wanted: str, letters: list[str]) -> bool:
    position = 0
    for letter in letters:
        if position < len(wanted) and letter == wanted[position]:
            position += 1
    return position == len(wanted)


def defined_short_hits(text: str, name_hits: Iterable[Hit]) -> list[Hit]:
    """Hits of every short form the text defines right after a name of the answer ("Prader-Willi
    syndrome (PWS)"), case-sensitively as a whole word (plural "s" allowed), anywhere in the text.

    A short form must have a capital letter and start with the first letter of one of the name's
    words ("NPC" for "Niemann-Pick disease type C", not "OMIM" after it): the text's own
    abbreviation for the answer, whether or not ORDO knows it. The other way round, the words an
    acronym of the answer is spelled out as right after it ("MELAS (myopathy, encephalopathy, lactic
    acidosis and stroke)") are found wherever the text repeats them.
    """
    shorts: dict[str, str] = {}
    longs: dict[str, str] = {}
    for hit in name_hits:
        expansion = _EXPANSION.match(text, hit.end)
        if expansion is not None and _spells(hit.text, expansion.group(1)):
            longs.setdefault(expansion.group(1), hit.text)
        match = _DEFINITION.match(text, hit.end)
        if match is None:
            continue
        short = match.group(1)
        initials = {w[0].lower() for w in re.findall(r"[A-Za-z0-9]+", hit.text)}
        if any(ch.isupper() for ch in short) and short[0].lower() in initials:
            shorts.setdefault(short, hit.text)
    out: list[Hit] = []
    for long_form, short in longs.items():
        for found in re.finditer(re.escape(long_form), text, flags=re.IGNORECASE):
            detail = {"term": long_form, "of": short}
            out.append(Hit("lexical.defined_short", found.start(), found.end(), found.group(), detail))
    for short, name in shorts.items():
        for found in short_form_pattern(short).finditer(text):
            out.append(
                Hit(
                    "lexical.defined_short", found.start(), found.end(), found.group(),
                    {"term": short, "of": name},
                )
            )
    return out


def text_name_hits(text: str, name_hits: Iterable[Hit], answers: Sequence[frozenset[str]]) -> list[Hit]:
    """Names of the answer that only the text gives (:mod:`mmrare.leakage.textnames`): long forms it
    defines in the answer's own words, aliases after a cue, items of a synonyms list."""
    spans = [(h.start, h.end) for h in name_hits]
    found = [
        *defined_long_forms(text, answers),
        *alias_statements(text, spans),
        *synonym_lists(text, spans),
    ]
    return [
        Hit("lexical.text_name", n.start, n.end, n.text, {"term": n.term, "form": n.form}) for n in found
    ]


@functools.lru_cache(maxsize=8)
def _reference_patterns(
    wanted: frozenset[str],
) -> tuple[Matcher | None, dict[int, tuple[str, dict[str, Any]]]]:
    """The matcher of figure, panel and image references, and its labels (see ``build_matchers``).

    The same for every cross-image item, whatever its figures: made once (validating and compiling
    the patterns again for each item's matchers cost more as the corpus grew), and only read after.
    """
    from spacy.matcher import Matcher

    pipeline = nlp()
    patterns = Matcher(pipeline.vocab)
    labels: dict[int, tuple[str, dict[str, Any]]] = {}

    def key(detector: str, detail: dict[str, Any]) -> str:
        name = f"{detector}|{sorted(detail.items())}"
        labels[pipeline.vocab.strings.add(name)] = (detector, detail)
        return name

    if "lexical.figure_ref" in wanted:
        patterns.add(
            key("lexical.figure_ref", {"form": "figure_number"}),
            [
                [
                    {"LOWER": {"REGEX": _FIGURE_WORD}},
                    {"ORTH": ".", "OP": "?"},
                    {"TEXT": {"REGEX": _FIGURE_NUM}},
                ]
            ],
            greedy="LONGEST",
        )
    if "lexical.panel_ref" in wanted:
        patterns.add(
            key("lexical.panel_ref", {"form": "panel"}),
            [[{"LOWER": {"IN": ["panel", "panels"]}}, {"TEXT": {"REGEX": r"^(?:[A-Za-z]|\d+|[ivx]+)$"}}]],
            greedy="LONGEST",
        )
    if "lexical.image_marker" in wanted:
        patterns.add(
            key("lexical.image_marker", {"form": "image_number"}),
            [[{"LOWER": "image"}, {"TEXT": {"REGEX": r"^\d+$"}}]],
        )
    return (patterns if labels else None), labels


def _add_cross_image(
    descriptor: AnswerDescriptor,
    wanted: set[str],
    norm: PhraseMatcher,
    key: Any,
    counts: dict[str, int],
) -> None:
    """The phrases of a cross-image item's own figures: their labels and distinctive caption n-grams."""
    if "lexical.figure_ref" in wanted:
        for fig in descriptor.figures:
            if fig.label.strip():
                norm.add(key("lexical.figure_ref", {"figure_id": fig.figure_id}), [_term_doc(fig.label)])
                counts["norm"] += 1
    if "lexical.caption_ngram" in wanted:
        for figure_id, grams in distinctive_ngrams(descriptor).items():
            if grams:
                variants = [v for g in grams for v in term_variants(g)]
                norm.add(
                    key("lexical.caption_ngram", {"figure_id": figure_id}),
                    [_term_doc(v) for v in dict.fromkeys(variants)],
                )
                counts["norm"] += 1


def distinctive_ngrams(descriptor: AnswerDescriptor) -> dict[str, list[str]]:
    """Per figure, the caption 2- and 3-grams of content words that no other figure's caption has.

    An n-gram must start and end with a content word (a trigram may have a stop word inside). Words
    are compared on their norms ("lesions" = "lesion"); hyphens are skipped ("Hematoxylin-eosin" is a
    bigram, matched with or without its hyphen), any other punctuation ends a run of words.
    """
    grams_of = {fig.figure_id: dict(_caption_grams(fig.caption)) for fig in descriptor.figures}
    out: dict[str, list[str]] = {}
    for figure_id, grams in grams_of.items():
        others = {g for fid, gs in grams_of.items() if fid != figure_id for g in gs}
        out[figure_id] = sorted(text for g, text in grams.items() if g not in others)
    return out


@chunk_memo(maxsize=1 << 14)
def _caption_grams(caption: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """(norms, text) of the caption's content-word n-grams, first occurrence first.

    A function of the caption alone, kept per caption: every cross-image item of a case shows the same
    few figures, so the captions would otherwise be tokenised once per item.
    """
    runs: list[list[tuple[str, str]]] = [[]]  # (norm, text) of each word
    for token in nlp().make_doc(caption):
        if token.norm_ == "-":
            continue
        if token.is_alpha or token.like_num:
            runs[-1].append((token.norm_, token.text))
        elif runs[-1]:
            runs.append([])
    grams: dict[tuple[str, ...], str] = {}
    for run in runs:
        for n in _NGRAM_SIZES:
            for i in range(len(run) - n + 1):
                words = run[i : i + n]
                # Content words at both ends ("chief cells", "head and neck"), never "cells with pale".
                if _is_content(words[0][0]) and _is_content(words[-1][0]):
                    grams.setdefault(tuple(norm for norm, _ in words), " ".join(text for _, text in words))
    return tuple(grams.items())


@chunk_memo(maxsize=1 << 15)
def _term_doc(text: str) -> Doc:
    """``nlp()``'s tokens of a term spelling, made once: many matchers add the same spellings (the
    names of one case's answer, the caption n-grams of its figures). Only read, never changed."""
    return nlp().make_doc(text)


@chunk_memo(maxsize=1 << 15)
def _term_docs(term: str, exact: bool) -> tuple[Doc, ...]:
    """The docs a matcher adds for ``term``: the tokens of each spelling (case-sensitive ones when
    ``exact``), leaving out empty and all-punctuation ones. Made once per term: the names of a
    disease or an investigation come back in the matchers of every item that has it as the answer."""
    variants = _exact_variants(term) if exact else term_variants(term)
    return tuple(d for d in map(_term_doc, variants) if len(d) and not all(t.is_punct for t in d))


def _is_content(norm: str) -> bool:
    return len(norm) >= 3 and norm.isalpha() and norm not in _STOP


def _exact_variants(term: str) -> list[str]:
    """Case-sensitive spellings of a short form: itself, plural "s", possessive."""
    base = term.strip()
    if not base:
        return []
    return [base, base + "s", *(base + a + "s" for a in APOSTROPHES)]


def near_names(descriptor: AnswerDescriptor) -> list[str]:
    """Long names of the answer (four to six words) with one inner word left out: "progressive
    intrahepatic cholestasis" for "Progressive familial intrahepatic cholestasis". Authors drop a
    word of a long name, and the text then names the disease as surely as with every word; the first
    and last words stay, so the shortened name keeps its head and its first qualifier."""
    out: dict[str, None] = {}
    for name in (descriptor.label, *descriptor.synonyms, *descriptor.related_names):
        words = name.split()
        if not 4 <= len(words) <= 6:
            continue
        for drop in range(1, len(words) - 1):
            if words[drop].lower() in _STOP:
                continue
            out.setdefault(" ".join(words[:drop] + words[drop + 1 :]), None)
    return list(out)


def head_words(descriptor: AnswerDescriptor) -> list[str]:
    """Distinctive head nouns of the label and synonyms ("paraganglioma" of "Head and neck paraganglioma").

    A context saying "typical for paragangliomas" gives the answer away even though it never writes
    the full label. Single-word names are the label itself; generic heads ("syndrome") and short words
    are left out.
    """
    pipeline = nlp()
    found: dict[str, str] = {}
    for name in (descriptor.label, *descriptor.synonyms):
        words = [t for t in pipeline.make_doc(name) if t.is_alpha]
        if len(words) < 2:
            continue
        head = words[-1]
        if len(head.norm_) >= 6 and head.norm_ not in GENERIC_HEADS:
            found.setdefault(head.norm_, head.text.lower())
    return sorted(found.values())


def _heads(descriptor: AnswerDescriptor) -> list[str]:
    """Norms of the words that name an investigation in a result phrase: each name's last word."""
    pipeline = nlp()
    heads: set[str] = set()
    for term in (*descriptor.names(), *descriptor.abbreviations):
        doc = pipeline.make_doc(term)
        words = [t for t in doc if not t.is_punct]
        if words:
            heads.add(words[-1].norm_)
    return sorted(heads)


def lexical_scores(
    item_id: str,
    track: str,
    context: str,
    sentences: Sequence[ContextSentence],
    matchers: TrackMatchers,
    *,
    doc: Doc | None = None,
    basis: str = "",
) -> list[LeakageScore]:
    """One score (1.0) per hit, tied to the sentence holding its start."""
    out = []
    for hit in matchers.hits_in(context, doc):
        sentence = _sentence_at(sentences, hit.start)
        out.append(
            LeakageScore(
                item_id=item_id,
                detector=hit.detector,
                sentence_id=sentence.sentence_id if sentence else None,
                start=hit.start,
                end=hit.end,
                matched_text=hit.text,
                score=1.0,
                detail=hit.detail,
                track=track,
                basis=basis,
            )
        )
    return out


def _sentence_at(sentences: Sequence[ContextSentence], pos: int) -> ContextSentence | None:
    best = None
    for sentence in sentences:
        if sentence.start <= pos:
            best = sentence
        else:
            break
    return best


def literal_names(text: str, descriptor: AnswerDescriptor, track: str) -> list[str]:
    """Names of the answer found in ``text`` by plain regular expressions, independent of spaCy.

    The post-condition's second opinion: label, synonyms and xref names on normalised text (plural
    allowed), abbreviations and gene symbols case-sensitively on the raw text.
    """
    if track == "cross_image":
        return []
    names = descriptor.names()
    shorts = tuple(descriptor.abbreviations)
    if track == "diagnosis":
        names += tuple(descriptor.gene_names) + tuple(descriptor.related_names)
        shorts += tuple(descriptor.gene_symbols) + tuple(descriptor.short_names)
    on_norm, on_raw = _literal_patterns(names, shorts)
    found = []
    if on_norm:
        normalised = f" {normalise_text(text)} "
        found += [name for name, norm in on_norm if _has_words(normalised, norm)]
    found += [short for short, pattern in on_raw if pattern.search(text)]
    return found


def _has_words(normalised: str, norm: str) -> bool:
    """Whether ``normalised`` (:func:`normalise_text` output with a space either side) holds the words
    ``norm``, plural "s" / "es" allowed: what ``(?<![0-9a-z])norm(?:s|es)?(?![0-9a-z])`` finds, since
    such text is runs of [0-9a-z] between single spaces. A substring test needs no compiled
    expression per name (compiling them was most of the check's time)."""
    return f" {norm} " in normalised or f" {norm}s " in normalised or f" {norm}es " in normalised


@chunk_memo(maxsize=1 << 12)
def _literal_patterns(
    names: tuple[str, ...], shorts: tuple[str, ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, re.Pattern[str]], ...]]:
    """What :func:`literal_names` looks for: (name, its normalised words) and (short form, the
    expression that finds it in the raw text), made once per name set rather than once per context."""
    on_norm = [(name, norm) for name in names if (norm := normalise_text(name))]
    on_raw = [(short, short_form_pattern(short.strip())) for short in shorts if short.strip()]
    return tuple(on_norm), tuple(on_raw)


def word_norms(text: str) -> list[str]:
    """Norms of the words of ``text`` (for option/context overlap)."""
    return [normalise_word(t.text) for t in nlp().make_doc(text) if t.is_alpha]
