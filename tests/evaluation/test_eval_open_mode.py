"""Open-mode answers in prose, and metrics that do not apply: null in JSON, "n/a" in tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from typer.testing import CliRunner

from mmrare.cli import app
from mmrare.evaluation.metrics import diagnosis_match
from mmrare.evaluation.predictions import Prediction
from mmrare.evaluation.release import load_release
from mmrare.evaluation.settings import ScoringSettings

runner = CliRunner()

# D1 gold: Fabry disease (alias Anderson-Fabry disease; options Gaucher, Pompe; child "Fabry disease,
# cardiac variant"); D3 gold: Marfan syndrome (options Loeys-Dietz, Ehlers-Danlos, Homocystinuria).
PROSE = [
    # a correct answer without an "Answer:" line
    ("D1", "The angiokeratomas in Image 2 and the renal findings point to Anderson-Fabry disease.", 1.0),
    ("D1", "Fabry disease. The corneal whorls fit as well.", 1.0),
    ("D3", "This patient has features of ORPHA:558, with lens dislocation.", 1.0),
    # a wrong disease, however it is worded
    ("D1", "These findings suggest Gaucher disease.", 0.0),
    ("D3", "I think the most likely diagnosis here is Loeys-Dietz syndrome.", 0.0),
    # no known name at all
    ("D1", "A lysosomal storage disorder of some kind.", 0.0),
    # right and wrong named: the conclusion sentence decides, by the name after its cue
    ("D3", "Ehlers-Danlos syndrome was considered. However, the lens dislocation and tall stature are "
           "most consistent with Marfan syndrome.", 1.0),
    ("D3", "Marfan syndrome was considered, but the arterial tortuosity is most consistent with "
           "Loeys-Dietz syndrome.", 0.0),
    # without a conclusion cue the first name counts (hedging does not earn credit) ...
    ("D1", "Gaucher disease or Fabry disease.", 0.0),
    ("D1", "Fabry disease or Gaucher disease.", 1.0),
    # ... names in a differential list or negated do not
    ("D3", "The differential includes Ehlers-Danlos syndrome and homocystinuria. Marfan syndrome.", 1.0),
    ("D3", "This is not Ehlers-Danlos syndrome; it is Marfan syndrome.", 1.0),
    ("D3", "Marfan syndrome is unlikely given the normal lens; Loeys-Dietz syndrome fits.", 0.0),
    # an ORDO child named in prose earns partial credit, a too-large parent none
    ("D1", "The picture is consistent with Fabry disease, cardiac variant.", 0.5),
    ("D3", "A genetic aortic disease is the most likely explanation.", 0.0),
]  # fmt: skip


@pytest.mark.parametrize(("item_id", "reply", "expected"), PROSE)
def test_open_answers_in_prose(release_dir: Path, item_id: str, reply: str, expected: float) -> None:
    item = load_release(release_dir).by_id()[item_id]
    prediction = Prediction(item_id=item_id, model="m", answer=reply, raw=reply)
    assert diagnosis_match(item, prediction, ScoringSettings()) == expected


def test_the_answer_line_wins_over_the_prose(release_dir: Path) -> None:
    item = load_release(release_dir).by_id()["D1"]
    wrong = Prediction("D1", "m", answer="Gaucher disease", raw="Answer: Gaucher disease\nNot Fabry disease.")
    assert diagnosis_match(item, wrong, ScoringSettings()) == 0.0
    right = Prediction("D1", "m", answer="I believe it is Fabry disease", raw="Answer: I believe it is ...")
    assert diagnosis_match(item, right, ScoringSettings()) == 1.0


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    replies = {
        "D1": "The angiokeratomas and the renal findings point to Anderson-Fabry disease.",
        "D2": "These café-au-lait macules suggest Legius syndrome.",
        "D3": "Ehlers-Danlos syndrome was considered, but the lens dislocation is most consistent with "
        "Marfan syndrome.",
    }
    # no image is cited in any reply
    fake = FakeOpenAIServer(replies=replies, default_reply="Hard to say from this case.").start()
    yield fake
    fake.stop()


def test_open_run_has_no_accuracy_and_uncited_grounding_is_na(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    preds = tmp_path / "open.jsonl"
    result = runner.invoke(
        app,
        ["predict", "--release", str(release_dir), "--endpoint", server.url, "--model", "open-vlm",
         "--mode", "open", "--out", str(preds), "--no-progress", "--rate", "500",
         "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # a multiple-choice model that cites images, scored beside it
    mc = tmp_path / "mc.jsonl"
    mc.write_text(json.dumps({"item_id": "D1", "model": "mc-vlm", "answer": "B. See Image 2."}) + "\n")
    out = tmp_path / "r"
    result = runner.invoke(
        app,
        ["score", "--release", str(release_dir), "--predictions", str(preds), "--predictions", str(mc),
         "--out", str(out), "--bootstrap", "100"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())

    def cells(model: str, metric: str) -> dict[str, dict[str, object]]:
        return {
            r["track"]: r for r in results["summary"]
            if (r["subset"], r["model"], r["metric"]) == ("full", model, metric)
        }  # fmt: skip

    assert cells("open-vlm", "accuracy") == {}  # accuracy is a multiple-choice metric
    assert "accuracy" not in next(r for r in results["items"] if r["model"] == "open-vlm")["scores"]
    assert cells("mc-vlm", "accuracy")["all"]["mean"] == pytest.approx(1 / 7)
    open_items = [r for r in results["items"] if r["model"] == "open-vlm"]
    match = {r["item_id"]: r["scores"]["diagnosis_match"] for r in open_items}
    assert {k: v for k, v in match.items() if v is not None} == {"D1": 1.0, "D2": 0.0, "D3": 1.0}
    precision = cells("open-vlm", "grounding_precision")
    assert precision["all"]["n"] == 0
    assert (precision["all"]["mean"], precision["all"]["ci_low"], precision["all"]["ci_high"]) == (None,) * 3
    assert cells("open-vlm", "grounding_recall")["all"]["mean"] == 0.0  # evidence not cited: 0, not n/a
    assert cells("mc-vlm", "grounding_precision")["all"]["mean"] == 1.0

    md = (out / "results.md").read_text()
    assert "## Full set: accuracy" in md
    accuracy_table = md.split("## Full set: accuracy")[1].split("##")[0]
    assert "mc-vlm" in accuracy_table and "open-vlm" not in accuracy_table
    precision_table = md.split("## Full set: grounding_precision")[1].split("##")[0]
    assert "| open-vlm | n/a | n/a | n/a | n/a | n/a |" in precision_table
    assert "0.000" not in precision_table.split("open-vlm")[1].splitlines()[0]
    html = (out / "report.html").read_text()
    assert "<td>open-vlm</td><td>n/a</td>" in html
    assert "n/a" in result.output
