"""Local sources honour the configured limits and never follow a link out of the sources (issue:
``max_archive_bytes`` was never read, and a symlinked figure put the sha256 of /etc/passwd in
``graphics``)."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from cli_run import SHARED

from mmrare.config import Config, load_config
from mmrare.curation.process import PackageInput, process_package
from mmrare.stages.base import Pending
from mmrare.stages.curate import CURATE
from mmrare.stages.resources import BuildResources
from mmrare.warehouse.db import connect

PACKAGE = SHARED / "pmc" / "packages" / "PMC7500000"


def _pending(tmp_path: Path, src: Path, extra: str = "") -> tuple[Config, Pending[PackageInput]]:
    config = tmp_path / "mmrare.toml"
    config.write_text(f'workspace = "{tmp_path / "ws"}"\n[sources]\nlocal_dirs = ["{src}"]\n{extra}')
    cfg = load_config(config)
    con = connect(cfg.warehouse_path)
    try:
        return cfg, CURATE.pending(con, BuildResources(cfg))
    finally:
        con.close()


def test_max_archive_bytes_refuses_a_larger_archive_before_extracting_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with tarfile.open(src / "PMC7500000.tar.gz", "w:gz") as tar:
        tar.add(PACKAGE, arcname="PMC7500000")
    cfg, pending = _pending(tmp_path, src, "max_archive_bytes = 1000\n")
    assert pending.records == []
    assert [(r["reason"], r["stage"]) for r in pending.rejects] == [("archive_too_large", "ingest")]
    assert "1000 bytes" in pending.rejects[0]["detail"]
    assert not any((cfg.workspace_dir / "extracted").rglob("*.xml"))


def test_a_symlink_in_a_package_folder_is_refused_not_followed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    package = src / "PMC7500000"
    shutil.copytree(PACKAGE, package)
    figure = next(p for p in package.iterdir() if p.suffix == ".jpg")
    secret = tmp_path / "secret.jpg"
    figure.rename(secret)
    figure.symlink_to(secret)  # the figure's name, pointing outside the sources
    cfg, pending = _pending(tmp_path, src)
    assert [(r["reason"], Path(r["record_id"]).name) for r in pending.rejects] == [
        ("symlink_refused", figure.name)
    ]
    [record] = pending.records
    result = process_package(record, cfg.selection, cfg.figures, "run-1", "hash")
    graphics = {Path(g["href"]).name: g for g in result.rows["graphics"]}
    linked = next(g for g in graphics.values() if figure.stem in g["href"])
    assert linked["path"] is None and linked["sha256"] is None


def test_an_image_reject_keeps_the_decoders_message(tmp_path: Path) -> None:
    src = tmp_path / "src"
    package = src / "PMC7500000"
    shutil.copytree(PACKAGE, package)
    figure = next(p for p in sorted(package.iterdir()) if p.suffix == ".jpg")
    figure.write_bytes(figure.read_bytes()[:300])
    cfg, pending = _pending(tmp_path, src)
    [record] = pending.records
    result = process_package(record, cfg.selection, cfg.figures, "run-1", "hash")
    [reject] = [r for r in result.rows["rejects"] if r["stage"] == "figures"]
    assert reject["reason"] == "undecodable_image"
    _, _, message = reject["detail"].partition(f"{figure}: ")
    assert message.strip(), reject["detail"]  # the decoder's own words follow the file
