"""Examination, treatment and cross-image drafting on tiny synthetic cases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmrare.annotations.drafting import draft_case
from mmrare.annotations.drafting.treatment import treatment_mention
from mmrare.annotations.drafting.vocab import examinations, treatments
from mmrare.items import CaseInput, DiagnosisInput, DistractorNote, DistractorPool, PoolEntry
from mmrare.records import Sentence

TSC = DiagnosisInput("ORPHA:805", "Tuberous sclerosis complex", ("Bourneville disease",))


def _seizure_case(make_case: Callable[..., CaseInput]) -> CaseInput:
    return make_case(
        [
            (
                "case_presentation",
                [
                    [
                        "A 3-year-old girl presented with seizures and hypopigmented macules (Figure 1).",
                        "Developmental milestones were delayed.",
                        "An MRI of the spine was planned.",
                        "Brain MRI revealed cortical tubers (Figure 2).",
                        "EEG showed focal epileptiform discharges.",
                        "She was diagnosed with tuberous sclerosis complex.",
                        "She was started on vigabatrin.",
                        "Seizures persisted, and she later received everolimus.",
                    ]
                ],
            )
        ],
        figures=["Skin macules.", "Axial FLAIR MRI showing cortical tubers."],
        diagnosis=TSC,
    )


def test_examination_cut_before_first_mention(make_case: Callable[..., CaseInput]) -> None:
    case = _seizure_case(make_case)
    result = draft_case(case, tracks=["examination"])
    assert [i.answer for i in result.items] == ["Brain MRI", "EEG"]
    mri, eeg = result.items
    # spine MRI is named but has no reported result: not a key investigation, and never a distractor
    assert mri.context_sentence_ids == ("PMC1:sec0:p0:s0", "PMC1:sec0:p0:s1", "PMC1:sec0:p0:s2")
    assert [i.figure_id for i in mri.images] == ["PMC1:F1"]  # the MRI figure would give the answer away
    assert [i.figure_id for i in eeg.images] == ["PMC1:F1", "PMC1:F2"]
    assert mri.answer_category == "imaging" and eeg.answer_category == "functional"
    assert mri.evidence_sentence_ids == ("PMC1:sec0:p0:s3",) and mri.evidence_figure_ids == ("PMC1:F2",)
    categories = {e.name: e.category for e in examinations().entries}
    for item in result.items:
        others = [o for o in item.options if o != item.answer]
        assert all(categories[o] != item.answer_category for o in others)  # other categories only
        assert not {"Spine MRI", "MRI", "EEG", "Brain MRI"} & set(others)  # nothing the article names
    assert "Electroencephalo" not in mri.context and "EEG" not in mri.context


def test_examination_distractors_fit_the_presentation(make_case: Callable[..., CaseInput]) -> None:
    mri = draft_case(_seizure_case(make_case), tracks=["examination"]).items[0]
    systems = {e.name: set(e.systems) for e in examinations().entries}
    neuro = [o for o in mri.options if o != mri.answer and systems[o] & {"neuro", "neuromuscular", "skin"}]
    assert len(neuro) >= 2, mri.options


def test_examination_pool_entries_are_used(make_case: Callable[..., CaseInput]) -> None:
    case = _seizure_case(make_case)
    pool = DistractorPool((PoolEntry("examination", "Karyotype", "genetic", "PMC2"),))
    with_pool = draft_case(case, tracks=["examination"], pool=pool, options=10).items[0]
    assert "Karyotype" in with_pool.options


def test_no_key_investigation_is_a_reject(make_case: Callable[..., CaseInput]) -> None:
    case = make_case([("case_presentation", [["A girl had seizures.", "She improved."]])])
    assert [r.reason for r in draft_case(case, tracks=["examination"]).rejects] == ["no_key_investigation"]


def test_treatment_cut_and_answer(make_case: Callable[..., CaseInput]) -> None:
    result = draft_case(_seizure_case(make_case), tracks=["treatment"])
    assert [i.answer for i in result.items] == ["Vigabatrin", "Everolimus"]
    vigabatrin, everolimus = result.items
    assert vigabatrin.answer_category == "other"  # not in the vocabulary: kept as written
    assert everolimus.answer_category == "targeted_therapy"
    assert vigabatrin.context_sentence_ids[-1] == "PMC1:sec0:p0:s5"  # up to and including the diagnosis
    assert vigabatrin.question.startswith("The patient's final diagnosis is Tuberous sclerosis complex.")
    assert vigabatrin.evidence_sentence_ids == ("PMC1:sec0:p0:s6",)
    assert "vigabatrin" in everolimus.context and "everolimus" not in everolimus.context.casefold()


def test_treatment_given_earlier_is_not_asked_again(make_case: Callable[..., CaseInput]) -> None:
    case = make_case(
        [
            (
                "case_presentation",
                [
                    [
                        "A man had previously received prednisone for a rash.",
                        "He presented with hemolysis (Figure 1).",
                        "He was diagnosed with tuberous sclerosis complex.",
                        "He was started on prednisone again.",
                        "He then underwent splenectomy.",
                    ]
                ],
            )
        ],
        figures=["Smear."],
        diagnosis=TSC,
    )
    items = draft_case(case, tracks=["treatment"]).items
    assert [i.answer for i in items] == ["Splenectomy"]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("She was initiated on high-dose prednisone, later tapered with the addition of 6-MP.", "Prednisone"),
        ("TNF-α inhibitors were contraindicated, so she began treatment with vedolizumab.", "Vedolizumab"),
        ("The patient was subjected to surgery for the left tumor resection.", "Surgical resection"),
        ("He underwent a total colectomy.", "Colectomy"),
        ("She was treated with miglustat and physiotherapy.", "Miglustat"),
        ("He was not treated with steroids.", None),
        ("She underwent colonoscopy.", None),  # an examination, not a treatment
        ("Her symptoms improved.", None),
    ],
)
def test_treatment_mention(text: str, answer: str | None) -> None:
    mention = treatment_mention(Sentence("PMC1:sec0:p0:s0", "PMC1", "PMC1:sec0", 0, 0, 0, 0, len(text), text))
    assert (mention.answer if mention else None) == answer


def test_treatment_distractors_come_from_pool_and_other_categories(
    make_case: Callable[..., CaseInput],
) -> None:
    pool = DistractorPool(
        (
            # another seizure case's answer: fits this presentation, so it takes the pool's slot
            PoolEntry("treatment", "Ketogenic diet", "diet", "PMC2", systems=("neuro",)),
            PoolEntry("treatment", "Vigabatrin", "other", "PMC2"),  # mentioned in this case: never offered
            PoolEntry("treatment", "Cannabidiol", "other", "PMC1"),  # from this very case: never offered
        )
    )
    items = draft_case(_seizure_case(make_case), tracks=["treatment"], pool=pool, options=10).items
    everolimus = items[1]
    assert "Ketogenic diet" in everolimus.options
    assert everolimus.distractor_notes[0] == DistractorNote("Ketogenic diet", "other_case_answer", "PMC2")
    assert "Vigabatrin" not in everolimus.options and "Cannabidiol" not in everolimus.options
    categories = {e.name: e.category for e in treatments().entries}
    assert all(categories.get(o) != "targeted_therapy" for o in everolimus.options if o != "Everolimus")


def _three_figure_case(make_case: Callable[..., CaseInput], captions: list[str]) -> CaseInput:
    return make_case(
        [
            (
                "case_presentation",
                [
                    [
                        "A 40-year-old man presented with abdominal pain.",
                        "Contrast CT revealed a hypervascular pancreatic mass (Figure 1).",
                        "Laboratory tests were unremarkable.",
                        "He underwent resection.",
                        "Histology showed nests of monotonous cells (Figure 2).",
                        "Liver lesions were noted on follow-up (Figure 3).",
                    ]
                ],
            )
        ],
        figures=captions,
    )


def test_cross_image_questions(make_case: Callable[..., CaseInput]) -> None:
    case = _three_figure_case(
        make_case,
        [
            "Figure 1. Axial CT (A) showing a hypervascular mass in the pancreatic tail (arrow).",
            "(A) Hematoxylin-eosin staining revealing nests of monotonous cells. (B) Chromogranin staining.",
            "MRI demonstrating multiple hepatic metastases [4].",
        ],
    )
    result = draft_case(case, tracks=["cross_image"])
    by_type: dict[str, list] = {}
    for item in result.items:
        by_type.setdefault(item.question_type, []).append(item)
    assert set(by_type) == {"finding_for_image", "image_finding_mapping"}
    shows = by_type["finding_for_image"][0]
    assert shows.question == "Which finding is shown in Image 1?"
    assert shows.answer == "Hypervascular mass in the pancreatic tail"
    assert shows.evidence_figure_ids == ("PMC1:F1",)
    # the citing sentences and all figure references stay out of the context
    for item in result.items:
        assert item.context_sentence_ids == ("PMC1:sec0:p0:s0", "PMC1:sec0:p0:s2", "PMC1:sec0:p0:s3")
        assert "Figure" not in item.context and "Image" not in item.context
    # "which image" has only three options with three images, and without a pool Image 3 has only two
    # distinct distractor findings: each is rejected, with the reason
    assert [(r.record_id, r.reason) for r in result.rejects] == [
        *((f"PMC1:cross_image:image_for_finding:Image {k}", "too_few_distractors") for k in (1, 2, 3)),
        ("PMC1:cross_image:finding_for_image:Image 3", "too_few_distractors"),
    ]
    mapping = by_type["image_finding_mapping"][0]
    assert mapping.answer == (
        "Image 1: hypervascular mass in the pancreatic tail; Image 2: nests of monotonous cells; "
        "Image 3: multiple hepatic metastases"
    )
    assert len(mapping.options) == 5 and len(set(mapping.options)) == 5


def test_cross_image_with_four_images_asks_which_image(make_case: Callable[..., CaseInput]) -> None:
    case = make_case(
        [("case_presentation", [["A girl had a rash.", "She had fever.", "She had arthritis."]])],
        figures=[
            "Photograph showing a malar rash.",
            "Radiograph revealing periarticular osteopenia.",
            "Biopsy showing interface dermatitis.",
            "Echocardiogram showing a pericardial effusion.",
        ],
    )
    items = [
        i for i in draft_case(case, tracks=["cross_image"]).items if i.question_type == "image_for_finding"
    ]
    assert [i.answer for i in items] == ["Image 1", "Image 2", "Image 3"]  # max_per_kind = 3
    assert all(i.options == ("Image 1", "Image 2", "Image 3", "Image 4") for i in items)
    assert items[1].question == "Which image shows periarticular osteopenia?"


def test_cross_image_rejects(make_case: Callable[..., CaseInput]) -> None:
    one = make_case([("case_presentation", [["A.", "B."]])], figures=["CT showing a mass."])
    assert [r.reason for r in draft_case(one, tracks=["cross_image"]).rejects] == ["too_few_images"]
    same = make_case(
        [("case_presentation", [["A.", "B."]])],
        figures=["CT showing a large hepatic mass.", "CT showing the large hepatic mass again."],
    )
    assert [r.reason for r in draft_case(same, tracks=["cross_image"]).rejects] == ["no_distinctive_finding"]
