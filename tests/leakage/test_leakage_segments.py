"""The word alignment of contexts to their sentences: difflib's matching blocks, found faster."""

from __future__ import annotations

import difflib
import random
import re

from mmrare.leakage.segments import matching_blocks

from .leakage_cases import all_inputs


def _difflib_blocks(a: list[str], b: list[str]) -> list[difflib.Match]:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()


def test_matching_blocks_are_difflibs_on_the_drafted_contexts() -> None:
    rewritten = 0
    for entry in all_inputs():
        item = entry.item
        texts = [entry.sentence_texts[sid] for sid in item.context_sentence_ids]
        src = [w.lower() for text in texts for w in re.findall(r"\w+", text)]
        ctx = [w.lower() for w in re.findall(r"\w+", item.context)]
        rewritten += src != ctx  # citations removed, figure references rewritten
        assert matching_blocks(src, ctx) == _difflib_blocks(src, ctx)
    assert rewritten


def test_matching_blocks_are_difflibs_on_random_edits_and_ties() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        alphabet = rng.randint(1, 6)  # few distinct words: many equally long blocks to break ties between
        a = [str(rng.randint(0, alphabet)) for _ in range(rng.randint(0, 30))]
        if rng.random() < 0.5:
            b = list(a)
            for _ in range(rng.randint(0, 5)):
                at = rng.randint(0, len(b))
                edit = rng.random()
                if edit < 0.4 and b:
                    b[min(at, len(b) - 1)] = str(rng.randint(0, alphabet))
                elif edit < 0.7:
                    b.insert(at, str(rng.randint(0, alphabet)))
                elif b:
                    del b[min(at, len(b) - 1)]
        else:
            b = [str(rng.randint(0, alphabet)) for _ in range(rng.randint(0, 30))]
        assert matching_blocks(a, b) == _difflib_blocks(a, b), (a, b)
