"""The build refuses synthetic packages (reason ``synthetic_package``) unless
``selection.allow_synthetic`` is on; real articles are unaffected."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from mmrare.config import FiguresConfig, SelectionConfig, load_config
from mmrare.curation import synthetic
from mmrare.curation.figures import decode_graphic
from mmrare.curation.jats import parse_jats
from mmrare.curation.process import PackageInput, process_package
from mmrare.curation.selection import select_case
from mmrare.synth import ids

from .synth_support import Corpus

PACKAGES = Path(__file__).resolve().parents[3] / "shared" / "pmc" / "packages"


def package_input(folder: Path) -> PackageInput:
    xml = next(folder.glob("*.xml"))
    return PackageInput(folder.name, xml, folder, "local-dir", "0" * 64)


def first_case(corpus: Corpus) -> Path:
    return next(corpus.cases())[0]


def test_marker_names_agree_between_generator_and_curation() -> None:
    assert ids.SYNTHETIC_META_NAME == synthetic.SYNTHETIC_META_NAME
    assert ids.SYNTHETIC_FILE == synthetic.SYNTHETIC_FILE


def test_build_refuses_synthetic_packages_by_default(corpus: Corpus) -> None:
    for folder, _ in corpus.cases():
        result = process_package(package_input(folder), SelectionConfig(), FiguresConfig(), "run-1", "cfg")
        assert (result.outcome, result.stage) == ("rejected", "select")
        rejects = [r for r in result.rows["rejects"] if r["stage"] == "select"]
        assert [r["reason"] for r in rejects] == ["synthetic_package"]
        assert "allow_synthetic" in rejects[0]["detail"]


def test_build_accepts_them_as_multi_image_case_reports_when_allowed(corpus: Corpus) -> None:
    allowed = SelectionConfig(allow_synthetic=True)
    for folder, truth in corpus.cases():
        result = process_package(package_input(folder), allowed, FiguresConfig(), "run-1", "cfg")
        assert result.outcome == "case", result.reason
        (case,) = result.rows["cases"]
        assert case["case_evidence"].startswith("article_type")
        assert case["n_usable_images"] == len(truth["figures"]) and case["multi_image"]


def test_select_case_reads_the_marker(corpus: Corpus) -> None:
    folder = first_case(corpus)
    parsed = parse_jats(folder / f"{folder.name}.xml")
    parsed = dataclasses.replace(parsed, graphics=tuple(decode_graphic(g) for g in parsed.graphics))
    marker = synthetic.synthetic_marker(folder / f"{folder.name}.xml", folder)
    assert marker == "custom-meta"
    assert select_case(parsed, SelectionConfig(), synthetic=marker).reason == "synthetic_package"
    assert select_case(parsed, SelectionConfig(allow_synthetic=True), synthetic=marker).selected


def test_either_marker_is_enough(corpus: Corpus, tmp_path: Path) -> None:
    source = first_case(corpus)
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    xml = folder / f"{folder.name}.xml"
    xml.write_bytes(
        xml.read_bytes().replace(b"<meta-value>true</meta-value>", b"<meta-value>false</meta-value>")
    )
    assert synthetic.synthetic_marker(xml, folder) == "synthetic.json"
    (folder / "synthetic.json").unlink()
    assert synthetic.synthetic_marker(xml, folder) is None


@pytest.mark.parametrize(
    "xml",
    [
        b"<article><front><article-meta/></front><body><p>mmrare-synthetic</p></body></article>",
        b"<article><front><article-meta/></front><sub-article><front-stub><custom-meta-group><custom-meta>"
        b"<meta-name>mmrare-synthetic</meta-name><meta-value>true</meta-value></custom-meta></custom-meta-group>"
        b"</front-stub></sub-article></article>",
        b"<article><front><article-meta><custom-meta-group><custom-meta><meta-name>mmrare-synthetic</meta-name>"
        b"<meta-value>no</meta-value></custom-meta></custom-meta-group></article-meta></front></article>",
        b"<not xml mmrare-synthetic",
    ],
)
def test_only_a_true_marker_in_article_meta_counts(xml: bytes) -> None:
    assert not synthetic.has_synthetic_meta(xml)


def test_real_packages_are_not_synthetic_and_still_selected() -> None:
    for folder in sorted(PACKAGES.glob("PMC63585*")):
        xml = next(folder.glob("*.xml"))
        assert synthetic.synthetic_marker(xml, folder) is None
    result = process_package(
        package_input(PACKAGES / "PMC6358579"), SelectionConfig(), FiguresConfig(), "r", "c"
    )
    assert result.outcome == "case"


def test_allow_synthetic_defaults_off_and_env_turns_it_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "mmrare.toml"
    config.write_text('workspace = "ws"\n', encoding="utf-8")
    assert load_config(config).selection.allow_synthetic is False
    monkeypatch.setenv("MMRARE_SELECTION__ALLOW_SYNTHETIC", "true")
    allowed = load_config(config)
    assert allowed.selection.allow_synthetic is True
    monkeypatch.delenv("MMRARE_SELECTION__ALLOW_SYNTHETIC")
    assert load_config(config).config_hash != allowed.config_hash  # a test build never shares work keys
