"""How many chunks a per-record stage cuts its records into, by where the tasks run."""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from mmrare.flows.chunks import MIN_CHUNKS, chunked
from mmrare.flows.runners import fewest_chunks


@flow
def _chunk_counts(n: int) -> tuple[int, int]:
    return fewest_chunks(), len(chunked(list(range(n)), min_chunks=fewest_chunks()))


def test_threads_get_one_chunk_per_thread_for_small_inputs(prefect_harness) -> None:
    two = _chunk_counts.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    assert two(20) == (2, 2)  # a 20-case top-up: two task runs per stage, not eight
    assert two(2000)[1] == 16  # large inputs are still cut for progress and resumable shards
    many = _chunk_counts.with_options(task_runner=ThreadPoolTaskRunner(max_workers=32))
    assert many(20)[0] == MIN_CHUNKS


def test_outside_a_flow_the_default_minimum_holds() -> None:
    assert fewest_chunks() == MIN_CHUNKS
