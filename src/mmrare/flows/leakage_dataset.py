"""The leakage stage's dataset-level checks as a task of their own, beside storing the decisions.

The dataset checks (same-case pairs, near-duplicate contexts, duplicate images, blind solver) read
the drafts' original contexts and options, never a decision, so they do not wait for detection's
rows to be stored. Run as their own task once detection's rows are back, they overlap the flow's
insert of those rows into the warehouse: DuckDB works without the GIL, the checks are mostly Python
and faiss. At N = 2000 the insert (~1 s of the ~1.7 s load) then no longer comes after the checks,
on one core, while the other idles. The flow still commits the decisions and the flags in one
transaction (:class:`~mmrare.warehouse.shards.TableLoad`), so a failure stores neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from mmrare.flows.chunks import Sealed
from mmrare.flows.leakage_inputs import ContextVectors
from mmrare.flows.resources import BuildResources
from mmrare.leakage import Policy, Provenance, dataset_checks
from mmrare.leakage.dataset import CheckedItem
from mmrare.warehouse.shards import rows_table


@dataclass(frozen=True, slots=True)
class DatasetBatch:
    """What the dataset checks need, as plain data (picklable for a Dask worker)."""

    items: list[CheckedItem]  # QAItem for the items decided now, DatasetItem for the others
    focus: frozenset[str] | None  # the items decided now; None when that is every item
    phashes: dict[str, str | None]
    policy: Policy
    prov: Provenance  # the decisions' provenance: flags and decisions of one run share it
    schema: pa.Schema  # of ``dataset_flags``


@dataclass(slots=True)
class DatasetOutcome:
    """The flags as a ``dataset_flags`` table and what the checks found, for the run record."""

    flags: pa.Table
    flagged: dict[str, int] = field(default_factory=dict)
    blind_solver: dict[str, Any] = field(default_factory=dict)
    encoded: int = 0  # texts the encoder embedded for the checks (none when all were prefetched)


def dataset_flag_rows(resources: BuildResources, batch: DatasetBatch) -> DatasetOutcome:
    """Run every dataset check over ``batch.items`` (only pairs involving a focus item when there is
    a focus); reuse and store the context vectors by content, so a top-up embeds only its own."""
    cfg = resources.cfg
    embedder = resources.leakage_embeddings()
    encoded_before = embedder.encoded
    store = ContextVectors(cfg.cache_path / "context-vectors", embedder.model_sha256, embedder.dim)
    vector_keys = {i.item_id: store.key(i.context) for i in batch.items}
    report = dataset_checks(
        batch.items, embedder, batch.policy, phashes=batch.phashes, focus=batch.focus,
        known_vectors=store.get(vector_keys),
    )
    store.put(vector_keys, report.vectors)
    flags = rows_table("dataset_flags", [f.row(batch.prov) for f in report.flags], batch.schema)
    summary = report.summary()
    return DatasetOutcome(
        flags=flags, flagged=summary["flagged"], blind_solver=summary["blind_solver"],
        encoded=embedder.encoded - encoded_before,
    )


@task(name="leakage-dataset-checks", cache_policy=NO_CACHE, task_run_name="dataset-checks-{run_id}")
def dataset_checks_task(
    resources: Sealed[BuildResources], batch: Sealed[DatasetBatch], run_id: str
) -> DatasetOutcome:
    """One Prefect task for the checks (one embed call); its state shows in the flow run."""
    return dataset_flag_rows(resources.value, batch.value)
