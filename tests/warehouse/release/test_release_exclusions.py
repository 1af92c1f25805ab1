"""Build-time re-checks (licence policy, retraction, image files) keep articles / items out, with reasons."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from mmrare.config import SelectionConfig
from mmrare.errors import FatalError
from mmrare.warehouse.release import LicencePolicy


def _excluded(root: Path) -> list[dict[str, str]]:
    with open(root / "excluded.tsv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _pmcids(root: Path) -> set[str]:
    return {r["pmcid"] for p in root.glob("data/*/*.parquet") for r in pq.read_table(p).to_pylist()}


def test_licence_policy_in_force_excludes_articles(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder
) -> None:
    policy = LicencePolicy.from_selection(
        SelectionConfig(licence_deny=["CC-BY-NC-ND-*"]), exclude_no_derivatives=False
    )
    result = builder(con, tmp_path, policy=policy)
    assert _pmcids(result.root) == {"PMC7500000"}
    rows = {r["pmcid"]: r for r in _excluded(result.root)}
    assert set(rows) == {"PMC6358579", "PMC6358580"}
    assert rows["PMC6358579"]["reason"] == "licence_not_allowed" and rows["PMC6358579"]["item_id"] == ""
    assert "CC-BY-NC-ND-4.0 matches the deny list" in rows["PMC6358579"]["detail"]
    assert result.manifest["counts"]["excluded_articles"] == 2
    assert "## Excluded at build time" in (result.root / "README.md").read_text()


def test_flagged_licences_can_be_excluded(con: duckdb.DuckDBPyConnection, tmp_path: Path, builder) -> None:
    policy = LicencePolicy.from_selection(
        SelectionConfig(), exclude_flagged=True, exclude_no_derivatives=False
    )
    result = builder(con, tmp_path, policy=policy)
    assert _pmcids(result.root) == {"PMC7500000"}
    assert {r["reason"] for r in _excluded(result.root)} == {"licence_flagged"}


def test_no_derivatives_licences_are_left_out_by_default(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder
) -> None:
    result = builder(con, tmp_path, policy=LicencePolicy.from_selection(SelectionConfig()))
    assert _pmcids(result.root) == {"PMC7500000"}
    rows = {r["pmcid"]: r for r in _excluded(result.root)}
    assert set(rows) == {"PMC6358579", "PMC6358580"}
    assert {r["reason"] for r in rows.values()} == {"licence_no_derivatives"}
    assert "CC-BY-NC-ND-4.0 forbids derivatives" in rows["PMC6358579"]["detail"]
    assert result.manifest["licence_policy"]["exclude_no_derivatives"] is True


@pytest.mark.parametrize(
    ("licence", "nd"),
    [("CC-BY-NC-ND-4.0", True), ("CC-BY-ND-3.0", True), ("cc-by-nd", True), ("CC-BY-4.0", False),
     ("CC-BY-NC-4.0", False), ("CC0-1.0", False), ("CC-BY-SA-4.0", False)],
)  # fmt: skip
def test_forbids_derivatives_reads_the_nd_element(licence: str, nd: bool) -> None:
    from mmrare.warehouse.release.settings import forbids_derivatives

    assert forbids_derivatives(licence) is nd


def test_retracted_articles_are_excluded(con: duckdb.DuckDBPyConnection, tmp_path: Path, builder) -> None:
    con.execute("UPDATE articles SET title = 'RETRACTED ARTICLE: ' || title WHERE pmcid = 'PMC6358580'")
    con.execute(
        "INSERT INTO rejects VALUES ('r1', 'PMC6358579', 'select', 'retracted',"
        " 'source metadata marks the article as retracted', 'x', '{}', now(), NULL)"
    )
    result = builder(con, tmp_path)
    assert _pmcids(result.root) == {"PMC7500000"}
    rows = {r["pmcid"]: r for r in _excluded(result.root)}
    assert {r["reason"] for r in rows.values()} == {"retracted"}
    assert "title marks it as retracted" in rows["PMC6358580"]["detail"]
    assert "later curation run" in rows["PMC6358579"]["detail"]


def test_missing_or_changed_image_excludes_its_items(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder, facts
) -> None:
    con.execute("UPDATE graphics SET path = '/nonexistent/gone.jpg' WHERE graphic_id = 'PMC6358580:F1:g0'")
    con.execute("UPDATE graphics SET sha256 = repeat('0', 64) WHERE graphic_id = 'PMC7500000:Fig2:g0'")
    result = builder(con, tmp_path)
    rows = _excluded(result.root)
    assert rows and all(r["reason"] == "image_unavailable" and r["item_id"] for r in rows)
    details = " ".join(r["detail"] for r in rows)
    assert "/nonexistent/gone.jpg is missing" in details and "changed since decoding" in details
    shown = {
        (r["pmcid"], im["figure_id"])
        for p in result.root.glob("data/*/*.parquet")
        for r in pq.read_table(p).to_pylist()
        for im in r["images"]
    }
    assert not {("PMC6358580", "PMC6358580:F1"), ("PMC7500000", "PMC7500000:Fig2")} & shown
    assert result.manifest["counts"]["excluded_items"] == len(rows)


def test_nothing_to_release_is_an_error(con: duckdb.DuckDBPyConnection, tmp_path: Path, builder) -> None:
    policy = LicencePolicy.from_selection(SelectionConfig(licence_allow=["CC0-1.0"]))
    with pytest.raises(FatalError, match="nothing to release"):
        builder(con, tmp_path / "releases", policy=policy)
    assert not (tmp_path / "releases").exists()


def test_an_accepted_item_breaking_an_item_invariant_is_excluded(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder, facts
) -> None:
    """Accepted rows are read as QAItem, so its invariants are the release's too; a broken row is a
    reason in excluded.tsv, not a crash and not a shipped item."""
    broken = sorted(facts.accepted - {facts.edited})[0]
    con.execute(
        "UPDATE item_versions SET answer = 'not an option' WHERE item_id = ? AND version = 0", [broken]
    )
    result = builder(con, tmp_path)
    rows = [r for r in _excluded(result.root) if r["item_id"] == broken]
    assert [(r["reason"], r["detail"]) for r in rows] == [
        ("malformed_item", "answer_index does not point at the answer")
    ]
    shipped = {
        r["item_id"] for p in result.root.glob("data/*/*.parquet") for r in pq.read_table(p).to_pylist()
    }
    assert broken not in shipped and len(shipped) == len(facts.accepted) - 1
    assert result.manifest["counts"]["excluded_items"] == 1
