"""``mmrare release build | verify | diff | ls`` end to end on a copy of the session warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from mmrare.cli import app

runner = CliRunner()


def _config(tmp_path: Path, warehouse: Path) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    shutil.copy(warehouse, workspace / "warehouse.duckdb")
    config = tmp_path / "mmrare.toml"
    config.write_text(f'workspace = "{workspace}"\n')
    return config


def test_build_verify_diff_ls(tmp_path: Path, warehouse: Path) -> None:
    config = str(_config(tmp_path, warehouse))
    releases = tmp_path / "ws" / "releases"

    built = runner.invoke(app, ["release", "build", "--version", "1.0.0", "--config", config])
    assert built.exit_code == 0, built.output
    assert "release 1.0.0" in built.output and (releases / "1.0.0" / "manifest.json").is_file()

    again = runner.invoke(app, ["release", "build", "--version", "1.0.0", "--config", config])
    assert again.exit_code == 2
    assert "exists; releases are immutable" in again.output

    ok = runner.invoke(app, ["release", "verify", str(releases / "1.0.0"), "--config", config])
    assert ok.exit_code == 0, ok.output
    assert ": ok" in ok.output
    by_version = runner.invoke(app, ["release", "verify", "1.0.0", "--config", config])
    assert by_version.exit_code == 0 and ": ok" in by_version.output, by_version.output

    second = runner.invoke(app, ["release", "build", "--version", "1.0.1", "--config", config])
    assert second.exit_code == 0, second.output
    diff = runner.invoke(app, ["release", "diff", "1.0.0", "1.0.1", "--config", config])
    assert diff.exit_code == 0, diff.output
    assert "diagnosis: 0 added, 0 removed, 0 changed" in diff.output

    listed = runner.invoke(app, ["release", "ls", "--config", config])
    assert listed.exit_code == 0, listed.output
    assert "1.0.0" in listed.output and "1.0.1" in listed.output

    image = sorted((releases / "1.0.1" / "images").iterdir())[0]
    image.unlink()
    bad = runner.invoke(app, ["release", "verify", str(releases / "1.0.1"), "--config", config])
    assert bad.exit_code == 1
    assert image.name in bad.output and "missing" in bad.output


def test_bad_input_is_a_one_line_error(tmp_path: Path, warehouse: Path) -> None:
    config = str(_config(tmp_path, warehouse))
    result = runner.invoke(app, ["release", "build", "--version", "v1", "--config", config])
    assert result.exit_code == 2 and "use X.Y.Z" in result.output
    result = runner.invoke(
        app, ["release", "build", "--version", "1.0.0", "--dev-fraction", "2", "--config", config]
    )
    assert result.exit_code == 2 and "dev fraction" in result.output
    result = runner.invoke(app, ["release", "diff", "9.9.9", "9.9.8", "--config", config])
    assert result.exit_code == 2 and "9.9.9: no such release" in result.output
    result = runner.invoke(app, ["release", "verify", "9.9.9", "--config", config])
    assert result.exit_code == 2 and "9.9.9: no such release" in result.output
    assert "manifest.json" not in result.output


def test_no_warehouse_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "mmrare.toml"
    config.write_text(f'workspace = "{tmp_path / "empty"}"\n')
    result = runner.invoke(app, ["release", "build", "--version", "1.0.0", "--config", str(config)])
    assert result.exit_code == 2 and "run `mmrare build` first" in result.output
    assert not (tmp_path / "empty" / "warehouse.duckdb").exists()
    listed = runner.invoke(app, ["release", "ls", "--config", str(config)])
    assert listed.exit_code == 0 and "no releases" in listed.output


def test_a_workspace_that_admits_synthetic_packages_never_releases(tmp_path: Path, warehouse: Path) -> None:
    config = _config(tmp_path, warehouse)
    config.write_text(config.read_text() + "[selection]\nallow_synthetic = true\n")
    result = runner.invoke(app, ["release", "build", "--version", "1.0.0", "--config", str(config)])
    assert result.exit_code == 2 and "allow_synthetic" in result.output
    assert not (tmp_path / "ws" / "releases" / "1.0.0").exists()


def test_build_prints_splits_and_warns_when_dev_is_far_off(tmp_path: Path, warehouse: Path) -> None:
    """Three sample cases of uneven size: dev is one case, whatever the fraction asks of the items."""
    config = str(_config(tmp_path, warehouse))
    built = runner.invoke(app, ["release", "build", "--version", "1.0.0", "--dev-fraction", "0.2",
                                "--include-no-derivatives", "--config", config])  # fmt: skip
    assert built.exit_code == 0, built.output
    root = tmp_path / "ws" / "releases" / "1.0.0"
    counts = json.loads((root / "manifest.json").read_text())["counts"]
    every = counts["all"]
    for track in ("diagnosis", "examination", "treatment", "cross_image", "all"):
        c = counts[track]
        cells = [c["cases_per_split"]["dev"], c["dev"], c["cases_per_split"]["test"], c["test"], c["total"]]
        rows = [line for line in built.output.splitlines() if line.strip("│┃ ").startswith(track)]
        assert len(rows) == 1, built.output
        row = rows[0]
        assert [int(n) for n in row.replace("│", " ").split()[1:6]] == cells, (track, row)
    share = every["dev"] / every["total"]
    assert abs(share - 0.2) > 0.1, "the sample no longer shows a far-off split; pick another fraction"
    warning = [line for line in built.output.splitlines() if line.startswith("warning")]
    assert len(warning) == 1 and f"dev holds {share:.0%} of the items" in warning[0], built.output
    assert "for a dev fraction of 0.2, more than 10 points off" in warning[0]

    ok = runner.invoke(app, ["release", "verify", "1.0.0", "--config", config])
    assert ok.exit_code == 0 and ": ok" in ok.output, ok.output
