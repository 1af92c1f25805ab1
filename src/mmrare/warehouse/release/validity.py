"""validity.json and the datasheet's validity section: a release's answers to a reviewer's questions.

Per track: items and cases; where the answers sit; how well shortcut baselines do against chance
(option-only: the longest option and the option most like the others; text-only: the blind
solver leakage control ran, context and options without images; the image-blind distractor check);
leakage score distributions next to the thresholds in force; how many contexts were masked or lost
sentences; near-duplicate and same-case rates; annotator agreement; licence mix; publication years.

Two kinds of facts, kept apart so ``release verify`` can check what it can:

- :func:`row_facts` derive from the released rows and the licence ledger alone; verify recomputes
  them and any difference is an error;
- :func:`warehouse_facts` come from stored leakage and review rows a release does not ship; verify
  checks they describe the released items (the item counts agree) but cannot recompute them.
"""

from __future__ import annotations

import fnmatch
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from mmrare import baselines
from mmrare.kappa import modal_fleiss
from mmrare.warehouse.release import reads
from mmrare.warehouse.release.datasheet import md_table
from mmrare.warehouse.release.reads import ContextInfo, DatasetFlagRow
from mmrare.warehouse.release.schema import LETTERS, TRACKS

VALIDITY = "validity.json"
FORMAT = "mmrare-validity/1"
POSITION_TOLERANCE = 0.05  # the largest gap between a position's share and uniform that passes
ROW_KEYS = (
    "items",
    "cases",
    "answer_positions",
    "chance",
    "option_only",
    "image_blind",
    "licences",
    "publication_years",
    "leakage_flags",
)
_QUANTILES = (0.5, 0.9, 0.99)


def _rate(n: float, d: int) -> float | None:
    return round(n / d, 4) if d else None


def chance(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """Expected accuracy of guessing uniformly: the mean of 1/options."""
    return round(sum(1 / len(r["options"]) for r in rows) / len(rows), 4) if rows else None


def positions(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Answers per letter, each letter's share, its uniform share (items with that many options or
    more, 1/n each) and the largest gap between the two."""
    count = Counter(LETTERS[r["answer_index"]] for r in rows)
    width = max((len(r["options"]) for r in rows), default=0)
    expected = {
        LETTERS[p]: sum(1 / len(r["options"]) for r in rows if p < len(r["options"])) for p in range(width)
    }
    n = len(rows)
    share = {k: round(count.get(k, 0) / n, 4) for k in expected} if n else {}
    uniform = {k: round(v / n, 4) for k, v in expected.items()} if n else {}
    gap = max((abs(share[k] - uniform[k]) for k in share), default=0.0)
    return {
        "counts": {k: count.get(k, 0) for k in expected},
        "share": share,
        "uniform": uniform,
        "max_gap": round(gap, 4),
        "within_tolerance": gap <= POSITION_TOLERANCE,
    }


def option_only(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each option-only baseline's accuracy (ties share credit) and the items it solves confidently."""
    out: dict[str, Any] = {}
    for name in baselines.OPTION_ONLY:
        guesses = [baselines.option_only(name, r["options"], r["answer_index"]) for r in rows]
        solved = sum(1 for g in guesses if g.solved and g.confidence >= baselines.CONFIDENCE[name])
        out[name] = {
            "accuracy": _rate(sum(g.credit for g in guesses), len(rows)),
            "solved_confidently": solved,
        }
    return out


def row_facts(rows: Sequence[Mapping[str, Any]], years: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The verifiable part of validity.json, per track: from the released rows (Parquet/JSONL dicts)
    and each case's publication year (``years``: pmcid -> year text, "" when unknown)."""
    out: dict[str, dict[str, Any]] = {}
    for track in TRACKS:
        mine = [r for r in rows if r["track"] == track]
        if not mine:
            continue
        cases = {r["pmcid"]: r for r in mine}
        blind = sum(1 for r in mine if baselines.image_blind(r["context"], r["options"], r["answer_index"]))
        out[track] = {
            "items": len(mine),
            "cases": len(cases),
            "answer_positions": positions(mine),
            "chance": chance(mine),
            "option_only": option_only(mine),
            "image_blind": {"items": blind, "share": _rate(blind, len(mine))},
            "licences": dict(sorted(Counter(r["licence"] for r in cases.values()).items())),
            "publication_years": dict(sorted(Counter(years.get(p) or "unknown" for p in cases).items())),
            "leakage_flags": dict(sorted(Counter(f for r in mine for f in r["leakage_flags"] or []).items())),
        }
    return out


@dataclass
class StoredEvidence:
    """What only the warehouse knows about the released items (see the module docstring)."""

    dataset_flags: Sequence[DatasetFlagRow] = ()
    scores: Sequence[tuple[str, str, float]] = ()  # (item_id, detector, highest score)
    thresholds: Mapping[str, Mapping[str, Sequence[float]]] = field(default_factory=dict)  # track -> detector
    edits: Mapping[str, ContextInfo] = field(default_factory=dict)
    verdicts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # item -> annotator -> verdict
    distractors: Sequence[tuple[str, str]] = ()  # (item_id, why the drafter chose it)


def stored_evidence(
    con: duckdb.DuckDBPyConnection,
    item_ids: Sequence[str],
    semantic_thresholds: Mapping[str, float],
    policy_thresholds: Sequence[tuple[str, str, float]] = (),
) -> StoredEvidence:
    """Read :class:`StoredEvidence` of the released items. Thresholds in force: those the policy
    recorded with its decisions, the config's semantic thresholds, and ``policy_thresholds``
    ((track or "*", detector glob, threshold) of the policy's rules, which the warehouse does not
    store: a rule that never fired left no decision row)."""
    thresholds: dict[str, dict[str, set[float]]] = {}
    for track, detector, threshold in reads.decision_thresholds(con, item_ids):
        thresholds.setdefault(track, {}).setdefault(detector, set()).add(threshold)
    for track, threshold in semantic_thresholds.items():
        thresholds.setdefault(track, {}).setdefault("semantic", set()).add(float(threshold))
    detectors = {d for _, d, _ in reads.item_score_maxima(con, item_ids)}
    for track_glob, detector_glob, threshold in policy_thresholds:
        for track in TRACKS:
            if track_glob in ("*", track):
                for detector in fnmatch.filter(sorted(detectors), detector_glob):
                    thresholds.setdefault(track, {}).setdefault(detector, set()).add(float(threshold))
    return StoredEvidence(
        dataset_flags=reads.latest_dataset_flags(con, item_ids),
        scores=reads.item_score_maxima(con, item_ids),
        thresholds={t: {d: sorted(v) for d, v in x.items()} for t, x in thresholds.items()},
        edits=reads.latest_contexts(con, item_ids),
        verdicts=reads.review_verdicts(con, item_ids),
        distractors=reads.distractor_reasons(con, item_ids),
    )


def _distribution(values: Sequence[float], thresholds: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(values)
    q = {
        f"p{round(p * 100)}": round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 4)
        for p in _QUANTILES
    }
    out: dict[str, Any] = {
        "n": len(ordered),
        "mean": round(statistics.fmean(ordered), 4),
        **q,
        "max": round(ordered[-1], 4),
        "thresholds": sorted(thresholds),
    }
    if thresholds:
        out["at_or_above_lowest_threshold"] = sum(1 for v in ordered if v >= min(thresholds))
    return out


def warehouse_facts(rows: Sequence[Mapping[str, Any]], stored: StoredEvidence) -> dict[str, dict[str, Any]]:
    """The part of validity.json drawn from stored leakage and review rows, per track."""
    track_of = {r["item_id"]: r["track"] for r in rows}
    text_only: dict[str, list[bool]] = {}
    flagged: dict[str, dict[str, set[str]]] = {}
    for f in stored.dataset_flags:
        track = track_of.get(f.item_id)
        if track is None:
            continue
        if f.flag == "text_answerable":
            text_only.setdefault(track, []).append(f.score > 0)
        if f.flagged:
            flagged.setdefault(track, {}).setdefault(f.flag, set()).add(f.item_id)
    scores: dict[str, dict[str, list[float]]] = {}
    for item_id, detector, score in stored.scores:
        if item_id in track_of:
            scores.setdefault(track_of[item_id], {}).setdefault(detector, []).append(score)
    reasons: dict[str, Counter[str]] = {}
    for item_id, reason in stored.distractors:
        if item_id in track_of:  # by kind: "differential: <disease>" counts as "differential"
            reasons.setdefault(track_of[item_id], Counter())[reason.partition(":")[0]] += 1
    out: dict[str, dict[str, Any]] = {}
    for track in TRACKS:
        mine = [r["item_id"] for r in rows if r["track"] == track]
        if not mine:
            continue
        solved = text_only.get(track, [])
        edits = [stored.edits[i] for i in mine if i in stored.edits]
        n_items, raters, kappa = modal_fleiss({i: stored.verdicts[i] for i in mine if i in stored.verdicts})
        marks = flagged.get(track, {})
        out[track] = {
            "text_only": {"items": len(solved), "accuracy": _rate(sum(solved), len(solved))},
            "leakage_scores": {
                d: _distribution(v, (stored.thresholds.get(track) or {}).get(d, ()))
                for d, v in sorted(scores.get(track, {}).items())
            },
            "context_edits": {
                "checked": len(edits),
                "masked_share": _rate(sum(1 for e in edits if e.n_masked_spans), len(edits)),
                "dropped_sentence_share": _rate(sum(1 for e in edits if e.n_dropped_sentences), len(edits)),
            },
            "distractor_reasons": dict(sorted(reasons.get(track, Counter()).items())),
            "near_duplicate_rate": _rate(len(marks.get("near_duplicate_context", ())), len(mine)),
            "same_case_rate": _rate(len(marks.get("same_case_track", ())), len(mine)),
            "agreement": {
                "statistic": "fleiss_kappa",
                "items": n_items,
                "raters": raters,
                "kappa": None if kappa is None else round(kappa, 4),
            },
        }
    return out


def validity(
    rows: Sequence[Mapping[str, Any]], years: Mapping[str, str], stored: StoredEvidence
) -> dict[str, Any]:
    """The validity.json document."""
    facts = row_facts(rows, years)
    more = warehouse_facts(rows, stored)
    return {
        "format": FORMAT,
        "settings": {
            "baseline_confidence": dict(baselines.CONFIDENCE),
            "position_tolerance": POSITION_TOLERANCE,
        },
        "tracks": {t: {**facts[t], **more.get(t, {})} for t in facts},
    }


def write_validity(root: Path, doc: Mapping[str, Any]) -> str:
    (root / VALIDITY).write_text(
        json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8"
    )
    return VALIDITY


def check_validity(
    doc: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], years: Mapping[str, str]
) -> list[str]:
    """Differences between validity.json and the facts recomputed from the released rows."""
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(f"format {doc.get('format')!r}, expected {FORMAT!r}")
    recorded = doc.get("tracks") or {}
    actual = json.loads(json.dumps(row_facts(rows, years)))
    for track in sorted(set(recorded) | set(actual)):
        if track not in actual or track not in recorded:
            problems.append(f"track {track}: in {'validity.json' if track in recorded else 'the data'} only")
            continue
        for key in ROW_KEYS:
            if recorded[track].get(key) != actual[track][key]:
                problems.append(
                    f"track {track}: {key} {recorded[track].get(key)} != {actual[track][key]} in the data"
                )
        agreement = recorded[track].get("agreement") or {}
        if (agreement.get("items") or 0) > actual[track]["items"]:
            problems.append(f"track {track}: agreement over more items than the track has")
    return problems


def years_of(ledger: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """pmcid -> publication year text from the licence ledger's article rows."""
    return {r["pmcid"]: r["year"] for r in ledger if r["kind"] == "article"}


def section(doc: Mapping[str, Any]) -> list[str]:
    """The datasheet's validity section (Markdown lines)."""
    tracks = doc["tracks"]
    lines = [
        "## Validity",
        "",
        "How far the items can be answered by shortcuts, and how they were checked (all numbers in "
        "`validity.json`, which `mmrare release verify` checks against the data). Accuracy is over "
        "the items of each track; chance is the mean of 1/options.",
        "",
    ]
    rows = []
    for t, v in tracks.items():
        oo = v["option_only"]
        rows.append(
            [
                t,
                v["items"],
                v["cases"],
                v["chance"],
                oo["longest"]["accuracy"],
                oo["central"]["accuracy"],
                v.get("text_only", {}).get("accuracy"),
                v["image_blind"]["share"],
                v["answer_positions"]["max_gap"],
            ]
        )
    lines += md_table(
        [
            "track",
            "items",
            "cases",
            "chance",
            "longest option",
            "most central option",
            "text only (no images)",
            "image-blind share",
            "position gap",
        ],
        rows,
    )
    lines += ["Answer positions per letter (share of items):", ""]
    lines += md_table(
        ["track", *LETTERS[:5]],
        [[t, *(v["answer_positions"]["share"].get(k, "") for k in LETTERS[:5])] for t, v in tracks.items()],
    )
    rows = []
    for t, v in tracks.items():
        ce = v.get("context_edits", {})
        ag = v.get("agreement", {})
        kappa = (
            "n/a" if ag.get("kappa") is None else f"{ag['kappa']} (n={ag['items']}, {ag['raters']} raters)"
        )
        rows.append(
            [
                t,
                ce.get("masked_share"),
                ce.get("dropped_sentence_share"),
                v.get("near_duplicate_rate"),
                v.get("same_case_rate"),
                kappa,
            ]
        )
    lines += md_table(
        [
            "track",
            "masked contexts",
            "contexts with dropped sentences",
            "near-duplicate rate",
            "same-case rate",
            "Fleiss' kappa",
        ],
        rows,
    )
    rows = [
        [t, d, s["n"], s["p50"], s["p90"], s["max"], ", ".join(str(x) for x in s["thresholds"]) or "-"]
        for t, v in tracks.items()
        for d, s in v.get("leakage_scores", {}).items()
    ]
    if rows:
        lines += ["Leakage scores per item (highest per detector) and the thresholds in force:", ""]
        lines += md_table(["track", "detector", "items", "median", "p90", "max", "thresholds"], rows)
    origins = [
        [t, ", ".join(f"{r}: {n}" for r, n in v.get("distractor_reasons", {}).items()) or "-"]
        for t, v in tracks.items()
    ]
    lines += ["Why the distractors were chosen (distractors per reason):", ""]
    lines += md_table(["track", "reasons"], origins)
    years: Counter[str] = Counter()
    for v in tracks.values():
        years.update(v["publication_years"])
    lines += [
        "Cases per publication year (all tracks; a case in two tracks counts twice): "
        + ", ".join(f"{y}: {n}" for y, n in sorted(years.items())),
        "",
    ]
    return lines
