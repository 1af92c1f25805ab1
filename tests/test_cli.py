from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mmrare.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_config_show_prints_hash() -> None:
    result = runner.invoke(app, ["config", "show", "--config", str(REPO / "mmrare.toml")])
    assert result.exit_code == 0, result.output
    assert "config_hash = " in result.output


def test_bad_config_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "mmrare.toml"
    bad.write_text("[selection]\nmin_figures_multi_image = 'many'\n")
    result = runner.invoke(app, ["config", "show", "--config", str(bad)])
    assert result.exit_code == 2
    assert "invalid config" in result.output


def test_status_without_warehouse_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MMRARE_WORKSPACE", str(tmp_path / "ws"))
    result = runner.invoke(app, ["status", "--config", str(REPO / "mmrare.toml")])
    assert result.exit_code == 2
    assert "mmrare build" in result.output


def test_ingest_needs_a_source() -> None:
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 2
