"""``mmrare predict`` and ``mmrare score`` end to end on the fixture release and the fake server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from typer.testing import CliRunner

from mmrare.cli import app

runner = CliRunner()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer(
        replies={"D1": "Answer: B\nSee Image 2.", "X1": "Answer: C (the third image)"}
    ).start()
    yield fake
    fake.stop()


def test_predict_then_score_writes_reports(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    config = tmp_path / "mmrare.toml"  # its own config: the workspace (for caches) is tmp_path/ws
    config.write_text('workspace = "ws"\n')
    preds = tmp_path / "p.jsonl"
    args = ["predict", "--release", str(release_dir), "--endpoint", server.url, "--model", "fake-vlm",
            "--out", str(preds), "--no-progress", "--rate", "500", "--config", str(config)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "7 requested" in result.output and server.count == 7
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "7 cached, 0 requested" in again.output
    assert server.count == 7
    assert (tmp_path / "ws" / "cache" / "replies").is_dir()

    out = tmp_path / "results"
    result = runner.invoke(
        app,
        ["score", "--release", str(release_dir), "--predictions", str(preds), "--out", str(out),
         "--judge-endpoint", server.url, "--judge-model", "fake-judge", "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("results.json", "results.md", "report.html", "plot_accuracy.svg", "plot_full_vs_clean.svg"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_mode & 0o777 == 0o644, name  # readable by others, not 0600
    results = json.loads((out / "results.json").read_text())
    judge = results["provenance"]["extras"]["judge"]
    assert judge["judge_model"] == "fake-judge" and len(judge["prompt_sha256"]) == 64
    all_judge = next(
        r for r in results["summary"]
        if (r["subset"], r["track"], r["metric"], r["model"]) == ("full", "all", "judge", "fake-vlm")
    )  # fmt: skip
    assert all_judge["mean"] == 0.75  # the fake judge gives 2 + 1 of 4 to every reply
    acc = next(
        r for r in results["summary"]
        if (r["subset"], r["track"], r["metric"]) == ("full", "all", "accuracy")
    )  # fmt: skip
    assert acc["mean"] == pytest.approx(5 / 7)  # default reply "A" is right for D2, E1, E2
    assert "Full set: accuracy" in (out / "results.md").read_text()
    assert "<figure class='plot' id='plot-accuracy'" in (out / "report.html").read_text()
    assert server.errors == []
    judged = server.count
    result = runner.invoke(
        app,
        ["score", "--release", str(release_dir), "--predictions", str(preds), "--out", str(out),
         "--judge-endpoint", server.url, "--judge-model", "fake-judge", "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert server.count == judged  # judge replies come from the cache


def test_score_errors_are_one_line(release_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"item_id": "D1", "model": "m", "answer": "x"}\nnot json\n')
    result = runner.invoke(
        app, ["score", "--release", str(release_dir), "--predictions", str(bad), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert f"{bad}:2: not valid JSON" in " ".join(result.output.split())
    good = tmp_path / "good.jsonl"
    good.write_text('{"item_id": "D1", "model": "m", "answer": "x"}\n')
    result = runner.invoke(
        app, ["score", "--release", str(release_dir), "--predictions", str(good), "--metric", "grounding_f"]
    )
    assert result.exit_code == 2
    assert "did you mean 'grounding_f1'" in " ".join(result.output.split())


def test_release_is_a_directory_or_a_version_in_the_workspace(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    config = tmp_path / "mmrare.toml"
    config.write_text('workspace = "ws"\n')
    (tmp_path / "ws" / "releases").mkdir(parents=True)
    (tmp_path / "ws" / "releases" / "3.1.4").symlink_to(release_dir)
    args = ["--endpoint", server.url, "--model", "m", "--no-progress", "--rate", "500",
            "--config", str(config)]  # fmt: skip
    result = runner.invoke(app, ["predict", "--release", "3.1.4", *args])
    assert result.exit_code == 0, result.output
    missing = runner.invoke(app, ["predict", "--release", "3.1.5", *args])
    assert missing.exit_code == 2 and "3.1.5: no such release" in missing.output
    assert server.count == 7
