"""The drafted item as stored in ``qa_items`` (read-only here: review never rewrites drafts)."""

from __future__ import annotations

from mmrare.annotations.review.errors import NotFound
from mmrare.items import QAItem
from mmrare.warehouse.queries import review as queries
from mmrare.warehouse.queries.review import Cursor


def load_item(cur: Cursor, item_id: str) -> QAItem:
    """The drafted item with its evidence (the content of version 0), or :class:`NotFound`."""
    item = queries.qa_item(cur, item_id)
    if item is None:
        raise NotFound(f"no item {item_id!r} in the warehouse")
    return item
