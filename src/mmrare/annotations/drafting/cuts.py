"""Where a context stops, and what it is made of.

Every track shows the model part of the case presentation: the sentences of case sections (case
presentation, investigations, treatment, outcome) in article order, never the abstract, background
or discussion, which restate the answer. A context is *cut* before the sentence that gives the answer
away. Figure references in the kept sentences become the image markers the model sees ("Image 2").

:class:`CaseView` indexes one case once; :class:`DiagnosisTerms` finds the sentences that state or
name the gold diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from mmrare.annotations.drafting.text import (
    BRACKET_CITATION,
    FIG_REF,
    Term,
    abbreviation_pattern,
    abbreviations,
    figure_numbers,
    normalise,
    replace_figure_refs,
    strip_figure_refs,
    term_pattern,
    tidy,
)
from mmrare.items import CaseInput, DiagnosisInput, ImageRef, image_marker
from mmrare.records import Figure, Graphic, SectionRole, Sentence

CASE_ROLES = frozenset(
    {SectionRole.CASE_PRESENTATION, SectionRole.INVESTIGATIONS, SectionRole.TREATMENT, SectionRole.OUTCOME}
)

# Authorial framing ("We report a case of ...") names the diagnosis up front; it is never context.
FRAMING = re.compile(
    r"^\s*(?:the\s+(?:case|patient)\s+(?:below|described|presented|reported)|the\s+present\s+case|"
    r"we\s+(?:here\s+)?(?:report|present|describe)|here,?\s+we|"
    r"this\s+(?:case|report|paper|article)\s+(?:describes|reports|presents|highlights)|"
    r"the\s+aim\s+of|in\s+this\s+(?:case\s+)?report)",
    re.IGNORECASE,
)
DIAGNOSIS_CUE = re.compile(
    r"\b(?:diagnos[a-z]*|consistent\s+with|compatible\s+with|confirm[a-z]*|suggestive\s+of|"
    r"established|proven|characteristic\s+of)\b",
    re.IGNORECASE,
)
# Last words of a label that say nothing about which disease it is.
_GENERIC_HEAD_WORDS = """
disease disorder syndrome deficiency tumor tumour tumors neoplasm cancer carcinoma anomaly
malformation defect type form infection lesion condition dysplasia
"""
_GENERIC_HEADS = frozenset(_GENERIC_HEAD_WORDS.split())


def _graphic_index(graphic: Graphic) -> int:
    tail = graphic.graphic_id.rsplit(":g", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _figure_number(figure: Figure) -> int:
    match = re.search(r"\d+", figure.label)
    return int(match.group()) if match else figure.ordinal + 1


class CaseView:
    """Indexes over one case that every track needs (sentence order, citations, usable images)."""

    def __init__(self, case: CaseInput) -> None:
        self.case = case
        self.pmcid = case.pmcid
        self.sentences: list[Sentence] = sorted(case.sentences, key=lambda s: s.ordinal)
        self.by_id: dict[str, Sentence] = {s.sentence_id: s for s in self.sentences}
        roles = {sec.section_id: sec.role for sec in case.sections}
        self.case_sentences: list[Sentence] = [
            s for s in self.sentences if roles.get(s.section_id) in CASE_ROLES
        ]
        self.figures: list[Figure] = sorted(case.figures, key=lambda f: f.ordinal)
        self.figure_by_id: dict[str, Figure] = {f.figure_id: f for f in self.figures}
        order = {f.figure_id: i for i, f in enumerate(self.figures)}
        usable: dict[str, list[Graphic]] = {}
        for graphic in sorted(
            case.usable_graphics, key=lambda g: (order.get(g.figure_id, 1 << 30), _graphic_index(g))
        ):
            if graphic.figure_id in order:
                usable.setdefault(graphic.figure_id, []).append(graphic)
        self.usable: dict[str, list[Graphic]] = usable
        self.cited: dict[str, list[str]] = {}
        self.citing: dict[str, list[str]] = {}
        for mention in case.mentions:
            if mention.figure_id not in order or mention.sentence_id not in self.by_id:
                continue
            self.cited.setdefault(mention.sentence_id, [])
            if mention.figure_id not in self.cited[mention.sentence_id]:
                self.cited[mention.sentence_id].append(mention.figure_id)
            self.citing.setdefault(mention.figure_id, [])
            if mention.sentence_id not in self.citing[mention.figure_id]:
                self.citing[mention.figure_id].append(mention.sentence_id)
        for figs in self.cited.values():
            figs.sort(key=order.__getitem__)
        for sents in self.citing.values():
            sents.sort(key=lambda sid: self.by_id[sid].ordinal)
        self.numbers: dict[int, str] = {}
        for figure in self.figures:
            self.numbers.setdefault(_figure_number(figure), figure.figure_id)
        self._terms: DiagnosisTerms | None = None
        self._refs: dict[str, tuple[int, ...]] = {}
        self._rendered: dict[tuple[str, bool, tuple[tuple[str, ...], ...]], str] = {}
        self._contexts: dict[tuple[tuple[str, ...], tuple[ImageRef, ...], bool], str] = {}
        self._paragraphs: dict[tuple[str, ...], str] = {}

    def diagnosis_terms(self) -> DiagnosisTerms:
        """How the case names its gold diagnosis (which must be set); built once, since the diagnosis
        and treatment tracks both need it and building reads every sentence for abbreviations."""
        if self.case.diagnosis is None:
            raise ValueError(f"{self.pmcid}: case has no diagnosis")
        if self._terms is None:
            self._terms = DiagnosisTerms.build(self.case.diagnosis, self.sentences)
        return self._terms

    # ------------------------------------------------------------------ whole article
    @cached_property
    def casefolded_article(self) -> str:
        """Every sentence, casefolded, in order: where distractors must not be named. Made only
        when asked for (only texts the vocabulary does not know are looked up in it)."""
        return " ".join(s.text for s in self.sentences).casefold()

    @cached_property
    def normalised_article(self) -> str:
        """Every sentence in order, :func:`normalise`-d (see :attr:`casefolded_article`)."""
        return normalise(" ".join(s.text for s in self.sentences))

    # ------------------------------------------------------------------ selection
    def is_framing(self, sentence: Sentence) -> bool:
        return bool(FRAMING.match(sentence.text))

    def before(self, ordinal: int) -> list[Sentence]:
        """Case sentences before the cut, without authorial framing."""
        return [s for s in self.case_sentences if s.ordinal < ordinal and not self.is_framing(s)]

    def figures_cited_by(self, sentence_ids: Iterable[str]) -> list[str]:
        """Figures cited by the sentences, in figure order."""
        found = {fid for sid in sentence_ids for fid in self.cited.get(sid, [])}
        return [f.figure_id for f in self.figures if f.figure_id in found]

    # ------------------------------------------------------------------ images
    def images(self, figure_ids: Iterable[str] | None = None) -> tuple[ImageRef, ...]:
        """Usable graphics of the figures (all when None), numbered in figure order."""
        wanted = None if figure_ids is None else set(figure_ids)
        refs: list[ImageRef] = []
        for figure in self.figures:
            if wanted is not None and figure.figure_id not in wanted:
                continue
            for graphic in self.usable.get(figure.figure_id, []):
                position = len(refs) + 1
                refs.append(ImageRef(position, image_marker(position), figure.figure_id, graphic.graphic_id))
        return tuple(refs)

    def figures_with_images(self) -> list[str]:
        return [f.figure_id for f in self.figures if self.usable.get(f.figure_id)]

    # ------------------------------------------------------------------ rendering
    def render(
        self, sentences: Sequence[Sentence], images: Sequence[ImageRef], strip_refs: bool = False
    ) -> str:
        """Context text: sentences in order, a blank line between paragraphs, figure references as
        the markers of ``images`` (or removed), bracketed citation numbers removed.

        Memoised per case: every cross-image item of a case shows the same context and images, and
        the diagnosis track checks the context it then shows. Items with different cuts still share
        their first paragraphs, so each paragraph's text is memoised as well."""
        key = (tuple(s.sentence_id for s in sentences), tuple(images), strip_refs)
        found = self._contexts.get(key)
        if found is None:
            found = self._contexts[key] = self._render(sentences, images, strip_refs)
        return found

    def _render(self, sentences: Sequence[Sentence], images: Sequence[ImageRef], strip_refs: bool) -> str:
        markers: dict[int, list[str]] = {}
        number_of = {fid: n for n, fid in self.numbers.items()}
        for ref in images:
            if ref.figure_id in number_of:
                markers.setdefault(number_of[ref.figure_id], []).append(ref.marker)
        paragraphs: list[list[str]] = []
        last_key: tuple[str, int] | None = None
        for sentence in sorted(sentences, key=lambda s: s.ordinal):
            text = self._render_sentence(sentence.text, markers, strip_refs)
            if not text:
                continue
            key = (sentence.section_id, sentence.paragraph_index)
            if key != last_key:
                paragraphs.append([])
                last_key = key
            paragraphs[-1].append(text)
        return "\n\n".join(self._paragraph(tuple(p)) for p in paragraphs)

    def _paragraph(self, texts: tuple[str, ...]) -> str:
        """Rendered sentences of one paragraph as one text, memoised (see :meth:`render`)."""
        found = self._paragraphs.get(texts)
        if found is None:
            found = self._paragraphs[texts] = tidy(" ".join(texts))
        return found

    def _render_sentence(self, text: str, markers: dict[int, list[str]], strip_refs: bool) -> str:
        """One sentence as :meth:`render` shows it, memoised: a case's items share most sentences.

        The result depends on the markers of the figure numbers the sentence refers to only, so
        those are the key (items differ in which images they show)."""
        refs = self._refs.get(text)
        if refs is None:
            bare = BRACKET_CITATION.sub("", text)
            refs = tuple(n for m in FIG_REF.finditer(bare) for n in figure_numbers(m.group("nums")))
            self._refs[text] = refs
        key = (text, strip_refs, () if strip_refs else tuple(tuple(markers.get(n, ())) for n in refs))
        found = self._rendered.get(key)
        if found is None:
            bare = BRACKET_CITATION.sub("", text)
            found = strip_figure_refs(bare) if strip_refs else replace_figure_refs(bare, markers)
            self._rendered[key] = found
        return found


@dataclass(frozen=True, slots=True)
class DiagnosisTerms:
    """Ways a case names its gold diagnosis.

    ``naming`` patterns are the label, its aliases and abbreviations defined for them ("AIE"): a
    sentence with a diagnostic cue and one of these *states* the diagnosis. ``leaking`` adds the
    distinctive head word ("paraganglioma") and abbreviations whose long form contains it ("CPGL"):
    a sentence with any of them must not be shown, even when it does not state the final diagnosis.
    """

    names: tuple[str, ...]
    naming: tuple[Term, ...]
    naming_abbrev: tuple[re.Pattern[str], ...]
    leaking: tuple[Term, ...]
    leaking_abbrev: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, diagnosis: DiagnosisInput, all_sentences: Iterable[Sentence]) -> DiagnosisTerms:
        names = tuple(dict.fromkeys(n for n in (diagnosis.label, *diagnosis.aliases) if normalise(n)))
        norm_names = {normalise(n) for n in names}
        heads = set()
        for name in norm_names:
            last = name.split()[-1]
            if len(last) >= 5 and last not in _GENERIC_HEADS:
                heads.add(last)
        naming_abbrev, leaking_abbrev = [], []
        for short, long in abbreviations(s.text for s in all_sentences).items():
            long_norm = normalise(long)
            head_hit = any(term_pattern(h).search(long_norm) for h in heads)  # type: ignore[union-attr]
            if any(term_pattern(n).search(long_norm) for n in norm_names):  # type: ignore[union-attr]
                naming_abbrev.append(abbreviation_pattern(short))
            elif head_hit:
                leaking_abbrev.append(abbreviation_pattern(short))
        naming = tuple(p for n in sorted(norm_names) if (p := term_pattern(n)))
        leaking = naming + tuple(p for h in sorted(heads) if (p := term_pattern(h)))
        return cls(names, naming, tuple(naming_abbrev), leaking, tuple(naming_abbrev + leaking_abbrev))

    def names_diagnosis(self, text: str) -> bool:
        norm = normalise(text)
        return any(p.search(norm) for p in self.naming) or any(p.search(text) for p in self.naming_abbrev)

    def states(self, text: str) -> bool:
        """A diagnostic cue together with the label, an alias or their abbreviation."""
        return bool(DIAGNOSIS_CUE.search(text)) and self.names_diagnosis(text)

    def leaks(self, text: str) -> bool:
        norm = normalise(text)
        return any(p.search(norm) for p in self.leaking) or any(p.search(text) for p in self.leaking_abbrev)

    def literal_names_in(self, text: str) -> list[str]:
        """Gold label or aliases found verbatim (case-insensitive) in ``text``: the final safety check."""
        low = text.casefold()
        return [n for n in self.names if n.casefold() in low]
