"""The score report read in headless Chromium, with one model and with eight.

The fixture release is scored for synthetic models (one of them wrong on every item, another wrong
on the one treatment item), ``report.html`` is opened in the browser, a full-page screenshot is kept
in the test's folder, and the laid-out page is measured: every figure within the page and apart from
the others, every text inside its figure and clear of every other text, every model named and in
its own colour, every legend with entries, and every zero score written as "0.00".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chromium import headless_chromium

from mmrare.evaluation.metrics import select_metrics
from mmrare.evaluation.plots import short_name
from mmrare.evaluation.predictions import read_predictions
from mmrare.evaluation.release import TRACKS, Release, load_release
from mmrare.evaluation.report import write_report
from mmrare.evaluation.scoring import score_release
from mmrare.evaluation.settings import ScoringSettings

pytestmark = pytest.mark.slow

MODELS = [
    "gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "gemini-1.5-pro-002", "qwen2-vl-72b-instruct",
    "internvl2-76b", "llava-v1.6-34b", "med-flamingo-9b", "always-wrong-baseline",
]  # fmt: skip
WIDTH = 1280

# Per figure: its box, and each text with the id of the artist it belongs to and its box.
_MEASURE = """
const box = e => { const r = e.getBoundingClientRect();
                   return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
return Array.from(document.querySelectorAll('figure.plot')).map(fig => {
  const svg = fig.querySelector('svg');
  const owner = e => { const g = e.closest('g[id]'); return g ? g.id : ''; };
  return {
    id: fig.id, box: svg ? box(svg) : null,
    texts: Array.from(fig.querySelectorAll('text')).map(
        t => ({id: owner(t), text: t.textContent.trim(), box: box(t)})),
    bars: Array.from(fig.querySelectorAll('g[id*="-bar-"] path')).map(
        p => ({id: owner(p), fill: getComputedStyle(p).fill})),
    legends: Array.from(fig.querySelectorAll('g[id*="legend"]')).map(
        g => Array.from(g.querySelectorAll('text')).map(t => t.textContent.trim()).filter(Boolean)),
  };
});
"""


def _predictions(release: Release, model: int) -> list[dict[str, Any]]:
    """Model k answers the i-th item (by id) right unless (i + k) % 3 == 0; the last model never does.

    Model 1 is thus wrong on T1, the only treatment item: a zero on one track."""
    rows = []
    for i, item in enumerate(sorted(release.items, key=lambda it: it.item_id)):
        right = (i + model) % 3 != 0 and model != len(MODELS) - 1
        option = item.answer_index if right else (item.answer_index + 1) % len(item.options)
        rows.append({"item_id": item.item_id, "model": MODELS[model], "option": "ABCD"[option],
                     "answer": item.options[option]})  # fmt: skip
    return rows


def _report(release_dir: Path, out: Path, models: list[int]) -> dict[str, Any]:
    release = load_release(release_dir)
    files = []
    for k in models:
        path = out.parent / f"{MODELS[k]}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in _predictions(release, k)))
        files.append(read_predictions(path))
    results = score_release(release, files, select_metrics(), ScoringSettings())
    write_report(results, out)
    return results


def _overlap(a: dict[str, float], b: dict[str, float], slack: float = 0.5) -> bool:
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    )


def _inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1.0) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["top"] >= outer["top"] - slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


@pytest.mark.parametrize("models", [[1], list(range(len(MODELS)))], ids=["1-model", "8-models"])
def test_report_is_legible_in_chromium(release_dir: Path, tmp_path: Path, models: list[int]) -> None:
    out = tmp_path / "results"
    out.mkdir()
    results = _report(release_dir, out, models)
    names = sorted(MODELS[k] for k in models)  # the order of the plots
    zeros = [r for r in results["summary"] if r["subset"] == "full" and r["mean"] == 0.0]
    assert any(r["track"] == "treatment" for r in zeros)  # the fixture has a zero to show

    with headless_chromium(WIDTH, 900) as browser:
        browser.get((out / "report.html").as_uri())
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(WIDTH, height + 200)
        browser.save_screenshot(str(tmp_path / f"report_{len(models)}.png"))
        viewport = browser.execute_script("return document.documentElement.clientWidth")
        folded = browser.execute_script(
            "const d = document.getElementById('comparisons');"
            "return d ? [d.open, d.querySelectorAll('tbody tr').length] : null"
        )
        figures = browser.execute_script(_MEASURE)

    if len(models) > 1:  # the paired tests (28 pairs here) are folded away below the plots and tables
        assert folded == [False, len(results["comparisons"])]
    metrics = list(results["provenance"]["metrics"])
    assert [f["id"] for f in figures] == [f"plot-{m}" for m in metrics] + ["plot-full_vs_clean"]
    for k, fig in enumerate(figures):
        where = fig["id"]
        assert fig["box"] and fig["box"]["right"] <= viewport and fig["box"]["left"] >= 0, where
        for other in figures[k + 1 :]:
            assert not _overlap(fig["box"], other["box"]), (where, other["id"])
        texts = [t for t in fig["texts"] if t["text"]]
        for i, text in enumerate(texts):
            assert _inside(text["box"], fig["box"]), f"{where}: {text['text']!r} is cut off"
            for other in texts[i + 1 :]:
                clash = f"{where}: {text['text']!r} on {other['text']!r}"
                assert not _overlap(text["box"], other["box"]), clash
        labels = {t["text"] for t in texts if "-model-" in t["id"]}
        assert labels == {short_name(n) for n in names}, where
        fills = {bar["id"].split("-bar-")[1].split("-")[0]: bar["fill"] for bar in fig["bars"]}
        assert len(set(fills.values())) == len(fills), f"{where}: models share a colour"
        # a model without a bar in a figure is one whose metric does not apply (n/a), said so in text
        assert len(fills) == len(names) or any(t["text"] == "n/a" for t in texts), where
        for legend in fig["legends"]:
            assert legend, f"{where}: an empty legend"
    assert [f["legends"] for f in figures[:-1]] == [[]] * len(metrics)  # one series: no legend
    assert figures[-1]["legends"] == [["Full set", "Leakage-clean subset"]]

    by_id = {f["id"]: f for f in figures}
    for row in zeros:
        fig = by_id[f"plot-{row['metric']}"]
        shown_tracks = {
            r["track"] for r in results["summary"] if r["metric"] == row["metric"] and r["subset"] == "full"
        }
        panels = [t for t in (*TRACKS, "all") if t in shown_tracks]
        gid = f"plot-{row['metric']}-value-{names.index(row['model'])}-{panels.index(row['track'])}"
        shown = [t for t in fig["texts"] if t["id"] == gid.removeprefix("plot-")]
        assert [t["text"] for t in shown] == ["0.00"], (row, gid)
        assert shown[0]["box"]["right"] > shown[0]["box"]["left"], gid


def test_a_metric_without_a_value_reads_n_a() -> None:
    """A model with no mean for a track (the metric does not apply) gets "n/a", not a bar of 0."""
    from mmrare.evaluation.plots import draw

    summary = [
        {"subset": "full", "model": m, "track": t, "metric": "grounding_f1", "n": 2, "mean": mean,
         "ci_low": mean, "ci_high": mean}
        for m, t, mean in [("a", "diagnosis", 0.5), ("a", "all", 0.5), ("b", "all", 0.0)]
    ]  # fmt: skip
    provenance = {"metrics": {"grounding_f1": "grounding/1"}, "settings": {"confidence": 0.95}}
    results = {"summary": summary, "provenance": provenance}
    svg = draw(results)[0].svg
    assert '<g id="grounding_f1-value-1-0">' in svg  # model b, diagnosis: no row
    after = svg.split('<g id="grounding_f1-value-1-0">', 1)[1]
    assert after.split("</text>", 1)[0].endswith("n/a")
    zero = svg.split('<g id="grounding_f1-value-1-1">', 1)[1]
    assert zero.split("</text>", 1)[0].endswith("0.00")
