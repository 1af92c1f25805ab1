"""Names of the diagnosis that only the text gives: what ORDO cannot know, the text tells.

Authors name a disease by an older or descriptive name ORDO lacks ("hereditary multiple exostoses
(HME)" for "Multiple cartilaginous exostoses"), introduce former names with a cue ("formerly known
as ..."), list synonyms under a heading, and PDF extraction glues an acronym to the next word
("NF1is"). Each rule here is one small, named way a text names its own diagnosis:

- :func:`defined_long_forms`: "long form (SF)" whose long form is made of the answer's own name
  words; the long form and the short form are masked wherever they occur;
- :func:`alias_statements`: what follows "also / formerly / previously known as", "called",
  "described as" in a sentence about the answer (or about "this condition" right after one);
- :func:`synonym_lists`: the items under a "Synonyms" / "Other names" heading that names the answer
  in at least one item;
- :func:`short_form_pattern`: an acronym of the answer as a whole word, or glued to a following
  function word by PDF extraction.

The rules are lexical and deterministic on purpose: they decide from the words of the answer's
names, never from the text's topic, so a symptom that shares one word with the disease ("cerebellar
ataxia" in a Friedreich ataxia case) is never taken for a name of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mmrare.leakage.textnorm import normalise_word
from mmrare.memo import chunk_memo

_WORD = re.compile(r"[^\W_]+")
# words that say nothing about which disease it is: never counted as a name's content
_FILLER_TEXT = """
    a an the of and or with without to in on for by from due as at its type types form forms subtype
    group syndrome syndromes disease diseases disorder disorders complex i ii iii iv v vi
"""
_FILLER = frozenset(_FILLER_TEXT.split())
# words that mark a phrase as a disease name ("hereditary ...", "familial ..."): a long form holding
# one may leave out one word of an answer's name, and they need not be among the name's words
_MARKER_TEXT = """
    hereditary familial inherited congenital genetic primary idiopathic classic classical autosomal
    dominant recessive linked related associated syndrome disease disorder
"""
_MARKERS = frozenset(_MARKER_TEXT.split())
MAX_LEFT_OUT = 1  # words of a (three-word or longer) answer name a marked long form may leave out


@dataclass(frozen=True, slots=True)
class TextName:
    """One span of the text that names the answer, and the rule that found it."""

    start: int
    end: int
    text: str
    form: str  # "defined_long_form", "alias_statement", "synonym_list", "glued_short"
    term: str  # the name or short form the span is an occurrence of


def name_words(text: str) -> frozenset[str]:
    """Normalised content words of a name: "Transthyretin-related amyloid polyneuropathy" ->
    {"transthyretin", "related", "amyloid", "polyneuropathy"}; filler ("type", "of", "syndrome",
    numbers, single letters) left out."""
    words = (normalise_word(w) for w in _WORD.findall(text))
    return frozenset(w for w in words if len(w) > 1 and not w.isdigit() and w not in _FILLER)


def answer_word_sets(names: Iterable[str]) -> tuple[frozenset[str], ...]:
    """The content-word set of each name of the answer (empty ones left out, each distinct once)."""
    return tuple(dict.fromkeys(s for s in map(name_words, names) if s))


def names_the_answer(phrase: str, answers: Sequence[frozenset[str]]) -> bool:
    """Whether ``phrase`` is a name of the answer in other words: its content words, markers aside,
    are all words of one answer name, and it holds all that name's words, or all but
    :data:`MAX_LEFT_OUT` of a name of three or more when the phrase carries a disease marker
    ("hereditary multiple exostoses" for "Multiple cartilaginous exostoses"). A symptom sharing the
    head word ("peripheral neuropathy" in a hereditary neuropathy case) brings a word of its own and
    fails."""
    words = name_words(phrase)
    core = words - _MARKERS
    if not core:
        return False
    for answer in answers:
        if not core <= answer:
            continue
        left_out = len(answer - words)
        if left_out == 0 or (left_out <= MAX_LEFT_OUT and len(answer) >= 3 and words & _MARKERS):
            return True
    return False


# "(SF)" or "(SF," / "(SF;" — a short form of two to ten characters with a capital letter
_SHORT_DEFINITION = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9\-]{1,9})\s*[),;]")
# what a long form cannot run across: sentence and clause punctuation, brackets
_CLAUSE_BREAK = re.compile(r"[.;:!?()\[\]\n,]")
_LONG_WORD = re.compile(r"[^\s]+")
MAX_LONG_FORM_CHARS = 200  # how far back a long form is looked for (more than its word limit needs)


def defined_long_forms(text: str, answers: Sequence[frozenset[str]]) -> list[TextName]:
    """Every occurrence of a long form the text defines with "(SF)" when the long form names the
    answer (:func:`names_the_answer`), and of its short form (case-sensitive whole word).

    The long form is the run of words before the parenthesis, in the same clause, that starts with
    the short form's first letter and holds its letters in order, at most ``len(SF) + 5`` words
    (Schwartz and Hearst's bound); the longest such run that names the answer wins. Authors define
    their own name for the disease this way whether or not ORDO lists it.
    """
    if not answers:
        return []
    found: dict[str, str] = {}  # short form -> long form
    for match in _SHORT_DEFINITION.finditer(text):
        short = match.group(1)
        if not any(ch.isupper() for ch in short):
            continue
        long_form = _long_form(text, match.start(), short, answers)
        if long_form is not None:
            found.setdefault(short, long_form)
    out: list[TextName] = []
    for short, long_form in found.items():
        for hit in re.finditer(rf"(?<!\w){re.escape(long_form)}(?!\w)", text, flags=re.IGNORECASE):
            out.append(TextName(hit.start(), hit.end(), hit.group(), "defined_long_form", long_form))
        for hit in short_form_pattern(short).finditer(text):
            out.append(TextName(hit.start(), hit.end(), hit.group(), "defined_long_form", short))
    return out


def _long_form(text: str, paren: int, short: str, answers: Sequence[frozenset[str]]) -> str | None:
    """The longest run of words ending right before ``paren`` that spells ``short`` and names the answer."""
    clause_start = max(0, paren - MAX_LONG_FORM_CHARS)
    for brk in _CLAUSE_BREAK.finditer(text, clause_start, paren):
        clause_start = brk.end()
    words = list(_LONG_WORD.finditer(text, clause_start, paren))
    letters = [c.lower() for c in short if c.isalpha()]
    if not letters:
        return None
    limit = min(len(letters) + 5, 2 * len(letters)) if len(letters) > 1 else 2
    for first in range(max(0, len(words) - limit), len(words)):
        word = words[first].group()
        if word[0].lower() != letters[0] or word.lower() in _FILLER:
            continue
        phrase = text[words[first].start() : words[-1].end()]
        if _spelled(letters, phrase.lower()) and names_the_answer(phrase, answers):
            return phrase
    return None


def _spelled(letters: Sequence[str], phrase: str) -> bool:
    """Whether the letters occur in ``phrase`` in order (the first at its start)."""
    position = 0
    for letter in letters:
        position = phrase.find(letter, position)
        if position < 0:
            return False
        position += 1
    return True


# "also known as", "formerly called", "previously been described as", "a.k.a."
_ALIAS_CUE = re.compile(
    r"\b(?:also|formerly|previously|once|originally|alternatively|historically|sometimes|otherwise)"
    r"\s+(?:(?:been|be)\s+)?"
    r"(?:(?:known|described|referred\s+to|designated|labell?ed)\s+as|called|termed|named)\b"
    r"|\ba\.k\.a\.?",
    re.IGNORECASE,
)
# a sentence about the answer by anaphor: "This condition has previously been described as ..."
_ANAPHOR = re.compile(
    r"(?:this|the|that)\s+(?:condition|disease|disorder|syndrome|entity|complex|tumou?r)\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_OPEN_QUOTES = "‘“\""
_CLOSE_QUOTES = "’”\""
MAX_ALIAS_CHARS = 200
# after a comma these words go on with the list of names ("..., or velocardiofacial syndrome")
_LIST_GOES_ON = frozenset({"or", "and", "as"})


def alias_statements(text: str, name_spans: Sequence[tuple[int, int]]) -> list[TextName]:
    """The names a sentence about the answer introduces after an alias cue ("Hereditary X, formerly
    known as Y (Z), is ..."), and each such name wherever else the text repeats it.

    The sentence is about the answer when a name of it (``name_spans``) comes before the cue in the
    same sentence, or the sentence opens with "this condition / disease / syndrome" right after a
    sentence that names it. The names run to the end of the clause: a sentence end, a closing
    bracket, a citation, or a comma followed by a word that does not go on with the list.
    """
    out: list[TextName] = []
    for cue in _ALIAS_CUE.finditer(text):
        start = _sentence_start(text, cue.start())
        if not _about_answer(text, start, cue.start(), name_spans):
            continue
        end = _alias_end(text, cue.end())
        span_text = text[cue.end() : end]
        if not span_text.strip():
            continue
        begin = cue.end() + len(span_text) - len(span_text.lstrip())
        end = begin + len(span_text.strip())
        out.append(TextName(begin, end, text[begin:end], "alias_statement", text[begin:end]))
        for name in _alias_items(text[begin:end]):
            for hit in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE):
                if not begin <= hit.start() < end:
                    out.append(TextName(hit.start(), hit.end(), hit.group(), "alias_statement", name))
    return out


def _sentence_start(text: str, position: int) -> int:
    start = 0
    for end in _SENTENCE_END.finditer(text, max(0, position - 400), position):
        start = end.end()
    return start


def _about_answer(text: str, start: int, cue: int, name_spans: Sequence[tuple[int, int]]) -> bool:
    if any(start <= s < cue for s, _ in name_spans):
        return True
    opening = text[start:cue].lstrip()
    if not _ANAPHOR.match(opening):
        return False
    before = _sentence_start(text, max(0, start - 1))
    return any(before <= s < start for s, _ in name_spans)


def _alias_end(text: str, position: int) -> int:
    """Where the names after an alias cue end (see :func:`alias_statements`)."""
    depth, quoted = 0, False
    limit = min(len(text), position + MAX_ALIAS_CHARS)
    i = position
    while i < limit:
        ch = text[i]
        if quoted:
            if ch in _CLOSE_QUOTES and (i + 1 == len(text) or not text[i + 1].isalpha()):
                quoted = False
        elif ch in _OPEN_QUOTES:
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return i
            depth -= 1
        elif ch in ";:[\n" or (ch in ".!?" and (i + 1 == len(text) or text[i + 1].isspace())):
            return i
        elif ch == "," and depth == 0:
            following = text[i + 1 : i + 40].lstrip()
            word = _WORD.match(following)
            if not following or (following[0] not in _OPEN_QUOTES and (word is None or (
                word.group().islower() and word.group() not in _LIST_GOES_ON
            ))):
                return i
        i += 1
    first_comma = text.find(",", position, limit)
    return first_comma if first_comma > 0 else limit


_ITEM_SPLIT = re.compile(r",\s*(?:or\s+|and\s+)?|\s+or\s+")
_PARENTHESIS = re.compile(r"\s*\([^()]*\)")
_QUOTED = re.compile(r"[‘“\"]([^’”\"]{3,120})[’”\"]")
MAX_ITEM_WORDS = 8
_NOT_A_NAME = frozenset({"a", "an", "the", "one", "being", "having", "its", "their"})


def _alias_items(span: str) -> list[str]:
    """The separate names of an alias list, to be found again elsewhere: quoted ones as written, else
    split at commas and "or" ("and" may sit inside a name), without bracketed short forms. A name has
    a word of four letters or more, at most :data:`MAX_ITEM_WORDS` words, two words or a capital,
    and no leading article ("a benign condition" describes, it does not name)."""
    quoted = _QUOTED.findall(span)
    pieces = quoted or _ITEM_SPLIT.split(_PARENTHESIS.sub("", span))
    out = []
    for piece in pieces:
        name = piece.strip(" .,;’”\"‘“")
        words = name.split()
        if not 0 < len(words) <= MAX_ITEM_WORDS or words[0].lower() in _NOT_A_NAME:
            continue
        if any(len(w) >= 4 for w in _WORD.findall(name)) and (len(words) > 1 or not name.islower()):
            out.append(name)
    return list(dict.fromkeys(out))


_SYNONYM_HEADING = re.compile(
    r"^[ \t]*(?:synonyms?|other\s+names?|alternative\s+names?|also\s+known\s+as|aliases)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_BULLET = re.compile(r"[ \t]*[•·▪◦*\-–][ \t]*")
MAX_LIST_LINE_WORDS = 12


def synonym_lists(text: str, name_spans: Sequence[tuple[int, int]]) -> list[TextName]:
    """Every item of a list under a "Synonyms" (or "Other names", "Also known as") heading, when one
    of its items names the answer: the rest are names of it too, including ones ORDO lacks and ones
    an excerpt cuts short.

    Items are the lines after the heading: bulleted lines when the first item has a bullet (blank
    lines between them allowed), else the short lines up to the first blank line.
    """
    out: list[TextName] = []
    for heading in _SYNONYM_HEADING.finditer(text):
        items = _list_lines(text, heading.end())
        if any(s < e and any(s <= a < e for a, _ in name_spans) for s, e in items):
            for s, e in items:
                out.append(TextName(s, e, text[s:e], "synonym_list", text[s:e]))
    return out


def _list_lines(text: str, position: int) -> list[tuple[int, int]]:
    """(start, end) of the list items after a heading, bullets and trailing periods left out."""
    items: list[tuple[int, int]] = []
    bulleted: bool | None = None
    for line in re.finditer(r"[^\n]*", text[position:]):
        if not line.group().strip():
            if bulleted is False and items:
                break
            continue
        start, end = position + line.start(), position + line.end()
        bullet = _BULLET.match(text, start, end)
        if bulleted is None:
            bulleted = bullet is not None
        if bulleted and bullet is None:
            break
        body = text[bullet.end() if bullet else start : end]
        if len(body.split()) > MAX_LIST_LINE_WORDS:
            break
        first = end - len(body.lstrip())
        last = first + len(body.strip().rstrip(".;,"))
        items.append((first, last))
    return items


# lowercase words PDF extraction glues to the acronym before them ("NF1is")
_GLUED_WORDS = (
    "is", "was", "are", "were", "has", "had", "and", "or", "in", "of", "with", "the", "to", "for",
    "on", "by", "as", "at", "patients", "which", "that",
)  # fmt: skip
_GLUE = "(?:" + "|".join(_GLUED_WORDS) + ")?"


@chunk_memo(maxsize=1 << 14)
def short_form_pattern(short: str) -> re.Pattern[str]:
    """A short form, case-sensitively, as a whole word of the raw text (plural "s" allowed).

    An acronym ending in a capital or a digit is also found glued to a lowercase function word
    ("NF1is", "SCIDand"), the way PDF extraction loses the space after it: such a run is never an
    English word. Made per short form, since a case's abbreviations come back in the name sets of
    many of its items.
    """
    glue = _GLUE if short[-1:].isupper() or short[-1:].isdigit() else ""
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(short) + rf"s?(?={glue}(?![A-Za-z0-9]))")

