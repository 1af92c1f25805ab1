"""Write a results document as ``results.json``, ``results.md`` and ``report.html`` with SVG plots.

The JSON is the record (everything, with provenance); Markdown and HTML are views of it, so they can
be regenerated from ``results.json`` alone with :func:`write_report`.
"""

from __future__ import annotations

import html
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from mmrare.evaluation.plots import Plot, draw
from mmrare.evaluation.predictions import atomic_write
from mmrare.evaluation.release import TRACKS

_SUBSET_TITLE = {
    "full": "Full set",
    "leakage_clean": "Leakage-clean subset",
    "post_cutoff": "Post-cutoff subset (items published after each model's training cutoff)",
}


NA = "n/a"  # a cell without a score (the metric does not apply there), never shown as 0


def _fmt(row: dict[str, Any]) -> str:
    if row["mean"] is None or math.isnan(row["mean"]):
        return NA
    return f"{row['mean']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] (n={row['n']})"


def tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for each subset x metric: models as rows, tracks (+ all) as columns.

    A model the metric does not apply to (accuracy in open mode) has no row; a cell without a
    score (a precision over no cited image, a track the metric skips) reads "n/a".
    """
    grid: dict[tuple[str, str], dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    tracks_seen: set[str] = set()
    for row in results["summary"]:
        grid[(row["subset"], row["metric"])][row["model"]][row["track"]] = _fmt(row)
        tracks_seen.add(row["track"])
    columns = [t for t in (*TRACKS, "all") if t in tracks_seen]
    metric_order = list(results["provenance"]["metrics"])
    out = []
    for subset, subset_title in _SUBSET_TITLE.items():
        for metric in metric_order:
            models = grid.get((subset, metric))
            if not models:
                continue
            rows = [[model, *(cells.get(t, NA) for t in columns)] for model, cells in sorted(models.items())]
            out.append((f"{subset_title}: {metric}", ["model", *columns], rows))
    return out + contamination_tables(results)


_CONTAMINATION_HEADER = ["model", "cutoff", "items after cutoff", "full", "post-cutoff", "gap (full − post)"]


def contamination_tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per metric, over all tracks: each model with a cutoff on the full set and on the items
    published after its cutoff, and the gap between the two (a contamination signal)."""
    report = results.get("contamination")
    if not report:
        return []
    unknown = (
        f"{report['n_unknown_date']} of {report['n_items']} items have no publication date"
        " and count in the full set only"
    )
    out = []
    for metric in results["provenance"]["metrics"]:
        rows = []
        for model in report["models"]:
            row = next((r for r in model["rows"] if r["metric"] == metric and r["track"] == "all"), None)
            if row is None:
                continue
            gap = "–" if row["gap"] is None else f"{row['gap']:+.3f}"
            post = _fmt(row["post_cutoff"]) if row["post_cutoff"] else "– (n=0)"
            rows.append([model["model"], model["cutoff"], str(model["n_post_cutoff"]), _fmt(row["full"]),
                         post, gap])  # fmt: skip
        if rows:
            out.append((f"Contamination: {metric}, all tracks ({unknown})", _CONTAMINATION_HEADER, rows))
    return out


def comparison_rows(results: dict[str, Any]) -> list[list[str]]:
    return [
        [
            c["subset"],
            c["track"],
            c["metric"],
            f"{c['model_a']} vs {c['model_b']}",
            c["test"],
            str(c["n"]),
            f"{c['mean_a']:.3f} vs {c['mean_b']:.3f}",
            f"{c['p_value']:.4g}",
        ]
        for c in results["comparisons"]
    ]


_COMPARISON_HEADER = ["subset", "track", "metric", "models", "test", "n", "means", "p"]
_COVERAGE_HEADER = ["model", "items", "predicted", "missing predictions", "by track", "unknown item ids"]


def coverage_rows(results: dict[str, Any]) -> list[list[str]]:
    """Per model: items without a prediction (they score 0 where a metric applies), and where."""
    rows = []
    for model, cov in results["coverage"].items():
        by_track = ", ".join(
            f"{track} {cell['missing_predictions']}/{cell['items']}" for track, cell in cov["tracks"].items()
        )
        rows.append([model, str(cov["items"]), str(cov["predicted"]), str(cov["missing_predictions"]),
                     by_track, str(cov["unknown_item_ids"])])  # fmt: skip
    return rows


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    prov = results["provenance"]
    rel = prov["release"]
    parts = [
        f"# mmrare results: release {rel['version']}",
        "",
        f"Release manifest sha256 `{rel['manifest_sha256']}`; {rel['n_items']} items "
        f"({rel['n_leakage_clean']} leakage-clean). Code {prov['code_version']}; "
        f"created {prov['created_at']}.",
        f"Cells: mean [bootstrap {prov['settings']['confidence']:.0%} CI] (n items scored).",
        "",
    ]
    for title, header, rows in tables(results):
        parts += [f"## {title}", "", _markdown_table(header, rows), ""]
    if results["comparisons"]:
        parts += [
            "## Paired comparisons",
            "",
            _markdown_table(_COMPARISON_HEADER, comparison_rows(results)),
            "",
        ]
    parts += ["## Coverage", "", _markdown_table(_COVERAGE_HEADER, coverage_rows(results)), ""]
    parts += ["## Provenance", "", "```json", json.dumps(prov, indent=2), "```", ""]
    return "\n".join(parts)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(results: dict[str, Any], plots: list[Plot]) -> str:
    """The page: plots inline (their text stays text, so it scales and can be searched), then tables."""
    prov = results["provenance"]
    rel = prov["release"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>mmrare results {html.escape(rel['version'])}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#f3f3f3}"
        "figure.plot{margin:1.5em 0}figure.plot svg{display:block;max-width:100%;height:auto}</style>",
        "</head><body>",
        f"<h1>mmrare results: release {html.escape(rel['version'])}</h1>",
        f"<p>Manifest sha256 <code>{html.escape(rel['manifest_sha256'])}</code>; {rel['n_items']} items "
        f"({rel['n_leakage_clean']} leakage-clean); code {html.escape(prov['code_version'])}.</p>",
    ]
    parts += [
        f"<figure class='plot' id='plot-{html.escape(p.name)}' aria-label='{html.escape(p.title)}'>{p.svg}"
        f"</figure>"
        for p in plots
    ]
    for title, header, rows in tables(results):
        parts += [f"<h2>{html.escape(title)}</h2>", _html_table(header, rows)]
    if results["comparisons"]:
        # every pair of models x subset x track x metric: with 8 models over a thousand rows, so folded
        comparisons = comparison_rows(results)
        parts += [
            "<h2>Paired comparisons</h2>",
            f"<details id='comparisons'><summary>{len(comparisons)} paired tests</summary>"
            f"{_html_table(_COMPARISON_HEADER, comparisons)}</details>",
        ]
    parts += ["<h2>Coverage</h2>", _html_table(_COVERAGE_HEADER, coverage_rows(results))]
    parts += [
        "<h2>Provenance</h2>",
        f"<pre>{html.escape(json.dumps(prov, indent=2))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """All outputs into ``out_dir``; returns the paths written (JSON first)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "results.md", out_dir / "report.html"]
    atomic_write(paths[0], json.dumps(results, indent=2, allow_nan=False).encode())
    atomic_write(paths[1], markdown(results).encode())
    plots = draw(results)
    images = [out_dir / f"plot_{p.name}.svg" for p in plots]
    for plot, path in zip(plots, images, strict=True):
        atomic_write(path, plot.svg.encode())
    atomic_write(paths[2], html_report(results, plots).encode())
    return paths + images
