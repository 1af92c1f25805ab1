"""One rich progress bar per build stage, on stderr, so stdout stays free for summaries and JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def stage_progress(stage: str, total: int, show: bool) -> Iterator[Callable[..., None]]:
    """Yield ``advance(description, step=1)``; the bar is disabled (a no-op) when ``show`` is false."""
    with Progress(
        TextColumn(f"[bold]{stage:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        disable=not show,
    ) as progress:
        bar = progress.add_task("", total=total)

        def advance(description: str, step: int = 1) -> None:
            progress.update(bar, advance=step, description=description)

        yield advance
