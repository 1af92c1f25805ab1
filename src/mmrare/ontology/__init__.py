"""Ontology stage: the Orphanet Rare Disease Ontology (ORDO) as typed concepts.

- :mod:`~mmrare.ontology.store`: ``load_ordo(path, cache_dir)`` -> :class:`~mmrare.ontology.index.OrdoIndex`
  (parse once with rdflib + Oxigraph, then a sha256-keyed on-disk cache).
- :mod:`~mmrare.ontology.model`: the records (``Concept``, ``Xref``, ``OrdoRelease``, ...) and code helpers.
- :mod:`~mmrare.ontology.index`: lookups by code and xref, the is_a / part_of hierarchy, obsolete codes.
- :mod:`~mmrare.ontology.lookup`: ``lookup(index, query)`` by code, xref, name and fuzzy name.
- :mod:`~mmrare.ontology.rows` / :mod:`~mmrare.ontology.orphadata`: warehouse rows (``002_ordo.sql``).
"""
