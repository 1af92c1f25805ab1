"""Score prediction files against a release: per-item scores, model x track summaries, paired tests.

Results carry their provenance (release version + manifest sha256, predictions sha256, metric
versions, code version, settings) so a number in a paper can be traced to exactly what produced it.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mmrare.errors import FatalError
from mmrare.evaluation.contamination import after_cutoff, check_models, contamination_report
from mmrare.evaluation.metrics import Metric
from mmrare.evaluation.predictions import Prediction, PredictionsFile
from mmrare.evaluation.release import TRACKS, Release
from mmrare.evaluation.settings import ScoringSettings
from mmrare.evaluation.stats import STATS_VERSION, bootstrap_ci, mcnemar, wilcoxon
from mmrare.versions import code_version

RESULTS_SCHEMA = "mmrare-results/1"
SUBSETS = ("full", "leakage_clean", "post_cutoff")
# Models are compared on the same items; a post-cutoff subset is each model's own, so it has no pairs.
PAIRED_SUBSETS = ("full", "leakage_clean")
ALL_TRACKS = "all"


@dataclass
class ItemScore:
    """Scores of one model on one item (None: the metric does not apply to this item)."""

    model: str
    item_id: str
    track: str
    leakage_clean: bool
    missing: bool
    scores: dict[str, float | None] = field(default_factory=dict)
    post_cutoff: bool | None = None  # published after the model's training cutoff (None: no cutoff or date)


@dataclass(frozen=True)
class ExtraMetric:
    """Scores computed outside the registry (the LLM judge), merged as one more metric column."""

    name: str
    version: str
    binary: bool
    scores: dict[tuple[str, str], float]  # (model, item_id) -> score
    provenance: dict[str, Any]


def collect_predictions(
    release: Release, files: list[PredictionsFile]
) -> tuple[dict[str, dict[str, Prediction]], dict[str, int]]:
    """Predictions by model then item id; predictions for items outside the release are counted."""
    known = {item.item_id for item in release.items}
    by_model: dict[str, dict[str, Prediction]] = defaultdict(dict)
    unknown: dict[str, int] = defaultdict(int)
    for pf in files:
        for pred in pf.predictions:
            if pred.item_id not in known:
                unknown[pred.model] += 1
                continue
            if pred.item_id in by_model[pred.model]:
                raise FatalError(
                    f"{pf.path}: model {pred.model!r} already has a prediction for {pred.item_id!r} "
                    "in another predictions file"
                )
            by_model[pred.model][pred.item_id] = pred
    if not by_model:
        raise FatalError("no prediction matches an item of the release (wrong release or split?)")
    return dict(by_model), dict(unknown)


def score_items(
    release: Release,
    by_model: dict[str, dict[str, Prediction]],
    metrics: list[Metric],
    settings: ScoringSettings,
    extras: Sequence[ExtraMetric] = (),
) -> list[ItemScore]:
    """Every model on every item of the release; a missing prediction is scored (as wrong), not skipped."""
    out: list[ItemScore] = []
    for model in sorted(by_model):
        preds = by_model[model]
        for item in release.items:
            pred = preds.get(item.item_id)
            row = ItemScore(model, item.item_id, item.track, item.leakage_clean, pred is None)
            if model in settings.cutoffs:
                row.post_cutoff = after_cutoff(item.published, settings.cutoffs[model])
            for metric in metrics:
                row.scores[metric.name] = metric(item, pred, settings)
            for extra in extras:
                row.scores[extra.name] = 0.0 if pred is None else extra.scores.get((model, item.item_id))
            out.append(row)
    return out


def _in_subset(row: ItemScore, subset: str) -> bool:
    if subset == "post_cutoff":
        return row.post_cutoff is True
    return subset == "full" or row.leakage_clean


def summarise(
    rows: list[ItemScore], metric_names: list[str], settings: ScoringSettings
) -> list[dict[str, Any]]:
    """Mean and bootstrap CI per subset x model x track (plus "all") x metric."""
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for row in rows:
        for subset in SUBSETS:
            if not _in_subset(row, subset):
                continue
            for name in metric_names:
                value = row.scores.get(name)
                if value is None:
                    continue
                groups[(subset, row.model, row.track, name)].append(value)
                groups[(subset, row.model, ALL_TRACKS, name)].append(value)
    summary = []
    for (subset, model, track, name), values in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        ci = bootstrap_ci(
            values, resamples=settings.bootstrap_resamples, confidence=settings.confidence, seed=settings.seed
        )
        summary.append(
            {
                "subset": subset,
                "model": model,
                "track": track,
                "metric": name,
                "n": len(values),
                "mean": ci.mean,
                "ci_low": ci.low,
                "ci_high": ci.high,
            }
        )
    return summary


def _order(key: tuple[str, str, str, str]) -> tuple[int, str, int, str, str]:
    subset, model, track, name = key
    track_rank = TRACKS.index(track) if track in TRACKS else len(TRACKS)
    return (SUBSETS.index(subset), model, track_rank, track, name)


def compare(
    rows: list[ItemScore], binary: dict[str, bool], settings: ScoringSettings
) -> list[dict[str, Any]]:
    """Paired tests between every two models on the items both were scored on."""
    table: dict[tuple[str, str, str], float] = {}  # (model, item_id, metric) -> score
    models = sorted({r.model for r in rows})
    keys: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for row in rows:
        for name, value in row.scores.items():
            if value is None:
                continue
            table[(row.model, row.item_id, name)] = value
            for subset in PAIRED_SUBSETS:
                if _in_subset(row, subset):
                    keys[(subset, row.track, name)].add(row.item_id)
                    keys[(subset, ALL_TRACKS, name)].add(row.item_id)
    out: list[dict[str, Any]] = []
    for (subset, track, name), item_ids in sorted(
        keys.items(), key=lambda kv: _order((kv[0][0], "", *kv[0][1:]))
    ):
        for a, b in itertools.combinations(models, 2):
            pairs = [
                (table[(a, i, name)], table[(b, i, name)])
                for i in sorted(item_ids)
                if (a, i, name) in table and (b, i, name) in table
            ]
            if not pairs:
                continue
            xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
            if binary.get(name, False):
                res = mcnemar(xs, ys, exact_below=settings.mcnemar_exact_below)
            else:
                res = wilcoxon(xs, ys)
            out.append(
                {
                    "subset": subset,
                    "track": track,
                    "metric": name,
                    "model_a": a,
                    "model_b": b,
                    "test": res.test,
                    "n": res.n,
                    "statistic": res.statistic,
                    "p_value": res.p_value,
                    "mean_a": sum(xs) / len(xs),
                    "mean_b": sum(ys) / len(ys),
                    **res.detail,
                }
            )
    return out


def score_release(
    release: Release,
    files: list[PredictionsFile],
    metrics: list[Metric],
    settings: ScoringSettings,
    extras: Sequence[ExtraMetric] = (),
) -> dict[str, Any]:
    """The whole results document (the content of ``results.json``)."""
    by_model, unknown = collect_predictions(release, files)
    check_models(settings.cutoffs, by_model)
    rows = score_items(release, by_model, metrics, settings, list(extras))
    names = [m.name for m in metrics] + [e.name for e in extras]
    binary = {m.name: m.binary for m in metrics} | {e.name: e.binary for e in extras}
    coverage = {
        model: {
            "items": len(release.items),
            "predicted": len(preds),
            "missing": len(release.items) - len(preds),
            "unknown_item_ids": unknown.get(model, 0),
        }
        for model, preds in sorted(by_model.items())
    }
    summary = summarise(rows, names, settings)
    results: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "provenance": {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code_version": code_version(),
            "release": {
                "version": release.version,
                "manifest_sha256": release.manifest_sha256,
                "path": str(release.root),
                "n_items": len(release.items),
                "n_leakage_clean": sum(1 for i in release.items if i.leakage_clean),
            },
            "predictions": [{"path": str(pf.path), "sha256": pf.sha256, "models": pf.models} for pf in files],
            "metrics": {m.name: m.version for m in metrics} | {e.name: e.version for e in extras},
            "stats_version": STATS_VERSION,
            "settings": settings.model_dump(),
            "extras": {e.name: e.provenance for e in extras},
        },
        "coverage": coverage,
        "summary": summary,
        "comparisons": compare(rows, binary, settings),
        "items": [
            {
                "model": r.model,
                "item_id": r.item_id,
                "track": r.track,
                "leakage_clean": r.leakage_clean,
                "missing": r.missing,
                "scores": {k: (None if v is None or math.isnan(v) else v) for k, v in r.scores.items()},
                **({"post_cutoff": r.post_cutoff} if settings.cutoffs else {}),
            }
            for r in rows
        ],
    }
    if settings.cutoffs:
        results["contamination"] = contamination_report(summary, release.items, settings.cutoffs)
    return results
