"""One tokenizer and one word normalisation for leakage matching, shared by terms and case text.

Leakage matching must be *at least* as forgiving as the way authors write a name, or a leak slips
through: "Hashimoto’s thyroiditis" must meet the ORDO label "Hashimoto thyroiditis", "paragangliomas"
must meet "paraganglioma", "TNF-α" must meet "TNF alpha". Matching therefore runs spaCy's
``PhraseMatcher`` on ``NORM``, and the norm is computed once per word type by the vocabulary's
``NORM`` getter (:func:`normalise_word`), never by a second code path for terms.

The blank English tokenizer is kept except for two changes: possessive suffixes stay attached to
their word ("Crohn's" is one token whose norm is "crohn"), because a phrase matcher cannot skip a
token; and a final period after a letter is split off ("Figure 2A." -> "2A", "."). Hyphens stay
tokens of their own; :func:`term_variants` adds the hyphen/space spellings of a term instead.
spaCy is imported on first use, so importing :mod:`mmrare.leakage` stays cheap.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING

from mmrare.spelling import american

if TYPE_CHECKING:
    from spacy.language import Language

DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
APOSTROPHES = "'\u2019\u02bc"
_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "µ": "mu", "ν": "nu", "ξ": "xi",
    "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip
_POSSESSIVE = re.compile(rf"[{APOSTROPHES}][sS]?$")
_KEEP_S = ("ss", "us", "is", "ys")
_DASH_RUN = re.compile(rf"\s*[{DASHES}]\s*")
_SPACE_BETWEEN_WORDS = re.compile(r"(?<=\w) +(?=\w)")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_GREEK_TABLE = str.maketrans(_GREEK)
# a capital after one or two small letters at a word start: "McCune", "LeFort", "DeSanctis"
_INNER_CAPITAL = re.compile(r"(?<=\b[A-Z][a-z])(?=[A-Z][a-z])|(?<=\b[A-Z][a-z]{2})(?=[A-Z][a-z])")


def normalise_word(text: str) -> str:
    """The norm of one token: lower case, accents and possessive dropped, Greek spelled out, American
    spelling, singular.

    Both sides of every comparison pass through this function, so a wrong singular of a singular
    word ("diabetes" -> "diabete") is harmless; what matters is that plural and singular meet.
    """
    if len(text) == 1 and text in DASHES:
        return "-"
    word = _POSSESSIVE.sub("", text) if len(text) > 2 else text
    word = word.lower()
    if not word.isascii():
        word = "".join(_GREEK.get(ch, ch) for ch in word)
        word = unicodedata.normalize("NFKD", word)
        word = "".join(ch for ch in word if not unicodedata.combining(ch))
    if not word.isalpha() or len(word) <= 3:
        return word
    return singular(american(word))


def singular(word: str) -> str:
    """A simple English singular, enough for "paragangliomas" and "anomalies"; -ss/-us/-is/-ys kept."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1)
def nlp() -> Language:
    """The blank English tokenizer with possessives kept on their word and :func:`normalise_word` as NORM."""
    import spacy
    from spacy.attrs import NORM

    pipeline = spacy.blank("en")
    suffixes = [s for s in pipeline.Defaults.suffixes if s.lower() not in {"'s", "’s"}]
    # Cut a final period after a letter ("Figure 2A.", "IgG."): the default rules keep it attached.
    suffixes.append(r"(?<=[A-Za-z])\.")
    pipeline.tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
    pipeline.vocab.lex_attr_getters[NORM] = normalise_word
    pipeline.max_length = 5_000_000
    return pipeline


def term_variants(term: str) -> list[str]:
    """``term`` and its spellings with hyphens as spaces and spaces as hyphens ("X-linked" / "X linked"),
    and with a capital inside a word split off ("McCune" / "Mc Cune", "LeFort" / "Le Fort")."""
    base = " ".join(term.split())
    if not base:
        return []
    out = [base, _DASH_RUN.sub(" ", base).strip(), _SPACE_BETWEEN_WORDS.sub("-", base)]
    split = _INNER_CAPITAL.sub(" ", base)
    if split != base:
        out += [split, _DASH_RUN.sub(" ", split).strip()]
    return list(dict.fromkeys(v for v in out if v))


def normalise_text(text: str) -> str:
    """Lower case, accents removed, British spellings made American (:func:`american`), anything
    but letters and digits as single spaces.

    Used by the post-condition's independent regex check, which must not share the tokenizer's blind
    spots.
    """
    if not text.isascii():  # ASCII has no Greek letters, decomposes to itself and has no accents
        text = unicodedata.normalize("NFKD", text.translate(_GREEK_TABLE))
        text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(american(word) for word in _NON_ALNUM.sub(" ", text.casefold()).split())
