"""The warehouse report: every query runs on the real schema; JSON, HTML and plots are written."""

from __future__ import annotations

import json
from pathlib import Path

from mmrare.records import Reject
from mmrare.warehouse.db import connect
from mmrare.warehouse.report import collect, write_report
from mmrare.warehouse.shards import insert_rows


def test_report_counts_rejects_and_escapes_text(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    rows = [
        {**Reject(f"a{i}.xml", "select", "not_case_report", "", f"a{i}.xml", {}).row(), "run_id": "r"}
        for i in range(3)
    ]
    rows.append({**Reject("b.xml", "parse", "<script>bad</script>", "", "b.xml", {}).row(), "run_id": "r"})
    insert_rows(con, "rejects", rows)
    data = collect(con)
    con.close()
    assert data["rejects"][0] == {"stage": "select", "reason": "not_case_report", "n": 3}
    assert data["items_per_track"] == {"diagnosis": 0, "examination": 0, "treatment": 0, "cross_image": 0}
    page = write_report(data, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == data
    text = page.read_text()
    assert "<script>bad" not in text and "&lt;script&gt;bad" in text
    for png in ("items_per_track.png", "rejects.png", "text_answerable.png"):
        assert (tmp_path / "out" / png).read_bytes()[:4] == b"\x89PNG"
    # readable like the plots beside it, not mkstemp's owner-only 0600
    for name in ("report.html", "report.json"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o644
