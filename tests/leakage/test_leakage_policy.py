"""The policy decides from stored scores: thresholds, bands, item-level limits, option shortcuts."""

from __future__ import annotations

import tomllib

import pytest

from mmrare.config import ThresholdsConfig
from mmrare.embedding import EmbeddingCache
from mmrare.errors import FatalError
from mmrare.leakage import (
    DEFAULT_POLICY,
    KEPT_REASON,
    Action,
    AnswerDescriptor,
    LeakageInput,
    Policy,
    PolicyRule,
    apply_policy,
    decide,
    detect,
    dry_run,
    item_status,
    with_threshold,
)

from .leakage_cases import AIE, SpyEmbedder, make_item, stub_scores

# PMC6358579, abstract and introduction: nearly every sentence restates the diagnosis.
AIE_ABSTRACT = {
    "abs:s0": "Autoimmune enteropathy is an uncommon cause of chronic diarrhea rarely seen in adults.",
    "abs:s1": "The disease is secondary to an autoimmune process in the gut that leads to villous blunting "
    "and subsequent watery diarrhea, abdominal pain, and severe weight loss.",
    "intro:s0": "Rarely seen in adults, autoimmune enteropathy (AIE) is a condition characterized by chronic "
    "diarrhea and malabsorption caused by dysregulated antibody activity in the gut.",
    "intro:s1": "Disease frequently becomes so severe that patients require total parenteral nutrition.",
}


def test_threshold_change_redecides_without_embedding(
    spy: SpyEmbedder, cache: EmbeddingCache, aie_input: LeakageInput, pgl_input: LeakageInput
) -> None:
    detection = detect([aie_input, pgl_input], spy)
    assert len(spy.calls) == 1  # all sentences of all items in one embed call
    encoded = cache.encoded
    strict = with_threshold(ThresholdsConfig(), "diagnosis", 0.45)
    before = apply_policy(detection.scores, DEFAULT_POLICY, ThresholdsConfig())
    after = apply_policy(detection.scores, DEFAULT_POLICY, strict)
    redecided = decide([aie_input, pgl_input], detection.scores, DEFAULT_POLICY, strict)
    changes = dry_run(detection.scores, strict, current_thresholds=ThresholdsConfig(), inputs=[aie_input])
    assert len(spy.calls) == 1 and cache.encoded == encoded  # nothing was embedded again

    def dropped(decisions: list) -> set[str]:
        return {d.sentence_id for d in decisions if d.action is Action.DROP_SENTENCE}

    assert dropped(before) < dropped(after)
    assert redecided.context("aie-dx").dropped_sentence_ids
    assert changes and changes[0].item_id == "aie-dx" and changes[0].newly_dropped
    assert "aie-dx (diagnosis)" in changes[0].describe()
    semantic_drop = next(d for d in after if d.action is Action.DROP_SENTENCE and d.detector == "semantic")
    assert semantic_drop.threshold == 0.45


def test_semantic_band_uses_the_config_threshold(aie_input: LeakageInput) -> None:
    first = aie_input.item.context_sentence_ids[1]
    scores = stub_scores(aie_input, {first: 0.63})
    assert any(d.sentence_id == first for d in apply_policy(scores, DEFAULT_POLICY, ThresholdsConfig()))
    assert not any(d.sentence_id == first for d in apply_policy(scores, DEFAULT_POLICY, {"diagnosis": 0.64}))


def test_drop_item_when_most_of_the_context_leaks(spy: SpyEmbedder) -> None:
    ids = list(AIE_ABSTRACT)
    item = make_item(
        "aie-leaky",
        "diagnosis",
        AIE,
        " ".join(AIE_ABSTRACT.values()),
        ids,
        ["Autoimmune enteropathy", "Celiac disease", "Whipple disease", "Tropical sprue"],
    )
    entry = LeakageInput(
        item, AnswerDescriptor(label="Autoimmune enteropathy", abbreviations=("AIE",)), AIE_ABSTRACT
    )
    decided = decide([entry], detect([entry], spy).scores)
    record = decided.context("aie-leaky")
    assert record.status == "dropped"
    assert record.removed_fraction > DEFAULT_POLICY.max_removed_fraction
    (drop,) = [d for d in decided.decisions if d.action is Action.DROP_ITEM]
    assert drop.detector == "policy.removed_fraction" and "of the context leaks" in drop.reason
    assert drop.threshold == DEFAULT_POLICY.max_removed_fraction


def test_option_length_outlier_is_flagged() -> None:
    sid = f"{AIE}:x"
    text = "Stool studies were negative for infectious pathogens. Her diarrhea persisted."
    options = [
        "Autoimmune enteropathy with anti-enterocyte antibodies and villous atrophy",
        "Celiac disease",
        "Whipple disease",
        "Tropical sprue",
        "Crohn disease",
    ]
    item = make_item("long-gold", "diagnosis", AIE, text, [sid, "y"], options)
    scores = stub_scores(LeakageInput(item, AnswerDescriptor(label="Autoimmune enteropathy"), {}))
    length = next(s for s in scores if s.detector == "option.length")
    assert length.score > 3.0 and length.detail["extreme"] == "longest"
    flags = [d for d in apply_policy(scores) if d.action is Action.FLAG]
    assert [f.detector for f in flags] == ["option.length"]
    assert item_status(apply_policy(scores)) == ("kept", KEPT_REASON)  # a flag never drops an item


def test_ordinary_length_differences_are_not_flagged(aie_input: LeakageInput) -> None:
    length = next(s for s in stub_scores(aie_input) if s.detector == "option.length")
    assert length.score < 3.0  # "Autoimmune enteropathy" vs "Celiac disease" is normal variation


def test_first_matching_rule_wins_and_bands_are_respected(aie_input: LeakageInput) -> None:
    policy = Policy(
        rules=(
            PolicyRule("semantic", Action.DROP_ITEM, min_score=0.9, reason="restates the answer outright"),
            PolicyRule("semantic", Action.DROP_SENTENCE, min_score=0.5, max_score=0.9),
        )
    )
    ids = aie_input.item.context_sentence_ids
    scores = stub_scores(aie_input, {ids[0]: 0.95, ids[1]: 0.6, ids[2]: 0.2})
    actions = {(d.sentence_id, d.action) for d in apply_policy(scores, policy)}
    assert (ids[0], Action.DROP_ITEM) in actions
    assert (ids[1], Action.DROP_SENTENCE) in actions
    assert not any(sid == ids[2] for sid, _ in actions)


def test_policy_is_data_with_helpful_errors() -> None:
    table = DEFAULT_POLICY.as_dict()
    assert Policy.from_dict(table) == DEFAULT_POLICY
    assert Policy.from_dict(table).sha256 == DEFAULT_POLICY.sha256
    assert Policy(max_removed_fraction=0.4).sha256 != DEFAULT_POLICY.sha256
    assert DEFAULT_POLICY.label.startswith("leakage-policy/1+")
    assert any("semantic" in line and "config threshold" in line for line in DEFAULT_POLICY.table())
    with pytest.raises(FatalError, match="did you mean 'semantic'"):
        PolicyRule("semantik", Action.DROP_SENTENCE)
    with pytest.raises(FatalError, match="did you mean 'drop_item'"):
        PolicyRule("semantic", "drop_itme")  # type: ignore[arg-type]
    with pytest.raises(FatalError, match="unknown track"):
        PolicyRule("semantic", Action.FLAG, ("diagnsis",))
    with pytest.raises(FatalError, match="unknown leakage policy keys"):
        Policy.from_dict({"max_removed": 0.2})
    with pytest.raises(FatalError, match="unknown track"):
        with_threshold(None, "diagnostic", 0.5)


POLICY_TOML = """
version = "leakage-policy/strict"
max_removed_fraction = 0.4

[[rules]]
detector = "lexical.*"
tracks = ["diagnosis"]
action = "mask"

[[rules]]
detector = "semantic"
action = "drop_sentence"
min_score = "threshold"
"""


def test_policy_table_from_toml(aie_input: LeakageInput) -> None:
    policy = Policy.from_dict(tomllib.loads(POLICY_TOML))
    assert policy.rules[1].min_score is None  # "threshold": the config's per-track value
    assert policy.max_removed_fraction == 0.4 and policy.label.startswith("leakage-policy/strict+")
    ids = aie_input.item.context_sentence_ids
    decisions = apply_policy(stub_scores(aie_input, {ids[1]: 0.7}), policy, ThresholdsConfig())
    assert {d.action for d in decisions} == {Action.MASK, Action.DROP_SENTENCE}
    assert not any(d.detector.startswith("option.") for d in decisions)  # this table flags nothing


def test_policy_thresholds_name_every_fixed_threshold() -> None:
    found = DEFAULT_POLICY.thresholds()
    assert ("*", "option.length", 3.0) in found and ("*", "option.central", 0.15) in found
    assert all(detector != "semantic" for _, detector, _ in found)  # the config's, not the policy's
