"""Level-1 (deterministic) metrics in a registry with explicit names.

Each metric scores one (item, prediction) pair and returns a value in [0, 1], or None when it does
not apply (another track, no gold evidence, a precision over no cited image): None is left out of
every mean, so "does not apply" never reads as "wrong". A missing prediction scores 0 wherever the
metric applies, so a model cannot raise its mean by skipping hard items. Metric versions are written
into results: bump one whenever the same input may score differently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mmrare.errors import FatalError
from mmrare.evaluation.grounding import GROUNDING_PARSER_VERSION, grounding_score, parse_image_refs
from mmrare.evaluation.mentions import MENTIONS_VERSION, concluded
from mmrare.evaluation.predictions import MODES, Prediction
from mmrare.evaluation.release import TRACKS, Item
from mmrare.evaluation.settings import ScoringSettings
from mmrare.evaluation.text import (
    NORMALISER_VERSION,
    answer_candidates,
    normalise,
    parse_option_letter,
    token_f1,
)

MetricFn = Callable[[Item, Prediction | None, ScoringSettings], float | None]


@dataclass(frozen=True)
class Metric:
    """A named, versioned metric. ``binary`` metrics (0/1) are compared with McNemar, others Wilcoxon.

    ``modes`` are the prompt modes it applies to: accuracy needs the options the mc prompt shows.
    """

    name: str
    version: str
    tracks: frozenset[str]
    binary: bool
    description: str
    fn: MetricFn
    modes: frozenset[str] = frozenset(MODES)

    def applies_in(self, mode: str | None) -> bool:
        """Whether the metric applies to predictions made in ``mode`` (None: not recorded, it does)."""
        return mode is None or mode in self.modes

    def __call__(self, item: Item, prediction: Prediction | None, settings: ScoringSettings) -> float | None:
        if item.track not in self.tracks:
            return None
        return self.fn(item, prediction, settings)


_REGISTRY: dict[str, Metric] = {}


def register_metric(
    name: str, *, version: str, tracks: Iterable[str], binary: bool = False, modes: Iterable[str] = MODES
) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding a metric under ``name``; a duplicate name is a programming error."""

    def wrap(fn: MetricFn) -> MetricFn:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} registered twice")
        _REGISTRY[name] = Metric(
            name=name,
            version=version,
            tracks=frozenset(tracks),
            binary=binary,
            description=(fn.__doc__ or "").strip().splitlines()[0],
            fn=fn,
            modes=frozenset(modes),
        )
        return fn

    return wrap


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name lists the closest known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(_REGISTRY))
        raise FatalError(f"unknown metric {name!r}{hint} (known: {known})") from None


def metric_names() -> list[str]:
    return list(_REGISTRY)


def select_metrics(names: Iterable[str] | None = None) -> list[Metric]:
    """The chosen metrics in registry order (all when ``names`` is empty)."""
    wanted = list(names or [])
    if not wanted:
        return list(_REGISTRY.values())
    chosen = {get_metric(n).name for n in wanted}
    return [m for m in _REGISTRY.values() if m.name in chosen]


# -- helpers -----------------------------------------------------------------------------------------

_ORPHA = re.compile(r"\bORPHA\s*[:_ ]\s*(\d+)\b", re.IGNORECASE)


def chosen_letter(item: Item, prediction: Prediction) -> str | None:
    """The option a prediction picks: its ``option``, a letter in its text, or an option text it repeats."""
    if prediction.option:
        return prediction.option
    letter = parse_option_letter(prediction.answer, len(item.options))
    if letter:
        return letter
    options = {normalise(o): chr(ord("A") + i) for i, o in enumerate(item.options)}
    for span in answer_candidates(prediction.answer):
        if (hit := options.get(normalise(span))) is not None:
            return hit
    return None


def answer_text(item: Item, prediction: Prediction) -> str:
    """The free-text answer; a bare letter ("B") stands for the text of that option."""
    text = prediction.answer.strip()
    if not text or re.fullmatch(r"\W*[A-J]\W*", text):
        letter = prediction.option or parse_option_letter(text, len(item.options))
        if letter and 0 <= ord(letter) - ord("A") < len(item.options):
            return item.options[ord(letter) - ord("A")]
    return text


def cited_images(item: Item, prediction: Prediction) -> list[int]:
    """Positions the prediction cites: its ``images`` field, else parsed from ``answer``, else ``raw``."""
    if prediction.images is not None:
        return sorted(set(prediction.images))
    n = len(item.images) or None
    found = parse_image_refs(prediction.answer, n)
    if not found and prediction.raw:
        found = parse_image_refs(prediction.raw, n)
    return found


def _matches(spans: set[str], codes: set[str], names: Iterable[str], code: str | None) -> bool:
    if code and code.upper().replace(" ", "") in codes:
        return True
    return any(normalise(n) in spans for n in names if n)


_GOLD = "gold"


def _diagnosis_names(item: Item) -> list[tuple[str, tuple[str, ...]]]:
    """Every name the item knows, keyed and in priority order: the gold, its ORDO neighbours, options.

    An option that is the gold answer or a neighbour keeps that key (earlier keys win in
    :func:`mentions.concluded`); the other options are the wrong diseases a reply may name.
    """
    names = [(_GOLD, (item.answer, *item.aliases, item.orpha_code or ""))]
    names += [
        (f"related:{k}", (rc.label, *rc.aliases, rc.code)) for k, rc in enumerate(item.related_concepts)
    ]
    names += [(f"option:{k}", (text,)) for k, text in enumerate(item.options)]
    return names


def _partial_credit(item: Item, settings: ScoringSettings, index: int) -> float:
    rc = item.related_concepts[index]
    eligible = rc.relation == "child" or (
        rc.relation == "parent" and rc.n_descendants <= settings.max_parent_descendants
    )
    return settings.partial_credit if eligible else 0.0


# -- metrics -----------------------------------------------------------------------------------------


@register_metric("accuracy", version="accuracy/1", tracks=TRACKS, binary=True, modes=("mc",))
def accuracy(item: Item, prediction: Prediction | None, settings: ScoringSettings) -> float | None:
    """Multiple choice: 1 when the chosen option is the gold letter, else 0 (no choice counts as wrong)."""
    if prediction is None:
        return 0.0
    return float(chosen_letter(item, prediction) == item.answer_letter)


@register_metric(
    "diagnosis_match",
    version=f"diagnosis-match/2+{NORMALISER_VERSION}+{MENTIONS_VERSION}",
    tracks=("diagnosis",),
)
def diagnosis_match(item: Item, prediction: Prediction | None, settings: ScoringSettings) -> float | None:
    """Open diagnosis: 1 for the gold name/alias/code, partial for an ORDO child or a small parent.

    The answer line (or the whole answer) is matched exactly first; a reply whose answer is in
    prose is scored by the name it concludes with (:func:`mentions.concluded`), so a correct answer
    needs no "Answer:" line and a reply that settles on a wrong disease still scores 0.
    """
    if prediction is None:
        return 0.0
    text = answer_text(item, prediction)
    spans = {normalise(s) for s in answer_candidates(text)}
    codes = {f"ORPHA:{m}" for m in _ORPHA.findall(text)}
    if _matches(spans, codes, (item.answer, *item.aliases), item.orpha_code):
        return 1.0
    for k, rc in enumerate(item.related_concepts):
        if _matches(spans, codes, (rc.label, *rc.aliases), rc.code) and _partial_credit(item, settings, k):
            return settings.partial_credit
    key = concluded(text, _diagnosis_names(item))
    if key == _GOLD:
        return 1.0
    if key is not None and key.startswith("related:"):
        return _partial_credit(item, settings, int(key.split(":", 1)[1]))
    return 0.0


@register_metric("token_f1", version=f"token-f1/1+{NORMALISER_VERSION}", tracks=("examination", "treatment"))
def token_f1_metric(item: Item, prediction: Prediction | None, settings: ScoringSettings) -> float | None:
    """Free-text examination/treatment: best token F1 of an answer span against the gold or an alias."""
    if prediction is None:
        return 0.0
    spans = answer_candidates(answer_text(item, prediction)) or [""]
    return max(token_f1(s, g) for s in spans for g in (item.answer, *item.aliases))


def _grounding(part: str) -> MetricFn:
    def fn(item: Item, prediction: Prediction | None, settings: ScoringSettings) -> float | None:
        if not item.evidence_image_positions:
            return None
        cited = cited_images(item, prediction) if prediction is not None else []
        score = grounding_score(cited, item.evidence_image_positions)
        return None if score is None else getattr(score, part)

    fn.__doc__ = f"Evidence grounding {part}: cited image positions vs the gold evidence images."
    # precision over no cited image is undefined (None); recall and F1 of citing nothing are 0
    return fn


for _part in ("precision", "recall", "f1"):
    register_metric(f"grounding_{_part}", version=f"grounding/2+{GROUNDING_PARSER_VERSION}", tracks=TRACKS)(
        _grounding(_part)
    )
