"""The distractor pool: treatments, examinations and image findings seen across the selected cases.

Built once from all cases of a run (the orchestrator passes it to every ``draft_case`` call), so a
case's distractors can be real answers of other cases. Entries keep the case they came from; a case
never draws distractors from itself. The pool is ordered by PMCID, so it does not depend on the
order cases arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable

from mmrare.annotations.drafting.base import DRAFTER_VERSIONS, DraftSettings, TrackRun
from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.examination import key_investigations
from mmrare.annotations.drafting.figure_profile import case_region, figure_profile
from mmrare.annotations.drafting.findings import figure_findings
from mmrare.annotations.drafting.treatment import treatment_mentions
from mmrare.annotations.drafting.vocab import system_weights
from mmrare.items import CaseInput, DistractorPool, PoolEntry


def case_pool_entries(case: CaseInput) -> list[PoolEntry]:
    """What one case contributes: its key investigations and treatments given (with the body systems
    the case is about) and image findings (with their figure and its "modality|region" profile)."""
    view = CaseView(case)
    run = TrackRun(view, "examination", DraftSettings(), DistractorPool(), "rules", DRAFTER_VERSIONS["rules"])
    systems = case_systems(view)
    entries = [
        PoolEntry("examination", k.entry.name, k.entry.category, case.pmcid, systems=systems)
        for k in key_investigations(run)
    ]
    entries += [
        PoolEntry("treatment", m.answer, m.category, case.pmcid, systems=systems)
        for m in treatment_mentions(run)
    ]
    region = case_region(view)
    for fid in view.figures_with_images():
        profile = figure_profile(view, fid, region).category
        entries += [
            PoolEntry("finding", f.text[0].upper() + f.text[1:], profile, case.pmcid, fid)
            for f in figure_findings(view, fid)
            if f.kind == "finding"
        ]
    unique: dict[tuple[str, str], PoolEntry] = {}
    for entry in entries:
        unique.setdefault((entry.kind, entry.text.casefold()), entry)
    return list(unique.values())


def case_systems(view: CaseView, top: int = 3) -> tuple[str, ...]:
    """The body systems the case presentation talks about most ("general" left out), most first."""
    weights = system_weights(" ".join(s.text for s in view.case_sentences))
    ranked = sorted((-w, name) for name, w in weights.items() if name != "general")
    return tuple(name for _, name in ranked[:top])


def build_pool(cases: Iterable[CaseInput]) -> DistractorPool:
    """The pool of all ``cases``, ordered by PMCID then by position in the case."""
    entries: list[PoolEntry] = []
    for case in sorted(cases, key=lambda c: c.pmcid):
        entries += case_pool_entries(case)
    return DistractorPool(tuple(entries))
