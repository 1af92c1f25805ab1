"""Dataset-level checks: duplicate images by phash, same-case pairs, near-duplicate contexts, blind solver."""

from __future__ import annotations

from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from mmrare.embedding import EmbeddingCache, VectorIndex
from mmrare.items import ImageRef, QAItem
from mmrare.leakage import (
    DEFAULT_POLICY,
    LeakageInput,
    blind_solve,
    dataset_checks,
    duplicate_images,
    hamming_matrix,
    near_duplicate_contexts,
    same_case_pairs,
)
from mmrare.leakage.dataset import (
    DatasetItem,
    close_pairs_of,
    context_vectors,
)

from .leakage_cases import AIE, PGL, make_item

ABSTRACT = (
    "Autoimmune enteropathy is an uncommon cause of chronic diarrhea rarely seen in adults. The disease is "
    "secondary to an autoimmune process in the gut that leads to villous blunting and subsequent watery "
    "diarrhea, abdominal pain, and severe weight loss."
)


def with_images(item: QAItem, graphic_ids: list[str]) -> QAItem:
    images = tuple(
        ImageRef(n, f"Image {n}", g.rsplit(":", 1)[0], g) for n, g in enumerate(graphic_ids, start=1)
    )
    fields = {f: getattr(item, f) for f in item.__dataclass_fields__}
    return QAItem(**{**fields, "images": images})


def test_duplicate_images_across_cases_by_phash(shared_dir: Path, tmp_path: Path) -> None:
    folder = shared_dir / "pmc" / "packages" / "PMC10802347"
    original = Image.open(folder / "nihpp-2023.12.31.573776v1-f0002.jpg").convert("RGB")
    other = Image.open(folder / "nihpp-2023.12.31.573776v1-f0003.jpg")
    copy = tmp_path / "reposted.jpg"
    original.resize((original.width // 2, original.height // 2)).save(copy, quality=60)  # re-published copy
    ours_g, other_g, theirs_g = f"{AIE}:F1:g0", f"{AIE}:F2:g0", "PMC9999999:F1:g0"
    phashes = {
        ours_g: str(imagehash.phash(original)),
        other_g: str(imagehash.phash(other)),
        theirs_g: str(imagehash.phash(Image.open(copy))),
    }
    context = "Stool studies were negative for infectious pathogens. Her diarrhea persisted."
    options = ["Image 1", "Image 2", "Image 3", "Image 4"]
    ours = with_images(make_item("ours", "cross_image", AIE, context, ["a", "b"], options), [ours_g, other_g])
    theirs = with_images(
        make_item("theirs", "cross_image", "PMC9999999", context, ["a", "b"], options), [theirs_g]
    )
    flags = [f for f in duplicate_images([ours, theirs], phashes, max_distance=4) if f.flagged]
    assert {(f.item_id, f.other_item_id) for f in flags} == {("ours", "theirs"), ("theirs", "ours")}
    assert all(f.score <= 4 for f in flags)
    assert {f.detail["graphic"] for f in flags} == {ours_g, theirs_g}  # the other figure is no duplicate
    assert duplicate_images([ours], phashes, max_distance=4) == []  # one case never duplicates itself


def test_hamming_matrix_matches_imagehash() -> None:
    hashes = ["ffd7918181c9ffff", "ffd7918181c9fffe", "0000000000000000"]
    matrix = hamming_matrix(hashes)
    for i, a in enumerate(hashes):
        for j, b in enumerate(hashes):
            assert matrix[i, j] == imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b)


def test_two_items_of_one_track_from_one_case_are_paired(aie_input: LeakageInput) -> None:
    item = aie_input.item
    twin = QAItem(**{**{f: getattr(item, f) for f in item.__dataclass_fields__}, "item_id": "aie-dx-2"})
    other_track = make_item("aie-tx", "treatment", AIE, "x.", ["a"], ["A", "B", "C", "D"])
    flags = same_case_pairs([item, twin, other_track])
    assert {(f.item_id, f.other_item_id) for f in flags} == {("aie-dx", "aie-dx-2"), ("aie-dx-2", "aie-dx")}


def test_near_identical_contexts_across_cases(cache: EmbeddingCache, aie_input: LeakageInput) -> None:
    item = aie_input.item
    fields = {f: getattr(item, f) for f in item.__dataclass_fields__}
    republished = QAItem(
        **{**fields, "item_id": "copy", "pmcid": "PMC9999999", "context": item.context + " "}
    )
    unrelated = make_item(
        "pgl", "diagnosis", PGL, ABSTRACT.replace("Autoimmune enteropathy", "It"), ["a"], ["A", "B", "C", "D"]
    )
    items = [item, republished, unrelated]
    vectors = context_vectors({i.item_id: i.context for i in items}, cache)
    flags = near_duplicate_contexts(items, vectors, DEFAULT_POLICY.near_duplicate_cosine)
    flagged = {(f.item_id, f.other_item_id) for f in flags if f.flagged}
    assert flagged == {("aie-dx", "copy"), ("copy", "aie-dx")}
    stored = {f.item_id: f for f in flags}
    assert stored["pgl"].score < DEFAULT_POLICY.near_duplicate_cosine  # nearest neighbour stored unflagged


def test_blind_solver_flags_a_context_that_nearly_states_the_answer(cache: EmbeddingCache) -> None:
    options = [
        "Autoimmune enteropathy",
        "Paraganglioma",
        "Myasthenia gravis",
        "Wilson disease",
        "Sarcoidosis",
    ]
    telling = make_item("telling", "diagnosis", AIE, ABSTRACT, ["a", "b"], options)
    neutral_text = "The patient was subjected to surgery for the left tumor resection. She was discharged."
    neutral = make_item(
        "neutral", "cross_image", PGL, neutral_text, ["a", "b"], ["Image 1", "Image 2", "Image 3", "Image 4"]
    )
    report = blind_solve([telling, neutral], None, cache, margin=DEFAULT_POLICY.blind_margin)
    results = {r.item_id: r for r in report.results}
    assert results["telling"].correct and results["telling"].flagged
    assert results["telling"].margin >= DEFAULT_POLICY.blind_margin
    assert not results["neutral"].flagged
    rates = report.by_track()
    assert rates["diagnosis"]["text_answerable_rate"] == 1.0
    assert rates["cross_image"]["text_answerable_rate"] == 0.0
    # the masked context is what counts: with the answer masked out, the same item is no longer flagged
    masked = ABSTRACT.replace("Autoimmune enteropathy", "[MASKED]").replace("autoimmune process", "[MASKED]")
    again = blind_solve([telling], {"telling": masked}, cache, margin=0.25)
    assert again.results[0].margin < results["telling"].margin


def test_dataset_checks_in_one_pass(
    cache: EmbeddingCache, aie_input: LeakageInput, pgl_input: LeakageInput
) -> None:
    report = dataset_checks([aie_input.item, pgl_input.item], cache, DEFAULT_POLICY)
    kinds = {f.flag for f in report.flags}
    assert "text_answerable" in kinds  # the blind solver scores every item, flagged or not
    assert len([f for f in report.flags if f.flag == "text_answerable"]) == 2
    summary = report.summary()
    assert (
        set(summary["blind_solver"]) == {"diagnosis"}
        and summary["blind_margin"] == DEFAULT_POLICY.blind_margin
    )


def test_a_top_up_checks_new_items_against_all(cache: EmbeddingCache, aie_input: LeakageInput) -> None:
    """With ``focus`` (the items new to this run) every flagged pair that involves a new item is found,
    both ways, and nothing is produced about old items among themselves."""
    item = aie_input.item
    fields = {f: getattr(item, f) for f in item.__dataclass_fields__}
    old_copy = QAItem(
        **{**fields, "item_id": "old-copy", "pmcid": "PMC9999998", "context": item.context + " "}
    )
    new_copy = QAItem(
        **{**fields, "item_id": "new-copy", "pmcid": "PMC9999999", "context": " " + item.context}
    )
    unrelated = make_item(
        "pgl", "diagnosis", PGL, ABSTRACT.replace("Autoimmune enteropathy", "It"), ["a"], ["A", "B", "C", "D"]
    )
    items = [item, old_copy, unrelated, new_copy]
    full = dataset_checks(items, cache, DEFAULT_POLICY)
    top_up = dataset_checks(items, cache, DEFAULT_POLICY, focus={"new-copy"})

    def pairs(report, flag):  # type: ignore[no-untyped-def]
        return {(f.item_id, f.other_item_id) for f in report.flags if f.flag == flag and f.flagged}

    involving_new = {p for p in pairs(full, "near_duplicate_context") if "new-copy" in p}
    assert involving_new and pairs(top_up, "near_duplicate_context") == involving_new
    assert {f.item_id for f in top_up.flags if f.flag == "text_answerable"} == {"new-copy"}
    assert all("new-copy" in (f.item_id, f.other_item_id) for f in top_up.flags)


def as_dataset_item(item: QAItem) -> DatasetItem:
    graphics = tuple(ref.graphic_id for ref in item.images)
    return DatasetItem(item.item_id, item.track, item.question_type, item.pmcid, item.context, graphics)


def test_a_top_up_reads_earlier_items_as_records_and_known_vectors(
    cache: EmbeddingCache, aie_input: LeakageInput
) -> None:
    """Earlier items as :class:`DatasetItem` records with their stored context vectors give the flags
    of full drafts recomputed; only the new item's vector is returned for storing."""
    item = aie_input.item
    fields = {f: getattr(item, f) for f in item.__dataclass_fields__}
    old_copy = QAItem(**{**fields, "item_id": "old-copy", "pmcid": "PMC9999998", "context": item.context})
    new = {"item_id": "new-copy", "pmcid": "PMC9999999", "context": " " + item.context}
    items = [item, old_copy, QAItem(**{**fields, **new})]
    new_copy = items[2]
    full = dataset_checks(items, cache, DEFAULT_POLICY, focus={"new-copy"})
    known = context_vectors({i.item_id: i.context for i in items[:2]}, cache)
    light = [as_dataset_item(item), as_dataset_item(old_copy), new_copy]
    top_up = dataset_checks(light, cache, DEFAULT_POLICY, focus={"new-copy"}, known_vectors=known)
    assert top_up.flags == full.flags
    assert set(top_up.vectors) == {"new-copy"}
    assert np.array_equal(top_up.vectors["new-copy"], full.vectors["new-copy"])


def _reference_nearest(queries, corpus, vectors, threshold):  # type: ignore[no-untyped-def]
    """The pre-filter search: every query's hits built from one full ``VectorIndex.search``."""
    index = VectorIndex([c.item_id for c in corpus], np.stack([vectors[c.item_id] for c in corpus]))
    pmcid = {c.item_id: c.pmcid for c in corpus}
    out = []
    found = index.search(np.stack([vectors[q.item_id] for q in queries]), k=20)
    for q, hits in zip(queries, found, strict=True):
        for hit in hits:
            if pmcid[hit.key] == q.pmcid:
                continue
            if round(hit.score, 6) < threshold:
                break
            out.append((q.item_id, hit.key, round(hit.score, 6)))
    return out


def test_earlier_items_searched_among_new_ones_only_where_a_flag_can_come() -> None:
    """Earlier items that reach no new item are skipped, and the rest get the full search's numbers."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=(10, 16)).astype(np.float32)
    items, vectors = [], {}
    for n in range(300):  # items 0-9 are new; every 13th earlier one is close to one of them
        noise = 0.05 if n < 10 or n % 13 == 0 else 3.0
        vec = base[n % 10] + noise * rng.normal(size=16).astype(np.float32)
        vectors[f"i{n:03d}"] = (vec / np.linalg.norm(vec)).astype(np.float32)
        items.append(DatasetItem(f"i{n:03d}", "diagnosis", "diagnosis", f"PMC{n // 2}", "", ()))
    new = {f"i{n:03d}" for n in range(10)}
    flags = near_duplicate_contexts(items, vectors, 0.95, focus=new)
    old_side = [(f.item_id, f.other_item_id, f.score) for f in flags if f.item_id not in new]
    expected = _reference_nearest(
        [i for i in items if i.item_id not in new], [i for i in items if i.item_id in new], vectors, 0.95
    )
    assert expected and old_side == expected


def test_duplicate_images_of_a_top_up_are_the_full_ones_that_involve_it() -> None:
    rng = np.random.default_rng(3)
    phashes, items = {}, []
    for n in range(120):
        graphic = f"PMC{n // 2}:g{n}"
        bits = rng.integers(0, 2**63, dtype=np.int64)
        phashes[graphic] = f"{bits if n % 5 else 12345:016x}"  # every fifth one the same image
        item = make_item(f"it{n}", "cross_image", f"PMC{n // 2}", "x", ["a"], ["A", "B", "C", "D"])
        items.append(with_images(item, [graphic]))
    focus = {f"it{n}" for n in (5, 6, 50, 51, 99)}
    full = [f for f in duplicate_images(items, phashes, 4) if f.item_id in focus or f.other_item_id in focus]
    assert full and duplicate_images(items, phashes, 4, focus=focus) == full
    assert close_pairs_of(["0f", "0e", "f0"], [2], 8) == [(0, 2, 8), (1, 2, 7)]
