"""Examinations and treatments, read as data from the drafter's vocabularies (``annotations/vocab``).

Writing investigations and treatments with the vocabulary's own names means the rule drafter will
recognise them, so the ground truth can be compared with its drafts. The TOML files are read with
``tomllib`` — the annotations stage is not imported (a tool never depends on a stage's code).

An entry is used only when its surface phrase, alone in a sentence, is matched first by that entry
under the drafter's rules (patterns + ``requires``, generic entries yield to specific ones of their
family, earliest match wins, file order breaks ties). :func:`first_match` repeats those rules so a
generated sentence can be checked before it is written; a test compares it with the drafter.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

VOCABULARIES = ("examinations", "treatments")
# Body systems named in a phenotype (first match wins for each keyword; several may apply).
SYSTEM_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (system, re.compile(pattern, re.IGNORECASE))
    for system, pattern in (
        (
            "neuro",
            r"seiz|epilep|cerebr|brain|ataxi|intellectual|developmental|neuro|encephal|spastic|dystoni"
            r"|hypoton|microceph|macroceph|hydroceph|white matter|cortical|palsy",
        ),
        ("neuromuscular", r"muscle|myopath|myotoni|weakness|atroph|areflex|fasciculat|neuropath"),
        ("cardio", r"cardi|heart|aort|valv|arrhythm|ventric|atrial|vascular|aneurysm|hypertens"),
        ("pulm", r"lung|pulmon|respirat|bronch|pneum|dyspn|apnea|cough"),
        ("gi", r"intestin|bowel|diarrh|gastr|colon|esophag|oesophag|duoden|vomit|constipat|abdominal"),
        ("hepatic", r"hepat|liver|cholest|jaundice|biliar"),
        ("renal", r"renal|kidney|nephr|proteinuri|hematuri|urinary"),
        (
            "endocrine",
            r"thyroid|adrenal|pituit|growth hormone|diabet|hypoglyc|insulin|gonad|puberty|short stature",
        ),
        ("heme", r"anemi|anaemi|thrombocyt|neutrop|leuk|lymph|splen|bleed|hemorrh|pancytop|coagul"),
        ("immune", r"immun|infection|autoimmun|inflamm|arthrit|vasculit|fever"),
        ("skin", r"skin|derm|cutaneous|hair|nail|alopec|pigment|rash|ichthyo|erythem|nevus|naevus|papul"),
        ("msk", r"bone|skelet|limb|joint|scolio|kyphos|finger|toe|digit|vertebr|fractur|osteo|contractur"),
        ("eye", r"eye|retin|vision|visual|cornea|ocular|optic|cataract|glaucom|nystagm|strabism|myopi|iris"),
        ("head_neck", r"hearing|deaf|\bear\b|ears|palate|cleft|dental|teeth|tooth|jaw|facial|neck|laryn"),
        ("oncology", r"tumou?r|neoplas|cancer|carcinom|sarcom|lymphom|malignan|mass\b"),
        ("genetic", r"syndrom|congenital|dysmorph"),
    )
)


@dataclass(frozen=True, slots=True)
class Term:
    """One usable vocabulary entry and the words the generator writes for it."""

    vocab: str  # "examinations" | "treatments"
    id: str
    name: str
    category: str
    systems: tuple[str, ...]
    phrase: str
    generic: bool


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    requires: re.Pattern[str] | None
    family: str | None
    generic: bool
    order: int


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A vocabulary's version, its usable terms, and the matching rules of all its entries."""

    name: str
    version: int
    terms: tuple[Term, ...]
    rules: tuple[_Rule, ...]

    def term(self, term_id: str) -> Term:
        for term in self.terms:
            if term.id == term_id:
                return term
        raise KeyError(f"{self.name}: no usable entry {term_id!r}")

    def first_match(self, sentence: str) -> str | None:
        """The entry id the drafter would take first from ``sentence`` (see the module docstring)."""
        found: list[tuple[int, int, _Rule]] = []
        for rule in self.rules:
            if rule.requires is not None and not rule.requires.search(sentence):
                continue
            starts = [m.start() for p in rule.patterns if (m := p.search(sentence))]
            if starts:
                found.append((min(starts), rule.order, rule))
        specific = {r.family for _, _, r in found if r.family and not r.generic}
        kept = [f for f in found if not (f[2].generic and f[2].family in specific)]
        return min(kept, key=lambda f: f[:2])[2].id if kept else None


@functools.cache
def vocabulary(name: str) -> Vocabulary:
    """A vocabulary from the installed package data (cached per process)."""
    if name not in VOCABULARIES:
        raise KeyError(f"unknown vocabulary {name!r}; expected one of {VOCABULARIES}")
    path = resources.files("mmrare").joinpath("annotations", "vocab", f"{name}.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = data.get("entry", [])
    rules = tuple(
        _Rule(
            id=e["id"],
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in e["patterns"]),
            requires=re.compile(e["requires"], re.IGNORECASE) if e.get("requires") else None,
            family=e.get("family"),
            generic=bool(e.get("generic", False)),
            order=order,
        )
        for order, e in enumerate(entries)
    )
    vocab = Vocabulary(name, int(data.get("version", 0)), (), rules)
    terms = []
    for e in entries:
        phrase = surface_phrase(e["name"])
        if vocab.first_match(f"The {phrase} was recorded.") == e["id"]:
            terms.append(
                Term(
                    name,
                    e["id"],
                    e["name"],
                    e["category"],
                    tuple(e.get("systems", ())),
                    phrase,
                    bool(e.get("generic", False)),
                )
            )
    return Vocabulary(name, vocab.version, tuple(terms), rules)


def surface_phrase(name: str) -> str:
    """The name as running text: "Brain MRI" -> "brain MRI"; acronyms ("CT of the head") stay."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def systems_of(texts: list[str]) -> list[str]:
    """Body systems named by phenotype names, in order of first appearance."""
    found: list[str] = []
    for text in texts:
        for system, pattern in SYSTEM_KEYWORDS:
            if system not in found and pattern.search(text):
                found.append(system)
    return found
