"""``mmrare predict`` and ``mmrare score``: run a model on a release, score prediction files.

Both read only release files. Heavy imports (pyarrow, scipy, matplotlib) happen inside the commands
so the rest of the CLI stays fast.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mmrare.commands.common import ConfigOption, console, err_console, release_dir
from mmrare.commands.common import fail as _fail
from mmrare.commands.common import load as _config
from mmrare.errors import FatalError

ReleaseOption = Annotated[
    Path, typer.Option("--release", help="release: directory, or version under workspace/releases")
]
TrackOption = Annotated[list[str] | None, typer.Option("--track", help="only this track (repeatable)")]
SplitOption = Annotated[list[str] | None, typer.Option("--split", help="only this split (repeatable)")]


def _workspace(config: Path | None) -> Path:
    return _config(config).workspace_dir


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def predict(
    release: ReleaseOption,
    endpoint: Annotated[str, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")],
    model: Annotated[str, typer.Option(help="model name sent to the endpoint and written in predictions")],
    out: Annotated[
        Path | None, typer.Option(help="predictions JSONL (default workspace/predictions/...)")
    ] = None,
    mode: Annotated[str, typer.Option(help="mc: show options, answer a letter; open: free answer")] = "mc",
    track: TrackOption = None,
    split: SplitOption = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="requests in flight")] = 4,
    rate: Annotated[float, typer.Option(min=0.01, help="requests per second at most")] = 5.0,
    max_tokens: Annotated[int, typer.Option(min=1)] = 512,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.0,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = 120.0,
    api_key_env: Annotated[
        str, typer.Option(help="environment variable holding the API key")
    ] = "OPENAI_API_KEY",
    cache: Annotated[Path | None, typer.Option(help="reply cache (default workspace/cache/replies)")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    config: ConfigOption = None,
) -> None:
    """Ask a model every item of a release; cached replies are reused, so a re-run resumes."""
    from mmrare.evaluation.cache import ReplyCache
    from mmrare.evaluation.client import ChatClient
    from mmrare.evaluation.release import load_release
    from mmrare.evaluation.runner import RunSettings, run_predictions

    workspace = _workspace(config) if out is None or cache is None else Path()
    try:
        rel = load_release(release_dir(release, config), tracks=track, splits=split)
        settings = RunSettings(
            model=model, mode=mode, max_tokens=max_tokens, temperature=temperature,
            concurrency=concurrency, rate=rate,
        )  # fmt: skip
        if mode not in ("mc", "open"):
            raise FatalError(f"unknown --mode {mode!r}; use mc or open")
        client = ChatClient(endpoint, api_key=os.environ.get(api_key_env), rate=rate, timeout_s=timeout)
        out_path = out or workspace / "predictions" / rel.version / f"{_slug(model)}.{mode}.jsonl"
        summary = run_predictions(
            rel, client, settings, ReplyCache(cache or workspace / "cache" / "replies"), out_path,
            show_progress=progress,
        )  # fmt: skip
    except FatalError as exc:
        raise _fail(exc) from exc
    for line in summary.failed:
        err_console.print(f"[yellow]failed[/yellow] {line}", highlight=False, soft_wrap=True)
    rps = summary.attempts / summary.seconds if summary.seconds > 0 else 0.0
    console.print(
        f"{summary.items} items: {summary.cached} cached, {summary.requested} requested "
        f"({summary.attempts} HTTP attempts, {rps:.1f}/s), {len(summary.failed)} failed "
        f"-> {summary.predictions_path}",
        highlight=False,
    )
    if summary.failed:
        raise typer.Exit(1)


def score(
    release: ReleaseOption,
    predictions: Annotated[list[Path], typer.Option("--predictions", help="predictions JSONL (repeatable)")],
    out: Annotated[Path | None, typer.Option(help="output dir (default workspace/results/<version>)")] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="only this metric (repeatable)")
    ] = None,
    track: TrackOption = None,
    split: SplitOption = None,
    partial_credit: Annotated[float, typer.Option(help="credit for an ORDO parent/child answer")] = 0.5,
    max_parent_descendants: Annotated[int, typer.Option(help="parent partial credit up to this size")] = 10,
    bootstrap: Annotated[int, typer.Option(help="bootstrap resamples for CIs")] = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    cutoff: Annotated[
        list[str] | None,
        typer.Option(
            "--cutoff", help="MODEL=YYYY-MM: also score MODEL on items published after it (repeatable)"
        ),
    ] = None,
    cutoffs: Annotated[
        Path | None, typer.Option("--cutoffs", help='TOML file of model = "YYYY-MM" training cutoffs')
    ] = None,
    judge_endpoint: Annotated[str | None, typer.Option(help="OpenAI-compatible URL of an LLM judge")] = None,
    judge_model: Annotated[str | None, typer.Option(help="judge model name")] = None,
    judge_rate: Annotated[float, typer.Option(min=0.01, help="judge requests per second")] = 5.0,
    api_key_env: Annotated[str, typer.Option(help="environment variable holding the judge API key")] = (
        "OPENAI_API_KEY"
    ),
    allow_mismatch: Annotated[
        bool, typer.Option("--allow-mismatch", help="score predictions made for another release (warns)")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Score prediction files: level-1 metrics, grounding, optional LLM judge; write JSON, Markdown, HTML.

    Predictions made for another release are refused (see --allow-mismatch). With training cutoffs,
    each model is also scored on the items published after its cutoff.
    """
    from mmrare.evaluation.contamination import (
        check_models,
        cutoffs_from_file,
        cutoffs_from_options,
        merge_cutoffs,
    )
    from mmrare.evaluation.metrics import select_metrics
    from mmrare.evaluation.predictions import read_predictions
    from mmrare.evaluation.release import load_release
    from mmrare.evaluation.report import write_report
    from mmrare.evaluation.scoring import (
        ExtraMetric,
        check_release,
        collect_predictions,
        coverage_lines,
        score_release,
    )
    from mmrare.evaluation.settings import ScoringSettings

    if (judge_endpoint is None) != (judge_model is None):
        raise _fail(FatalError("give both --judge-endpoint and --judge-model, or neither"))
    try:
        model_cutoffs = merge_cutoffs(
            cutoffs_from_options(cutoff or []), cutoffs_from_file(cutoffs) if cutoffs else {}
        )
    except FatalError as exc:
        raise _fail(exc) from exc
    try:
        settings = ScoringSettings(
            partial_credit=partial_credit, max_parent_descendants=max_parent_descendants,
            bootstrap_resamples=bootstrap, seed=seed, cutoffs=model_cutoffs,
        )  # fmt: skip
    except ValueError as exc:
        raise _fail(FatalError(f"invalid scoring setting: {exc}")) from exc
    try:
        metrics = select_metrics(metric)
        rel = load_release(release_dir(release, config), tracks=track, splits=split)
        files = [read_predictions(p) for p in predictions]
        warnings = check_release(files, rel, allow_mismatch=allow_mismatch)
        by_model, _ = collect_predictions(rel, files)
        check_models(model_cutoffs, (m for pf in files for m in pf.models))  # before any judge call
        for line in warnings:  # after every check that can fail, so an error stays one line
            _warn(line)
        extras: list[ExtraMetric] = []
        if judge_endpoint and judge_model:
            from mmrare.evaluation.cache import ReplyCache
            from mmrare.evaluation.client import ChatClient
            from mmrare.evaluation.judge import run_judge

            client = ChatClient(judge_endpoint, api_key=os.environ.get(api_key_env), rate=judge_rate)
            judge_cache = ReplyCache(_workspace(config) / "cache" / "judge")
            judged = run_judge(rel, by_model, client, judge_model, judge_cache)
            for line in judged.failed:
                err_console.print(f"[yellow]judge failed[/yellow] {line}", highlight=False, soft_wrap=True)
            extras.append(judged.metric)
        results = score_release(rel, files, metrics, settings, extras)
        for line in coverage_lines(rel, files, results):
            _warn(line)
        out_dir = out or _workspace(config) / "results" / rel.version
        written = write_report(results, out_dir)
    except FatalError as exc:
        raise _fail(exc) from exc
    _print_summary(results)
    console.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}", highlight=False)


def _warn(line: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {line}", highlight=False, soft_wrap=True)


def _print_summary(results: dict[str, Any]) -> None:
    from mmrare.evaluation.report import tables

    for title, header, rows in tables(results):
        table = Table(title=title)
        for col in header:
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        console.print(table)
