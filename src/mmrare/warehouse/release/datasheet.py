"""The datasheet (README.md): a Hugging Face dataset card with one config per track, and the facts a
user needs before trusting numbers: sources, tracks, counts, splits, leakage control, licences,
exclusions and known limitations. Deterministic (no creation time; that is in manifest.json).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from mmrare.warehouse.release.records import Exclusion, ReleaseProvenance
from mmrare.warehouse.release.schema import COLUMNS, SPLITS, TRACKS, data_path
from mmrare.warehouse.release.split import __doc__ as SPLIT_METHOD

TRACK_TEXT = {
    "diagnosis": "name the rare disease (ORPHA concept) from the case text and all its images",
    "examination": "choose the next examination the case calls for",
    "treatment": "choose the treatment the patient received",
    "cross_image": "link findings to the right image among several (multi-image reasoning)",
}


def _front_matter(name: str, present: Mapping[str, Sequence[str]]) -> list[str]:
    lines = ["---", f"pretty_name: {name}", "license: other", "license_name: per-article-cc",
             "license_link: LICENSES.tsv", "language:", "- en", "task_categories:",
             "- visual-question-answering", "- multiple-choice", "tags:", "- medical", "- rare-diseases",
             "- multi-image", "configs:"]  # fmt: skip
    for track in TRACKS:
        if not present.get(track):
            continue
        lines += [f"- config_name: {track}", "  data_files:"]
        for split in present[track]:
            lines += [f"  - split: {split}", f"    path: {data_path(track, split)}"]
    return [*lines, "---", ""]


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def datasheet(
    *,
    name: str,
    version: str,
    provenance: ReleaseProvenance,
    counts: Mapping[str, Any],
    present: Mapping[str, Sequence[str]],
    licences: Counter[str],
    flagged_articles: int,
    exclusions: Sequence[Exclusion],
    dev_fraction: float,
    flags: Counter[str],
    validity: Sequence[str] = (),
) -> str:
    """The README.md text; ``validity``: the validity section's lines (:func:`validity.section`)."""
    ordo = provenance.ordo or {}
    model = provenance.embedding_model or {}
    lines = _front_matter(name, present)
    lines += [f"# {name} {version}", "",
              "A rare-disease, multimodal, multi-image benchmark built from PubMed Central Open Access case "
              "reports. Every item was drafted from one case report, passed leakage control and was "
              "accepted in double annotator review; only the accepted version of each item is released.",
              "", "## Sources", "",
              f"- {counts['all']['cases']} case reports from the PMC Open Access subset (licences below).",
              f"- Diagnoses are Orphanet concepts from ORDO {ordo.get('version', 'n/a')} "
              f"(sha256 `{ordo.get('sha256', 'n/a')}`).",
              f"- Leakage control used {model.get('id', 'no embedding model')} "
              f"(sha256 `{model.get('sha256', 'n/a')}`).",
              f"- Built by mmrare {provenance.code_version}, config hash `{provenance.config_hash}`.",
              "", "## Tracks", ""]  # fmt: skip
    rows = []
    for track in TRACKS:
        c = counts[track]
        rows.append(
            [track, TRACK_TEXT[track], *(c[s] for s in SPLITS), c["total"], c["leakage_clean"], c["cases"]]
        )
    lines += md_table(["track", "task", *SPLITS, "total", "leakage clean", "cases"], rows)
    lines += ["Load one track with Hugging Face datasets: "
              "`load_dataset(\"parquet\", data_files={\"test\": \"data/diagnosis/test.parquet\"})`, or "
              "`load_dataset(\"<this directory>\", \"diagnosis\")`. The same rows are in `jsonl/`, and "
              "`tsv/` has a VLMEvalKit multiple-choice TSV per track and split (`tsv/<track>_<split>.tsv`, "
              "base64 images).", "",
              "## Fields", ""]  # fmt: skip
    lines += md_table(["column", "meaning"], [[f"`{n}`", d] for n, _, d in COLUMNS])
    lines += ["## Splits", "",
              f"Dev fraction {dev_fraction:g}; {counts['cases_per_split']['dev']} dev and "
              f"{counts['cases_per_split']['test']} test cases. No PMCID is in two splits. "
              f"{counts['all']['dev']} of {counts['all']['total']} items are dev: the fraction counts "
              "cases, so the items' share follows the size of the cases.", "",
              *[line.rstrip() for line in (SPLIT_METHOD or "").strip().splitlines()], "",
              "## Leakage control", "",
              "Contexts are the masked versions leakage control produced; captions are never shown. "
              "`leakage_clean` is false when a leakage or dataset flag is unresolved for the item "
              "(`leakage_flags` names them); report results on the full set and on the clean set.",
              ""]  # fmt: skip
    if flags:
        lines += md_table(["unresolved flag", "items"], sorted(flags.items()))
    lines += [*validity, "## Licences", "",
              "Each item carries its article's licence; `LICENSES.tsv` lists every article and image with "
              "an attribution line. Licences were checked again at build time against the configured policy.",
              ""]  # fmt: skip
    lines += md_table(["licence", "articles"], sorted(licences.items()))
    if flagged_articles:
        lines += [
            f"{flagged_articles} article(s) carry a restricted (flagged, e.g. no-derivatives) licence: "
            "their images are shipped unmodified, but item contexts are edited (masked) text.",
            "",
        ]
    lines += ["## Excluded at build time", ""]
    if exclusions:
        lines += md_table(["reason", "articles", "items"], [
            [reason, sum(1 for e in exclusions if e.reason == reason and not e.item_id),
             sum(1 for e in exclusions if e.reason == reason and e.item_id)]
            for reason in sorted({e.reason for e in exclusions})
        ])  # fmt: skip
        lines += ["Details in `excluded.tsv`.", ""]
    else:
        lines += ["Nothing was excluded.", ""]
    lines += ["## Known limitations", "",
              "- Items are drafted automatically from the case text and then reviewed; reviewers can miss "
              "errors, and contexts may still hint at the answer in ways no detector looks for.",
              "- Cases are published case reports: rare presentations are over-represented, and the "
              "literature's biases (journals, regions, languages: English only) carry over.",
              "- Diagnoses are linked to one ORDO release; later Orphanet releases may split, merge or "
              "obsolete concepts.",
              "- Splits are by case; several items of one case share context and images within a split.",
              "- Attribution lines cite title, journal, DOI and licence statement; author lists are not "
              "stored and must be taken from the article.",
              "- Small tracks give wide confidence intervals; see the counts above.", ""]  # fmt: skip
    lines += ["## Files", "",
              "`manifest.json` (versions, counts, sha256 of every file), `croissant.json` (Croissant "
              "metadata), `LICENSES.tsv`, `excluded.tsv`, `data/<track>/<split>.parquet`, "
              "`jsonl/<track>.jsonl`, `tsv/<track>_<split>.tsv`, `images/<sha256>.<ext>`.", ""]  # fmt: skip
    return "\n".join(lines)
