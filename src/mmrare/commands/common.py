"""What every ``mmrare`` subcommand shares: consoles, the ``--config`` option, one-line errors.

Kept tiny and free of heavy imports: ``cli.py`` imports every command module at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mmrare.config import Config, load_config
from mmrare.errors import FatalError

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="mmrare.toml to use (default: ./mmrare.toml or $MMRARE_CONFIG)"),
]


def fail(problem: Exception | str) -> typer.Exit:
    """Print ``problem`` as one red line on stderr; the caller raises the returned exit (code 2)."""
    err_console.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def load(path: Path | None) -> Config:
    """The effective config, or a one-line error naming the file and the field (exit 2)."""
    try:
        return load_config(path)
    except FatalError as exc:
        raise fail(exc) from exc


def release_dir(name: Path, config: Path | None) -> Path:
    """A release given as its directory or as its version under the configured workspace's
    ``releases/`` (so ``0.1.0`` works wherever ``MMRARE_WORKSPACE`` points); else a one-line error."""
    if name.is_dir():
        return name
    candidate = load(config).workspace_dir / "releases" / str(name)
    if candidate.is_dir():
        return candidate
    raise fail(f"{name}: no such release (neither a directory nor {candidate})")
