"""The drafter's fast matching paths give exactly what the plain regexes give.

Each fast path (word-prefix tables, one alternation per vocabulary entry, per-word cue counts, the
``str.find`` term search, the ASCII shortcut of ``normalise``) is compared with the straightforward
regex code it replaces, on the sample cases and on texts built to trip them: Unicode letters that
``re.IGNORECASE`` equates with ASCII ones, word boundaries at hyphens, slashes and brackets,
overlapping patterns and phrases split across lines.
"""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.text import Term, normalise, term_pattern
from mmrare.annotations.drafting.vocab import (
    VocabEntry,
    Vocabulary,
    context_weights,
    examinations,
    system_weights,
    systems,
    treatments,
)
from mmrare.annotations.drafting.wordstart import CueCounter, PrefixTable, either, word_anchors
from mmrare.items import CaseInput

TRICKY = [
    "",
    "CT",
    "ct of the neck",
    "A CT-guided biopsy; PET/CT and PET-CT; FDG PET; non-CT imaging; -CT; /CT; CTA; CT angiography.",
    "Computed tomography (CT) and ultrasound (US) study revealed tumors at the carotid bifurcation.",
    "Let us consider the case; US showed a mass (US) and an endoscopic ultrasound was done.",
    "MR angiography and CT angiography, then angiography alone; DSA.",
    "Colonoscopy, ileocolonoscopy and sigmoidoscopy; the tumor was completely removed, surgically removed.",
    "ſurgery, ſplenectomy and Kidney biopsy (Kelvin sign K) with ımmunohistochemistry and İHC.",
    "SURGERY was performed; Prednisone, PREDNISOLONE; 6-MP and 6MP; 5-ASA; 177Lu-DOTATATE; 131I-MIBG.",
    "TNF‐α inhibitors; anti-TNF; TNF alpha blocker; TNFα antagonist; dexamethasone suppression test.",
    "amino acids in plasma; plasma amino acid profile; organic acid; serum amino acid levels",
    "brain\tMRI, head  MRI, cranial\nMR imaging, magnetic resonance imaging of the head.",
    "Weight loss, weight  loss, weight\nloss, WEIGHT LOSS, weightloss, bone marrow, bonemarrow, ear, earl.",
    "Anemia/anaemia; neuro-logical; hyper-tension; hypertension; ſeizure; ſeizures; café-au-lait; naïve.",
    "The patient’s EEG, EMG and ECG/EKG were normal; H&E staining; CEA, AFP, CA 19-9, CA-125 markers.",
    "x" * 50 + " biopsy " + "é" * 10 + "biopsy_biopsy biopsy2 2biopsy",
]


def _reference_scan(vocab: Vocabulary, text: str) -> tuple[tuple[tuple[int, int, int], ...], frozenset[str]]:
    """What ``Vocabulary._scan`` computed before it had shortcuts: every pattern of every entry."""
    first, mentioned = [], set()
    for i, entry in enumerate(vocab.entries):
        match = None
        if entry.requires is None or entry.requires.search(text):
            matches = [m for p in entry.patterns if (m := p.search(text))]
            match = min(matches, key=lambda m: m.start()) if matches else None
        if match:
            first.append((i, match.start(), match.end()))
            mentioned.add(entry.id)
        elif entry.generic and any(p.search(text) for p in entry.patterns):
            mentioned.add(entry.id)
    return tuple(first), frozenset(mentioned)


def _shuffled_texts(seed: int, n: int) -> list[str]:
    """Random texts mixing the vocabulary's own words with punctuation, case changes and Unicode."""
    rng = random.Random(seed)
    words = [*" ".join(TRICKY).split(), "of", "the", "and", "(", ")", "-", "/", ",", "ſ", "K", "İ", "ı"]
    out = []
    for _ in range(n):
        picked = [rng.choice(words) for _ in range(rng.randint(1, 14))]
        picked = [w.upper() if rng.random() < 0.1 else w for w in picked]
        out.append(rng.choice([" ", "", "-", "  "]).join(picked))
    return out


def _case_texts(samples: dict[str, CaseInput]) -> list[str]:
    texts = [s.text for case in samples.values() for s in case.sentences]
    texts += [f.caption_text or "" for case in samples.values() for f in case.figures]
    return texts


@pytest.mark.parametrize("vocab", [examinations(), treatments()], ids=["examinations", "treatments"])
def test_scan_matches_every_pattern_tried(vocab: Vocabulary, samples: dict[str, CaseInput]) -> None:
    texts = TRICKY + _shuffled_texts(7, 400) + _case_texts(samples)
    fresh = Vocabulary(vocab.name, vocab.version, vocab.categories, vocab.entries)  # an empty memo
    for text in texts:
        assert fresh._scan(text) == _reference_scan(vocab, text), text


@pytest.mark.parametrize(
    ("pattern", "anchors"),
    [
        (r"(?<![-/])\b(?-i:CT)\b", {"ct"}),
        (r"(?<!CT )(?<!MR )\bangiograph", {"angiograph"}),
        (r"\b(?:brain|cranial|head)\s+(?:MRI|MR\b)", {"brain", "cranial", "head"}),
        (r"\b(?:ileo)?colonoscop", {"ileo", "colonoscop"}),
        (r"\b(?:completely |surgically )?removed\b", {"completely", "surgically", "removed"}),
        (r"\bamino acids?\b.*\b(?:plasma|serum)|\bplasma amino acid", {"amino", "plasma"}),
        (r"\((?-i:US)\)", {"us"}),
        (r"\btumou?r markers?", {"tumo"}),
        (r"\b6-?MP\b", {"6"}),
        (r"\b(?-i:CEA|AFP|CA 19-9)\b", {"cea", "afp", "ca"}),
    ],
)
def test_word_anchors_read_the_literal_word_start(pattern: str, anchors: set[str]) -> None:
    assert word_anchors(pattern) == anchors


@pytest.mark.parametrize(
    "pattern",
    [
        r"colonoscop",  # no word boundary: may start inside a word
        r"\Bscop",
        r"\b\w+ectomy",
        r"\bX?ray",  # the only literal is optional
        r"\b(?:a|)b",  # an empty alternative
        r"\b(?:ab){0,2}c",
        r"\bfoo|bar",  # one branch is unbounded
        r"(?x)\b foo",  # verbose: the source does not read literally
        r"\b(?=foo)",
        r"\b(",
    ],
)
def test_word_anchors_give_up_when_unsure(pattern: str) -> None:
    assert word_anchors(pattern) is None


def test_prefix_table_keeps_every_item_that_can_match() -> None:
    patterns = [r"\bcolonoscop", r"\b(?-i:CT)\b", r"colon", r"\bſpleen", r"\bkelvin"]
    table = PrefixTable([word_anchors(p) for p in patterns])
    assert table.always == [2, 3]  # unbounded, and a non-ASCII literal
    for text in [*TRICKY, *_shuffled_texts(11, 300), "Kelvin", "KELVIN", "ſplenic", "colonoscopy"]:
        hits = [i for i, p in enumerate(patterns) if re.search(p, text, re.IGNORECASE)]
        assert set(hits) <= set(table.candidates(text)), text


@pytest.mark.parametrize(
    "patterns",
    [
        ["b", "ab", "a"],  # the leftmost start wins, whatever the pattern order
        ["ab", "a"],  # a tie at the same start goes to the first pattern, with its own end
        ["a", "ab"],
        [r"\bamino acids?\b.*\b(?:plasma|serum)|\bplasma amino acid", r"\borganic acids?"],
        [r"(?<![-/])\b(?-i:CT)\b", r"\bcomputed tomograph"],
        [r"(?<!endoscopic )\bultraso(?:und|nograph)", r"\b(?-i:US)\b(?= (?:study|scan))", r"\((?-i:US)\)"],
    ],
)
def test_one_alternation_finds_the_earliest_of_the_patterns(patterns: list[str]) -> None:
    joined = either(patterns, re.IGNORECASE)
    assert joined is not None
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    for text in [*TRICKY, *_shuffled_texts(3, 300), "xab", "ab", "a b", "b a"]:
        matches = [m for p in compiled if (m := p.search(text))]
        expected = min(matches, key=lambda m: m.start()).span() if matches else None
        found = joined.search(text)
        assert (found.span() if found else None) == expected, text


def test_alternation_refused_where_joining_changes_meaning() -> None:
    assert either([r"(a)\1", "b"], 0) is None
    assert either([r"(?P<x>a)", "b"], 0) is None
    assert either([r"(?i)a", "b"], 0) is None


def test_entries_without_an_alternation_still_search_pattern_by_pattern() -> None:
    entry = examinations().by_id("ct_chest")
    plain = VocabEntry(
        entry.id, entry.name, entry.category, entry.systems, entry.patterns, entry.requires,
        entry.family, entry.generic, entry.order,
    )
    for text in TRICKY:
        a, b = plain.first_match(text), entry.first_match(text)
        assert (a.span() if a else None) == (b.span() if b else None)
        assert plain.mentioned_in(text) == entry.mentioned_in(text)


def _reference_weights(text: str) -> dict[str, int]:
    weights = {name: sum(len(c.findall(text)) for c in cues) for name, cues in systems().items()}
    return {name: w for name, w in weights.items() if w}


def test_system_weights_equal_findall_counts(samples: dict[str, CaseInput]) -> None:
    texts = TRICKY + _shuffled_texts(5, 300) + _case_texts(samples)
    texts.append(" ".join(_case_texts(samples)))  # a long context
    for text in texts:
        assert system_weights(text) == _reference_weights(text), text


def test_context_weights_equal_those_of_the_joined_context(samples: dict[str, CaseInput]) -> None:
    sentences = _case_texts(samples)
    runs = [sentences[:k] for k in range(0, len(sentences), 7)]
    runs += [["He lost weight", "loss of appetite. Night", "sweats and fever"], [""], ["", "fever"], TRICKY]
    runs += [_shuffled_texts(k, 12) for k in range(4)]
    for texts in runs:
        assert context_weights(texts) == _reference_weights(" ".join(texts)), texts
    counter = CueCounter({"a": ["ear", "x.y", "weight loss"], "b": ["loss weight", "ſeizure"]})
    for texts in [["weight", "loss"], ["x", "y"], ["x.", "y ear"], ["loss", "weight loss"], ["ſ", "eizure"]]:
        assert counter.count_joined(texts) == counter.count(" ".join(texts)), texts


def test_cue_counter_falls_back_to_the_regex_for_other_cues() -> None:
    groups = {
        "a": ["ear", "ear", "colitis?", "x.y", "weight loss", "bone marrow"],
        "b": ["ear", "loss weight", "ſeizure", "Upper"],
        "c": ["never"],
    }
    counter = CueCounter(groups)
    for text in [*TRICKY, *_shuffled_texts(9, 300), "x-y xzy colitis colits", "loss weight loss weight"]:
        expected = {
            g: n
            for g, cues in groups.items()
            if (n := sum(len(re.findall(r"\b" + c, text, re.IGNORECASE)) for c in cues))
        }
        assert counter.count(text) == expected, text


def _term_regex(norm: str) -> re.Pattern[str]:
    return re.compile(r"(?<![0-9a-z])" + re.escape(norm) + r"(?:s|es)?(?![0-9a-z])")


@pytest.mark.parametrize("term", ["paraganglioma", "a", "es", "s", "node", "lymph node", "aie", "x1"])
def test_term_search_equals_its_regex(term: str) -> None:
    found = term_pattern(term)
    assert isinstance(found, Term)
    rng = random.Random(term)
    pieces = [term, term + "s", term + "es", term + "ess", "s", "es", " ", "-", "1", "a", "é", "\n"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(500)]
    texts += [normalise(t) for t in TRICKY]
    for text in texts:
        assert found.search(text) == bool(_term_regex(found.norm).search(text)), text
    assert term_pattern(" ,; ") is None


def _reference_normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def test_normalise_equals_the_character_by_character_version() -> None:
    texts = [*TRICKY, "Café-au-lait", "Ångström", "ﬁbrosis", "Straße", "résumé", "ǅ", "x\u0301y", "Ⅻ"]
    for text in texts + _shuffled_texts(13, 200):
        assert normalise(text) == _reference_normalise(text), text


def test_rendering_is_the_same_from_a_used_view(samples: dict[str, CaseInput]) -> None:
    """Sentences are memoised per view with the markers of the figures they cite: rendering with
    other images first must not change what a context looks like."""
    for case in samples.values():
        used = CaseView(case)
        images = used.images()
        variants = [(images, False), (images[:1], False), ((), False), (images, True), (images[1:], False)]
        for shown, strip in variants + variants[::-1]:
            fresh = CaseView(case)
            context = fresh.case_sentences
            expected = fresh.render(context, shown, strip_refs=strip)
            assert used.render(context, shown, strip_refs=strip) == expected
