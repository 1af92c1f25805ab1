"""Publication dates from the sample articles' JATS reach every released item, and ``mmrare score
--cutoff`` scores two fake models of different training cutoffs on the session release.

The sample cases were published on 2018-12-05 (PMC6358579, PMC6358580) and 2020-09-18 (PMC7500000).
"old-vlm" (cutoff 2018-06) cannot have read any of them; "new-vlm" (cutoff 2019-12) may have read the
2018 cases, and is made to answer exactly those right: a contaminated model by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmrare.cli import app
from mmrare.dates import PartialDate
from mmrare.evaluation.release import load_release
from mmrare.warehouse.release import BuildResult

runner = CliRunner()
PUBLISHED = {"PMC6358579": "2018-12-05", "PMC6358580": "2018-12-05", "PMC7500000": "2020-09-18"}


def test_every_released_item_carries_its_articles_publication_date(release: BuildResult) -> None:
    loaded = load_release(release.root)
    assert loaded.items
    for item in loaded.items:
        assert item.published == PartialDate.parse(PUBLISHED[item.pmcid]), item.item_id
    for path in sorted((release.root / "data").rglob("*.parquet")):
        rows = pq.read_table(path, columns=["pmcid", "published"]).to_pylist()
        assert all(r["published"] == PUBLISHED[r["pmcid"]] for r in rows), path
    first = json.loads((release.root / "jsonl" / "diagnosis.jsonl").read_text().splitlines()[0])
    assert first["published"] == PUBLISHED[first["pmcid"]]


def _predictions(path: Path, model: str, items: list, right: set[str]) -> Path:
    rows = []
    for item in items:
        wrong = next(i for i in range(len(item.options)) if i != item.answer_index)
        letter = "ABCDEFGHIJ"[item.answer_index if item.item_id in right else wrong]
        rows.append({"item_id": item.item_id, "model": model, "answer": letter, "option": letter})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_two_models_with_different_cutoffs(release: BuildResult, tmp_path: Path) -> None:
    items = load_release(release.root).items
    of_2018 = {i.item_id for i in items if PUBLISHED[i.pmcid].startswith("2018")}
    of_2020 = {i.item_id for i in items} - of_2018
    assert of_2018 and of_2020
    old = _predictions(tmp_path / "old.jsonl", "old-vlm", items, {i.item_id for i in items})
    new = _predictions(tmp_path / "new.jsonl", "new-vlm", items, of_2018)
    cutoffs = tmp_path / "cutoffs.toml"
    cutoffs.write_text('new-vlm = "2019-12"\n')
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        ["score", "--release", str(release.root), "--predictions", str(old), "--predictions", str(new),
         "--metric", "accuracy", "--bootstrap", "200", "--out", str(out),
         "--cutoff", "old-vlm=2018-06", "--cutoffs", str(cutoffs)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    report = {m["model"]: m for m in results["contamination"]["models"]}
    assert results["contamination"]["n_unknown_date"] == 0
    assert (report["old-vlm"]["cutoff"], report["old-vlm"]["n_post_cutoff"]) == ("2018-06", len(items))
    assert (report["new-vlm"]["cutoff"], report["new-vlm"]["n_post_cutoff"]) == ("2019-12", len(of_2020))
    old_all = next(r for r in report["old-vlm"]["rows"] if r["track"] == "all")
    assert old_all["full"]["mean"] == old_all["post_cutoff"]["mean"] == 1.0 and old_all["gap"] == 0.0
    new_all = next(r for r in report["new-vlm"]["rows"] if r["track"] == "all")
    assert new_all["full"]["mean"] == pytest.approx(len(of_2018) / len(items))
    assert (new_all["post_cutoff"]["n"], new_all["post_cutoff"]["mean"]) == (len(of_2020), 0.0)
    assert new_all["gap"] == pytest.approx(len(of_2018) / len(items))  # the contamination signal
    assert new_all["full"]["ci_low"] <= new_all["full"]["mean"] <= new_all["full"]["ci_high"]
    text = " ".join(result.output.split())
    assert "Contamination: accuracy, all tracks (0 of" in text and "new-vlm" in text
    html = (out / "report.html").read_text()
    assert "Contamination: accuracy" in html and "Post-cutoff subset" in html
    assert "gap (full − post)" in (out / "results.md").read_text()
