"""The shape every per-record stage has (datatrove's step: a name, what it reads, ``run``, what it
writes), and what one record's work hands back to the runner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    import duckdb

    from mmrare.stages.resources import BuildResources

Rows = dict[str, list[dict[str, Any]]]
R = TypeVar("R")


@dataclass(slots=True)
class Done:
    """One record's work: its rows per table and how it came out.

    ``outcome`` is counted in the stage's summary ("case", "diagnosed", ...); ``counts`` adds named
    figures (items per track); ``reject_lines`` are the one-line reasons the CLI prints.
    """

    record_id: str
    outcome: str
    rows: Rows = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Pending(Generic[R]):
    """What a stage has to do: the keys of its records (light: ids or paths; :meth:`Stage.load` reads
    a chunk's records when that chunk's turn comes), what they share (read once in the flow's
    process and handed to every chunk), how many records were already done, and records turned away
    before any work (their ``rejects`` rows and lines)."""

    records: Sequence[Any]
    shared: Any = None
    skipped_done: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    reject_lines: list[str] = field(default_factory=list)


class Stage(Protocol[R]):
    """A per-record stage. ``pending`` runs in the flow's process with the warehouse open; ``run``
    runs wherever the executor puts it (a thread, a Dask worker) and sees only its arguments."""

    name: str
    tables: tuple[str, ...]

    def pending(self, con: duckdb.DuckDBPyConnection, resources: BuildResources) -> Pending[R]: ...

    def load(self, con: duckdb.DuckDBPyConnection, keys: Sequence[Any]) -> Sequence[R]:
        """The records of one chunk's keys, read in the flow's process just before the chunk runs."""
        ...

    def record_id(self, record: R) -> str: ...

    def run(self, record: R, shared: Any, resources: BuildResources, run_id: str) -> Done: ...


def merge_rows(into: Rows, rows: Mapping[str, Sequence[dict[str, Any]]]) -> None:
    """Append ``rows`` table by table."""
    for table, table_rows in rows.items():
        into.setdefault(table, []).extend(table_rows)


def failed(stage: str, record_id: str, exc: Exception, run_id: str) -> Done:
    """A record whose ``run`` raised: that record's reject (reason ``stage_error``, the error in one
    line), never the end of the build. No ``stage_work`` row is written, so the next build tries the
    record again (after a fix, it goes through)."""
    from mmrare.records import Reject
    from mmrare.versions import code_version

    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
    row = Reject(record_id, stage, "stage_error", detail, "", {"code": code_version()}).row()
    row["run_id"] = run_id
    return Done(record_id, "failed", {"rejects": [row]}, reject_lines=[f"{stage}: {record_id}: {detail}"])
