"""Figure profiles (modality, body region) and the cross-image distractors they choose."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmrare.annotations.drafting import build_pool, draft_case
from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.figure_profile import Profile, case_region, figure_profile, modality_of
from mmrare.items import CaseInput, DistractorPool, PoolEntry


@pytest.mark.parametrize(
    ("caption", "modality"),
    [
        ("Axial CT showing a hypervascular mass in the pancreatic tail.", "ct"),
        ("Contrast-enhanced coronal MRCP demonstrating a stricture.", "mri"),
        ("Hematoxylin and eosin staining, original magnification x200.", "histology"),
        ("Endoscopic picture from colonoscopy revealing edematous mucosa.", "endoscopy"),
        ("Clinical photograph showing a malar rash.", "photograph"),
        ("Creatinine and bilirubin levels over time.", "chart"),
        ("A rash.", ""),
    ],
)
def test_modality_from_caption(caption: str, modality: str) -> None:
    assert modality_of(caption) == modality


def test_profile_of_a_sample_figure(samples: dict[str, CaseInput]) -> None:
    view = CaseView(samples["PMC7500000"])
    profiles = {fid: figure_profile(view, fid, case_region(view)) for fid in view.figures_with_images()}
    assert Profile("", "head_neck") != Profile.parse("ct|head_neck")
    assert all(p.region for p in profiles.values())  # the case's region fills in for a silent caption
    assert any(p.modality == "histology" for p in profiles.values()), profiles


def _pool_entry(text: str, category: str, pmcid: str) -> PoolEntry:
    return PoolEntry("finding", text, category, pmcid, f"{pmcid}:F1")


def test_cross_image_distractors_come_from_alike_figures(make_case: Callable[..., CaseInput]) -> None:
    case = make_case(
        [
            (
                "case_presentation",
                [["A man had abdominal pain.", "His liver was enlarged.", "He lost weight."]],
            )
        ],
        figures=[
            "Axial CT showing a hypervascular mass in the pancreatic tail.",
            "Hematoxylin-eosin staining revealing nests of monotonous cells.",
        ],
    )
    pool = DistractorPool(
        (
            _pool_entry("Colonic mucosa with crypt abscesses", "histology|gi", "PMC7"),
            _pool_entry("Carotid body tumour splaying the bifurcation", "ct|head_neck", "PMC8"),
            _pool_entry("Dilated common bile duct with calculi", "ct|gi", "PMC9"),
            _pool_entry("Thickened gallbladder wall", "ct|gi", "PMC9"),
            _pool_entry("Retinal haemorrhages at the posterior pole", "ophthalmic|eye", "PMC6"),
        )
    )
    result = draft_case(case, tracks=["cross_image"], pool=pool)
    ct_item = next(i for i in result.items if i.question == "Which finding is shown in Image 1?")
    reasons = {n.text: n.reason for n in ct_item.distractor_notes}
    assert reasons["Nests of monotonous cells"] == "same_case"
    assert reasons["Dilated common bile duct with calculi"] == "same_modality_region"
    assert "Retinal haemorrhages at the posterior pole" not in ct_item.options  # unrelated: never offered
    assert ct_item.distractor_rows()[0]["item_id"] == ct_item.item_id


def test_pool_findings_carry_their_figure_and_profile(samples: dict[str, CaseInput]) -> None:
    case = samples["PMC7500000"]
    findings = [e for e in build_pool([case]).entries if e.kind == "finding"]
    assert findings and all(e.ref.startswith(case.pmcid) and "|" in (e.category or "") for e in findings)
