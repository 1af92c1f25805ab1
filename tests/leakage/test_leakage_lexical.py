"""Lexical detectors on real case text: what each track finds, and where (no encoder needed)."""

from __future__ import annotations

import pickle
from dataclasses import replace

from mmrare.leakage import AnswerDescriptor, LeakageInput
from mmrare.leakage.detect import layout_of
from mmrare.leakage.lexical import (
    build_matchers,
    distinctive_ngrams,
    lexical_scores,
    literal_names,
    matcher_key,
)
from mmrare.leakage.textnorm import nlp, normalise_text

from .leakage_cases import AIE, AIE_SENTENCES, PGL, PGL_CAPTIONS, make_item


def hits(entry: LeakageInput) -> list[tuple[str, str, str | None]]:
    item = entry.item
    found = lexical_scores(
        item.item_id,
        item.track,
        item.context,
        layout_of(entry),
        build_matchers(entry.descriptor, item.track),
    )
    for score in found:
        assert item.context[score.start : score.end] == score.matched_text
        assert score.score == 1.0
    return [(s.detector, s.matched_text, s.sentence_id) for s in found]


def test_diagnosis_label_and_defined_abbreviation(aie_input: LeakageInput) -> None:
    found = hits(aie_input)
    intro, discussion = f"{AIE}:sec1:p0:s0", f"{AIE}:sec3:p0:s0"
    assert ("lexical.label", "autoimmune enteropathy", intro) in found  # case-insensitive
    assert ("lexical.abbreviation", "AIE", intro) in found
    assert ("lexical.abbreviation", "AIE", discussion) in found
    assert ("lexical.head_word", "enteropathy", intro) in found


def test_diagnosis_synonym_plural_abbreviation_gene_and_head_word(pgl_input: LeakageInput) -> None:
    found = hits(pgl_input)
    assert ("lexical.abbreviation", "CPGLs", f"{PGL}:sec3:p0:s0") in found  # plural of "CPGL"
    assert ("lexical.synonym", "carotid paraganglioma", f"{PGL}:sec3:p1:s4") in found
    assert ("lexical.head_word", "paragangliomas", f"{PGL}:sec3:p1:s2") in found
    genes = [h for h in found if h[0] == "lexical.gene"]
    assert [g[1] for g in genes] == ["SDHD", "SDHD"]  # the gene symbol, never SDHA/SDHB/SDHC
    assert {g[2] for g in genes} == {f"{PGL}:sec4:p0:s0", f"{PGL}:sec4:p0:s1"}


def test_names_match_through_possessives_hyphens_and_case() -> None:
    sid = f"{AIE}:sec2:p0:s0"
    item = make_item(
        "t", "diagnosis", AIE, AIE_SENTENCES[sid], [sid], ["Hashimoto thyroiditis", "B", "C", "D"]
    )
    descriptor = AnswerDescriptor(label="Hashimoto thyroiditis", xref_names=("Body-mass index",))
    found = hits(LeakageInput(item, descriptor, {sid: AIE_SENTENCES[sid]}))
    assert ("lexical.label", "Hashimoto’s thyroiditis", sid) in found  # curly possessive in the text
    assert ("lexical.xref", "body mass index", sid) in found  # hyphen in the term, spaces in the text


def test_abbreviations_are_case_sensitive() -> None:
    text = "The aie score was normal. AIE was suspected."
    item = make_item("t", "diagnosis", AIE, text, ["a", "b"], ["Autoimmune enteropathy", "B", "C", "D"])
    descriptor = AnswerDescriptor(label="Autoimmune enteropathy", abbreviations=("AIE",))
    found = hits(
        LeakageInput(item, descriptor, {"a": "The aie score was normal.", "b": "AIE was suspected."})
    )
    assert found == [("lexical.abbreviation", "AIE", "b")]


def test_examination_names_and_result_phrase(exam_input: LeakageInput) -> None:
    found = hits(exam_input)
    assert ("lexical.label", "Computed tomography", f"{PGL}:sec3:p0:s2") in found
    assert ("lexical.abbreviation", "CT", f"{PGL}:sec3:p0:s4") in found
    phrases = [h for h in found if h[0] == "lexical.result_phrase"]
    assert phrases == [("lexical.result_phrase", "CT study with contrast also revealed", f"{PGL}:sec3:p0:s4")]


def test_result_phrase_in_both_word_orders() -> None:
    text = "Cardiac MRI showed late enhancement. Myocarditis was revealed by cardiac MRI."
    ids = ["a", "b"]
    item = make_item("t", "examination", AIE, text, ids, ["Cardiac MRI", "Echocardiography", "ECG", "Holter"])
    descriptor = AnswerDescriptor(label="Cardiac magnetic resonance imaging", abbreviations=("MRI",))
    found = hits(LeakageInput(item, descriptor, {}))
    phrases = {h[1] for h in found if h[0] == "lexical.result_phrase"}
    assert phrases == {"MRI showed", "revealed by cardiac MRI"}


def test_treatment_name_and_brand(treatment_input: LeakageInput) -> None:
    found = hits(treatment_input)
    assert [(d, t) for d, t, _ in found] == [("lexical.label", "vedolizumab"), ("lexical.synonym", "Entyvio")]


def test_cross_image_figure_reference_and_caption_phrase(cross_input: LeakageInput) -> None:
    found = hits(cross_input)
    assert ("lexical.figure_ref", "Fig. 1", f"{PGL}:sec3:p0:s4") in found
    assert ("lexical.caption_ngram", "Hematoxylin-eosin", f"{PGL}:sec3:p1:s2") in found


def test_cross_image_panel_and_image_markers() -> None:
    text = "Panel B shows the nests. Image 3 shows the mass, see Figure 2A."
    item = make_item("t", "cross_image", PGL, text, ["a", "b"], ["Image 1", "Image 2", "Image 3", "Image 4"])
    found = hits(LeakageInput(item, AnswerDescriptor(label="Image 2", figures=PGL_CAPTIONS), {}))
    assert [(d, t) for d, t, _ in found] == [
        ("lexical.panel_ref", "Panel B"),
        ("lexical.image_marker", "Image 3"),
        ("lexical.figure_ref", "Figure 2A"),
    ]


def test_caption_ngrams_are_distinctive_per_figure() -> None:
    grams = distinctive_ngrams(AnswerDescriptor(label="Image 2", figures=PGL_CAPTIONS))
    assert "Computed tomography" in grams[f"{PGL}:Fig1"]
    assert "chief cells" in grams[f"{PGL}:Fig2"]
    assert all(not g.endswith(" of") for gs in grams.values() for g in gs)


def test_sentences_align_to_the_rendered_context(pgl_input: LeakageInput) -> None:
    layout = {s.sentence_id: s for s in layout_of(pgl_input)}
    assert list(layout) == list(pgl_input.item.context_sentence_ids)
    # citation "[5, 6]" removed and "(Fig. 1)" rewritten by the drafter: spans follow the rendered text
    assert layout[f"{PGL}:sec4:p0:s0"].text.endswith("encoded by the corresponding genes.")
    assert layout[f"{PGL}:sec3:p0:s4"].text.endswith("carotid bifurcations (Image 1).")
    for sentence in layout.values():
        assert pgl_input.item.context[sentence.start : sentence.end] == sentence.text


def test_regex_second_opinion_finds_names_spacy_cannot_split() -> None:
    descriptor = AnswerDescriptor(label="Autoimmune enteropathy", abbreviations=("AIE",))
    assert literal_names("Suspected autoimmune-enteropathy.", descriptor, "diagnosis") == [
        "Autoimmune enteropathy"
    ]
    assert literal_names("Adult AIEs are rare.", descriptor, "diagnosis") == ["AIE"]
    assert literal_names("[MASKED] is rare.", descriptor, "diagnosis") == []


def test_items_showing_the_same_figures_share_matchers(cross_input: LeakageInput) -> None:
    # which figure is the answer, and the answer's wording, change no cross-image matcher
    other = AnswerDescriptor(
        label="Image 1", figures=tuple(replace(f, is_answer=not f.is_answer) for f in PGL_CAPTIONS)
    )
    assert matcher_key(other, "cross_image") == matcher_key(cross_input.descriptor, "cross_image")
    fewer = AnswerDescriptor(label="Image 2", figures=PGL_CAPTIONS[1:])
    assert matcher_key(fewer, "cross_image") != matcher_key(cross_input.descriptor, "cross_image")
    # a definition is not matched lexically; a synonym is
    base = AnswerDescriptor(label="Autoimmune enteropathy", abbreviations=("AIE",))
    assert matcher_key(replace(base, definition="A rare disorder."), "diagnosis") == matcher_key(
        base, "diagnosis"
    )
    assert matcher_key(replace(base, synonyms=("AIE syndrome",)), "diagnosis") != matcher_key(
        base, "diagnosis"
    )


def test_hits_are_kept_per_text_and_equal_a_fresh_match(pgl_input: LeakageInput) -> None:
    matchers = build_matchers(pgl_input.descriptor, "diagnosis")
    text = pgl_input.item.context
    fresh = matchers.hits(nlp().make_doc(text))
    assert matchers.hits_in(text) == fresh
    assert matchers.hits_in(text) == fresh  # second call served from the memo, same hits
    masked = text.replace("SDHD", "[MASKED]")
    assert [h.text for h in matchers.hits_in(masked)].count("SDHD") == 0


def test_literal_names_and_normalised_text_on_non_ascii() -> None:
    assert normalise_text("Ménière’s TNF-α  disease") == "meniere s tnf alpha disease"
    assert normalise_text("Plain ASCII, text!") == "plain ascii text"
    descriptor = AnswerDescriptor(label="Ménière disease", gene_symbols=("TNF",), gene_names=("TNF alpha",))
    assert literal_names("A case of meniere diseases; TNF-α high.", descriptor, "diagnosis") == [
        "Ménière disease",
        "TNF alpha",
        "TNF",
    ]
    assert literal_names("A case of meniere diseases; TNF-α high.", descriptor, "treatment") == [
        "Ménière disease"
    ]


def test_descriptor_digest_is_cached_but_follows_the_content() -> None:
    descriptor = AnswerDescriptor(label="Autoimmune enteropathy", abbreviations=("AIE",))
    first = descriptor.sha256
    assert descriptor.sha256 == first == AnswerDescriptor.from_dict(descriptor.as_dict()).sha256
    assert replace(descriptor, synonyms=("AIE syndrome",)).sha256 != first
    assert pickle.loads(pickle.dumps(descriptor)) == descriptor


def test_term_docs_are_the_usable_spellings_of_a_term() -> None:
    from mmrare.leakage.lexical import _term_docs
    from mmrare.leakage.textnorm import term_variants

    assert [d.text for d in _term_docs("X-linked adrenoleukodystrophy", False)] == term_variants(
        "X-linked adrenoleukodystrophy"
    )
    assert [d.text for d in _term_docs("AIE", True)][:3] == ["AIE", "AIEs", "AIE's"]
    assert _term_docs("--", False) == ()  # punctuation only: nothing to match


def test_cross_image_items_share_one_matcher_of_figure_references() -> None:
    first = build_matchers(AnswerDescriptor(label="Image 1", figures=PGL_CAPTIONS), "cross_image")
    second = build_matchers(AnswerDescriptor(label="Image 2", figures=PGL_CAPTIONS[:1]), "cross_image")
    assert first.references is second.references is not None and first.patterns is None
    doc = nlp().make_doc("As shown in Fig. 2 and panel B, see Image 1.")
    found = {(h.detector, h.text, tuple(h.detail.items())) for h in second.hits(doc)}
    assert found == {
        ("lexical.figure_ref", "Fig. 2", (("form", "figure_number"),)),
        ("lexical.panel_ref", "panel B", (("form", "panel"),)),
        ("lexical.image_marker", "Image 1", (("form", "image_number"),)),
    }


def test_names_are_found_as_the_regular_expression_found_them() -> None:
    import re

    from mmrare.leakage.lexical import _has_words

    texts = [*AIE_SENTENCES.values(), "AIEs and autoimmune enteropathies", "enteropathyes x", "", "ab-c abc"]
    names = ["Autoimmune enteropathy", "enteropathy", "AIE", "ab c", "abc", "a", "es", "the"]
    for text in texts:
        normalised = f" {normalise_text(text)} "
        for name in names:
            norm = normalise_text(name)
            expression = re.compile(r"(?<![0-9a-z])" + re.escape(norm) + r"(?:s|es)?(?![0-9a-z])")
            assert _has_words(normalised, norm) == bool(expression.search(normalised)), (text, name)


def test_result_phrases_are_looked_for_only_in_docs_naming_the_investigation() -> None:
    from .leakage_cases import build_exam_input

    entry = build_exam_input()
    matchers = build_matchers(entry.descriptor, "examination")
    always = replace(matchers, pattern_norms=frozenset())  # runs the pattern matcher on every doc
    assert matchers.pattern_norms
    texts = [entry.item.context, "The tomography showed a mass.", "Revealed by CT, a mass.", "A mass."]
    for text in texts:
        doc = nlp().make_doc(text)
        assert matchers.hits(doc) == always.hits(doc)
    assert any(h.detector == "lexical.result_phrase" for h in matchers.hits(nlp().make_doc(texts[1])))
