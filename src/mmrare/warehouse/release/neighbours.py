"""ORDO neighbours of a gold diagnosis (``related_concepts``), for partial credit in scoring.

Scoring gives partial credit for an answer that names a direct child of the gold concept, or a direct
parent with few descendants (a parent like "Rare genetic disease" says nothing). The release carries
those neighbours, their synonyms and descendant counts so scoring needs no ORDO file. Both hierarchy
edges count (``is_a`` and ``part_of``: Orphanet classifications live in the latter); obsolete
concepts are left out.
"""

from __future__ import annotations

import re

from mmrare.warehouse.release.reads import OrdoTables
from mmrare.warehouse.release.records import RelatedConcept

_CODE = re.compile(r"^ORPHA:(\d+)$")


def _code_key(code: str) -> tuple[int, str]:
    match = _CODE.match(code)
    return (int(match[1]), code) if match else (1 << 62, code)


class Hierarchy:
    """Parent and child edges of one ORDO file, with memoised descendant counts."""

    def __init__(self, tables: OrdoTables) -> None:
        self.tables = tables
        children: dict[str, set[str]] = {}
        for code, parents in tables.parents.items():
            for parent in parents:
                children.setdefault(parent, set()).add(code)
        self.children = {k: tuple(sorted(v, key=_code_key)) for k, v in children.items()}
        self._descendants: dict[str, frozenset[str]] = {}

    def descendants(self, code: str) -> frozenset[str]:
        """Every concept below ``code`` (transitive, both relations), without ``code`` itself."""
        if code in self._descendants:
            return self._descendants[code]
        seen: set[str] = set()
        stack = list(self.children.get(code, ()))
        while stack:
            current = stack.pop()
            if current in seen or current == code:
                continue
            seen.add(current)
            stack.extend(self.children.get(current, ()))
        result = frozenset(seen)
        self._descendants[code] = result
        return result

    def _concept(self, code: str, relation: str) -> RelatedConcept | None:
        if code in self.tables.obsolete or code not in self.tables.labels:
            return None
        return RelatedConcept(
            code=code,
            label=self.tables.labels[code],
            aliases=self.tables.synonyms.get(code, ()),
            relation=relation,
            n_descendants=len(self.descendants(code)),
        )

    def related(self, code: str | None) -> tuple[RelatedConcept, ...]:
        """Direct parents, then direct children of ``code`` (each in ORPHA number order)."""
        if not code or code not in self.tables.labels:
            return ()
        parents = sorted(set(self.tables.parents.get(code, ())), key=_code_key)
        found = [self._concept(p, "parent") for p in parents]
        found += [self._concept(c, "child") for c in self.children.get(code, ())]
        return tuple(rc for rc in found if rc is not None)
