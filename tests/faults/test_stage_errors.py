"""A record whose stage raises is that record's reject; the chunk's other records are stored, and
an error that ends the run still ends it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmrare.errors import FatalError
from mmrare.flows.chunks import Sealed
from mmrare.flows.runner import run_chunk
from mmrare.stages.base import Done, Pending
from mmrare.warehouse.db import connect
from mmrare.warehouse.shards import arrow_schemas, load_shards


@dataclass
class _Stage:
    """A stage whose ``run`` fails the way its record says."""

    name: str = "curate"
    tables: tuple[str, ...] = ("rejects",)

    def pending(self, con: Any, resources: Any) -> Pending[str]:
        return Pending([])

    def record_id(self, record: str) -> str:
        return record

    def run(self, record: str, shared: Any, resources: Any, run_id: str) -> Done:
        if record == "bug":
            raise KeyError("a field the code did not expect")
        if record == "fatal":
            raise FatalError("ORDO file missing")
        return Done(record, "case")


def _chunk(tmp_path: Path, records: list[str]) -> tuple[list[Done], dict[str, int]]:
    con = connect(tmp_path / "w.duckdb")
    try:
        done = run_chunk.fn(
            "curate", Sealed(_Stage()), Sealed(records), Sealed(None), Sealed(None), "run-1",
            tmp_path / "shards", Sealed(arrow_schemas(con, ("rejects",))), "chunk-0",
        )  # fmt: skip
        added = load_shards(con, tmp_path / "shards", tables=("rejects",))
        stored = con.execute("SELECT record_id, stage, reason, detail FROM rejects").fetchall()
    finally:
        con.close()
    assert stored == [("bug", "curate", "stage_error", "KeyError: 'a field the code did not expect'")]
    return done, added


def test_a_record_that_raises_is_its_reject_and_the_chunk_goes_on(tmp_path: Path) -> None:
    done, added = _chunk(tmp_path, ["good", "bug", "also-good"])
    outcomes = [(d.record_id, d.outcome) for d in done]
    assert outcomes == [("good", "case"), ("bug", "failed"), ("also-good", "case")]
    assert added == {"rejects": 1}
    assert done[1].reject_lines == ["curate: bug: KeyError: 'a field the code did not expect'"]


def test_a_fatal_error_still_ends_the_run(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="ORDO file missing"):
        run_chunk.fn(
            "curate", Sealed(_Stage()), Sealed(["good", "fatal"]), Sealed(None), Sealed(None), "run-1",
            tmp_path / "shards", Sealed({}), "chunk-0",
        )  # fmt: skip
