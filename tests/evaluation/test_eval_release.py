"""Release reading: typed items, manifest checks, predictions file validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrare.errors import FatalError
from mmrare.evaluation.predictions import Prediction, read_predictions, write_predictions
from mmrare.evaluation.prompts import render
from mmrare.evaluation.release import load_release


def test_items_are_typed_and_ordered(release_dir: Path) -> None:
    release = load_release(release_dir)
    assert release.version == "0.1.0"
    assert [i.item_id for i in release.items] == ["D1", "D2", "D3", "E1", "E2", "T1", "X1"]
    d1 = release.by_id()["D1"]
    assert d1.answer_letter == "B" and d1.answer == "Fabry disease"
    assert [im.marker for im in d1.images] == ["Image 1", "Image 2"]
    assert d1.related_concepts[1].relation == "child"
    assert release.by_id()["X1"].evidence_image_positions == (3,)
    assert [i.item_id for i in load_release(release_dir, tracks=["diagnosis"], splits=["test"]).items] == [
        "D3"
    ]


def test_tampered_parquet_names_the_file(release_dir: Path) -> None:
    path = release_dir / "data" / "diagnosis" / "dev.parquet"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(FatalError, match=r"diagnosis/dev\.parquet: sha256 .* does not match the manifest"):
        load_release(release_dir)


def test_swapped_image_is_caught_before_sending(release_dir: Path) -> None:
    release = load_release(release_dir)
    item = release.by_id()["D1"]
    (release_dir / item.images[0].file).write_bytes(b"not the image")
    with pytest.raises(FatalError, match="does not match the release"):
        render(item, release, "mc")


def test_unknown_track_and_missing_manifest(release_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="unknown track 'diagnose'"):
        load_release(release_dir, tracks=["diagnose"])
    with pytest.raises(FatalError, match=r"manifest\.json: not found"):
        load_release(tmp_path)


def test_prompt_hash_tracks_content_and_mode(release_dir: Path) -> None:
    release = load_release(release_dir)
    d1, d2 = release.by_id()["D1"], release.by_id()["D2"]
    assert render(d1, release, "mc").sha256 == render(d1, release, "mc").sha256
    assert render(d1, release, "mc").sha256 != render(d1, release, "open").sha256
    assert render(d1, release, "mc").sha256 != render(d2, release, "mc").sha256
    texts = [p.get("text", "") for p in render(d1, release, "mc").messages[1]["content"]]
    assert "Image 1:" in texts and "B. Fabry disease" in texts[-1]
    assert "Fabry disease" not in render(d1, release, "open").messages[1]["content"][-1]["text"]


def test_predictions_round_trip_and_errors(tmp_path: Path) -> None:
    preds = [Prediction("D1", "m", "Answer: B", "B", (2,), "raw"), Prediction("D2", "m", "x")]
    sha = write_predictions(tmp_path / "p.jsonl", preds)
    back = read_predictions(tmp_path / "p.jsonl")
    assert back.predictions == preds and back.sha256 == sha
    cases = {
        '{"item_id": "D1", "model": "m", "answer": "x", "option": "BC"}': "'option' must be one letter",
        '{"item_id": "D1", "answer": "x"}': "'model' must be a non-empty string",
        '{"item_id": "D1", "model": "m", "answer": "x", "images": [0]}': "1-based positions",
        "[1, 2]": "expected a JSON object",
    }
    for line, message in cases.items():
        (tmp_path / "bad.jsonl").write_text(line + "\n")
        with pytest.raises(FatalError, match=message):
            read_predictions(tmp_path / "bad.jsonl")
    row = json.dumps({"item_id": "D1", "model": "m", "answer": "x"})
    (tmp_path / "dup.jsonl").write_text(row + "\n" + row + "\n")
    with pytest.raises(FatalError, match=r"dup\.jsonl:2: second prediction"):
        read_predictions(tmp_path / "dup.jsonl")


def test_the_hand_written_release_has_the_release_builders_schema(release_dir: Path) -> None:
    """The fixture writes the release format by hand, to pin the file contract itself; this keeps its
    copy of the schema the one the release builder writes (a changed column fails here, not later)."""
    import pyarrow.parquet as pq

    from mmrare.warehouse.release.schema import ITEM_SCHEMA

    files = sorted(release_dir.rglob("*.parquet"))
    assert files
    for path in files:
        assert pq.read_schema(path).equals(ITEM_SCHEMA, check_metadata=False), path.name
