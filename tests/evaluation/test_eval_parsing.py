"""Image-reference parsing, option letters, normalisation, token F1 and grounding scores."""

from __future__ import annotations

import pytest

from mmrare.evaluation.grounding import GroundingScore, grounding_score, parse_image_refs
from mmrare.evaluation.text import answer_candidates, normalise, parse_option_letter, token_f1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Image 2 shows the lesion.", [2]),
        ("as seen in Images 1 and 3", [1, 3]),
        ("images 1, 2, and 4", [1, 2, 4]),
        ("Image 1 and Image 3", [1, 3]),
        ("images 2-4", [2, 3, 4]),
        ("Images 1 through 3", [1, 2, 3]),
        ("the second image", [2]),
        ("the first and third images", [1, 3]),
        ("the 2nd image", [2]),
        ("the last image", [5]),
        ("the left panel of Image 1", [1]),
        ("image two and image #4", [2, 4]),
        ("A 45-year-old man with 2 lesions", []),
        ("no image is informative", []),
    ],
)
def test_image_references(text: str, expected: list[int]) -> None:
    assert parse_image_refs(text, n_images=5) == expected


def test_grounding_scores() -> None:
    assert grounding_score([1, 3], [1, 2]) == GroundingScore(0.5, 0.5, 0.5)
    score = grounding_score([2], [2, 3])
    assert score is not None and (score.precision, score.recall) == (1.0, 0.5)
    assert score.f1 == pytest.approx(2 / 3)
    assert grounding_score([], [1]) == GroundingScore(None, 0.0, 0.0)  # no citation: precision n/a
    assert grounding_score([1], []) is None


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("B", "B"),
        ("(C) Marfan syndrome", "C"),
        ("Answer: D", "D"),
        ("The answer is B.", "B"),
        ("**A**", "A"),
        ("I would choose option C", "C"),
        ("A 45-year-old with rash", None),
        ("Answer: F", None),  # only four options
    ],
)
def test_option_letters(text: str, letter: str | None) -> None:
    assert parse_option_letter(text, 4) == letter


def test_normalise_and_token_f1() -> None:
    assert normalise("The Fabry's disease") == "fabry disease"
    assert normalise("Neurofibromatosis type II") == normalise("neurofibromatosis, type 2")
    assert normalise("Sjögren syndrome") == "sjogren syndrome"
    assert token_f1("MRI of the brain", "Brain MRI") == pytest.approx(0.8)
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0
    assert "Fabry disease" in answer_candidates("Answer: Fabry disease.\nBecause of Image 2")
