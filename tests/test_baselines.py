"""Shortcut baselines: ties share credit, a standing-out gold is solved, the image-blind check."""

from __future__ import annotations

import pytest

from mmrare import baselines


def test_the_longest_option_is_picked_and_ties_share_credit() -> None:
    options = ["Surgical resection of the tumour with clear margins", "Aspirin", "Rest", "Ice"]
    guess = baselines.longest(options, 0)
    assert guess.picked == (0,) and guess.credit == 1.0 and guess.solved and guess.confidence > 1
    tied = baselines.longest(["Image 1", "Image 2", "Image 3", "Image 4"], 2)
    assert tied.credit == 0.25 and not tied.solved and tied.confidence == 0.0


def test_the_option_most_like_the_others_is_picked() -> None:
    options = ["Colon biopsy with mucosal atrophy", "Colon biopsy", "Mucosal atrophy", "Retinal detachment"]
    guess = baselines.central(options, 0)
    assert guess.picked == (0,) and guess.solved
    assert baselines.central(options, 3).credit == 0.0


def test_image_blind_fires_only_when_the_gold_alone_echoes_the_context() -> None:
    context = "Imaging of the carotid bifurcation showed a hypervascular mass."
    assert baselines.image_blind(
        context, ["Hypervascular carotid mass", "Colon polyp", "Skin rash", "Hip"], 0
    )
    assert not baselines.image_blind(context, ["Hypervascular mass", "Carotid stenosis", "Rash", "Hip"], 0)


def test_an_unknown_baseline_is_named() -> None:
    with pytest.raises(ValueError, match="longest, central"):
        baselines.option_only("shortest", ["a", "b", "c", "d"], 0)
