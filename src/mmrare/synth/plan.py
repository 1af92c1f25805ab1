"""Decide what a case contains before any sentence is written: patient, signs, examinations and
their findings, treatment, and the figures in the order the text will cite them.

Phenotypes that would name or give away the diagnosis (a name of the disorder, or its label's
distinctive head word, as the drafter's leak check reads it) are never used, because they appear in
the case sections before the diagnosis sentence. Examinations follow the body systems the
phenotypes name (:data:`~mmrare.synth.vocab.SYSTEM_KEYWORDS`): a lab test, one to three
examinations that produce images, then a genetic test (sequencing when ORDO knows a causal gene).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from mmrare.synth.diseases import DiseaseFacts
from mmrare.synth.document import FigurePlan
from mmrare.synth.phenotypes import Phenotype
from mmrare.synth.vocab import Term, Vocabulary, systems_of

FIGURE_CATEGORIES = ("imaging", "pathology", "endoscopy", "functional")
CLINICAL_PHOTOGRAPH = "clinical_photograph"
_EXAM_ORDER = {"lab": 0, "imaging": 1, "endoscopy": 2, "functional": 3, "pathology": 4}
_SEQUENCING = frozenset(
    {"whole_exome_sequencing", "gene_panel", "single_gene_testing", "whole_genome_sequencing"}
)
_CYTOGENETIC = frozenset({"chromosomal_microarray", "karyotype"})
_STYLE_RULES: tuple[tuple[str, str], ...] = (
    (r"angiograph", "angio"),
    (r"^pet_ct$", "pet"),
    (r"mri|enterography", "mri"),
    (r"^ct", "ct"),
    (r"radiograph", "xray"),
    (r"scintigraphy|receptor_imaging", "scintigraphy"),
    (r"ultrasound|echocardiography", "ultrasound"),
    (r"ophthalmologic", "fundus"),
)
_CATEGORY_STYLE = {"pathology": "histology", "endoscopy": "endoscopy", "functional": "trace"}
_GENERIC_FINDINGS = {
    "imaging": (
        "a well-defined lesion with heterogeneous signal",
        "diffuse structural abnormalities",
        "asymmetric enlargement of the affected region",
        "multiple small nodular lesions",
    ),
    "pathology": (
        "architectural distortion with a chronic inflammatory infiltrate",
        "abnormal cellular morphology with fibrosis",
        "atypical cells in a disorganised pattern",
    ),
    "endoscopy": ("mucosal erythema with nodularity", "friable mucosa with superficial ulceration"),
    "functional": ("abnormal findings on both sides", "markedly abnormal recordings"),
    "lab": ("values outside the reference range", "moderately abnormal results"),
}
# Last words of a label that say nothing about which disease it is (as the drafter's leak check).
_GENERIC_HEAD_WORDS = """
disease disorder syndrome deficiency tumor tumour tumors neoplasm cancer carcinoma anomaly
malformation defect type form infection lesion condition dysplasia
"""
_GENERIC_HEADS = frozenset(_GENERIC_HEAD_WORDS.split())
_VIEWS = ("overview", "detail of the affected area", "comparison view")
# A lab test or a recording can only report phenotypes that are measurements or signals.
_RESULT_WORDS = {
    "lab": re.compile(
        r"level|concentration|increased|decreased|elevated|reduced|serum|plasma|urin|emia\b"
        r"|uria\b|activity|count|antibod|cytosis|penia",
        re.IGNORECASE,
    ),
    "functional": re.compile(
        r"\bEEG\b|electro|discharge|conduction|arrhythm|\bQT|hearing|potential|spike"
        r"|block|tachycard|bradycard|hypsarrhythm|capacity|ventilat",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True, slots=True)
class Patient:
    age: int
    sex: str  # "female" | "male"
    child: bool

    @property
    def noun(self) -> str:
        if self.child:
            return "girl" if self.sex == "female" else "boy"
        return "woman" if self.sex == "female" else "man"

    @property
    def subj(self) -> str:
        return "She" if self.sex == "female" else "He"

    @property
    def poss(self) -> str:
        return "her" if self.sex == "female" else "his"


@dataclass(slots=True)
class Investigation:
    """An examination, what it found, and the figures showing it (numbers, once planned)."""

    term: Term
    finding: str
    hpo_id: str | None
    figure: int | None = None


@dataclass(slots=True)
class CasePlan:
    """Every decision about a case's content; figure numbers follow the order of citation."""

    patient: Patient
    presenting: list[Phenotype]
    signs: list[Phenotype]
    photos: list[Phenotype]
    investigations: list[Investigation]
    treatment: Term | None
    followup: Investigation | None
    surface: str  # the name the whole text uses for the disorder (running form)
    surface_kind: str  # "label" | "synonym"
    figures: list[FigurePlan] = field(default_factory=list)


class Planner:
    """Plans one case from one RNG (the composer goes on drawing from the same one)."""

    def __init__(self, facts: DiseaseFacts, rng: random.Random, exams: Vocabulary, treatments: Vocabulary):
        self.facts = facts
        self.rng = rng
        self.exams = exams
        self.treatments = treatments
        self.leak_patterns = leak_patterns(facts)

    def plan(self) -> CasePlan:
        rng = self.rng
        child = rng.random() < 0.35
        patient = Patient(
            rng.randint(2, 16) if child else rng.randint(18, 74), rng.choice(("female", "male")), child
        )
        phenotypes = [p for p in self.facts.phenotypes if not self.leaks(p.name)]
        head = phenotypes[:5]
        rng.shuffle(head)
        phenotypes = head + phenotypes[5:] or [Phenotype("progressive symptoms", None, None, "generic")]
        n_present = min(len(phenotypes), rng.randint(2, 3))
        presenting, rest = phenotypes[:n_present], phenotypes[n_present:]
        signs = rest[:2]
        systems = [*systems_of([p.name for p in phenotypes]), "general"]
        investigations = self._investigations(systems, rest or phenotypes)
        n_figures = rng.randint(2, 6)
        with_figure = [inv for inv in investigations if inv.term.category in FIGURE_CATEGORIES][:n_figures]
        photos = signs[: min(len(signs), n_figures - len(with_figure), 1 + int(rng.random() < 0.3))]
        imaging = [inv for inv in with_figure if inv.term.category == "imaging"]
        followup = None
        if imaging and len(with_figure) + len(photos) < n_figures:
            followup = Investigation(imaging[0].term, "partial improvement of the previous findings", None)
        spare = [p for p in phenotypes if p not in signs and p not in presenting]
        while len(with_figure) + len(photos) + (followup is not None) < max(2, n_figures) and spare:
            photos.append(spare.pop(0))
        while len(with_figure) + len(photos) + (followup is not None) < 2:
            photos.append(photos[-1] if photos else presenting[0])  # few phenotypes: a second view
        surface, surface_kind = self._surface()
        plan = CasePlan(
            patient,
            presenting,
            signs,
            photos,
            investigations,
            self._treatment(systems),
            followup,
            surface,
            surface_kind,
        )
        for photo in photos:
            plan.figures.append(self._figure(len(plan.figures) + 1, None, photo.name, photo.hpo_id, surface))
        for inv in with_figure:
            inv.figure = len(plan.figures) + 1
            plan.figures.append(self._figure(inv.figure, inv.term, inv.finding, inv.hpo_id, surface))
        if followup is not None:
            followup.figure = len(plan.figures) + 1
            plan.figures.append(self._figure(followup.figure, followup.term, followup.finding, None, surface))
        return plan

    def leaks(self, text: str) -> bool:
        words = word_string(text)
        return any(p.search(words) for p in self.leak_patterns)

    def _investigations(self, systems: list[str], phenotypes: list[Phenotype]) -> list[Investigation]:
        rng = self.rng
        terms = [t for t in self.exams.terms if not t.generic]
        wanted = set(systems)
        chosen: list[Term] = []
        labs = [t for t in terms if t.category == "lab" and set(t.systems) & wanted]
        if labs:
            chosen.append(rng.choice(labs))
        visual = [t for t in terms if t.category in FIGURE_CATEGORIES and set(t.systems) & wanted]
        rng.shuffle(visual)
        cap = rng.randint(1, 3)
        categories: set[str] = set()
        for term in visual:
            if len(categories) >= cap:
                break
            if term.category not in categories:
                chosen.append(term)
                categories.add(term.category)
        if not categories:
            fallback = [t for t in terms if t.category in FIGURE_CATEGORIES]
            chosen.append(rng.choice([t for t in fallback if "general" in t.systems] or fallback))
        chosen.sort(key=lambda t: _EXAM_ORDER.get(t.category, len(_EXAM_ORDER)))
        genetic = [t for t in terms if t.category == "genetic"]
        if self.facts.gene_symbol:
            sequencing = [t for t in genetic if t.id in _SEQUENCING]
            if sequencing:
                chosen.append(rng.choice(sequencing))
        elif genetic and rng.random() < 0.3:
            chosen.append(rng.choice([t for t in genetic if t.id in _CYTOGENETIC] or genetic))
        pool = list(phenotypes)
        return [self._finding(term, pool) for term in chosen]

    def _finding(self, term: Term, pool: list[Phenotype]) -> Investigation:
        """The result an examination reports: a phenotype of its body system when there is one.

        A finding whose words would make the drafter's vocabulary read another examination in the
        sentence ("CT of the chest revealed cerebral atrophy" reads as a head CT) is not used.
        """
        if term.category == "genetic":
            if not self.facts.gene_symbol:
                return Investigation(term, "no pathogenic copy-number variant", None)
            finding = self.rng.choice(
                (
                    "a heterozygous pathogenic variant",
                    "a homozygous pathogenic variant",
                    "compound heterozygous pathogenic variants",
                )
            )
            return Investigation(term, f"{finding} in the {self.facts.gene_symbol} gene", None)
        shown_by = _RESULT_WORDS.get(term.category)
        for phenotype in pool:
            finding = lower_first(phenotype.name)
            if shown_by is not None and not shown_by.search(finding):
                continue
            if set(systems_of([phenotype.name])) & set(term.systems) and self._reads_as(term, finding):
                pool.remove(phenotype)
                return Investigation(term, finding, phenotype.hpo_id)
        generic = list(_GENERIC_FINDINGS.get(term.category, _GENERIC_FINDINGS["lab"]))
        self.rng.shuffle(generic)
        return Investigation(term, next((f for f in generic if self._reads_as(term, f)), generic[0]), None)

    def _reads_as(self, term: Term, finding: str) -> bool:
        return self.exams.first_match(f"{capitalise(term.phrase)} revealed {finding}.") == term.id

    def _treatment(self, systems: list[str]) -> Term | None:
        terms = [t for t in self.treatments.terms if t.category != "other"]
        fitting = [t for t in terms if set(t.systems) & set(systems)] or terms
        return self.rng.choice(fitting) if fitting else None

    def _surface(self) -> tuple[str, str]:
        """How the text names the disorder: its label, or (30%) a long-form synonym, so mapping is
        measured on synonyms too."""
        synonyms = [s for s in self.facts.running_synonyms if len(s) > 6 and any(c.islower() for c in s)]
        if synonyms and self.rng.random() < 0.3:
            return self.rng.choice(synonyms), "synonym"
        return self.facts.running_label, "label"

    def _figure(
        self, number: int, term: Term | None, finding: str, hpo_id: str | None, surface: str
    ) -> FigurePlan:
        rng = self.rng
        n_panels = rng.choice((1, 1, 2, 2, 3))
        panels = tuple("ABC"[:n_panels]) if n_panels > 1 else ()
        per_panel = rng.randrange(320, 640, 8)
        style = figure_style(term) if term is not None else "photo"
        what = term.name if term is not None else "Clinical photograph"
        names_dx = rng.random() < 0.2  # captions sometimes name the diagnosis, as real ones do
        view = f" in a patient with {surface}" if names_dx else ""
        panel_text = "".join(f" ({p}) {v}." for p, v in zip(panels, _VIEWS, strict=False))
        return FigurePlan(
            number=number,
            kind=term.id if term is not None else CLINICAL_PHOTOGRAPH,
            exam_name=term.name if term is not None else None,
            category=term.category if term is not None else "clinical",
            style=style,
            finding=finding,
            hpo_id=hpo_id,
            panels=panels,
            image_format="PNG" if style in ("trace", "scintigraphy") or rng.random() < 0.1 else "JPEG",
            width=per_panel * max(1, len(panels)),
            height=int(per_panel * rng.uniform(0.7, 1.0)) // 8 * 8,
            caption_title=f"{what} findings",
            caption_text=f"{what} showing {finding}{view}.{panel_text}",
            caption_names_diagnosis=names_dx,
        )


def figure_style(term: Term) -> str:
    """How :mod:`mmrare.synth.images` draws an examination's figure."""
    for pattern, style in _STYLE_RULES:
        if re.search(pattern, term.id):
            return style
    return _CATEGORY_STYLE.get(term.category, "ct")


def leak_patterns(facts: DiseaseFacts) -> list[re.Pattern[str]]:
    """Every name of the disorder, and its label's distinctive head word, over :func:`word_string`."""
    patterns = []
    for name in (facts.label, *facts.synonyms):
        words = word_string(name).strip()
        if not words:
            continue
        patterns.append(re.compile(re.escape(f" {words} ")))
        last = words.split()[-1]
        if len(last) >= 5 and last not in _GENERIC_HEADS:
            patterns.append(re.compile(re.escape(f" {last} ")))
    return patterns


def word_string(text: str) -> str:
    """Lower-case alphanumeric words joined by single spaces, padded with a space on each side."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def lower_first(text: str) -> str:
    """ "Seizure" -> "seizure"; acronyms and names with a second capital ("EEG", "IgA") stay."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
