"""Hand-built leakage test items from two real case reports, and a spying embedder.

Sentences are copied from the shared JATS files — PMC6358579 (autoimmune enteropathy, "AIE") and
PMC7500000 (carotid and vagal paragangliomas, "CPGL", gene SDHD) — and the contexts are rendered the
way the drafter renders them (bracketed citations removed, figure references rewritten), so the
sentence alignment is exercised on real differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmrare.embedding import EmbeddingCache
from mmrare.items import ImageRef, QAItem
from mmrare.leakage import AnswerDescriptor, FigureText, LeakageInput, LeakageScore

AIE = "PMC6358579"
PGL = "PMC7500000"

# PMC6358579, introduction and case presentation (raw sentence text as parsed).
AIE_SENTENCES = {
    f"{AIE}:sec1:p0:s0": "Rarely seen in adults, autoimmune enteropathy (AIE) is a condition characterized "
    "by "
    "chronic diarrhea and malabsorption caused by dysregulated antibody activity in the gut.",
    f"{AIE}:sec2:p0:s0": "A 46-year-old woman with Hashimoto’s thyroiditis, idiopathic cardiomyopathy, and "
    "a body "
    "mass index of 14 kg/m2 presented to clinic with more than 20 years of watery diarrhea and a previous "
    "diagnosis of celiac disease with microscopic colitis.",
    f"{AIE}:sec2:p0:s1": "However, a strict gluten-free diet provided her no relief.",
    f"{AIE}:sec2:p0:s2": "Additionally, this patient lacked typical celiac disease susceptibility HLA "
    "genotypes.",
    f"{AIE}:sec2:p0:s3": "Stool studies were negative for infectious pathogens.",
    f"{AIE}:sec2:p0:s4": "Fecal leukocytes were absent, and a magnetic resonance image was also negative.",
    f"{AIE}:sec2:p0:s5": "Colonoscopy was significant for a loss of the normal vascular pattern throughout "
    "the colon (Figure 1).",
    f"{AIE}:sec2:p0:s6": "Her laboratory studies revealed a presence of anti-goblet cell antibodies.",
    f"{AIE}:sec3:p0:s0": "Consider AIE in patients with chronic diarrhea and malabsorption that do not "
    "improve "
    "with changes in diet and have characteristic findings on biopsy.",
}

# PMC7500000, case presentation and results.
PGL_SENTENCES = {
    f"{PGL}:sec3:p0:s0": "A 50-year-old female was diagnosed with extravascular compression of the carotid "
    "arteries and CPGLs on both sides of the neck.",
    f"{PGL}:sec3:p0:s1": "Clinical symptoms include arterial hypertension and painless rounded masses.",
    f"{PGL}:sec3:p0:s2": "Computed tomography (CT) and ultrasound (US) study revealed the presence of "
    "tumors in "
    "the areas of the carotid bifurcation, solid neoplasia 32 × 25 mm on the left side of the neck and "
    "two-nodal tumor 46 × 24 mm on the right side of the neck, respectively.",
    f"{PGL}:sec3:p0:s3": "These neck masses were heterogeneous in structure and predominantly hypoechoic and "
    "hypervascular.",
    f"{PGL}:sec3:p0:s4": "The CT study with contrast also revealed the presence of hypointense, highly "
    "vascularized masses at the right and left carotid bifurcations (Fig. 1).",
    f"{PGL}:sec3:p1:s0": "The patient was subjected to surgery for the left tumor resection.",
    f"{PGL}:sec3:p1:s1": "The upper pole of the tumor was associated with the vagus nerve.",
    f"{PGL}:sec3:p1:s2": "Hematoxylin-eosin (H&E) staining showed a Zellballen structure that is typical for "
    "paragangliomas.",
    f"{PGL}:sec3:p1:s3": "Chief tumor cells exhibited positive staining for chromogranin A, synaptophysin, "
    "and "
    "CD56 antibodies indicating a neuroendocrine tumor.",
    f"{PGL}:sec3:p1:s4": "Histological examination of the resected tumor confirmed carotid paraganglioma "
    "(Fig. 2).",
    f"{PGL}:sec4:p0:s0": "SDH complex consists of four subunits (SDHA, SDHB, SDHC, and SDHD) encoded by the "
    "corresponding genes [5, 6].",
    f"{PGL}:sec4:p0:s1": "Exome analysis revealed a likely pathogenic germline missense variant in the SDHD "
    "gene, NM_003002.3: c.305A > G, p.H102R (chr11: 111959726, rs104894302).",
}

PGL_CAPTIONS = (
    FigureText(
        f"{PGL}:Fig1",
        "Fig. 1",
        "Computed tomography of the patient's head and neck before surgery. CT scan (left); 3D "
        "reconstruction "
        "(right)",
        "Image 1",
    ),
    FigureText(
        f"{PGL}:Fig2",
        "Fig. 2",
        "Hematoxylin-eosin (H&E) staining of carotid and vagal paragangliomas. a left CPGL, b right CPGL, "
        "and "
        "c right VPGL. Specific “Zellballen” growth pattern of paragangliomas (small nests of chief cells "
        "with "
        "pale eosinophilic staining, surrounded by supporting sustentacular cells) can be seen",
        "Image 2",
        is_answer=True,
    ),
)


def render(sentences: dict[str, str], ids: Sequence[str], replace: dict[str, str] | None = None) -> str:
    """Join sentences the way the drafter does, applying its rewrites (citations, figure references)."""
    text = " ".join(sentences[i] for i in ids)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    return text


def make_item(
    item_id: str,
    track: str,
    pmcid: str,
    context: str,
    ids: Sequence[str],
    options: Sequence[str],
    answer_index: int = 0,
    *,
    aliases: Sequence[str] = (),
    images: int = 1,
    question: str = "Which is it?",
) -> QAItem:
    return QAItem(
        item_id=item_id,
        track=track,
        question_type=track,
        pmcid=pmcid,
        question=question,
        context=context,
        context_sentence_ids=tuple(ids),
        images=tuple(
            ImageRef(n, f"Image {n}", f"{pmcid}:F{n}", f"{pmcid}:F{n}:g0") for n in range(1, images + 1)
        ),
        options=tuple(options),
        answer_index=answer_index,
        answer=options[answer_index],
        aliases=tuple(aliases),
        orpha_code=None,
        answer_category=None,
        evidence_sentence_ids=(ids[0],),
        evidence_figure_ids=(),
        rationale="hand-built test item",
        drafter="test",
        drafter_version="test/1",
        seed=0,
    )


AIE_DESCRIPTOR = AnswerDescriptor(
    label="Autoimmune enteropathy",
    synonyms=("Autoimmune enteropathy in adults",),
    definition="A rare disorder characterized by intractable diarrhea, malabsorption and autoimmune "
    "destruction of the intestinal mucosa with circulating anti-enterocyte or anti-goblet cell antibodies.",
    abbreviations=("AIE",),
    code="ORPHA:37042",
)

PGL_DESCRIPTOR = AnswerDescriptor(
    label="Head and neck paraganglioma",
    synonyms=("Carotid paraganglioma", "Carotid body tumor"),
    definition="A rare, usually benign neuroendocrine tumour arising from the paraganglia of the head and "
    "neck, most often at the carotid bifurcation, presenting as a painless neck mass.",
    abbreviations=("HNPGL", "CPGL"),
    xref_names=("Chemodectoma",),
    gene_symbols=("SDHD",),
    gene_names=("succinate dehydrogenase complex subunit D",),
    code="ORPHA:97260",
)


def build_aie_input() -> LeakageInput:
    """Diagnosis item: the gold label and its abbreviation appear in the context; so does a synonym."""
    ids = list(AIE_SENTENCES)
    context = render(AIE_SENTENCES, ids, {" (Figure 1)": " (Image 1)"})
    item = make_item(
        "aie-dx",
        "diagnosis",
        AIE,
        context,
        ids,
        ["Autoimmune enteropathy", "Celiac disease", "Whipple disease", "Tropical sprue", "Crohn disease"],
        aliases=("AIE",),
    )
    return LeakageInput(item, AIE_DESCRIPTOR, AIE_SENTENCES)


def build_pgl_input() -> LeakageInput:
    """Diagnosis item: abbreviation in the plural ("CPGLs"), gene symbol, cited figure, citation removed."""
    ids = list(PGL_SENTENCES)
    context = render(
        PGL_SENTENCES, ids, {" (Fig. 1)": " (Image 1)", " (Fig. 2)": " (Image 2)", " [5, 6]": ""}
    )
    item = make_item(
        "pgl-dx",
        "diagnosis",
        PGL,
        context,
        ids,
        ["Carotid paraganglioma", "Schwannoma", "Lymphoma", "Branchial cleft cyst", "Carotid aneurysm"],
    )
    return LeakageInput(item, PGL_DESCRIPTOR, PGL_SENTENCES)


def build_exam_input() -> LeakageInput:
    """Examination item whose context names computed tomography and reports its result."""
    ids = [f"{PGL}:sec3:p0:s{n}" for n in range(5)]
    context = render(PGL_SENTENCES, ids, {" (Fig. 1)": ""})
    item = make_item(
        "pgl-exam",
        "examination",
        PGL,
        context,
        ids,
        ["Computed tomography", "Bone scintigraphy", "Electroencephalography", "Spirometry", "Colonoscopy"],
        aliases=("CT",),
    )
    descriptor = AnswerDescriptor(label="Computed tomography", synonyms=("CT scan",), abbreviations=("CT",))
    return LeakageInput(item, descriptor, PGL_SENTENCES)


def build_cross_input() -> LeakageInput:
    """Cross-image item: a figure reference survived in the context, and a caption phrase appears."""
    ids = [f"{PGL}:sec3:p0:s4", *(f"{PGL}:sec3:p1:s{n}" for n in range(4))]
    context = render(PGL_SENTENCES, ids)
    item = make_item(
        "pgl-cross",
        "cross_image",
        PGL,
        context,
        ids,
        ["Image 1", "Image 2", "Image 3", "Image 4"],
        answer_index=1,
        images=4,
        question="Which image shows a Zellballen growth pattern?",
    )
    descriptor = AnswerDescriptor(label="Image 2", figures=PGL_CAPTIONS)
    return LeakageInput(item, descriptor, PGL_SENTENCES)


def build_treatment_input() -> LeakageInput:
    """Treatment item: the drug appears under its name and brand name."""
    sentences = {
        f"{AIE}:sec4:p0:s0": "Previously the patient had only minimal improvement with budesonide and "
        "mesalamine, "
        "and each caused her significant lower extremity swelling.",
        f"{AIE}:sec4:p0:s1": "TNF-α inhibitors were contraindicated for our patient due to her "
        "cardiomyopathy, so "
        "she began treatment with vedolizumab infusions (300 mg every 8 weeks) while continuing 6-MP.",
        f"{AIE}:sec4:p0:s2": "After 2 infusions of Entyvio, her abdominal symptoms resolved.",
    }
    ids = list(sentences)
    item = make_item(
        "aie-tx",
        "treatment",
        AIE,
        render(sentences, ids),
        ids,
        ["Vedolizumab", "Infliximab", "Azathioprine", "Tacrolimus", "Cyclosporine"],
    )
    return LeakageInput(item, AnswerDescriptor(label="Vedolizumab", synonyms=("Entyvio",)), sentences)


def all_inputs() -> list[LeakageInput]:
    return [
        build_aie_input(),
        build_pgl_input(),
        build_exam_input(),
        build_cross_input(),
        build_treatment_input(),
    ]


class SpyEmbedder:
    """Wraps an embedder and records every ``embed`` call, to prove when the model is (not) asked."""

    def __init__(self, inner: EmbeddingCache) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def model_sha256(self) -> str:
        return self.inner.model_sha256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


def stub_scores(entry: LeakageInput, semantic: float | dict[str, float] = 0.1) -> list[LeakageScore]:
    """Real lexical and option scores plus fixed semantic scores: policy tests without the encoder."""
    from mmrare.leakage.detect import layout_of
    from mmrare.leakage.lexical import build_matchers, lexical_scores
    from mmrare.leakage.shortcuts import option_scores

    item, basis = entry.item, entry.basis
    layout = layout_of(entry)
    out = lexical_scores(
        item.item_id,
        item.track,
        item.context,
        layout,
        build_matchers(entry.descriptor, item.track),
        basis=basis,
    )
    for sentence in layout:
        value = semantic if isinstance(semantic, float) else semantic.get(sentence.sentence_id, 0.1)
        out.append(
            LeakageScore(
                item.item_id,
                "semantic",
                sentence.sentence_id,
                sentence.start,
                sentence.end,
                sentence.text,
                value,
                {"descriptor": "label", "model_sha256": "stub"},
                item.track,
                basis,
            )
        )
    return out + option_scores(item, basis=basis)
