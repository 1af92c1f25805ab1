"""Examination and treatment vocabularies, kept as data (``annotations/vocab/*.toml``).

A vocabulary normalises free-text mentions ("Computed tomography ... of the neck", "CT") into one
canonical answer ("CT of the head and neck") with a category, so answers are comparable across cases
and distractors can be drawn from other categories. Editing a vocabulary changes drafts: bump the
file's ``version`` and the rules drafter version together.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mmrare.annotations.drafting.wordstart import CueCounter, PrefixTable, either, union, word_anchors
from mmrare.errors import FatalError

_PACKAGE = "mmrare.annotations"


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=2)
    category: str
    systems: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(min_length=1)
    requires: str | None = None  # must also match in the same sentence (e.g. a body region)
    family: str | None = None
    generic: bool = False  # dropped when a non-generic entry of the same family matches too

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern, re.IGNORECASE)
        return patterns


class _VocabModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    categories: list[str]
    entry: list[_EntryModel]


@dataclass(frozen=True, slots=True)
class VocabEntry:
    """One canonical examination or treatment and the phrases that name it."""

    id: str
    name: str
    category: str
    systems: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    requires: re.Pattern[str] | None
    family: str | None
    generic: bool
    order: int
    # all patterns as one alternation (see :func:`wordstart.either`); None: search them one by one
    joined: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def earliest(self, text: str) -> re.Match[str] | None:
        """Earliest match of any pattern, ties to the first listed (the required context not checked)."""
        if self.joined is not None:
            return self.joined.search(text)
        matches = [m for p in self.patterns if (m := p.search(text))]
        return min(matches, key=lambda m: m.start()) if matches else None

    def first_match(self, text: str) -> re.Match[str] | None:
        """Earliest match in ``text`` (None when absent or when the required context is missing)."""
        if self.requires is not None and not self.requires.search(text):
            return None
        return self.earliest(text)

    def mentioned_in(self, text: str) -> bool:
        if self.joined is not None:
            return self.joined.search(text) is not None
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class VocabMatch:
    entry: VocabEntry
    start: int
    end: int


_MEMO_MAX = 1 << 18
# Per-sentence memos of the tracks: large enough for every case sentence of a big build, since the
# distractor pool reads them all before drafting reads them again in the same order (a smaller LRU
# would have dropped each one just before it was asked for).
SENTENCE_MEMO = 1 << 17


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A loaded vocabulary: ordered entries, matched most specific first.

    Every sentence of a case is scanned several times (key investigations, what was performed, the
    treatment, the distractor pool, and leakage descriptors), each time with ~150 patterns; so the
    matches of each text are computed once and kept (a bounded memo, cleared when full). Even once
    is costly, so a scan only runs the entries one of whose words the text contains (a
    :class:`~mmrare.annotations.drafting.wordstart.PrefixTable` of each entry's literal word prefixes):
    the other entries cannot match it.
    """

    name: str
    version: int
    categories: tuple[str, ...]
    entries: tuple[VocabEntry, ...]
    _memo: dict[str, tuple[tuple[tuple[int, int, int], ...], frozenset[str]]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    _table: PrefixTable = field(init=False, compare=False, hash=False, repr=False)
    _same_patterns: tuple[int, ...] = field(init=False, compare=False, hash=False, repr=False)
    _by_system: dict[str, tuple[int, ...]] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        anchors = [union(word_anchors(p.pattern) for p in e.patterns) for e in self.entries]
        object.__setattr__(self, "_table", PrefixTable(anchors))
        # entry index -> first entry with the same patterns: the CT entries differ only in `requires`
        first: dict[tuple[re.Pattern[str], ...], int] = {}
        same = tuple(first.setdefault(e.patterns, i) for i, e in enumerate(self.entries))
        object.__setattr__(self, "_same_patterns", same)
        by_system: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for system in entry.systems:
                by_system.setdefault(system, []).append(i)
        object.__setattr__(self, "_by_system", {s: tuple(ids) for s, ids in by_system.items()})

    def _scan(self, text: str) -> tuple[tuple[tuple[int, int, int], ...], frozenset[str]]:
        """(entry index, start, end) of each entry's first match, and the ids :meth:`mentioned_ids`
        counts for this text (first match, or any pattern of a generic entry)."""
        found = self._memo.get(text)
        if found is None:
            first = []
            mentioned = set()
            earliest: dict[int, re.Match[str] | None] = {}
            for i in self._table.candidates(text):
                entry = self.entries[i]
                key = self._same_patterns[i]
                if key not in earliest:
                    earliest[key] = entry.earliest(text)
                match = earliest[key]
                if match and entry.requires is not None and not entry.requires.search(text):
                    match = None
                if match:
                    first.append((i, match.start(), match.end()))
                    mentioned.add(entry.id)
                elif entry.generic and earliest[key] is not None:
                    mentioned.add(entry.id)
            found = (tuple(first), frozenset(mentioned))
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[text] = found
        return found

    def find(self, text: str) -> list[VocabMatch]:
        """Entries named in ``text``, in order of appearance; generic entries yield to specific ones."""
        found = [VocabMatch(self.entries[i], start, end) for i, start, end in self._scan(text)[0]]
        specific_families = {m.entry.family for m in found if m.entry.family and not m.entry.generic}
        found = [m for m in found if not (m.entry.generic and m.entry.family in specific_families)]
        return sorted(found, key=lambda m: (m.start, m.entry.order))

    def mentioned_ids(self, texts: Iterable[str]) -> set[str]:
        """Ids of every entry the texts name anywhere; naming a generic entry ("MRI", "TNF-alpha
        inhibitors") names its whole family, since any member may be what was meant."""
        found: set[str] = set()
        for text in texts:
            found |= self._scan(text)[1]
        families = {e.family for e in self.entries if e.id in found and e.generic and e.family}
        return found | {e.id for e in self.entries if e.family in families}

    def system_scores(self, weights: dict[str, int]) -> list[int]:
        """Per entry, the weights of its body systems summed (``weights`` as :func:`system_weights`
        gives them): found through the systems that have a weight, not by reading every entry's."""
        scores = [0] * len(self.entries)
        for system, weight in weights.items():
            for i in self._by_system.get(system, ()):
                scores[i] += weight
        return scores

    def by_id(self, entry_id: str) -> VocabEntry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)


def _read(filename: str) -> dict[str, object]:
    resource = resources.files(_PACKAGE).joinpath("vocab", filename)
    try:
        return tomllib.loads(resource.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FatalError(f"vocabulary {filename}: cannot read ({exc})") from exc


def _load(filename: str) -> Vocabulary:
    try:
        model = _VocabModel.model_validate(_read(filename))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FatalError(f"vocabulary {filename}: invalid at {where}: {first['msg']}") from exc
    ids = [e.id for e in model.entry]
    if len(set(ids)) != len(ids):
        raise FatalError(f"vocabulary {filename}: duplicate entry ids")
    unknown = sorted({e.category for e in model.entry} - set(model.categories))
    if unknown:
        raise FatalError(f"vocabulary {filename}: categories not declared: {unknown}")
    known_systems = set(_system_cues())
    for e in model.entry:
        if set(e.systems) - known_systems:
            raise FatalError(f"vocabulary {filename}: entry {e.id} names unknown systems")
    entries = tuple(
        VocabEntry(
            id=e.id,
            name=e.name,
            category=e.category,
            systems=tuple(e.systems),
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in e.patterns),
            joined=either(e.patterns, re.IGNORECASE),
            requires=re.compile(e.requires, re.IGNORECASE) if e.requires else None,
            family=e.family,
            generic=e.generic,
            order=i,
        )
        for i, e in enumerate(model.entry)
    )
    return Vocabulary(filename.removesuffix(".toml"), model.version, tuple(model.categories), entries)


@functools.cache
def examinations() -> Vocabulary:
    """The examination vocabulary (loaded once, on first use)."""
    return _load("examinations.toml")


@functools.cache
def treatments() -> Vocabulary:
    """The treatment vocabulary (loaded once, on first use)."""
    return _load("treatments.toml")


@functools.cache
def _system_cues() -> dict[str, tuple[str, ...]]:
    data = _read("systems.toml")
    table = data.get("systems")
    if not isinstance(table, dict):
        raise FatalError("vocabulary systems.toml: missing [systems] table")
    out: dict[str, tuple[str, ...]] = {}
    for name, cues in table.items():
        if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
            raise FatalError(f"vocabulary systems.toml: {name} must be a list of strings")
        out[name] = tuple(cues)
    return out


@functools.cache
def systems() -> dict[str, tuple[re.Pattern[str], ...]]:
    """Body-system cue words, used to prefer distractors that fit the presentation."""
    cues = _system_cues()
    return {name: tuple(re.compile(r"\b" + c, re.IGNORECASE) for c in cues[name]) for name in cues}


@functools.cache
def _cue_counter() -> CueCounter:
    return CueCounter(_system_cues())


@dataclass(frozen=True, slots=True)
class FigureVocabulary:
    """figures.toml: modality name -> regexes, and the body systems that count as regions."""

    version: int
    modalities: dict[str, tuple[str, ...]]
    regions: tuple[str, ...]


@functools.cache
def figure_vocabulary() -> FigureVocabulary:
    """The figure vocabulary (loaded once, on first use)."""
    data = _read("figures.toml")
    modalities, regions = data.get("modalities"), data.get("regions")
    if not isinstance(modalities, dict) or not all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in modalities.values()
    ):
        raise FatalError("vocabulary figures.toml: [modalities] must map names to lists of regexes")
    if not isinstance(regions, list) or set(regions) - set(_system_cues()):
        raise FatalError("vocabulary figures.toml: regions must be a list of systems.toml systems")
    version = data.get("version")
    return FigureVocabulary(
        int(version) if isinstance(version, int) else 0,
        {str(k): tuple(v) for k, v in modalities.items()},
        tuple(str(r) for r in regions),
    )


def system_weights(text: str) -> dict[str, int]:
    """How often the text talks about each body system (cue matches per system, zeros left out).

    Counted per word through a :class:`~mmrare.annotations.drafting.wordstart.CueCounter`: the same
    counts as ``findall`` with each of :func:`systems`' patterns, at a fraction of the cost (this
    runs on the context of every examination and treatment item)."""
    return _cue_counter().count(text)


def context_weights(texts: Sequence[str]) -> dict[str, int]:
    """:func:`system_weights` of ``" ".join(texts)``: an item's context given as its sentences, most
    of which the case's other items share, so each sentence's words are counted once."""
    return _cue_counter().count_joined(texts)


def vocab_versions() -> dict[str, str]:
    """Vocabulary versions for provenance."""
    return {
        "examinations": str(examinations().version),
        "treatments": str(treatments().version),
        "figures": str(figure_vocabulary().version),
    }
