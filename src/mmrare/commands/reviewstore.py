"""The review store every ``mmrare review`` command opens over the configured warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mmrare.commands.common import fail
from mmrare.config import Config
from mmrare.errors import FatalError

if TYPE_CHECKING:
    from mmrare.annotations.review.store import ReviewStore


@contextmanager
def review_store(cfg: Config, read_only: bool = False) -> Iterator[ReviewStore]:
    """The review store over the configured warehouse (migrated when writable); closed afterwards."""
    from mmrare.annotations.review.store import ReviewStore
    from mmrare.warehouse.db import connect, schema_version

    try:
        con = connect(cfg.warehouse_path, read_only=read_only)
    except FatalError as exc:
        raise fail(exc) from exc
    if schema_version(con) < 6:
        con.close()
        raise fail(
            FatalError(f"{cfg.warehouse_path} has no review tables yet; run `mmrare review serve` once")
        )
    store = ReviewStore(con)
    try:
        yield store
    finally:
        store.close()
