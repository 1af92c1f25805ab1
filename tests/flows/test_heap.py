"""The build's collector settings: frozen long-lived objects, restored afterwards."""

from __future__ import annotations

import gc

from mmrare.flows.heap import YOUNG_THRESHOLD, build_heap, freeze_long_lived


def test_a_build_freezes_what_it_keeps_and_leaves_the_collector_as_it_was() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    with build_heap():
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        kept = [{"row": i} for i in range(1000)]
        freeze_long_lived()
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # a long-lived process collects the build's heap again


def test_cyclic_garbage_frozen_during_a_build_is_collected_after_it() -> None:
    import weakref

    class Node:
        pass

    with build_heap():
        node = Node()
        node.self = node  # a cycle: only the collector frees it
        ref = weakref.ref(node)
        freeze_long_lived()
        del node
        gc.collect()
        assert ref() is not None  # frozen: not collected during the build
    gc.collect()
    assert ref() is None
