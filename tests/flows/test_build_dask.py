"""``mmrare build`` on a local Dask cluster (2 worker processes) gives the warehouse rows of a threaded
build: the same three sample cases, built into two workspaces that share one content-keyed cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from mmrare.config import load_config

pytestmark = pytest.mark.slow

CASES = ("PMC6358579", "PMC7500000", "PMC6358580")
# Tables written by the orchestrator about runs, not content.
RUN_TABLES = {"runs", "schema_migrations"}


def _content_rows(db: Path) -> dict[str, list[tuple]]:
    """Every row of every content table, without run ids and timestamps, in a stable order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for table, column, dtype in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall():
            if table in RUN_TABLES or column == "run_id" or dtype.startswith("TIMESTAMP"):
                continue
            columns.setdefault(table, []).append(column)
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        out = {}
        for table, cols in columns.items():
            if table in views:
                continue
            names = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(f'SELECT {names} FROM "{table}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


def test_dask_build_gives_the_rows_of_a_threaded_build(
    prefect_harness, write_config, shared_dir: Path, tmp_path: Path
) -> None:
    from mmrare.flows.build import run_build_flow

    src = tmp_path / "src"
    for pmcid in CASES:
        shutil.copytree(shared_dir / "pmc" / "packages" / pmcid, src / pmcid)
    threads = write_config(tmp_path / "threads.toml", tmp_path / "ws-threads", [src])
    dask = write_config(tmp_path / "dask.toml", tmp_path / "ws-dask", [src])

    threaded = run_build_flow(str(threads), workers=2, show_progress=False)
    on_dask = run_build_flow(str(dask), workers=2, show_progress=False, executor="dask")

    assert threaded["cases"] == on_dask["cases"] == 3
    assert threaded["rows_added"] == on_dask["rows_added"]
    assert on_dask["stages"]["draft"]["processed"] == 3 and on_dask["stages"]["leakage"]["decided"] > 0
    expected = _content_rows(load_config(threads).warehouse_path)
    got = _content_rows(load_config(dask).warehouse_path)
    assert set(got) == set(expected)
    assert expected["qa_items"] and expected["leakage_contexts"] and expected["case_diagnoses"]
    for table, rows in expected.items():
        assert got[table] == rows, table

    # a second run on the cluster finds everything done
    again = run_build_flow(str(dask), workers=2, show_progress=False, executor="dask")
    assert again["processed"] == 0 and again["rows_added"] == {}


def test_task_runner_choice(prefect_harness) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from mmrare.errors import FatalError
    from mmrare.flows.runners import task_runner

    with task_runner("threads", 3) as runner:
        assert isinstance(runner, ThreadPoolTaskRunner)
    with pytest.raises(FatalError, match="unknown executor"), task_runner("ray", 2):
        pass
    with task_runner("dask", 2) as runner:
        assert isinstance(runner, DaskTaskRunner)
        assert runner.cluster_kwargs["n_workers"] == 2 and runner.cluster_kwargs["threads_per_worker"] == 1
