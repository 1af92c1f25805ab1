"""One normalisation for ORDO terms and for case text, so that a term matches the way authors write it.

Matching runs spaCy's ``PhraseMatcher`` with ``attr="NORM"``. The norm is computed once per *word
type* by the vocabulary's ``NORM`` getter (:func:`normalise_word`), not per token by a pipeline
component: a token's norm falls back to its lexeme's norm, so a word seen a million times is
normalised once, and terms and text can never be normalised by two different code paths.

What two spellings compare equal (word order is deliberately *not* normalised):

==========================  =====================================================================
case                        "Wilson Disease" == "wilson disease"
hyphens and dashes          every Unicode dash; "Ehlers-Danlos" == "Ehlers–Danlos" == "Ehlers Danlos"
Greek letters               "TNF-α" == "TNF alpha" == "TNF-alpha"; "3β" == "3 beta"; µ == mu
possessives                 "Wilson's" == "Wilson’s" == "Wilsons" == "Wilson"
simple plurals              "paragangliomas" -> "paraganglioma", "anomalies" -> "anomaly",
                            "abscesses" -> "abscess", "mucopolysaccharidoses" -> "...osis";
                            words ending in -ss, -us, -is, -ous, -ys and words of <= 3 letters kept
Roman numerals              "type II" == "type 2", "type Ia" == "type 1a" (I, V, X numerals from 1 to
                            39; context-free, so "X-linked" becomes "10 linked" on both sides and
                            still matches)
accents                     "Sjögren" == "Sjogren", "Guillain-Barré" == "Guillain-Barre"
British spellings           "haemorrhagic" == "hemorrhagic", "anaemia" == "anemia", "oedema" == "edema",
                            "tumour" == "tumor", "sulphite" == "sulfite" (:func:`american`)
==========================  =====================================================================

Hyphens and possessives can only be ignored if they are not tokens of their own (a phrase matcher
cannot skip tokens), so :class:`LinkingTokenizer` attaches an intra-word dash and a trailing
apostrophe(-s) to the word before it ("Ehlers-" "Danlos"; "Wilson's") and the norm drops them.
Greek letters are split from their neighbours ("3β" -> "3" "β") because authors glue them to
numbers and words in every possible way. Other punctuation stays a token of its own, with itself
as its norm, so "(" or "," never matches a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import spacy
from spacy.attrs import NORM
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from mmrare.spelling import american

DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
APOSTROPHES = "'\u2019\u02bc"

GREEK_NAMES: dict[str, str] = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi",
    "ο": "omicron", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon",
    "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "µ": "mu", "ϐ": "beta", "ϑ": "theta",
}
_GREEK_CLASS = "\u0370-\u03ff\u1f00-\u1fff\u00b5"

# A word: letters/digits (not Greek, not "_"), with internal apostrophes ("O'Brien", "Wilson's") and
# decimal points/commas between digits ("2.5", "1,000"); then an optional trailing apostrophe and an
# optional intra-word dash (only when a word or a Greek letter follows it directly).
_W = rf"[^\W_{_GREEK_CLASS}]"
_TOKEN = re.compile(
    rf"(?:\d+(?:[.,]\d+)+|{_W}+(?:[{APOSTROPHES}]{_W}+)*|[{_GREEK_CLASS}])"
    rf"(?:[{APOSTROPHES}](?!{_W}))?"
    rf"(?:[{DASHES}](?=[^\W_]))?"
    r"|\S"
)

# A token with the whitespace after it: one space (the token's trailing-space flag), then any
# further whitespace (a whitespace token of its own). Text may open with whitespace (a token too).
_TOKEN_GAP = re.compile(rf"({_TOKEN.pattern})( ?)(\s*)")
_LEADING_SPACE = re.compile(r"\s+")

_TRAILING = re.compile(rf"(?:[{APOSTROPHES}][sS]?)?[{DASHES}]?$")
_ROMAN = re.compile(r"^(x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_LETTER = re.compile(r"^([ivx]+)([a-d])$")  # "Ia", "IIIb": a type with its subtype letter
_ROMAN_UNITS = {"": 0, "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9}
_KEEP_S = ("ss", "us", "is", "ys")


def strip_word(text: str) -> str:
    """The word without what the tokenizer attached to it: a trailing dash and a possessive."""
    if len(text) > 1:
        stripped = _TRAILING.sub("", text)
        return stripped or text
    return text


def normalise_word(text: str) -> str:
    """The norm of one token (see the module docstring); idempotent, so norms can be re-normalised."""
    word = strip_word(text)
    if len(word) == 1:
        if word in DASHES:
            return "-"
        greek = GREEK_NAMES.get(word.lower())
        if greek is not None:
            return greek
    word = word.lower()
    if not word.isascii():
        word = "".join(GREEK_NAMES.get(ch, ch) for ch in word)
        word = unicodedata.normalize("NFKD", word)
        word = "".join(ch for ch in word if not unicodedata.combining(ch))
    if not word.isalpha():
        return word
    roman = roman_to_int(word)
    if roman is not None:
        return str(roman)
    lettered = _ROMAN_LETTER.match(word)
    if lettered is not None:
        number = roman_to_int(lettered.group(1))
        if number is not None:
            return f"{number}{lettered.group(2)}"
    return singular(american(word))


def roman_to_int(word: str) -> int | None:
    """1..39 for a lower-case Roman numeral made of i, v and x; None for anything else."""
    match = _ROMAN.match(word)
    if match is None or not word:
        return None
    return 10 * len(match.group(1)) + _ROMAN_UNITS[match.group(2)]


def singular(word: str) -> str:
    """A simple English singular: enough to make "paragangliomas" meet "paraganglioma".

    Both sides pass through the same rule, so a wrong singular of a singular word ("diabetes" ->
    "diabete") is harmless; what matters is that a plural and its singular end up equal and that
    singular words ending in -ss, -us, -is, -ous, -ys are left alone.
    """
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_KEEP_S):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("itides"):
        return word[:-6] + "itis"
    if word.endswith("oses") and len(word) > 6:
        return word[:-4] + "osis"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    return word[:-1]


class LinkingTokenizer:
    """Regex tokenizer producing spaCy Docs whose tokens fit the normalisation (see module docstring).

    The Doc text is exactly the input text (``doc.text == text``), so character offsets of tokens
    are offsets into the input.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words, spaces = tokenize(text)
        return Doc(self.vocab, words=words, spaces=spaces)


def tokenize(text: str) -> tuple[list[str], list[bool]]:
    """Words and trailing-space flags for :class:`spacy.tokens.Doc`; runs of whitespace other than one
    space become whitespace tokens, as spaCy's own tokenizer does.

    One match of :data:`_TOKEN_GAP` reads a word together with the whitespace after it, so the
    single space that follows most words costs no step of its own (this runs over every token of
    every linked document).
    """
    words: list[str] = []
    spaces: list[bool] = []
    lead = _LEADING_SPACE.match(text)
    if lead is not None:
        words.append(lead.group())
        spaces.append(False)
    for word, space, gap in _TOKEN_GAP.findall(text, lead.end() if lead is not None else 0):
        words.append(word)
        spaces.append(bool(space))
        if gap:
            words.append(gap)
            spaces.append(False)
    return words, spaces


def iter_words(text: str) -> Iterator[str]:
    """The non-whitespace tokens of ``text`` (for building terms without a Doc)."""
    for match in _TOKEN.finditer(text):
        yield match.group()


def normalise_phrase(text: str) -> tuple[str, ...]:
    """The norms of the tokens of ``text``; what a term or a span is compared on."""
    return tuple(normalise_word(word) for word in iter_words(text))


def make_nlp() -> Language:
    """``spacy.blank("en")`` with :class:`LinkingTokenizer`, the norm getter and a sentencizer.

    The sentencizer runs only for free text (:func:`~mmrare.ontology.linking.matcher.link_text`);
    documents that come already split call ``nlp.make_doc`` and skip the pipeline.
    """
    nlp = spacy.blank("en")
    nlp.tokenizer = LinkingTokenizer(nlp.vocab)
    nlp.vocab.lex_attr_getters[NORM] = normalise_word
    for lexeme in nlp.vocab:  # lexemes made before the getter was set (tokenizer exceptions)
        lexeme.norm_ = normalise_word(lexeme.orth_)
    nlp.add_pipe("sentencizer")
    nlp.max_length = 50_000_000
    return nlp
