"""Croissant JSON-LD (MLCommons 1.1) for a release, and its validation with ``mlcroissant``.

Croissant lets dataset tools find the files, their checksums and the column types without reading
our docs: one FileSet of Parquet files and one RecordSet per track, list columns as arrays and the
image / ORDO-neighbour structs as sub-fields. No creation time goes in (the file must be byte-identical
for identical content; the time lives in manifest.json only).
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from mmrare.errors import FatalError
from mmrare.warehouse.release.images import MEDIA_TYPES
from mmrare.warehouse.release.schema import COLUMNS

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
_CONTEXT_TERMS = (
    "arrayShape", "citeAs", "column", "data", "dataType", "examples", "extract", "field", "fileObject",
    "fileProperty", "fileSet", "format", "includes", "isArray", "isLiveDataset", "jsonPath", "key", "md5",
    "parentField", "path", "recordSet", "references", "regex", "repeated", "replace", "separator", "source",
    "subField", "transform",
)  # fmt: skip
_MEDIA = {
    ".parquet": "application/x-parquet",
    ".jsonl": "application/jsonlines",
    ".tsv": "text/tab-separated-values",
    ".md": "text/markdown",
}


def context() -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "cr": "http://mlcommons.org/croissant/",
        "dct": "http://purl.org/dc/terms/",
        "sc": "https://schema.org/",
        "conformsTo": "dct:conformsTo",
    }
    for term in _CONTEXT_TERMS:
        ctx[term] = f"cr:{term}"
    ctx["data"] = {"@id": "cr:data", "@type": "@json"}
    ctx["examples"] = {"@id": "cr:examples", "@type": "@json"}
    ctx["dataType"] = {"@id": "cr:dataType", "@type": "@vocab"}
    return ctx


def _scalar_type(dtype: pa.DataType) -> str:
    if pa.types.is_integer(dtype):
        return "sc:Integer"
    if pa.types.is_boolean(dtype):
        return "sc:Boolean"
    if pa.types.is_floating(dtype):
        return "sc:Float"
    return "sc:Text"


def _field(record: str, name: str, dtype: pa.DataType, description: str, file_set: str) -> dict[str, Any]:
    source = {"fileSet": {"@id": file_set}, "extract": {"column": name}}
    out: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{record}/{name}",
        "name": name,
        "description": description,
    }
    if pa.types.is_list(dtype):
        out["isArray"] = True
        out["arrayShape"] = "-1"
        dtype = dtype.value_type
    if pa.types.is_struct(dtype):
        out["subField"] = [
            {
                "@type": "cr:Field",
                "@id": f"{record}/{name}/{child.name}",
                "name": child.name,
                "dataType": _scalar_type(
                    child.type.value_type if pa.types.is_list(child.type) else child.type
                ),
                **({"isArray": True, "arrayShape": "-1"} if pa.types.is_list(child.type) else {}),
                "source": {**source, "transform": {"jsonPath": child.name}},
            }
            for child in dtype
        ]
    else:
        out["dataType"] = _scalar_type(dtype)
        out["source"] = source
    return out


def croissant(
    *,
    name: str,
    version: str,
    description: str,
    url: str | None,
    licences: Sequence[str],
    files: Mapping[str, str],
    tracks: Mapping[str, int],
    citation: str,
) -> dict[str, Any]:
    """The JSON-LD document. ``files``: relative path -> sha256 of every data file; ``tracks``: items."""
    distribution: list[dict[str, Any]] = []
    for path in sorted(files):
        suffix = Path(path).suffix
        if path.startswith("images/") or suffix not in _MEDIA:
            continue
        entry = {"@type": "cr:FileObject", "@id": path, "name": path, "contentUrl": path,
                 "encodingFormat": _MEDIA[suffix], "sha256": files[path]}  # fmt: skip
        if path.startswith("tsv/"):  # tsv/<track>_<split>.tsv
            track, _, split = Path(path).stem.rpartition("_")
            entry["description"] = f"VLMEvalKit multiple-choice TSV of the {track} track, {split} split only."
        distribution.append(entry)
    for ext in sorted({Path(p).suffix.lstrip(".") for p in files if p.startswith("images/")}):
        distribution.append(
            {"@type": "cr:FileSet", "@id": f"images-{ext}", "name": f"images-{ext}",
             "description": "Item images, each stored once and named by its sha256.",
             "encodingFormat": MEDIA_TYPES.get(ext, "application/octet-stream"),
             "includes": f"images/*.{ext}"}
        )  # fmt: skip
    record_sets = []
    for track in sorted(t for t, n in tracks.items() if n):
        file_set = f"parquet-{track}"
        distribution.append(
            {"@type": "cr:FileSet", "@id": file_set, "name": file_set,
             "description": f"Parquet files of the {track} track (one per split).",
             "encodingFormat": "application/x-parquet", "includes": f"data/{track}/*.parquet"}
        )  # fmt: skip
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": track,
                "name": track,
                "description": f"Items of the {track} track ({tracks[track]} items, dev and test splits).",
                "key": {"@id": f"{track}/item_id"},
                "field": [_field(track, n, t, d, file_set) for n, t, d in COLUMNS],
            }
        )
    doc: dict[str, Any] = {
        "@context": context(),
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "version": version,
        "license": list(licences),
        "citeAs": citation,
        "keywords": ["rare diseases", "multimodal", "multi-image", "medical VQA", "case reports", "Orphanet"],
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if url:
        doc["url"] = url
    return doc


def dump(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def validate(path: Path) -> list[str]:
    """Problems ``mlcroissant`` finds in ``path`` (empty when valid); FatalError if it is not installed."""
    try:
        import mlcroissant as mlc
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise FatalError(f"mlcroissant is not installed ({exc}); cannot validate {path}") from exc
    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # rdflib inside mlcroissant warns about its own deprecated API
            warnings.simplefilter("ignore", DeprecationWarning)
            mlc.Dataset(jsonld=str(path))
    except mlc.ValidationError as exc:
        return [line.strip() for line in str(exc).splitlines() if line.strip()]
    return []
