"""On-disk cache of the term table, keyed by the ORDO file's sha256 and the linker version.

Layout under the directory the caller passes (e.g. ``workspace/cache/linking``)::

    <ordo sha256>/terms-<linker version>.pickle     the TermTable
    <ordo sha256>/_complete-<linker version>.json   done-marker, written last

The marker and the pickle also carry a fingerprint of the code that builds the table (see
:func:`~mmrare.ontology.linking.matcher.table_fingerprint`), so an edit to the term rules that
forgot to bump the linker version still rebuilds instead of reusing a stale table. The pickle is only
ever read from a cache this code wrote (never an exchange format); a missing marker, a size, key or
fingerprint mismatch, or an unreadable file means "rebuild", never an error.
"""

from __future__ import annotations

import json
import logging
import pickle
from datetime import UTC, datetime
from pathlib import Path

from mmrare.files import atomic_write
from mmrare.ontology.linking.terms import TermTable

log = logging.getLogger(__name__)


_UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, pickle.UnpicklingError)


def entry_dir(cache_dir: Path, sha256: str) -> Path:
    return Path(cache_dir) / sha256


def _file_key(version: str) -> str:
    return version.replace("/", "-")


def _pickle_path(entry: Path, version: str) -> Path:
    return entry / f"terms-{_file_key(version)}.pickle"


def _marker_path(entry: Path, version: str) -> Path:
    return entry / f"_complete-{_file_key(version)}.json"


def read_table(cache_dir: Path, sha256: str, version: str, fingerprint: str = "") -> TermTable | None:
    """The cached table for this ORDO file, linker version and code fingerprint, or None when there
    is no valid one."""
    entry = entry_dir(cache_dir, sha256)
    marker = _marker_path(entry, version)
    if not marker.is_file():
        return None
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
        if meta.get("sha256") != sha256 or meta.get("linker") != version:
            raise ValueError("marker does not match")
        if meta.get("fingerprint") != fingerprint:
            log.info("linker code changed since %s was cached; rebuilding the term table", entry)
            return None
        data = _pickle_path(entry, version).read_bytes()
        if len(data) != meta.get("bytes"):
            raise ValueError("cached table has the wrong size")
        payload = pickle.loads(data)
        if (payload.get("sha256"), payload.get("linker"), payload.get("fingerprint")) != (
            sha256, version, fingerprint,
        ):
            raise ValueError("cached table does not match")
        table = payload["table"]
        if not isinstance(table, TermTable):
            raise TypeError("cached object is not a TermTable")
        return table
    except _UNREADABLE as exc:
        log.warning("ignoring linker cache %s (%s); rebuilding it", entry, exc)
        return None


def write_table(cache_dir: Path, sha256: str, version: str, table: TermTable, fingerprint: str = "") -> None:
    """Write the table, then the marker; a crash in between leaves no marker, so no false hit."""
    entry = entry_dir(cache_dir, sha256)
    payload = {"sha256": sha256, "linker": version, "fingerprint": fingerprint, "table": table}
    try:
        entry.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(_pickle_path(entry, version), data, fsync=True)
        meta = {
            "sha256": sha256,
            "linker": version,
            "fingerprint": fingerprint,
            "bytes": len(data),
            "terms": len(table.terms),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        marker = json.dumps(meta, indent=1, sort_keys=True).encode()
        atomic_write(_marker_path(entry, version), marker, fsync=True)
    except OSError as exc:
        # The linker is already built; a cache we cannot write only costs time on the next build.
        log.warning("could not write linker cache %s: %s", entry, exc)


