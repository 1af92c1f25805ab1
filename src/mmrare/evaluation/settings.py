"""Scoring settings. Every value that can change a score lives here and is written into the results."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScoringSettings(BaseModel):
    """Defaults are the published protocol; results record the values actually used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partial_credit: float = Field(0.5, ge=0.0, le=1.0, description="credit for an ORDO parent/child")
    max_parent_descendants: int = Field(
        10, ge=0, description="a parent earns partial credit only with at most this many descendants"
    )
    bootstrap_resamples: int = Field(1000, ge=100)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    seed: int = 0
    mcnemar_exact_below: int = Field(25, ge=0, description="exact binomial test under this many discordant")
    cutoffs: dict[str, str] = Field(
        default_factory=dict,
        description='training cutoff "YYYY-MM" per model (evaluation.contamination): the post_cutoff subset',
    )
