"""JATS parsing: every shared PMC file, the manifest, and small inline documents for the edge cases."""

from __future__ import annotations

import csv
import functools
import hashlib
import re
from pathlib import Path

import pytest

from mmrare.curation.jats import parse_jats, parse_jats_bytes
from mmrare.errors import RecordError
from mmrare.records import ParsedArticle, SectionRole
from mmrare.versions import PARSER_VERSION

SHARED = Path(__file__).resolve().parents[3] / "shared"
PMC = SHARED / "pmc"
ALL_FILES = sorted(
    p for pattern in ("packages/*/*.xml", "packages/*/*.nxml", "articles/*.xml", "articles/*.nxml")
    for p in PMC.glob(pattern)
)
MANIFEST = list(csv.DictReader((PMC / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))

NAMESPACES = 'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:mml="http://www.w3.org/1998/Math/MathML"'


@functools.cache
def parsed(path: Path) -> ParsedArticle:
    """Each shared file is parsed once per test session."""
    return parse_jats(path)


def jats(body: str = "", *, front: str = "", extra: str = "", article_id: str = "PMC999") -> bytes:
    """A minimal JATS document around the given body, extra article-meta content and trailing parts."""
    ids = f'<article-id pub-id-type="pmc">{article_id}</article-id>' if article_id else ""
    return (
        f'<article {NAMESPACES} article-type="case-report"><front><article-meta>{ids}'
        f"<title-group><article-title>Title</article-title></title-group>{front}</article-meta></front>"
        f"<body>{body}</body>{extra}</article>"
    ).encode()


def manifest_licence(value: str) -> str | None:
    """The manifest's "CC BY-NC-ND 4.0" / "PD-mark" / "CC BY (from text)" as an SPDX-like id."""
    value = value.removesuffix(" (from text)")
    if value == "PD-mark":
        return "PDM-1.0"
    if value.startswith("CC"):
        return value.replace(" ", "-")
    return None  # "", "OA (no CC license found)": nothing to compare


# --------------------------------------------------------------------------- every shared file


def test_all_manifest_files_are_found() -> None:
    assert {str(p.relative_to(SHARED)) for p in ALL_FILES} == {row["path"] for row in MANIFEST}
    assert len(ALL_FILES) == 57


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_shared_file_parses_into_consistent_records(path: Path) -> None:
    result = parsed(path)
    article = result.article
    assert re.fullmatch(r"PMC\d+", article.pmcid)
    assert article.xml_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert article.parser_version == PARSER_VERSION
    assert article.source_path == str(path)
    assert article.version >= 1
    assert article.title

    section_ids = [s.section_id for s in result.sections]
    assert len(set(section_ids)) == len(section_ids)
    assert [s.ordinal for s in result.sections] == list(range(len(result.sections)))
    by_id = {s.section_id: s for s in result.sections}
    for section in result.sections:
        assert section.parent_id is None or section_ids.index(section.parent_id) < section.ordinal
        assert section.depth == (0 if section.parent_id is None else by_id[section.parent_id].depth + 1)
        assert "\\documentclass" not in section.text  # MathML preferred over PMC's LaTeX files
        assert "  " not in section.text.replace("\n\n", "")

    assert [s.ordinal for s in result.sentences] == list(range(len(result.sentences)))
    assert len({s.sentence_id for s in result.sentences}) == len(result.sentences)
    for sentence in result.sentences:
        assert by_id[sentence.section_id].text[sentence.start:sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip() != ""
        suffix = f":p{sentence.paragraph_index}:s{sentence.sentence_index}"
        assert sentence.sentence_id == sentence.section_id + suffix

    figure_ids = [f.figure_id for f in result.figures]
    assert len(set(figure_ids)) == len(figure_ids)
    assert all(f.figure_id.startswith(f"{article.pmcid}:") for f in result.figures)
    assert len({g.graphic_id for g in result.graphics}) == len(result.graphics)
    assert {g.figure_id for g in result.graphics} <= set(figure_ids)
    assert all(g.status == "unchecked" and g.sha256 is None for g in result.graphics)
    sentence_ids = {s.sentence_id for s in result.sentences}
    for mention in result.mentions:
        assert mention.sentence_id in sentence_ids
        assert mention.figure_id in figure_ids
    assert len({(m.sentence_id, m.figure_id, m.xref_text) for m in result.mentions}) == len(result.mentions)
    assert len({t.table_id for t in result.tables}) == len(result.tables)


@pytest.mark.parametrize("row", MANIFEST, ids=lambda r: r["pmcid"])
def test_outputs_match_the_manifest(row: dict[str, str]) -> None:
    article = parsed(SHARED / row["path"]).article
    result = parsed(SHARED / row["path"])
    assert article.pmcid == row["pmcid"]
    assert article.article_type == row["article_type"]
    assert len(result.figures) == int(row["n_fig"])
    assert article.pmid == (row["pmid"] or None)
    assert article.doi == (row["doi"] or None)
    expected_licence = manifest_licence(row["license"])
    if expected_licence is not None:
        assert article.licence == expected_licence


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("articles/pubmedclient_PMC9000000.xml", "unknown"),  # COVID-19 "PMC OA subset" statement, no CC
        ("articles/pubmedparser_6605965a.nxml", "unknown"),  # copyright only
        ("articles/sibils_PMC2386533.xml", "unknown"),
        # NLM 2.3 PLoS ONE: no <license>; the CC-BY sentence is in <copyright-statement> (manifest: blank)
        ("articles/pubmedparser_pone.0000217.nxml", "CC-BY"),
    ],
)
def test_licence_of_files_without_cc_markup(name: str, expected: str) -> None:
    assert parsed(PMC / name).article.licence == expected


def test_case_report_package_pmc6358579() -> None:
    result = parsed(PMC / "packages/PMC6358579/PMC6358579.xml")
    article = result.article
    assert (article.pmcid, article.version, article.doi, article.year) == (
        "PMC6358579", 1, "10.14309/crj.2018.92", 2018)
    assert article.journal == "ACG Case Reports Journal"
    assert article.subjects == ("Case Report", "Small Bowel")
    assert article.licence_url == "http://creativecommons.org/licenses/by-nc-nd/4.0/"
    assert [(s.title, s.role) for s in result.sections] == [
        ("", SectionRole.ABSTRACT),
        ("Introduction", SectionRole.BACKGROUND),
        ("Case Report", SectionRole.CASE_PRESENTATION),
        ("Discussion", SectionRole.DISCUSSION),
        ("Disclosures", SectionRole.OTHER),
    ]
    assert [f.figure_id for f in result.figures] == [f"PMC6358579:F{i}" for i in range(1, 5)]
    assert [f.label for f in result.figures] == [f"Figure {i}" for i in range(1, 5)]
    assert result.figures[0].caption_text.startswith("Endoscopic picture from colonoscopy in 2016")
    assert len(result.graphics) == 4
    for i, graphic in enumerate(result.graphics, start=1):
        assert graphic.figure_id == f"PMC6358579:F{i}"
        assert graphic.graphic_id == f"PMC6358579:F{i}:g0"
        assert graphic.href == f"CG-CGCR180082F00{i}"
        assert graphic.path == str(PMC / f"packages/PMC6358579/CG-CGCR180082F00{i}.jpg")
    # The case-report section's text has no caption text from the figures floating between its paragraphs.
    case = result.sections[2]
    assert "Endoscopic picture" not in case.text
    assert case.text.count("\n\n") == 1
    mentioned = {m.figure_id: m for m in result.mentions}
    assert set(mentioned) == {f"PMC6358579:F{i}" for i in range(1, 5)}
    sentences = {s.sentence_id: s for s in result.sentences}
    for figure_id, mention in mentioned.items():
        assert mention.xref_text == f"Figure {figure_id[-1]}"
        assert mention.xref_text in sentences[mention.sentence_id].text
    # "(Figure 3, Figure 4)" sits in one sentence.
    assert mentioned["PMC6358579:F3"].sentence_id == mentioned["PMC6358579:F4"].sentence_id


def test_full_size_image_is_preferred_over_gif_thumbnail() -> None:
    package = PMC / "packages/PMC10802347"
    result = parsed(package / "nihpp-2023.12.31.573776v1.nxml")
    paths = [g.path for g in result.graphics]
    assert paths == [
        str(package / "nihpp-2023.12.31.573776v1-f0001.gif"),  # the package has no .jpg for figure 1
        str(package / "nihpp-2023.12.31.573776v1-f0002.jpg"),
        str(package / "nihpp-2023.12.31.573776v1-f0003.jpg"),
        str(package / "nihpp-2023.12.31.573776v1-f0004.jpg"),
    ]
    plant_cell = parsed(PMC / "packages/PMC12419688/koaf197.nxml")
    assert [g.path for g in plant_cell.graphics] == [str(PMC / "packages/PMC12419688/koaf197f1.jpg")]


def test_oai_pmh_wrapped_jats_with_default_namespace() -> None:
    result = parsed(PMC / "packages/PMC7500000/PMC7500000.xml")
    article = result.article
    assert (article.pmcid, article.pmid, article.year, article.journal) == (
        "PMC7500000", "32948182", 2020, "BMC Medical Genomics")
    assert article.title == "Multiple paragangliomas: a case report"
    assert "Case Report" in article.subjects
    assert "SDHx" in article.keywords
    roles = [s.role for s in result.sections]
    assert roles[:4] == [SectionRole.ABSTRACT] * 4  # structured abstract and its parts
    assert SectionRole.CASE_PRESENTATION in roles
    assert all(g.path and g.path.endswith("_HTML.jpg") for g in result.graphics)


def test_article_without_body_has_no_sections_but_keeps_front_matter() -> None:
    result = parsed(PMC / "articles/pubmedclient_PMC10000000.xml")  # scanned 19th-century page images
    assert result.sections == () and result.figures == ()
    assert result.article.licence == "PDM-1.0"


def test_sub_articles_are_not_parsed() -> None:
    result = parsed(PMC / "articles/pubmedclient_PMC10618641.xml")  # F1000 article + 12 referee reports
    assert not any("referee" in s.title.lower() or "reviewer" in s.title.lower() for s in result.sections)
    sub_article = jats(
        "<p>Main text.</p>",
        extra='<sub-article id="r1"><front-stub><title-group><article-title>Review</article-title>'
              '</title-group></front-stub><body><p>Reviewer text.</p><fig id="rf1"><caption>'
              "<p>Reply figure</p></caption></fig></body></sub-article>",
    )
    result = parse_jats_bytes(sub_article, "inline", None)
    assert [s.text for s in result.sections] == ["Main text."]
    assert result.figures == ()


def test_parsing_is_deterministic() -> None:
    path = PMC / "packages/PMC6358576/PMC6358576.xml"
    assert parse_jats(path) == parse_jats(path)


# --------------------------------------------------------------------------- front matter


def test_missing_pmcid_gives_stable_source_id() -> None:
    data = jats("<p>Text.</p>", article_id="")
    result = parse_jats_bytes(data, "inline", None)
    assert result.article.pmcid == "SRC-" + hashlib.sha256(data).hexdigest()[:16]
    assert result.sections[0].section_id == f"{result.article.pmcid}:sec0"


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ('<article-id pub-id-type="pmcid">PMC7500000</article-id>', ("PMC7500000", 1)),
        ('<article-id pub-id-type="pmcid">6358576</article-id>', ("PMC6358576", 1)),
        ('<article-id pub-id-type="pmc">3166277</article-id>', ("PMC3166277", 1)),
        ('<article-id pub-id-type="pmcid">PMC123.2</article-id>', ("PMC123", 2)),
        ('<article-id pub-id-type="pmcid">PMC123</article-id><article-id pub-id-type="pmcid-ver">PMC123.3'
         "</article-id>", ("PMC123", 3)),
        ('<article-id pub-id-type="pmc">55</article-id><article-version-alternatives><article-version '
         'article-version-type="status">preprint</article-version><article-version article-version-type='
         '"number">4</article-version></article-version-alternatives>', ("PMC55", 4)),
    ],
)
def test_pmcid_and_version(ids: str, expected: tuple[str, int]) -> None:
    result = parse_jats_bytes(jats("<p>x</p>", article_id="", front=ids), "inline", None)
    assert (result.article.pmcid, result.article.version) == expected


def test_year_prefers_epub_then_ppub_then_collection() -> None:
    front = ('<pub-date pub-type="collection"><year>2017</year></pub-date><pub-date pub-type="epub"/>'
             '<pub-date pub-type="ppub"><year>2019</year></pub-date>')
    assert parse_jats_bytes(jats(front=front), "inline", None).article.year == 2019
    jats_1_3 = '<pub-date date-type="pub" publication-format="electronic" iso-8601-date="2023-07-28"/>'
    assert parse_jats_bytes(jats(front=jats_1_3), "inline", None).article.year == 2023


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # epub to the day beats the collection year; both <history> dates kept
        ("packages/PMC7500000/PMC7500000.xml",
         ("2020-09-18", "epub", 2020, {"received": "2020-07-27", "accepted": "2020-08-31"})),
        ("packages/PMC6358580/PMC6358580.xml",
         ("2018-12-05", "epub", 2018, {"received": "2017-11-03", "accepted": "2018-02-02"})),
        # only a print date to the month, no history: the month is kept, no day is made up
        ("articles/pubmedclient_PMC10000000.xml", ("1867-01", "ppub", 1867, {})),
        # JATS 1.1 date-type="pub" + publication-format="electronic" is the epub; the collection has a season
        ("articles/pubmedclient_PMC10653940.xml",
         ("2023-09-05", "epub", 2023, {"received": "2023-05-09", "accepted": "2023-06-29"})),
        # a revision date is a history date of its own kind
        ("articles/pubmedclient_PMC9000000.xml",
         ("2022-04-11", "epub", 2022, {"received": "2021-03-31", "rev-recd": "2021-09-20",
                                       "accepted": "2022-01-17"})),
    ],
    ids=lambda v: Path(v).name if isinstance(v, str) else "",
)  # fmt: skip
def test_publication_and_history_dates_of_real_files(
    path: str, expected: tuple[str, str, int, dict[str, str]]
) -> None:
    article = parsed(PMC / path).article
    assert (article.pub_date, article.pub_date_type, article.year, article.history_dates) == expected


def test_year_only_date_keeps_year_precision() -> None:
    """A real file with its month and day taken out: the year alone, never "2020-01-01"."""
    data = (PMC / "packages/PMC7500000/PMC7500000.xml").read_bytes()
    data = re.sub(rb"<pub-date pub-type=\"(epub|pmc-release)\">.*?</pub-date>", b"", data, flags=re.S)
    article = parse_jats_bytes(data, "inline", None).article
    assert (article.pub_date, article.pub_date_type, article.year) == ("2020", "collection", 2020)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("<day>31</day><month>6</month><year>2019</year>", "2019-06"),  # no 31 June: the month stays
        ("<month>Sept</month><year>2019</year>", "2019-09"),
        ("<month>13</month><year>2019</year>", "2019"),
        ("<season>Sep-Oct</season><year>2019</year>", "2019"),
        ("<day>5</day><year>2019</year>", "2019"),  # a day without a month says nothing
        ("", None),
    ],
)
def test_date_parts_that_make_no_date_are_dropped_not_guessed(date: str, expected: str | None) -> None:
    front = f'<pub-date pub-type="epub">{date}</pub-date>'
    assert parse_jats_bytes(jats(front=front), "inline", None).article.pub_date == expected


def test_history_dates_from_iso_attribute_and_first_of_each_kind() -> None:
    front = ('<history><date date-type="received" iso-8601-date="2022-12-13"/>'
             '<date date-type="received"><year>2021</year></date>'
             '<date><day>1</day><month>1</month><year>2020</year></date>'
             '<date date-type="Accepted"><month>2</month><year>2023</year></date></history>')
    article = parse_jats_bytes(jats(front=front), "inline", None).article
    assert article.history_dates == {"received": "2022-12-13", "accepted": "2023-02"}
    assert article.pub_date is None and article.year is None


def test_title_flattens_inline_markup() -> None:
    data = jats().replace(b"<article-title>Title</article-title>",
                          b"<article-title>Fabry <italic>GLA</italic> variant in a 3<sup>rd</sup>\n  case"
                          b"</article-title>")
    assert parse_jats_bytes(data, "inline", None).article.title == "Fabry GLA variant in a 3rd case"


# --------------------------------------------------------------------------- sections and text


def test_sections_depth_first_with_own_paragraphs_only() -> None:
    body = (
        "<p>Loose opening paragraph.</p>"
        "<sec><title>Case presentation</title><p>A 5-year-old boy.</p>"
        "<sec><title>Laboratory findings</title><p>CK was 5000 U/L.</p></sec>"
        "<sec><title>Further notes</title><p>Nothing else.</p></sec>"
        "<p>He was discharged.</p></sec>"
        "<sec sec-type=\"discussion\"><title>Discussion</title><p>Rare.</p></sec>"
    )
    front = "<abstract><p>Short abstract.</p></abstract>"
    result = parse_jats_bytes(jats(body, front=front, extra="<back><ack><p>Thanks.</p></ack></back>"),
                              "inline", None)
    summary = [(s.section_id, s.parent_id, s.depth, s.title, s.role, s.text) for s in result.sections]
    assert summary == [
        ("PMC999:sec0", None, 0, "", SectionRole.ABSTRACT, "Short abstract."),
        ("PMC999:sec1", None, 0, "", SectionRole.OTHER, "Loose opening paragraph."),
        ("PMC999:sec2", None, 0, "Case presentation", SectionRole.CASE_PRESENTATION,
         "A 5-year-old boy.\n\nHe was discharged."),
        ("PMC999:sec3", "PMC999:sec2", 1, "Laboratory findings", SectionRole.INVESTIGATIONS,
         "CK was 5000 U/L."),
        ("PMC999:sec4", "PMC999:sec2", 1, "Further notes", SectionRole.CASE_PRESENTATION, "Nothing else."),
        ("PMC999:sec5", None, 0, "Discussion", SectionRole.DISCUSSION, "Rare."),
    ]
    second = [s for s in result.sentences if s.section_id == "PMC999:sec2"]
    assert [(s.sentence_id, s.start, s.end, s.ordinal) for s in second] == [
        ("PMC999:sec2:p0:s0", 0, 17, 2),
        ("PMC999:sec2:p1:s0", 19, 37, 3),
    ]


def test_paragraph_text_keeps_inline_markup_and_drops_embedded_floats() -> None:
    body = (
        "<sec><title>Case</title><p>MRI of the <italic>brain</italic>\n   showed T2<sup>+</sup> lesions "
        '(<xref ref-type="fig" rid="f1">Figure 1</xref>).<fig id="f1"><label>Figure 1</label><caption>'
        '<p>Axial MRI.</p></caption><graphic xlink:href="f1"/></fig> CK was high'
        '<xref ref-type="bibr" rid="b1">1</xref>.'
        '<table-wrap id="t1"><label>Table 1</label><caption><title>Labs</title></caption><table><tr>'
        "<th>Test</th><th>Value</th></tr><tr><td>CK</td><td>5000</td></tr></table></table-wrap>"
        '<supplementary-material id="s1"><caption><p>Video</p></caption></supplementary-material></p>'
        "<list><list-item><p>First item</p></list-item><list-item><p>second item.</p></list-item></list>"
        "</sec>"
    )
    result = parse_jats_bytes(jats(body), "inline", None)
    assert result.sections[0].text == (
        "MRI of the brain showed T2+ lesions (Figure 1). CK was high1.\n\nFirst item second item."
    )
    assert [(f.figure_id, f.caption_text) for f in result.figures] == [("PMC999:f1", "Axial MRI.")]
    table = result.tables[0]
    assert (table.table_id, table.label, table.caption, table.text) == (
        "PMC999:t1", "Table 1", "Labs", "Test\tValue\nCK\t5000")


def test_formula_alternatives_use_mathml_not_latex() -> None:
    body = (
        "<p>The ratio <inline-formula><alternatives><tex-math>\\documentclass{minimal}\\begin{document}$x$"
        '\\end{document}</tex-math><mml:math><mml:mi>r</mml:mi><mml:mo>=</mml:mo><mml:mn>2</mml:mn></mml:math>'
        "</alternatives></inline-formula> was found.</p>"
    )
    assert parse_jats_bytes(jats(body), "inline", None).sections[0].text == "The ratio r=2 was found."


def test_standard_character_entities_survive_without_a_dtd() -> None:
    data = b'<!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "JATS-archivearticle1.dtd">' + jats(
        "<p>Dose&nbsp;5&#x000a0;mg &mdash; twice.</p>")
    # (no-break spaces are whitespace, normalised to plain spaces like any other)
    assert parse_jats_bytes(data, "inline", None).sections[0].text == "Dose 5 mg \u2014 twice."


# --------------------------------------------------------------------------- figures and mentions


def test_figure_without_caption_never_takes_a_neighbours_caption() -> None:
    body = (
        '<sec><title>Case</title><p>Text.</p><fig id="f1"><label>Figure 1</label><graphic xlink:href="a"/>'
        "</fig>"
        '<fig id="f2"><label>Figure 2</label><caption><title>Biopsy</title><p>H&amp;E stain.</p></caption>'
        '<graphic xlink:href="b"/></fig></sec>'
    )
    first, second = parse_jats_bytes(jats(body), "inline", None).figures
    assert (first.label, first.caption_title, first.caption_text) == ("Figure 1", "", "")
    assert (second.label, second.caption_title, second.caption_text) == ("Figure 2", "Biopsy", "H&E stain.")


def test_mentions_follow_the_sentence_that_contains_the_xref() -> None:
    body = (
        '<sec><title>Case</title><p>CT was normal. MRI showed a mass (<xref ref-type="fig" rid="f1 f2">'
        'Figures 1 and 2</xref>). Biopsy panels <xref ref-type="fig" rid="g1">3</xref> and an unknown '
        '<xref ref-type="fig" rid="nope">9</xref> were reviewed. End<xref ref-type="fig" rid="f1"/>.</p>'
        "</sec>"
        '<floats-group><fig id="f1"><caption><p>One</p></caption></fig><fig id="f2"/>'
        '<fig-group id="g1"><caption><p>Panels</p></caption><fig id="g1a"/><fig id="g1b"/></fig-group>'
        "</floats-group>"
    )
    result = parse_jats_bytes(jats(body), "inline", None)
    assert [(f.figure_id, f.group_id) for f in result.figures] == [
        ("PMC999:f1", None), ("PMC999:f2", None), ("PMC999:g1a", "g1"), ("PMC999:g1b", "g1")]
    mentions = [(m.sentence_id, m.figure_id, m.xref_text) for m in result.mentions]
    assert mentions == [
        ("PMC999:sec0:p0:s1", "PMC999:f1", "Figures 1 and 2"),
        ("PMC999:sec0:p0:s1", "PMC999:f2", "Figures 1 and 2"),
        ("PMC999:sec0:p0:s2", "PMC999:g1a", "3"),
        ("PMC999:sec0:p0:s2", "PMC999:g1b", "3"),
        ("PMC999:sec0:p0:s3", "PMC999:f1", ""),
    ]


def test_figures_everywhere_in_document_order_with_positional_fallback_ids() -> None:
    body = (
        '<p>Intro <fig id="fA"><caption><p>inline</p></caption></fig></p>'
        '<sec><title>S</title><fig><caption><p>no id</p></caption><alternatives><graphic xlink:href="x1"/>'
        '<graphic xlink:href="x1-print"/></alternatives><graphic xlink:href="x2"/></fig></sec>'
    )
    front = ('<abstract abstract-type="graphical"><p><fig id="ga"><graphic xlink:href="ga1"/></fig></p>'
             "</abstract>")
    result = parse_jats_bytes(jats(body, front=front, extra='<back><app><fig id="app1"/></app></back>'),
                              "inline", None)
    assert [f.figure_id for f in result.figures] == ["PMC999:ga", "PMC999:fA", "PMC999:fig2", "PMC999:app1"]
    assert [(g.graphic_id, g.href, g.path) for g in result.graphics] == [
        ("PMC999:ga:g0", "ga1", None),
        ("PMC999:fig2:g0", "x1", None),  # one image of an <alternatives> group, not each format
        ("PMC999:fig2:g1", "x2", None),
    ]


def test_graphic_resolution_in_package_dir(tmp_path: Path) -> None:
    for name in ("fig1.gif", "fig1.jpg", "fig2.gif", "scan.v2-f3.TIF", "exact.png"):
        (tmp_path / name).write_bytes(b"x")
    outside = tmp_path.parent / "outside.jpg"
    outside.write_bytes(b"x")
    hrefs = ["fig1", "fig2", "scan.v2-f3", "exact.png", "fig1.gif", "missing", "../outside", "/etc/hostname",
             "https://example.org/fig1.jpg"]
    figs = "".join(f'<fig id="f{i}"><graphic xlink:href="{h}"/></fig>' for i, h in enumerate(hrefs))
    xml = tmp_path / "article.xml"
    xml.write_bytes(jats(f"<sec><title>S</title>{figs}</sec>"))
    paths = [g.path for g in parse_jats(xml).graphics]
    assert paths == [
        str(tmp_path / "fig1.jpg"),  # full-size JPEG beside the GIF thumbnail
        str(tmp_path / "fig2.gif"),  # only the GIF exists
        str(tmp_path / "scan.v2-f3.TIF"),  # dots in the href are not an extension
        str(tmp_path / "exact.png"),
        str(tmp_path / "fig1.gif"),  # href as given, when it exists
        None, None, None, None,  # missing, escaping the folder, absolute, URL
    ]
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert all(g.path is None for g in parse_jats(xml, package_dir=other).graphics)


# --------------------------------------------------------------------------- hostile and broken input


def test_external_entity_is_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    for target in (secret.as_uri(), "file:///etc/hostname"):
        data = (
            f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "{target}">]>'.encode()
            + jats("<p>Leak: &e; end.</p>").replace(b"<article-title>Title", b"<article-title>Title &e;")
        )
        result = parse_jats_bytes(data, "inline", None)
        assert result.sections[0].text == "Leak: end."
        assert result.article.title == "Title"
    parameter_entity = (b'<!DOCTYPE article [<!ENTITY % p SYSTEM "' + secret.as_uri().encode() + b'"> %p;]>'
                        + jats("<p>Text.</p>"))
    assert "TOP-SECRET" not in repr(parse_jats_bytes(parameter_entity, "inline", None))
    hostname = Path("/etc/hostname")
    if hostname.exists() and hostname.read_text().strip():
        assert hostname.read_text().strip() not in repr(result)
    assert "TOP-SECRET" not in repr(result)


def test_entity_expansion_bomb_is_rejected_quickly() -> None:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = f'<!DOCTYPE article [<!ENTITY l0 "lol">{levels}]>'.encode() + jats("<p>&l9;</p>")
    try:
        result = parse_jats_bytes(data, "bomb", None)
    except RecordError as exc:
        assert exc.reason == "malformed_xml"
    else:
        assert len(result.sections[0].text) < 1000


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "malformed_xml"),
        (b"  \n ", "malformed_xml"),
        (b"<article><front>", "malformed_xml"),
        (b"\xff\xfe\x00 not xml", "malformed_xml"),
        (b'<?xml version="1.0"?>', "malformed_xml"),
        (b"<a>&undeclared;</a>", "malformed_xml"),
        (b"<html><body><p>Hello</p></body></html>", "not_jats"),
        (b"<article><body><p>HTML5 article element</p></body></article>", "not_jats"),
        (b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><error code="idDoesNotExist"/></OAI-PMH>',
         "not_jats"),
    ],
)
def test_bad_input_raises_record_error_with_one_line_detail(data: bytes, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_jats_bytes(data, "bad.xml", None)
    assert caught.value.reason == reason
    assert caught.value.record_id == "bad.xml"
    assert caught.value.detail and "\n" not in caught.value.detail


def test_bad_files_are_named_by_their_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(RecordError) as caught:
        parse_jats(empty)
    assert (caught.value.record_id, caught.value.reason) == (str(empty), "malformed_xml")
    missing = tmp_path / "missing.xml"
    with pytest.raises(RecordError) as caught:
        parse_jats(missing)
    assert (caught.value.record_id, caught.value.reason) == (str(missing), "unreadable")


def test_minimal_article_with_empty_parts_parses() -> None:
    data = (b"<article><front><article-meta><title-group/><abstract/><pub-date><year>n/a</year></pub-date>"
            b"<kwd-group><kwd/></kwd-group></article-meta></front><body><sec/><p/></body>"
            b"<floats-group><fig/><table-wrap/></floats-group></article>")
    result = parse_jats_bytes(data, "minimal", None)
    assert result.article.title == "" and result.article.year is None and result.article.keywords == ()
    assert result.article.licence == "unknown"
    assert len(result.figures) == 1 and result.figures[0].caption_text == ""
    assert result.tables[0].text == ""
