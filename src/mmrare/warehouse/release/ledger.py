"""The licence ledger (LICENSES.tsv) and the list of what a build left out (excluded.tsv).

Every redistributed article text and image must be attributable: the ledger has one row per article
and one per (image file, article), each with the licence, its URL, whether the licence is restricted
(flagged, e.g. no-derivatives) and an attribution line. The warehouse keeps no author lists, so the
attribution cites title, journal, year, DOI and PMCID together with the article's own licence
statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mmrare.warehouse.release.records import ArticleInfo, Exclusion, ImageSource, ReleaseItem

LEDGER_COLUMNS = (
    "kind", "path", "pmcid", "pmid", "doi", "title", "journal", "year", "figure", "original_name",
    "licence", "licence_url", "licence_flagged", "attribution",
)  # fmt: skip
EXCLUDED_COLUMNS = ("pmcid", "item_id", "reason", "detail")


def _clean(text: object) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def attribution(article: ArticleInfo, figure: str = "") -> str:
    """One line naming the source and its licence ("Figure 2 of <title>. <journal> 2020. doi:...")."""
    parts = [f"{figure} of {article.title}" if figure else article.title]
    parts.append(" ".join(p for p in (article.journal or "", str(article.year or "")) if p))
    if article.doi:
        parts.append(f"doi:{article.doi}")
    parts.append(f"{article.pmcid}")
    parts.append(f"Licence: {article.licence}" + (f" ({article.licence_url})" if article.licence_url else ""))
    if article.licence_text:
        parts.append(article.licence_text)
    return _clean(". ".join(p.rstrip(".") for p in parts if p))


def _tsv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_clean(v) for v in row])
    return buffer.getvalue()


def ledger_rows(
    articles: Mapping[str, ArticleInfo], items: Sequence[ReleaseItem], images: Mapping[str, ImageSource]
) -> list[list[object]]:
    """Article rows (by PMCID), then image rows (by PMCID, file)."""
    rows: list[list[object]] = []
    for pmcid in sorted(articles):
        a = articles[pmcid]
        rows.append(
            ["article", "", a.pmcid, a.pmid or "", a.doi or "", a.title, a.journal or "", a.year or "",
             "", "", a.licence, a.licence_url or "", "yes" if a.licence_flagged else "no", attribution(a)]
        )  # fmt: skip
    seen: set[tuple[str, str]] = set()
    image_rows = []
    for item in items:
        pmcid = item.item.pmcid
        for im in item.images:
            key = (pmcid, im.file)
            if key in seen:
                continue
            seen.add(key)
            a, src = articles[pmcid], images[im.file]
            image_rows.append(
                [pmcid, im.file, "image", im.file, a.pmcid, a.pmid or "", a.doi or "", a.title,
                 a.journal or "", a.year or "", src.figure_label, im.original_name, a.licence,
                 a.licence_url or "", "yes" if a.licence_flagged else "no",
                 attribution(a, src.figure_label or "Figure")]
            )  # fmt: skip
    rows += [r[2:] for r in sorted(image_rows, key=lambda r: (str(r[0]), str(r[1])))]
    return rows


def write_ledger(root: Path, rows: Sequence[Sequence[object]]) -> str:
    (root / "LICENSES.tsv").write_text(_tsv(LEDGER_COLUMNS, rows), encoding="utf-8")
    return "LICENSES.tsv"


def write_excluded(root: Path, exclusions: Sequence[Exclusion]) -> str:
    rows = [[e.pmcid, e.item_id, e.reason, e.detail] for e in sorted(exclusions, key=Exclusion.sort_key)]
    (root / "excluded.tsv").write_text(_tsv(EXCLUDED_COLUMNS, rows), encoding="utf-8")
    return "excluded.tsv"


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a ledger-style TSV as dicts (for verify)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))
