"""One rich progress bar per build stage, on stderr, so stdout stays free for summaries and JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def stage_progress(stage: str, total: int, show: bool) -> Iterator[Callable[[str], None]]:
    """Yield ``advance(description)``; the bar is disabled (a no-op) when ``show`` is false."""
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

        def advance(description: str) -> None:
            progress.update(bar, advance=1, description=description)

        yield advance
