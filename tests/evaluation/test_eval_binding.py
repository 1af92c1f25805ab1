"""Predictions are bound to the release they were made for; score refuses another one and counts
items without a prediction and predictions for items the release does not have."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from typer.testing import CliRunner

from mmrare.cli import app
from mmrare.evaluation.predictions import PREDICTIONS_SCHEMA, read_predictions

runner = CliRunner()
ITEM_IDS = ["D1", "D2", "D3", "E1", "E2", "T1", "X1"]  # the fixture release (conftest.ITEMS)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer(replies={"D1": "Answer: B\nSee Image 2."}).start()
    yield fake
    fake.stop()


@pytest.fixture
def newer_release(make_release: Callable[..., Path]) -> Path:
    """Release 0.1.1: the fixture release without item E2 (as if it was dropped in review)."""
    return make_release("release", "0.1.1", drop=("E2",))


def _sha(release: Path) -> str:
    return hashlib.sha256((release / "manifest.json").read_bytes()).hexdigest()


def _predict(release: Path, server: FakeOpenAIServer, out: Path, *extra: str) -> Path:
    result = runner.invoke(
        app,
        ["predict", "--release", str(release), "--endpoint", server.url, "--model", "fake-vlm",
         "--out", str(out), "--no-progress", "--rate", "500", "--cache", str(out.parent / "cache"), *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def _score(release: Path, preds: Path, out: Path, *extra: str) -> tuple[int, list[str]]:
    result = runner.invoke(
        app,
        ["score", "--release", str(release), "--predictions", str(preds), "--out", str(out),
         "--bootstrap", "100", *extra],
    )  # fmt: skip
    return result.exit_code, [" ".join(line.split()) for line in result.output.splitlines() if line.strip()]


def test_predict_records_the_release_in_the_file(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    preds = _predict(release_dir, server, tmp_path / "p.jsonl", "--split", "test", "--mode", "open")
    header = json.loads(preds.read_text().splitlines()[0])
    assert header["schema"] == PREDICTIONS_SCHEMA
    assert header["release"] == {"version": "0.1.0", "manifest_sha256": _sha(release_dir)}
    assert (header["model"], header["mode"], header["splits"], header["tracks"]) == (
        "fake-vlm", "open", ["test"], None,
    )  # fmt: skip
    read = read_predictions(preds)
    assert read.header is not None and read.header.release_manifest_sha256 == _sha(release_dir)
    assert len(read.predictions) == 4  # the header is not a prediction

    code, lines = _score(release_dir, preds, tmp_path / "r")
    assert code == 0, lines
    assert not any("no release recorded" in line or "made for release" in line for line in lines)
    # scored on both splits, the dev items have no prediction: counted, and the cause is named
    missing = [line for line in lines if "have no prediction" in line]
    assert missing == [
        "warning: fake-vlm: 3 of 7 items have no prediction (diagnosis 2, examination 1); they score 0 "
        "where a metric applies (the predictions were made with --split test)"
    ]


def test_predictions_for_another_release_are_refused_in_one_line(
    release_dir: Path, newer_release: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    preds = _predict(newer_release, server, tmp_path / "p.jsonl")
    out = tmp_path / "r"
    code, lines = _score(release_dir, preds, out)
    assert code == 2
    assert lines == [
        f"error: {preds}: made for release 0.1.1 (manifest sha256 {_sha(newer_release)[:12]}…), "
        f"not 0.1.0 ({_sha(release_dir)[:12]}…); pass --allow-mismatch to score anyway"
    ]
    assert not out.exists()

    code, lines = _score(release_dir, preds, out, "--allow-mismatch")
    assert code == 0, lines
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == [
        f"warning: {preds}: made for release 0.1.1 (manifest sha256 {_sha(newer_release)[:12]}…), "
        f"not 0.1.0 ({_sha(release_dir)[:12]}…); scoring anyway (--allow-mismatch)",
        "warning: fake-vlm: 1 of 7 items have no prediction (examination 1); they score 0 where a metric "
        "applies",
    ]
    results = json.loads((out / "results.json").read_text())
    coverage = results["coverage"]["fake-vlm"]
    assert coverage["missing_predictions"] == coverage["tracks"]["examination"]["missing_predictions"] == 1
    assert results["provenance"]["predictions"][0]["made_for"]["release"]["version"] == "0.1.1"
    assert "| fake-vlm | 7 | 6 | 1 | diagnosis 0/3, examination 1/2," in (out / "results.md").read_text()
    assert "<h2>Coverage</h2>" in (out / "report.html").read_text()


def test_a_rebuilt_release_with_the_same_version_is_another_release(
    release_dir: Path, make_release: Callable[..., Path], tmp_path: Path, server: FakeOpenAIServer
) -> None:
    first = release_dir
    rebuilt = make_release("rebuilt", "0.1.0", drop=("T1",))
    preds = _predict(rebuilt, server, tmp_path / "p.jsonl")
    code, lines = _score(first, preds, tmp_path / "r")
    assert code == 2 and len(lines) == 1
    assert f"made for release 0.1.0 (manifest sha256 {_sha(rebuilt)[:12]}…), not 0.1.0" in lines[0]


def test_files_written_before_headers_are_checked_through_their_run_record(
    release_dir: Path, newer_release: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    preds = _predict(newer_release, server, tmp_path / "p.jsonl")
    lines = preds.read_text().splitlines()
    preds.write_text("\n".join(lines[1:]) + "\n")  # the format of earlier versions: no header line
    assert "made for release 0.1.1" in _score(release_dir, preds, tmp_path / "r")[1][0]


def test_hand_made_predictions_warn_once_and_unknown_items_are_reported(
    release_dir: Path, tmp_path: Path
) -> None:
    rows: list[dict[str, object]] = [{"item_id": i, "model": "hand", "answer": "A"} for i in ITEM_IDS]
    rows += [{"item_id": i, "model": "hand", "answer": "A"} for i in ("ZZ9", "ZZ8")]
    preds = write_jsonl(tmp_path / "hand.jsonl", rows)
    out = tmp_path / "r"
    code, lines = _score(release_dir, preds, out)
    assert code == 0, lines
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == [
        f"warning: {preds}: no release recorded (made by hand?); scored against release 0.1.0",
        "warning: hand: 2 prediction(s) for item ids not in release 0.1.0 (e.g. 'ZZ9'); not scored",
    ]
    results = json.loads((out / "results.json").read_text())
    assert results["coverage"]["hand"]["unknown_item_ids"] == 2
    assert results["coverage"]["hand"]["missing_predictions"] == 0
    assert {r["item_id"] for r in results["items"]} == set(ITEM_IDS)


def test_a_header_anywhere_but_the_first_line_is_an_error(release_dir: Path, tmp_path: Path) -> None:
    from mmrare.errors import FatalError

    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [{"item_id": "D1", "model": "m", "answer": "A"}, {"schema": PREDICTIONS_SCHEMA, "mode": "mc"}],
    )
    with pytest.raises(FatalError, match=r"p\.jsonl:2: a header line .* must be the first line"):
        read_predictions(preds)
    bad = write_jsonl(tmp_path / "q.jsonl", [{"schema": PREDICTIONS_SCHEMA, "mode": "essay"}])
    with pytest.raises(FatalError, match=r"q\.jsonl:1: header 'mode' must be one of mc, open"):
        read_predictions(bad)
