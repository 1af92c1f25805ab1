"""Multiple-choice options: dedupe, pick distractors, shuffle deterministically.

The shuffle sorts options by sha256(seed, item id, option), not by a PRNG, so the order is the same
on every machine and Python version, and changing the seed reshuffles every item independently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from mmrare.annotations.drafting.text import normalise
from mmrare.errors import RecordError
from mmrare.items import MAX_OPTIONS, MIN_OPTIONS, DistractorNote

Candidate = str | DistractorNote  # a distractor text, or one with the reason it was offered


def stable_key(seed: int, item_id: str, text: str) -> str:
    """A deterministic pseudo-random sort key for one option of one item."""
    return hashlib.sha256(f"{seed}\x1f{item_id}\x1f{normalise(text)}".encode()).hexdigest()


def selection_key(key: str, text: str) -> str:
    """A deterministic tie-break for choosing distractors; independent of the seed, so changing the
    seed reorders options but never changes which options an item has."""
    return hashlib.sha256(f"select\x1f{key}\x1f{normalise(text)}".encode()).hexdigest()


def longer_first(answer: str, distractors: list[Candidate], n: int, key: str) -> list[Candidate]:
    """``distractors`` with the first one longer than ``answer`` moved to the front, except for one
    item in ``n`` (chosen by ``selection_key(key, ...)``, so the same on every run).

    Gold answers tend to be the longest option (a full disease name against its shorter siblings), so
    "pick the longest" would beat chance. With a longer distractor among the options, the gold is the
    longest only about as often as any option would be."""
    if int(selection_key(key, "longer-first")[:8], 16) % n == 0:
        return distractors
    size = len(" ".join(answer.split()))
    for i, candidate in enumerate(distractors):
        text = candidate.text if isinstance(candidate, DistractorNote) else candidate
        if len(" ".join(text.split())) > size:
            return [candidate, *distractors[:i], *distractors[i + 1 :]]
    return distractors


def shuffle(options: Iterable[str], seed: int, item_id: str) -> list[str]:
    """Options in a deterministic order seeded by (seed, item id)."""
    return sorted(options, key=lambda o: stable_key(seed, item_id, o))


def assemble(
    answer: str,
    distractors: Iterable[Candidate],
    *,
    n: int,
    seed: int,
    item_id: str,
    record_id: str,
    forbidden: Iterable[str] = (),
    too_similar: Callable[[str, str], bool] | None = None,
    ordered: bool = False,
    reason: str = "",
) -> tuple[tuple[str, ...], int, tuple[DistractorNote, ...]]:
    """``n`` options (answer plus distractors in the given priority order), the answer's index and
    a note per chosen distractor (a plain text gets ``reason``).

    Distractors equal to the answer or to a ``forbidden`` text after normalisation, duplicates, and
    (with ``too_similar``) near-duplicates of an option already chosen are skipped. ``ordered`` keeps
    the options in their natural order (used for "Image 1" ... "Image n"). Fewer than four distinct
    options raise :class:`RecordError` ``too_few_distractors``.
    """
    if not MIN_OPTIONS <= n <= MAX_OPTIONS:
        raise ValueError(f"options must be {MIN_OPTIONS}..{MAX_OPTIONS}, not {n}")
    chosen = [answer.strip()]
    notes: list[DistractorNote] = []
    blocked = {normalise(answer)} | {normalise(f) for f in forbidden}
    for candidate in distractors:
        if len(chosen) >= n:
            break
        note = candidate if isinstance(candidate, DistractorNote) else DistractorNote(candidate, reason)
        text = " ".join(note.text.split())
        key = normalise(text)
        if not key or key in blocked:
            continue
        if too_similar is not None and any(too_similar(text, other) for other in chosen):
            continue
        blocked.add(key)
        chosen.append(text)
        notes.append(DistractorNote(text, note.reason, note.source))
    if len(chosen) < MIN_OPTIONS:
        raise RecordError(
            record_id,
            "too_few_distractors",
            f"{len(chosen)} distinct options, need at least {MIN_OPTIONS}",
        )
    options = list(chosen) if ordered else shuffle(chosen, seed, item_id)
    if ordered:
        options.sort(key=_natural_key)
    return tuple(options), options.index(chosen[0]), tuple(notes)


def _natural_key(text: str) -> tuple[str, int]:
    head, _, tail = text.rpartition(" ")
    return (head, int(tail)) if tail.isdigit() else (text, 0)
