"""``mmrare review``: annotators, the review web app, agreement statistics, Label Studio exchange.

The CLI is the one place that opens the warehouse for the review stage: it migrates it (writable
commands) and hands a :class:`~mmrare.annotations.review.store.ReviewStore` to the plain review
functions. ``serve`` opens the warehouse only while it answers a request, so the other commands
(``status``, ``release build``, ``build``) run beside it; each waits briefly when a request holds the
file. Heavy imports (FastAPI, uvicorn) happen inside the commands.
"""

from __future__ import annotations

import ipaddress
import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mmrare.commands.common import ConfigOption, console, err_console
from mmrare.commands.common import fail as _fail
from mmrare.commands.common import load as _config
from mmrare.commands.labelstudio import (
    export_labelstudio,
    import_labelstudio,
    pull_labelstudio,
    push_labelstudio,
)
from mmrare.commands.reviewstore import review_store as _store
from mmrare.errors import MmrareError

if TYPE_CHECKING:
    from mmrare.warehouse.queries.review import Cursor

review_app = typer.Typer(
    no_args_is_help=True, help="Annotator review: web app, annotators, agreement, Label Studio exchange."
)

# How long one web request waits for another command to let go of the warehouse before it shows
# a busy page (a release build or a status finishes well within it; a build does not).
REQUEST_WAIT_S = 10.0


@review_app.command("add-annotator")
def add_annotator_cmd(
    name: Annotated[str, typer.Argument(help="annotator name (letters, digits, . _ @ -)")],
    adjudicator: Annotated[bool, typer.Option("--adjudicator", help="may adjudicate disagreements")] = False,
    config: ConfigOption = None,
) -> None:
    """Create an annotator and print their login token (shown once; only its sha256 is stored)."""
    from mmrare.annotations.review.annotators import add_annotator

    cfg = _config(config)
    with _store(cfg) as store:
        try:
            token = add_annotator(store, name, adjudicator=adjudicator)
        except MmrareError as exc:
            raise _fail(exc) from exc
    err_console.print(f"annotator {name}{' (adjudicator)' if adjudicator else ''} created; login token:")
    print(token)


@review_app.command("reset-token")
def reset_token_cmd(
    name: Annotated[str, typer.Argument(help="annotator name")], config: ConfigOption = None
) -> None:
    """Issue a new login token for an annotator (the old one stops working)."""
    from mmrare.annotations.review.annotators import reset_token

    with _store(_config(config)) as store:
        try:
            token = reset_token(store, name)
        except MmrareError as exc:
            raise _fail(exc) from exc
    print(token)


@review_app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8765,
    required_reviews: Annotated[int, typer.Option(help="independent reviews per newly queued item")] = 2,
    config: ConfigOption = None,
) -> None:
    """Queue new drafts and run the review web app until interrupted."""
    import uvicorn

    from mmrare.annotations.review.queue import enqueue
    from mmrare.annotations.review.settings import ReviewSettings, load_secret
    from mmrare.annotations.review.store import ReviewStore
    from mmrare.annotations.review.web.app import create_app

    cfg = _config(config)
    try:
        settings = ReviewSettings(host=host, port=port, required_reviews=required_reviews)
    except ValueError as exc:
        raise _fail(exc) from exc
    with _store(cfg) as store:
        added = enqueue(store, settings.required_reviews)
        console.print(f"queued {added} new items ({settings.required_reviews} reviews each)")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            err_console.print(f"[yellow]warning:[/yellow] binding {host}: put a TLS proxy in front of it")
        secret = load_secret(cfg.workspace_dir / "review" / "session.key")
    # the app opens the warehouse per request, so other commands can use it between requests
    app = create_app(ReviewStore(opener=partial(_request_connection, cfg.warehouse_path)), settings, secret)
    console.print(f"review app on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def _request_connection(path: Path) -> Cursor:
    """The web app's connection for one request: a short wait for another command, then a busy page."""
    from mmrare.warehouse.db import connect

    return connect(path, wait_s=REQUEST_WAIT_S, on_wait=lambda _message: None, migrated=True)


@review_app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False, config: ConfigOption = None
) -> None:
    """Cohen's kappa per annotator pair and Fleiss' kappa per track over double-reviewed items."""
    from mmrare.annotations.review.agreement import agreement_stats

    with _store(_config(config), read_only=True) as store:
        report = agreement_stats(store)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    pairs = Table(title="Cohen's kappa per annotator pair")
    for col in ("annotator A", "annotator B", "items", "observed", "kappa"):
        pairs.add_column(col)
    for p in report.pairs:
        pairs.add_row(p.annotator_a, p.annotator_b, str(p.n_items), fmt(p.observed), fmt(p.kappa))
    tracks = Table(title="Fleiss' kappa per track")
    for col in ("track", "items", "reviews/item", "all agree", "kappa", "verdicts"):
        tracks.add_column(col)
    for t in report.tracks:
        verdicts = ", ".join(f"{k}={n}" for k, n in t.verdicts.items())
        tracks.add_row(t.track, str(t.n_items), str(t.raters), fmt(t.all_agree), fmt(t.kappa), verdicts)
    console.print(pairs)
    console.print(tracks)
    if not report.pairs:
        console.print("no double-reviewed items yet")


review_app.command("export-labelstudio")(export_labelstudio)
review_app.command("import-labelstudio")(import_labelstudio)
review_app.command("push-labelstudio")(push_labelstudio)
review_app.command("pull-labelstudio")(pull_labelstudio)
