"""Item files of a release: Parquet and VLMEvalKit TSV per track and split, JSONL per track.

Byte-identical output for identical rows is the point: rows are sorted (split, then item id), the
Parquet writer options are fixed (schema.PARQUET_OPTIONS, one row group), JSON is written with fixed
separators, and no file carries a timestamp or a path of the build machine.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mmrare.warehouse.release.records import ReleaseItem
from mmrare.warehouse.release.schema import ITEM_SCHEMA, LETTERS, PARQUET_OPTIONS, SPLITS, data_path, tsv_path

TSV_COLUMNS: tuple[str, ...] = (
    "index", "item_id", "split", "image", "question", "hint", *LETTERS, "answer", "category", "l2-category",
)  # fmt: skip


def ordered(items: Sequence[ReleaseItem]) -> list[ReleaseItem]:
    """The one row order of every file: dev before test, then item id."""
    return sorted(items, key=lambda i: (SPLITS.index(i.split), i.item.item_id))


def write_parquet(root: Path, track: str, split: str, items: Sequence[ReleaseItem]) -> str:
    """``data/<track>/<split>.parquet``; returns its relative path."""
    relative = data_path(track, split)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([i.row() for i in ordered(items)], schema=ITEM_SCHEMA)
    pq.write_table(table, path, row_group_size=max(1, table.num_rows), **PARQUET_OPTIONS)  # type: ignore[arg-type]
    return relative


def write_jsonl(root: Path, track: str, items: Sequence[ReleaseItem]) -> str:
    """``jsonl/<track>.jsonl``: the Parquet rows, one JSON object per line."""
    relative = f"jsonl/{track}.jsonl"
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(i.row(), ensure_ascii=False, separators=(",", ":")) for i in ordered(items)]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return relative


def _b64(root: Path, relative: str, cache: dict[str, str]) -> str:
    if relative not in cache:
        cache[relative] = base64.b64encode((root / relative).read_bytes()).decode("ascii")
    return cache[relative]


def write_tsv(root: Path, track: str, split: str, items: Sequence[ReleaseItem]) -> str:
    """``tsv/<track>_<split>.tsv`` in the VLMEvalKit multiple-choice layout, the rows of one split.

    VLMEvalKit evaluates every row of a TSV it is given, so dev and test live in separate files: a run
    on dev cannot score test items by accident.

    ``image`` is a JSON list of base64 images in position order (VLMEvalKit reads a bracketed cell as a
    list), ``hint`` the context, ``A``..``J`` the options (empty cells past the last one), ``answer``
    the letter, ``category`` the question type and ``l2-category`` the track. ``index`` numbers the
    rows of this file; ``item_id`` is the stable id; ``split`` is the file's split. Images are read from
    the release itself, after they were copied and checked.
    """
    if any(i.split != split for i in items):
        raise ValueError(f"write_tsv({track!r}, {split!r}) was given rows of another split")
    relative = tsv_path(track, split)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(TSV_COLUMNS)
    cache: dict[str, str] = {}
    for index, released in enumerate(ordered(items)):
        item = released.item
        options = list(item.options) + [""] * (len(LETTERS) - len(item.options))
        images = json.dumps([_b64(root, im.file, cache) for im in released.images])
        writer.writerow(
            [index, item.item_id, released.split, images, item.question, item.context, *options,
             released.answer_letter, item.question_type, item.track]
        )  # fmt: skip
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return relative
