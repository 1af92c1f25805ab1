"""Shortcut baselines: how well an item can be answered without what it is meant to test.

- option-only ``longest``: pick the longest option (drafted gold answers tend to be the most
  carefully written one);
- option-only ``central``: pick the option most similar to the others (a distractor set built around
  the answer often echoes it);
- image-blind distractor check: the gold option is the only option sharing a content word with the
  context, so the images are not needed to rule the distractors out.

Pure functions of the option texts (and the context), so the release build and ``release verify``
compute the same numbers from the released rows, and leakage control can flag the same items for
reviewers. Ties share the credit (a baseline choosing among k tied options is right 1/k of the
time when the gold is one of them), so tied options such as "Image 1" .. "Image 4" score at chance
whatever the answer's position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+")
_STOP_TEXT = """
    a an the of in on at to for with without and or but by from as is are was were be been this that
    these those its their her his our which who also both all any each other some such than then into
    onto over under no not due type image
"""
_STOP = frozenset(_STOP_TEXT.split())
OPTION_ONLY = ("longest", "central")
# A baseline "solves" an item when it picks the gold alone with at least this lead (:class:`Guess`);
# leakage control flags such items for reviewers (option.central) and the release counts them.
CONFIDENCE: dict[str, float] = {"longest": 0.25, "central": 0.15}


@dataclass(frozen=True, slots=True)
class Guess:
    """A baseline's answer to one item: the options it would pick (ties), the credit it earns and
    how sure it is (0 when it cannot tell the options apart)."""

    picked: tuple[int, ...]
    credit: float  # 1/len(picked) when the gold is picked, else 0
    confidence: float

    @property
    def solved(self) -> bool:
        return self.credit > 0 and len(self.picked) == 1


def words(text: str, *, min_length: int = 3) -> frozenset[str]:
    """Casefolded content words of ``text`` (stop words and short tokens left out)."""
    return frozenset(w for w in _WORD.findall(text.casefold()) if len(w) >= min_length and w not in _STOP)


def _guess(values: Sequence[float], answer_index: int) -> Guess:
    best = max(values)
    picked = tuple(i for i, v in enumerate(values) if v == best)
    rest = sorted(values, reverse=True)
    second = rest[len(picked)] if len(picked) < len(values) else best
    credit = 1.0 / len(picked) if answer_index in picked else 0.0
    return Guess(picked, credit, round(best - second, 4) if len(picked) == 1 else 0.0)


def longest(options: Sequence[str], answer_index: int) -> Guess:
    """The longest option; confidence is its lead over the runner-up relative to the mean length."""
    lengths = [len(" ".join(o.split())) for o in options]
    mean = sum(lengths) / len(lengths) or 1.0
    return _guess([n / mean for n in lengths], answer_index)


def central(options: Sequence[str], answer_index: int) -> Guess:
    """The option sharing most words with the others (mean Jaccard); confidence is its lead."""
    sets = [words(o, min_length=2) for o in options]
    scores = []
    for i, mine in enumerate(sets):
        sims = [
            len(mine & other) / len(mine | other) if mine | other else 0.0
            for j, other in enumerate(sets)
            if j != i
        ]
        scores.append(round(sum(sims) / len(sims), 6))
    return _guess(scores, answer_index)


def option_only(name: str, options: Sequence[str], answer_index: int) -> Guess:
    """The option-only baseline called ``name`` (one of :data:`OPTION_ONLY`)."""
    if name == "longest":
        return longest(options, answer_index)
    if name == "central":
        return central(options, answer_index)
    raise ValueError(f"unknown option-only baseline {name!r} (known: {', '.join(OPTION_ONLY)})")


def image_blind(context: str, options: Sequence[str], answer_index: int) -> bool:
    """True when the gold option is the only option that shares a content word with the context."""
    seen = words(context)
    tied = [i for i, o in enumerate(options) if words(o) & seen]
    return tied == [answer_index]
