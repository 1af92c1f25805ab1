"""The one ``mmrare`` command. Subcommands call plain stage functions; only ``build`` starts Prefect.

Heavy imports (prefect, torch) happen inside the subcommand that needs them, so ``mmrare status``
and ``mmrare config show`` stay fast.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from mmrare.commands.common import ConfigOption, console, err_console
from mmrare.commands.common import fail as _fail
from mmrare.commands.common import load as _config
from mmrare.commands.evaluate import predict, score
from mmrare.commands.leakage import audit_app, leakage_app
from mmrare.commands.release import release_app
from mmrare.commands.review import review_app
from mmrare.commands.synth import synth
from mmrare.config import Config
from mmrare.errors import FatalError

if TYPE_CHECKING:
    from mmrare.ontology.index import OrdoIndex

app = typer.Typer(
    pretty_exceptions_enable=False,  # main() turns every error into one line
    add_completion=False,
    no_args_is_help=True,
    help="Build, audit and score the mmrare rare-disease multimodal benchmark.",
)
config_app = typer.Typer(no_args_is_help=True, help="Inspect the effective configuration.")
app.add_typer(config_app, name="config")
ontology_app = typer.Typer(no_args_is_help=True, help="Orphanet (ORDO): release info, lookup, text mapping.")
app.add_typer(ontology_app, name="ontology")
app.add_typer(review_app, name="review")
app.add_typer(release_app, name="release")
app.add_typer(audit_app, name="audit")
app.add_typer(leakage_app, name="leakage")
app.command("predict")(predict)
app.command("score")(score)
app.command("synth")(synth)


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration (file + MMRARE_* overrides) and its hash."""
    cfg = _config(config)
    data = cfg.model_dump(mode="json", exclude={"base_dir"})
    if data["sources"].get("entrez_api_key"):
        data["sources"]["entrez_api_key"] = "***"
    console.print_json(json.dumps(data))
    console.print(f"config_hash = {cfg.config_hash}")
    console.print(f"workspace   = {cfg.workspace_dir}")


@app.command()
def build(
    config: ConfigOption = None,
    workers: Annotated[
        int, typer.Option(help="threads (default executor) or Dask worker processes (--executor dask)")
    ] = 2,
    executor: Annotated[
        str, typer.Option(help="threads (this process) or dask (a local Dask cluster of --workers processes)")
    ] = "threads",
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="run the per-record stages on an existing Dask scheduler, e.g. tcp://HOST:8786 "
            "(workspace, cache and sources must be on a filesystem the workers share)"
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Build or top up the warehouse from the configured sources (a Prefect flow run)."""
    cfg = _config(config)
    with _prefect(cfg):
        from mmrare.flows.build import run_build_flow

        result = run_build_flow(
            str(config) if config else None, workers=workers, show_progress=progress,
            executor=executor if dask_address is None else "dask",  # type: ignore[arg-type]
            dask_address=dask_address,
        )
    _print_rejects(result["reject_lines"])
    console.print(
        f"build {result['run_id']}: {result['discovered']} packages found, "
        f"{result['skipped_done']} already done, "
        f"{result['processed']} processed -> {result['cases']} cases, {result['rejected']} rejected"
    )
    timings = []
    for stage, counts in result["stages"].items():
        perf = counts.get("perf")
        if perf:
            timings.append(f"{stage} {perf['wall_s']:.1f}s")
        shown = {k: v for k, v in counts.items() if k != "perf"}
        if shown and stage not in ("ingest", "parse"):
            console.print(f"{stage}: " + ", ".join(f"{k}={v}" for k, v in shown.items()), highlight=False)
    added = result["rows_added"]
    console.print("rows added: " + (", ".join(f"{k}={v}" for k, v in added.items()) if added else "none"))
    console.print("time: " + ", ".join(timings), highlight=False)


@app.command()
def draft(
    config: ConfigOption = None,
    track: Annotated[
        list[str] | None, typer.Option(help="diagnosis | examination | treatment | cross_image (repeatable)")
    ] = None,
    drafter: Annotated[str | None, typer.Option(help="rules (default, offline) or llm")] = None,
    workers: Annotated[int, typer.Option(help="threads for per-case work")] = 2,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Draft benchmark items for linked cases (also part of `mmrare build`)."""
    cfg = _config(config)
    with _prefect(cfg):
        from mmrare.flows.build import run_draft_flow

        result = run_draft_flow(
            str(config) if config else None, track or None, drafter, workers, show_progress=progress
        )
    _print_rejects(result["reject_lines"])
    counts = result["stages"]["draft"]
    console.print(
        f"draft {result['run_id']}: {counts['cases']} cases drafted with {counts['drafter']}, "
        f"{counts['skipped_done']} already done, items {counts['items']}, "
        f"{counts['rejected_drafts']} drafts rejected",
        highlight=False,
    )


@app.command()
def ingest(
    config: ConfigOption = None,
    query: Annotated[str | None, typer.Option(help="Entrez query over db=pmc")] = None,
    pmcids: Annotated[Path | None, typer.Option(help="file with one PMCID per line")] = None,
    max_results: Annotated[int, typer.Option("--max", help="at most this many search results")] = 100,
    mindate: Annotated[str | None, typer.Option(help="publication date from, YYYY/MM/DD")] = None,
    maxdate: Annotated[str | None, typer.Option(help="publication date to, YYYY/MM/DD")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Fetch OA packages from the PMC Cloud Service bucket into workspace/raw (then run `mmrare build`)."""
    if not query and not pmcids:
        err_console.print("[red]error:[/red] give --query or --pmcids")
        raise typer.Exit(2)
    cfg = _config(config)
    with _prefect(cfg):
        from mmrare.flows.ingest import ingest_flow

        result = ingest_flow(
            config_file=str(config) if config else None,
            query=query,
            pmcids_file=str(pmcids) if pmcids else None,
            max_results=max_results,
            mindate=mindate,
            maxdate=maxdate,
            show_progress=progress,
        )
    for line in result["failures"]:
        err_console.print(f"[yellow]failed[/yellow] {line}", highlight=False, soft_wrap=True)
    console.print(
        f"ingest {result['run_id']}: {result['requested']} PMCIDs, {result['by_status']}, "
        f"{result['http_attempts']} HTTP attempts"
    )
    if result["failures"]:  # a partial ingest is not a success; what was fetched is kept
        err_console.print(
            f"[red]error:[/red] {len(result['failures'])} of {result['requested']} PMCIDs failed; "
            "`mmrare ingest` again retries only those",
            highlight=False,
        )
        raise typer.Exit(1)


@contextmanager
def _prefect(cfg: Config) -> Iterator[None]:
    """Prefect's environment for a flow command (set before prefect is imported), and a
    :class:`FatalError` from the flow as one red line (exit 2)."""
    from mmrare.flows.environment import prepare_prefect_env
    from mmrare.watchdog import watch_this_process

    # the servers and workers started below end with this command even on kill -9; a command that
    # ends normally stops them itself, and then its watcher
    watcher = watch_this_process()
    prepare_prefect_env(cfg.workspace_dir, cfg.prefect.server_startup_timeout_s)
    from mmrare.flows.logs import quiet_expected_errors_on_console

    quiet_expected_errors_on_console()  # the FatalError's one line below, not Prefect's traceback too
    try:
        yield
    except FatalError as exc:
        # Prefect keeps the error (flow run state, API log queue) until the interpreter exits; its
        # frames' locals would keep the build's DuckDB objects alive past DuckDB's own teardown
        traceback.clear_frames(exc.__traceback__)
        raise _fail(exc) from None
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def _print_rejects(lines: list[str]) -> None:
    """Bad input one line each; selection outcomes (expected, often many) grouped by reason."""
    by_reason: Counter[str] = Counter()
    for line in lines:
        stage, _, rest = line.partition(": ")
        if stage == "select":
            by_reason[rest.split(": ", 1)[-1].split(" (", 1)[0]] += 1
        else:
            err_console.print(f"[yellow]reject[/yellow] {line}", highlight=False, soft_wrap=True)
    for reason, n in sorted(by_reason.items()):
        err_console.print(f"[yellow]not selected[/yellow] {n} x {reason}", highlight=False)
    if by_reason:
        err_console.print("details: `mmrare status` and the rejects table", highlight=False)


@app.command()
def status(config: ConfigOption = None) -> None:
    """Row counts per table and the last run."""
    cfg = _config(config)
    from mmrare.warehouse.db import connect, rejects_by_reason, table_counts
    from mmrare.warehouse.runs import last_run

    try:
        con = connect(cfg.warehouse_path, read_only=True)
    except FatalError as exc:
        raise _fail(exc) from exc
    try:
        counts = table_counts(con)
        run = last_run(con)
        by_reason = rejects_by_reason(con)
    finally:
        con.close()
    table = Table(title=f"warehouse {cfg.warehouse_path}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)
    if by_reason:
        rt = Table(title="rejects by stage and reason")
        for col in ("stage", "reason", "n"):
            rt.add_column(col)
        for stage, reason, n in by_reason:
            rt.add_row(stage, reason, str(n))
        console.print(rt)
    if run:
        console.print(
            f"last run {run['run_id']} ({run['command']}): {run['status']}, started {run['started_at']}, "
            f"finished {run['finished_at']}, config {run['config_hash']}, code {run['code_version']}"
        )
        console.print(f"counts: {run['counts']}")


@app.command()
def report(
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default workspace/reports)")] = None,
) -> None:
    """Distributions a maintainer looks at first: report.json + report.html with plots."""
    cfg = _config(config)
    from mmrare.warehouse.db import connect
    from mmrare.warehouse.report import collect, write_report

    try:
        con = connect(cfg.warehouse_path, read_only=True)
    except FatalError as exc:
        raise _fail(exc) from exc
    try:
        data = collect(con)
    finally:
        con.close()
    page = write_report(data, out or cfg.workspace_dir / "reports")
    console.print(f"items per track: {data['items_per_track']}", highlight=False)
    console.print(f"report: {page}", highlight=False)


def _ordo(cfg: Config) -> OrdoIndex:
    from mmrare.ontology.store import load_ordo

    try:
        return load_ordo(cfg.resolve(cfg.ontology.ordo_path), cfg.cache_path / "ordo")
    except FatalError as exc:
        raise _fail(exc) from exc


@ontology_app.command("info")
def ontology_info(config: ConfigOption = None) -> None:
    """ORDO release (version, date, sha256) and concept counts by level and status."""
    cfg = _config(config)
    index = _ordo(cfg)
    rel = index.release
    console.print(f"ORDO {rel.version} modified {rel.modified} ({rel.source_name})")
    console.print(f"sha256 {rel.sha256}")
    levels: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    synonyms = xrefs = 0
    for concept in index.concepts():
        levels[concept.level.value] += 1
        statuses[concept.status.value] += 1
        synonyms += len(concept.synonyms)
        xrefs += len(concept.xrefs)
    table = Table(title=f"{len(index)} concepts, {synonyms} synonyms, {xrefs} cross-references")
    table.add_column("level")
    table.add_column("n", justify="right")
    for level, n in levels.most_common():
        table.add_row(level, str(n))
    console.print(table)
    console.print("status: " + ", ".join(f"{k}={v}" for k, v in statuses.most_common()))


@ontology_app.command("lookup")
def ontology_lookup(
    term: Annotated[str, typer.Argument(help="a label, synonym, ORPHA:n, OMIM:n, ICD-10:X, ...")],
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(help="at most this many suggestions")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Find concepts by code, cross-reference, label or synonym; fuzzy ranked suggestions otherwise."""
    from mmrare.ontology.lookup import lookup

    cfg = _config(config)
    index = _ordo(cfg)
    hits = lookup(index, term, limit=limit)
    if as_json:
        rows = [
            {"code": h.code, "label": h.label, "matched": h.matched, "kind": str(h.kind), "score": h.score}
            for h in hits
        ]
        print(json.dumps({"query": term, "ordo_version": index.release.version, "hits": rows}, indent=2))
        return
    if not hits:
        err_console.print(f"no concept matches {term!r}")
        raise typer.Exit(1)
    table = Table(title=f"{term!r} in ORDO {index.release.version}")
    for col in ("code", "label", "matched", "kind", "score"):
        table.add_column(col)
    for h in hits:
        table.add_row(h.code, h.label, h.matched, str(h.kind), f"{h.score:.2f}")
    console.print(table)


@ontology_app.command("map")
def ontology_map(
    text_file: Annotated[Path, typer.Option("--text-file", help="free text (UTF-8); '-' reads stdin")],
    title: Annotated[str | None, typer.Option(help="title, weighted like an article title")] = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The case-level rare-disease diagnosis of any text: code, label, score, evidence, alternatives."""
    from mmrare.ontology.linking import LINKER_VERSION, Linker, map_text

    cfg = _config(config)
    try:
        text = sys.stdin.read() if str(text_file) == "-" else text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err_console.print(f"[red]error:[/red] {text_file}: cannot read text ({exc})")
        raise typer.Exit(2) from exc
    index = _ordo(cfg)
    linker = Linker.build(index, cfg.cache_path / "linker")
    found = map_text(linker, text, title)  # section roles from the text's headings, keywords as evidence
    diag, mentions = found.diagnosis, found.mentions
    by_id = {sid: part for sid, _role, part in found.sentences}
    result = {
        "code": diag.code,
        "label": diag.label,
        "score": diag.confidence,
        "reason": diag.reason,
        "evidence": [{"sentence_id": sid, "text": by_id.get(sid, "")} for sid in diag.evidence_sentence_ids],
        "alternatives": [{"code": c, "label": lbl, "score": sc} for c, lbl, sc in diag.alternatives],
        "mentions": [
            {
                "sentence_id": m.sentence_id, "text": m.text, "code": m.code, "label": m.label,
                "match_kind": str(m.match_kind), "negated": m.negated, "differential": m.differential,
                "family_history": m.family_history,
            }
            for m in mentions
        ],
        "ordo_version": index.release.version,
        "ordo_sha256": index.release.sha256,
        "linker_version": LINKER_VERSION,
    }
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    if diag.code:
        console.print(f"{diag.code} {diag.label} (score {diag.confidence:.2f}, {diag.reason})")
    else:
        console.print(f"no rare-disease diagnosis ({diag.reason})")
    for ev in result["evidence"]:
        console.print(f"  evidence {ev['sentence_id']}: {ev['text']}", highlight=False)
    for alt in result["alternatives"][:5]:
        console.print(f"  alternative {alt['code']} {alt['label']} ({alt['score']:.2f})", highlight=False)


def main() -> None:
    """The ``mmrare`` console command: whatever stops a run is one red line and exit 2.

    A :class:`FatalError` says what to do. An operating-system error (a read-only or full disk, a
    missing permission) names the file and the cause. Anything else is a bug: one line here, and
    the traceback in a file the line names, for the report."""
    try:
        app()
    except FatalError as exc:
        _stop(str(exc), exc)
    except OSError as exc:
        _stop(os_problem(exc), exc)
    except Exception as exc:
        _stop(f"internal error, {type(exc).__name__}: {exc} (traceback in {_save_traceback(exc)})", exc)


def os_problem(exc: OSError) -> str:
    """``file: cause`` with a hint for the causes a user can fix."""
    where = f"{exc.filename}: " if exc.filename else ""
    hint = {
        errno.EACCES: "no permission; check the workspace's owner and mode",
        errno.EPERM: "not permitted; check the workspace's owner and mode",
        errno.EROFS: "the file system is read-only; point the workspace elsewhere",
        errno.ENOSPC: "the disk is full; free space and run again (finished work is kept)",
    }.get(exc.errno or 0)
    return f"{where}{exc.strerror or exc}" + (f" ({hint})" if hint else "")


def _stop(message: str, exc: BaseException) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    traceback.clear_frames(exc.__traceback__)  # nothing of the run outlives it (DuckDB objects)
    sys.exit(2)


def _save_traceback(exc: BaseException) -> Path:
    path = Path(tempfile.gettempdir()) / f"mmrare-error-{os.getpid()}.txt"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path
