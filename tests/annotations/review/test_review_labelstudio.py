"""Label Studio exchange: export tasks + labeling config, import an export shaped like Label
Studio's own (completed_by as an object, result entries per control), idempotent re-import."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from mmrare.annotations.review.labelstudio import LABEL_CONFIG, export_tasks, import_annotations
from mmrare.annotations.review.records import REJECT_REASONS
from mmrare.annotations.review.store import ReviewStore


def _choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "context", "type": "choices", "value": {"choices": [value]}}


def _text(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "context", "type": "textarea", "value": {"text": [value]}}


def test_export_writes_tasks_and_a_config(store: ReviewStore, tokens: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    n = export_tasks(store, out, images="inline")
    tasks = json.loads(out.read_text())
    with store.read() as cur:
        queued = cur.execute("SELECT count(*) FROM review_queue").fetchone()
    assert queued is not None and n == len(tasks) == queued[0]
    data = tasks[0]["data"]
    assert {
        "item_id",
        "item_version",
        "question",
        "context",
        "options_text",
        "answer_letter",
        "images",
    } <= set(data)
    assert data["options_text"].startswith("A. ")
    assert all(u.startswith("data:image/jpeg;base64,") for u in data["images"]) and data["images"]
    config = ET.fromstring((tmp_path / "tasks.label_config.xml").read_text())
    names = {el.get("name") for el in config.iter() if el.get("name")}
    assert {"verdict", "reject_reason", "comment", "edit_question", "edit_options", "edit_answer"} <= names
    assert {c.get("value") for c in config.iter("Choice")} >= set(REJECT_REASONS)
    assert LABEL_CONFIG.count("$") >= 5


def test_export_with_url_images_skips_decided_items(store: ReviewStore, tokens, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    total = export_tasks(store, out, base_url="http://review.local:9000/")
    first = json.loads(out.read_text())[0]["data"]
    assert first["images"][0].startswith("http://review.local:9000/images/")
    import_annotations(store, _ls_export(first, [("alice", "accept"), ("bob", "accept")], tmp_path))
    assert export_tasks(store, out) == total - 1
    assert export_tasks(store, out, include_decided=True) == total


def _ls_export(
    data: dict, annotations: list[tuple[str, str]], tmp_path: Path, extra: list | None = None
) -> Path:
    """A Label Studio JSON export of one task (the shape LS writes: users as objects with an email)."""
    anns = []
    for k, (who, verdict) in enumerate(annotations):
        result = [_choice("verdict", verdict)]
        if verdict == "reject":
            result += [
                _choice("reject_reason", "answer_leaked"),
                _text("comment", f"{who} saw it in Image 2"),
            ]
        anns.append(
            {
                "id": 100 + k,
                "completed_by": {"id": 10 + k, "email": f"{who}@hospital.example", "first_name": who},
                "result": result + (extra or []),
                "was_cancelled": False,
                "created_at": "2026-11-30T10:15:00.000000Z",
            }
        )
    path = tmp_path / f"ls-{data['item_id']}.json"
    path.write_text(json.dumps([{"id": 1, "data": data, "annotations": anns, "predictions": []}]))
    return path


def test_import_round_trip(store: ReviewStore, tokens: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    export_tasks(store, out, images="none")
    tasks = json.loads(out.read_text())
    accept_reject = _ls_export(tasks[0]["data"], [("alice", "accept"), ("bob", "reject")], tmp_path)
    report = import_annotations(store, accept_reject)
    assert (report.imported, report.skipped) == (2, [])
    again = import_annotations(store, accept_reject)
    assert again.imported == 0 and all("already reviewed" in line for line in again.skipped)
    edit_data = tasks[1]["data"]
    options = "\n".join(["A. Option one", "B. Option two", "C. Option three", "D. Option four"])
    edit = _ls_export(
        edit_data,
        [("alice", "edit")],
        tmp_path,
        extra=[
            _text("edit_question", "Edited in Label Studio?"),
            _text("edit_options", options),
            _text("edit_answer", "C"),
        ],
    )
    assert import_annotations(store, edit).imported == 1
    with store.read() as cur:
        reviews = cur.execute(
            "SELECT item_id, annotator, verdict, result_version, reject_reason, comment, created_at::VARCHAR"
            " FROM reviews ORDER BY item_id = ?, annotator",
            [edit_data["item_id"]],
        ).fetchall()
        version = cur.execute(
            "SELECT question, options, answer_index, answer, editor FROM item_versions WHERE version = 1"
        ).fetchone()
    first = tasks[0]["data"]["item_id"]
    assert [r[:5] for r in reviews] == [
        (first, "alice", "accept", 0, None),
        (first, "bob", "reject", None, "answer_leaked"),
        (edit_data["item_id"], "alice", "edit", 1, None),
    ]
    assert reviews[1][5] == "bob saw it in Image 2" and reviews[0][6].startswith("2026-11-30 10:15:00")
    assert version is not None
    assert version[0] == "Edited in Label Studio?" and json.loads(version[1])[2] == "Option three"
    assert version[2:] == (2, "Option three", "alice")


def test_import_reports_what_it_skips(store: ReviewStore, tokens: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    export_tasks(store, out, images="none")
    data = json.loads(out.read_text())[0]["data"]
    path = _ls_export(data, [("mallory", "accept"), ("alice", "maybe")], tmp_path)
    report = import_annotations(store, path)
    assert report.imported == 0
    assert any("unknown annotator" in s for s in report.skipped)
    assert any("verdict 'maybe'" in s for s in report.skipped)
    mapped = import_annotations(store, path, {"mallory@hospital.example": "bob"})
    assert mapped.imported == 1
