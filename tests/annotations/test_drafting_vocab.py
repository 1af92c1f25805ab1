"""The examination and treatment vocabularies: well-formed data, and normalisation of real phrasing."""

from __future__ import annotations

import pytest

from mmrare.annotations.drafting.vocab import (
    examinations,
    system_weights,
    systems,
    treatments,
    vocab_versions,
)

EXAM_CATEGORIES = {"imaging", "pathology", "genetic", "lab", "endoscopy", "functional"}


def test_examination_vocabulary_shape() -> None:
    vocab = examinations()
    assert 30 <= len(vocab.entries) <= 70
    assert set(vocab.categories) == EXAM_CATEGORIES
    assert {e.category for e in vocab.entries} == EXAM_CATEGORIES
    assert len({e.name.casefold() for e in vocab.entries}) == len(vocab.entries)
    for entry in vocab.entries:
        assert entry.systems, entry.id
        assert set(entry.systems) <= set(systems())


def test_treatment_vocabulary_shape() -> None:
    vocab = treatments()
    assert len(vocab.entries) >= 30
    assert {e.category for e in vocab.entries} <= set(vocab.categories)
    assert len({e.name.casefold() for e in vocab.entries}) == len(vocab.entries)
    assert set(vocab_versions()) == {"examinations", "treatments", "figures"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Computed tomography (CT) and ultrasound (US) study revealed tumors at the carotid bifurcation.",
            ["CT of the head and neck", "Ultrasound"],
        ),
        ("Contrast-enhanced CT of the chest showed nodules in both lungs.", ["CT of the chest"]),
        ("An abdominal CT demonstrated an adrenal mass.", ["CT of the abdomen and pelvis"]),
        ("CT was unremarkable.", ["CT scan"]),
        ("PET-CT showed avid uptake.", ["PET-CT"]),
        ("Brain MRI revealed cortical tubers.", ["Brain MRI"]),
        ("a magnetic resonance image was also negative", ["MRI"]),
        (
            "Duodenal and colonic biopsies did reveal villous blunting.",
            [
                "Upper endoscopy with duodenal biopsy",
                "Colonoscopy with biopsy",
                "Histopathological examination",
            ],
        ),
        (
            "A punch biopsy of the skin lesion showed granulomas.",
            ["Skin biopsy with histopathology", "Histopathological examination"],
        ),
        ("Whole-exome sequencing identified a variant in SDHD.", ["Whole-exome sequencing"]),
        ("Plasma metanephrines were normal.", ["Plasma or urinary metanephrines"]),
        ("123I-MIBG scintigraphy showed uptake.", ["MIBG scintigraphy"]),
        ("An EEG showed spikes.", ["EEG"]),
        (
            "Her laboratory studies revealed a presence of anti-goblet cell antibodies.",
            ["Anti-enterocyte and anti-goblet cell antibodies"],
        ),
        ("Karyotype was 46,XY.", ["Karyotype"]),
        ("Let us consider the case.", []),  # "us" is not ultrasound
    ],
)
def test_examination_normalisation(text: str, expected: list[str]) -> None:
    assert [m.entry.name for m in examinations().find(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "She was initiated on high-dose prednisone, tapered with the addition of 6-MP.",
            ["Prednisone", "6-Mercaptopurine"],
        ),
        (
            "TNF-α inhibitors were contraindicated, so she began vedolizumab.",
            ["TNF-alpha inhibitor", "Vedolizumab"],
        ),
        ("He received infliximab.", ["Infliximab"]),  # the class entry yields to the specific drug
        (
            "She underwent adrenalectomy after alpha blockade.",
            ["Adrenalectomy", "Alpha-adrenergic blockade (phenoxybenzamine)"],
        ),
        ("The tumor was completely removed.", ["Surgical resection"]),
        ("A dexamethasone suppression test was normal.", []),
    ],
)
def test_treatment_normalisation(text: str, expected: list[str]) -> None:
    assert [m.entry.name for m in treatments().find(text)] == expected


def test_a_named_class_counts_as_naming_its_members() -> None:
    mentioned = treatments().mentioned_ids(["TNF-alpha inhibitors were contraindicated."])
    assert {"tnf_inhibitor", "infliximab", "adalimumab"} <= mentioned
    assert "vedolizumab" not in mentioned


def test_system_weights_count_cues() -> None:
    weights = system_weights("Watery diarrhea, abdominal pain and bloating; colonoscopy of the colon.")
    assert weights["gi"] >= 4
    assert "neuro" not in weights
