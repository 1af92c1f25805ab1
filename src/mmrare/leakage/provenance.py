"""Provenance for every leakage row: the versions behind one leakage run.

Each stored score, decision, context and dataset flag names the embedding model (id + sha256), the
ORDO version the descriptor came from, the config hash, the policy (version + sha256), the code
version and a time, so any release can say exactly which rules and numbers removed what.

Every module of the stage that writes rows takes a :class:`Provenance`, so this one imports nothing
of the stage (no import circle): an embedder and a policy are read here only for their names and
digests, through the two small protocols below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from mmrare.errors import FatalError


class NamedModel(Protocol):
    """What provenance reads of an embedder (:class:`~mmrare.leakage.semantic.Embedder`)."""

    @property
    def model_id(self) -> str: ...

    @property
    def model_sha256(self) -> str: ...


class NamedPolicy(Protocol):
    """What provenance reads of a policy (:class:`~mmrare.leakage.policy.Policy`)."""

    @property
    def label(self) -> str: ...

    @property
    def sha256(self) -> str: ...


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
        embedder: NamedModel,
        policy: NamedPolicy,
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

    def require_model(self, embedder: NamedModel) -> None:
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
