"""Write one synthetic case report in the structure real ones have.

Title, abstract (flat or structured), introduction (what the disorder is, from ORDO), case
presentation (patient, presenting phenotypes, examination with clinical photographs),
investigations (one paragraph per examination, each citing its figure; the genetic test last),
then **the sentence that states the diagnosis, after every investigation**, treatment after the
diagnosis, outcome (maybe a follow-up image), discussion (disorder, gene, a differential diagnosis)
and conclusion. Investigations and treatment are subsections of the case presentation or sections of
their own, at random, as in real journals.

The case sections never name the disease before the diagnosis sentence (see :mod:`.plan`), so the
diagnosis track can cut right before it. Every sentence that tracks ground truth (an investigation,
the diagnosis, the treatment) starts its own paragraph, so its id cannot shift with how the sentence
splitter reads the text around it. One ``random.Random`` keyed by seed and case index drives every
choice, so a case never depends on another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from mmrare.synth.diseases import DiseaseFacts
from mmrare.synth.document import CaseDocument, FigRef, FigurePlan, Paragraph, Piece, Section, Sentence
from mmrare.synth.plan import CLINICAL_PHOTOGRAPH, CasePlan, Planner, capitalise, lower_first
from mmrare.synth.truth import ground_truth
from mmrare.synth.vocab import vocabulary

_TREATMENT_VERBS = {
    "surgery": "{subj} underwent {phrase}.",
    "procedure": "{subj} underwent {phrase}.",
    "transplant": "{subj} underwent {phrase}.",
    "radiotherapy": "{subj} received {phrase}.",
    "radionuclide": "{subj} received {phrase}.",
    "diet": "{subj} was started on a {phrase}.",
    "supportive": "{subj} was managed with {phrase}.",
}
_DEFAULT_TREATMENT_VERB = "{subj} was treated with {phrase}."
_TYPE_WORDS = frozenset(
    {"malformation syndrome", "morphological anomaly", "clinical syndrome", "biological anomaly"}
)


@dataclass(frozen=True, slots=True)
class ComposedCase:
    """The article to write and the ground truth to write beside it."""

    document: CaseDocument
    ground_truth: dict[str, Any]


def compose_case(facts: DiseaseFacts, seed: int, index: int, pmcid: str) -> ComposedCase:
    """The article and ground truth of case ``index`` of ``seed``."""
    rng = random.Random(f"mmrare-synth/{seed}/{index}/text")
    exams, treatments = vocabulary("examinations"), vocabulary("treatments")
    plan = Planner(facts, rng, exams, treatments).plan()
    document = _Writer(facts, plan, rng, pmcid, year=2015 + (seed + index) % 10).document()
    versions = {"examinations": exams.version, "treatments": treatments.version}
    return ComposedCase(document, ground_truth(facts, plan, document, seed, index, versions))


class _Writer:
    def __init__(self, facts: DiseaseFacts, plan: CasePlan, rng: random.Random, pmcid: str, year: int):
        self.facts = facts
        self.plan = plan
        self.rng = rng
        self.pmcid = pmcid
        self.year = year
        # The case names its disease one way throughout: the ORDO label, or the synonym the plan chose.
        self.label = plan.surface  # inside a sentence
        self.label_start = facts.label if plan.surface_kind == "label" else capitalise(plan.surface)
        acronym = next((s for s in facts.synonyms if s.isupper() and 2 <= len(s) <= 8 and s.isalnum()), None)
        self.label_first = f"{self.label_start} ({acronym})" if acronym else self.label_start
        self.presenting = [lower_first(p.name) for p in plan.presenting]
        self.treatment_phrase = plan.treatment.phrase if plan.treatment else "supportive care"
        self.kind = facts.entity_type if facts.entity_type in _TYPE_WORDS else "disease"

    def document(self) -> CaseDocument:
        abstract, abstract_sections = self._abstract()
        case = self._case_presentation()
        investigations, treatment = self._investigations(), self._treatment()
        if self.rng.random() < 0.5:
            case.children = [investigations, treatment]
            body = [self._introduction(), case]
        else:
            body = [self._introduction(), case, investigations, treatment]
        body += [self._discussion(), self._conclusion()]
        keywords = (
            "Case report",
            "Rare disease",
            self.label_start,
            *(p.name for p in self.plan.presenting[:2]),
        )
        return CaseDocument(
            self.pmcid,
            self._title(),
            self.year,
            tuple(dict.fromkeys(keywords)),
            abstract,
            abstract_sections,
            body,
            self.plan.figures,
        )

    def _title(self) -> str:
        p, label = self.plan.patient, self.label_start
        patient = f"{_article(p.age)} {p.age}-year-old {p.noun}"
        if self.rng.random() < 0.7:
            return self.rng.choice(
                (
                    f"{label} in {patient}: a case report",
                    f"A rare case of {self.label}",
                    f"{label} presenting with {self.presenting[0]}: a case report and literature review",
                )
            )
        return self.rng.choice(
            (
                f"An unusual cause of {self.presenting[0]} in {patient}: a case report",
                f"{capitalise(_join(self.presenting[:2]))} in a {p.noun}: a diagnostic challenge",
            )
        )

    def _abstract(self) -> tuple[list[Paragraph], list[Section]]:
        p = self.plan.patient
        patient = f"{_article(p.age)} {p.age}-year-old {p.noun}"
        exams = [inv.term.phrase for inv in self.plan.investigations[:2]]
        sentences = [
            _s(f"{self.label_first} is a rare disorder, and few cases have been reported.", names_dx=True),
            _s(f"We report {patient} who presented with {_join(self.presenting)}."),
            _s(
                f"Investigations including {_join(exams)} led to the diagnosis of {self.label}.",
                names_dx=True,
            ),
            _s(f"The patient was treated with {self.treatment_phrase} and improved."),
            _s(f"This case illustrates the diagnostic work-up of {self.label}.", names_dx=True),
        ]
        if self.rng.random() < 0.5:
            return [Paragraph(sentences)], []
        return [], [
            Section("Background", "abstract", paragraphs=[Paragraph(sentences[:1])]),
            Section("Case presentation", "abstract", paragraphs=[Paragraph(sentences[1:4])]),
            Section("Conclusions", "abstract", paragraphs=[Paragraph(sentences[4:])]),
        ]

    def _introduction(self) -> Section:
        facts = self.facts
        intro = Section(self.rng.choice(("Introduction", "Background")), "background", "intro")
        intro.paragraphs.append(Paragraph([_s(f"{self.label_first} is a rare {self.kind}.", names_dx=True)]))
        if facts.definition:  # quoted from ORDO: its own paragraph, its splitting is not ours
            intro.paragraphs.append(Paragraph([Sentence((facts.definition,), tracked=False)]))
        closing = [
            _s(f"Here, we report a case of {self.label} with {_join(self.presenting[:2])}.", names_dx=True)
        ]
        if facts.gene_symbol:
            closing.insert(
                0, _s(f"The disorder has been associated with variants in the {facts.gene_symbol} gene.")
            )
        intro.paragraphs.append(Paragraph(closing))
        return intro

    def _case_presentation(self) -> Section:
        rng, p = self.rng, self.plan.patient
        case = Section(
            rng.choice(("Case presentation", "Case report", "Case description")), "case_presentation", "cases"
        )
        duration = rng.choice(("a 3-month", "a 6-month", "a 1-year", "a 2-week", "a several-year"))
        where = rng.choice(("to our outpatient clinic", "to the emergency department", "to our department"))
        case.paragraphs.append(
            Paragraph(
                [
                    _s(
                        f"{capitalise(_article(p.age))} {p.age}-year-old {p.noun} presented {where} with "
                        f"{duration} course of "
                        f"{_join(self.presenting)}."
                    ),
                    _s(f"{p.subj} had no relevant past medical problems."),
                    _s("There was no family history of similar symptoms."),
                ]
            )
        )
        photos = [f for f in self.plan.figures if f.kind == CLINICAL_PHOTOGRAPH]
        if self.plan.signs or photos:
            signs = [lower_first(s.name) for s in self.plan.signs] or [photos[0].finding]
            verb = "were" if len(signs) > 1 else "was"
            exam = [
                _s(*_cite(f"On physical examination, {_join(signs)} {verb} noted", photos[:1]), key="photo")
            ]
            for photo in photos[1:]:
                text = f"{capitalise(lower_first(photo.finding))} was also observed"
                exam.append(_s(*_cite(text, [photo]), key="photo"))
            case.paragraphs.append(Paragraph(exam))
        return case

    def _investigations(self) -> Section:
        rng = self.rng
        section = Section(
            rng.choice(("Investigations", "Diagnostic assessment", "Diagnostic work-up")), "investigations"
        )
        for inv in self.plan.investigations:
            verb = rng.choice(("revealed", "showed", "demonstrated"))
            if inv.term.category == "genetic":
                verb = "identified" if self.facts.gene_symbol else "showed"
            text = f"{capitalise(inv.term.phrase)} {verb} {inv.finding}"
            sentence = _s(*_cite(text, self._figures(inv.figure)), key=f"investigation:{inv.term.id}")
            section.paragraphs.append(Paragraph([sentence]))
        section.paragraphs.append(Paragraph([self._diagnosis_sentence()]))
        return section

    def _diagnosis_sentence(self) -> Sentence:
        surface, gene = self.plan.surface, self.facts.gene_symbol
        options = [
            f"Based on these findings, the patient was diagnosed with {surface}.",
            f"Taken together, the findings were consistent with {surface}.",
            f"A final diagnosis of {surface} was made.",
        ]
        if gene:
            options.append(
                f"Together with the {gene} variant, these findings confirmed the diagnosis of {surface}."
            )
        return _s(self.rng.choice(options), key="diagnosis", names_dx=True)

    def _treatment(self) -> Section:
        rng, p, plan = self.rng, self.plan.patient, self.plan
        section = Section(
            rng.choice(("Treatment", "Treatment and outcome", "Management and follow-up")), "treatment"
        )
        if plan.treatment is not None:
            template = _TREATMENT_VERBS.get(plan.treatment.category, _DEFAULT_TREATMENT_VERB)
            text = template.format(subj=p.subj, phrase=plan.treatment.phrase)
            section.paragraphs.append(Paragraph([_s(text, key="treatment")]))
        months = rng.choice((3, 6, 12, 18))
        outcome = [_s(f"At the {months}-month follow-up, {p.poss} symptoms had improved.")]
        if plan.followup is not None:
            text = f"Follow-up {plan.followup.term.phrase} showed {plan.followup.finding}"
            outcome.append(_s(*_cite(text, self._figures(plan.followup.figure)), key="followup"))
        section.paragraphs.append(Paragraph(outcome))
        return section

    def _discussion(self) -> Section:
        facts = self.facts
        section = Section("Discussion", "discussion", "discussion")
        section.paragraphs.append(
            Paragraph(
                [
                    _s(
                        f"{self.label_start} is a rare {self.kind} with a broad clinical spectrum.",
                        names_dx=True,
                    ),
                    _s(
                        f"Our patient presented with {_join(self.presenting)}, which are typical features of "
                        "the disorder."
                    ),
                ]
            )
        )
        more: list[Sentence] = []
        if facts.differential_running_label:
            exam = self.plan.investigations[0].term.phrase if self.plan.investigations else "clinical"
            more.append(
                _s(
                    f"The differential diagnosis included {facts.differential_running_label}, which was "
                    f"excluded on the basis of the {exam} findings."
                )
            )
        if facts.gene_symbol:
            more.append(
                _s(
                    f"Pathogenic variants in {facts.gene_symbol} are a known cause of {self.label}.",
                    names_dx=True,
                )
            )
        more.append(_s(f"Treatment with {self.treatment_phrase} was well tolerated in our patient."))
        section.paragraphs.append(Paragraph(more))
        return section

    def _conclusion(self) -> Section:
        section = Section(self.rng.choice(("Conclusions", "Conclusion")), "conclusion", "conclusions")
        signs = _join(self.presenting[:2])
        text = f"Clinicians should be aware of {self.label} in patients presenting with {signs}."
        section.paragraphs.append(Paragraph([_s(text, names_dx=True)]))
        return section

    def _figures(self, number: int | None) -> list[FigurePlan]:
        return [f for f in self.plan.figures if f.number == number]


def _s(*pieces: Piece, key: str | None = None, names_dx: bool = False) -> Sentence:
    return Sentence(tuple(pieces), key=key, names_diagnosis=names_dx)


def _cite(text: str, figures: list[FigurePlan]) -> list[Piece]:
    """``text`` + " (Figure n)." when a figure is cited, else + "."."""
    if not figures:
        return [text, "."]
    return [text, " (", FigRef(figures[0].number), ")."]


def _article(number: int) -> str:
    """ "an" before numbers read with a leading vowel sound (8, 11, 18, 80-89), else "a"."""
    return "an" if str(number).startswith("8") or number in (11, 18) else "a"


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return items[0] if items else "nonspecific symptoms"
    return ", ".join(items[:-1]) + " and " + items[-1]
