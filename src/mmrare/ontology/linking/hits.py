"""Where a document names a concept: ORDO names, head nouns, gene deficiencies and the document's
own abbreviations, as token spans of the document's one spaCy Doc (see ``document``).

- ORDO names (``label`` / ``synonym``): phrase-matcher hits, acronyms checked case-sensitively,
  overlapping hits resolved leftmost-longest; a name shared by several concepts goes to the concept
  it is the *label* of, else to each of them with its score divided among them.
- ``head_noun`` and ``gene_deficiency`` hits on tokens no name covers (see ``terms``), and
  ``gene_variant`` hits: the same genes named as carrying a variant ("a novel HSD3B7 mutation").
- Abbreviations (``abbreviations``): a definition overrides ORDO acronyms with the same short form
  everywhere in the document; the short form links to the long form's concept from the definition
  on (``abbreviation``). An ORDO acronym the document never defines is kept only when the document
  also names that concept in another way.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from spacy.attrs import NORM, ORTH
from spacy.tokens import Doc, Span

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.abbreviations import Definition, find_definitions, short_form_pattern
from mmrare.ontology.linking.matcher import Linker
from mmrare.ontology.linking.mentions import MatchKind
from mmrare.ontology.linking.normalise import strip_word
from mmrare.ontology.linking.terms import Term, is_acronym

# Match strength by kind (Mention.score), before dividing among the concepts of an ambiguous name.
KIND_SCORES: dict[str, float] = {
    "label": 1.0,
    "synonym": 0.9,
    "acronym": 0.7,  # an ORDO acronym synonym the document does not define
    "abbreviation": 0.95,  # times the score of the long form's mention
    "gene_deficiency": 0.85,
    "gene_variant": 0.5,  # a variant of a gene ORDO ties to one disorder: support, weaker than a name
    "head_noun": 0.6,
    "unqualified": 0.85,  # an ORDO name without its "classic" / "autosomal" qualifier
}
GENE_LOOKBACK = 12  # tokens between "deficiency of" and the gene symbol
VARIANT_WINDOW = 4  # tokens between a gene symbol and "mutation" / "variant"


@dataclass(slots=True)
class Sentence:
    """One input sentence inside the document Doc."""

    sentence_id: str
    role: str
    text: str
    offset: int  # of the sentence in the document text
    tok_start: int
    tok_end: int


@dataclass(slots=True)
class Hit:
    """A mention before its assertion flags; token offsets into the document Doc."""

    sentence: int
    tok_start: int
    tok_end: int
    code: str
    kind: MatchKind
    score: float
    term: str
    char_start: int = 0  # document text offsets; set from the tokens unless given
    char_end: int = 0


def sentence_of(starts: list[int], token: int) -> int:
    """The number of the sentence a token belongs to, given each sentence's first token."""
    return bisect.bisect_right(starts, token) - 1


def find_hits(linker: Linker, doc: Doc, sentences: list[Sentence]) -> tuple[list[Hit], dict[str, str]]:
    """Every hit of the document, ordered by position, and its abbreviation definitions (SF -> LF)."""
    starts = [s.tok_start for s in sentences]
    hits = term_hits(linker, doc, starts)
    covered = _covered(hits, len(doc))
    hits.extend(head_hits(linker, doc, starts, sentences, covered))
    hits.extend(gene_hits(linker, doc, starts, sentences, covered))
    for hit in hits:
        last = doc[hit.tok_end - 1]
        hit.char_start = doc[hit.tok_start].idx
        hit.char_end = last.idx + len(strip_word(last.text))
    hits, definitions = apply_abbreviations(doc, sentences, hits)
    hits = supported(hits, linker.index)
    hits.sort(key=lambda h: (h.tok_start, h.tok_end))
    return hits, definitions


def term_hits(linker: Linker, doc: Doc, starts: list[int]) -> list[Hit]:
    """ORDO-name hits, acronyms checked for case, overlaps resolved leftmost-longest."""
    candidates: list[tuple[int, int, tuple[Term, ...]]] = []
    norms = doc.to_array(NORM).tolist()
    for _key, start, end in linker.term_matcher(doc):
        terms = linker.term_hashes.get(tuple(norms[start:end]), ())
        valid = tuple(t for t in terms if t.surface is None or _surface_matches(t.surface, doc[start:end]))
        if valid:
            candidates.append((start, end, valid))
    candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
    hits: list[Hit] = []
    last_end = -1
    for start, end, terms in candidates:
        if start < last_end:
            continue
        last_end = end
        sentence = sentence_of(starts, start)
        hits.extend(
            Hit(sentence, start, end, t.code, _kind(t), score, t.text) for t, score in _choose(terms)
        )
    return hits


def _surface_matches(surface: tuple[str, ...], span: Span) -> bool:
    """An acronym matches as written; the last word may carry a plural "s" ("CPGLs")."""
    words = [strip_word(t.text) for t in span]
    if len(words) != len(surface):
        return False
    if words[:-1] != list(surface[:-1]):
        return False
    return words[-1] == surface[-1] or words[-1] == surface[-1] + "s"


def _kind(term: Term) -> MatchKind:
    """ORDO labels and synonyms (acronyms included) keep their kind in the mention, and so does a
    name matched without its qualifier."""
    if term.kind in ("label", "unqualified"):
        return term.kind  # type: ignore[return-value]
    return "synonym"


def _choose(terms: tuple[Term, ...]) -> list[tuple[Term, float]]:
    """One term per concept; a name that is one concept's label goes to that concept alone,
    otherwise the score is shared among the concepts the name belongs to."""
    by_code: dict[str, Term] = {}
    for term in terms:
        current = by_code.get(term.code)
        if current is None or (term.kind == "label" and current.kind != "label"):
            by_code[term.code] = term
    labels = [t for t in by_code.values() if t.kind == "label"]
    chosen = labels if len(labels) == 1 else list(by_code.values())
    share = 1.0 / len(chosen)
    return [(t, _term_score(t) * share) for t in chosen]


def _term_score(term: Term) -> float:
    """:data:`KIND_SCORES` of a term; acronyms score below spelled-out synonyms."""
    if term.surface is not None:
        return KIND_SCORES["acronym"]
    return KIND_SCORES[term.kind]


def members(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Positions of the ``values`` that are in ``sorted_keys`` (sorted, unique), in order: what
    ``np.flatnonzero(np.isin(values, sorted_keys))`` gives, by binary search instead of sorting the
    document's values with the keys for every document."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=np.intp)
    found = np.searchsorted(sorted_keys, values)
    found[found == len(sorted_keys)] = 0
    return np.flatnonzero(sorted_keys[found] == values)


def _covered(hits: list[Hit], size: int) -> np.ndarray:
    """Token mask of the name hits, so head nouns and genes are only looked for elsewhere."""
    covered = np.zeros(size, dtype=bool)
    for hit in hits:
        covered[hit.tok_start : hit.tok_end] = True
    return covered


def _is_phrase_end(doc: Doc, index: int, sentence_end: int) -> bool:
    """Whether a head noun at ``index`` ends its noun phrase: the sentence ends, or punctuation or a
    stop word follows ("paragangliomas are", "paraganglioma."), not another noun ("paraganglioma cells")."""
    if index + 1 >= sentence_end:
        return True
    following = doc[index + 1]
    return not following.is_alpha or following.is_stop or following.is_space


def head_hits(
    linker: Linker, doc: Doc, starts: list[int], sents: list[Sentence], covered: np.ndarray
) -> list[Hit]:
    """Head-noun hits: a bare disease noun ending its noun phrase, on a token no name covers."""
    if not len(linker.head_array) or not len(doc):
        return []
    norms = doc.to_array(NORM)
    hits: list[Hit] = []
    for index in members(norms, linker.head_array):
        i = int(index)
        if covered[i]:
            continue
        sentence = sentence_of(starts, i)
        if not _is_phrase_end(doc, i, sents[sentence].tok_end):
            continue
        code = linker.head_hashes[int(norms[i])]
        hits.append(Hit(sentence, i, i + 1, code, "head_noun", KIND_SCORES["head_noun"], doc[i].norm_))
    return hits


def gene_hits(
    linker: Linker, doc: Doc, starts: list[int], sents: list[Sentence], covered: np.ndarray
) -> list[Hit]:
    """Gene-deficiency hits: a gene symbol (case-sensitive) named as deficient."""
    if not len(linker.gene_array) or not len(doc):
        return []
    orths = doc.to_array(ORTH)
    norms = doc.to_array(NORM)
    hits: list[Hit] = []
    for index in members(orths, linker.gene_array):
        i = int(index)
        sentence = sentence_of(starts, i)
        span = _deficiency_span(linker, doc, norms, i, sents[sentence])
        kind: MatchKind = "gene_deficiency"
        if span is None and _names_a_variant(linker, doc, norms, i, sents[sentence]):
            span, kind = (i, i + 1), "gene_variant"
        if span is None or covered[span[0] : span[1]].any():
            continue
        code = linker.gene_hashes[int(orths[i])]
        hits.append(Hit(sentence, span[0], span[1], code, kind, KIND_SCORES[kind], doc[i].text))
    return hits


def _names_a_variant(linker: Linker, doc: Doc, norms: np.ndarray, i: int, sent: Sentence) -> bool:
    """"HSD3B7 mutation", "a novel FBN1 variant", "mutations in the FBN1 gene": the gene is named
    as carrying a variant (at most :data:`VARIANT_WINDOW` tokens apart, no clause punctuation)."""
    for j in range(i + 1, min(sent.tok_end, i + 1 + VARIANT_WINDOW)):
        if doc[j].text in {".", ";", ","}:
            break
        if int(norms[j]) in linker.variant_hashes:
            return True
    for j in range(i - 1, max(sent.tok_start, i - VARIANT_WINDOW) - 1, -1):
        if doc[j].text in {".", ";", ","}:
            break
        if int(norms[j]) in linker.variant_hashes:
            return True
    return False


def _deficiency_span(
    linker: Linker, doc: Doc, norms: np.ndarray, i: int, sent: Sentence
) -> tuple[int, int] | None:
    """"HSD3B7 deficiency", or "deficiency of the ... (HSD3B7)" with the symbol at most
    :data:`GENE_LOOKBACK` tokens after "deficiency of" and no clause punctuation in between."""
    if i + 1 < sent.tok_end and norms[i + 1] == linker.deficiency_hash:
        return i, i + 2
    for j in range(i - 1, max(sent.tok_start, i - GENE_LOOKBACK) - 1, -1):
        if doc[j].text in {".", ";", ","}:
            return None
        if norms[j] == linker.deficiency_hash and j + 1 < i and norms[j + 1] == linker.of_hash:
            in_parens = i + 1 < sent.tok_end and doc[i - 1].text == "(" and doc[i + 1].text == ")"
            return j, i + 2 if in_parens else i + 1
    return None


# -- abbreviations ----------------------------------------------------------------------------------


def apply_abbreviations(
    doc: Doc, sentences: list[Sentence], hits: list[Hit]
) -> tuple[list[Hit], dict[str, str]]:
    """Drop ORDO acronyms the document redefines; add hits for short forms of linked long forms.
    Returns the hits and every definition of the document (SF -> LF, for phrase queries)."""
    definitions: list[tuple[int, Definition]] = []
    for number, sent in enumerate(sentences):
        definitions.extend((number, d) for d in find_definitions(sent.text))
    if not definitions:
        return hits, {}
    defined = {sf_key(d.short) for _n, d in definitions}
    kept = [h for h in hits if not (is_ordo_acronym(h) and sf_key(h.term) in defined)]
    added: list[Hit] = []
    seen: set[str] = set()
    for number, definition in definitions:
        if definition.short in seen:
            continue  # the first definition of a short form is the one that counts
        seen.add(definition.short)
        sent = sentences[number]
        long_hits = _long_form_hits(kept, sent, definition)
        if long_hits:
            after = sent.offset + definition.short_end
            added.extend(_short_form_hits(doc, sentences, kept, definition, long_hits, after))
    return kept + added, {d.short: d.long for _n, d in definitions}


def is_ordo_acronym(hit: Hit) -> bool:
    """An ORDO acronym synonym matched as such (not a short form the document defined)."""
    return hit.kind == "synonym" and is_acronym(hit.term)


def supported(hits: list[Hit], index: OrdoIndex | None = None) -> list[Hit]:
    """ORDO acronyms the document does not define count only when the document also names the same
    concept, a parent or a subtype of it otherwise: "SDS" alone is the detergent, not
    Shwachman-Diamond syndrome, but "CMT1A" in a text that spells out "Charcot-Marie-Tooth disease
    type 1" is the subtype of it."""
    named = {h.code for h in hits if not is_ordo_acronym(h)}
    kept = []
    for hit in hits:
        if not is_ordo_acronym(hit) or hit.code in named:
            kept.append(hit)
            continue
        if index is not None and hit.code in index and _family(index, hit.code) & named:
            kept.append(hit)  # named through a parent or a subtype
    return kept


def _family(index: OrdoIndex, code: str) -> set[str]:
    """A concept's ancestors and descendants (is_a and part_of)."""
    return set(index.ancestors(code)) | set(index.descendants(code))


def sf_key(short: str) -> str:
    """A short form without its plural "s" ("CPGLs" -> "CPGL")."""
    return short[:-1] if short.endswith("s") and len(short) > 2 and short[-2].isupper() else short


def _long_form_hits(hits: list[Hit], sent: Sentence, definition: Definition) -> list[Hit]:
    """The hits that end where the long form ends and lie inside it."""
    start = sent.offset + definition.long_start
    end = sent.offset + definition.long_end
    return [h for h in hits if h.char_end == end and h.char_start >= start]


def _short_form_hits(
    doc: Doc,
    sentences: list[Sentence],
    hits: list[Hit],
    definition: Definition,
    long_hits: list[Hit],
    after: int,
) -> list[Hit]:
    """Hits for the occurrences of a short form after its definition (not inside another hit)."""
    pattern = short_form_pattern(definition.short)
    taken = [(h.char_start, h.char_end) for h in hits]
    out: list[Hit] = []
    for number, sent in enumerate(sentences):
        if sent.offset + len(sent.text) <= after:
            continue
        for match in pattern.finditer(sent.text):
            start = sent.offset + match.start()
            end = sent.offset + match.end()
            if start < after or any(s < end and start < e for s, e in taken):
                continue
            span: Span | None = doc.char_span(start, end, alignment_mode="expand")
            if span is None:
                continue
            weight = KIND_SCORES["abbreviation"]
            out.extend(
                Hit(number, span.start, span.end, h.code, "abbreviation", weight * h.score, definition.long,
                    start, end)
                for h in long_hits
            )
    return out
