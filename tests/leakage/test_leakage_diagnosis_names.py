"""Diagnosis-track masking of every name that gives the answer away: ORDO relatives, standard short
names, short forms the text defines, British spellings (lexical detectors, no encoder)."""

from __future__ import annotations

from mmrare.leakage import AnswerDescriptor, LeakageInput
from mmrare.leakage.detect import layout_of
from mmrare.leakage.lexical import build_matchers, lexical_scores, literal_names, matcher_key
from mmrare.leakage.masking import postcondition_hits
from mmrare.leakage.textnorm import normalise_text

from .leakage_cases import AIE, make_item

OPTIONS = ["Prader-Willi syndrome due to paternal 15q11q13 deletion", "B", "C", "D"]
DELETION = AnswerDescriptor(
    label="Prader-Willi syndrome due to paternal 15q11q13 deletion",
    related_names=("Prader-Willi syndrome",),
    short_names=("PWS",),
    code="ORPHA:177910",
)


def found(text: str, descriptor: AnswerDescriptor) -> list[tuple[str, str]]:
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    ids = [f"s{n}" for n in range(len(sentences))]
    context = " ".join(sentences)
    item = make_item("t", "diagnosis", AIE, context, ids, OPTIONS)
    entry = LeakageInput(item, descriptor, dict(zip(ids, sentences, strict=True)))
    matchers = build_matchers(descriptor, "diagnosis")
    scores = lexical_scores(item.item_id, "diagnosis", context, layout_of(entry), matchers)
    return [(s.detector, s.matched_text) for s in scores]


def test_the_group_name_of_a_subtype_is_masked() -> None:
    hits = found("Her facial appearance was typical of Prader-Willi syndrome.", DELETION)
    assert ("lexical.related", "Prader-Willi syndrome") in hits


def test_standard_short_names_are_case_sensitive_whole_words() -> None:
    hits = found("PWS was considered. She was seen by pws staff. The SPWS score was low.", DELETION)
    assert [h for h in hits if h[0] == "lexical.short_name"] == [("lexical.short_name", "PWS")]


def test_a_short_form_defined_after_a_name_is_masked_everywhere() -> None:
    descriptor = AnswerDescriptor(label="Niemann-Pick disease type C")
    text = "Niemann-Pick disease type C (NPC) (OMIM 257220) is rare. NPC causes ataxia. NPCs vary."
    hits = found(text, descriptor)
    shorts = [h[1] for h in hits if h[0] == "lexical.defined_short"]
    assert shorts == ["NPC", "NPC", "NPCs"]
    assert not any(h[1] == "OMIM" for h in hits)  # no word of the name starts with "O"


def test_british_spellings_meet_the_american_label() -> None:
    descriptor = AnswerDescriptor(label="Juvenile myelomonocytic leukemia")
    hits = found("He had juvenile myelomonocytic leukaemia.", descriptor)
    assert ("lexical.label", "juvenile myelomonocytic leukaemia") in hits
    assert normalise_text("Haemolytic tumours") == "hemolytic tumors"
    assert literal_names("A tumour.", AnswerDescriptor(label="Tumor"), "diagnosis") == ["Tumor"]


def test_the_post_condition_checks_relatives_and_short_names() -> None:
    leaks = postcondition_hits("Typical of Prader-Willi syndrome; PWS.", DELETION, "diagnosis")
    assert {h["text"] for h in leaks} >= {"Prader-Willi syndrome", "PWS"}
    assert postcondition_hits("Typical of [MASKED]; [MASKED].", DELETION, "diagnosis") == []


def test_descriptors_with_relatives_round_trip_and_key_their_matchers() -> None:
    assert AnswerDescriptor.from_dict(DELETION.as_dict()) == DELETION
    plain = AnswerDescriptor(label=DELETION.label, code=DELETION.code)
    assert "related_names" not in plain.as_dict()  # descriptors without them keep their stored form
    assert matcher_key(plain, "diagnosis") != matcher_key(DELETION, "diagnosis")
    assert matcher_key(plain, "treatment") == matcher_key(DELETION, "treatment")


def test_an_acronym_spelled_out_after_it_is_masked_where_the_words_recur() -> None:
    descriptor = AnswerDescriptor(label="Mitochondrial disease", short_names=("MELAS",))
    text = (
        "MELAS (myopathy, encephalopathy, lactic acidosis and stroke) was named. "
        "Myopathy, encephalopathy, lactic acidosis and stroke recur."
    )
    hits = found(text, descriptor)
    spelled = [h[1] for h in hits if h[0] == "lexical.defined_short"]
    assert spelled[:2] == [
        "myopathy, encephalopathy, lactic acidosis and stroke",
        "Myopathy, encephalopathy, lactic acidosis and stroke",
    ]
    # the repeated words spell the acronym as a list too: found once more, from the same start
    assert all(s.startswith(("myopathy", "Myopathy")) for s in spelled)


def test_an_eponym_written_apart_is_still_the_name() -> None:
    hits = found("She had Mc Cune-Albright syndrome.", AnswerDescriptor(label="McCune-Albright syndrome"))
    assert ("lexical.label", "Mc Cune-Albright syndrome") in hits


def test_a_long_name_with_one_inner_word_left_out_is_still_the_name() -> None:
    descriptor = AnswerDescriptor(label="Progressive familial intrahepatic cholestasis")
    hits = found("She had progressive intrahepatic cholestasis (PIC). PIC was mild.", descriptor)
    assert ("lexical.near_name", "progressive intrahepatic cholestasis") in hits
    assert [h[1] for h in hits if h[0] == "lexical.defined_short"] == ["PIC", "PIC"]


def test_a_list_spelling_out_an_acronym_of_the_answer_is_masked() -> None:
    descriptor = AnswerDescriptor(label="CHARGE syndrome", synonyms=("CHARGE",))
    text = (
        "The picture combined coloboma, heart defects, atresia choanae, retarded growth, genital "
        "anomalies and ear anomalies. She had fever, rash and cough."
    )
    hits = found(text, descriptor)
    spelled = [h[1] for h in hits if h[0] == "lexical.defined_short"]
    assert spelled == [
        "coloboma, heart defects, atresia choanae, retarded growth, genital anomalies and ear anomalies"
    ]
