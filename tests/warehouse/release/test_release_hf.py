"""Every track config loads with Hugging Face ``datasets`` (offline) and with the evaluation reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmrare.warehouse.release import BuildResult
from mmrare.warehouse.release.schema import COLUMN_NAMES, TRACKS

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hf-cache")


@pytest.mark.parametrize("track", TRACKS)
def test_parquet_config_loads_with_datasets(release: BuildResult, track: str, hf_cache: Path) -> None:
    from datasets import load_dataset

    counts = release.manifest["counts"][track]
    splits = [split for split in ("dev", "test") if counts[split]]  # a one-case track has one split
    files = {split: str(release.root / f"data/{track}/{split}.parquet") for split in splits}
    dataset = load_dataset("parquet", data_files=files, cache_dir=str(hf_cache))
    assert {s: dataset[s].num_rows for s in dataset} == {s: counts[s] for s in splits}
    assert list(dataset["test"].column_names) == list(COLUMN_NAMES)
    row = dataset["test"][0]
    assert row["track"] == track and row["options"][row["answer_index"]] == row["answer"]
    assert row["images"] and set(row["images"][0]) == {
        "position",
        "marker",
        "file",
        "sha256",
        "original_name",
        "figure_id",
    }


def test_release_directory_loads_by_config_name(release: BuildResult, hf_cache: Path) -> None:
    from datasets import load_dataset

    dataset = load_dataset(str(release.root), "diagnosis", cache_dir=str(hf_cache))
    assert (
        dataset["dev"].num_rows + dataset["test"].num_rows == release.manifest["counts"]["diagnosis"]["total"]
    )


def test_release_loads_with_the_evaluation_reader(release: BuildResult, facts) -> None:
    from mmrare.evaluation.release import load_release

    loaded = load_release(release.root)
    assert loaded.version == "1.0.0"
    assert {i.item_id for i in loaded.items} == facts.accepted
    by_id = loaded.by_id()
    edited = by_id[facts.edited]
    assert edited.item_version == 2 and edited.related_concepts and edited.orpha_code
    assert not by_id[facts.flagged].leakage_clean
    for item in loaded.items:
        for im in item.images:
            loaded.verify_file(im.file)
