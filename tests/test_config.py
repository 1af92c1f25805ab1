from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.config import load_config
from mmrare.errors import FatalError

REPO = Path(__file__).resolve().parents[1]


def test_project_config_resolves_paths_against_its_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    cfg = load_config(REPO / "mmrare.toml")
    assert cfg.workspace_dir == REPO / "workspace"
    assert cfg.resolve(cfg.sources.local_dirs[0]) == (REPO.parent / "shared" / "pmc").resolve()
    assert cfg.resolve(cfg.ontology.ordo_path).name == "ORDO_en_4.2.owl.gz"


def test_env_overrides_file_and_changes_hash(monkeypatch) -> None:
    base = load_config(REPO / "mmrare.toml")
    monkeypatch.setenv("MMRARE_SELECTION__MIN_FIGURES_MULTI_IMAGE", "3")
    over = load_config(REPO / "mmrare.toml")
    assert over.selection.min_figures_multi_image == 3
    assert over.config_hash != base.config_hash


def test_hash_ignores_workspace_and_secrets(monkeypatch, tmp_path: Path) -> None:
    base = load_config(REPO / "mmrare.toml")
    monkeypatch.setenv("MMRARE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("MMRARE_SOURCES__ENTREZ_API_KEY", "secret")
    moved = load_config(REPO / "mmrare.toml")
    assert moved.workspace_dir == tmp_path
    assert moved.config_hash == base.config_hash


def test_adding_a_source_folder_keeps_every_stage_hash(monkeypatch, tmp_path: Path) -> None:
    base = load_config(REPO / "mmrare.toml")
    monkeypatch.setenv("MMRARE_SOURCES__LOCAL_DIRS", f'["../shared/pmc", "{tmp_path}"]')
    more = load_config(REPO / "mmrare.toml")
    assert len(more.sources.local_dirs) == 2
    assert more.config_hash == base.config_hash
    assert all(more.stage_hash(s) == base.stage_hash(s) for s in ("curation", "link", "draft", "leakage"))


def test_invalid_value_is_one_clear_fatal_error(tmp_path: Path) -> None:
    bad = tmp_path / "mmrare.toml"
    bad.write_text("[selection]\nmin_figures_multi_image = 1\n")
    with pytest.raises(FatalError, match=r"mmrare.toml: invalid config: selection.min_figures_multi_image"):
        load_config(bad)


def test_unknown_key_and_missing_file_are_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "mmrare.toml"
    bad.write_text("wrokspace = 'x'\n")
    with pytest.raises(FatalError, match="wrokspace"):
        load_config(bad)
    with pytest.raises(FatalError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
