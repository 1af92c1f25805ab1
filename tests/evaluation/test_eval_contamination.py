"""Contamination-aware scoring: each model on the items published after its training cutoff.

The fixture's articles are dated to the month (PMC1064083: 2005-03, items D1, E1, T1), to the day
(PMC1174970: 2005-06-24, items D2, E2) and not at all (PMC10118017: D3, X1). Two fake models answer
by letter: alpha gets D1 D3 T1 X1 right, beta D2 E1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrare.cli import app
from mmrare.errors import FatalError
from mmrare.evaluation.contamination import cutoffs_from_file, cutoffs_from_options, merge_cutoffs
from mmrare.evaluation.metrics import select_metrics
from mmrare.evaluation.predictions import read_predictions
from mmrare.evaluation.release import load_release
from mmrare.evaluation.scoring import score_release
from mmrare.evaluation.settings import ScoringSettings

runner = CliRunner()
GOLD = {"D1": "B", "D2": "A", "D3": "C", "E1": "A", "E2": "A", "T1": "B", "X1": "C"}
RIGHT = {"alpha": {"D1", "D3", "T1", "X1"}, "beta": {"D2", "E1"}}


@pytest.fixture
def predictions(tmp_path: Path) -> list[Path]:
    paths = []
    for model, right in RIGHT.items():
        rows = [
            {"item_id": i, "model": model, "answer": letter, "option": letter}
            for i, gold in GOLD.items()
            for letter in [gold if i in right else "D"]
        ]
        path = tmp_path / f"{model}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(path)
    return paths


def _cell(results: dict, subset: str, model: str, track: str = "all") -> dict:
    return next(
        r for r in results["summary"]
        if (r["subset"], r["model"], r["track"], r["metric"]) == (subset, model, track, "accuracy")
    )  # fmt: skip


def test_each_model_is_scored_after_its_own_cutoff(release_dir: Path, predictions: list[Path]) -> None:
    settings = ScoringSettings(bootstrap_resamples=200, cutoffs={"alpha": "2005-02", "beta": "2005-03"})
    results = score_release(
        load_release(release_dir), [read_predictions(p) for p in predictions], select_metrics(["accuracy"]),
        settings,
    )  # fmt: skip
    # alpha (2005-02): the March and June articles are after -> D1 E1 T1 D2 E2, of which D1 and T1 right
    alpha = _cell(results, "post_cutoff", "alpha")
    assert (alpha["n"], alpha["mean"]) == (5, pytest.approx(2 / 5))
    assert alpha["ci_low"] <= alpha["mean"] <= alpha["ci_high"]
    # beta (2005-03): March is inside its training, June is after -> D2 E2, of which D2 right
    beta = _cell(results, "post_cutoff", "beta")
    assert (beta["n"], beta["mean"]) == (2, 0.5)
    assert _cell(results, "post_cutoff", "beta", "examination")["mean"] == 0.0  # E2 only
    report = results["contamination"]
    assert (report["n_items"], report["n_unknown_date"]) == (7, 2)  # D3, X1: full set only
    by_model = {m["model"]: m for m in report["models"]}
    assert (by_model["alpha"]["cutoff"], by_model["alpha"]["n_post_cutoff"]) == ("2005-02", 5)
    assert by_model["beta"]["n_post_cutoff"] == 2
    gap = next(r for r in by_model["alpha"]["rows"] if r["track"] == "all")
    assert gap["full"]["mean"] == pytest.approx(4 / 7) and gap["post_cutoff"]["n"] == 5
    assert gap["gap"] == pytest.approx(4 / 7 - 2 / 5)
    beta_gap = next(r for r in by_model["beta"]["rows"] if r["track"] == "all")
    assert beta_gap["gap"] == pytest.approx(2 / 7 - 1 / 2)  # better after the cutoff: no sign of it
    no_post = next(r for r in by_model["beta"]["rows"] if r["track"] == "treatment")
    assert no_post["post_cutoff"] is None and no_post["gap"] is None  # T1 is from March
    assert results["provenance"]["settings"]["cutoffs"] == {"alpha": "2005-02", "beta": "2005-03"}
    assert {c["subset"] for c in results["comparisons"]} == {"full", "leakage_clean"}
    post = {(i["model"], i["item_id"]): i["post_cutoff"] for i in results["items"]}
    assert post[("alpha", "D1")] is True and post[("beta", "D1")] is False and post[("beta", "X1")] is None


def test_without_cutoffs_the_results_have_no_post_cutoff_part(
    release_dir: Path, predictions: list[Path]
) -> None:
    results = score_release(
        load_release(release_dir), [read_predictions(predictions[0])], select_metrics(["accuracy"]),
        ScoringSettings(bootstrap_resamples=200),
    )  # fmt: skip
    assert "contamination" not in results
    assert {r["subset"] for r in results["summary"]} == {"full", "leakage_clean"}
    assert "post_cutoff" not in results["items"][0]


def test_cutoffs_from_options_and_file_merge(tmp_path: Path) -> None:
    path = tmp_path / "cutoffs.toml"
    path.write_text('alpha = "2005-02"\n"gpt-4.1" = "2024-06"\n')
    merged = merge_cutoffs(cutoffs_from_options(["alpha=2005-02", "beta = 2005-03"]), cutoffs_from_file(path))
    assert merged == {"alpha": "2005-02", "beta": "2005-03", "gpt-4.1": "2024-06"}
    assert cutoffs_from_options(["org/model=v2=2024-01"]) == {"org/model=v2": "2024-01"}
    with pytest.raises(FatalError, match="model 'alpha' has two cutoffs: 2005-02 and 2006-01"):
        merge_cutoffs(cutoffs_from_options(["alpha=2005-02"]), {"alpha": "2006-01"})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("alpha=2024-13", "--cutoff 'alpha=2024-13': cutoff '2024-13' is not a month like 2024-06 (YYYY-MM)"),
        ("alpha=2024", "cutoff '2024' is not a month like 2024-06"),
        ("alpha", "--cutoff 'alpha': expected MODEL=YYYY-MM"),
        ("=2024-01", "expected MODEL=YYYY-MM"),
    ],
)
def test_a_malformed_cutoff_is_one_line_and_exit_2(
    release_dir: Path, predictions: list[Path], value: str, message: str
) -> None:
    result = runner.invoke(
        app, ["score", "--release", str(release_dir), "--predictions", str(predictions[0]), "--cutoff", value]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_bad_cutoff_files_and_unknown_models_are_one_line_and_exit_2(
    release_dir: Path, predictions: list[Path], tmp_path: Path
) -> None:
    base = ["score", "--release", str(release_dir), "--predictions", str(predictions[0]),
            "--out", str(tmp_path / "r")]  # fmt: skip
    nested = tmp_path / "nested.toml"
    nested.write_text('[alpha]\ncutoff = "2005-02"\n')
    broken = tmp_path / "broken.toml"
    broken.write_text('alpha = "2005-02\n')
    good = tmp_path / "good.toml"
    good.write_text('alpha = "2005-02"\n')
    cases = [
        (["--cutoff", "alpah=2005-02"], "cutoff for model 'alpah', which no predictions file names; "
                                        "did you mean 'alpha'?"),
        (["--cutoffs", str(nested)], f"{nested}: model 'alpha': the cutoff must be a string"),
        (["--cutoffs", str(broken)], f"{broken}: not valid TOML"),
        (["--cutoffs", str(tmp_path / "none.toml")], "none.toml: cannot read cutoffs"),
        (["--cutoffs", str(good), "--cutoff", "alpha=2006-01"], "model 'alpha' has two cutoffs"),
    ]
    for args, message in cases:
        result = runner.invoke(app, base + args)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert message in result.output, result.output
    assert not (tmp_path / "r").exists()
