"""Evidence-grounded QA drafts for the four tracks (diagnosis, examination, treatment, cross-image).

Public entry points: :func:`draft_case` drafts one case with a named drafter ("rules", offline and
deterministic, or "llm", any OpenAI-compatible endpoint) and :func:`build_pool` collects distractors
across cases. ``DRAFTER_VERSIONS`` gives the provenance string stored with every item.
"""

from mmrare.annotations.drafting.base import (
    DRAFTER_VERSIONS,
    DraftSettings,
    available_drafters,
    draft_case,
    get_drafter,
    resolve_tracks,
)
from mmrare.annotations.drafting.pool import build_pool

__all__ = [
    "DRAFTER_VERSIONS",
    "DraftSettings",
    "available_drafters",
    "build_pool",
    "draft_case",
    "get_drafter",
    "resolve_tracks",
]
