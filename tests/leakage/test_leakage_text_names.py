"""Names of the diagnosis that only the text gives (mmrare.leakage.textnames): long forms it defines
in the answer's own words, aliases after a cue, synonym lists, acronyms glued to the next word."""

from __future__ import annotations

from mmrare.leakage import AnswerDescriptor
from mmrare.leakage.lexical import build_matchers, literal_names
from mmrare.leakage.textnames import answer_word_sets, names_the_answer

HMSN = AnswerDescriptor(
    label="Charcot-Marie-Tooth disease", synonyms=("Hereditary motor and sensory neuropathy",)
)


def found(text: str, descriptor: AnswerDescriptor) -> list[tuple[str, str]]:
    """(detector, text) of the diagnosis-track hits in ``text``, in text order (line breaks kept)."""
    return [(h.detector, h.text) for h in build_matchers(descriptor, "diagnosis").hits_in(text)]


def text_names(descriptor: AnswerDescriptor | str, *parts: str) -> list[str]:
    """The ``lexical.text_name`` hits in the text ``parts`` make; a plain string is the answer's label."""
    if isinstance(descriptor, str):
        descriptor = AnswerDescriptor(label=descriptor)
    return [t for d, t in found("".join(parts), descriptor) if d == "lexical.text_name"]


def test_a_long_form_in_the_answers_words_is_a_name_and_so_is_its_short_form() -> None:
    names = text_names(
        "Multiple familial trichoepithelioma",
        "She had hereditary multiple trichoepitheliomas (HMT) of the face. ",
        "HMT was treated by laser. Her son also has HMTs.",
    )
    assert "hereditary multiple trichoepitheliomas" in names
    assert names.count("HMT") == 2 and "HMTs" in names


def test_a_symptom_sharing_the_head_word_is_not_taken_for_the_name() -> None:
    names = text_names(
        HMSN,
        "He had peripheral neuropathy (PN) and sensory neuropathy (SN) of the feet. PN and SN worsened. ",
        "Hereditary sensory and motor neuropathy (HSMN) was diagnosed.",
    )
    assert "PN" not in names and "SN" not in names
    assert {"HSMN", "Hereditary sensory and motor neuropathy"} <= set(names)


def test_what_decides_a_long_form() -> None:
    answers = answer_word_sets(["Multiple familial trichoepithelioma"])
    assert names_the_answer("hereditary multiple trichoepitheliomas", answers)
    assert not names_the_answer("multiple trichoepitheliomas", answers)  # a word left out, no marker
    assert not names_the_answer("multiple facial papules", answers)  # a word of its own
    assert not names_the_answer("hereditary disease", answers)  # markers only


def test_an_alias_after_a_cue_is_masked_there_and_where_it_recurs() -> None:
    names = text_names(
        "Erdheim-Chester disease",
        "Erdheim-Chester disease, formerly called lipoid granulomatosis, is a rare histiocytosis. ",
        "Lipoid granulomatosis was first described in 1930.",
    )
    assert names.count("lipoid granulomatosis") == 1 and "Lipoid granulomatosis" in names
    assert not any("histiocytosis" in n for n in names)


def test_this_condition_after_a_sentence_naming_the_answer_introduces_aliases() -> None:
    names = text_names(
        "Takayasu arteritis",
        "Takayasu arteritis is a large-vessel vasculitis. This disease has also been called ",
        "‘pulseless disease’ and ‘aortic arch syndrome’. Her pulses were weak.",
    )
    assert any("pulseless disease" in n and "aortic arch syndrome" in n for n in names)


def test_an_alias_cue_in_a_sentence_about_something_else_is_left_alone() -> None:
    text = "Her mother had benign tremor, also known as essential tremor. Takayasu arteritis was found."
    assert text_names("Takayasu arteritis", text) == []


def test_every_item_of_a_synonyms_list_that_names_the_answer_is_masked() -> None:
    descriptor = AnswerDescriptor(
        label="Hereditary hemorrhagic telangiectasia", synonyms=("Osler-Weber-Rendu disease",)
    )
    names = text_names(
        descriptor,
        "Introduction\n\nEpistaxis is common.\n\nSynonyms\n\n  • Osler-Weber-Rendu disease.\n\n",
        "  • Rendu-Osler syndrome.\n\n  • Hereditary hemorr",
    )
    assert names == ["Osler-Weber-Rendu disease", "Rendu-Osler syndrome", "Hereditary hemorr"]
    other = "Synonyms\n\n  • Nosebleed.\n  • Epistaxis.\n\nOsler-Weber-Rendu disease was confirmed."
    assert text_names(descriptor, other) == []


def test_an_acronym_glued_to_the_next_word_is_still_the_acronym() -> None:
    descriptor = AnswerDescriptor(label="Tuberous sclerosis complex", short_names=("TSC", "Bourneville"))
    text = "TSCis an autosomal dominant disorder. TSC1 is a gene. TSCa and TSCs. Bournevilleis rare."
    hits = [t for d, t in found(text, descriptor) if d == "lexical.short_name"]
    assert hits == ["TSC", "TSCs"]
    assert literal_names("Her TSCand epilepsy.", descriptor, "diagnosis") == ["TSC"]
    assert literal_names("TSC1 and TSC2.", descriptor, "diagnosis") == []


def test_only_the_diagnosis_track_looks_for_names_the_text_gives() -> None:
    assert build_matchers(HMSN, "diagnosis").answer_words
    assert not build_matchers(HMSN, "treatment").answer_words


def test_a_short_form_with_a_type_number_defined_after_the_name_in_other_order() -> None:
    names = text_names(
        "Spinocerebellar ataxia type 3",
        "OVERVIEW: Type 3 spinocerebellar ataxia (SCA3) is dominant. SCA3is common in Portugal.",
    )
    assert names == ["spinocerebellar ataxia", "SCA3", "SCA3"]
