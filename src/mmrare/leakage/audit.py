"""The per-item context record that reviewers and releases use, stored with its run's provenance.

Tables: ``warehouse/migrations/005_leakage.sql``; primary keys are content hashes, so re-loading the
same rows (``INSERT OR IGNORE``) is idempotent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mmrare.leakage.provenance import Provenance
from mmrare.records import Reject

STAGE = "leakage"


@dataclass(frozen=True, slots=True)
class ContextRecord:
    """The outcome for one item: the masked context (what reviewers and releases see) and its status.

    The original context stays in ``qa_items``; this is a side table keyed by item, basis, policy and
    config, so old and new policies' contexts sit side by side.
    """

    item_id: str
    track: str
    basis: str
    masked_context: str
    kept_sentence_ids: tuple[str, ...]
    dropped_sentence_ids: tuple[str, ...]
    n_masked_spans: int
    removed_fraction: float
    status: str  # "kept" | "dropped"
    reason: str
    flags: tuple[str, ...] = ()  # detectors whose score the policy flagged (option shortcuts)

    @property
    def kept(self) -> bool:
        return self.status == "kept"

    def row(self, provenance: Provenance) -> dict[str, Any]:
        """The ``leakage_contexts`` row."""
        return {
            "item_id": self.item_id,
            "track": self.track,
            "basis": self.basis,
            "masked_context": self.masked_context,
            "kept_sentence_ids": json.dumps(list(self.kept_sentence_ids)),
            "dropped_sentence_ids": json.dumps(list(self.dropped_sentence_ids)),
            "n_masked_spans": self.n_masked_spans,
            "removed_fraction": round(self.removed_fraction, 6),
            "status": self.status,
            "reason": self.reason,
            "flags": json.dumps(list(self.flags)),
            **provenance.columns(),
        }

    def reject(self, provenance: Provenance) -> Reject | None:
        """A ``rejects`` row for a dropped item (nothing silently vanishes), None for a kept one."""
        if self.kept:
            return None
        return Reject(
            record_id=self.item_id,
            stage=STAGE,
            reason="leakage_drop_item",
            detail=self.reason,
            source=self.track,
            versions=provenance.versions(),
            created_at=provenance.created_at,
        )
