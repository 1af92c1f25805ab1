"""What the draft stage reads besides the case records: the distractor pool entries stored with
cases drafted before, and the diseases each case's article names in its differential."""

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


def differential_codes(
    con: duckdb.DuckDBPyConnection, pmcids: Sequence[str], ordo_sha256: str
) -> dict[str, list[tuple[str, str]]]:
    """Per case, the (linker version, ORPHA code) of every disease its article names as a
    differential diagnosis under this ORDO file, by code."""
    if not pmcids:
        return {}
    rows = con.execute(
        "SELECT DISTINCT pmcid, linker_version, code FROM disease_mentions"
        " WHERE differential AND ordo_sha256 = ? AND list_contains(?, pmcid) ORDER BY pmcid, code",
        [ordo_sha256, list(pmcids)],
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for pmcid, linker_version, code in rows:
        out.setdefault(pmcid, []).append((linker_version, code))
    return out
