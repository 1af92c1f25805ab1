"""``mmrare release build | verify | diff | ls``: immutable, versioned benchmark releases.

Plain functions in :mod:`mmrare.warehouse.release` do the work; these commands load the config, open
the warehouse and print one line per problem. Heavy imports (pyarrow, mlcroissant) happen inside
the commands so the rest of the CLI stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmrare.commands.common import ConfigOption, console, err_console, release_dir
from mmrare.commands.common import fail as _fail
from mmrare.commands.common import load as _config
from mmrare.config import Config
from mmrare.errors import FatalError

release_app = typer.Typer(
    no_args_is_help=True, help="Immutable, versioned releases: build, verify, diff, ls."
)

OutOption = Annotated[
    Path | None, typer.Option("--out", help="releases directory (default: <workspace>/releases)")
]


def _releases_root(cfg: Config, out: Path | None) -> Path:
    return out if out is not None else cfg.workspace_dir / "releases"


def _retracted(path: Path | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FatalError(f"{path}: cannot read the retraction list ({exc})") from exc
    return frozenset(line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip())


@release_app.command("build")
def build(
    version: Annotated[str, typer.Option("--version", help="release version X.Y.Z (never reused)")],
    dev_fraction: Annotated[float, typer.Option(help="share of cases per track in the dev split")] = 0.2,
    split_salt: Annotated[str, typer.Option(help="salt of the sha256(PMCID) split order")] = "mmrare-split/1",
    exclude_flagged_licences: Annotated[
        bool, typer.Option(help="also leave out every allowed-but-flagged licence")
    ] = False,
    include_no_derivatives: Annotated[
        bool, typer.Option(help="release articles whose licence forbids derivatives (left out by default)")
    ] = False,
    retracted: Annotated[
        Path | None, typer.Option(help="file of retracted PMCIDs, one per line, to exclude")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="where the release will be published (Croissant url)")
    ] = None,
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Build workspace/releases/<version>/ from the accepted items (refuses an existing version)."""
    from mmrare.leakage import DEFAULT_POLICY
    from mmrare.warehouse.db import connect
    from mmrare.warehouse.release import LicencePolicy, ReleaseSettings, build_release
    from mmrare.warehouse.release.split import share_warning

    cfg = _config(config)
    try:
        settings = ReleaseSettings(
            policy=LicencePolicy.from_selection(
                cfg.selection,
                exclude_flagged=exclude_flagged_licences,
                exclude_no_derivatives=not include_no_derivatives,
            ),
            dev_fraction=dev_fraction,
            split_salt=split_salt,
            retracted=_retracted(retracted),
            url=url,
        )
        if not cfg.warehouse_path.exists():
            raise FatalError(f"{cfg.warehouse_path}: no warehouse yet; run `mmrare build` first")
        if cfg.selection.allow_synthetic:
            # `mmrare synth` packages are for load tests only; a workspace that admits them never ships
            raise FatalError(
                "selection.allow_synthetic is on: this workspace may hold `mmrare synth` packages, "
                "which are never released; build releases from a workspace without it"
            )
        con = connect(cfg.warehouse_path)
        try:
            result = build_release(
                con, version, _releases_root(cfg, out), settings,
                config_hash=cfg.config_hash, semantic_thresholds=cfg.thresholds.semantic,
                policy_thresholds=DEFAULT_POLICY.thresholds(),
            )  # fmt: skip
        finally:
            con.close()
    except FatalError as exc:
        raise _fail(exc) from exc
    counts = result.manifest["counts"]
    table = Table(title=f"release {version}: {result.n_items} items -> {result.root}")
    table.add_column("track", no_wrap=True, min_width=len("cross_image"))
    for col in ("dev cases", "dev items", "test cases", "test items", "items", "leakage clean"):
        table.add_column(col, justify="right")
    for track in ("diagnosis", "examination", "treatment", "cross_image", "all"):
        c = counts[track]
        cases = c["cases_per_split"]
        cells = (cases["dev"], c["dev"], cases["test"], c["test"], c["total"], c["leakage_clean"])
        table.add_row(track, *(str(n) for n in cells))
    console.print(table)
    warning = share_warning(counts, dev_fraction)
    if warning:
        err_console.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)
    console.print(
        f"{counts['images']} images, {counts['excluded_articles']} article(s) and "
        f"{counts['excluded_items']} item(s) excluded (excluded.tsv), "
        f"{result.bytes_written / 1e6:.1f} MB in {result.seconds:.1f} s",
        highlight=False,
    )


@release_app.command("verify")
def verify(
    directory: Annotated[Path, typer.Argument(help="release (directory or version)")],
    strict: Annotated[bool, typer.Option(help="items with unresolved leakage flags are errors")] = False,
    config: ConfigOption = None,
) -> None:
    """Check checksums, schema, licence policy and leakage flags of a release; exit 1 on any error."""
    from mmrare.warehouse.release import LicencePolicy, verify_release

    cfg = _config(config)
    directory = release_dir(directory, config)
    report = verify_release(directory, policy=LicencePolicy.from_selection(cfg.selection), strict=strict)
    for line in report.errors:
        err_console.print(f"[red]error[/red] {line}", highlight=False, soft_wrap=True)
    for line in report.warnings:
        err_console.print(f"[yellow]warning[/yellow] {line}", highlight=False, soft_wrap=True)
    status = "ok" if report.ok else f"{len(report.errors)} error(s)"
    console.print(f"{directory}: {report.n_files} files, {report.n_items} items: {status}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@release_app.command("diff")
def diff(
    a: Annotated[Path, typer.Argument(help="older release (directory or version)")],
    b: Annotated[Path, typer.Argument(help="newer release (directory or version)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """Items added, removed and changed (with the columns that changed) per track."""
    from mmrare.warehouse.release import diff_releases

    try:
        result = diff_releases(release_dir(a, config), release_dir(b, config))
    except FatalError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    console.print(f"{result.a} -> {result.b}", highlight=False)
    for track, d in result.tracks.items():
        console.print(
            f"{track}: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed, "
            f"{d.unchanged} unchanged",
            highlight=False,
        )
        for item_id in d.added:
            console.print(f"  + {item_id}", highlight=False)
        for item_id in d.removed:
            console.print(f"  - {item_id}", highlight=False)
        for c in d.changed:
            console.print(
                f"  ~ {c.item_id} (v{c.version_a} -> v{c.version_b}): {', '.join(c.columns)}", highlight=False
            )


@release_app.command("ls")
def ls(out: OutOption = None, config: ConfigOption = None) -> None:
    """Releases on disk and in the warehouse: version, creation time, items per split, status."""
    from mmrare.warehouse.db import connect
    from mmrare.warehouse.release import list_releases

    cfg = _config(config)
    con = None
    if cfg.warehouse_path.exists():
        try:
            con = connect(cfg.warehouse_path, read_only=True)
        except FatalError as exc:
            err_console.print(f"[yellow]warning[/yellow] {exc}", highlight=False, soft_wrap=True)
    try:
        entries = list_releases(_releases_root(cfg, out), con)
    finally:
        if con is not None:
            con.close()
    if not entries:
        console.print(f"no releases under {_releases_root(cfg, out)}", highlight=False)
        return
    table = Table(title=f"releases under {_releases_root(cfg, out)}")
    for col in ("version", "created", "items", "dev", "test", "status", "code"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            e.version, e.created_at, str(e.items), str(e.dev), str(e.test), e.status, e.code_version
        )
    console.print(table)
