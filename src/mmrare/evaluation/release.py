"""Read a release directory into typed items, checking each file read against ``manifest.json``.

A release is immutable and checksummed; scoring a tampered or half-copied release would silently
change published numbers, so every file read here is verified and a mismatch stops the run with the
file named.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mmrare.dates import PartialDate
from mmrare.errors import FatalError

TRACKS = ("diagnosis", "examination", "treatment", "cross_image")
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class ImageRef:
    """One image of an item, in the order the model sees it."""

    position: int
    marker: str
    file: str
    sha256: str
    original_name: str = ""
    figure_id: str = ""


@dataclass(frozen=True)
class RelatedConcept:
    """An ORDO neighbour of the gold diagnosis, for partial credit."""

    code: str
    label: str
    aliases: tuple[str, ...]
    relation: str  # "parent" | "child"
    n_descendants: int


@dataclass(frozen=True)
class Item:
    """One benchmark item as the release stores it (the columns scoring and prompting need)."""

    item_id: str
    track: str
    split: str
    question: str
    context: str
    options: tuple[str, ...]
    answer_index: int
    answer_letter: str
    answer: str
    images: tuple[ImageRef, ...] = ()
    aliases: tuple[str, ...] = ()
    item_version: int = 0
    question_type: str = ""
    pmcid: str = ""
    orpha_code: str | None = None
    answer_category: str | None = None
    related_concepts: tuple[RelatedConcept, ...] = ()
    evidence_figure_ids: tuple[str, ...] = ()
    evidence_image_positions: tuple[int, ...] = ()
    leakage_clean: bool = True
    leakage_flags: tuple[str, ...] = ()
    licence: str = ""
    published: PartialDate | None = None  # the article's publication date; None when unknown


@dataclass
class Release:
    """A loaded release: its identity (version + manifest checksum) and its items in file order.

    ``tracks`` and ``splits`` are the selection it was loaded with (None: all), recorded with
    predictions so a later score on the whole release can say why items have no prediction.
    """

    root: Path
    version: str
    manifest_sha256: str
    manifest: dict[str, Any]
    items: list[Item] = field(default_factory=list)
    tracks: tuple[str, ...] | None = None
    splits: tuple[str, ...] | None = None

    def by_id(self) -> dict[str, Item]:
        return {item.item_id: item for item in self.items}

    def verify_file(self, relative: str) -> Path:
        """The path of ``relative`` after checking its sha256 against the manifest."""
        return _verified(self.root, self.manifest, relative)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(root: Path, manifest: dict[str, Any], relative: str) -> Path:
    files = manifest.get("files") or {}
    expected = files.get(relative)
    path = root / relative
    if expected is None:
        raise FatalError(f"{path}: not listed in {root / 'manifest.json'}")
    if not path.is_file():
        raise FatalError(f"{path}: listed in the manifest but missing")
    actual = sha256_file(path)
    if actual != expected:
        raise FatalError(f"{path}: sha256 {actual[:12]}… does not match the manifest ({expected[:12]}…)")
    return path


def load_release(root: Path, *, tracks: list[str] | None = None, splits: list[str] | None = None) -> Release:
    """Read ``manifest.json`` and the Parquet files of the chosen tracks and splits (all by default)."""
    root = Path(root)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise FatalError(f"{manifest_path}: not found (is {root} a release directory?)")
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FatalError(f"{manifest_path}: not valid JSON ({exc})") from exc
    for name in tracks or []:
        if name not in TRACKS:
            raise FatalError(f"unknown track {name!r}; tracks are {', '.join(TRACKS)}")
    release = Release(
        root=root,
        version=str(manifest.get("version", root.name)),
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        manifest=manifest,
        tracks=tuple(tracks) if tracks else None,
        splits=tuple(splits) if splits else None,
    )
    wanted_tracks = tracks or list(TRACKS)
    wanted_splits = splits or list(SPLITS)
    files = manifest.get("files") or {}
    for track in wanted_tracks:
        for split in wanted_splits:
            relative = f"data/{track}/{split}.parquet"
            if relative not in files:
                continue  # a release may have no rows for a track/split; the manifest says which exist
            path = _verified(root, manifest, relative)
            release.items.extend(_item(row, path) for row in pq.read_table(path).to_pylist())
    if not release.items:
        raise FatalError(f"{root}: no item files for tracks {wanted_tracks} and splits {wanted_splits}")
    return release


def _item(row: dict[str, Any], path: Path) -> Item:
    try:
        return Item(
            item_id=row["item_id"],
            item_version=int(row.get("item_version") or 0),
            track=row["track"],
            split=row["split"],
            question_type=row.get("question_type") or "",
            pmcid=row.get("pmcid") or "",
            question=row["question"],
            context=row.get("context") or "",
            images=tuple(
                ImageRef(
                    position=int(im["position"]),
                    marker=im["marker"],
                    file=im["file"],
                    sha256=im["sha256"],
                    original_name=im.get("original_name") or "",
                    figure_id=im.get("figure_id") or "",
                )
                for im in sorted(row.get("images") or [], key=lambda im: im["position"])
            ),
            options=tuple(row["options"]),
            answer_index=int(row["answer_index"]),
            answer_letter=row["answer_letter"],
            answer=row["answer"],
            aliases=tuple(row.get("aliases") or ()),
            orpha_code=row.get("orpha_code"),
            answer_category=row.get("answer_category"),
            related_concepts=tuple(
                RelatedConcept(
                    code=rc["code"],
                    label=rc["label"],
                    aliases=tuple(rc.get("aliases") or ()),
                    relation=rc["relation"],
                    n_descendants=int(rc.get("n_descendants") or 0),
                )
                for rc in row.get("related_concepts") or []
            ),
            evidence_figure_ids=tuple(row.get("evidence_figure_ids") or ()),
            evidence_image_positions=tuple(int(p) for p in row.get("evidence_image_positions") or ()),
            leakage_clean=bool(row.get("leakage_clean", True)),
            leakage_flags=tuple(row.get("leakage_flags") or ()),
            licence=row.get("licence") or "",
            published=PartialDate.parse(row["published"]) if row.get("published") else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FatalError(f"{path}: item {row.get('item_id')!r} is malformed ({exc!r})") from exc
