"""Exact scores on the fixture release with handcrafted predictions (every value computed by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmrare.errors import FatalError
from mmrare.evaluation.metrics import get_metric, select_metrics
from mmrare.evaluation.predictions import read_predictions
from mmrare.evaluation.release import load_release
from mmrare.evaluation.scoring import score_release
from mmrare.evaluation.settings import ScoringSettings

ALPHA = [
    # accuracy 1 (option), alias -> diagnosis 1, cites Image 2 = gold -> grounding 1/1/1
    {"item_id": "D1", "model": "alpha", "option": "B",
     "answer": "Answer: Anderson-Fabry disease.\nImage 2 shows angiokeratomas."},
    # no letter and not an option text -> accuracy 0; ORDO parent with 6 descendants -> 0.5;
    # cited [1, 3] vs gold [1, 2] -> precision 0.5, recall 0.5, f1 0.5
    {"item_id": "D2", "model": "alpha", "answer": "Neurofibromatosis", "images": [1, 3]},
    # bare letter -> option text "Marfan syndrome": accuracy 1, diagnosis 1; no citation -> n/a/0/0
    {"item_id": "D3", "model": "alpha", "answer": "C", "option": "C"},
    # not an option -> accuracy 0; token F1 vs "Brain MRI" = 0.8 (vs alias 0.5); no citation -> 0
    {"item_id": "E1", "model": "alpha", "answer": "MRI of the brain"},
    # E2: no prediction -> accuracy 0, token F1 0, grounding n/a (no gold evidence)
    # "B)" -> accuracy 1; token F1 0.5 on the span after the letter; "the first image" -> [1] vs [2] -> 0
    {"item_id": "T1", "model": "alpha",
     "answer": "B) Enzyme replacement therapy (ERT) with agalsidase, see the first image"},
    # repeats the text of option C -> accuracy 1; cites Image 3 = gold -> 1
    {"item_id": "X1", "model": "alpha", "answer": "Image 3"},
]  # fmt: skip

BETA = [
    # an ORDO child -> 0.5; equals option D -> accuracy 0; no citation
    {"item_id": "D1", "model": "beta", "answer": "Fabry disease, cardiac variant"},
    # alias NF1 -> 1; option A -> accuracy 1; explicit empty citation list -> precision n/a, recall 0
    {"item_id": "D2", "model": "beta", "answer": "NF1", "option": "A", "images": []},
    # parent with 25 descendants: 0 under the default limit of 10, 0.5 with a limit of 30
    {"item_id": "D3", "model": "beta", "answer": "Genetic aortic disease"},
    # letter A -> "Brain MRI": accuracy 1, token F1 1
    {"item_id": "E1", "model": "beta", "answer": "A"},
    # not an option -> accuracy 0; token F1 vs "Skin biopsy with histopathology" = 2/3
    {"item_id": "E2", "model": "beta", "answer": "Skin biopsy"},
    # T1: no prediction
    # no option chosen -> accuracy 0; "the second image" -> [2] vs gold [3] -> 0
    {"item_id": "X1", "model": "beta", "answer": "The lesion is best seen in the second image."},
    # an item that is not in the release: counted, ignored
    {"item_id": "ZZ", "model": "beta", "answer": "x"},
]  # fmt: skip


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def results(release_dir: Path, tmp_path: Path) -> dict[str, Any]:
    files = [
        read_predictions(_write(tmp_path / "alpha.jsonl", ALPHA)),
        read_predictions(_write(tmp_path / "beta.jsonl", BETA)),
    ]
    return score_release(load_release(release_dir), files, select_metrics(), ScoringSettings())


def _mean(
    results: dict[str, Any], model: str, metric: str, track: str = "all", subset: str = "full"
) -> float:
    rows = [
        r
        for r in results["summary"]
        if (r["model"], r["metric"], r["track"], r["subset"]) == (model, metric, track, subset)
    ]
    assert len(rows) == 1, (model, metric, track, subset)
    return rows[0]["mean"]


def _item(results: dict[str, Any], model: str, item_id: str) -> dict[str, float | None]:
    return next(r["scores"] for r in results["items"] if (r["model"], r["item_id"]) == (model, item_id))


def test_per_item_scores_alpha(results: dict[str, Any]) -> None:
    assert _item(results, "alpha", "D1") == {
        "accuracy": 1.0, "diagnosis_match": 1.0, "token_f1": None,
        "grounding_precision": 1.0, "grounding_recall": 1.0, "grounding_f1": 1.0,
    }  # fmt: skip
    d2 = _item(results, "alpha", "D2")
    assert (d2["accuracy"], d2["diagnosis_match"]) == (0.0, 0.5)
    assert (d2["grounding_precision"], d2["grounding_recall"], d2["grounding_f1"]) == (0.5, 0.5, 0.5)
    d3 = _item(results, "alpha", "D3")
    assert (d3["accuracy"], d3["diagnosis_match"], d3["grounding_f1"]) == (1.0, 1.0, 0.0)
    e1 = _item(results, "alpha", "E1")
    assert (e1["accuracy"], e1["diagnosis_match"], e1["grounding_recall"]) == (0.0, None, 0.0)
    assert e1["token_f1"] == pytest.approx(0.8)
    e2 = _item(results, "alpha", "E2")
    assert (e2["accuracy"], e2["token_f1"], e2["grounding_f1"]) == (0.0, 0.0, None)
    t1 = _item(results, "alpha", "T1")
    assert (t1["accuracy"], t1["grounding_precision"]) == (1.0, 0.0)
    assert t1["token_f1"] == pytest.approx(0.5)
    x1 = _item(results, "alpha", "X1")
    assert (x1["accuracy"], x1["grounding_f1"], x1["token_f1"]) == (1.0, 1.0, None)


def test_per_item_scores_beta(results: dict[str, Any]) -> None:
    assert _item(results, "beta", "D1")["diagnosis_match"] == 0.5  # child
    assert _item(results, "beta", "D1")["accuracy"] == 0.0
    assert _item(results, "beta", "D2")["diagnosis_match"] == 1.0  # alias
    assert _item(results, "beta", "D2")["grounding_f1"] == 0.0
    assert _item(results, "beta", "D2")["grounding_precision"] is None  # cites nothing: n/a, not 0
    assert _item(results, "beta", "D3")["diagnosis_match"] == 0.0  # parent with too many descendants
    assert _item(results, "beta", "E1")["token_f1"] == 1.0
    assert _item(results, "beta", "E2")["token_f1"] == pytest.approx(2 / 3)
    assert _item(results, "beta", "T1") == {
        "accuracy": 0.0, "diagnosis_match": None, "token_f1": 0.0,
        "grounding_precision": None, "grounding_recall": 0.0, "grounding_f1": 0.0,
    }  # fmt: skip
    assert _item(results, "beta", "X1")["grounding_precision"] == 0.0


def test_means_per_model_and_track(results: dict[str, Any]) -> None:
    assert _mean(results, "alpha", "accuracy") == pytest.approx(4 / 7)
    assert _mean(results, "alpha", "diagnosis_match") == pytest.approx(2.5 / 3)
    assert _mean(results, "alpha", "token_f1") == pytest.approx(1.3 / 3)
    assert _mean(results, "alpha", "grounding_f1") == pytest.approx(2.5 / 6)
    assert _mean(results, "alpha", "accuracy", track="diagnosis") == pytest.approx(2 / 3)
    assert _mean(results, "beta", "accuracy") == pytest.approx(2 / 7)
    assert _mean(results, "beta", "diagnosis_match") == pytest.approx(1.5 / 3)
    assert _mean(results, "beta", "token_f1") == pytest.approx(5 / 9)
    assert _mean(results, "beta", "grounding_f1") == 0.0


def test_leakage_clean_subset(results: dict[str, Any]) -> None:
    # D2 and T1 are flagged: alpha's clean accuracy is D1, D3, X1 right of D1, D3, E1, E2, X1
    assert _mean(results, "alpha", "accuracy", subset="leakage_clean") == pytest.approx(3 / 5)
    assert _mean(results, "beta", "diagnosis_match", subset="leakage_clean") == pytest.approx(0.5 / 2)
    clean = [r for r in results["summary"] if r["subset"] == "leakage_clean" and r["metric"] == "accuracy"]
    assert {r["n"] for r in clean if r["track"] == "all"} == {5}


def test_confidence_intervals_bracket_the_mean(results: dict[str, Any]) -> None:
    for row in results["summary"]:
        if row["n"] == 0:  # a cell with no score (n/a) has no mean and no interval
            assert (row["mean"], row["ci_low"], row["ci_high"]) == (None, None, None)
            continue
        assert row["ci_low"] <= row["mean"] + 1e-12
        assert row["mean"] <= row["ci_high"] + 1e-12
    beta_grounding = next(
        r for r in results["summary"] if (r["model"], r["metric"], r["track"], r["subset"])
        == ("beta", "grounding_f1", "all", "full")
    )  # fmt: skip
    assert (beta_grounding["ci_low"], beta_grounding["ci_high"]) == (0.0, 0.0)


def test_mcnemar_between_models(results: dict[str, Any]) -> None:
    row = next(
        c for c in results["comparisons"]
        if (c["subset"], c["track"], c["metric"]) == ("full", "all", "accuracy")
    )  # fmt: skip
    assert (row["model_a"], row["model_b"], row["test"]) == ("alpha", "beta", "mcnemar_exact")
    assert (row["only_a"], row["only_b"], row["n"]) == (4, 2, 7)
    assert row["p_value"] == pytest.approx(44 / 64)  # 2 * P(X <= 2), X ~ Bin(6, 0.5)
    wil = next(
        c for c in results["comparisons"]
        if (c["subset"], c["track"], c["metric"]) == ("full", "all", "grounding_f1")
    )  # fmt: skip
    assert wil["test"] == "wilcoxon" and wil["n"] == 6


def test_coverage_and_provenance(results: dict[str, Any], release_dir: Path) -> None:
    assert results["coverage"]["alpha"] == {
        "items": 7, "predicted": 6, "missing_predictions": 1, "unknown_item_ids": 0,
        "tracks": {"diagnosis": {"items": 3, "missing_predictions": 0},
                   "examination": {"items": 2, "missing_predictions": 1},
                   "treatment": {"items": 1, "missing_predictions": 0},
                   "cross_image": {"items": 1, "missing_predictions": 0}},
    }  # fmt: skip
    assert results["coverage"]["beta"]["unknown_item_ids"] == 1
    prov = results["provenance"]
    assert prov["release"]["version"] == "0.1.0"
    assert (
        prov["release"]["manifest_sha256"]
        == __import__("hashlib").sha256((release_dir / "manifest.json").read_bytes()).hexdigest()
    )
    assert prov["settings"]["partial_credit"] == 0.5
    assert prov["settings"]["max_parent_descendants"] == 10
    assert prov["metrics"]["accuracy"] == "accuracy/1"
    assert len(prov["predictions"]) == 2 and all(len(p["sha256"]) == 64 for p in prov["predictions"])
    assert prov["code_version"]


def test_partial_credit_settings(release_dir: Path, tmp_path: Path) -> None:
    files = [read_predictions(_write(tmp_path / "beta.jsonl", BETA))]
    settings = ScoringSettings(partial_credit=0.25, max_parent_descendants=30)
    res = score_release(load_release(release_dir), files, select_metrics(["diagnosis_match"]), settings)
    scores = {r["item_id"]: r["scores"]["diagnosis_match"] for r in res["items"] if r["track"] == "diagnosis"}
    assert scores == {"D1": 0.25, "D2": 1.0, "D3": 0.25}
    assert res["provenance"]["settings"]["max_parent_descendants"] == 30


def test_unknown_metric_suggests_a_name() -> None:
    with pytest.raises(FatalError, match="did you mean 'accuracy'"):
        get_metric("acuracy")
