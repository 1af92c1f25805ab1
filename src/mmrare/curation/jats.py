"""Parse one PMC JATS article into typed records, safely and the same way every time.

Input XML is untrusted (publishers, mirrors, OAI-PMH wrappers), so the parser never expands
entities, loads DTDs or touches the network (standard character names such as ``&nbsp;`` are mapped
to their character, nothing else), and any unusable input becomes a :class:`RecordError` that the
run stores as a reject. The output is deterministic: ids come from the PMCID and from
positions in the document, so re-parsing the same file yields the same rows.

What is kept, and why:

- sections: abstracts first (role ``abstract``), then body ``<sec>`` depth-first, each with only
  its own paragraphs, so drafting can cut a case at a section boundary without duplicating text;
- sentences: offsets into the section text, so contexts can be cut and checked by position;
- figure mentions: which sentence cites which figure, tracked while the paragraph is flattened so
  that floats (figures, tables) embedded in ``<p>`` never leak their captions into the prose;
- figures and graphics: every ``<fig>`` with its own caption (never a neighbour's) and the image
  files on disk, preferring full-size JPEG/PNG/TIFF over PMC's GIF thumbnails;
- tables: flattened cell text;
- dates: the publication date (electronic, then print, then collection) and the ``<history>`` dates,
  each to the precision the article gives (year, month or day), so scoring can tell which cases a
  model may have seen in training.

Back matter (acknowledgements, footnotes, appendices, references) gives no sections, though its
figures and tables are collected. Sub-articles (peer reviews, author responses) are separate
documents and are not parsed.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.entities import name2codepoint
from pathlib import Path, PurePosixPath

from lxml import etree

from mmrare.curation.licence import normalise_licence
from mmrare.curation.section_roles import classify_section
from mmrare.curation.sentences import split_sentences
from mmrare.dates import PartialDate
from mmrare.errors import RecordError
from mmrare.records import (
    Article,
    Figure,
    FigureMention,
    Graphic,
    ParsedArticle,
    Section,
    SectionRole,
    Sentence,
    Table,
)
from mmrare.versions import PARSER_VERSION

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

# Preferred first: PMC packages ship a small .gif preview beside the full-size .jpg.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif")

# The parts of <article> that belong to the article itself (not <sub-article> or <response>).
_MAIN_PARTS = frozenset({"front", "body", "back", "floats-group"})
# Block-level children of a section that carry its prose.
_PARAGRAPHS = frozenset({"p", "list", "disp-quote"})
# Floats and media inside a paragraph: collected separately, never part of the prose.
_FLOATS = frozenset({
    "fig", "fig-group", "table-wrap", "table-wrap-group", "supplementary-material", "boxed-text",
    "chem-struct-wrap", "graphic", "inline-graphic", "media", "inline-media",
})
_DROPPED = frozenset({"object-id", "alt-text", "long-desc", "processing-meta"})
# Elements whose content must not run into the neighbouring words ("<list-item>a</list-item><list-item>b").
_BLOCKS = frozenset({
    "p", "list", "list-item", "def-list", "def-item", "term", "def", "disp-quote", "disp-formula",
    "title", "label", "caption", "sec", "statement", "attrib", "break", "table", "tr", "td", "th", "fn",
    "speech", "verse-group", "verse-line", "array",
})
_PMCID = re.compile(r"^\s*(?:PMC)?\s*(\d+)(?:\.(\d+))?\s*$", re.IGNORECASE)
_DIGITS = re.compile(r"^\s*(\d+)\s*$")
_YEAR = re.compile(r"^\s*(\d{4})")
_ISO_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
# Month names some publishers write instead of numbers ("Jan", "January", "Sept").
_MONTH_NAMES = (
    {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_LATEX_DOCUMENT = re.compile(r"\\begin\{document\}(.*?)\\end\{document\}", re.DOTALL)


def hardened_parser() -> etree.XMLParser:
    """A parser that cannot be made to read local files, fetch URLs or expand entity bombs.

    Built per call: lxml parsers must not be shared between threads.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
    )


def parse_jats(xml_path: Path, package_dir: Path | None = None) -> ParsedArticle:
    """Parse a JATS file; figure files are looked up in ``package_dir`` (default: the file's folder).

    Raises :class:`RecordError` (``unreadable``, ``malformed_xml``, ``not_jats``) for bad input.
    """
    xml_path = Path(xml_path)
    try:
        data = xml_path.read_bytes()
    except OSError as exc:
        detail = f"{type(exc).__name__}: {exc.strerror or exc}"
        raise RecordError(str(xml_path), "unreadable", detail) from exc
    return parse_jats_bytes(data, str(xml_path), xml_path.parent if package_dir is None else package_dir)


def parse_jats_bytes(data: bytes, source: str, package_dir: Path | None = None) -> ParsedArticle:
    """Parse JATS from bytes; ``source`` names it in records and errors; no figure lookup without
    ``package_dir``."""
    article_el = _article_element(data, source)
    meta = article_el.find("front/article-meta")
    if meta is None:
        raise RecordError(source, "not_jats", "no <front>/<article-meta> in <article>")
    xml_sha256 = hashlib.sha256(data).hexdigest()
    article = _article_record(article_el, meta, source, xml_sha256)
    parts = [child for child in article_el if _name(child) in _MAIN_PARTS]
    figures, graphics = _figures(parts, article.pmcid, _GraphicResolver(package_dir))
    text = _TextCollector(article.pmcid, _figure_index(figures))
    text.collect(meta, article_el.find("body"))
    return ParsedArticle(
        article=article,
        sections=tuple(text.sections),
        sentences=tuple(text.sentences),
        figures=tuple(figures),
        graphics=tuple(graphics),
        mentions=tuple(text.mentions),
        tables=tuple(_tables(parts, article.pmcid)),
    )


# --------------------------------------------------------------------------- XML and namespaces


def _article_element(data: bytes, source: str) -> etree._Element:
    """The ``<article>`` element, unwrapped from OAI-PMH/articleset wrappers, without its namespace."""
    if not data.strip():
        raise RecordError(source, "malformed_xml", "empty document")
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise RecordError(source, "malformed_xml", _one_line(str(exc))) from exc
    if root is None:
        raise RecordError(source, "malformed_xml", "no root element")
    article = next((el for el in root.iter() if _name(el) == "article"), None)
    if article is None:
        raise RecordError(source, "not_jats", f"no <article> element (root is <{_name(root)}>)")
    _strip_namespace(article)
    return article


def _strip_namespace(article: etree._Element) -> None:
    """JATS 1.3 from OAI-PMH carries a default namespace; drop it so one set of paths fits all files.

    Only the article's own namespace is removed: MathML, XLink and ALI keep theirs.
    """
    namespace = etree.QName(article).namespace
    if not namespace:
        return
    for el in article.iter(f"{{{namespace}}}*"):
        el.tag = etree.QName(el).localname


def _name(el: etree._Element) -> str:
    """Local tag name; "" for comments, processing instructions and entity references."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[1] if tag.startswith("{") else tag


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _href(el: etree._Element) -> str:
    return (el.get(XLINK_HREF) or el.get("href") or "").strip()


# --------------------------------------------------------------------------- text flattening


@dataclass
class _Text:
    """Whitespace-normalised text built piece by piece, recording where figure xrefs start."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    pending_space: bool = False
    xrefs: list[tuple[str, str, int]] = field(default_factory=list)  # (rid, xref text, offset)

    def add(self, raw: str) -> None:
        if not raw:
            return
        words = raw.split()
        if not words:
            self.pending_space = True
            return
        if (self.pending_space or raw[0].isspace()) and self.length:
            self._emit(" ")
        self._emit(" ".join(words))  # one piece per text node, not two per word
        self.pending_space = raw[-1].isspace()

    def soft_break(self) -> None:
        """A block boundary: the next word is separated by a space, but no space is added yet."""
        self.pending_space = True

    def position(self) -> int:
        """Offset at which the next word will start."""
        return self.length + (1 if self.pending_space and self.length else 0)

    def text(self) -> str:
        return "".join(self.parts)

    def _emit(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)


def _render(el: etree._Element, out: _Text) -> None:
    """Append the text of ``el``'s content (not its tail) to ``out``."""
    if el.text:
        out.add(el.text)
    for child in el:
        name = _name(child)
        if name:
            _render_child(child, name, out)
        elif child.tag is etree.Entity:
            out.add(_entity_text(child))
        if child.tail:
            out.add(child.tail)


def _render_child(child: etree._Element, name: str, out: _Text) -> None:
    if name in _FLOATS or name in _DROPPED:
        return
    if name == "alternatives":
        _render_alternatives(child, out)
        return
    if name == "tex-math":
        out.add(_latex_body(child))
        return
    if name == "xref" and child.get("ref-type") == "fig":
        start = out.position()
        _render(child, out)
        out.xrefs.append((child.get("rid") or "", flatten(child), start))
        return
    block = name in _BLOCKS
    if block:
        out.soft_break()
    _render(child, out)
    if block:
        out.soft_break()


def _entity_text(entity: etree._Entity) -> str:
    """An unexpanded entity reference (no DTD is loaded): standard character names ("&nbsp;",
    "&mdash;") become their character; anything else, such as a file-reading entity, is dropped."""
    code = name2codepoint.get(entity.name or "")
    return chr(code) if code else ""


def _render_alternatives(el: etree._Element, out: _Text) -> None:
    """One rendering of an ``<alternatives>``: MathML if present (PMC's TeX is a whole LaTeX file)."""
    children = [c for c in el if _name(c)]
    chosen = (
        [c for c in children if _name(c) == "math"]
        or [c for c in children if _name(c) not in _FLOATS and _name(c) != "tex-math"]
        or [c for c in children if _name(c) == "tex-math"]
    )
    if chosen:
        _render_child(chosen[0], _name(chosen[0]), out)


def _latex_body(el: etree._Element) -> str:
    raw = "".join(el.itertext())
    match = _LATEX_DOCUMENT.search(raw)
    body = match.group(1) if match else raw
    return body.replace("$", " ")


def flatten(el: etree._Element | None) -> str:
    """Text of an element with inline markup flattened, floats left out and whitespace normalised."""
    if el is None:
        return ""
    out = _Text()
    _render(el, out)
    return out.text()


# --------------------------------------------------------------------------- article front matter


def _article_record(article_el: etree._Element, meta: etree._Element, source: str, sha: str) -> Article:
    ids = _article_ids(meta)
    pmcid, id_version = _pmcid(ids)
    licence = normalise_licence(meta)
    published, published_type = _pub_date(meta)
    return Article(
        pmcid=pmcid or f"SRC-{sha[:16]}",
        version=_version(meta, ids) or id_version or 1,
        pmid=_first_match(ids.get("pmid", []), _DIGITS),
        doi=_doi(ids.get("doi", [])),
        title=flatten(meta.find("title-group/article-title")),
        journal=flatten(next(article_el.iterfind("front/journal-meta//journal-title"), None)) or None,
        year=published.year if published else None,
        pub_date=published.iso() if published else None,
        pub_date_type=published_type,
        history_dates=_history_dates(meta),
        article_type=(article_el.get("article-type") or "").strip() or None,
        subjects=_subjects(meta),
        keywords=_unique(flatten(kwd) for kwd in meta.iterfind("kwd-group/kwd")),
        licence=licence.spdx_id,
        licence_url=licence.url,
        licence_text=licence.text,
        source_path=source,
        xml_sha256=sha,
        parser_version=PARSER_VERSION,
    )


def _article_ids(meta: etree._Element) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for el in meta.iterfind("article-id"):
        value = flatten(el)
        if value:
            ids.setdefault((el.get("pub-id-type") or "").strip().lower(), []).append(value)
    return ids


def _pmcid(ids: dict[str, list[str]]) -> tuple[str | None, int | None]:
    """("PMC6358579", version or None) from ``pmc``/``pmcid`` ids ("6358579", "PMC6358579", "PMC1.2")."""
    for kind in ("pmc", "pmcid", "pmc-uid"):
        for value in ids.get(kind, []):
            if match := _PMCID.match(value):
                return f"PMC{int(match[1])}", int(match[2]) if match[2] else None
    return None, None


def _version(meta: etree._Element, ids: dict[str, list[str]]) -> int | None:
    """The PMC article version from ``<article-version>`` or a versioned id ("pmcid-ver")."""
    for el in meta.iter("article-version"):
        kind = el.get("article-version-type")
        if kind in (None, "number", "version") and (match := _DIGITS.match(flatten(el))):
            return int(match[1])
    for kind, values in ids.items():
        if "ver" in kind:
            for value in values:
                if match := re.search(r"(?:\.|^)(\d+)\s*$", value):
                    return int(match[1])
    return None


def _first_match(values: list[str], pattern: re.Pattern[str]) -> str | None:
    return next((match[1] for v in values if (match := pattern.match(v))), None)


def _doi(values: list[str]) -> str | None:
    for value in values:
        doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value.strip(), flags=re.IGNORECASE)
        if doi:
            return doi
    return None


def _pub_date(meta: etree._Element) -> tuple[PartialDate | None, str | None]:
    """The first usable of: electronic, print, collection publication date, then any other (such as
    ``pmc-release``); with its kind. A date keeps the precision the article gives it."""
    dates = list(meta.iterfind("pub-date"))
    for wanted in ("epub", "ppub", "collection", None):
        for date in dates:
            kind = _date_kind(date)
            if wanted is not None and kind != wanted:
                continue
            if found := _partial_date(date):
                return found, kind
    return None, None


def _history_dates(meta: etree._Element) -> dict[str, str]:
    """``<history>`` dates by their ``date-type`` (received, rev-recd, accepted, ...): the first
    usable date of each kind; dates without a kind say nothing and are left out."""
    found: dict[str, str] = {}
    for date in meta.iterfind("history/date"):
        kind = (date.get("date-type") or "").strip().lower()
        if kind and kind not in found and (parsed := _partial_date(date)):
            found[kind] = parsed.iso()
    return found


def _date_kind(date: etree._Element) -> str | None:
    """Old ``pub-type`` and JATS 1.1+ ``date-type``/``publication-format`` spellings to one name."""
    pub_type = (date.get("pub-type") or "").lower()
    date_type = (date.get("date-type") or "").lower()
    fmt = (date.get("publication-format") or "").lower()
    if pub_type == "epub" or (date_type == "pub" and fmt == "electronic"):
        return "epub"
    if pub_type == "ppub" or (date_type == "pub" and fmt == "print"):
        return "ppub"
    if pub_type in {"collection", "epub-ppub"} or date_type == "collection":
        return "collection"
    return pub_type or date_type or None


def _partial_date(date: etree._Element) -> PartialDate | None:
    """A ``<pub-date>`` or ``<date>`` from its ``<year>``/``<month>``/``<day>`` (or, lacking a year,
    its ``iso-8601-date``). A part that does not make a real date is dropped with everything finer
    (a 31 June becomes June; a season such as "Sep-Oct" leaves the year), never guessed."""
    year = _YEAR.match(flatten(date.find("year")))
    if year:
        month = _month(flatten(date.find("month")))
        day = _DIGITS.match(flatten(date.find("day")))
        parts = (int(year[1]), month, int(day[1]) if day and month else None)
    elif iso := _ISO_DATE.match(date.get("iso-8601-date") or ""):
        parts = (int(iso[1]), int(iso[2]) if iso[2] else None, int(iso[3]) if iso[3] else None)
    else:
        return None
    for candidate in (parts, (*parts[:2], None), (parts[0], None, None)):
        try:
            return PartialDate(*candidate)
        except ValueError:
            continue
    return None


def _month(text: str) -> int | None:
    if match := _DIGITS.match(text):
        return int(match[1])
    return _MONTH_NAMES.get(text.strip().rstrip(".").lower())


def _subjects(meta: etree._Element) -> tuple[str, ...]:
    """Subject headings in document order, nested groups included; compound subjects by label."""
    found: list[str] = []
    for el in meta.iterfind("article-categories//*"):
        if el.tag == "subject":
            found.append(flatten(el))
        elif el.tag == "compound-subject":
            parts = {p.get("content-type"): flatten(p) for p in el.iterfind("compound-subject-part")}
            found.append(parts.get("label") or parts.get("text") or " ".join(p for p in parts.values() if p))
    return _unique(found)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


# --------------------------------------------------------------------------- sections and sentences


class _TextCollector:
    """Builds sections, sentences and figure mentions in document order for one article."""

    def __init__(self, pmcid: str, figure_index: dict[str, list[str]]) -> None:
        self.pmcid = pmcid
        self.figure_index = figure_index
        self.sections: list[Section] = []
        self.sentences: list[Sentence] = []
        self.mentions: list[FigureMention] = []
        self._seen_mentions: set[tuple[str, str, str]] = set()

    def collect(self, meta: etree._Element, body: etree._Element | None) -> None:
        for abstract in meta.iterfind("abstract"):
            self._abstract(abstract)
        if body is not None:
            self._body(body)

    def _abstract(self, abstract: etree._Element) -> None:
        section_id = self._add_section(
            title=flatten(abstract.find("title")),
            sec_type=abstract.get("abstract-type"),
            role=SectionRole.ABSTRACT,
            parent_id=None,
            depth=0,
            blocks=_blocks(abstract),
        )
        for sec in abstract.iterfind("sec"):
            self._sec(sec, section_id, SectionRole.ABSTRACT, 1)

    def _body(self, body: etree._Element) -> None:
        """Top-level sections in order; loose body paragraphs form one untitled section where the
        first of them appears (a case report or editorial without headings is all loose paragraphs)."""
        loose = _blocks(body)
        for child in body:
            if loose and child is loose[0]:
                self._add_section(title="", sec_type=None, role=SectionRole.OTHER, parent_id=None, depth=0,
                                  blocks=loose)
            elif _name(child) == "sec":
                self._sec(child, None, None, 0)

    def _sec(self, sec: etree._Element, parent_id: str | None, parent_role: SectionRole | None,
             depth: int) -> None:
        title = flatten(sec.find("title"))
        sec_type = (sec.get("sec-type") or "").strip() or None
        role = classify_section(title, sec_type, parent_role)
        section_id = self._add_section(title=title, sec_type=sec_type, role=role, parent_id=parent_id,
                                       depth=depth, blocks=_blocks(sec))
        for child in sec.iterfind("sec"):
            self._sec(child, section_id, role, depth + 1)

    def _add_section(self, *, title: str, sec_type: str | None, role: SectionRole, parent_id: str | None,
                     depth: int, blocks: list[etree._Element]) -> str:
        ordinal = len(self.sections)
        section_id = f"{self.pmcid}:sec{ordinal}"
        texts: list[str] = []
        offset = 0
        for block in blocks:
            out = _Text()
            _render(block, out)
            text = out.text()
            if not text:
                continue  # e.g. a <p> that only wraps a figure
            if texts:
                offset += 2  # the "\n\n" joining paragraphs
            self._add_sentences(section_id, len(texts), offset, text, out.xrefs)
            texts.append(text)
            offset += len(text)
        self.sections.append(Section(
            section_id=section_id, pmcid=self.pmcid, ordinal=ordinal, parent_id=parent_id, depth=depth,
            title=title, sec_type=sec_type, role=role, text="\n\n".join(texts),
        ))
        return section_id

    def _add_sentences(self, section_id: str, paragraph: int, offset: int, text: str,
                       xrefs: list[tuple[str, str, int]]) -> None:
        spans = split_sentences(text)
        ids: list[str] = []
        for index, (start, end) in enumerate(spans):
            sentence_id = f"{section_id}:p{paragraph}:s{index}"
            ids.append(sentence_id)
            self.sentences.append(Sentence(
                sentence_id=sentence_id, pmcid=self.pmcid, section_id=section_id, paragraph_index=paragraph,
                sentence_index=index, ordinal=len(self.sentences), start=offset + start, end=offset + end,
                text=text[start:end],
            ))
        for rid, xref_text, position in xrefs:
            sentence_id = ids[_sentence_at(spans, position)]
            for figure_id in self._figures_for(rid):
                key = (sentence_id, figure_id, xref_text)
                if key not in self._seen_mentions:
                    self._seen_mentions.add(key)
                    self.mentions.append(FigureMention(sentence_id=sentence_id, pmcid=self.pmcid,
                                                       figure_id=figure_id, xref_text=xref_text))

    def _figures_for(self, rid: str) -> list[str]:
        """Figures a ``rid`` points to: it may list several ids, or name a whole ``<fig-group>``."""
        found: list[str] = []
        for token in rid.split():
            found += [f for f in self.figure_index.get(token, []) if f not in found]
        return found


def _blocks(el: etree._Element) -> list[etree._Element]:
    return [child for child in el if _name(child) in _PARAGRAPHS]


def _sentence_at(spans: list[tuple[int, int]], position: int) -> int:
    """Index of the last sentence starting at or before ``position`` (the one containing it)."""
    index = 0
    for i, (start, _end) in enumerate(spans):
        if start <= position:
            index = i
        else:
            break
    return index


# --------------------------------------------------------------------------- figures and graphics


def _figures(parts: list[etree._Element], pmcid: str,
             resolver: _GraphicResolver) -> tuple[list[Figure], list[Graphic]]:
    figures: list[Figure] = []
    graphics: list[Graphic] = []
    used: set[str] = set()
    for ordinal, fig in enumerate(_iter_all(parts, "fig")):
        xml_id = (fig.get("id") or "").strip()
        figure_id = _unique_id(pmcid, xml_id, f"fig{ordinal}", used)
        group = next(fig.iterancestors("fig-group"), None)
        caption = fig.find("caption")
        figures.append(Figure(
            figure_id=figure_id, pmcid=pmcid, ordinal=ordinal, xml_id=xml_id,
            label=flatten(fig.find("label")),
            caption_title=flatten(caption.find("title")) if caption is not None else "",
            caption_text=_caption_text(caption),
            group_id=(group.get("id") or None) if group is not None else None,
        ))
        for index, href in enumerate(_graphic_hrefs(fig)):
            graphics.append(Graphic(graphic_id=f"{figure_id}:g{index}", figure_id=figure_id, pmcid=pmcid,
                                    href=href, path=resolver.resolve(href)))
    return figures, graphics


def _iter_all(parts: list[etree._Element], tag: str) -> Iterator[etree._Element]:
    for part in parts:
        yield from part.iter(tag)


def _unique_id(pmcid: str, xml_id: str, fallback: str, used: set[str]) -> str:
    """``<pmcid>:<xml id>``, or the positional fallback; suffixed if a broken file repeats an id."""
    candidate = f"{pmcid}:{xml_id or fallback}"
    while candidate in used:
        candidate = f"{candidate}-{fallback}"
    used.add(candidate)
    return candidate


def _caption_text(caption: etree._Element | None) -> str:
    """The caption's paragraphs; a caption with neither title nor paragraphs is taken whole."""
    if caption is None:
        return ""
    paragraphs = [flatten(p) for p in caption.iterfind("p")]
    if paragraphs:
        return " ".join(p for p in paragraphs if p)
    if caption.find("title") is not None:
        return ""
    return flatten(caption)


def _graphic_hrefs(fig: etree._Element) -> list[str]:
    """Image hrefs of a figure; of an ``<alternatives>`` group (one image in several formats) only
    the first, so one picture never counts twice."""
    hrefs: list[str] = []
    seen_alternatives: set[etree._Element] = set()
    for graphic in fig.iter("graphic"):
        href = _href(graphic)
        if not href:
            continue
        parent = graphic.getparent()
        if parent is not None and _name(parent) == "alternatives":
            if parent in seen_alternatives:
                continue
            seen_alternatives.add(parent)
        hrefs.append(href)
    return hrefs


def _figure_index(figures: list[Figure]) -> dict[str, list[str]]:
    """xref ``rid`` -> figure ids, by figure id and by enclosing ``<fig-group>`` id."""
    index: dict[str, list[str]] = {}
    for figure in figures:
        for key in (figure.xml_id, figure.group_id):
            if key:
                index.setdefault(key, []).append(figure.figure_id)
    return index


class _GraphicResolver:
    """Finds the image file for a ``<graphic xlink:href>`` inside one package folder.

    The href is untrusted: absolute paths, URLs and ``..`` never leave the folder. PMC hrefs usually
    lack an extension ("CG-CGCR180082F001") and may contain dots ("nihpp-2023.12.31.573776v1-f0002"),
    so candidates are "<href><ext>" in :data:`IMAGE_EXTENSIONS` order, not ``Path.stem`` matches.
    """

    def __init__(self, package_dir: Path | None) -> None:
        self._dir = Path(package_dir) if package_dir is not None else None
        self._listings: dict[Path, dict[str, Path]] = {}

    def resolve(self, href: str) -> str | None:
        if self._dir is None or not href or "://" in href or href.startswith(("/", "\\")):
            return None
        rel = PurePosixPath(href.replace("\\", "/"))
        if ".." in rel.parts or not rel.name:
            return None
        listing = self._listing(self._dir.joinpath(*rel.parts[:-1]))
        name = rel.name
        if hit := listing.get(name.lower()):
            return str(hit)
        base = name[: -len(ext)] if (ext := _image_extension(name)) else name
        for extension in IMAGE_EXTENSIONS:
            if hit := listing.get(f"{base}{extension}".lower()):
                return str(hit)
        return None

    def _listing(self, directory: Path) -> dict[str, Path]:
        """Lower-cased file name -> file, read once per folder (``scandir`` tells files apart
        without a ``stat`` per entry)."""
        if directory not in self._listings:
            names: list[str] = []
            try:  # links are never followed: a figure must be a file of the package itself
                assert self._dir is not None
                if directory.resolve().is_relative_to(self._dir.resolve()):
                    with os.scandir(directory) as entries:
                        names = sorted(e.name for e in entries if e.is_file(follow_symlinks=False))
            except OSError:
                names = []
            listing: dict[str, Path] = {}
            for name in names:
                listing.setdefault(name.lower(), directory / name)
            self._listings[directory] = listing
        return self._listings[directory]


def _image_extension(name: str) -> str:
    lower = name.lower()
    return next((name[-len(ext):] for ext in IMAGE_EXTENSIONS if lower.endswith(ext)), "")


# --------------------------------------------------------------------------- tables


def _tables(parts: list[etree._Element], pmcid: str) -> list[Table]:
    tables: list[Table] = []
    used: set[str] = set()
    for ordinal, wrap in enumerate(_iter_all(parts, "table-wrap")):
        caption = wrap.find("caption")
        caption_parts = [] if caption is None else [flatten(caption.find("title")), _caption_text(caption)]
        tables.append(Table(
            table_id=_unique_id(pmcid, (wrap.get("id") or "").strip(), f"table{ordinal}", used),
            pmcid=pmcid, ordinal=ordinal, label=flatten(wrap.find("label")),
            caption=" ".join(p for p in caption_parts if p), text=_table_text(wrap),
        ))
    return tables


def _table_text(wrap: etree._Element) -> str:
    """Rows joined by newlines, cells by tabs; a table given only as an image has no text."""
    rows = []
    for row in wrap.iter("tr"):
        cells = [flatten(cell) for cell in row if _name(cell) in {"td", "th"}]
        if any(cells):
            rows.append("\t".join(cells))
    return "\n".join(rows)
