"""The rule-based drafter: offline, deterministic, the default.

Each track is a plain function of a :class:`TrackRun`; the table below names them explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mmrare.annotations.drafting.base import DRAFTER_VERSIONS, DraftSettings, TrackRun
from mmrare.annotations.drafting.cross_image import draft_cross_image
from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.diagnosis import draft_diagnosis
from mmrare.annotations.drafting.examination import draft_examination
from mmrare.annotations.drafting.treatment import draft_treatment
from mmrare.items import CaseInput, DistractorPool, DraftResult

TRACK_DRAFTERS: dict[str, Callable[[TrackRun], None]] = {
    "diagnosis": draft_diagnosis,
    "examination": draft_examination,
    "treatment": draft_treatment,
    "cross_image": draft_cross_image,
}


class RulesDrafter:
    """Drafts items from the case text, figures and vocabularies alone."""

    name = "rules"

    @property
    def version(self) -> str:
        return DRAFTER_VERSIONS[self.name]

    def draft(
        self, case: CaseInput, tracks: Sequence[str], settings: DraftSettings, pool: DistractorPool
    ) -> DraftResult:
        view = CaseView(case)
        result = DraftResult()
        for track in tracks:
            run = TrackRun(view, track, settings, pool, self.name, self.version)
            TRACK_DRAFTERS[track](run)
            result.items.extend(run.items)
            result.rejects.extend(run.rejects)
        return result
