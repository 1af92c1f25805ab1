"""Answer-position balancing: every option letter is the answer about equally often, per track.

A drafted item's answer position comes from a hash of its options, which is uniform only on
average: a small release could have a third of its answers at "A", and a model that prefers a
letter would gain from it. So the release places the answers itself. Per track, items are taken in
the order of ``sha256(salt, item_id)``, and each answer goes to the position (among its item's
options) that is furthest behind its uniform share so far (items with n options add 1/n to each of
their n positions); the distractors keep their relative order. Every share then stays within about
one item of uniform, also when items have different numbers of options, the order depends only on
the item ids (the same on every rebuild of the same items, on every machine), and the options an
item has never change, only where the answer sits.

An item released before in the same reviewed version keeps its answer where it was (``pinned``):
the pinned items are counted first, and only the new or changed ones are placed, so adding cases to
a benchmark never moves the answers of the items already out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

from mmrare.warehouse.release.records import ReleaseItem

SALT = "mmrare-positions/1"


def position_key(item_id: str, salt: str = SALT) -> str:
    return hashlib.sha256(f"{salt}\x1f{item_id}".encode()).hexdigest()


def _pin(it: ReleaseItem, pinned: Mapping[tuple[str, int], int] | None) -> int | None:
    """Where an earlier release put this version of the item's answer (None: place it anew)."""
    position = (pinned or {}).get((it.item.item_id, it.item_version))
    return position if position is not None and 0 <= position < len(it.item.options) else None


def with_answer_at(options: Sequence[str], answer_index: int, position: int) -> tuple[tuple[str, ...], int]:
    """``options`` with the answer moved to ``position``, the others in their order."""
    answer = options[answer_index]
    others = [o for i, o in enumerate(options) if i != answer_index]
    return tuple([*others[:position], answer, *others[position:]]), position


def balance_positions(
    items: Sequence[ReleaseItem], salt: str = SALT, pinned: Mapping[tuple[str, int], int] | None = None
) -> list[ReleaseItem]:
    """``items`` (same order) with answer positions balanced per track and option count; an item
    whose (id, version) is in ``pinned`` keeps that position."""
    by_track: dict[str, list[ReleaseItem]] = {}
    for it in items:
        by_track.setdefault(it.item.track, []).append(it)
    target: dict[str, int] = {}
    for mine in by_track.values():
        behind = [0.0] * max(len(it.item.options) for it in mine)  # uniform share so far minus answers
        kept = {it.item.item_id: _pin(it, pinned) for it in mine}
        first = sorted((it for it in mine if kept[it.item.item_id] is not None), key=lambda i: i.item.item_id)
        rest = sorted((it for it in mine if kept[it.item.item_id] is None),
                      key=lambda i: position_key(i.item.item_id, salt))  # fmt: skip
        for it in [*first, *rest]:
            n = len(it.item.options)
            for p in range(n):
                behind[p] += 1 / n
            chosen = kept[it.item.item_id]
            if chosen is None:
                chosen = max(range(n), key=lambda p: (round(behind[p], 9), -p))
            behind[chosen] -= 1
            target[it.item.item_id] = chosen
    out = []
    for it in items:
        options, index = with_answer_at(it.item.options, it.item.answer_index, target[it.item.item_id])
        out.append(replace(it, item=replace(it.item, options=options, answer_index=index)))
    return out
