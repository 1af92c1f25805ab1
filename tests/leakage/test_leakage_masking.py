"""Masking: deterministic rendering of overlapping spans, drops before masks, and the post-condition."""

from __future__ import annotations

import itertools
import re

from mmrare.leakage import (
    DEFAULT_POLICY,
    Action,
    LeakageDecision,
    LeakageInput,
    Policy,
    PolicyRule,
    decide,
    masked_context,
)
from mmrare.leakage.masking import render

from .leakage_cases import AIE, stub_scores


def decision(
    start: int, end: int, action: Action = Action.MASK, sentence_id: str | None = None
) -> LeakageDecision:
    return LeakageDecision(
        item_id="aie-dx",
        track="diagnosis",
        detector="lexical.label",
        sentence_id=sentence_id,
        start=start,
        end=end,
        matched_text="",
        score=1.0,
        threshold=1.0,
        action=action,
        reason="test",
        rule="test",
    )


def test_overlapping_masks_merge_the_same_way_in_any_order(aie_input: LeakageInput) -> None:
    item = aie_input.item
    text = item.context
    label = text.index("autoimmune enteropathy")
    spans = [
        (label, label + len("autoimmune enteropathy")),  # the label
        (label + len("autoimmune "), label + len("autoimmune enteropathy")),  # its head word, inside it
        (label + len("autoimmune enteropathy ("), label + len("autoimmune enteropathy (AIE")),  # abbreviation
        (label + 4, label + len("autoimmune enteropathy (AI")),  # a span straddling both
    ]
    outputs = {
        masked_context(item, [decision(s, e) for s, e in order])[0] for order in itertools.permutations(spans)
    }
    assert len(outputs) == 1
    (masked,) = outputs
    assert masked.startswith("Rarely seen in adults, [MASKED]) is a condition")
    assert "enteropathy" not in masked.split("Consider")[0]


def test_touching_spans_become_one_mask_and_separate_ones_stay_apart() -> None:
    text = "alpha beta gamma delta"
    touching = [decision(0, 5), decision(5, 10)]
    assert render(text, touching)[0] == "[MASKED] gamma delta"
    apart = [decision(0, 5), decision(11, 16)]
    assert render(text, apart) == ("[MASKED] beta [MASKED] delta", 2)


def test_dropped_sentence_wins_over_masks_inside_it(aie_input: LeakageInput) -> None:
    item = aie_input.item
    first = item.context_sentence_ids[0]
    end = item.context.index(" A 46-year-old")
    decisions = [decision(23, 45), decision(0, end, Action.DROP_SENTENCE, first)]
    text, kept = masked_context(item, decisions)
    assert text.startswith("A 46-year-old woman")
    assert "[MASKED]" not in text
    assert kept == item.context_sentence_ids[1:]
    assert item.context.startswith("Rarely seen in adults")  # the original is never changed


def test_masked_diagnosis_context_names_nothing(aie_input: LeakageInput, pgl_input: LeakageInput) -> None:
    decided = decide([aie_input, pgl_input], stub_scores(aie_input) + stub_scores(pgl_input))
    for entry in (aie_input, pgl_input):
        record = decided.context(entry.item.item_id)
        assert record.status == "kept"
        descriptor = entry.descriptor
        lowered = record.masked_context.casefold()
        for name in (descriptor.label, *descriptor.synonyms):
            assert name.casefold() not in lowered
        for short in descriptor.abbreviations:
            assert not re.search(rf"\b{short}s?\b", record.masked_context)
    assert "Consider [MASKED] in patients" in decided.context("aie-dx").masked_context
    assert "both sides of the neck" in decided.context("pgl-dx").masked_context


def test_postcondition_drops_an_item_the_policy_failed_to_mask(aie_input: LeakageInput) -> None:
    # A policy that forgot abbreviations: "AIE" survives masking, so the post-condition must catch it.
    rules = (
        *(r for r in DEFAULT_POLICY.rules if r.detector != "lexical.*"),
        *(
            PolicyRule(f"lexical.{kind}", Action.MASK, ("diagnosis",))
            for kind in ("label", "synonym", "head_word")
        ),
    )
    decided = decide([aie_input], stub_scores(aie_input), Policy(rules=rules))
    record = decided.context("aie-dx")
    assert record.status == "dropped"
    assert "postcondition_failed" in record.reason and "'AIE'" in record.reason
    post = [d for d in decided.decisions if d.detector == "postcondition"]
    assert len(post) == 1 and post[0].action is Action.DROP_ITEM
    assert {h["check"] for h in post[0].detail["hits"]} == {"regex"}
    assert "AIE" in record.masked_context  # the audit keeps what would have been shown


def test_item_without_scores_is_dropped_not_released(aie_input: LeakageInput) -> None:
    decided = decide([aie_input], [])
    assert decided.context("aie-dx").status == "dropped"
    assert "run detection first" in decided.context("aie-dx").reason


def test_scores_of_an_older_draft_are_not_applied(aie_input: LeakageInput) -> None:
    old = stub_scores(aie_input)
    changed = aie_input.item.__class__(
        **{
            **{f: getattr(aie_input.item, f) for f in aie_input.item.__dataclass_fields__},
            "context": "New text.",
        }
    )
    entry = LeakageInput(changed, aie_input.descriptor, {})
    decided = decide([entry], old)
    assert decided.context("aie-dx").status == "dropped"
    assert "another version" in decided.context("aie-dx").reason
    assert AIE in aie_input.item.pmcid


def test_runs_of_spaces_and_tabs_become_one_space_as_before() -> None:
    from mmrare.leakage.masking import _SPACES

    for text in ["a b", "a  b", "a\tb", "a \t b", " \t", "a\t\tb c   d", "  ", " ", "", "a\n \nb", "\t"]:
        assert _SPACES.sub(" ", text) == re.sub(r"[ \t]+", " ", text), repr(text)
