"""Training cutoffs of the models scored, and which items each model cannot have read in training.

A case report published after a model's training cutoff cannot be in its training data, so the
model's score on those items is free of contamination; the gap between its full-set score and that
score is a contamination signal. Cutoffs come from ``--cutoff MODEL=YYYY-MM`` or a TOML file of
``model = "YYYY-MM"`` lines. A cutoff month is taken as included in training: an item is after the
cutoff only when every day its publication date may stand for lies after that month, so an item
dated only "2023" is not after a 2023-04 cutoff (mmrare.dates). Items without a date count in the
full set only, and the report says how many there are.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrare.dates import PartialDate, after_month
from mmrare.errors import FatalError
from mmrare.evaluation.release import Item

_CUTOFF = re.compile(r"^(\d{4})-(\d{2})$")


def parse_cutoff(text: str, where: str) -> tuple[int, int]:
    """(year, month) of a "YYYY-MM" cutoff; ``where`` names the input in the error."""
    match = _CUTOFF.match(text.strip()) if isinstance(text, str) else None
    if not match or not 1 <= int(match[2]) <= 12:
        raise FatalError(f"{where}: cutoff {text!r} is not a month like 2024-06 (YYYY-MM)")
    return int(match[1]), int(match[2])


def cutoffs_from_options(values: Sequence[str]) -> dict[str, str]:
    """``--cutoff MODEL=YYYY-MM`` values as {model: "YYYY-MM"}."""
    found: list[tuple[str, str, str]] = []
    for value in values:
        model, sep, month = value.rpartition("=")
        if not sep or not model.strip():
            raise FatalError(f"--cutoff {value!r}: expected MODEL=YYYY-MM")
        found.append((model.strip(), month.strip(), f"--cutoff {value!r}"))
    return _checked(found)


def cutoffs_from_file(path: Path) -> dict[str, str]:
    """A TOML file of ``model = "YYYY-MM"`` lines (quote model names with dots: ``"gpt-4.1" = ...``)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FatalError(f"{path}: cannot read cutoffs ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FatalError(f"{path}: not valid TOML ({exc})") from exc
    found = []
    for model, month in data.items():
        if not isinstance(month, str):
            raise FatalError(f'{path}: model {model!r}: the cutoff must be a string like "2024-06"')
        found.append((model, month, f"{path}: model {model!r}"))
    return _checked(found)


def merge_cutoffs(*groups: Mapping[str, str]) -> dict[str, str]:
    """One cutoff per model from several sources; a model given two different cutoffs is an error."""
    merged: dict[str, str] = {}
    for group in groups:
        for model, month in group.items():
            if merged.get(model, month) != month:
                raise FatalError(f"model {model!r} has two cutoffs: {merged[model]} and {month}")
            merged[model] = month
    return dict(sorted(merged.items()))


def check_models(cutoffs: Mapping[str, str], models: Iterable[str]) -> None:
    """Every model with a cutoff must be one the predictions name (a typo would silently score
    nobody on the post-cutoff set)."""
    known = sorted(set(models))
    for model in cutoffs:
        if model not in known:
            close = difflib.get_close_matches(model, known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; models: {', '.join(known)}"
            raise FatalError(f"cutoff for model {model!r}, which no predictions file names{hint}")


def after_cutoff(published: PartialDate | None, cutoff: str) -> bool | None:
    """Whether an item dated ``published`` lies wholly after ``cutoff`` ("YYYY-MM"); None when the
    item has no date (it counts in the full set only)."""
    if published is None:
        return None
    year, month = parse_cutoff(cutoff, "cutoff")
    return after_month(published, year, month)


def _checked(found: list[tuple[str, str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for model, month, where in found:
        year, mon = parse_cutoff(month, where)
        out = merge_cutoffs(out, {model: f"{year:04d}-{mon:02d}"})
    return out


def contamination_report(
    summary: Sequence[Mapping[str, Any]], items: Sequence[Item], cutoffs: Mapping[str, str]
) -> dict[str, Any]:
    """Each model with a cutoff: its full-set and post-cutoff cells (from the summary, CIs
    included) per track and metric, and the gap full minus post-cutoff. A positive gap means the
    model does better on cases it may have read in training."""
    cells = {(r["subset"], r["model"], r["track"], r["metric"]): r for r in summary}
    n_unknown = sum(1 for item in items if item.published is None)
    models = []
    for model, cutoff in cutoffs.items():
        rows = []
        for (subset, name, track, metric), full in cells.items():
            if subset != "full" or name != model:
                continue
            post = cells.get(("post_cutoff", model, track, metric))
            rows.append({
                "track": track,
                "metric": metric,
                "full": _cell(full),
                "post_cutoff": _cell(post) if post else None,
                "gap": _gap(full, post),
            })  # fmt: skip
        models.append({
            "model": model,
            "cutoff": cutoff,
            "n_items": len(items),
            "n_post_cutoff": sum(1 for item in items if after_cutoff(item.published, cutoff)),
            "n_unknown_date": n_unknown,
            "rows": rows,
        })  # fmt: skip
    return {
        "rule": (
            "an item is after a cutoff month when every day its publication date (to the year, month or"
            " day) may stand for lies after that month; items without a date count in the full set only"
        ),
        "n_items": len(items),
        "n_unknown_date": n_unknown,
        "models": models,
    }


def _gap(full: Mapping[str, Any], post: Mapping[str, Any] | None) -> float | None:
    """Full minus post-cutoff mean; None when either is missing or n/a (no score to compare)."""
    if post is None or full["mean"] is None or post["mean"] is None:
        return None
    return float(full["mean"] - post["mean"])


def _cell(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("n", "mean", "ci_low", "ci_high")}
