"""What the warehouse holds, for people: ``report.json`` plus ``report.html`` with PNG plots.

Benchmark maintainers look at distributions before they look at rows: how many cases and items per
track, why articles and drafts were rejected, what leakage control did per track, how often the
blind solver answers from text alone. The JSON is the record; the HTML (with bar charts drawn by
matplotlib's Agg backend) is a view of it and can be regenerated from the JSON alone.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import duckdb

from mmrare.files import atomic_write
from mmrare.warehouse.db import rejects_by_reason

TRACKS = ("diagnosis", "examination", "treatment", "cross_image")


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def collect(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The figures of the report, from one read-only connection."""
    items = dict(_rows(con, "SELECT track, count(*) FROM qa_items GROUP BY 1"))
    cases_per_track = dict(_rows(con, "SELECT track, count(DISTINCT pmcid) FROM qa_items GROUP BY 1"))
    contexts = _rows(
        con,
        "SELECT q.track, c.status, count(*) FROM qa_items q JOIN ("
        "  SELECT * FROM leakage_contexts QUALIFY row_number() OVER"
        "  (PARTITION BY item_id ORDER BY created_at DESC) = 1) c USING (item_id) GROUP BY ALL",
    )
    actions = _rows(
        con,
        "SELECT d.track, d.action, count(*) FROM leakage_decisions d JOIN ("
        "  SELECT item_id, basis, policy_sha256, config_hash FROM leakage_contexts QUALIFY row_number()"
        "  OVER (PARTITION BY item_id ORDER BY created_at DESC) = 1) c"
        "  USING (item_id, basis, policy_sha256, config_hash) GROUP BY ALL ORDER BY 1, 2",
    )
    flags = _rows(
        con,
        "SELECT track, flag, count(DISTINCT item_id) FROM dataset_flags WHERE flagged"
        " GROUP BY ALL ORDER BY 1, 2",
    )
    rejects = rejects_by_reason(con)
    diagnoses = _rows(
        con, "SELECT coalesce(code, '(none)'), coalesce(label, reason), count(*) FROM case_diagnoses"
        " GROUP BY ALL ORDER BY 3 DESC, 1 LIMIT 30",
    )
    kept: dict[str, dict[str, int]] = {t: {} for t in TRACKS}
    for track, status, n in contexts:
        kept.setdefault(track, {})[status] = n
    text_answerable = {track: n for track, flag, n in flags if flag == "text_answerable"}
    return {
        "counts": {
            "articles": _rows(con, "SELECT count(*) FROM articles")[0][0],
            "cases": _rows(con, "SELECT count(DISTINCT pmcid) FROM cases")[0][0],
            "diagnosed_cases": _rows(
                con, "SELECT count(DISTINCT pmcid) FROM case_diagnoses WHERE code IS NOT NULL"
            )[0][0],
            "images": _rows(con, "SELECT count(*) FROM graphics WHERE status = 'ok'")[0][0],
        },
        "items_per_track": {t: items.get(t, 0) for t in TRACKS},
        "cases_per_track": {t: cases_per_track.get(t, 0) for t in TRACKS},
        "leakage_status_per_track": kept,
        "leakage_actions": [{"track": t, "action": a, "n": n} for t, a, n in actions],
        "dataset_flags": [{"track": t, "flag": f, "items": n} for t, f, n in flags],
        "text_answerable_rate": {
            t: round(text_answerable.get(t, 0) / items[t], 4) for t in TRACKS if items.get(t)
        },
        "rejects": [{"stage": s, "reason": r, "n": n} for s, r, n in rejects],
        "top_diagnoses": [{"code": c, "label": lbl, "cases": n} for c, lbl, n in diagnoses],
    }


def _bar(path: Path, title: str, labels: list[str], values: list[float], horizontal: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.32 * len(labels)) if horizontal else 3.2))
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color="#4c72b0")
    else:
        ax.bar(labels, values, color="#4c72b0")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(data: dict[str, Any], out: Path) -> Path:
    """``report.json``, PNG plots and ``report.html`` into ``out``; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "report.json", json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
    tracks = list(data["items_per_track"])
    _bar(out / "items_per_track.png", "Items per track", tracks, list(data["items_per_track"].values()))
    top = data["rejects"][:20]
    if top:
        _bar(out / "rejects.png", "Rejects by stage and reason",
             [f"{r['stage']}: {r['reason']}" for r in top], [r["n"] for r in top], horizontal=True)
    rates = data["text_answerable_rate"]
    _bar(out / "text_answerable.png", "Blind solver: text-answerable rate", list(rates),
         list(rates.values()))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>mmrare warehouse report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em}</style></head><body>",
        "<h1>mmrare warehouse report</h1>",
        _table(["figure", "value"], [[k, v] for k, v in data["counts"].items()]),
        "<h2>Items</h2><img src='items_per_track.png' alt='items per track'>",
        _table(["track", "items", "cases", "leakage kept", "leakage dropped", "text-answerable rate"],
               [[t, data["items_per_track"][t], data["cases_per_track"][t],
                 data["leakage_status_per_track"].get(t, {}).get("kept", 0),
                 data["leakage_status_per_track"].get(t, {}).get("dropped", 0), rates.get(t, "–")]
                for t in tracks]),
        "<h2>Leakage actions (latest decisions)</h2>",
        _table(["track", "action", "n"],
               [[a["track"], a["action"], a["n"]] for a in data["leakage_actions"]]),
        "<h2>Dataset flags</h2>",
        _table(["track", "flag", "items"],
               [[f["track"], f["flag"], f["items"]] for f in data["dataset_flags"]]),
        "<img src='text_answerable.png' alt='text-answerable rate'>",
        "<h2>Rejects</h2>" + ("<img src='rejects.png' alt='rejects'>" if top else ""),
        _table(["stage", "reason", "n"], [[r["stage"], r["reason"], r["n"]] for r in data["rejects"]]),
        "<h2>Diagnoses</h2>",
        _table(["code", "label", "cases"],
               [[d["code"], d["label"], d["cases"]] for d in data["top_diagnoses"]]),
        "</body></html>",
    ]
    page = out / "report.html"
    atomic_write(page, "\n".join(parts).encode("utf-8"))
    return page


