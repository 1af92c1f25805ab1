"""What the draft stage reads besides the case records: the distractor pool entries stored with
cases drafted before."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from mmrare.items import PoolEntry


def stored_pool(
    con: duckdb.DuckDBPyConnection, pmcids: Sequence[str], drafter_version: str
) -> list[PoolEntry]:
    """Pool entries of these cases by this drafter version, by case and ordinal."""
    if not pmcids:
        return []
    rows = con.execute(
        "SELECT kind, text, category, pmcid, coalesce(ref, ''), coalesce(systems, '') FROM draft_pool"
        " WHERE drafter_version = ? AND list_contains(?, pmcid) ORDER BY pmcid, ordinal",
        [drafter_version, list(pmcids)],
    ).fetchall()
    return [PoolEntry(*r[:5], tuple(s for s in r[5].split(",") if s)) for r in rows]
