"""Load ORDO once, keep the concept model in an on-disk cache keyed by the file's sha256.

Layout under the cache directory the caller passes (e.g. ``workspace/cache/ordo``)::

    <sha256>/concepts-<EXTRACTOR_VERSION>.pickle     the concept model as plain tuples
    <sha256>/_complete-<EXTRACTOR_VERSION>.json      done-marker, written last

A cold load parses the OWL file (:mod:`mmrare.ontology.owl`) and writes both files atomically,
marker last; a warm load checks the marker, reads the pickle and verifies its sha256 and version.
A stale, partial or corrupt cache entry is rebuilt, never trusted. The pickle is only ever read
from the cache the pipeline itself wrote; it is not an exchange format.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mmrare.errors import FatalError
from mmrare.files import atomic_write
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import (
    Concept,
    EntityType,
    GeneAssociation,
    Level,
    MappingRelation,
    OrdoRelease,
    Status,
    Xref,
)

if TYPE_CHECKING:
    from mmrare.ontology.owl import ParsedOrdo

log = logging.getLogger(__name__)
T = TypeVar("T")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Bump whenever the extraction or the cached layout changes: old cache entries are then ignored.
EXTRACTOR_VERSION = "ordo-extract-1"


def load_ordo(path: Path | str, cache_dir: Path | str | None = None) -> OrdoIndex:
    """The :class:`OrdoIndex` of an ORDO ``.owl`` / ``.owl.gz`` file.

    With ``cache_dir``, the extracted model is cached under ``cache_dir/<sha256>/`` and later loads
    of the same file bytes read that instead of parsing. A missing, unreadable or non-OWL file is a
    :class:`~mmrare.errors.FatalError` naming the file.
    """
    from mmrare.ontology.owl import file_sha256

    path = Path(path)
    if not path.exists():
        raise FatalError(f"{path}: ORDO file not found")
    if not path.is_file():
        raise FatalError(f"{path}: not a file; give the path of an ORDO .owl or .owl.gz file")
    sha256 = file_sha256(path)
    entry = Path(cache_dir) / sha256 if cache_dir is not None else None
    if entry is not None:
        index = _read_cache(entry, sha256, path)
        if index is not None:
            return index
    started = time.perf_counter()
    parsed = _parse(path)
    if parsed.release.sha256 != sha256:
        raise FatalError(f"{path}: file changed while it was being read; load it again")
    index = OrdoIndex(parsed.release, parsed.concepts, parsed.gene_associations, cache_entry=entry)
    log.info("parsed %s (%d concepts) in %.1f s", path.name, len(index), time.perf_counter() - started)
    if entry is not None:
        _write_cache(entry, _to_payload(parsed.release, parsed.concepts, parsed.gene_associations))
    return index


def cached_artifact(index: OrdoIndex, name: str, build: Callable[[], T]) -> T:
    """A structure derived from ``index`` (a lookup table, a linker dictionary), built once per
    release: pickled as ``<cache entry>/<name>.pickle`` when the index was loaded with a cache.

    ``name`` must change whenever the builder's output may change ("lookup-2"). The value must be
    plain picklable data; anything unreadable is rebuilt.
    """
    if not _ARTIFACT_NAME.match(name) or name.startswith("concepts-"):
        raise ValueError(f"artifact name {name!r}: use letters, digits, '-', '_' and '.'")
    entry = index.cache_entry
    if entry is None:
        return build()
    path = entry / f"{name}.pickle"
    try:
        payload = pickle.loads(path.read_bytes())
        if isinstance(payload, dict) and payload.get("sha256") == index.release.sha256:
            return payload["value"]  # type: ignore[no-any-return]
    except FileNotFoundError:
        pass
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        EOFError,
        AttributeError,
        pickle.UnpicklingError,
    ) as exc:
        log.warning("ignoring cached %s (%s); rebuilding it", path, exc)
    value = build()
    try:
        pickled = pickle.dumps({"sha256": index.release.sha256, "value": value}, protocol=5)
        atomic_write(path, pickled, fsync=True)
    except OSError as exc:
        log.warning("could not cache %s: %s", path, exc)
    return value


def _parse(path: Path) -> ParsedOrdo:
    from mmrare.ontology.owl import read_ordo

    return read_ordo(path)


# -- cache ------------------------------------------------------------------------------------


def _pickle_path(entry: Path) -> Path:
    return entry / f"concepts-{EXTRACTOR_VERSION}.pickle"


def _marker_path(entry: Path) -> Path:
    return entry / f"_complete-{EXTRACTOR_VERSION}.json"


def _read_cache(entry: Path, sha256: str, source: Path) -> OrdoIndex | None:
    marker = _marker_path(entry)
    if not marker.is_file():
        return None
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
        if meta.get("sha256") != sha256 or meta.get("extractor") != EXTRACTOR_VERSION:
            raise ValueError("marker does not match")
        data = _pickle_path(entry).read_bytes()
        if len(data) != meta.get("bytes"):
            raise ValueError("cached model has the wrong size")
        payload = pickle.loads(data)
        if payload.get("sha256") != sha256 or payload.get("extractor") != EXTRACTOR_VERSION:
            raise ValueError("cached model does not match")
        return _from_payload(payload, source.name, entry)
    except (OSError, ValueError, KeyError, TypeError, EOFError, pickle.UnpicklingError) as exc:
        log.warning("ignoring ORDO cache %s (%s); rebuilding it", entry, exc)
        return None


def _write_cache(entry: Path, payload: dict[str, Any]) -> None:
    """Write the model, then the marker; a crash in between leaves no marker, so no false hit."""
    try:
        entry.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(_pickle_path(entry), data, fsync=True)
        meta = {
            "sha256": payload["sha256"],
            "extractor": EXTRACTOR_VERSION,
            "bytes": len(data),
            "ordo_version": payload["release"][0],
            "concepts": len(payload["concepts"]),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write(_marker_path(entry), json.dumps(meta, indent=1, sort_keys=True).encode(), fsync=True)
    except OSError as exc:
        # The index is already built; a cache we cannot write only costs time on the next load.
        log.warning("could not write ORDO cache %s: %s", entry, exc)


# -- payload: the model as plain tuples (fast to pickle, independent of the record classes) -----


def _to_payload(
    release: OrdoRelease, concepts: tuple[Concept, ...], genes: tuple[GeneAssociation, ...]
) -> dict[str, Any]:
    rows = [
        (
            c.code,
            c.label,
            c.entity_type.value,
            c.level.value,
            c.status.value,
            c.non_rare,
            c.definition,
            c.synonyms,
            tuple(
                (x.source, x.xref_id, x.relation.value if x.relation else None, x.icd_relation)
                for x in c.xrefs
            ),
            c.is_a,
            c.part_of,
            c.replaced_by,
            c.obsolescence_reason,
            c.symbol,
            c.locus,
        )
        for c in concepts
    ]
    return {
        "extractor": EXTRACTOR_VERSION,
        "sha256": release.sha256,
        "release": (release.version, release.modified, release.sha256, release.version_iri),
        "concepts": rows,
        "genes": [(g.gene, g.disorder, g.relation, g.relation_code) for g in genes],
    }


def _from_payload(payload: dict[str, Any], source_name: str, entry: Path | None) -> OrdoIndex:
    version, modified, sha256, version_iri = payload["release"]
    release = OrdoRelease(version, modified, sha256, version_iri, source_name)
    types = {m.value: m for m in EntityType}
    levels = {m.value: m for m in Level}
    statuses = {m.value: m for m in Status}
    relations: dict[str | None, MappingRelation | None] = {None: None}
    relations.update({m.value: m for m in MappingRelation})
    xref_cache: dict[tuple[str, str, str | None, str | None], Xref] = {}

    def xref(row: tuple[str, str, str | None, str | None]) -> Xref:
        found = xref_cache.get(row)
        if found is None:
            found = xref_cache[row] = Xref(row[0], row[1], relations[row[2]], row[3])
        return found

    concepts = [
        Concept(
            r[0],
            r[1],
            types[r[2]],
            levels[r[3]],
            statuses[r[4]],
            r[5],
            r[6],
            r[7],
            tuple(xref(x) for x in r[8]),
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
            r[14],
        )
        for r in payload["concepts"]
    ]
    genes = [GeneAssociation(*g) for g in payload["genes"]]
    return OrdoIndex(release, concepts, genes, cache_entry=entry)

