"""`mmrare ontology map` on real case text, against the full ORDO 4.2 (cache in tmp)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from mmrare.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
pytestmark = pytest.mark.slow


def _body_text(package: Path) -> str:
    xml = next(package.glob("*.xml"))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(xml), parser).getroot()
    return " ".join(" ".join(p.itertext()) for p in root.iter("{*}p"))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MMRARE_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


def test_map_prints_the_case_diagnosis_as_json(workspace: Path, shared_dir: Path, tmp_path: Path) -> None:
    text = tmp_path / "case.txt"
    text.write_text(_body_text(shared_dir / "pmc" / "packages" / "PMC6358579"), encoding="utf-8")
    result = runner.invoke(
        app, ["ontology", "map", "--text-file", str(text), "--json", "--config", str(REPO / "mmrare.toml")]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["code"] == "ORPHA:522037"
    assert out["evidence"] and all(e["text"] for e in out["evidence"])
    assert out["ordo_version"] == "4.2" and len(out["ordo_sha256"]) == 64
    assert any(m["text"] == "AIE" for m in out["mentions"])


def test_map_negated_and_non_rare_text_gives_no_diagnosis(workspace: Path, tmp_path: Path) -> None:
    text = tmp_path / "case.txt"
    text.write_text("Wilson disease was ruled out. The patient had celiac disease.", encoding="utf-8")
    result = runner.invoke(
        app, ["ontology", "map", "--text-file", str(text), "--json", "--config", str(REPO / "mmrare.toml")]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["code"] is None
    wilson = [m for m in out["mentions"] if m["code"] == "ORPHA:905"]
    assert wilson and wilson[0]["negated"]


def test_map_unreadable_file_is_one_line_error(workspace: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    result = runner.invoke(app, ["ontology", "map", "--text-file", str(missing)])
    assert result.exit_code == 2
    assert "nope.txt" in result.output
