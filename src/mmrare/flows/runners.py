"""Where the per-record tasks of a build run: threads in this process, or a Dask cluster.

- ``threads`` (default): Prefect's thread pool; ``workers`` threads share one copy of ORDO, the
  linker and the encoder.
- ``dask``: ``prefect-dask`` on a local cluster of ``workers`` processes (one thread each), or on an
  existing scheduler at ``dask_address`` (dask-kubernetes, dask-jobqueue, ``dask scheduler``).
  Task arguments are pickled; :class:`~mmrare.stages.resources.BuildResources` travels as its config
  and each worker process loads ORDO / the linker / the encoder once from the shared cache. Workers
  write Parquet shards under the workspace, so the workspace, the cache and the sources must be on a
  filesystem every worker sees at the same paths; the flow's process stays the only warehouse writer.

A Dask worker runs Prefect's task engine, which reports to the Prefect API. The build's own
ephemeral server is started here and its URL put into the settings that travel with each task, so
local workers report to it instead of starting servers of their own. Workers on other machines
cannot reach that loopback address: give them a Prefect server they can reach (``PREFECT_API_URL``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from mmrare.errors import FatalError

Executor = Literal["threads", "dask"]
EXECUTORS: tuple[str, ...] = ("threads", "dask")


@contextmanager
def task_runner(executor: str, workers: int, dask_address: str | None = None) -> Iterator[TaskRunner]:
    """The task runner for a build (a context: the Dask path points Prefect at a reachable API)."""
    if executor not in EXECUTORS:
        raise FatalError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if dask_address is None and executor == "threads":
        yield ThreadPoolTaskRunner(max_workers=max(1, workers))
        return
    from prefect_dask import DaskTaskRunner

    if dask_address is not None:
        runner = DaskTaskRunner(address=dask_address)
    else:
        # the local scheduler and nannies live in this process: their INFO lines would bury the
        # build's own output on stderr (warnings and errors still show)
        logging.getLogger("distributed").setLevel(logging.WARNING)
        runner = DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": max(1, workers),
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            },
        )
    with _api_for_workers():
        yield runner


@contextmanager
def _api_for_workers() -> Iterator[None]:
    """Start the ephemeral Prefect server now (unless an API is configured) and make its URL part of
    the settings that prefect-dask sends with every task."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    server = SubprocessASGIServer()  # the same instance Prefect's client would start for this process
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def fewest_chunks() -> int:
    """How many chunks a per-record stage needs at least in the current flow: one per thread on
    threads, where a chunk more is only a Prefect task run more (the threads share one GIL, so for a small
    top-up more chunks are mostly task-run overhead); on Dask, where every
    chunk can get a process of its own, :data:`~mmrare.flows.chunks.MIN_CHUNKS`."""
    from prefect.context import FlowRunContext

    from mmrare.flows.chunks import MIN_CHUNKS

    ctx = FlowRunContext.get()
    if ctx is None or not isinstance(ctx.task_runner, ThreadPoolTaskRunner):
        return MIN_CHUNKS
    threads = getattr(ctx.task_runner, "_max_workers", None)  # Prefect keeps the count private
    return min(MIN_CHUNKS, threads) if isinstance(threads, int) and threads > 0 else MIN_CHUNKS


def tasks_run_here() -> bool:
    """Whether the current flow's tasks run on threads of this process (so what is loaded or cached in
    memory here is what the tasks use); False on Dask and outside a flow."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and isinstance(ctx.task_runner, ThreadPoolTaskRunner)
