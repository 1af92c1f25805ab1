"""The in-memory form of one synthetic article, and the sentence ids the project's parser will give it.

The composer builds sentences as pieces of text and figure references; the JATS writer renders the
same pieces, so the text the parser reads is exactly the text the ground truth quotes. Sentence ids
follow the parser's convention (``<pmcid>:sec<n>:p<k>:s<i>``: sections numbered depth-first with the
abstract first, paragraphs and sentences counted from 0), and the composer writes one sentence per
``Sentence`` with no abbreviation that would make the splitter cut it differently. Text quoted from
ORDO (the definition) sits in a paragraph of its own, so its splitting never shifts a tracked id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FigRef:
    """A citation of figure ``number``; rendered "Figure <n>" inside ``<xref ref-type="fig">``."""

    number: int

    @property
    def text(self) -> str:
        return f"Figure {self.number}"


Piece = str | FigRef


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence; ``key`` names what the ground truth uses it for ("diagnosis", ...)."""

    pieces: tuple[Piece, ...]
    key: str | None = None
    names_diagnosis: bool = False
    tracked: bool = True  # False for text quoted from ORDO, whose splitting is not ours to predict

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.pieces)

    @property
    def figures(self) -> tuple[int, ...]:
        return tuple(p.number for p in self.pieces if isinstance(p, FigRef))


@dataclass(slots=True)
class Paragraph:
    sentences: list[Sentence]


@dataclass(slots=True)
class Section:
    """A ``<sec>``; ``role`` is the section role the project's classifier should give it."""

    title: str
    role: str
    sec_type: str | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FigurePlan:
    """One ``<fig>`` and the image it points to."""

    number: int
    kind: str  # examination id, or "clinical_photograph"
    exam_name: str | None
    category: str  # examination category, or "clinical"
    style: str  # how images.py draws it: "mri", "ct", "histology", "trace", "photo", ...
    finding: str
    hpo_id: str | None
    panels: tuple[str, ...]  # panel letters drawn into the image; () for a single picture
    image_format: str  # "JPEG" | "PNG"
    width: int
    height: int
    caption_title: str
    caption_text: str
    caption_names_diagnosis: bool

    @property
    def xml_id(self) -> str:
        return f"fig{self.number}"

    @property
    def label(self) -> str:
        return f"Figure {self.number}"

    def href(self, pmcid: str) -> str:
        return f"{pmcid}-g{self.number:03d}"

    def file_name(self, pmcid: str) -> str:
        return self.href(pmcid) + (".png" if self.image_format == "PNG" else ".jpg")


@dataclass(slots=True)
class CaseDocument:
    """A whole article: front matter, structured abstract or not, body sections and figures."""

    pmcid: str
    title: str
    year: int
    keywords: tuple[str, ...]
    abstract: list[Paragraph]
    abstract_sections: list[Section]  # a structured abstract; empty when ``abstract`` is flat
    body: list[Section]
    figures: list[FigurePlan]

    def sections_in_order(self) -> Iterator[tuple[int, Section | None, int]]:
        """(section ordinal, section, depth) as the parser numbers them; the abstract is ``None``."""
        yield 0, None, 0
        ordinal = 0
        for roots, depth in ((self.abstract_sections, 1), (self.body, 0)):
            for section, level in _preorder(roots, depth):
                ordinal += 1
                yield ordinal, section, level

    def sentence_ids(self) -> Iterator[tuple[str, Sentence, Section | None]]:
        """Every sentence with the id the parser will give it, in document order."""
        for ordinal, section, _depth in self.sections_in_order():
            paragraphs = self.abstract if section is None else section.paragraphs
            for p_index, paragraph in enumerate(paragraphs):
                for s_index, sentence in enumerate(paragraph.sentences):
                    yield f"{self.pmcid}:sec{ordinal}:p{p_index}:s{s_index}", sentence, section


def _preorder(sections: list[Section], depth: int) -> Iterator[tuple[Section, int]]:
    for section in sections:
        yield section, depth
        yield from _preorder(section.children, depth + 1)
