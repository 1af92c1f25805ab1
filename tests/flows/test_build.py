"""End-to-end ``mmrare build`` as a real Prefect flow run on real sample files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from mmrare.config import load_config

pytestmark = pytest.mark.slow


def _build(config: Path) -> dict:
    from mmrare.flows.build import run_build_flow

    return run_build_flow(str(config), workers=2, show_progress=False)


def _manifest(shared: Path) -> list[dict[str, str]]:
    with (shared / "pmc" / "MANIFEST.tsv").open() as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_sample_build_then_rebuild_adds_nothing(
    prefect_harness, write_config, shared_dir: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "mmrare.toml", tmp_path / "ws", [shared_dir / "pmc"])
    first = _build(config)
    manifest = _manifest(shared_dir)
    case_reports = {r["pmcid"] for r in manifest if r["is_case_report"] == "1"}
    assert first["discovered"] == len(manifest) == 57
    assert first["processed"] == 57

    db = load_config(config).warehouse_path
    con = duckdb.connect(str(db), read_only=True)
    cases = {r[0] for r in con.execute("SELECT pmcid FROM cases").fetchall()}
    selected_or_rejected = cases | {
        r[0] for r in con.execute("SELECT record_id FROM rejects WHERE stage = 'select'").fetchall()
    }
    # every case report is a case or a reject with a reason; every other article is a non-case reject
    assert case_reports <= selected_or_rejected
    non_case = con.execute(
        "SELECT count(*) FROM rejects"
        " WHERE stage = 'select' AND reason IN ('not_case_report', 'retraction_notice')"
    ).fetchone()[0]
    assert non_case == 57 - len(case_reports)
    assert cases == case_reports  # all seven are licensed CC BY / CC BY-NC-ND with decodable files
    flagged = dict(con.execute("SELECT pmcid, licence_flagged FROM cases").fetchall())
    assert flagged["PMC6358579"] is True and flagged["PMC7500000"] is False
    mentions = con.execute("SELECT count(*) FROM figure_mentions WHERE pmcid = 'PMC6358579'").fetchone()[0]
    assert mentions >= 4
    # link stage: the three rare cases map to the reference code (or an accepted parent/child),
    # the four others get no diagnosis and a 'link' reject with the reason
    diagnoses = dict(con.execute("SELECT pmcid, code FROM case_diagnoses").fetchall())
    assert set(diagnoses) == case_reports
    accepted = {
        "PMC6358579": {"ORPHA:522037"},
        "PMC6358580": {"ORPHA:485631", "ORPHA:79301"},
        "PMC7500000": {"ORPHA:94080", "ORPHA:573163"},
    }
    for row in manifest:
        if row["pmcid"] in accepted:
            assert row["orpha_code"] in accepted[row["pmcid"]]
            assert diagnoses[row["pmcid"]] in accepted[row["pmcid"]], row["pmcid"]
        elif row["pmcid"] in case_reports:
            assert diagnoses[row["pmcid"]] is None, row["pmcid"]
    link_rejects = {
        r[0] for r in con.execute("SELECT record_id FROM rejects WHERE stage = 'link'").fetchall()
    }
    assert link_rejects == case_reports - set(accepted)
    assert first["stages"]["link"]["diagnosed"] == 3
    assert con.execute("SELECT count(DISTINCT ordo_sha256) FROM ordo_concepts").fetchone()[0] == 1
    counts_before = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in (
            "articles", "sentences", "figures", "cases", "rejects", "source_files",
            "case_diagnoses", "disease_mentions", "ordo_concepts",
        )
    }
    con.close()

    second = _build(config)
    assert second["processed"] == 0 and second["skipped_done"] == 57
    assert second["stages"]["link"]["linked"] == 0 and second["stages"]["link"]["skipped_done"] == 7
    assert second["rows_added"] == {}
    con = duckdb.connect(str(db), read_only=True)
    for table, n in counts_before.items():
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n, table
    runs = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
    assert runs == [("completed",), ("completed",)]
    con.close()


def test_bad_input_is_rejected_and_the_rest_goes_on(
    prefect_harness, write_config, shared_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    good = src / "PMC6358579"
    shutil.copytree(shared_dir / "pmc" / "packages" / "PMC6358579", good)
    truncated = good / "CG-CGCR180082F002.jpg"
    truncated.write_bytes(truncated.read_bytes()[:300])
    broken = src / "broken"
    broken.mkdir()
    (broken / "broken.xml").write_text("<article><front><article-meta>unclosed")
    config = write_config(tmp_path / "mmrare.toml", tmp_path / "ws", [src])

    result = _build(config)
    assert result["processed"] == 2 and result["cases"] == 1
    assert any("broken.xml" in line and "malformed_xml" in line for line in result["reject_lines"])

    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    rejects = con.execute("SELECT stage, reason, record_id, detail FROM rejects ORDER BY stage").fetchall()
    stages = {(stage, reason) for stage, reason, _, _ in rejects}
    assert ("parse", "malformed_xml") in stages
    assert ("figures", "undecodable_image") in stages
    case = con.execute("SELECT n_figures, n_usable_images, multi_image FROM cases").fetchone()
    assert case == (4, 3, True)
    con.close()
