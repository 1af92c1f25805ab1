"""Option shortcuts: can the gold option be picked from the wording of the options alone?

Two item-level scores, stored for every item whatever their value:

- ``option.length``: how many standard deviations the gold option's length lies beyond the
  distractors' mean, when it is the single longest or shortest option (0 otherwise). Drafted gold
  answers tend to be the carefully written, longest option.
- ``option.overlap``: the share of the gold option's content words found in the context, minus the
  largest such share among distractors (0 when a distractor shares as much). A gold option echoing
  the context is answerable by word matching.
- ``option.central``: how far the gold option leads as the option sharing most words with the others
  (mean Jaccard; 0 unless the gold alone leads). Distractors built around the answer echo it, and a
  model can pick the option they have in common (the release reports this baseline against chance).
"""

from __future__ import annotations

import statistics
from collections.abc import Set

from mmrare import baselines
from mmrare.items import QAItem
from mmrare.leakage.lexical import word_norms
from mmrare.leakage.scores import LeakageScore
from mmrare.memo import chunk_memo

_STOP_TEXT = """
    a an the of in on at to for with without and or but by from as is are was were be been this that
    these those its their her his our which who also both all any each other some such than then into
    onto over under no not due type
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@chunk_memo(maxsize=1 << 16)
def content_words(text: str) -> frozenset[str]:
    """Normalised content words (>= 3 letters, not stop words).

    Kept per text: options repeat across items (distractors are drawn from shared pools), and
    tokenising each one again was most of the option detectors' time.
    """
    return frozenset(w for w in word_norms(text) if len(w) >= 3 and w not in STOP_WORDS)


def option_scores(
    item: QAItem, *, basis: str = "", context_words: Set[str] | None = None
) -> list[LeakageScore]:
    """The ``option.length``, ``option.overlap`` and ``option.central`` scores of ``item``."""
    return [
        length_score(item, basis=basis),
        overlap_score(item, basis=basis, context_words=context_words),
        central_score(item, basis=basis),
    ]


def central_score(item: QAItem, *, basis: str = "") -> LeakageScore:
    guess = baselines.central(item.options, item.answer_index)
    detail = {"picked": list(guess.picked), "lead": guess.confidence}
    score = guess.confidence if guess.solved else 0.0
    return _item_score(item, "option.central", item.answer, round(score, 4), detail, basis)


def length_score(item: QAItem, *, basis: str = "") -> LeakageScore:
    lengths = [len(" ".join(o.split())) for o in item.options]
    gold = lengths[item.answer_index]
    others = [n for i, n in enumerate(lengths) if i != item.answer_index]
    mean = statistics.fmean(others)
    spread = _pstdev(tuple(sorted(others)))
    # A floor on the spread: four distractors of equal length would make any difference infinite, and
    # "Autoimmune enteropathy" against "Celiac disease" is ordinary variation, not a give-away.
    floor = max(spread, 0.25 * mean, 3.0)
    extreme = gold > max(others) or gold < min(others)
    z = abs(gold - mean) / floor if extreme else 0.0
    detail = {
        "gold_length": gold,
        "distractor_mean": round(mean, 2),
        "distractor_std": round(spread, 2),
        "extreme": "longest" if gold > max(others) else "shortest" if gold < min(others) else None,
    }
    return _item_score(item, "option.length", item.answer, round(z, 4), detail, basis)


@chunk_memo(maxsize=1 << 14)
def _pstdev(lengths: tuple[int, ...]) -> float:
    """``statistics.pstdev`` of the lengths, kept per sorted tuple: it is exact (fractions, so the
    order does not matter) and slow, and many items share their distractors' lengths."""
    return statistics.pstdev(lengths)


def overlap_score(item: QAItem, *, basis: str = "", context_words: Set[str] | None = None) -> LeakageScore:
    context = context_words if context_words is not None else content_words(item.context)
    shares = []
    shared_gold: list[str] = []
    for i, option in enumerate(item.options):
        words = content_words(option)
        common = words & context
        shares.append(len(common) / len(words) if words else 0.0)
        if i == item.answer_index:
            shared_gold = sorted(common)
    gold = shares[item.answer_index]
    best_other = max(s for i, s in enumerate(shares) if i != item.answer_index)
    score = max(0.0, gold - best_other)
    detail = {
        "gold_share": round(gold, 4),
        "best_distractor_share": round(best_other, 4),
        "shared": shared_gold,
    }
    return _item_score(item, "option.overlap", item.answer, round(score, 4), detail, basis)


def _item_score(
    item: QAItem, detector: str, matched: str, score: float, detail: dict[str, object], basis: str
) -> LeakageScore:
    return LeakageScore(
        item_id=item.item_id,
        detector=detector,
        sentence_id=None,
        start=None,
        end=None,
        matched_text=matched,
        score=score,
        detail=detail,
        track=item.track,
        basis=basis,
    )
