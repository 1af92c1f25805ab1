"""In-memory index over one ORDO release: concepts by code and by cross-reference, and the hierarchy.

Built from :class:`~mmrare.ontology.model.Concept` records (see :func:`mmrare.ontology.store.load_ordo`).
Ancestor / descendant sets are computed on first use and memoised per (code, relations).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrare.ontology.model import (
    ALL_RELATIONS,
    Concept,
    GeneAssociation,
    Level,
    MappingRelation,
    OrdoRelease,
    Relation,
    Status,
    parse_code,
    split_xref,
)

# Exact mappings first when one external code maps to several ORPHA codes.
_RELATION_RANK = {
    MappingRelation.E: 0,
    MappingRelation.NTBT_E: 1,
    MappingRelation.BTNT_E: 1,
    MappingRelation.NTBT: 2,
    MappingRelation.BTNT: 2,
    None: 3,
    MappingRelation.ND: 4,
    MappingRelation.W: 5,
}


class OrdoIndex:
    """Read-only lookups over the concepts of one :class:`OrdoRelease`.

    Codes may be given in any spelling :func:`~mmrare.ontology.model.parse_code` accepts
    ("ORPHA:558", "Orphanet_558", the IRI); results always use ``ORPHA:<n>``.
    Hierarchy methods take ``relations``: ``is_a`` edges (direct named superclasses) and/or
    ``part_of`` edges (the Orphanet classifications, where most of the disorder hierarchy lives).
    """

    def __init__(
        self,
        release: OrdoRelease,
        concepts: Iterable[Concept],
        gene_associations: Iterable[GeneAssociation] = (),
        cache_entry: Path | None = None,
    ) -> None:
        self._release = release
        self._cache_entry = cache_entry
        self._concepts: dict[str, Concept] = {c.code: c for c in concepts}
        self._gene_associations = tuple(gene_associations)
        # Built on first use, so a warm load stays fast for callers that never need them.
        self._xref_index: dict[tuple[str, str], list[Concept]] | None = None
        self._children: dict[Relation, dict[str, list[str]]] | None = None
        self._child_codes: dict[tuple[str, tuple[Relation, ...]], tuple[str, ...]] = {}
        self._up: dict[tuple[str, tuple[Relation, ...]], frozenset[str]] = {}
        self._down: dict[tuple[str, tuple[Relation, ...]], frozenset[str]] = {}
        self._genes_of: dict[str, list[GeneAssociation]] | None = None
        self._derived: dict[str, dict[Any, Any]] = {}

    # -- identity ---------------------------------------------------------------------------

    @property
    def release(self) -> OrdoRelease:
        return self._release

    @property
    def cache_entry(self) -> Path | None:
        """The cache folder of this release (``<cache_dir>/<sha256>``), when loaded with a cache;
        derived structures may be stored there (see :func:`mmrare.ontology.store.cached_artifact`)."""
        return self._cache_entry

    def __len__(self) -> int:
        return len(self._concepts)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self._code(code) is not None

    def __repr__(self) -> str:
        r = self._release
        return f"OrdoIndex(version={r.version!r}, sha256={r.sha256[:12]}..., concepts={len(self)})"

    def _code(self, code: str) -> str | None:
        if code in self._concepts:
            return code
        normal = parse_code(code)
        return normal if normal in self._concepts else None

    def derived(self, name: str) -> dict[Any, Any]:
        """A memo that lives as long as this index, for results other modules derive from the
        release alone (e.g. which codes can be a diagnosis): computed once per release, and gone
        with the index when a new release is loaded."""
        memo = self._derived.get(name)
        if memo is None:
            memo = self._derived.setdefault(name, {})
        return memo

    # -- concepts ---------------------------------------------------------------------------

    def get(self, code: str) -> Concept | None:
        """The concept for a code, or None when the release does not have it."""
        normal = self._code(code)
        return self._concepts[normal] if normal else None

    def __getitem__(self, code: str) -> Concept:
        concept = self.get(code)
        if concept is None:
            raise KeyError(f"{code}: not in ORDO {self._release.version}")
        return concept

    def concepts(
        self, *, levels: Iterable[Level] | None = None, include_inactive: bool = True
    ) -> Iterator[Concept]:
        """Concepts in code order; ``levels`` filters (e.g. clinical entities only), and
        ``include_inactive=False`` drops obsolete, deprecated and non rare entities."""
        wanted = frozenset(levels) if levels is not None else None
        for concept in self._concepts.values():
            if wanted is not None and concept.level not in wanted:
                continue
            if not include_inactive and concept.status is not Status.ACTIVE:
                continue
            yield concept

    def by_xref(self, xref: str) -> tuple[Concept, ...]:
        """Concepts mapped to an external code ("OMIM:154700", "ICD-10:Q87.4", "MeSH:D008382"),
        exact mappings first; () when unknown or not an xref."""
        parts = split_xref(xref)
        if parts is None:
            return ()
        if self._xref_index is None:
            index: dict[tuple[str, str], list[Concept]] = defaultdict(list)
            for concept in self._concepts.values():
                for ref in concept.xrefs:
                    index[(ref.source, ref.xref_id.upper())].append(concept)
            self._xref_index = index
        source, xref_id = parts[0], parts[1].upper()
        hits: list[tuple[int, tuple[int, int, str], Concept]] = []
        for concept in self._xref_index.get((source, xref_id), ()):
            rank = min(
                _RELATION_RANK.get(x.relation, 3)
                for x in concept.xrefs
                if x.source == source and x.xref_id.upper() == xref_id
            )
            hits.append((rank, _sort_key(concept.code), concept))
        hits.sort(key=lambda h: (h[0], h[1]))
        out: dict[str, Concept] = {}
        for _rank, _key, concept in hits:
            out.setdefault(concept.code, concept)
        return tuple(out.values())

    def resolve_obsolete(self, code: str) -> Concept | None:
        """The active concept to use for ``code``: itself when active, else its replacement, followed
        through chains of replacements; None for an unknown code or one with no replacement."""
        concept = self.get(code)
        seen: set[str] = set()
        while concept is not None and concept.obsolete:
            if concept.replaced_by is None or concept.code in seen:
                return None
            seen.add(concept.code)
            concept = self.get(concept.replaced_by)
        return concept

    # -- hierarchy --------------------------------------------------------------------------

    def parents(self, code: str, relations: Iterable[Relation] = ALL_RELATIONS) -> tuple[str, ...]:
        concept = self.get(code)
        return concept.parents(_relations(relations)) if concept else ()

    def children(self, code: str, relations: Iterable[Relation] = ALL_RELATIONS) -> tuple[str, ...]:
        """Direct children in code order; memoised per (code, relations), since drafting asks for
        the same classification groups' (often hundreds of) children case after case."""
        normal = self._code(code)
        if normal is None:
            return ()
        chosen = _relations(relations)
        key = (normal, chosen)
        cached = self._child_codes.get(key)
        if cached is None:
            cached = self._child_codes[key] = self._sorted_children(normal, chosen)
        return cached

    def _sorted_children(self, normal: str, relations: tuple[Relation, ...]) -> tuple[str, ...]:
        if self._children is None:
            children: dict[Relation, dict[str, list[str]]] = {r: defaultdict(list) for r in ALL_RELATIONS}
            for concept in self._concepts.values():
                for parent in concept.is_a:
                    children[Relation.IS_A][parent].append(concept.code)
                for parent in concept.part_of:
                    children[Relation.PART_OF][parent].append(concept.code)
            self._children = children
        out: dict[str, None] = {}
        for relation in relations:
            for child in self._children[relation].get(normal, ()):
                out.setdefault(child, None)
        return tuple(sorted(out, key=_sort_key))

    def ancestors(self, code: str, relations: Iterable[Relation] = ALL_RELATIONS) -> frozenset[str]:
        """Every concept reachable upwards (the code itself excluded)."""
        return self._closure(code, _relations(relations), self._up, self.parents)

    def descendants(self, code: str, relations: Iterable[Relation] = ALL_RELATIONS) -> frozenset[str]:
        """Every concept reachable downwards (the code itself excluded)."""
        return self._closure(code, _relations(relations), self._down, self.children)

    def _closure(
        self,
        code: str,
        relations: tuple[Relation, ...],
        memo: dict[tuple[str, tuple[Relation, ...]], frozenset[str]],
        step: Callable[[str, tuple[Relation, ...]], tuple[str, ...]],
    ) -> frozenset[str]:
        start = self._code(code)
        if start is None:
            return frozenset()
        key = (start, relations)
        cached = memo.get(key)
        if cached is not None:
            return cached
        found: set[str] = set()
        stack = [start]
        while stack:
            current = stack.pop()
            for nxt in step(current, relations):
                if nxt in found:
                    continue
                found.add(nxt)
                done = memo.get((nxt, relations))
                if done is not None:
                    found |= done
                else:
                    stack.append(nxt)
        found.discard(start)
        result = frozenset(found)
        memo[key] = result
        return result

    def is_descendant(self, code: str, ancestor: str, relations: Iterable[Relation] = ALL_RELATIONS) -> bool:
        target = self._code(ancestor)
        return target is not None and target in self.ancestors(code, relations)

    # -- genes ------------------------------------------------------------------------------

    @property
    def gene_associations(self) -> tuple[GeneAssociation, ...]:
        return self._gene_associations

    def genes_for(self, code: str) -> tuple[GeneAssociation, ...]:
        """Gene associations of a disorder (empty when none are recorded)."""
        if self._genes_of is None:
            by_disorder: dict[str, list[GeneAssociation]] = defaultdict(list)
            for link in self._gene_associations:
                by_disorder[link.disorder].append(link)
            self._genes_of = by_disorder
        normal = self._code(code)
        return tuple(self._genes_of.get(normal, ())) if normal else ()


def _relations(relations: Iterable[Relation]) -> tuple[Relation, ...]:
    """A canonical, hashable form of a relation selection (also accepts "is_a" / "part_of")."""
    if isinstance(relations, (str, Relation)):
        relations = (relations,)
    return _canonical_relations(tuple(relations))


@functools.cache
def _canonical_relations(relations: tuple[Relation, ...]) -> tuple[Relation, ...]:
    """:func:`_relations` of a tuple, remembered: a hierarchy walk asks for every concept it
    passes, always with one of a handful of selections."""
    chosen = {Relation(r) for r in relations}
    return tuple(r for r in ALL_RELATIONS if r in chosen)


def _sort_key(code: str) -> tuple[int, int, str]:
    local = code.split(":", 1)[1]
    return (1, 0, local) if not local.isdigit() else (0, int(local), "")
