"""The dataset checks' context-vector store: content-keyed, append-only, safe to miss."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmrare.flows.leakage_inputs import ContextVectors


def test_vectors_come_back_by_context_and_model(tmp_path: Path) -> None:
    store = ContextVectors(tmp_path, "model-a")
    keys = {"a": store.key("first context"), "b": store.key("second context")}
    vectors = {"a": np.arange(4, dtype=np.float32), "b": np.ones(4, dtype=np.float32)}
    store.put(keys, vectors)
    store.put({"c": store.key("third")}, {"c": np.zeros(4, dtype=np.float32)})
    # another item with the same context gets the same vector; the key is the text, not the id
    found = ContextVectors(tmp_path, "model-a").get({"x": store.key("first context"), "y": store.key("none")})
    assert set(found) == {"x"} and np.array_equal(found["x"], vectors["a"])
    other_model = ContextVectors(tmp_path, "model-b")
    assert other_model.get({"a": other_model.key("first context")}) == {}


def test_an_unreadable_shard_only_means_recomputing(tmp_path: Path) -> None:
    store = ContextVectors(tmp_path, "m")
    store.put({"a": store.key("t")}, {"a": np.ones(3, dtype=np.float32)})
    (store.dir / "0-broken.npz").write_bytes(b"not a zip")
    assert set(store.get({"a": store.key("t")})) == {"a"}
