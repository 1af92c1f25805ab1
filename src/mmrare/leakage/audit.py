"""Provenance for every leakage row, and the per-item context record that reviewers and releases use.

Each stored score, decision, context and dataset flag names the embedding model (id + sha256), the
ORDO version the descriptor came from, the config hash, the policy (version + sha256), the code
version and a time, so any release can say exactly which rules and numbers removed what.
Tables: ``warehouse/migrations/005_leakage.sql``; primary keys are content hashes, so re-loading the
same rows (``INSERT OR IGNORE``) is idempotent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mmrare.errors import FatalError
from mmrare.records import Reject

if TYPE_CHECKING:
    from mmrare.leakage.policy import Policy
    from mmrare.leakage.semantic import Embedder

STAGE = "leakage"


@dataclass(frozen=True, slots=True)
class Provenance:
    """The versions behind one leakage run; passed to every ``row()``."""

    model_id: str
    model_sha256: str
    ordo_version: str
    config_hash: str
    policy_version: str  # Policy.label: "leakage-policy/1+<sha256[:8]>"
    policy_sha256: str
    code_version: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def for_run(
        cls,
        embedder: Embedder,
        policy: Policy,
        *,
        ordo_version: str,
        config_hash: str,
        code_version: str = "",
    ) -> Provenance:
        """Provenance from the objects the run actually used (the model digest, not a name in a file)."""
        return cls(
            model_id=embedder.model_id,
            model_sha256=embedder.model_sha256,
            ordo_version=ordo_version,
            config_hash=config_hash,
            policy_version=policy.label,
            policy_sha256=policy.sha256,
            code_version=code_version,
        )

    def require_model(self, embedder: Embedder) -> None:
        """Refuse to score with another model than the one these rows will name (one provenance is
        made per run, before any task has its embedder: the flow's, not a worker's)."""
        if embedder.model_sha256 != self.model_sha256:
            raise FatalError(
                f"leakage scoring with model {embedder.model_sha256[:12]}, but the run's provenance names "
                f"{self.model_sha256[:12]}"
            )

    def columns(self) -> dict[str, Any]:
        """The version columns shared by decision, context and flag rows."""
        return {
            "model_id": self.model_id,
            "model_sha256": self.model_sha256,
            "ordo_version": self.ordo_version,
            "config_hash": self.config_hash,
            "policy_version": self.policy_version,
            "policy_sha256": self.policy_sha256,
            "code_version": self.code_version,
            "created_at": self.created_at,
        }

    def versions(self) -> dict[str, str]:
        """The same versions as strings, for :class:`~mmrare.records.Reject`."""
        return {
            "model": f"{self.model_id}@{self.model_sha256}",
            "ordo_version": self.ordo_version,
            "config_hash": self.config_hash,
            "policy": self.policy_version,
            "code_version": self.code_version,
        }


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
