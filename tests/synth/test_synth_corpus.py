"""The corpus as a whole: byte-identical re-runs whatever the worker count, resume, refusal to mix
corpora, the layout and the manifest."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from mmrare.errors import FatalError
from mmrare.ontology.index import OrdoIndex
from mmrare.synth import SynthOptions, generate_corpus
from mmrare.synth.ids import is_synthetic_pmcid, synthetic_pmcid

from .synth_support import N_CASES, SEED, Corpus


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output_with_any_worker_count(
    corpus: Corpus, synth_ordo: OrdoIndex, tmp_path: Path
) -> None:
    again = generate_corpus(synth_ordo, SynthOptions(n=N_CASES, out=tmp_path / "again", seed=SEED, workers=2))
    assert again.written == N_CASES
    first, second = tree(corpus.root), tree(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert not any(name.startswith(".") for name in first)  # no temporary folders left behind


def test_another_seed_gives_other_cases(synth_ordo: OrdoIndex, tmp_path: Path) -> None:
    generate_corpus(synth_ordo, SynthOptions(n=2, out=tmp_path / "s8", seed=SEED + 1, workers=1))
    rows = list(csv.DictReader((tmp_path / "s8" / "manifest.tsv").open(encoding="utf-8"), delimiter="\t"))
    assert [r["pmcid"] for r in rows] == [synthetic_pmcid(SEED + 1, 1), synthetic_pmcid(SEED + 1, 2)]


def test_a_smaller_run_is_a_prefix_of_a_larger_one(
    corpus: Corpus, synth_ordo: OrdoIndex, tmp_path: Path
) -> None:
    generate_corpus(synth_ordo, SynthOptions(n=3, out=tmp_path / "small", seed=SEED, workers=1))
    for pmcid in (synthetic_pmcid(SEED, i) for i in (1, 2, 3)):
        assert tree(tmp_path / "small" / pmcid) == tree(corpus.root / pmcid)


def test_resume_writes_only_missing_cases(corpus: Corpus, synth_ordo: OrdoIndex, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus.root, copy)
    shutil.rmtree(copy / synthetic_pmcid(SEED, 5))
    (copy / "manifest.tsv").unlink()
    summary = generate_corpus(synth_ordo, SynthOptions(n=N_CASES, out=copy, seed=SEED, workers=1))
    assert (summary.written, summary.skipped) == (1, N_CASES - 1)
    assert tree(copy) == tree(corpus.root)


def test_a_folder_holding_another_corpus_is_refused(
    corpus: Corpus, synth_ordo: OrdoIndex, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus.root, copy)
    with pytest.raises(FatalError, match="seed"):
        generate_corpus(synth_ordo, SynthOptions(n=2, out=copy, seed=SEED + 100, workers=1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n": 0}, "--n"),
        ({"n": 1, "seed": -1}, "--seed"),
        ({"n": 1, "workers": 0}, "--workers"),
        ({"n": 1, "phenotypes": "omim"}, "--phenotypes"),
    ],
)
def test_bad_options_are_fatal(synth_ordo: OrdoIndex, tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(FatalError, match=message):
        generate_corpus(synth_ordo, SynthOptions(out=tmp_path / "x", **options))


def test_layout_manifest_and_markers(corpus: Corpus) -> None:
    rows = list(csv.DictReader((corpus.root / "manifest.tsv").open(encoding="utf-8"), delimiter="\t"))
    assert [r["pmcid"] for r in rows] == [synthetic_pmcid(SEED, i) for i in range(1, N_CASES + 1)]
    described = json.loads((corpus.root / "corpus.json").read_text(encoding="utf-8"))
    assert described["synthetic"] is True and described["seed"] == SEED and described["n"] == N_CASES
    assert described["ordo"]["version"] == "4.2"
    assert "time" not in json.dumps(described).lower()  # nothing that changes from run to run
    for row in rows:
        folder = corpus.root / row["folder"]
        assert is_synthetic_pmcid(row["pmcid"])
        marker = json.loads((folder / "synthetic.json").read_text(encoding="utf-8"))
        assert marker["mmrare_synthetic"] is True and marker["pmcid"] == row["pmcid"]
        truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
        assert truth["diagnosis"]["orpha_code"] == row["orpha_code"]
        assert 2 <= len(truth["figures"]) <= 6 and int(row["n_figures"]) == len(truth["figures"])
        listed = set(truth["files"]) | {"ground_truth.json"}
        assert {p.name for p in folder.iterdir()} == listed


def test_cases_cover_distinct_rare_disorders(corpus: Corpus, synth_ordo: OrdoIndex) -> None:
    codes = [truth["diagnosis"]["orpha_code"] for _, truth in corpus.cases()]
    assert len(set(codes)) == len(codes)
    for code in codes:
        concept = synth_ordo[code]
        assert concept.level.value == "disorder" and not concept.obsolete and not concept.non_rare


def test_pmcid_scheme() -> None:
    assert synthetic_pmcid(1, 42) == "PMC901000042"
    assert synthetic_pmcid(123, 1) == "PMC923000001"
    assert is_synthetic_pmcid("PMC901000042") and is_synthetic_pmcid("PMC901000042.1")
    assert not is_synthetic_pmcid("PMC6358579") and not is_synthetic_pmcid("PMC12419688")
    with pytest.raises(ValueError):
        synthetic_pmcid(1, 1_000_000)
