from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrare.records import Reject
from mmrare.warehouse.db import connect
from mmrare.warehouse.shards import (
    TableLoad,
    arrow_schemas,
    complete_shards,
    insert_rows,
    load_shards,
    rows_table,
    write_shard,
)


def _reject_rows() -> list[dict]:
    rows = []
    for rid in ("a.xml", "b.xml"):
        row = Reject(rid, "parse", "malformed_xml", "line 1", rid, {"parser": "p/1"}).row()
        row["run_id"] = "r1"
        rows.append(row)
    return rows


def test_load_is_idempotent_and_removes_loaded_shards(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    schemas = arrow_schemas(con)
    root = tmp_path / "shards"
    write_shard(root, "one", {"rejects": _reject_rows()}, schemas)
    assert load_shards(con, root) == {"rejects": 2}
    assert complete_shards(root) == []
    write_shard(root, "again", {"rejects": _reject_rows()}, schemas)  # same content, new run
    assert load_shards(con, root) == {"rejects": 0}
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 2


def test_unknown_column_fails_in_the_worker(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    row = {**_reject_rows()[0], "surprise": 1}
    with pytest.raises(ValueError, match="surprise"):
        write_shard(tmp_path / "s", "x", {"rejects": [row]}, arrow_schemas(con))
    assert complete_shards(tmp_path / "s") == []  # nothing half-written is visible


def test_failed_load_keeps_shards_and_inserts_nothing(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    schemas = arrow_schemas(con)
    root = tmp_path / "shards"
    write_shard(root, "good", {"rejects": _reject_rows()}, schemas)
    bad = {
        "pmcid": "PMC1",
        "version": 1,
        "title": None,
        "licence": "unknown",
        "source_path": "x",
        "xml_sha256": "0",
        "parser_version": "p",
        "subjects": "[]",
        "keywords": "[]",
    }  # title is NOT NULL in the warehouse
    write_shard(root, "bad", {"articles": [bad]}, schemas)
    with pytest.raises(Exception, match="NOT NULL"):
        load_shards(con, root)
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    assert len(complete_shards(root)) == 2


def test_a_graphic_stored_unchecked_takes_the_decoders_later_result(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    schemas = arrow_schemas(con)
    root = tmp_path / "shards"
    base = {"graphic_id": "PMC1:f1:g0", "figure_id": "PMC1:f1", "pmcid": "PMC1", "href": "f1", "path": None,
            "sha256": None, "phash": None, "format": None, "width": None, "height": None, "mode": None,
            "status": "unchecked"}
    decoded = {**base, "path": "/x/f1.jpg", "sha256": "ab" * 32, "phash": "ff00ff00ff00ff00",
               "format": "JPEG", "width": 10, "height": 20, "mode": "RGB", "status": "ok"}
    write_shard(root, "screened-out", {"graphics": [base]}, schemas)
    load_shards(con, root)
    write_shard(root, "selected", {"graphics": [decoded]}, schemas)
    load_shards(con, root)
    assert con.execute("SELECT status, width FROM graphics").fetchall() == [("ok", 10)]
    write_shard(root, "screened-out-again", {"graphics": [base]}, schemas)  # never downgraded
    load_shards(con, root)
    assert con.execute("SELECT status, width FROM graphics").fetchall() == [("ok", 10)]


def test_a_shard_holds_what_from_pylist_would_with_missing_keys_as_nulls(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = arrow_schemas(connect(tmp_path / "w.duckdb"))
    rows = _reject_rows()
    del rows[1]["detail"]  # a nullable column a producer left out
    written = write_shard(tmp_path / "s", "x", {"rejects": rows}, schemas)
    table = pq.read_table(written / "rejects.parquet")
    assert table.equals(pa.Table.from_pylist(rows, schema=schemas["rejects"]))
    assert table.column("detail").to_pylist()[1] is None


def test_a_table_load_commits_what_was_added_and_counts_only_new_rows(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    table = rows_table("rejects", _reject_rows(), arrow_schemas(con, ["rejects"])["rejects"])
    with TableLoad(con) as load:
        load.add({"rejects": table})
        load.add({"rejects": table, "articles": table.slice(0, 0)})  # same rows again, an empty table
    assert load.added == {"rejects": 2}
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 2


def test_a_failure_inside_a_table_load_stores_nothing_added_before_it(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    table = rows_table("rejects", _reject_rows(), arrow_schemas(con, ["rejects"])["rejects"])
    with pytest.raises(RuntimeError, match="checks failed"), TableLoad(con) as load:
        load.add({"rejects": table})
        raise RuntimeError("checks failed")  # e.g. the dataset checks the flow waits for
    assert load.added == {}
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    with pytest.raises(RuntimeError, match="outside"):
        load.add({"rejects": table})
    with TableLoad(con) as again:  # the connection is usable again
        again.add({"rejects": table})
    assert again.added == {"rejects": 2}


def test_an_article_parsed_again_by_a_newer_parser_gets_its_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse curated before migration 010 (no date columns, jats-parser/1) is migrated, and
    the re-parse that the parser bump causes fills the dates of the stored article row."""
    import mmrare.warehouse.db as db
    from mmrare.curation.jats import parse_jats

    package = Path(__file__).resolve().parents[3] / "shared" / "pmc" / "packages" / "PMC7500000"
    xml = package / "PMC7500000.xml"
    new = parse_jats(xml).article.row()
    old = {k: v for k, v in new.items() if k not in ("pub_date", "pub_date_type", "history_dates")}
    old["parser_version"] = "jats-parser/1"
    path = tmp_path / "w.duckdb"
    before_010 = [m for m in db.migrations() if m[0] < 10]
    with monkeypatch.context() as patch:
        patch.setattr(db, "migrations", lambda: before_010)
        con = db.connect(path)
        insert_rows(con, "articles", [old])
        con.close()
    con = db.connect(path)  # applies 010
    stored = con.execute("SELECT pub_date, parser_version FROM articles").fetchall()
    assert stored == [(None, "jats-parser/1")]
    root = tmp_path / "shards"
    write_shard(root, "reparsed", {"articles": [new]}, arrow_schemas(con))
    assert load_shards(con, root) == {"articles": 0}  # the same article: no new row ...
    columns = "pub_date, pub_date_type, history_dates, parser_version"
    row = con.execute(f"SELECT {columns} FROM articles").fetchone()
    assert row[:2] == ("2020-09-18", "epub")  # ... but its dates
    assert json.loads(row[2]) == {"received": "2020-07-27", "accepted": "2020-08-31"}
    assert row[3] == new["parser_version"]
    other_file = {**old, "xml_sha256": "0" * 64, "title": "another version of the article"}
    write_shard(root, "other", {"articles": [other_file]}, arrow_schemas(con))
    load_shards(con, root)  # another XML never overwrites the stored parse
    assert con.execute("SELECT pub_date, title FROM articles").fetchone() == ("2020-09-18", new["title"])
