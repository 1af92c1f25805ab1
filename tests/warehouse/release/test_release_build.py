"""Release build on the real session warehouse: layout, content, determinism, immutability, splits."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from mmrare.errors import FatalError
from mmrare.warehouse.release import BuildResult
from mmrare.warehouse.release.croissant import validate
from mmrare.warehouse.release.schema import ITEM_SCHEMA, LETTERS, TRACKS

csv.field_size_limit(1 << 30)  # TSV cells hold base64 images


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(root: Path) -> list[dict]:
    return [r for p in sorted(root.glob("data/*/*.parquet")) for r in pq.read_table(p).to_pylist()]


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_follows_the_release_format(release: BuildResult) -> None:
    root = release.root
    assert root.name == "1.0.0"
    files = _files(root)
    for name in ("manifest.json", "croissant.json", "README.md", "LICENSES.tsv", "excluded.tsv"):
        assert name in files
    manifest = json.loads((root / "manifest.json").read_text())
    for track in TRACKS:
        assert f"jsonl/{track}.jsonl" in files
        splits = {s for s in ("dev", "test") if manifest["counts"][track][s]}
        assert {f"data/{track}/{s}.parquet" for s in splits} <= set(files) and splits
        assert {f"tsv/{track}_{s}.tsv" for s in splits} == {f for f in files if f.startswith(f"tsv/{track}")}
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    assert all(files[k] == v for k, v in manifest["files"].items())
    for key in ("version", "created_at", "code_version", "config_hash", "ordo", "embedding_model", "leakage"):
        assert manifest[key], key
    assert manifest["ordo"]["version"] == "4.2" and len(manifest["ordo"]["sha256"]) == 64
    assert manifest["embedding_model"]["id"].endswith("all-MiniLM-L6-v2")
    assert manifest["leakage"]["thresholds"]["semantic_config"]["diagnosis"] == 0.62
    assert not list(root.parent.glob(".*.tmp")), "temporary build directory left behind"


def test_every_file_has_the_item_schema_and_consistent_rows(release: BuildResult) -> None:
    for path in release.root.glob("data/*/*.parquet"):
        table = pq.read_table(path)
        assert table.schema.equals(ITEM_SCHEMA, check_metadata=False), path
        assert pq.ParquetFile(path).metadata.num_row_groups == 1
        track, split = path.parent.name, path.stem
        for row in table.to_pylist():
            assert (row["track"], row["split"]) == (track, split)
            assert row["options"][row["answer_index"]] == row["answer"]
            assert row["answer_letter"] == LETTERS[row["answer_index"]]
            assert [im["position"] for im in row["images"]] == list(range(1, len(row["images"]) + 1))
            for im in row["images"]:
                assert im["file"] == f"images/{im['sha256']}.jpg"
                assert _sha(release.root / im["file"]) == im["sha256"]
                assert im["original_name"].endswith(".jpg") and im["marker"] == f"Image {im['position']}"


def test_only_accepted_items_at_their_final_version(release: BuildResult, facts) -> None:
    rows = {r["item_id"]: r for r in _rows(release.root)}
    assert set(rows) == facts.accepted
    assert facts.rejected not in rows and facts.pending not in rows
    assert not (facts.dropped & set(rows))
    edited = rows[facts.edited]
    assert edited["item_version"] == 2  # both reviewers made the same edit: versions 1 and 2 agree
    assert edited["question"] == "Which rare disease best explains this presentation?"
    assert all(r["item_version"] == 0 for i, r in rows.items() if i != facts.edited)


def test_context_is_the_masked_leakage_context(release: BuildResult, warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    masked = dict(con.execute("SELECT item_id, masked_context FROM latest_leakage_contexts").fetchall())
    con.close()
    for row in _rows(release.root):
        assert row["context"] == masked[row["item_id"]]


def test_splits_are_by_case_and_cover_every_track(release: BuildResult) -> None:
    rows = _rows(release.root)
    splits_of: dict[str, set[str]] = {}
    for r in rows:
        splits_of.setdefault(r["pmcid"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_of.values()), splits_of
    counts = release.manifest["counts"]
    for track in TRACKS:
        # a track with one case (cross-image: only one sample case has alike figures) has one split
        both = counts[track]["dev"] > 0 and counts[track]["test"] > 0
        assert both or (counts[track]["cases"] == 1 and counts[track]["total"] > 0), (track, counts[track])
    assert release.manifest["split"]["dev_fraction"] == 0.2


def test_leakage_flags_mark_unclean_items(release: BuildResult, facts) -> None:
    rows = {r["item_id"]: r for r in _rows(release.root)}
    assert "text_answerable" in rows[facts.flagged]["leakage_flags"]
    assert rows[facts.flagged]["leakage_clean"] is False
    for r in rows.values():
        assert r["leakage_clean"] == (not r["leakage_flags"])
        assert "same_case_track" not in r["leakage_flags"]  # resolved: one case, one split
    assert any(r["leakage_clean"] for r in rows.values())
    resolved = release.manifest["leakage"]["flags_resolved"]
    assert resolved["same_case_track: same split by construction"] > 0


def test_diagnosis_items_carry_ordo_neighbours(release: BuildResult, ordo_index) -> None:
    diagnosis = [r for r in _rows(release.root) if r["track"] == "diagnosis"]
    assert diagnosis
    for row in diagnosis:
        code = row["orpha_code"]
        related = row["related_concepts"]
        parents = {rc["code"] for rc in related if rc["relation"] == "parent"}
        children = {rc["code"] for rc in related if rc["relation"] == "child"}
        assert parents == set(ordo_index.parents(code)) - {c for c in parents if ordo_index[c].obsolete}
        assert children == {c for c in ordo_index.children(code) if not ordo_index[c].obsolete}
        for rc in related:
            assert rc["label"] == ordo_index[rc["code"]].label
            assert rc["n_descendants"] == len(ordo_index.descendants(rc["code"]))
            assert tuple(rc["aliases"]) == tuple(sorted(ordo_index[rc["code"]].synonyms))
    assert any(r["related_concepts"] for r in diagnosis)


def test_jsonl_and_tsv_hold_the_same_items(release: BuildResult) -> None:
    """JSONL per track; one TSV per track and split, holding that split's rows only."""
    rows = _rows(release.root)
    assert {r["split"] for r in rows} == {"dev", "test"}
    for track in TRACKS:
        mine = sorted((r for r in rows if r["track"] == track), key=lambda r: (r["split"], r["item_id"]))
        lines = (release.root / f"jsonl/{track}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == mine
        tsv = []
        for split in ("dev", "test"):
            path = release.root / f"tsv/{track}_{split}.tsv"
            if not path.exists():
                assert not any(r["split"] == split for r in mine), (track, split)
                continue
            with open(path, encoding="utf-8", newline="") as fh:
                rows_of_split = list(csv.DictReader(fh, delimiter="\t"))
            assert {t["split"] for t in rows_of_split} == {split}, path
            assert [t["index"] for t in rows_of_split] == [str(k) for k in range(len(rows_of_split))]
            tsv += rows_of_split
        assert [t["item_id"] for t in tsv] == [r["item_id"] for r in mine]
        for t, r in zip(tsv, mine, strict=True):
            assert t["answer"] == r["answer_letter"] and t["hint"] == r["context"]
            assert t["question"] == r["question"] and t["l2-category"] == track
            assert [t[letter] for letter in LETTERS[: len(r["options"])]] == r["options"]
            assert all(t[letter] == "" for letter in LETTERS[len(r["options"]) :])
            images = json.loads(t["image"])
            assert [base64.b64decode(b) for b in images] == [
                (release.root / im["file"]).read_bytes() for im in r["images"]
            ]


def test_licence_ledger_covers_every_article_and_image(release: BuildResult) -> None:
    with open(release.root / "LICENSES.tsv", encoding="utf-8", newline="") as fh:
        ledger = list(csv.DictReader(fh, delimiter="\t"))
    articles = {r["pmcid"]: r for r in ledger if r["kind"] == "article"}
    images = {(r["pmcid"], r["path"]) for r in ledger if r["kind"] == "image"}
    for row in _rows(release.root):
        assert articles[row["pmcid"]]["licence"] == row["licence"]
        assert all((row["pmcid"], im["file"]) in images for im in row["images"])
    assert (
        articles["PMC7500000"]["licence"] == "CC-BY-4.0" and articles["PMC7500000"]["licence_flagged"] == "no"
    )
    assert articles["PMC6358579"]["licence_flagged"] == "yes"  # CC-BY-NC-ND: allowed, flagged
    assert "doi:10.1186/s12920-020-00789-8" in articles["PMC7500000"]["attribution"]


def test_croissant_validates_with_mlcroissant(release: BuildResult) -> None:
    assert validate(release.root / "croissant.json") == []
    doc = json.loads((release.root / "croissant.json").read_text())
    assert {rs["@id"] for rs in doc["recordSet"]} == set(TRACKS)
    assert "datePublished" not in doc and doc["version"] == "1.0.0"  # no time: byte-identical rebuilds
    tsv = {d["@id"]: d for d in doc["distribution"] if d["@id"].startswith("tsv/")}
    assert set(tsv) == {f for f in release.manifest["files"] if f.startswith("tsv/")}
    assert tsv["tsv/diagnosis_dev.tsv"]["description"].endswith("diagnosis track, dev split only.")


def test_croissant_record_sets_read_the_parquet_files(release: BuildResult) -> None:
    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=str(release.root / "croissant.json"))
    records = list(dataset.records("diagnosis"))
    expected = sorted(r["item_id"] for r in _rows(release.root) if r["track"] == "diagnosis")
    ids = sorted(r["diagnosis/item_id"].decode() if isinstance(r["diagnosis/item_id"], bytes)
                 else r["diagnosis/item_id"] for r in records)  # fmt: skip
    assert ids == expected


def test_datasheet_names_sources_counts_and_limitations(release: BuildResult) -> None:
    text = (release.root / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n") and "config_name: cross_image" in text
    for heading in ("## Sources", "## Tracks", "## Splits", "## Licences", "## Known limitations"):
        assert heading in text
    assert release.manifest["ordo"]["sha256"] in text
    every = release.manifest["counts"]["all"]
    assert f"{every['dev']} of {every['total']} items are dev" in text


def test_building_twice_gives_identical_files(
    release: BuildResult, warehouse: Path, tmp_path: Path, builder
) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        again = builder(con, tmp_path / "elsewhere")  # same version, another directory
        later = builder(con, tmp_path / "elsewhere", "1.0.1")  # next version, same warehouse
    finally:
        con.close()
    first, second = _files(release.root), _files(again.root)
    assert set(first) == set(second)
    assert {k for k in first if first[k] != second[k]} == {"manifest.json"}
    third = _files(later.root)
    versioned = {"manifest.json", "README.md", "croissant.json"}  # they name the version
    assert {k for k in first if first[k] != third[k]} <= versioned
    assert {k: v for k, v in first.items() if k not in versioned} == {
        k: v for k, v in third.items() if k not in versioned
    }
    m1, m2 = (json.loads((r / "manifest.json").read_text()) for r in (release.root, again.root))
    assert {k: v for k, v in m1.items() if k != "created_at"} == {
        k: v for k, v in m2.items() if k != "created_at"
    }


def test_existing_version_is_refused(con: duckdb.DuckDBPyConnection, tmp_path: Path, builder) -> None:
    builder(con, tmp_path)
    before = _files(tmp_path / "1.0.0")
    with pytest.raises(FatalError, match=r"1\.0\.0 exists; releases are immutable"):
        builder(con, tmp_path)
    assert _files(tmp_path / "1.0.0") == before
    with pytest.raises(FatalError, match="recorded in the warehouse"):
        builder(con, tmp_path / "other")  # the directory is elsewhere, but the version was built
    with pytest.raises(FatalError, match=r"use X\.Y\.Z"):
        builder(con, tmp_path, "1.0")


def test_build_records_the_release_and_rejects(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder
) -> None:
    result = builder(con, tmp_path, retracted=frozenset({"PMC6358580"}))
    row = con.execute("SELECT version, manifest_sha256 FROM releases").fetchone()
    assert row == ("1.0.0", _sha(result.root / "manifest.json"))
    n = con.execute("SELECT count(*) FROM release_items WHERE version = '1.0.0'").fetchone()
    assert n and n[0] == result.n_items
    reject = con.execute("SELECT record_id, stage, reason FROM rejects WHERE stage = 'release'").fetchall()
    assert reject == [("PMC6358580", "release", "retracted")]


def test_released_cases_keep_their_split(con: duckdb.DuckDBPyConnection, tmp_path: Path, builder) -> None:
    first = builder(con, tmp_path)
    second = builder(con, tmp_path, "1.1.0", split_salt="another salt", dev_fraction=0.9)
    split = {r["pmcid"]: r["split"] for r in _rows(first.root)}
    assert {r["pmcid"]: r["split"] for r in _rows(second.root)} == split
    assert second.manifest["split"]["pinned_cases"] == len(split)
