"""The leakage stage's dataset-level checks as a task of their own, beside detection.

The dataset checks (same-case pairs, near-duplicate contexts, duplicate images, blind solver) read
the drafts' original contexts and options, never a decision, so they need not wait for detection.
The flow submits them together with detection: what needs no vector (splitting the contexts,
same-case pairs, duplicate images and their ~50k rows at N = 2000) runs while the encoder still
works, the rest once it has embedded every text, beside detection's last wave and the flow's insert
of detection's rows into the warehouse (DuckDB works without the GIL). The flow still commits the
decisions and the flags in one transaction (:class:`~mmrare.warehouse.shards.TableLoad`), so a
failure stores neither.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from mmrare.embedding import EmbeddingCache
from mmrare.embedding.cpushare import python_work
from mmrare.flows.chunks import Sealed
from mmrare.flows.leakage_inputs import ContextVectors
from mmrare.flows.resources import BuildResources
from mmrare.leakage import Policy, Provenance
from mmrare.leakage.dataset import CheckedItem, finish_dataset_checks, prepare_dataset_checks
from mmrare.warehouse.shards import rows_table


@dataclass(frozen=True, slots=True)
class EncodedCount:
    """The embedding cache's count of encoded texts when a task started and ended, and whose count
    it is. Detection and the checks run at once: on one cache their windows overlap (and the draft
    stage's prefetch encodes in both), so :func:`encoded_during` takes each cache's window once."""

    counter: str  # process and cache
    start: int
    end: int

    @classmethod
    def since(cls, cache: EmbeddingCache, start: int) -> EncodedCount:
        """From ``start`` to now on the build's ``cache`` (:attr:`BuildResources.embeddings`)."""
        return cls(f"{os.getpid()}:{id(cache)}", start, cache.encoded)


def encoded_during(counts: Sequence[EncodedCount | None]) -> int:
    """Texts encoded while the tasks ran: per cache from the first start to the last end, summed."""
    windows: dict[str, tuple[int, int]] = {}
    for count in counts:
        if count is not None:
            low, high = windows.get(count.counter, (count.start, count.end))
            windows[count.counter] = (min(low, count.start), max(high, count.end))
    return sum(high - low for low, high in windows.values())


@dataclass(frozen=True, slots=True)
class DatasetBatch:
    """What the dataset checks need, as plain data (picklable for a Dask worker)."""

    items: list[CheckedItem]  # QAItem for the items decided now, DatasetItem for the others
    focus: frozenset[str] | None  # the items decided now; None when that is every item
    phashes: dict[str, str | None]
    policy: Policy
    provenance: Provenance  # the run's, as on its decisions
    schema: pa.Schema  # of ``dataset_flags``


@dataclass(slots=True)
class DatasetOutcome:
    """The flags as a ``dataset_flags`` table and what the checks found, for the run record."""

    flags: pa.Table
    flagged: dict[str, int] = field(default_factory=dict)
    blind_solver: dict[str, Any] = field(default_factory=dict)
    encoded: EncodedCount | None = None


def dataset_flag_rows(resources: BuildResources, batch: DatasetBatch) -> DatasetOutcome:
    """Run every dataset check over ``batch.items`` (only pairs involving a focus item when there is
    a focus); reuse and store the context vectors by content, so a top-up embeds only its own."""
    cfg = resources.cfg
    embedder = resources.leakage_embeddings()
    encoded_before = embedder.encoded
    prov = batch.provenance
    prov.require_model(embedder)
    store = ContextVectors(cfg.cache_path / "context-vectors", embedder.model_sha256, embedder.dim)
    vector_keys = {i.item_id: store.key(i.context) for i in batch.items}
    with python_work():  # beside the encoder, still embedding detection's texts
        prepared = prepare_dataset_checks(
            batch.items, batch.policy, phashes=batch.phashes, focus=batch.focus,
            known_vectors=store.get(vector_keys),
        )
        early = prepared.vector_free_flags
        parts = [rows_table("dataset_flags", [f.row(prov) for f in early], batch.schema)]
    report = finish_dataset_checks(prepared, embedder, batch.policy)  # waits for every text's vector
    store.put(vector_keys, report.vectors)
    late = [f.row(prov) for f in report.vector_flags]
    parts.append(rows_table("dataset_flags", late, batch.schema))
    summary = report.summary()
    return DatasetOutcome(
        flags=pa.concat_tables(parts), flagged=summary["flagged"], blind_solver=summary["blind_solver"],
        encoded=EncodedCount.since(resources.embeddings, encoded_before),
    )


@task(name="leakage-dataset-checks", cache_policy=NO_CACHE, task_run_name="dataset-checks-{run_id}")
def dataset_checks_task(
    resources: Sealed[BuildResources], batch: Sealed[DatasetBatch], run_id: str
) -> DatasetOutcome:
    """One Prefect task for the checks (one embed call); its state shows in the flow run."""
    return dataset_flag_rows(resources.value, batch.value)
