"""BuildResources: when curation must wait for the label-index prefetch to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.config import load_config
from mmrare.flows.resources import BuildResources


def test_curation_waits_only_when_the_prefetch_is_this_process_python(
    write_config, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = [shared_dir / "pmc" / "packages"]
    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "true")
    cold_config = write_config(tmp_path / "cold.toml", tmp_path / "ws", src, cache=tmp_path / "c")
    cold = BuildResources(load_config(cold_config))
    assert cold.label_prefetch_holds_the_gil()  # ORDO would be parsed in this process

    warm = BuildResources(load_config(write_config(tmp_path / "warm.toml", tmp_path / "ws", src)))
    assert len(warm.ordo) > 10_000  # the session's cache now holds this ORDO file
    assert not warm.label_prefetch_holds_the_gil()
    assert not BuildResources(warm.cfg).label_prefetch_holds_the_gil()  # read from the cache's marker

    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "false")
    here = BuildResources(load_config(write_config(tmp_path / "here.toml", tmp_path / "ws", src)))
    assert here.label_prefetch_holds_the_gil()  # torch's import and the model load, in this process
