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
whether it is migrated. The cursors, the transaction and every statement come from
:mod:`mmrare.warehouse.queries.review`; this package holds no SQL and does not import DuckDB.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mmrare.warehouse.queries.review import Cursor, reading, transaction


class ReviewStore:
    """The warehouse connection plus the single-writer lock (see the module docstring)."""

    def __init__(self, con: Cursor) -> None:
        self._con = con
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A cursor for queries only; closed afterwards."""
        with reading(self._con) as cur:
            yield cur

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """A cursor inside one transaction, holding the write lock; commits on success, else rolls back."""
        with self._lock, transaction(self._con) as cur:
            yield cur

    def close(self) -> None:
        self._con.close()
