"""Diagnosis track: what is the most likely diagnosis, given the presentation and all the images?

The context is the case presentation cut before the first sentence that states the final diagnosis:
an evidence sentence given upstream, or a sentence with a diagnostic cue ("diagnosed with",
"consistent with", "confirmed") naming the gold label, an alias or their abbreviation. Earlier
sentences that still name the disease (an opening "diagnosed with ... CPGLs", authorial framing) are
left out rather than cutting the whole presentation away; if too little is left, the draft is rejected.
Distractors are the ORDO siblings and neighbours given upstream, a longer one first where the gold
would otherwise stand out as the longest option (:func:`~.options.longer_first`).
"""

from __future__ import annotations

from mmrare.annotations.drafting.base import Draft, TrackRun
from mmrare.annotations.drafting.options import longer_first
from mmrare.annotations.drafting.text import normalise
from mmrare.items import DistractorNote

QUESTION = "Based on the case description and the images, what is the most likely diagnosis?"


def draft_diagnosis(run: TrackRun) -> None:
    view = run.view
    dx = view.case.diagnosis
    if dx is None:
        run.reject("no_diagnosis", "case has no mapped ORDO diagnosis")
        return
    unknown = [s for s in dx.evidence_sentence_ids if s not in view.by_id]
    if unknown:
        run.reject(
            "unknown_evidence_id", f"diagnosis evidence not in case: {', '.join(unknown[:5])}", dx.code
        )
        return
    terms = view.diagnosis_terms()
    evidence = set(dx.evidence_sentence_ids)
    statements = [s for s in view.case_sentences if s.sentence_id in evidence or terms.states(s.text)]
    if not statements:
        run.reject(
            "no_diagnosis_statement",
            "no case sentence states the diagnosis; the context cannot be cut safely",
            dx.code,
        )
        return
    cut = statements[0]
    kept = view.before(cut.ordinal)
    context = [s for s in kept if not terms.leaks(s.text)]
    dropped = len(kept) - len(context)
    images = view.images()
    leaked = terms.literal_names_in(view.render(context, images))
    if leaked:  # cannot happen when leaks() is right; kept as the last line of defence
        run.reject("diagnosis_leak", f"context names the diagnosis: {leaked[0]}", dx.code)
        return
    blocked = {normalise(n) for n in terms.names}
    distractors = longer_first(
        dx.label,
        [
            DistractorNote(label, "ordo_sibling_or_neighbour", code)
            for code, label in dx.distractors
            if code != dx.code and normalise(label) not in blocked
        ],
        run.settings.options,
        f"{view.pmcid}:{dx.code}",
    )
    evidence_ids = [*dx.evidence_sentence_ids, cut.sentence_id]
    cited = view.figures_cited_by([*evidence_ids, *(s.sentence_id for s in context)])
    shown = {i.figure_id for i in images}
    rationale = (
        f'Final diagnosis stated in {cut.sentence_id}: "{cut.text}" Mapped to {dx.code} {dx.label}. '
        f"The context stops before that sentence"
        + (f" and leaves out {dropped} earlier sentence(s) that name the disease." if dropped else ".")
    )
    run.add(
        Draft(
            track="diagnosis",
            question_type="diagnosis",
            question=QUESTION,
            answer=dx.label,
            distractors=distractors,
            context=context,
            images=images,
            evidence_sentence_ids=evidence_ids,
            evidence_figure_ids=[f for f in cited if f in shown],
            rationale=rationale,
            aliases=tuple(a for a in dx.aliases if normalise(a) != normalise(dx.label)),
            orpha_code=dx.code,
            forbidden=tuple(terms.names),
            key=dx.code,
        )
    )
