"""ConText-style assertion rules: is a mention the patient's disease, or negated, a differential, a
relative's, past, hypothetical? And does a diagnosis cue ("diagnosed with") govern it?

Rules follow ConText (Harkema et al. 2009) as negspacy implements NegEx: trigger phrases with a
direction, a window and terminators, scoped to one sentence.

- A **forward** trigger ("no evidence of", "suspected") governs the tokens after it, a **backward**
  one ("was ruled out", "was suspected") the tokens before it, a **both** one ("versus") each side.
- A scope stops at the sentence end, at its window (:data:`SHORT_WINDOW` tokens for one-word
  triggers such as "no", "not", "without", :data:`LONG_WINDOW` otherwise), at a terminator ("but",
  "however", "which", ";", ...) and at the next trigger of another category.
- Where triggers overlap, the longest wins: "not consistent with" (negated) beats "consistent with"
  (diagnosis cue), "cannot be excluded" (differential) beats "excluded" (negated), and *pseudo*
  triggers ("no change", "not only", "gram negative") win over the short trigger inside them and
  do nothing. Where a forward and a backward reading overlap ("X was negative for Y", "she was
  diagnosed with Y"), a longer forward trigger spells the forward reading out.

Trigger phrases pass through the same normalisation as terms, so "ruled out" also matches
"Ruled-out" and "rules out" stays different from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

SHORT_WINDOW = 6
LONG_WINDOW = 12


class Category(StrEnum):
    NEGATED = "negated"
    DIFFERENTIAL = "differential"
    FAMILY = "family_history"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    DIAGNOSIS = "diagnosis"  # a diagnosis cue: "diagnosed with X", "consistent with X", "X was confirmed"
    PSEUDO = "pseudo"
    TERMINATE = "terminate"


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Rule:
    phrase: str
    category: Category
    direction: Direction = Direction.FORWARD


def _rules(category: Category, direction: Direction, phrases: str) -> list[Rule]:
    return [Rule(p.strip(), category, direction) for p in phrases.split("|") if p.strip()]


_F, _B, _BOTH = Direction.FORWARD, Direction.BACKWARD, Direction.BOTH

# (category, direction, "phrase | phrase | ..."): the trigger table.
_TABLE: tuple[tuple[Category, Direction, str], ...] = (
    (Category.NEGATED, _F, """
        no | not | without | no evidence of | no evidence for | no sign of | no signs of | no history of |
        no features of | no findings of | no clinical features of | negative for | absence of | absent |
        denies | denied | free of | ruled out | excluded | excluding | not consistent with |
        inconsistent with | not compatible with | not suggestive of | not diagnostic of | never | neither |
        nor | lack of | lacked | lacking | did not have | does not have | did not reveal | did not show |
        failed to reveal | failed to show | not in keeping with | unlikely to be | was negative for |
        were negative for | is negative for | no family history of | no personal or family history of"""),
    (Category.NEGATED, _B, """
        was ruled out | were ruled out | been ruled out | is ruled out | was excluded | were excluded |
        been excluded | is excluded | is unlikely | was unlikely | was negative | were negative | was absent |
        were absent | not found | not detected | not seen | not identified | not confirmed | not present |
        was not considered"""),
    (Category.DIFFERENTIAL, _F, """
        differential diagnosis | differential diagnoses | differential diagnosis included |
        differential included | rule out | to rule out | r/o | to exclude | suspected | suspicion of |
        suspicion for | suspicious for | suspicious of | suspect for | suspect | concern for |
        concerning for |
        possible | possibly | probable | probably | questionable | query | consider | considered |
        considering | distinguishing | distinguish | differentiating | differentiate | differentiation of |
        distinction between | misdiagnosed as | misdiagnosed with | mistaken for | misdiagnosis of |
        evaluate for | evaluated for | evaluation for | work-up for | workup for | screen for |
        screened for | screening for | tested for | test for | similar to | mimicking | mimic | mimics |
        resembling | resembles | pseudo | rather than | instead of | may have | might have |
        could have | cannot exclude | cannot rule out"""),
    (Category.DIFFERENTIAL, _B, """
        was suspected | were suspected | is suspected | was considered | were considered | is considered |
        should be considered | should be excluded | must be excluded | cannot be excluded |
        could not be excluded | cannot be ruled out | could not be ruled out | not been ruled out |
        not ruled out | was possible | is possible | was questioned | were evaluated"""),
    (Category.DIFFERENTIAL, _BOTH, "versus | vs"),
    (Category.FAMILY, _F, """
        family history of | family history | familial history of | mother | father | sister | brother |
        sibling | parent | aunt | uncle | cousin | grandmother | grandfather | grandparent | daughter | son |
        relative | family member | twin | offspring"""),
    (Category.FAMILY, _B, """
        in the family | in her family | in his family | in her mother | in his mother | in her father |
        in his father | in her sister | in his brother | in a sibling | in relatives | in the relatives |
        in family members"""),
    (Category.HISTORICAL, _F, """
        history of | past medical history | past medical history of | medical history of |
        previous diagnosis of | prior diagnosis of | previously diagnosed with | previous history of |
        past history of | previously had | previous episode of | previously labelled | previously labeled |
        previously labelled as | previously labeled as | previously diagnosed as | initially diagnosed with |
        initially diagnosed as | was initially diagnosed with | carried the diagnosis of |
        carried a diagnosis of | initial diagnosis of | initial diagnosis was | was first diagnosed with |
        was thought to have"""),
    (Category.HYPOTHETICAL, _F, """
        if | risk of | risk for | at risk of | at risk for | to prevent | prevention of | may develop |
        could develop | in case of | whether"""),
    (Category.DIAGNOSIS, _F, """
        diagnosed with | was diagnosed with | were diagnosed with | was diagnosed as | is diagnosed with |
        diagnosed as | diagnosis of | diagnosis was | final diagnosis | final diagnosis of |
        final diagnosis was | consistent with | compatible with | in keeping with | diagnostic of |
        diagnostic for | confirmed | confirming | confirmation of | confirms | case of | suffering from |
        suffered from | affected by | affected with"""),
    (Category.DIAGNOSIS, _B, """
        was diagnosed | were diagnosed | diagnosed in | was confirmed | were confirmed | was made |
        is confirmed | has been confirmed"""),
    (Category.PSEUDO, _F, """
        no increase | no change | no significant change | not only | not necessarily | no further |
        gram negative | not certain | without difficulty | not always | no longer | not just |
        not limited to | whether or not | no doubt"""),
    (Category.TERMINATE, _F, """
        but | however | although | though | nevertheless | yet | except | aside from | apart from | which |
        who | whereas | because | due to | secondary to | cause of | causes of | source of | origin of |
        etiology of | ;"""),
)
RULES: tuple[Rule, ...] = tuple(rule for cat, way, text in _TABLE for rule in _rules(cat, way, text))


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger found in a document: token span and its rule."""

    start: int
    end: int
    rule: Rule

    @property
    def window(self) -> int:
        """One-word triggers ("no", "mother", "possible") govern a few words; phrases such as
        "differential diagnosis included" a whole list."""
        return SHORT_WINDOW if self.end - self.start == 1 else LONG_WINDOW


@dataclass(frozen=True, slots=True)
class Assertion:
    """What the triggers of a sentence say about one mention."""

    negated: bool = False
    differential: bool = False
    family_history: bool = False
    historical: bool = False
    hypothetical: bool = False
    diagnostic_cue: bool = False

    @property
    def affirmed(self) -> bool:
        return not (
            self.negated or self.differential or self.family_history or self.historical or self.hypothetical
        )


def resolve_overlaps(triggers: Iterable[Trigger]) -> list[Trigger]:
    """Longest trigger first, then leftmost; a trigger overlapping a kept one is dropped."""
    kept: list[Trigger] = []
    taken: set[int] = set()
    for trigger in sorted(triggers, key=lambda t: (-(t.end - t.start), t.start)):
        span = range(trigger.start, trigger.end)
        if any(i in taken for i in span):
            continue
        kept.append(trigger)
        taken.update(span)
    return sorted(kept, key=lambda t: t.start)


def assert_mention(
    triggers: Sequence[Trigger], sentence_start: int, sentence_end: int, mention_start: int, mention_end: int
) -> Assertion:
    """The assertion flags of the mention at tokens ``[mention_start, mention_end)``, given the
    overlap-resolved triggers of its sentence (tokens ``[sentence_start, sentence_end)``)."""
    flags: dict[Category, bool] = {}
    for index, trigger in enumerate(triggers):
        category = trigger.rule.category
        if category in (Category.PSEUDO, Category.TERMINATE):
            continue
        if trigger.start < mention_end and mention_start < trigger.end:
            continue  # a trigger inside the mention ("Possible ..." as part of a name) is no trigger
        direction = trigger.rule.direction
        if direction in (Direction.FORWARD, Direction.BOTH) and trigger.end <= mention_start:
            limit = _forward_limit(triggers, index, sentence_end)
            if mention_start < limit:
                flags[category] = True
        if direction in (Direction.BACKWARD, Direction.BOTH) and mention_end <= trigger.start:
            limit = _backward_limit(triggers, index, sentence_start)
            if mention_end > limit:
                flags[category] = True
    return Assertion(
        negated=flags.get(Category.NEGATED, False),
        differential=flags.get(Category.DIFFERENTIAL, False),
        family_history=flags.get(Category.FAMILY, False),
        historical=flags.get(Category.HISTORICAL, False),
        hypothetical=flags.get(Category.HYPOTHETICAL, False),
        diagnostic_cue=flags.get(Category.DIAGNOSIS, False),
    )


def _forward_limit(triggers: Sequence[Trigger], index: int, sentence_end: int) -> int:
    trigger = triggers[index]
    limit = min(sentence_end, trigger.end + trigger.window)
    for other in triggers[index + 1 :]:
        if other.start >= limit:
            break
        if _stops(trigger, other):
            return other.start
    return limit


def _backward_limit(triggers: Sequence[Trigger], index: int, sentence_start: int) -> int:
    trigger = triggers[index]
    limit = max(sentence_start, trigger.start - trigger.window)
    for other in reversed(triggers[:index]):
        if other.end <= limit:
            break
        if _stops(trigger, other):
            return other.end
    return limit


def _stops(trigger: Trigger, other: Trigger) -> bool:
    """A terminator, or a trigger of another (non-pseudo) category, ends a scope."""
    category = other.rule.category
    if category is Category.TERMINATE:
        return True
    return category is not Category.PSEUDO and category is not trigger.rule.category
