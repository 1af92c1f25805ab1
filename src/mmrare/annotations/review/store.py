"""The review app's access to the warehouse, with the write rule that keeps submissions safe.

DuckDB allows one writing *process*; inside it, transactions are optimistic, so two threads writing
the same rows at once would make one of them fail with a conflict. The rules here:

* **Writes** go through :meth:`ReviewStore.write`: a process-wide lock is taken, a fresh cursor opens a
  transaction, and it commits (or rolls back on any error) before the lock is released. Writers are
  therefore serialised, every check-then-insert (e.g. "fewer than the required reviews so far") runs
  inside the same transaction as its insert, and two annotators submitting at once both land.
* **Reads** use their own cursor (:meth:`ReviewStore.read`) and never take the lock; DuckDB cursors
  are separate connections to the same database and are safe to use from one thread each.
* **Holding the file.** A store made with an ``opener`` (the web app's) opens the warehouse only
  while someone uses it (:meth:`ReviewStore.session`, one per web request) and closes it when the
  last user is done. Between requests other mmrare commands (``status``, ``release build``, even a
  ``build``) can open the file, which a server holding it for its whole life would forbid.

The review modules receive a store, never a path: whoever opens the warehouse (the CLI) decides
whether it is migrated. The cursors, the transaction and every statement come from
:mod:`mmrare.warehouse.queries.review`; this package holds no SQL and does not import DuckDB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mmrare.warehouse.queries.review import Cursor, reading, transaction


class ReviewStore:
    """A warehouse connection (held, or opened per session) plus the single-writer lock."""

    def __init__(self, con: Cursor | None = None, *, opener: Callable[[], Cursor] | None = None) -> None:
        if (con is None) == (opener is None):
            raise ValueError("give a connection or an opener")
        self._con, self._opener = con, opener
        self._users = 0
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keep the warehouse open for a block; an opener's store closes it after the last block."""
        with self._open_lock:
            if self._con is None:
                assert self._opener is not None
                self._con = self._opener()
            self._users += 1
        try:
            yield
        finally:
            with self._open_lock:
                self._users -= 1
                if self._users == 0 and self._opener is not None and self._con is not None:
                    self._con.close()
                    self._con = None

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A cursor for queries only; closed afterwards."""
        with self.session(), reading(self._connection()) as cur:
            yield cur

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """A cursor inside one transaction, holding the write lock; commits on success, else rolls back."""
        with self.session(), self._lock, transaction(self._connection()) as cur:
            yield cur

    def _connection(self) -> Cursor:
        assert self._con is not None, "used outside a session"
        return self._con

    def close(self) -> None:
        with self._open_lock:
            if self._con is not None and self._users == 0:
                self._con.close()
                self._con = None
