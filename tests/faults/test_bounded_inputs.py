"""One oversized article is that article's reject, never the workspace's end (issue: a 50 MB
article parsed into 570k sentences, the link stage then failed on it, and every later build failed
the same way while the good packages were never linked)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from cli_run import ORDO, SHARED, run_mmrare

from mmrare.config import SelectionConfig, load_config

PACKAGES = SHARED / "pmc" / "packages"


def _padded_copy(src: Path, dest: Path, paragraphs: int, words: int = 8) -> Path:
    """A copy of a real package whose body gains ``paragraphs`` short paragraphs of one sentence."""
    shutil.copytree(src, dest)
    xml = next(dest.glob("*.xml"))
    text = xml.read_text(encoding="utf-8")
    filler = "".join(
        f"<p>Paragraph {i} says the patient was seen again {' and again' * words}.</p>\n"
        for i in range(paragraphs)
    )
    padded = text.replace("</body>", f"<sec><title>More</title>{filler}</sec></body>", 1)
    xml.write_text(padded, encoding="utf-8")
    return xml


def test_the_default_limits_fit_every_real_article() -> None:
    limits = SelectionConfig()
    biggest = max(p.stat().st_size for p in PACKAGES.glob("*/*.xml"))
    assert biggest * 10 < limits.max_article_bytes


@pytest.mark.slow
def test_oversized_articles_are_rejected_and_the_good_one_is_built(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(PACKAGES / "PMC7500000", src / "PMC7500000")
    huge = _padded_copy(PACKAGES / "PMC6358579", src / "huge", paragraphs=260_000)  # > 20 MB
    assert huge.stat().st_size > SelectionConfig().max_article_bytes
    _padded_copy(PACKAGES / "PMC6358580", src / "long", paragraphs=400, words=1)  # > max_sentences
    config = tmp_path / "mmrare.toml"
    config.write_text(
        f'workspace = "{tmp_path / "ws"}"\n[sources]\nlocal_dirs = ["{src}"]\n'
        f'[selection]\nmax_sentences = 300\n'
        f'[ontology]\nordo_path = "{ORDO}"\n'
    )
    for _ in range(2):  # and a second build is not stuck on them either
        result = run_mmrare(config, "build", "--no-progress", timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        rejects = con.execute(
            "SELECT DISTINCT reason, detail FROM rejects WHERE stage = 'parse' ORDER BY detail"
        ).fetchall()
        cases = [r[0] for r in con.execute("SELECT pmcid FROM cases").fetchall()]
        linked = con.execute("SELECT count(*) FROM case_diagnoses").fetchone()[0]
    finally:
        con.close()
    assert [r[0] for r in rejects] == ["too_large", "too_large"]
    assert "over max_sentences" in rejects[0][1] and "over max_article_bytes" in rejects[1][1]
    assert cases == ["PMC7500000"] and linked == 1
