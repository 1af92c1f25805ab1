"""``mmrare build`` with the encoder in its own process (the default outside the test suite)."""

from __future__ import annotations

import shutil
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner
from warehouse_rows import CONTENT_TABLES, warehouse_rows

from mmrare.cli import app
from mmrare.config import load_config
from mmrare.embedding.process import EncoderProcess

pytestmark = pytest.mark.slow
runner = CliRunner()


def _config(write_config, tmp_path: Path, name: str, src: Path, shared_cache: Path) -> Path:
    """A workspace of its own and a cache without embeddings (ORDO, linker and label index are
    copied when another test made them), so the build must encode its case's texts."""
    cache = tmp_path / f"cache-{name}"
    shutil.copytree(shared_cache, cache, ignore=shutil.ignore_patterns("embeddings", "context-vectors"))
    return write_config(tmp_path / f"{name}.toml", tmp_path / f"ws-{name}", [src], cache=cache)


def test_a_build_with_the_encoder_process_stores_the_same_rows(
    prefect_harness, write_config, shared_cache: Path, shared_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = tmp_path / "src"
    shutil.copytree(shared_dir / "pmc" / "packages" / "PMC6358579", src / "PMC6358579")
    in_child: list[int] = []
    real_encode = EncoderProcess.encode

    def counting(self: EncoderProcess, texts, batch_size: int = 64, show_progress: bool = False):
        in_child.append(len(texts))
        return real_encode(self, texts, batch_size, show_progress)

    monkeypatch.setattr(EncoderProcess, "encode", counting)
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}

    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "true")
    child = _config(write_config, tmp_path, "child", src, shared_cache)
    built = runner.invoke(app, ["build", "--config", str(child), "--no-progress"])
    assert built.exit_code == 0, built.output
    assert "1 processed -> 1 cases" in " ".join(built.output.split())
    assert sum(in_child) > 0  # the case's texts were encoded by the child
    # the build stopped its encoder process: nothing it started is left running (multiprocessing's
    # resource tracker serves this interpreter, not the build, and ends with it)
    left = {
        " ".join(p.cmdline())
        for p in psutil.Process().children(recursive=True)
        if p.is_running() and p.pid not in children_before
    }
    assert not {c for c in left if "multiprocessing.resource_tracker" not in c}, left

    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "false")
    here = _config(write_config, tmp_path, "here", src, shared_cache)
    encoded_in_child = sum(in_child)
    built = runner.invoke(app, ["build", "--config", str(here), "--no-progress"])
    assert built.exit_code == 0, built.output
    assert sum(in_child) == encoded_in_child  # this build encoded in its own process

    assert load_config(child).config_hash == load_config(here).config_hash  # where is not what
    assert warehouse_rows(child, CONTENT_TABLES) == warehouse_rows(here, CONTENT_TABLES)
