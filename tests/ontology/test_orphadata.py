"""Orphadata product 9 (prevalence) enrichment: the real excerpt, hardening, rejects, rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.errors import FatalError
from mmrare.ontology.orphadata import Prevalence, parse_prevalence, prevalence_rows
from mmrare.warehouse.db import connect

PREVALENCE_XML = (
    Path(__file__).resolve().parents[3] / "shared" / "ordo" / "orphadata" / "en_product9_prev.xml"
)
MED_MACROCEPHALY = "ORPHA:166024"  # the one disorder in the excerpt

_ONE_DISORDER = """<?xml version="1.0" encoding="UTF-8"?>
<JDBOR date="2025-12-09 07:06:32" version="test">
  <DisorderList count="2">
    <Disorder id="1">
      <Name lang="en">No code here</Name>
      <PrevalenceList count="1"><Prevalence id="1"><ValMoy>1.0</ValMoy></Prevalence></PrevalenceList>
    </Disorder>
    <Disorder id="2">
      <OrphaCode>558</OrphaCode>
      <PrevalenceList count="2">
        <Prevalence id="10"><ValMoy>not a number</ValMoy></Prevalence>
        <Prevalence id="11">
          <PrevalenceType id="23669"><Name lang="en">Point prevalence</Name></PrevalenceType>
          <PrevalenceClass id="23760"><Name lang="en">1-5 / 10 000</Name></PrevalenceClass>
          <ValMoy>15.0</ValMoy>
        </Prevalence>
      </PrevalenceList>
    </Disorder>
  </DisorderList>
</JDBOR>
"""


def test_real_excerpt_gives_typed_records() -> None:
    parsed = parse_prevalence(PREVALENCE_XML)
    assert parsed.release.date == "2025-12-09 07:06:32"
    assert parsed.release.version == "1.3.42 / 4.1.8 [2025-03-03]"
    assert len(parsed.release.sha256) == 64 and parsed.release.source_name == PREVALENCE_XML.name
    assert parsed.rejects == ()
    cases, point = parsed.records
    assert cases == Prevalence(
        code=MED_MACROCEPHALY,
        prevalence_id="8322",
        prevalence_type="Cases/families",
        qualification="Case(s)",
        prevalence_class=None,
        mean_value=4.0,
        geographic="Worldwide",
        validation_status="Validated",
        source="11389160[PMID]_9689990[PMID]_ [EXPERT]",
    )
    assert (point.prevalence_type, point.prevalence_class, point.qualification) == (
        "Point prevalence",
        "<1 / 1 000 000",
        "Class only",
    )


def test_incomplete_entries_become_rejects_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "prev.xml"
    path.write_text(_ONE_DISORDER, encoding="utf-8")
    parsed = parse_prevalence(path)
    assert [(r.record_id, r.reason) for r in parsed.rejects] == [
        ("prev.xml:Disorder[0]", "missing_orpha_code"),
        ("ORPHA:558:10", "bad_mean_value"),
    ]
    (kept,) = parsed.records
    assert (kept.code, kept.prevalence_id, kept.mean_value, kept.geographic) == (
        "ORPHA:558",
        "11",
        15.0,
        None,
    )


def test_rows_fit_the_migration_and_reload_is_idempotent(tmp_path: Path) -> None:
    rows = list(prevalence_rows(parse_prevalence(PREVALENCE_XML)))
    con = connect(tmp_path / "w.duckdb")
    columns = list(rows[0])
    placeholders = ", ".join("?" * len(columns))
    sql = f"INSERT OR IGNORE INTO ordo_prevalence ({', '.join(columns)}) VALUES ({placeholders})"
    for _ in range(2):
        con.executemany(sql, [[r[c] for c in columns] for r in rows])
    assert con.execute("SELECT count(*) FROM ordo_prevalence").fetchone()[0] == 2
    assert con.execute("SELECT mean_value FROM ordo_prevalence WHERE prevalence_id = '8322'").fetchone() == (
        4.0,
    )


def test_entities_and_doctype_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE JDBOR [<!ENTITY x "expanded">'
        '<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n'
        "<JDBOR><DisorderList><Disorder><OrphaCode>1</OrphaCode>"
        '<PrevalenceList><Prevalence id="1"><Source>&x;&ext;</Source></Prevalence></PrevalenceList>'
        "</Disorder></DisorderList></JDBOR>",
        encoding="utf-8",
    )
    with pytest.raises(FatalError, match="DOCTYPE"):
        parse_prevalence(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.xml", None, "cannot read"),
        ("broken.xml", "<JDBOR><DisorderList>", "not well-formed"),
        ("other.xml", "<html><body/></html>", "not an Orphadata"),
    ],
)
def test_bad_files_are_fatal(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(FatalError, match=message) as excinfo:
        parse_prevalence(path)
    assert str(path) in str(excinfo.value) and "\n" not in str(excinfo.value)
