"""Label Studio exchange as files, in the shapes Label Studio documents: tasks with ``annotations``
(``completed_by`` an email on import) and ``predictions`` (``model_version`` + ``result``) go out; the
project export (``completed_by`` a bare user id), the snapshot export (``{"id", "email"}``) and
emails come back, with users resolved through a ``GET /api/users/`` list."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from mmrare.annotations.review.annotators import add_annotator
from mmrare.annotations.review.labelstudio import (
    LABEL_CONFIG,
    AnnotatorResolver,
    ImageOptions,
    LSUser,
    build_tasks,
    export_tasks,
    import_annotations,
    load_users,
)
from mmrare.annotations.review.labelstudio.config import choice, text
from mmrare.annotations.review.queue import enqueue
from mmrare.annotations.review.records import REJECT_REASONS, EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.versions import get_version
from mmrare.warehouse.db import connect

# What GET /api/users/ lists (Label Studio's user fields; extra ones are ignored).
USERS = [
    {"id": 1, "email": "admin@hospital.example", "username": "admin", "first_name": ""},
    {"id": 2, "email": "alice@hospital.example", "username": "alice@hospital.example", "first_name": "A"},
    {"id": 3, "email": "b.smith@hospital.example", "username": "bsmith", "first_name": "B"},
]
REVIEW_COLUMNS = "item_id, annotator, verdict, item_version, reject_reason, comment, created_at::VARCHAR"


def _reviews(store: ReviewStore) -> list[tuple]:
    with store.read() as cur:
        return cur.execute(f"SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY item_id, annotator").fetchall()


def _edited(store: ReviewStore) -> list[tuple]:
    with store.read() as cur:
        return cur.execute(
            "SELECT item_id, version, question, options, answer_index, editor FROM item_versions"
            " WHERE version > 0 ORDER BY item_id, version"
        ).fetchall()


@pytest.fixture
def fresh_store(tmp_path: Path, template_warehouse: Path) -> ReviewStore:
    """A second copy of the warehouse with the same annotators and queue, and no reviews."""
    path = tmp_path / "fresh.duckdb"
    shutil.copy(template_warehouse, path)
    store = ReviewStore(connect(path))
    for name in ("alice", "bob"):
        add_annotator(store, name)
    enqueue(store, 2)
    return store


def _item_ids(store: ReviewStore) -> list[str]:
    return [t["data"]["item_id"] for t in build_tasks(store, images=ImageOptions("none")).tasks]


def test_export_writes_tasks_and_a_config(store: ReviewStore, tokens: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    batch = export_tasks(store, out, images=ImageOptions("auto"))
    tasks = json.loads(out.read_text())
    with store.read() as cur:
        queued = cur.execute("SELECT count(*) FROM review_queue").fetchone()
    assert queued is not None and len(batch.tasks) == len(tasks) == queued[0]
    assert batch.images == "inline"  # the sample's images are well under the inline limit
    data = tasks[0]["data"]
    assert {"item_id", "item_version", "question", "context", "options_text", "answer_letter"} <= set(data)
    assert data["options_text"].startswith("A. ")
    assert data["images"] and all(u.startswith("data:image/jpeg;base64,") for u in data["images"])
    config = ET.fromstring((tmp_path / "tasks.label_config.xml").read_text())
    names = {el.get("name") for el in config.iter() if el.get("name")}
    assert {"verdict", "reject_reason", "comment", "edit_question", "edit_options", "edit_answer"} <= names
    assert {c.get("value") for c in config.iter("Choice")} >= set(REJECT_REASONS)
    # every task carries the draft as a prediction that fills the edit boxes
    draft = tasks[0]["predictions"][0]
    assert draft["model_version"].startswith("mmrare-draft:")
    assert {r["from_name"] for r in draft["result"]} == {"edit_question", "edit_options", "edit_answer"}


def test_results_match_the_labelling_config(
    store: ReviewStore, tokens: dict[str, str], tmp_path: Path
) -> None:
    """Every result entry names a control of the config, its toName, its type and an offered value."""
    first, second, third = _item_ids(store)[:3]
    submit_review(
        store,
        item_id=first,
        annotator="alice",
        verdict="reject",
        reject_reason="ambiguous",
        comment="two fit",
    )
    submit_review(store, item_id=second, annotator="alice", verdict="accept")
    _edit(store, third, "bob")
    batch = build_tasks(
        store,
        include_decided=True,
        images=ImageOptions("none"),
        resolver=AnnotatorResolver({"alice", "bob"}, users=[LSUser.from_api(u) for u in USERS]),
    )
    config = ET.fromstring(LABEL_CONFIG)
    controls = {el.get("name"): el for el in config.iter() if el.tag in ("Choices", "TextArea")}
    entries = [r for t in batch.tasks for a in [*t["annotations"], *t["predictions"]] for r in a["result"]]
    assert {"verdict", "reject_reason", "comment", "edit_question"} <= {e["from_name"] for e in entries}
    for entry in entries:
        control = controls[entry["from_name"]]
        assert entry["to_name"] == control.get("toName")
        assert entry["type"] == control.tag.lower()
        if control.tag == "Choices":
            offered = {c.get("value") for c in control.iter("Choice")}
            assert set(entry["value"]["choices"]) <= offered
        else:
            assert all(isinstance(t, str) for t in entry["value"]["text"])


def _edit(store: ReviewStore, item_id: str, who: str) -> None:
    with store.read() as cur:
        draft = get_version(cur, item_id, 0)
    edit = EditInput(
        "Edited question?",
        ("One", "Two", "Three", "Four"),
        2,
        evidence_sentence_ids=draft.evidence_sentence_ids,
        evidence_figure_ids=draft.evidence_figure_ids,
    )
    submit_review(store, item_id=item_id, annotator=who, verdict="edit", edit=edit, comment="fixed the gold")


def test_export_then_import_gives_the_same_reviews(
    store: ReviewStore, tokens: dict[str, str], fresh_store: ReviewStore, tmp_path: Path
) -> None:
    """Round trip through Label Studio's project export: completed_by becomes a bare user id."""
    first, second, third = _item_ids(store)[:3]
    submit_review(store, item_id=first, annotator="alice", verdict="accept")
    submit_review(
        store,
        item_id=first,
        annotator="bob",
        verdict="reject",
        reject_reason="answer_leaked",
        comment="Image 2 names it",
    )
    _edit(store, second, "alice")
    submit_review(store, item_id=third, annotator="bob", verdict="accept")
    users_file = tmp_path / "users.json"
    users_file.write_text(json.dumps(USERS))
    resolver = AnnotatorResolver(
        {"alice", "bob", "carol"}, {"b.smith@hospital.example": "bob"}, load_users(users_file)
    )
    out = tmp_path / "tasks.json"
    batch = export_tasks(store, out, include_decided=True, images=ImageOptions("none"), resolver=resolver)
    by_item = {t["data"]["item_id"]: t for t in batch.tasks}
    assert [a["completed_by"] for a in by_item[first]["annotations"]] == [
        {"email": "alice@hospital.example"},
        {"email": "b.smith@hospital.example"},
    ]
    # what Label Studio's project export writes after importing these tasks: ids, not emails
    ids = {u["email"]: u["id"] for u in USERS}
    exported = json.loads(out.read_text())
    for task in exported:
        for k, ann in enumerate(task["annotations"]):
            ann.update(id=100 + k, completed_by=ids[ann["completed_by"]["email"]], lead_time=3.5)
    ls_export = tmp_path / "ls-export.json"
    ls_export.write_text(json.dumps(exported))

    report = import_annotations(
        fresh_store, ls_export, {"b.smith@hospital.example": "bob"}, load_users(users_file)
    )
    assert (report.imported, report.n_skipped, report.lines()) == (4, 0, [])
    assert _reviews(fresh_store) == _reviews(store)
    assert [r[2:] for r in _edited(fresh_store)] == [r[2:] for r in _edited(store)]
    again = import_annotations(
        fresh_store, ls_export, {"b.smith@hospital.example": "bob"}, load_users(users_file)
    )
    assert (again.imported, again.already) == (0, 4)
    assert again.summary() == "imported 0 reviews, skipped 4 (4 already in mmrare)"


def test_reviews_of_non_members_travel_as_predictions(
    store: ReviewStore, tokens: dict[str, str], fresh_store: ReviewStore, tmp_path: Path
) -> None:
    first = _item_ids(store)[0]
    submit_review(
        store,
        item_id=first,
        annotator="bob",
        verdict="reject",
        reject_reason="ambiguous",
        comment="B and C both fit",
    )
    out = tmp_path / "tasks.json"
    resolver = AnnotatorResolver({"alice", "bob"}, users=[LSUser.from_api(u) for u in USERS[:2]])
    task = next(
        t
        for t in export_tasks(store, out, resolver=resolver, images=ImageOptions("none")).tasks
        if t["data"]["item_id"] == first
    )
    assert task["annotations"] == []
    assert [p["model_version"] for p in task["predictions"]][1:] == ["mmrare-review:bob"]
    assert import_annotations(fresh_store, out).imported == 1
    assert _reviews(fresh_store) == _reviews(store)


def _ls_export(data: dict, annotations: list[tuple[object, str]], tmp_path: Path) -> Path:
    """A Label Studio export of one task; each annotation's completed_by as given."""
    anns = []
    for k, (who, verdict) in enumerate(annotations):
        result = [choice("verdict", verdict)]
        if verdict == "reject":
            result += [choice("reject_reason", "answer_leaked"), text("comment", "saw it in Image 2")]
        anns.append(
            {
                "id": 100 + k,
                "completed_by": who,
                "result": result,
                "was_cancelled": False,
                "created_at": "2026-11-30T10:15:00.000000Z",
            }
        )
    path = tmp_path / f"ls-{data['item_id']}.json"
    path.write_text(json.dumps([{"id": 1, "data": data, "annotations": anns, "predictions": []}]))
    return path


def test_import_matches_annotators_however_label_studio_names_them(
    store: ReviewStore, tokens: dict[str, str], tmp_path: Path
) -> None:
    tasks = build_tasks(store, images=ImageOptions("none")).tasks
    users = [LSUser.from_api(u) for u in USERS]
    # snapshot export: {"id", "email"}; the email's local part is the annotator
    snapshot = _ls_export(
        tasks[0]["data"], [({"id": 2, "email": "alice@hospital.example"}, "accept")], tmp_path
    )
    assert import_annotations(store, snapshot).imported == 1
    # project export: a bare id, resolved through the users list, mapped by username
    bare = _ls_export(tasks[1]["data"], [(3, "reject"), (2, "accept")], tmp_path)
    assert import_annotations(store, bare, {"bsmith": "bob"}, users).imported == 2
    # an email, mapped by id
    email = _ls_export(tasks[2]["data"], [("b.smith@hospital.example", "accept")], tmp_path)
    assert import_annotations(store, email, {"3": "bob"}, users).imported == 1
    got = {(r[0], r[1], r[2], r[4]) for r in _reviews(store)}
    assert got == {
        (tasks[0]["data"]["item_id"], "alice", "accept", None),
        (tasks[1]["data"]["item_id"], "bob", "reject", "answer_leaked"),
        (tasks[1]["data"]["item_id"], "alice", "accept", None),
        (tasks[2]["data"]["item_id"], "bob", "accept", None),
    }


def test_unknown_annotators_are_one_line_each_saying_how_to_map_them(
    store: ReviewStore, tokens: dict[str, str], tmp_path: Path
) -> None:
    tasks = build_tasks(store, images=ImageOptions("none")).tasks
    export = tmp_path / "two.json"
    anns = lambda who: [{"completed_by": who, "result": [choice("verdict", "accept")]}]  # noqa: E731
    export.write_text(json.dumps([{"data": t["data"], "annotations": anns(3) + anns(7)} for t in tasks[:2]]))
    report = import_annotations(store, export, users=[LSUser.from_api(u) for u in USERS])
    assert report.imported == 0 and report.n_skipped == 4
    assert report.lines() == [
        "Label Studio user 3 (b.smith@hospital.example) is no mmrare annotator; map it with --annotator-map"
        ' \'{"b.smith@hospital.example": "NAME"}\' or run `mmrare review add-annotator b.smith`'
        " (2 annotations)",
        "Label Studio user 7 is not in the users list; pass --users FILE saved from GET /api/users/"
        " (or --url),"
        ' or map it: --annotator-map \'{"7": "NAME"}\' (2 annotations)',
    ]
    assert report.summary() == "imported 0 reviews, skipped 4 (4 unknown annotator)"


def test_import_reports_other_skips(store: ReviewStore, tokens: dict[str, str], tmp_path: Path) -> None:
    data = build_tasks(store, images=ImageOptions("none")).tasks[0]["data"]
    path = _ls_export(data, [("alice@x.example", "maybe"), ("bob@x.example", "accept")], tmp_path)
    report = import_annotations(store, path)
    assert report.imported == 1
    assert report.lines() == [f"{data['item_id']} alice: verdict 'maybe' is not one of accept, edit, reject"]


def test_url_images_and_an_empty_default_export_says_why(
    store: ReviewStore, tokens: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "t.json"
    batch = export_tasks(store, out, images=ImageOptions("url", base_url="http://review.local:9000/"))
    assert batch.tasks[0]["data"]["images"][0].startswith("http://review.local:9000/images/")
    for item_id in [t["data"]["item_id"] for t in batch.tasks]:
        for who in ("alice", "bob"):
            submit_review(store, item_id=item_id, annotator=who, verdict="accept")
    empty = export_tasks(store, out)
    n = len(batch.tasks)
    assert empty.tasks == [] and json.loads(out.read_text()) == [] and empty.left_out == n
    assert empty.why_empty() == (
        f"0 tasks: none of the {n} queued items is pending ({n} accepted);"
        " pass --include-decided to export them with their reviews"
    )
    assert len(export_tasks(store, out, include_decided=True).tasks) == n


def test_files_mode_copies_images_under_the_local_files_root(
    store: ReviewStore, tokens: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "ls-files"
    options = ImageOptions("files", image_dir=root / "mmrare" / "images", document_root=root)
    task = build_tasks(store, images=options).tasks[0]
    url = task["data"]["images"][0]
    assert url.startswith("/data/local-files/?d=mmrare/images/")
    copied = root / unquote(url.split("?d=")[1])
    assert copied.is_file() and copied.read_bytes()[:2] == b"\xff\xd8"
