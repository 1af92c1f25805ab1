"""Build resources: one instance per process and config on a Dask worker, loaded once, closed clean."""

from __future__ import annotations

import pickle
from pathlib import Path

from mmrare.config import load_config
from mmrare.stages.resources import BuildResources


def test_resources_pickle_as_config_and_unpickle_to_one_instance_per_process(tmp_path: Path) -> None:
    cfg = load_config(None, workspace=tmp_path / "ws")
    original = BuildResources(cfg)
    first = pickle.loads(pickle.dumps(original))
    second = pickle.loads(pickle.dumps(original))
    assert first is second and first is not original
    assert first.cfg == cfg


def test_each_resource_loads_once_and_close_stops_the_encoder(tmp_path: Path) -> None:
    cfg = load_config(None, workspace=tmp_path / "ws")
    resources = BuildResources(cfg)
    loads: list[str] = []
    closed: list[bool] = []

    class FakeEncoder:
        def close(self) -> None:
            closed.append(True)

    def load() -> FakeEncoder:
        loads.append("encoder")
        return FakeEncoder()

    assert resources._get("encoder", load) is resources._get("encoder", load)
    assert loads == ["encoder"]
    resources.close()
    assert closed == [True]
