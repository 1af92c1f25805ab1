"""Push review tasks to a Label Studio server and pull its annotations back, through its API.

Uses the official client (``label_studio_sdk``, the ``labelstudio`` extra), imported only here and
only when a server is used. A push is idempotent: the project is found by title (created with
mmrare's labelling config when missing), tasks are matched to items by ``data.item_id``, and only
what Label Studio lacks is sent:

* a project with two annotations per task and overlap on every task (``maximum_annotations`` = the
  reviews an item needs, ``overlap_cohort_percentage`` = 100), so both of mmrare's independent
  reviews are collected and no annotator is offered a task twice;
* a new task for each selected item not in the project yet, carrying its reviews as annotations
  (members) or predictions (others) and the draft as a prediction (see :mod:`.export`);
* for a task already there, the mmrare reviews it does not show yet: as annotations credited to the
  member (Label Studio takes ``completed_by`` from an API client), else as predictions.

A pull reads every task with its annotations and imports them like a file export; what mmrare
already holds counts as "already in mmrare", so pulling twice adds nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mmrare.annotations.review.labelstudio.config import LABEL_CONFIG, REVIEW_MODEL
from mmrare.annotations.review.labelstudio.export import build_tasks
from mmrare.annotations.review.labelstudio.images import ImageOptions
from mmrare.annotations.review.labelstudio.users import AnnotatorResolver, LSUser
from mmrare.annotations.review.store import ReviewStore
from mmrare.errors import FatalError

IMPORT_CHUNK = 50  # tasks per import request: inline images make each task large


class Server:
    """A Label Studio server reached with one API token (legacy token or personal access token)."""

    def __init__(self, url: str, token: str) -> None:
        try:
            from label_studio_sdk import LabelStudio
        except ImportError as exc:
            raise FatalError(
                "Label Studio sync needs the official client: pip install 'mmrare[labelstudio]'"
            ) from exc
        self.url = url.rstrip("/")
        self.client = LabelStudio(base_url=self.url, api_key=token, timeout=120)

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Turn the client's errors into one line naming the server and the call.

        The client's models type some fields more narrowly than the server fills them (a task's
        ``annotations``, a user's ``active_organization_meta``); the values come through intact, so
        pydantic's serializer warnings about them are silenced rather than shown to the curator.
        """
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Pydantic serializer warnings")
                yield
        except ApiError as exc:
            body = str(exc.body)[:300]
            hint = "; check the token" if exc.status_code in (401, 403) else ""
            raise FatalError(f"Label Studio {self.url}: {what}: HTTP {exc.status_code} {body}{hint}") from exc
        except (OSError, httpx.HTTPError) as exc:
            raise FatalError(f"Label Studio {self.url}: {what}: {exc}") from exc

    def users(self) -> list[LSUser]:
        with self._calling("GET /api/users/"):
            return [LSUser.from_api(_plain(u)) for u in self.client.users.list()]

    def find_project(self, title: str) -> int | None:
        with self._calling("list projects"):
            for project in self.client.projects.list():
                if project.title == title:
                    return int(project.id)
        return None

    def tasks(self, project: int) -> list[dict[str, Any]]:
        """Every task of the project with its annotations and predictions, as Label Studio exports them."""
        with self._calling(f"list tasks of project {project}"):
            return [_plain(t) for t in self.client.tasks.list(project=project, fields="all", page_size=100)]

    def ensure_project(self, title: str, max_annotations: int) -> tuple[int, str]:
        """(project id, "created" | "updated" | "unchanged") with mmrare's config and overlap settings."""
        wanted = {
            "label_config": LABEL_CONFIG,
            "maximum_annotations": max_annotations,
            "overlap_cohort_percentage": 100,
            "show_collab_predictions": True,
        }
        found = self.find_project(title)
        if found is None:
            with self._calling("create project"):
                created = self.client.projects.create(title=title, **wanted)
            return int(created.id), "created"
        with self._calling(f"read project {found}"):
            current = _plain(self.client.projects.get(id=found))
        if all(_same(current.get(k), v) for k, v in wanted.items()):
            return found, "unchanged"
        with self._calling(f"update project {found}"):
            self.client.projects.update(id=found, **wanted)
        return found, "updated"

    def ensure_local_storage(self, project: int, options: ImageOptions) -> None:
        """A local-files storage on the image folder, which Label Studio needs to serve those files."""
        assert options.image_dir is not None
        path = str(options.image_dir.resolve())
        with self._calling("local storage"):
            if any(
                getattr(s, "path", None) == path
                for s in self.client.import_storage.local.list(project=project)
            ):
                return
            self.client.import_storage.local.create(
                project=project, path=path, title="mmrare images", use_blob_urls=False
            )

    def import_tasks(self, project: int, tasks: list[dict[str, Any]]) -> None:
        for start in range(0, len(tasks), IMPORT_CHUNK):
            with self._calling(f"import tasks into project {project}"):
                self.client.projects.import_tasks(id=project, request=tasks[start : start + IMPORT_CHUNK])

    def add_annotation(self, task: int, result: list[dict[str, Any]], user: int) -> None:
        with self._calling(f"add an annotation to task {task}"):
            self.client.annotations.create(id=task, result=result, completed_by=user, was_cancelled=False)

    def add_prediction(self, task: int, prediction: dict[str, Any]) -> None:
        with self._calling(f"add a prediction to task {task}"):
            self.client.predictions.create(
                task=task, model_version=prediction["model_version"], result=prediction["result"]
            )


def _plain(obj: Any) -> dict[str, Any]:
    """A client model as the JSON dict the API sent (the client's models are pydantic)."""
    return obj if isinstance(obj, dict) else dict(obj.model_dump(mode="json", warnings=False))


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, str):
        return " ".join(str(current or "").split()) == " ".join(wanted.split())
    return current == wanted


@dataclass(slots=True)
class PushResult:
    """What a push did, for its one line."""

    project: str
    project_id: int
    project_state: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    annotations: int = 0
    predictions: int = 0
    images: str = "none"
    left_out: int = 0  # decided items not in the project and not sent

    def summary(self) -> str:
        return (
            f"project {self.project!r} (id {self.project_id}) {self.project_state}:"
            f" tasks {self.created} created, {self.updated} updated, {self.skipped} skipped (up to date);"
            " reviews sent as"
            f" {self.annotations} annotations and {self.predictions} predictions"
            + (f"; images {self.images}" if self.created else "")
            + (
                f"; {self.left_out} decided items not sent (--include-decided sends them)"
                if self.left_out
                else ""
            )
        )


def _shown(task: dict[str, Any], resolver: AnnotatorResolver) -> set[str]:
    """The mmrare annotators whose review the Label Studio task already shows."""
    names = {resolver.annotator(resolver.user(a.get("completed_by"))) for a in task.get("annotations") or []}
    names |= {
        str(p.get("model_version"))[len(REVIEW_MODEL) :]
        for p in task.get("predictions") or []
        if str(p.get("model_version") or "").startswith(REVIEW_MODEL)
    }
    return {n for n in names if n}


def push(
    server: Server,
    store: ReviewStore,
    title: str,
    resolver: AnnotatorResolver,
    images: ImageOptions,
    *,
    include_decided: bool = False,
    max_annotations: int = 2,
) -> PushResult:
    """Create or update the project and send what it lacks (see the module docstring)."""
    project, state = server.ensure_project(title, max_annotations)
    existing = {str((t.get("data") or {}).get("item_id")): t for t in server.tasks(project)}
    fresh = build_tasks(
        store, include_decided=include_decided, images=images, resolver=resolver, skip=set(existing)
    )
    result = PushResult(title, project, state, images=fresh.images, left_out=fresh.left_out)
    if fresh.images == "files":
        server.ensure_local_storage(project, images)
    server.import_tasks(project, fresh.tasks)
    result.created = len(fresh.tasks)
    result.annotations += fresh.annotations
    result.predictions += fresh.predictions - len(fresh.tasks)  # less the draft of each task
    if existing:
        result.updated, result.skipped, sent = _update(server, store, existing, resolver)
        result.annotations += sent[0]
        result.predictions += sent[1]
    return result


def _update(
    server: Server, store: ReviewStore, existing: dict[str, dict[str, Any]], resolver: AnnotatorResolver
) -> tuple[int, int, tuple[int, int]]:
    """Send the mmrare reviews that tasks already in the project lack: (updated, skipped, (annotations,
    predictions))."""
    updated = skipped = n_annotations = n_predictions = 0
    unlisted = {i for i in _queued_items(store) if i not in existing}
    known = build_tasks(
        store, include_decided=True, images=ImageOptions("none"), resolver=resolver, skip=unlisted
    )
    for task in known.tasks:
        there = existing[task["data"]["item_id"]]
        shown = _shown(there, resolver)
        sent = 0
        for ann in task["annotations"]:
            user = resolver.user(ann["completed_by"])
            if resolver.annotator(user) not in shown and user.id is not None:
                server.add_annotation(int(there["id"]), ann["result"], user.id)
                n_annotations += 1
                sent += 1
        for prediction in task["predictions"]:
            version = str(prediction["model_version"])
            if version.startswith(REVIEW_MODEL) and version[len(REVIEW_MODEL) :] not in shown:
                server.add_prediction(int(there["id"]), prediction)
                n_predictions += 1
                sent += 1
        updated += bool(sent)
        skipped += not sent
    return updated, skipped, (n_annotations, n_predictions)


def _queued_items(store: ReviewStore) -> list[str]:
    from mmrare.annotations.review.queue import outcomes

    return [o.item_id for o in outcomes(store)]
