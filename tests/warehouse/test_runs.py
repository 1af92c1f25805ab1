"""Run records: a run left 'running' by a killed process is closed when the next run starts."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mmrare.warehouse.db import connect
from mmrare.warehouse.runs import INTERRUPTED, finish_run, start_run


def _statuses(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, bool]]:
    rows = con.execute("SELECT run_id, status, finished_at IS NOT NULL FROM runs").fetchall()
    return {run_id: (status, finished) for run_id, status, finished in rows}


def test_a_run_its_process_never_finished_is_marked_interrupted_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = connect(path)
    done = start_run(con, "build", "cfg", "v1")
    finish_run(con, done, "completed", {})
    killed = start_run(con, "build", "cfg", "v1")
    con.close()  # the process dies here: nothing marks the run finished

    con = connect(path)
    now = start_run(con, "build", "cfg", "v1")
    assert _statuses(con) == {
        done: ("completed", True),
        killed: (INTERRUPTED, True),
        now: ("running", False),
    }
    finish_run(con, now, "failed", {})
    again = start_run(con, "draft", "cfg", "v1")
    assert _statuses(con)[now] == ("failed", True)  # finished runs keep their status
    assert _statuses(con)[again] == ("running", False)
    con.close()
