"""Options (count, dedupe, deterministic shuffle), the drafter/track registry and the item record."""

from __future__ import annotations

import pytest

from mmrare.annotations.drafting import DRAFTER_VERSIONS, DraftSettings, available_drafters, get_drafter
from mmrare.annotations.drafting.base import resolve_tracks
from mmrare.annotations.drafting.options import assemble, longer_first, shuffle
from mmrare.errors import FatalError, RecordError
from mmrare.items import DistractorNote, ImageRef, QAItem, item_id_for

DISTRACTORS = ["brain mri", "EEG", "eeg ", "CT  scan", "Karyotype", "PET-CT", "Audiometry"]


def _assemble(distractors: list[str], n: int = 5, **kwargs: object) -> tuple[tuple[str, ...], int]:
    options, index, notes = assemble(
        "Brain MRI", distractors, n=n, seed=0, item_id="abc", record_id="PMC1:examination", **kwargs
    )
    assert sorted(note.text for note in notes) == sorted(o for o in options if o != "Brain MRI")
    return options, index


def test_every_chosen_distractor_keeps_its_reason() -> None:
    offered = [DistractorNote("EEG", "vocabulary_fit", "eeg"), "Karyotype", "CT scan", "PET-CT"]
    _, _, notes = assemble(
        "Brain MRI", offered, n=4, seed=0, item_id="abc", record_id="PMC1:examination", reason="pool"
    )
    assert notes == (
        DistractorNote("EEG", "vocabulary_fit", "eeg"),
        DistractorNote("Karyotype", "pool"),
        DistractorNote("CT scan", "pool"),
    )


def test_dedupe_and_count() -> None:
    options, index = _assemble(DISTRACTORS)
    assert sorted(options) == sorted(["Brain MRI", "EEG", "CT scan", "Karyotype", "PET-CT"])
    assert options[index] == "Brain MRI"
    assert len(_assemble(DISTRACTORS, n=4)[0]) == 4
    assert len(_assemble(DISTRACTORS, n=10)[0]) == 6  # all there is, still >= 4


def test_forbidden_and_near_duplicates() -> None:
    options, _ = _assemble(DISTRACTORS, forbidden=["karyotype"])
    assert "Karyotype" not in options
    options, _ = _assemble(
        ["EEG", "EEG recording", "CT", "PET"], too_similar=lambda a, b: a.split()[0] == b.split()[0]
    )
    assert "EEG recording" not in options


def test_too_few_distractors() -> None:
    with pytest.raises(RecordError) as err:
        _assemble(["EEG", "eeg", "Brain MRI", "CT"])
    assert err.value.reason == "too_few_distractors" and err.value.record_id == "PMC1:examination"


@pytest.mark.parametrize("n", [3, 11])
def test_option_count_bounds(n: int) -> None:
    with pytest.raises(ValueError):
        _assemble(DISTRACTORS, n=n)
    with pytest.raises(FatalError, match="between 4 and 10"):
        DraftSettings(options=n)


def test_shuffle_is_deterministic_and_seeded() -> None:
    options = ["A", "B", "C", "D", "E"]
    assert shuffle(options, 0, "item1") == shuffle(list(reversed(options)), 0, "item1")
    orders = {tuple(shuffle(options, seed, "item1")) for seed in range(20)}
    assert len(orders) > 5
    per_item = {tuple(shuffle(options, 0, f"item{i}")) for i in range(20)}
    assert len(per_item) > 5
    # the answer does not always land in the same slot
    positions = {_assemble([*DISTRACTORS[:5], f"X{i}"])[1] for i in range(10)} | {
        assemble("Brain MRI", DISTRACTORS, n=5, seed=s, item_id="abc", record_id="r")[1] for s in range(10)
    }
    assert len(positions) > 2


def test_ordered_options_keep_natural_order() -> None:
    markers = [f"Image {k}" for k in (10, 2, 9, 3, 1)]
    options, index, _ = assemble("Image 4", markers, n=6, seed=3, item_id="x", record_id="r", ordered=True)
    assert options == ("Image 1", "Image 2", "Image 3", "Image 4", "Image 9", "Image 10")
    assert index == 3


def test_registry_names_and_did_you_mean() -> None:
    assert available_drafters() == ["llm", "rules"]
    assert set(DRAFTER_VERSIONS) == {"llm", "rules"}
    assert get_drafter("rules").version == DRAFTER_VERSIONS["rules"]
    with pytest.raises(FatalError, match="unknown drafter 'rule'; did you mean 'rules'"):
        get_drafter("rule")
    with pytest.raises(FatalError, match="did you mean 'cross_image'"):
        resolve_tracks(["cross-image"])
    assert resolve_tracks(["treatment", "diagnosis"]) == ("diagnosis", "treatment")
    assert resolve_tracks(None) == ("diagnosis", "examination", "treatment", "cross_image")


def test_item_id_is_content_derived() -> None:
    a = item_id_for("diagnosis", "PMC1", "Fabry disease", "rules-drafter/1")
    assert a == item_id_for("diagnosis", "PMC1", "Fabry disease", "rules-drafter/1") and len(a) == 24
    assert a != item_id_for("diagnosis", "PMC1", "Fabry disease", "rules-drafter/2")
    assert a != item_id_for("treatment", "PMC1", "Fabry disease", "rules-drafter/1")


def _item(**changes: object) -> QAItem:
    fields: dict[str, object] = {
        "item_id": "x" * 24,
        "track": "diagnosis",
        "question_type": "diagnosis",
        "pmcid": "PMC1",
        "question": "What is it?",
        "context": "A boy.",
        "context_sentence_ids": ("PMC1:sec0:p0:s0",),
        "images": (ImageRef(1, "Image 1", "PMC1:F1", "PMC1:F1:g0"),),
        "options": ("A", "B", "C", "D"),
        "answer_index": 2,
        "answer": "C",
        "aliases": (),
        "orpha_code": "ORPHA:1",
        "answer_category": None,
        "evidence_sentence_ids": ("PMC1:sec0:p0:s1",),
        "evidence_figure_ids": ("PMC1:F1",),
        "rationale": "Because.",
        "drafter": "rules",
        "drafter_version": "rules-drafter/1",
        "seed": 0,
    }
    fields.update(changes)
    return QAItem(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"track": "prognosis"},
        {"options": ("A", "B", "c", "C"), "answer_index": 3},
        {"options": ("A", "B", "C")},
        {"answer_index": 1},
        {"images": (ImageRef(2, "Image 2", "PMC1:F1", "PMC1:F1:g0"),)},
        {"evidence_sentence_ids": (), "evidence_figure_ids": ()},
    ],
)
def test_item_invariants(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _item(**changes)


def test_item_rows() -> None:
    item = _item()
    row = item.row()
    assert row["status"] == "draft" and row["n_options"] == 4 and row["options"] == '["A", "B", "C", "D"]'
    assert row["content_sha256"] == item.content_sha256
    assert _item(options=("A", "B", "C", "E")).content_sha256 != item.content_sha256
    assert [(r["kind"], r["ref_id"], r["ordinal"]) for r in item.evidence_rows()] == [
        ("sentence", "PMC1:sec0:p0:s1", 0),
        ("figure", "PMC1:F1", 0),
    ]


def test_a_longer_distractor_goes_first_except_for_one_item_in_n() -> None:
    offered = ["Rickets", "Menkes disease", "Idiopathic juvenile osteoporosis", "Hypophosphatasia"]
    moved = [longer_first("Osteogenesis imperfecta", offered, 5, f"PMC{k}:ORPHA:666") for k in range(200)]
    kept = sum(1 for m in moved if m == offered)
    assert all(m == offered or m[0] == "Idiopathic juvenile osteoporosis" for m in moved)
    assert 20 <= kept <= 60  # about one in five keeps its order (the gold may then be the longest)
    assert longer_first("Autosomal recessive osteogenesis imperfecta", offered, 5, "k") == offered
