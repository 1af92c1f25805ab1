"""The item table of a release: one Arrow schema for Parquet and JSONL (docs/release-format.md).

The evaluation stage reads these files without the warehouse, so the column names, types and order
are a contract: one schema object here, used to write every file and to verify every file read back.
"""

from __future__ import annotations

import pyarrow as pa

TRACKS: tuple[str, ...] = ("diagnosis", "examination", "treatment", "cross_image")
SPLITS: tuple[str, ...] = ("dev", "test")
FORMAT = "mmrare-release/2"  # /2: one VLMEvalKit TSV per track and split (/1: one per track)
LETTERS = "ABCDEFGHIJ"  # at most 10 options per item (qa_items.n_options)

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

# (name, type, description); the description goes into the Croissant record sets and the datasheet.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("item_id", pa.string(), "Stable id of the item (qa_items.item_id)."),
    ("item_version", pa.int32(), "Review version: 0 is the draft as accepted, edits add versions."),
    ("track", pa.string(), "diagnosis, examination, treatment or cross_image."),
    ("question_type", pa.string(), "Kind of question, e.g. diagnosis, next_examination, image_for_finding."),
    ("pmcid", pa.string(), "Source article (PubMed Central id); never in two splits."),
    (
        "published",
        pa.string(),
        "Publication date of the source article, ISO 8601 to the precision it gives (2018, 2018-12 or"
        " 2018-12-05); null when unknown. For scoring against a model's training cutoff.",
    ),
    ("split", pa.string(), "dev or test."),
    ("question", pa.string(), "The question asked."),
    ("context", pa.string(), "Leakage-controlled (masked) case text the model reads; never captions."),
    ("images", pa.list_(IMAGE_STRUCT), "Ordered images; file is relative to the release root."),
    ("options", pa.list_(pa.string()), "4 to 10 option texts, already shuffled."),
    ("answer_index", pa.int32(), "0-based index of the gold answer in options."),
    ("answer_letter", pa.string(), "Letter of the gold answer (A...)."),
    ("answer", pa.string(), "Gold answer text (= options[answer_index])."),
    ("aliases", pa.list_(pa.string()), "Other accepted names (ORDO synonyms for diagnosis)."),
    ("orpha_code", pa.string(), "ORPHA:n of the gold diagnosis (diagnosis items)."),
    ("answer_category", pa.string(), "Examination / treatment vocabulary category."),
    (
        "related_concepts",
        pa.list_(RELATED_STRUCT),
        "ORDO parents and children of the gold, for partial credit.",
    ),
    ("evidence_sentence_ids", pa.list_(pa.string()), "Sentences that support the answer."),
    ("evidence_figure_ids", pa.list_(pa.string()), "Figures that support the answer."),
    ("evidence_image_positions", pa.list_(pa.int32()), "1-based positions of the gold evidence images."),
    ("leakage_clean", pa.bool_(), "True when no leakage or dataset flag is unresolved for the item."),
    ("leakage_flags", pa.list_(pa.string()), "Unresolved leakage / dataset flags."),
    ("licence", pa.string(), "Licence id of the source article."),
)

ITEM_SCHEMA = pa.schema([(name, dtype) for name, dtype, _ in COLUMNS])
COLUMN_NAMES: tuple[str, ...] = tuple(ITEM_SCHEMA.names)

# Fixed writer options: the same rows give the same bytes (no timestamps; one row group per file).
PARQUET_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


def data_path(track: str, split: str) -> str:
    """Relative path of one track/split Parquet file (one Hugging Face config per track)."""
    return f"data/{track}/{split}.parquet"


def tsv_path(track: str, split: str) -> str:
    """Relative path of one track/split VLMEvalKit TSV: a file per split, so a dev run never sees test."""
    return f"tsv/{track}_{split}.tsv"
