"""`mmrare leakage mask`: any text, masked for an ORDO answer with the real encoder and ORDO 4.2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrare.cli import app

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

TEXT = (
    "A 46-year-old woman presented with 20 years of watery diarrhea. "
    "Biopsies showed villous blunting and absent goblet cells. "
    "She was diagnosed with autoimmune enteropathy (AIE). "
    "AIE was treated with prednisone."
)


def test_mask_hides_label_synonyms_and_defined_abbreviations(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MMRARE_WORKSPACE", str(tmp_path / "ws"))
    text = tmp_path / "case.txt"
    text.write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["leakage", "mask", "--text-file", str(text), "--answer", "ORPHA:522037", "--track", "diagnosis",
         "--json", "--config", str(REPO / "mmrare.toml")],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["code"] == "ORPHA:522037"
    masked = out["masked_text"]
    assert "autoimmune enteropathy" not in masked.casefold()
    assert "AIE" not in masked
    assert "villous blunting" in masked  # the evidence a model needs stays
    assert out["model_sha256"] and out["policy_version"].startswith("leakage-policy/")


def test_mask_unknown_code_is_one_line_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MMRARE_WORKSPACE", str(tmp_path / "ws"))
    text = tmp_path / "case.txt"
    text.write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["leakage", "mask", "--text-file", str(text), "--answer", "ORPHA:999999999",
              "--config", str(REPO / "mmrare.toml")],
    )
    assert result.exit_code == 2
    assert "ORPHA:999999999 is not in ORDO" in result.output
