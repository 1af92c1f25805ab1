"""What the draft stage hands drafting about a case's clinical picture: related cases, the
similarity of every option text to the case, and the differential diagnoses stored by the linker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from mmrare.items import ClinicalPicture, RelatedCase
from mmrare.stages.draft import OptionVectors, related_cases
from mmrare.warehouse.db import connect
from mmrare.warehouse.queries.draft import differential_codes


def test_related_cases_follow_the_diseases_order_and_skip_the_case_itself() -> None:
    related = [("differential", "ORPHA:2", "B"), ("ordo_sibling", "ORPHA:3", "C")]
    related.append(("ordo_sibling", "ORPHA:9", "no case has it"))
    by_code = {"ORPHA:1": ("PMC1", "PMC4"), "ORPHA:2": ("PMC1", "PMC2"), "ORPHA:3": ("PMC3", "PMC5")}
    assert related_cases(related, "PMC1", by_code) == (
        RelatedCase("PMC2", "differential", "ORPHA:2", "B"),
        RelatedCase("PMC3", "ordo_sibling", "ORPHA:3", "C"),
        RelatedCase("PMC5", "ordo_sibling", "ORPHA:3", "C"),
    )
    assert len(related_cases(related, "PMC1", by_code, limit=2)) == 2


def test_option_similarity_is_the_cosine_of_each_text_to_the_context_mean() -> None:
    vectors = {"mri": [1.0, 0.0], "eeg": [0.6, 0.8], "karyotype": [0.0, 1.0]}
    encoded: list[list[str]] = []

    def encode(texts: Sequence[str]) -> np.ndarray:
        encoded.append(list(texts))
        return np.array([vectors[t] for t in texts], dtype=np.float32)

    options = OptionVectors.embed(["mri", "eeg", "karyotype"], encode)
    assert encoded == [["mri", "eeg", "karyotype"]]  # embedded once, for every case
    sentences = {"s1": np.array([1.0, 0.0]), "s2": np.array([0.28, 0.96])}  # mean: (0.64, 0.48) -> (0.8, 0.6)
    picture = ClinicalPicture((), options.rows, options.matrix, sentences)
    similarity = picture.similarity(["s1", "s2", "not embedded"])
    assert {k: round(v, 2) for k, v in similarity.items()} == {"mri": 0.8, "eeg": 0.96, "karyotype": 0.6}
    assert similarity.get("ct") is None
    assert picture.similarity(["s1"])["eeg"] == pytest.approx(0.6)
    assert picture.similarity([]) == {} and ClinicalPicture().similarity(["s1"]) == {}


def test_differential_codes_by_case_and_linker(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    rows = [  # (mention, pmcid, code, differential, linker, ordo sha256)
        ("m1", "PMC1", "ORPHA:2", True, "l1", "sha"),
        ("m2", "PMC1", "ORPHA:2", True, "l1", "sha"),  # named twice: once
        ("m3", "PMC1", "ORPHA:3", False, "l1", "sha"),  # the patient's disease, not a differential
        ("m4", "PMC1", "ORPHA:4", True, "l1", "other"),  # another ORDO file
        ("m5", "PMC2", "ORPHA:5", True, "l2", "sha"),
        ("m6", "PMC3", "ORPHA:6", True, "l1", "sha"),  # not asked for
    ]
    for mention, pmcid, code, differential, linker, sha in rows:
        con.execute(
            "INSERT INTO disease_mentions VALUES (?, ?, 's', 0, 1, 't', ?, 'label', 'label', false, ?, false,"
            " 1.0, ?, '4.2', ?)",
            [mention, pmcid, code, differential, linker, sha],
        )
    assert differential_codes(con, ["PMC1", "PMC2"], "sha") == {
        "PMC1": [("l1", "ORPHA:2")],
        "PMC2": [("l2", "ORPHA:5")],
    }
    assert differential_codes(con, [], "sha") == {}
    con.close()
