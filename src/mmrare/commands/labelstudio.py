"""``mmrare review export-labelstudio | import-labelstudio | push-labelstudio | pull-labelstudio``.

The file commands exchange JSON for offline work; push and pull talk to a Label Studio server
through its API. The API token is read only from the environment variable named by ``--token-env``
(never a flag or a file in the workspace), so it stays out of shell history and configs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mmrare.commands.common import ConfigOption, console, err_console, fail
from mmrare.commands.common import load as load_config
from mmrare.commands.reviewstore import review_store
from mmrare.errors import FatalError, MmrareError

if TYPE_CHECKING:
    from mmrare.annotations.review.labelstudio import AnnotatorResolver, ImageOptions, ImportReport
    from mmrare.annotations.review.labelstudio.sync import Server
    from mmrare.annotations.review.store import ReviewStore

MapOption = Annotated[
    Path | None,
    typer.Option(help='JSON {"label studio email, id or username": "annotator name"}'),
]
UsersOption = Annotated[
    Path | None, typer.Option("--users", help="Label Studio users list saved from GET /api/users/")
]
UrlOption = Annotated[str, typer.Option("--url", help="Label Studio server, e.g. http://127.0.0.1:8080")]
TokenEnvOption = Annotated[
    str, typer.Option("--token-env", help="environment variable holding the Label Studio API token")
]
ProjectOption = Annotated[str, typer.Option("--project", help="Label Studio project title")]
ImagesOption = Annotated[str, typer.Option("--images", help="auto | inline | files | url | none")]
ImageDirOption = Annotated[
    Path | None, typer.Option("--image-dir", help="--images files: folder to copy the images into")
]
RootOption = Annotated[
    Path | None,
    typer.Option(
        "--local-files-root", help="Label Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (default: parent)"
    ),
]
DEFAULT_PROJECT = "mmrare review"


def _annotator_map(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text("utf-8")).items()}
    except (OSError, ValueError, AttributeError) as exc:
        raise fail(FatalError(f"{path}: not a JSON object ({exc})")) from exc


def _server(url: str, token_env: str) -> Server:
    from mmrare.annotations.review.labelstudio.sync import Server

    token = os.environ.get(token_env, "").strip()
    if not token:
        raise fail(f"--token-env {token_env}: the variable is unset or empty; export it with your API token")
    try:
        return Server(url, token)
    except MmrareError as exc:
        raise fail(exc) from exc


def _resolver(
    store: ReviewStore, annotator_map: Path | None, users: Path | None, server: Server | None = None
) -> AnnotatorResolver:
    from mmrare.annotations.review.labelstudio import AnnotatorResolver, load_users
    from mmrare.warehouse.queries import review as queries

    try:
        found = load_users(users) if users is not None else (server.users() if server else [])
    except MmrareError as exc:
        raise fail(exc) from exc
    with store.read() as cur:
        known = queries.active_annotator_names(cur)
    return AnnotatorResolver(known, _annotator_map(annotator_map), found)


def _images(mode: str, base_url: str, image_dir: Path | None, root: Path | None) -> ImageOptions:
    from mmrare.annotations.review.labelstudio import ImageOptions

    try:
        return ImageOptions(mode, base_url, image_dir, root)
    except MmrareError as exc:
        raise fail(exc) from exc


def _report(report: ImportReport, prefix: str = "") -> None:
    for line in report.lines():
        err_console.print(f"[yellow]skipped[/yellow] {line}", highlight=False, soft_wrap=True)
    console.print(prefix + report.summary(), highlight=False, soft_wrap=True)


def export_labelstudio(
    out: Annotated[
        Path, typer.Argument(help="tasks JSON to write (a .label_config.xml is written beside it)")
    ],
    include_decided: Annotated[
        bool, typer.Option("--include-decided", "--all", help="also decided items, with their reviews")
    ] = False,
    images: ImagesOption = "auto",
    image_dir: ImageDirOption = None,
    local_files_root: RootOption = None,
    base_url: Annotated[
        str, typer.Option(help="--images url: the review app's URL")
    ] = "http://127.0.0.1:8765",
    annotator_map: MapOption = None,
    users: UsersOption = None,
    config: ConfigOption = None,
) -> None:
    """Write review tasks as Label Studio JSON, with existing reviews as annotations or predictions."""
    from mmrare.annotations.review.labelstudio import export_tasks

    options = _images(images, base_url, image_dir, local_files_root)
    with review_store(load_config(config), read_only=True) as store:
        resolver = _resolver(store, annotator_map, users)
        try:
            batch = export_tasks(
                store, out, include_decided=include_decided, images=options, resolver=resolver
            )
        except MmrareError as exc:
            raise fail(exc) from exc
    if not batch.tasks:
        console.print(batch.why_empty(), highlight=False, soft_wrap=True)
        return
    console.print(
        f"{len(batch.tasks)} tasks -> {out} (images {batch.images}; {batch.annotations} annotations,"
        f" {batch.predictions} predictions)",
        highlight=False,
        soft_wrap=True,
    )


def import_labelstudio(
    file: Annotated[Path, typer.Argument(help="Label Studio JSON export (project export or snapshot)")],
    annotator_map: MapOption = None,
    users: UsersOption = None,
    url: Annotated[str | None, typer.Option("--url", help="resolve user ids through this server")] = None,
    token_env: TokenEnvOption = "LABEL_STUDIO_API_KEY",
    config: ConfigOption = None,
) -> None:
    """Import Label Studio annotations as reviews (same checks as the web app)."""
    from mmrare.annotations.review.labelstudio.importer import import_tasks, read_tasks

    server = _server(url, token_env) if url and users is None else None
    with review_store(load_config(config)) as store:
        resolver = _resolver(store, annotator_map, users, server)
        try:
            report = import_tasks(store, read_tasks(file), resolver)
        except MmrareError as exc:
            raise fail(exc) from exc
    _report(report)


def push_labelstudio(
    url: UrlOption,
    token_env: TokenEnvOption = "LABEL_STUDIO_API_KEY",
    project: ProjectOption = DEFAULT_PROJECT,
    include_decided: Annotated[
        bool, typer.Option("--include-decided", help="also decided items, with their reviews")
    ] = False,
    images: ImagesOption = "auto",
    image_dir: ImageDirOption = None,
    local_files_root: RootOption = None,
    annotator_map: MapOption = None,
    required_reviews: Annotated[
        int, typer.Option(help="reviews per item: newly queued ones, and the project's annotations per task")
    ] = 2,
    config: ConfigOption = None,
) -> None:
    """Create or update a Label Studio project with mmrare's config and send it the pending items."""
    from mmrare.annotations.review.labelstudio.sync import push
    from mmrare.annotations.review.queue import enqueue

    server = _server(url, token_env)
    options = _images(images, "", image_dir, local_files_root)
    with review_store(load_config(config)) as store:
        enqueue(store, required_reviews)
        resolver = _resolver(store, annotator_map, None, server)
        try:
            result = push(
                server,
                store,
                project,
                resolver,
                options,
                include_decided=include_decided,
                max_annotations=required_reviews,
            )
        except MmrareError as exc:
            raise fail(exc) from exc
    console.print(result.summary(), highlight=False, soft_wrap=True)


def pull_labelstudio(
    url: UrlOption,
    token_env: TokenEnvOption = "LABEL_STUDIO_API_KEY",
    project: ProjectOption = DEFAULT_PROJECT,
    annotator_map: MapOption = None,
    config: ConfigOption = None,
) -> None:
    """Fetch the project's annotations and import them as reviews (like import-labelstudio)."""
    from mmrare.annotations.review.labelstudio.importer import import_tasks

    server = _server(url, token_env)
    with review_store(load_config(config)) as store:
        resolver = _resolver(store, annotator_map, None, server)
        try:
            found = server.find_project(project)
            if found is None:
                raise FatalError(f"no Label Studio project {project!r} on {url}; run push-labelstudio first")
            tasks = server.tasks(found)
            report = import_tasks(store, tasks, resolver)
        except MmrareError as exc:
            raise fail(exc) from exc
    _report(report, prefix=f"project {project!r}: {len(tasks)} tasks; ")
