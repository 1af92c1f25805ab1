"""Score prediction files against a release: per-item scores, model x track summaries, paired tests.

Results carry their provenance (release version + manifest sha256, predictions sha256, metric
versions, code version, settings) so a number in a paper can be traced to exactly what produced it.
Predictions made for another release are refused, and items without a prediction are counted per
model and track, so a score never silently includes answers the model was not asked for.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mmrare.errors import FatalError
from mmrare.evaluation.contamination import after_cutoff, check_models, contamination_report
from mmrare.evaluation.metrics import Metric
from mmrare.evaluation.predictions import Prediction, PredictionsFile, PredictionsHeader
from mmrare.evaluation.release import TRACKS, Release
from mmrare.evaluation.settings import ScoringSettings
from mmrare.evaluation.stats import STATS_VERSION, bootstrap_ci, mcnemar, wilcoxon
from mmrare.versions import code_version

RESULTS_SCHEMA = "mmrare-results/2"  # 2: missing_predictions per track in coverage; n/a cells are null
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


def _short(sha256: str | None) -> str:
    return f"{sha256[:12]}…" if sha256 else "unknown"


def _made_for_another(header: PredictionsHeader, release: Release) -> str | None:
    """What ``header`` was made for when that is not ``release`` (None when it matches)."""
    sha, version = header.release_manifest_sha256, header.release_version
    if (sha is None or sha == release.manifest_sha256) and (version is None or version == release.version):
        return None
    return (
        f"made for release {version or '?'} (manifest sha256 {_short(sha)}), "
        f"not {release.version} ({_short(release.manifest_sha256)})"
    )


def check_release(
    files: list[PredictionsFile], release: Release, *, allow_mismatch: bool = False
) -> list[str]:
    """Warnings about the release each file was made for; another release is fatal unless allowed.

    The check is on the manifest sha256 (and version): a rebuilt release with the same version
    number has other items or answers, so its predictions do not belong to it either.
    """
    warnings: list[str] = []
    for pf in files:
        if pf.header is None or not pf.header.has_release:
            warnings.append(
                f"{pf.path}: no release recorded (made by hand?); scored against release {release.version}"
            )
            continue
        problem = _made_for_another(pf.header, release)
        if problem is None:
            continue
        if not allow_mismatch:
            raise FatalError(f"{pf.path}: {problem}; pass --allow-mismatch to score anyway")
        warnings.append(f"{pf.path}: {problem}; scoring anyway (--allow-mismatch)")
    return warnings


def model_modes(files: list[PredictionsFile]) -> dict[str, str | None]:
    """The prompt mode of each model's predictions (None: not recorded, every metric applies)."""
    modes: dict[str, str | None] = {}
    source: dict[str, PredictionsFile] = {}
    for pf in files:
        mode = pf.header.mode if pf.header else None
        for model in pf.models:
            if model in modes and modes[model] != mode:
                raise FatalError(
                    f"{pf.path}: model {model!r} answered in mode {mode or 'unrecorded'} here and in mode "
                    f"{modes[model] or 'unrecorded'} in {source[model].path}; score the two modes separately"
                )
            modes[model], source[model] = mode, pf
    return modes


def collect_predictions(
    release: Release, files: list[PredictionsFile]
) -> tuple[dict[str, dict[str, Prediction]], dict[str, list[str]]]:
    """Predictions by model then item id; ids of predictions for items outside the release, by model."""
    known = {item.item_id for item in release.items}
    by_model: dict[str, dict[str, Prediction]] = defaultdict(dict)
    unknown: dict[str, list[str]] = defaultdict(list)
    for pf in files:
        for pred in pf.predictions:
            if pred.item_id not in known:
                unknown[pred.model].append(pred.item_id)
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
    modes: dict[str, str | None] | None = None,
) -> list[ItemScore]:
    """Every model on every item of the release; a missing prediction is scored (as wrong), not skipped.

    A metric that does not apply to a model's mode (accuracy in open mode) has no score at all; one
    that does not apply to an item (another track, a precision over nothing cited) scores None.
    """
    out: list[ItemScore] = []
    for model in sorted(by_model):
        preds = by_model[model]
        mode = (modes or {}).get(model)
        for item in release.items:
            pred = preds.get(item.item_id)
            row = ItemScore(model, item.item_id, item.track, item.leakage_clean, pred is None)
            if model in settings.cutoffs:
                row.post_cutoff = after_cutoff(item.published, settings.cutoffs[model])
            for metric in metrics:
                if metric.applies_in(mode):  # otherwise left out: not reported for this model at all
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
    rows: list[ItemScore],
    metric_names: list[str],
    settings: ScoringSettings,
    tracks: Mapping[str, Iterable[str]] | None = None,
) -> list[dict[str, Any]]:
    """Mean and bootstrap CI per subset x model x track (plus "all") x metric.

    None scores are left out of means and CIs. A cell of a metric that applies to the track
    (``tracks``: metric -> tracks, default all) but has no score, such as the grounding precision
    of a model that never cites an image, is kept with n 0 and a null mean, so it reads "n/a".
    """
    applies = {name: set(tracks[name]) if tracks and name in tracks else set(TRACKS) for name in metric_names}
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for row in rows:
        for subset in SUBSETS:
            if not _in_subset(row, subset):
                continue
            for name in metric_names:
                if name not in row.scores or row.track not in applies[name]:
                    continue
                value = row.scores[name]
                for track in (row.track, ALL_TRACKS):
                    cell = groups[(subset, row.model, track, name)]  # created even for a None score
                    if value is not None:
                        cell.append(value)
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
                "mean": _number(ci.mean),
                "ci_low": _number(ci.low),
                "ci_high": _number(ci.high),
            }
        )
    return summary


def _number(value: float) -> float | None:
    """NaN (an empty cell) becomes None: JSON null, "n/a" in every table."""
    return None if math.isnan(value) else value


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


def coverage(
    release: Release, by_model: dict[str, dict[str, Prediction]], unknown: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """Per model: items, predictions, items without one (overall and per track), unknown item ids."""
    out: dict[str, dict[str, Any]] = {}
    for model, preds in sorted(by_model.items()):
        tracks: dict[str, dict[str, int]] = {}
        for item in release.items:
            cell = tracks.setdefault(item.track, {"items": 0, "missing_predictions": 0})
            cell["items"] += 1
            cell["missing_predictions"] += item.item_id not in preds
        out[model] = {
            "items": len(release.items),
            "predicted": len(preds),
            "missing_predictions": len(release.items) - len(preds),
            "unknown_item_ids": len(unknown.get(model, [])),
            "tracks": tracks,
        }
    return out


def coverage_lines(release: Release, files: list[PredictionsFile], results: dict[str, Any]) -> list[str]:
    """One line per model with items it has no prediction for, and one per model with unknown ids."""
    _, unknown = collect_predictions(release, files)
    lines = []
    for model, cov in results["coverage"].items():
        if cov["missing_predictions"]:
            per_track = ", ".join(
                f"{track} {cell['missing_predictions']}"
                for track, cell in cov["tracks"].items()
                if cell["missing_predictions"]
            )
            lines.append(
                f"{model}: {cov['missing_predictions']} of {cov['items']} items have no prediction "
                f"({per_track}); they score 0 where a metric applies{_selection_hint(files, model, release)}"
            )
    for model, ids in sorted(unknown.items()):
        lines.append(
            f"{model}: {len(ids)} prediction(s) for item ids not in release {release.version} "
            f"(e.g. {ids[0]!r}); not scored"
        )
    return lines


def _selection_hint(files: list[PredictionsFile], model: str, release: Release) -> str:
    """A hint when the predictions were made for fewer tracks or splits than are being scored."""
    for pf in files:
        if model not in pf.models or pf.header is None:
            continue
        options = [
            f"--{name} {value}"
            for name, made, scored in (
                ("track", pf.header.tracks, release.tracks),
                ("split", pf.header.splits, release.splits),
            )
            if made is not None and set(made) != set(scored or ())
            for value in made
        ]
        if options:
            return f" (the predictions were made with {' '.join(options)})"
    return ""


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
    modes = model_modes(files)
    rows = score_items(release, by_model, metrics, settings, list(extras), modes)
    names = [m.name for m in metrics] + [e.name for e in extras]
    binary = {m.name: m.binary for m in metrics} | {e.name: e.binary for e in extras}
    summary = summarise(rows, names, settings, {m.name: m.tracks for m in metrics})
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
            "predictions": [
                {
                    "path": str(pf.path),
                    "sha256": pf.sha256,
                    "models": pf.models,
                    "made_for": pf.header.to_json() if pf.header else None,
                }
                for pf in files
            ],
            "metrics": {m.name: m.version for m in metrics} | {e.name: e.version for e in extras},
            "stats_version": STATS_VERSION,
            "settings": settings.model_dump(),
            "extras": {e.name: e.provenance for e in extras},
        },
        "coverage": coverage(release, by_model, unknown),
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
