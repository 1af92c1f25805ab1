"""``verify`` passes on a fresh build and names the file or item on every kind of damage."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmrare.config import SelectionConfig
from mmrare.warehouse.release import BuildResult, LicencePolicy, verify_release
from mmrare.warehouse.release.schema import PARQUET_OPTIONS


@pytest.fixture
def copy(release: BuildResult, tmp_path: Path) -> Path:
    target = tmp_path / "1.0.0"
    shutil.copytree(release.root, target)
    return target


def _rehash(root: Path, relative: str) -> None:
    """Tamper consistently: update the manifest so only the deeper checks can notice."""
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"][relative] = hashlib.sha256((root / relative).read_bytes()).hexdigest()
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_fresh_build_verifies(release: BuildResult) -> None:
    report = verify_release(release.root, policy=LicencePolicy.from_selection(SelectionConfig()))
    assert report.ok, report.errors
    assert report.n_items == release.n_items and report.n_files == len(release.manifest["files"])
    assert any("unresolved leakage flags" in w for w in report.warnings)


def test_strict_makes_unresolved_flags_errors(release: BuildResult, facts) -> None:
    report = verify_release(release.root, strict=True)
    assert not report.ok
    assert any(facts.flagged in e and "text_answerable" in e for e in report.errors)


def test_a_tampered_byte_fails(copy: Path) -> None:
    path = copy / "data/diagnosis/test.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_release(copy)
    assert not report.ok
    assert any(str(path) in e and "does not match the manifest" in e for e in report.errors)


def test_a_deleted_image_fails(copy: Path) -> None:
    image = sorted(copy.glob("images/*"))[0]
    image.unlink()
    report = verify_release(copy)
    assert any(str(image) in e and "missing" in e for e in report.errors)


def test_an_unlisted_file_fails(copy: Path) -> None:
    (copy / "images" / "extra.jpg").write_bytes(b"not in the manifest")
    report = verify_release(copy)
    assert any("extra.jpg: not listed in the manifest" in e for e in report.errors)


def test_missing_manifest_fails(copy: Path) -> None:
    (copy / "manifest.json").unlink()
    report = verify_release(copy)
    assert not report.ok and "manifest.json: not found" in report.errors[0]


def test_schema_and_row_damage_is_named(copy: Path) -> None:
    relative = "data/treatment/test.parquet"
    table = pq.read_table(copy / relative)
    rows = table.to_pylist()
    rows[0]["answer_letter"] = "J"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), copy / relative, **PARQUET_OPTIONS)
    _rehash(copy, relative)
    report = verify_release(copy)
    assert any(rows[0]["item_id"] in e and "answer_letter" in e for e in report.errors)
    pq.write_table(table.drop_columns(["licence"]), copy / relative, **PARQUET_OPTIONS)
    _rehash(copy, relative)
    assert any("schema differs" in e for e in verify_release(copy).errors)


def test_a_case_in_two_splits_fails(copy: Path) -> None:
    relative = "data/treatment/dev.parquet"
    table = pq.read_table(copy / relative)
    rows = table.to_pylist()
    other = pq.read_table(copy / "data/treatment/test.parquet").to_pylist()[0]["pmcid"]
    rows[0]["pmcid"] = other
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), copy / relative, **PARQUET_OPTIONS)
    _rehash(copy, relative)
    assert any(f"{other}: in splits dev, test" in e for e in verify_release(copy).errors)


def test_a_tsv_must_hold_its_split_only(copy: Path) -> None:
    """A test row in the dev TSV (as one mixed file per track had) is named; so is a missing TSV."""
    dev, test = "tsv/diagnosis_dev.tsv", "tsv/diagnosis_test.tsv"
    assert verify_release(copy).ok
    moved = (copy / test).read_text(encoding="utf-8").splitlines(keepends=True)[1]
    with open(copy / dev, "a", encoding="utf-8") as fh:
        fh.write(moved)
    _rehash(copy, dev)
    assert any(dev in e and "holds rows of split test" in e for e in verify_release(copy).errors)
    (copy / test).unlink()
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"][test]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert any(test in e and "missing for" in e for e in verify_release(copy).errors)


def test_licence_policy_in_force_is_checked(release: BuildResult) -> None:
    policy = LicencePolicy.from_selection(SelectionConfig(licence_deny=["CC-BY-NC-*"]))
    report = verify_release(release.root, policy=policy)
    assert any("CC-BY-NC-ND-4.0" in e and "current config policy" in e for e in report.errors)


def test_leakage_flags_must_agree_with_leakage_clean(copy: Path, facts) -> None:
    relative = next(
        p.relative_to(copy).as_posix()
        for p in copy.glob("data/examination/*.parquet")
        if facts.flagged in pq.read_table(p).column("item_id").to_pylist()
    )
    table = pq.read_table(copy / relative)
    rows = [{**r, "leakage_clean": True} if r["item_id"] == facts.flagged else r for r in table.to_pylist()]
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), copy / relative, **PARQUET_OPTIONS)
    _rehash(copy, relative)
    assert any(facts.flagged in e and "leakage_clean=True" in e for e in verify_release(copy).errors)


def test_validity_report_matches_the_data_and_renders(release: BuildResult) -> None:
    doc = json.loads((release.root / "validity.json").read_text())
    readme = (release.root / "README.md").read_text()
    assert "## Validity" in readme and "longest option" in readme
    for track, facts in doc["tracks"].items():
        assert facts["items"] == release.manifest["counts"][track]["total"]
        assert set(facts["option_only"]) == {"longest", "central"}
        assert facts["text_only"]["items"] == facts["items"]  # the blind solver answered every item
        assert facts["agreement"]["statistic"] == "fleiss_kappa"
        assert sum(facts["distractor_reasons"].values()) >= facts["items"] * 3  # 4+ options each
    assert set(doc["tracks"]["cross_image"]["distractor_reasons"]) <= {
        "same_case", "same_case_image", "same_case_permutation", "same_modality_region", "same_modality",
        "same_region",
    }  # fmt: skip


def test_a_validity_report_that_disagrees_with_the_data_fails(copy: Path) -> None:
    doc = json.loads((copy / "validity.json").read_text())
    track = next(iter(doc["tracks"]))
    doc["tracks"][track]["answer_positions"]["counts"]["A"] += 1
    (copy / "validity.json").write_text(json.dumps(doc))
    _rehash(copy, "validity.json")
    assert any(f"track {track}: answer_positions" in e for e in verify_release(copy).errors)
    (copy / "validity.json").unlink()
    assert any("validity.json: missing" in e or "validity.json" in e for e in verify_release(copy).errors)
