"""The ground truth written beside each synthetic package (``ground_truth.json``).

What the benchmark can score at scale against it: the ORPHA code and label (mapping quality), the
id and text of the sentence that states the diagnosis and of every sentence that names it (masking
and cut quality), investigations and treatment with their vocabulary ids (drafting quality), and per
figure its examination, finding, panels, caption and citing sentences (image tracks). Sentence and
figure ids are the ones the project's parser gives (see :mod:`mmrare.synth.document`).
"""

from __future__ import annotations

from typing import Any

from mmrare.synth.diseases import DiseaseFacts
from mmrare.synth.document import CaseDocument, Section, Sentence
from mmrare.synth.ids import GENERATOR_VERSION, GROUND_TRUTH_SCHEMA, PMC_VERSION
from mmrare.synth.plan import CasePlan, word_string


def ground_truth(
    facts: DiseaseFacts,
    plan: CasePlan,
    doc: CaseDocument,
    seed: int,
    index: int,
    vocab_versions: dict[str, int],
) -> dict[str, Any]:
    keyed: dict[str, tuple[str, Sentence, Section | None]] = {}
    citations: dict[int, list[str]] = {}
    mentions: list[str] = []
    for sentence_id, sentence, section in doc.sentence_ids():
        if sentence.key:
            keyed.setdefault(sentence.key, (sentence_id, sentence, section))
        for number in sentence.figures:
            citations.setdefault(number, []).append(sentence_id)
        if sentence.names_diagnosis:
            mentions.append(sentence_id)
    dx_id, dx_sentence, dx_section = keyed["diagnosis"]
    return {
        "schema": GROUND_TRUTH_SCHEMA,
        "generator": GENERATOR_VERSION,
        "synthetic": True,
        "pmcid": doc.pmcid,
        "version": PMC_VERSION,
        "seed": seed,
        "index": index,
        "title": doc.title,
        "diagnosis": {
            "orpha_code": facts.code,
            "label": facts.label,
            "entity_type": facts.entity_type,
            "surface": plan.surface,
            "surface_kind": plan.surface_kind,
            "synonyms": list(facts.synonyms),
            "named_in_title": word_string(plan.surface) in word_string(doc.title),
            "sentence_id": dx_id,
            "text": dx_sentence.text,
            "section_title": dx_section.title if dx_section else "",
            "mention_sentence_ids": mentions,
        },
        "gene": {"symbol": facts.gene_symbol, "orpha_code": facts.gene_code, "relation": facts.gene_relation}
        if facts.gene_symbol
        else None,
        "differential": {"orpha_code": facts.differential_code, "label": facts.differential_label}
        if facts.differential_code
        else None,
        "patient": {"age": plan.patient.age, "sex": plan.patient.sex},
        "phenotypes": [
            {"name": p.name, "hpo_id": p.hpo_id, "source": p.source} for p in (*plan.presenting, *plan.signs)
        ],
        "investigations": [
            {
                "vocab_id": inv.term.id,
                "name": inv.term.name,
                "category": inv.term.category,
                "phrase": inv.term.phrase,
                "finding": inv.finding,
                "hpo_id": inv.hpo_id,
                "sentence_id": keyed[f"investigation:{inv.term.id}"][0],
                "text": keyed[f"investigation:{inv.term.id}"][1].text,
                "figure_ids": [f"{doc.pmcid}:fig{inv.figure}"] if inv.figure else [],
            }
            for inv in plan.investigations
        ],
        "treatment": {
            "vocab_id": plan.treatment.id,
            "name": plan.treatment.name,
            "category": plan.treatment.category,
            "phrase": plan.treatment.phrase,
            "sentence_id": keyed["treatment"][0],
            "text": keyed["treatment"][1].text,
        }
        if plan.treatment is not None
        else None,
        "figures": [
            {
                "figure_id": f"{doc.pmcid}:{fig.xml_id}",
                "xml_id": fig.xml_id,
                "label": fig.label,
                "file": fig.file_name(doc.pmcid),
                "format": fig.image_format,
                "width": fig.width,
                "height": fig.height,
                "panels": list(fig.panels),
                "kind": fig.kind,
                "exam_name": fig.exam_name,
                "category": fig.category,
                "finding": fig.finding,
                "hpo_id": fig.hpo_id,
                "caption": f"{fig.caption_title}. {fig.caption_text}",
                "caption_names_diagnosis": fig.caption_names_diagnosis,
                "cited_in": citations.get(fig.number, []),
            }
            for fig in doc.figures
        ],
        "vocab_versions": vocab_versions,
    }
