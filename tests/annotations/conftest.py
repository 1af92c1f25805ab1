"""Fixtures for drafting tests: the two real sample cases (parsed from ../shared) with hand-written
ORDO diagnoses, and a builder for tiny synthetic cases."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mmrare.curation.jats import parse_jats
from mmrare.items import CaseInput, DiagnosisInput, DistractorPool
from mmrare.records import Figure, FigureMention, Graphic, Section, SectionRole, Sentence

PACKAGES = Path(__file__).resolve().parents[3] / "shared" / "pmc" / "packages"

PGL = "PMC7500000"
AIE = "PMC6358579"
PGL_STATEMENT = "PMC7500000:sec5:p2:s6"  # "Histological examination ... confirmed carotid paraganglioma"
AIE_STATEMENT = "PMC6358579:sec2:p0:s8"  # "Therefore, our patient was diagnosed with AIE ..."

DIAGNOSES = {
    PGL: DiagnosisInput(
        code="ORPHA:94080",
        label="Non-functioning paraganglioma",
        aliases=("Non-secreting paraganglioma", "Non-functional paraganglioma"),
        evidence_sentence_ids=(PGL_STATEMENT,),
        distractors=(
            ("ORPHA:276621", "Sporadic pheochromocytoma/secreting paraganglioma"),
            ("ORPHA:29072", "Hereditary pheochromocytoma-paraganglioma"),
            ("ORPHA:324299", "Multiple paragangliomas associated with polycythemia"),
            ("ORPHA:94080", "Non-functioning paraganglioma"),  # the gold concept itself: dropped
            ("ORPHA:999999", "non-secreting  Paraganglioma"),  # an alias after normalisation: dropped
            ("ORPHA:1332", "Medullary thyroid carcinoma"),
            ("ORPHA:2453", "Schwannoma"),
        ),
    ),
    AIE: DiagnosisInput(
        code="ORPHA:522037",
        label="Primary autoimmune enteropathy",
        aliases=("Autoimmune enteropathy",),
        evidence_sentence_ids=(AIE_STATEMENT,),
        distractors=(
            ("ORPHA:280142", "Severe combined immunodeficiency due to LCK deficiency"),
            ("ORPHA:397959", "TCR-alpha-beta-positive T-cell deficiency"),
            ("ORPHA:572", "Immunodeficiency by defective expression of MHC class II"),
            ("ORPHA:555", "Celiac disease"),
            ("ORPHA:2301", "Microvillus inclusion disease"),
        ),
    ),
}


def load_sample(pmcid: str) -> CaseInput:
    """A sample case with graphics marked usable when their file exists (the orchestrator passes
    decoded graphics in the pipeline)."""
    parsed = parse_jats(PACKAGES / pmcid / f"{pmcid}.xml")
    graphics = tuple(
        dataclasses.replace(g, status="ok") if g.path and Path(g.path).exists() else g
        for g in parsed.graphics
    )
    return CaseInput.from_parsed(dataclasses.replace(parsed, graphics=graphics), DIAGNOSES[pmcid])


@pytest.fixture(scope="session")
def samples() -> dict[str, CaseInput]:
    if not PACKAGES.exists():
        pytest.fail(f"{PACKAGES} is missing: tests need ../shared beside the project root")
    return {pmcid: load_sample(pmcid) for pmcid in (PGL, AIE)}


@pytest.fixture(scope="session")
def diagnoses() -> dict[str, DiagnosisInput]:
    return DIAGNOSES


@pytest.fixture(scope="session")
def sample_pool(samples: dict[str, CaseInput]) -> DistractorPool:
    from mmrare.annotations.drafting import build_pool

    return build_pool(samples.values())


SectionSpec = tuple[str, list[list[str]]]  # (role, paragraphs of sentences)
_FIG_MENTION = re.compile(r"\bFig(?:ure)?s?\.?\s*(\d+)")


def build_case(
    sections: Sequence[SectionSpec],
    figures: Sequence[str] = (),
    diagnosis: DiagnosisInput | None = None,
    pmcid: str = "PMC1",
    unusable: Sequence[int] = (),
) -> CaseInput:
    """A synthetic case: sections of sentences, figures given by caption ("Figure 1" ... in order);
    "Figure N" in a sentence becomes a figure mention. Figures listed in ``unusable`` (1-based)
    get a graphic that failed to decode."""
    secs, sents, mentions = [], [], []
    ordinal = 0
    for i, (role, paragraphs) in enumerate(sections):
        section_id = f"{pmcid}:sec{i}"
        for p, paragraph in enumerate(paragraphs):
            for s, text in enumerate(paragraph):
                sid = f"{section_id}:p{p}:s{s}"
                sents.append(Sentence(sid, pmcid, section_id, p, s, ordinal, 0, len(text), text))
                ordinal += 1
                for n in dict.fromkeys(_FIG_MENTION.findall(text)):
                    mentions.append(FigureMention(sid, pmcid, f"{pmcid}:F{n}", n))
        text = " ".join(" ".join(p) for p in paragraphs)
        secs.append(Section(section_id, pmcid, i, None, 0, role, None, SectionRole(role), text))
    figs, graphics = [], []
    for k, caption in enumerate(figures, start=1):
        fid = f"{pmcid}:F{k}"
        figs.append(Figure(fid, pmcid, k - 1, f"F{k}", f"Figure {k}", "", caption, None))
        status = "decode_failed" if k in unusable else "ok"
        graphics.append(Graphic(f"{fid}:g0", fid, pmcid, f"f{k}.jpg", None, status=status))
    return CaseInput(
        pmcid,
        "A synthetic case",
        tuple(secs),
        tuple(sents),
        tuple(figs),
        tuple(graphics),
        tuple(mentions),
        diagnosis,
    )


@pytest.fixture
def make_case() -> Callable[..., CaseInput]:
    return build_case
