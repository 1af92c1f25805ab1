"""BuildResources: when curation must wait for the label-index prefetch, and the prefetch the CLI
starts before the flow (handed to that build only)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mmrare.config import load_config
from mmrare.errors import FatalError
from mmrare.flows import resources as resources_module
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


def _config(write_config, shared_dir: Path, tmp_path: Path):
    """A build of the shared packages into ``tmp_path / "ws"``."""
    return load_config(write_config(tmp_path / "m.toml", tmp_path / "ws", [shared_dir / "pmc" / "packages"]))


def _stub_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Encoder and label index as recorded stand-ins: the prefetch's threads, without a model."""
    loads: list[str] = []
    monkeypatch.setattr(BuildResources, "encoder", property(lambda self: loads.append("encoder")))
    monkeypatch.setattr(BuildResources, "label_index", property(lambda self: loads.append("labels")))
    return loads


def test_the_label_index_prefetch_starts_once(
    write_config, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _stub_loads(monkeypatch)
    cfg = _config(write_config, shared_dir, tmp_path)
    resources = BuildResources(cfg)
    first = resources.prefetch_label_index()
    assert resources.prefetch_label_index() is first
    resources.await_label_index()
    assert first.is_set()
    assert sorted(loads) == ["encoder", "labels"]  # one prefetch, not two


def test_build_resources_hands_on_the_prestarted_label_index(
    write_config, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _stub_loads(monkeypatch)
    src = [shared_dir / "pmc" / "packages"]
    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "true")
    cfg = load_config(write_config(tmp_path / "m.toml", tmp_path / "ws", src))
    assert len(BuildResources(cfg).ordo) > 10_000  # the session's cache holds ORDO: no parse here
    assert resources_module.prestart_build_resources(cfg)
    same = load_config(write_config(tmp_path / "again.toml", tmp_path / "ws", src))  # as the flow reads it
    resources = resources_module.build_resources(same)
    resources.await_label_index()
    assert resources.prefetch_label_index().is_set()  # the prestarted one's event: nothing starts again
    assert sorted(loads) == ["encoder", "labels"]
    assert resources_module.build_resources(same) is not resources  # handed on once

    other = load_config(write_config(tmp_path / "other.toml", tmp_path / "ws2", src))
    assert resources_module.prestart_build_resources(cfg)
    assert resources_module.build_resources(other).cfg is other  # another build's: not handed on
    assert resources_module.build_resources(cfg)._label_prefetch is None  # and dropped


def test_no_prestart_when_the_prefetch_would_hold_this_process(
    write_config, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _stub_loads(monkeypatch)
    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "false")  # torch would load in this process
    cfg = _config(write_config, shared_dir, tmp_path)
    assert not resources_module.prestart_build_resources(cfg)
    assert resources_module.build_resources(cfg)._label_prefetch is None
    assert loads == []


def test_a_started_prefetch_keeps_the_answer_it_started_with(
    write_config, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the prestarted prefetch has taken ORDO's helper (load_ordo pops it) and ORDO is not loaded
    yet, asking again must not say "parse in this process": the flow would hold curation back for
    the encoder's load although nothing here holds the GIL."""
    from mmrare.ontology import store

    _stub_loads(monkeypatch)
    helper_done = threading.Event()

    def ordo_still_loading(self: BuildResources) -> None:
        helper_done.wait(30)
        raise RuntimeError("stand-in ORDO")  # the prefetch swallows it, as it does a real failure

    monkeypatch.setattr(BuildResources, "ordo", property(ordo_still_loading))
    monkeypatch.setenv("MMRARE_EMBEDDING__PROCESS", "true")
    cfg = _config(write_config, shared_dir, tmp_path)
    monkeypatch.setattr(store, "loads_without_parsing", lambda path, cache: True)  # a helper warms it
    resources = BuildResources(cfg)
    try:
        assert not resources.label_prefetch_holds_the_gil()
        resources.prefetch_label_index()
        monkeypatch.setattr(store, "loads_without_parsing", lambda path, cache: False)  # helper taken
        assert not resources.label_prefetch_holds_the_gil()
    finally:
        helper_done.set()
        resources.await_label_index()


class _GoneEncoder:
    """An encoder whose process has died: every request is a FatalError."""

    def thread_use(self):
        raise FatalError("encoder process pid 1 went away (exit status -9)")


def test_encoder_thread_use_never_fails_or_waits(write_config, shared_dir: Path, tmp_path: Path) -> None:
    cfg = _config(write_config, shared_dir, tmp_path)
    resources = BuildResources(cfg)
    assert resources.encoder_thread_use() == {}  # nothing loaded
    resources._encoder = _GoneEncoder()
    assert resources.encoder_thread_use() == {}  # a figure for the run record; the work is stored
    seen: list[dict] = []
    with resources._locks["encoder"]:  # the encoder is loading on this thread's behalf
        other = threading.Thread(target=lambda: seen.append(resources.encoder_thread_use()))
        other.start()
        other.join(5)
    assert seen == [{}]  # another thread got an answer at once instead of waiting for the model
