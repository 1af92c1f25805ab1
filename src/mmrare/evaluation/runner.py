"""Run a model over a release through an OpenAI-compatible endpoint and write a predictions file.

Each reply is cached on disk as soon as it arrives (keyed by item, model, prompt sha256 and generation
settings), so an interrupted run resumes where it stopped and a repeated run sends no request.
Predictions are written once at the end, in release order, atomically.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError, RecordError, RetryableError
from mmrare.evaluation.cache import ReplyCache, cache_key
from mmrare.evaluation.client import ChatClient, reply_text
from mmrare.evaluation.predictions import Prediction, PredictionsHeader, atomic_write, write_predictions
from mmrare.evaluation.prompts import PROMPT_VERSION, RenderedPrompt, render, template_sha256
from mmrare.evaluation.release import Item, Release
from mmrare.evaluation.text import parse_option_letter
from mmrare.versions import code_version

_ANSWER_LINE = re.compile(
    r"^\s*\**\s*(?:final\s+)?answer\s*\**\s*[:\-–]\s*\**\s*(.+?)\s*\**\s*$", re.I | re.M
)


@dataclass(frozen=True)
class RunSettings:
    """What a run sends; everything that can change a reply is part of the cache key."""

    model: str
    mode: str = "mc"
    max_tokens: int = 512
    temperature: float = 0.0
    concurrency: int = 4
    rate: float = 5.0

    def generation(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature}


@dataclass
class RunSummary:
    """Counts of one run: cached replies reused, requests sent (with retries), failures."""

    items: int
    cached: int
    requested: int
    attempts: int
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    predictions_path: str = ""
    predictions_sha256: str = ""


def item_cache_key(item: Item, settings: RunSettings, prompt: RenderedPrompt) -> str:
    return cache_key("reply/1", item.item_id, settings.model, prompt.sha256, settings.generation())


def to_prediction(item: Item, model: str, mode: str, text: str) -> Prediction:
    """A reply as a prediction: the "Answer:" line as ``answer``, the letter in MC mode, the whole as raw."""
    match = _ANSWER_LINE.search(text)
    answer = match.group(1).strip() if match else text.strip()
    option = parse_option_letter(answer, len(item.options)) if mode == "mc" else None
    if mode == "mc" and option is None:
        option = parse_option_letter(text, len(item.options))
    return Prediction(item_id=item.item_id, model=model, answer=answer, option=option, images=None, raw=text)


def run_predictions(
    release: Release,
    client: ChatClient,
    settings: RunSettings,
    cache: ReplyCache,
    out_path: Path,
    *,
    show_progress: bool = True,
    on_done: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Answer every item of ``release`` (cached replies first), then write predictions + a meta file.

    The predictions file starts with a header naming the release (version, manifest sha256) and the
    mode, so ``mmrare score`` can tell predictions made for another release.
    """
    started = time.monotonic()
    attempts_before = client.attempts
    replies: dict[str, str] = {}
    todo: list[tuple[Item, RenderedPrompt, str]] = []
    for item in release.items:
        prompt = render(item, release, settings.mode)
        key = item_cache_key(item, settings, prompt)
        hit = cache.get(key)
        if hit is not None:
            replies[item.item_id] = hit["text"]
        else:
            todo.append((item, prompt, key))
    summary = RunSummary(items=len(release.items), cached=len(replies), requested=len(todo), attempts=0)

    def ask(item: Item, prompt: RenderedPrompt, key: str) -> tuple[str, str]:
        payload = {"model": settings.model, "messages": prompt.messages, **settings.generation()}
        reply = client.complete(payload, record_id=item.item_id)
        text = reply_text(reply)
        cache.put(
            key,
            {
                "item_id": item.item_id,
                "model": settings.model,
                "prompt_sha256": prompt.sha256,
                "generation": settings.generation(),
                "text": text,
                "usage": reply.get("usage"),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        return item.item_id, text

    if todo:
        # the first request goes alone, before any progress: an endpoint that is down or broken is
        # one line and no predictions file, not a bar of failures
        try:
            item_id, text = ask(*todo[0])
        except RetryableError as exc:
            raise FatalError(f"{client.url}: the endpoint does not answer ({exc}); nothing written") from None
        except RecordError as exc:
            summary.failed.append(str(exc))
        else:
            replies[item_id] = text
    with _progress(show_progress, len(release.items), settings.model) as advance:
        advance(len(replies) + len(summary.failed))
        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            futures = {pool.submit(ask, *job): job[0].item_id for job in todo[1:]}
            for future in as_completed(futures):
                try:
                    item_id, text = future.result()
                    replies[item_id] = text
                except (RecordError, RetryableError) as exc:
                    summary.failed.append(str(exc))
                advance(1)
                if on_done:
                    on_done(len(replies), len(release.items))
    predictions = [
        to_prediction(item, settings.model, settings.mode, replies[item.item_id])
        for item in release.items
        if item.item_id in replies
    ]
    summary.attempts = client.attempts - attempts_before
    summary.seconds = time.monotonic() - started
    summary.predictions_path = str(out_path)
    header = PredictionsHeader(
        release_version=release.version,
        release_manifest_sha256=release.manifest_sha256,
        model=settings.model,
        mode=settings.mode,
        tracks=release.tracks,
        splits=release.splits,
    )
    summary.predictions_sha256 = write_predictions(out_path, predictions, header)
    meta = {
        "model": settings.model,
        "endpoint": client.url,
        "settings": asdict(settings),
        "prompt_version": PROMPT_VERSION,
        "prompt_template_sha256": template_sha256(settings.mode),
        "release": {"version": release.version, "manifest_sha256": release.manifest_sha256},
        "code_version": code_version(),
        "summary": asdict(summary),
    }
    atomic_write(out_path.with_name(out_path.name + ".meta.json"), json.dumps(meta, indent=2).encode())
    return summary


class _progress:
    """A rich progress bar, or a no-op when disabled (tests, logs)."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.enabled, self.total, self.label = enabled, total, label
        self._bar: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        self._bar.start()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
