"""The dataset checks' context-vector store: content-keyed, append-only, the embedding cache's shards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmrare.errors import FatalError
from mmrare.stages.descriptors import CONTEXT_VECTORS_FORMAT, ContextVectors


def test_vectors_come_back_by_context_and_model(tmp_path: Path) -> None:
    store = ContextVectors(tmp_path, "model-a", dim=4)
    keys = {"a": store.key("first context"), "b": store.key("second context")}
    vectors = {"a": np.arange(4, dtype=np.float32), "b": np.ones(4, dtype=np.float32)}
    store.put(keys, vectors)
    store.put({"c": store.key("third")}, {"c": np.zeros(4, dtype=np.float32)})
    # another item with the same context gets the same vector; the key is the text, not the id
    found = ContextVectors(tmp_path, "model-a", dim=4).get(
        {"x": store.key("first context"), "y": store.key("none")}
    )
    assert set(found) == {"x"} and np.array_equal(found["x"], vectors["a"])
    other_model = ContextVectors(tmp_path, "model-b", dim=4)
    assert other_model.key("first context") != store.key("first context")
    assert other_model.get({"a": other_model.key("first context")}) == {}


def test_one_shard_per_put_each_context_once(tmp_path: Path) -> None:
    store = ContextVectors(tmp_path, "m", dim=3)
    same = store.key("the same context")
    store.put({"i1": same, "i2": same}, {"i1": np.ones(3, np.float32), "i2": np.ones(3, np.float32)})
    shards = list((store.directory / "shards").iterdir())
    assert len(shards) == 1 and len(np.load(shards[0] / "keys.npy")) == 1
    meta = json.loads((store.directory / "meta.json").read_text())
    assert meta["format"] == CONTEXT_VECTORS_FORMAT and meta["dim"] == 3


def test_a_damaged_shard_is_one_clear_error(tmp_path: Path) -> None:
    store = ContextVectors(tmp_path, "m", dim=3)
    store.put({"a": store.key("t")}, {"a": np.ones(3, dtype=np.float32)})
    (shard,) = (store.directory / "shards").iterdir()
    (shard / "vectors.npy").write_bytes(b"not an array")
    with pytest.raises(FatalError, match=r"context-vector store shard .* unreadable.*delete that folder"):
        ContextVectors(tmp_path, "m", dim=3)
