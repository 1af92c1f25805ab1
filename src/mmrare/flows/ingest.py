"""``mmrare ingest``: search PMC (Entrez) or read a PMCID list, then fetch packages into the raw cache.

Fetching is concurrent inside one task (a shared rate limiter paces every thread); the flow is the
single warehouse writer: it upserts ``ingest_manifest`` and records failures in ``rejects``.
A re-run fetches only what the raw cache does not hold complete, and makes no network call for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mmrare.config import Config, load_config
from mmrare.curation.sources.cloud import PmcCloudClient
from mmrare.curation.sources.entrez import search_pmc
from mmrare.curation.sources.http import HttpClient, RateLimiter
from mmrare.curation.sources.ingest import IngestOutcome, ingest_pmcids, read_pmcid_file
from mmrare.curation.sources.rawcache import RawCache
from mmrare.records import Reject
from mmrare.versions import INGEST_VERSION, code_version
from mmrare.warehouse.db import connect
from mmrare.warehouse.runs import finish_run, start_run, upsert_ingest_manifest
from mmrare.warehouse.shards import arrow_schemas, load_shards, write_shard


def _http(cfg: Config, limiter: RateLimiter) -> HttpClient:
    src = cfg.sources
    return HttpClient(
        limiter,
        max_attempts=src.max_attempts,
        timeout=(10.0, src.timeout_s),
        deadline_s=src.deadline_s,
        retry_after_cap=src.retry_after_cap_s,
    )


def _api_key(cfg: Config) -> str | None:
    key = cfg.sources.entrez_api_key
    return key.get_secret_value() if key else None


@task(name="entrez-search", cache_policy=NO_CACHE)
def search_task(
    cfg: Config, http: HttpClient, query: str, max_results: int, mindate: str | None, maxdate: str | None
) -> list[str]:
    return search_pmc(
        query,
        max_results,
        mindate=mindate,
        maxdate=maxdate,
        tool=cfg.sources.entrez_tool,
        email=cfg.sources.entrez_email,
        api_key=_api_key(cfg),
        base_url=cfg.sources.entrez_base_url,
        client=http,
    )


@task(name="fetch-packages", cache_policy=NO_CACHE)
def fetch_task(
    cfg: Config,
    http: HttpClient,
    pmcids: Sequence[str],
    show_progress: bool,
    on_outcome: Callable[[IngestOutcome], None],
) -> list[IngestOutcome]:
    cloud = PmcCloudClient(http, base_url=cfg.sources.cloud_base_url)
    cache = RawCache(cfg.workspace_dir / "raw")
    outcomes: list[IngestOutcome] = []
    with Progress(
        TextColumn("[bold]fetch"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        disable=not show_progress,
    ) as progress:
        bar = progress.add_task("", total=len(pmcids))
        for outcome in ingest_pmcids(pmcids, cloud, cache, workers=cfg.sources.workers):
            outcomes.append(outcome)
            on_outcome(outcome)  # stored at once: a kill loses no finished package's record
            progress.update(bar, advance=1, description=f"{outcome.pmcid}: {outcome.status}")
    return outcomes


@flow(name="mmrare-ingest")
def ingest_flow(
    config_file: str | None = None,
    query: str | None = None,
    pmcids_file: str | None = None,
    max_results: int = 100,
    mindate: str | None = None,
    maxdate: str | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Fetch the PMCIDs named by ``pmcids_file`` or found by ``query`` into ``workspace/raw``."""
    logger = get_run_logger()
    cfg = load_config(Path(config_file) if config_file else None)
    # One limiter for every thread and both services: NCBI counts requests per client.
    limiter = RateLimiter.for_ncbi(_api_key(cfg))
    http = _http(cfg, limiter)
    con = connect(cfg.warehouse_path)
    run_id = start_run(con, "ingest", cfg.config_hash, code_version())
    counts: dict[str, Any] = {}
    try:
        pmcids = read_pmcid_file(Path(pmcids_file)) if pmcids_file else []
        if query:
            pmcids += search_task(cfg, http, query, max_results, mindate, maxdate)
        logger.info("%d PMCIDs to ingest", len(pmcids))
        outcomes = fetch_task(
            cfg, http, pmcids, show_progress, lambda o: upsert_ingest_manifest(con, [_manifest_row(o)])
        )
        counts = _record(con, cfg, run_id, outcomes)
        finish_run(con, run_id, "completed", counts)
    except BaseException:
        finish_run(con, run_id, "failed", counts)
        raise
    finally:
        http.close()
        con.close()
    return {**counts, "run_id": run_id}


def _record(con: Any, cfg: Config, run_id: str, outcomes: list[IngestOutcome]) -> dict[str, Any]:
    """A reject for each failure (with its one-line reason), and the run's counts."""
    versions = {"ingest": INGEST_VERSION, "config_hash": cfg.config_hash}
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        rows = [
            {
                **Reject(
                    o.pmcid, "ingest", o.reason or "failed", o.error or "", o.source_url or o.source, versions
                ).row(),
                "run_id": run_id,
            }
            for o in failed
        ]
        shard_root = cfg.workspace_dir / "shards" / "ingest"
        write_shard(shard_root, run_id, {"rejects": rows}, arrow_schemas(con))
        load_shards(con, shard_root)
    by_status: dict[str, int] = {}
    for o in outcomes:
        by_status[o.status] = by_status.get(o.status, 0) + 1
    return {
        "requested": len(outcomes),
        "by_status": by_status,
        "http_attempts": sum(o.attempts for o in outcomes),
        "failures": [f"{o.pmcid}: {o.error}" for o in failed],
    }


def _manifest_row(o: IngestOutcome) -> dict[str, Any]:
    return {
        "pmcid": o.pmcid,
        "version": o.version or 0,
        "source": o.source,
        "checksum": o.md5 or o.etag,
        "status": o.status,
        "attempts": o.attempts,
        "local_dir": o.local_dir,
        "error": o.error,
    }
