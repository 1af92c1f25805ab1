"""A small real release for evaluation tests: seven items over four tracks, real figures, real sha256s.

Written per docs/release-format.md by hand (not by the release builder), so the evaluation tests pin
the file contract itself. Expected scores in the tests are computed by hand from these rows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
FIGURES = SHARED / "figures"

IMAGE_STRUCT = pa.struct(
    [
        ("position", pa.int32()),
        ("marker", pa.string()),
        ("file", pa.string()),
        ("sha256", pa.string()),
        ("original_name", pa.string()),
        ("figure_id", pa.string()),
    ]
)
RELATED_STRUCT = pa.struct(
    [
        ("code", pa.string()),
        ("label", pa.string()),
        ("aliases", pa.list_(pa.string())),
        ("relation", pa.string()),
        ("n_descendants", pa.int32()),
    ]
)
SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("item_version", pa.int32()),
        ("track", pa.string()),
        ("question_type", pa.string()),
        ("pmcid", pa.string()),
        ("published", pa.string()),
        ("split", pa.string()),
        ("question", pa.string()),
        ("context", pa.string()),
        ("images", pa.list_(IMAGE_STRUCT)),
        ("options", pa.list_(pa.string())),
        ("answer_index", pa.int32()),
        ("answer_letter", pa.string()),
        ("answer", pa.string()),
        ("aliases", pa.list_(pa.string())),
        ("orpha_code", pa.string()),
        ("answer_category", pa.string()),
        ("related_concepts", pa.list_(RELATED_STRUCT)),
        ("evidence_sentence_ids", pa.list_(pa.string())),
        ("evidence_figure_ids", pa.list_(pa.string())),
        ("evidence_image_positions", pa.list_(pa.int32())),
        ("leakage_clean", pa.bool_()),
        ("leakage_flags", pa.list_(pa.string())),
        ("licence", pa.string()),
    ]
)

# (pmcid, file names) of real figures under shared/figures used as item images
FIGS = {
    "PMC1064083": ["bcr936-1.jpg", "bcr936-2.jpg"],
    "PMC1174970": ["ar1748-1.jpg", "ar1748-2.jpg"],
    "PMC10118017": ["fpls-14-1154535-g001.jpg", "fpls-14-1154535-g002.jpg", "fpls-14-1154535-g003.jpg"],
}
# Publication dates of the articles, one per precision: to the month, to the day, unknown.
PUBLISHED = {"PMC1064083": "2005-03", "PMC1174970": "2005-06-24", "PMC10118017": None}


def _item(
    item_id: str,
    track: str,
    split: str,
    pmcid: str,
    options: list[str],
    answer_index: int,
    *,
    n_images: int = 2,
    evidence: list[int] | None = None,
    aliases: list[str] | None = None,
    orpha_code: str | None = None,
    related: list[dict[str, Any]] | None = None,
    clean: bool = True,
    question_type: str | None = None,
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "item_version": 0,
        "track": track,
        "question_type": question_type or {"diagnosis": "diagnosis"}.get(track, f"next_{track}"),
        "pmcid": pmcid,
        "published": PUBLISHED[pmcid],
        "split": split,
        "question": f"Question of {item_id}: what is the answer?",
        "context": f"A patient (case {item_id}) presented with findings shown in the images.",
        "images": FIGS[pmcid][:n_images],  # file names; replaced by image structs in build_release
        "options": options,
        "answer_index": answer_index,
        "answer_letter": chr(ord("A") + answer_index),
        "answer": options[answer_index],
        "aliases": aliases or [],
        "orpha_code": orpha_code,
        "answer_category": None if track == "diagnosis" else track,
        "related_concepts": related or [],
        "evidence_sentence_ids": [],
        "evidence_figure_ids": [f"{pmcid}-f{p}" for p in evidence or []],
        "evidence_image_positions": evidence or [],
        "leakage_clean": clean,
        "leakage_flags": [] if clean else ["text_answerable"],
        "licence": "CC-BY-4.0",
    }


ITEMS = [
    _item(
        "D1", "diagnosis", "dev", "PMC1064083",
        ["Gaucher disease", "Fabry disease", "Pompe disease", "Fabry disease, cardiac variant"], 1,
        evidence=[2], aliases=["Anderson-Fabry disease", "Alpha-galactosidase A deficiency"],
        orpha_code="ORPHA:324",
        related=[
            {"code": "ORPHA:68367", "label": "Sphingolipidosis", "aliases": [], "relation": "parent",
             "n_descendants": 40},
            {"code": "ORPHA:324001", "label": "Fabry disease, cardiac variant", "aliases": [],
             "relation": "child", "n_descendants": 0},
        ],
    ),
    _item(
        "D2", "diagnosis", "dev", "PMC1174970",
        ["Neurofibromatosis type 1", "Tuberous sclerosis", "Neurofibromatosis type 2", "Legius syndrome"], 0,
        evidence=[1, 2], aliases=["NF1", "von Recklinghausen disease"], orpha_code="ORPHA:636", clean=False,
        related=[
            {"code": "ORPHA:209004", "label": "Neurofibromatosis", "aliases": ["NF"], "relation": "parent",
             "n_descendants": 6},
        ],
    ),
    _item(
        "D3", "diagnosis", "test", "PMC10118017",
        ["Loeys-Dietz syndrome", "Ehlers-Danlos syndrome", "Marfan syndrome", "Homocystinuria"], 2,
        n_images=3, evidence=[1], orpha_code="ORPHA:558",
        related=[
            {"code": "ORPHA:229", "label": "Genetic aortic disease", "aliases": [], "relation": "parent",
             "n_descendants": 25},
        ],
    ),
    _item(
        "E1", "examination", "dev", "PMC1064083",
        ["Brain MRI", "Chest X-ray", "Echocardiography", "Skin biopsy"], 0,
        evidence=[1], aliases=["Magnetic resonance imaging of the brain"],
    ),
    _item(
        "E2", "examination", "test", "PMC1174970",
        ["Skin biopsy with histopathology", "Lumbar puncture", "EEG", "Genetic testing"], 0,
    ),
    _item(
        "T1", "treatment", "test", "PMC1064083",
        ["Hydroxyurea", "Enzyme replacement therapy", "Splenectomy", "Bone marrow transplant"], 1,
        evidence=[2], aliases=["ERT"], clean=False,
    ),
    _item(
        "X1", "cross_image", "test", "PMC10118017",
        ["Image 1", "Image 2", "Image 3", "None of the images"], 2,
        n_images=3, evidence=[3], question_type="image_for_finding",
    ),
]  # fmt: skip


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_release(root: Path, items: list[dict[str, Any]] = ITEMS, version: str = "0.1.0") -> Path:
    """Write a release directory (Parquet + JSONL + images + manifest with real sha256s)."""
    root.mkdir(parents=True)
    (root / "images").mkdir()
    rows: list[dict[str, Any]] = []
    for item in items:
        row = dict(item)
        images = []
        for pos, name in enumerate(item["images"], start=1):
            src = FIGURES / item["pmcid"] / name
            digest = sha256(src)
            rel = f"images/{digest}.jpg"
            shutil.copyfile(src, root / rel)
            images.append(
                {
                    "position": pos,
                    "marker": f"Image {pos}",
                    "file": rel,
                    "sha256": digest,
                    "original_name": name,
                    "figure_id": f"{item['pmcid']}-f{pos}",
                }
            )
        row["images"] = images
        rows.append(row)
    counts: dict[str, dict[str, int]] = {}
    for track in ("diagnosis", "examination", "treatment", "cross_image"):
        track_rows = [r for r in rows if r["track"] == track]
        (root / "jsonl").mkdir(exist_ok=True)
        (root / "jsonl" / f"{track}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in track_rows))
        for split in ("dev", "test"):
            split_rows = [r for r in track_rows if r["split"] == split]
            if not split_rows:
                continue
            counts.setdefault(track, {})[split] = len(split_rows)
            path = root / "data" / track / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(split_rows, schema=SCHEMA), path)
    files = {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    manifest = {
        "version": version,
        "created_at": "2025-01-01T00:00:00+00:00",
        "code_version": "test",
        "config_hash": "0" * 16,
        "ordo": {"version": "4.2", "sha256": "0" * 64},
        "counts": counts,
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


@pytest.fixture
def release_dir(tmp_path: Path) -> Path:
    if not FIGURES.exists():
        pytest.fail(f"{FIGURES} is missing: tests need ../shared beside the project root")
    return build_release(tmp_path / "release" / "0.1.0")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def make_release(tmp_path: Path) -> Callable[..., Path]:
    """Build another release beside ``release_dir``: another version, or without some items."""

    def make(where: str, version: str = "0.1.0", drop: tuple[str, ...] = ()) -> Path:
        items = [i for i in ITEMS if i["item_id"] not in drop]
        return build_release(tmp_path / where / version, items, version)

    return make
