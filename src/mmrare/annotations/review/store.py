"""One DuckDB connection shared by the review app, with the write rule that keeps submissions safe.

DuckDB allows one writing *process*; inside it, transactions are optimistic, so two threads writing
the same rows at once would make one of them fail with a conflict. The rule here:

* **Writes** go through :meth:`ReviewStore.write`: a process-wide lock is taken, a fresh cursor opens a
  transaction, and it commits (or rolls back on any error) before the lock is released. Writers are
  therefore serialised, every check-then-insert (e.g. "fewer than the required reviews so far") runs
  inside the same transaction as its insert, and two annotators submitting at once both land.
* **Reads** use their own cursor (:meth:`ReviewStore.read`) and never take the lock; DuckDB cursors
  are separate connections to the same database and are safe to use from one thread each.

The review modules receive a store, never a path: whoever opens the warehouse (the CLI) decides
whether it is migrated, and this package does not import the warehouse package.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


class ReviewStore:
    """The warehouse connection plus the single-writer lock (see the module docstring)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for queries only; closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction, holding the write lock; commits on success, else rolls back."""
        with self._lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
            finally:
                cur.close()

    def close(self) -> None:
        self._con.close()
