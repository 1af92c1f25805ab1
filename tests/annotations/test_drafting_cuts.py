"""Cut points and context rendering, on tiny synthetic cases."""

from __future__ import annotations

from collections.abc import Callable

from mmrare.annotations.drafting import draft_case
from mmrare.annotations.drafting.cuts import CaseView, DiagnosisTerms
from mmrare.annotations.drafting.text import abbreviations, figure_numbers
from mmrare.items import CaseInput, DiagnosisInput

OI = DiagnosisInput(
    code="ORPHA:666",
    label="Osteogenesis imperfecta",
    aliases=("Brittle bone disease",),
    distractors=(
        ("ORPHA:2788", "Hypophosphatasia"),
        ("ORPHA:666", "Osteogenesis imperfecta"),  # the gold code: dropped
        ("ORPHA:1", "Brittle Bone Disease"),  # an alias: dropped
        ("ORPHA:2", "Ehlers-Danlos syndrome"),
        ("ORPHA:3", "Rickets"),
        ("ORPHA:4", "Menkes disease"),
        ("ORPHA:5", "Idiopathic juvenile osteoporosis"),
    ),
)
BACKGROUND = ("background", [["Osteogenesis imperfecta (OI) is a rare disorder of bone fragility."]])


def test_diagnosis_cut_before_the_statement(make_case: Callable[..., CaseInput]) -> None:
    case = make_case(
        [
            BACKGROUND,
            (
                "case_presentation",
                [
                    [
                        "A 12-year-old boy presented with recurrent fractures.",
                        "Radiographs showed thin bones (Figure 1).",
                        "Blue sclerae were noted.",
                        "He was diagnosed with osteogenesis imperfecta type I.",
                        "He was treated with pamidronate.",
                    ]
                ],
            ),
        ],
        figures=["Radiograph of the femur."],
        diagnosis=OI,
    )
    result = draft_case(case, tracks=["diagnosis"])
    (item,) = result.items
    assert item.context_sentence_ids == ("PMC1:sec1:p0:s0", "PMC1:sec1:p0:s1", "PMC1:sec1:p0:s2")
    assert item.evidence_sentence_ids == ("PMC1:sec1:p0:s3",)
    assert item.context == (
        "A 12-year-old boy presented with recurrent fractures. Radiographs showed thin bones (Image 1). "
        "Blue sclerae were noted."
    )
    assert item.answer == "Osteogenesis imperfecta" and item.aliases == ("Brittle bone disease",)
    # siblings in order, but the one longer than the gold comes first, so the gold is not the longest
    assert sorted(item.options) == sorted(
        ["Osteogenesis imperfecta", "Idiopathic juvenile osteoporosis", "Hypophosphatasia",
         "Ehlers-Danlos syndrome", "Rickets"]
    )  # fmt: skip
    assert item.evidence_figure_ids == ("PMC1:F1",)


def test_sentences_naming_the_disease_before_the_cut_are_left_out(
    make_case: Callable[..., CaseInput],
) -> None:
    case = make_case(
        [
            BACKGROUND,
            (
                "case_presentation",
                [
                    ["We report a case of a boy with fractures."],
                    [
                        "A 12-year-old boy presented with recurrent fractures.",
                        "His brother also has OI.",
                        "Radiographs showed thin bones (Figure 1).",
                        "Blue sclerae were noted.",
                        "Genetic testing confirmed OI.",
                    ],
                ],
            ),
        ],
        figures=["Radiograph."],
        diagnosis=OI,
    )
    (item,) = draft_case(case, tracks=["diagnosis"]).items
    # framing and the sentence naming the abbreviation are dropped; the cut is the "confirmed OI" sentence
    assert item.context_sentence_ids == ("PMC1:sec1:p1:s0", "PMC1:sec1:p1:s2", "PMC1:sec1:p1:s3")
    assert "OI" not in item.context.split()
    assert "leaves out 1 earlier sentence" in item.rationale


def test_diagnosis_terms_recognise_aliases_heads_and_abbreviations(
    make_case: Callable[..., CaseInput],
) -> None:
    dx = DiagnosisInput("ORPHA:94080", "Non-functioning paraganglioma", ("Non-secreting paraganglioma",))
    case = make_case(
        [("background", [["Carotid and vagal paragangliomas (CPGLs and VPGLs) are rare."]])], diagnosis=dx
    )
    terms = DiagnosisTerms.build(dx, case.sentences)
    assert terms.states("Histology was consistent with a non-secreting paraganglioma.")
    assert not terms.states(
        "Histology confirmed carotid paraganglioma."
    )  # head word only: leaks, not a statement
    assert terms.leaks("Histology confirmed carotid paraganglioma.")
    assert terms.leaks("She was diagnosed with bilateral CPGLs.")
    assert terms.leaks("Multiple PARAGANGLIOMAS were found.")
    assert not terms.leaks("A hypervascular mass at the carotid bifurcation.")
    generic = DiagnosisTerms.build(DiagnosisInput("ORPHA:1", "Fabry disease"), [])
    assert not generic.leaks("No other disease was found.")  # generic head words never leak on their own


def test_abbreviations_schwartz_hearst() -> None:
    found = abbreviations(
        [
            "Carotid and vagal paragangliomas (CPGLs and VPGLs) are rare neoplasms.",
            "Rarely seen in adults, autoimmune enteropathy (AIE) is a condition.",
            "Computed tomography (CT) and ultrasound (US) study revealed tumors (Fig. 1).",
            "She weighed 45 kg (BMI 14).",
        ]
    )
    assert found["CPGL"] == "Carotid and vagal paragangliomas"
    assert found["VPGL"] == "vagal paragangliomas"
    assert found["AIE"] == "autoimmune enteropathy"
    assert found["CT"] == "Computed tomography"
    assert "BMI" not in found


def test_rejects_with_reasons(make_case: Callable[..., CaseInput]) -> None:
    no_statement = make_case(
        [
            (
                "case_presentation",
                [["A boy presented with fractures.", "Radiographs showed thin bones (Figure 1)."]],
            )
        ],
        figures=["Radiograph."],
        diagnosis=OI,
    )
    too_short = make_case(
        [
            BACKGROUND,
            (
                "case_presentation",
                [["A boy had fractures (Figure 1).", "OI was diagnosed.", "He recovered."]],
            ),
        ],
        figures=["Radiograph."],
        diagnosis=OI,
    )
    few_distractors = make_case(
        [
            (
                "case_presentation",
                [["A boy had fractures (Figure 1).", "Sclerae were blue.", "OI was diagnosed."]],
            )
        ],
        figures=["Radiograph."],
        diagnosis=DiagnosisInput(
            "ORPHA:666", "Osteogenesis imperfecta", ("OI",), (), (("ORPHA:2", "Rickets"),)
        ),
    )
    reasons = [
        [r.reason for r in draft_case(case, tracks=["diagnosis"]).rejects]
        for case in (no_statement, too_short, few_distractors)
    ]
    assert reasons == [["no_diagnosis_statement"], ["context_too_short"], ["too_few_distractors"]]
    reject = draft_case(no_statement, tracks=["diagnosis"]).rejects[0]
    assert (
        reject.record_id == "PMC1:diagnosis:ORPHA:666"
        and reject.stage == "draft"
        and "\n" not in reject.detail
    )


def test_unknown_evidence_id_is_rejected(make_case: Callable[..., CaseInput]) -> None:
    dx = DiagnosisInput("ORPHA:666", "Osteogenesis imperfecta", (), ("PMC1:sec9:p0:s0",))
    case = make_case([("case_presentation", [["A boy.", "Fractures.", "OI confirmed."]])], diagnosis=dx)
    assert [r.reason for r in draft_case(case, tracks=["diagnosis"]).rejects] == ["unknown_evidence_id"]


def test_render_maps_figure_references_to_markers(make_case: Callable[..., CaseInput]) -> None:
    case = make_case(
        [
            (
                "case_presentation",
                [
                    ["CT showed a mass (Fig. 1) and MRI an enhancing lesion (Figs. 2 and 3) [4, 5]."],
                    ["Histology is shown in Figure 2."],
                ],
            )
        ],
        figures=["CT.", "MRI.", "MRI again."],
        unusable=[2],
    )
    view = CaseView(case)
    images = view.images()
    assert [(i.marker, i.figure_id) for i in images] == [("Image 1", "PMC1:F1"), ("Image 2", "PMC1:F3")]
    text = view.render(view.case_sentences, images)
    assert text == "CT showed a mass (Image 1) and MRI an enhancing lesion (Image 2).\n\nHistology is shown."
    stripped = view.render(view.case_sentences, images, strip_refs=True)
    assert "Image" not in stripped and "Fig" not in stripped


def test_figure_number_lists() -> None:
    assert figure_numbers("3 and 4") == [3, 4]
    assert figure_numbers("1–3") == [1, 2, 3]
    assert figure_numbers("2a,b") == [2]
    assert figure_numbers("3, Figure 4") == [3, 4]
