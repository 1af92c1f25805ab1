"""Build-time checks that can keep an article or an item out of a release, each with a reason.

Licence and retraction status can change after an article was selected (a new policy, a retraction
notice), so they are checked again on every build; an image file that vanished or changed since it
was decoded would make a release whose checksums describe bytes nobody reviewed. Nothing is dropped
silently: every check answers an :class:`Exclusion` (excluded.tsv, and a ``rejects`` row).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from mmrare.warehouse.release.records import ArticleInfo, Exclusion, ImageSource
from mmrare.warehouse.release.settings import LicencePolicy

# Publishers mark retracted articles in the title ("RETRACTED ARTICLE: ...", "Retracted: ...").
_RETRACTED_TITLE = re.compile(
    r"^\W*(?:retracted(?:\s+article)?|withdrawn(?:\s+article)?)\s*\]?\s*[:.\-–—]", re.I
)


def retraction_reason(
    article: ArticleInfo, listed: frozenset[str], rejected: Mapping[str, str]
) -> str | None:
    """Why the article counts as retracted (a list, a curation reject, its title), or None."""
    if article.pmcid in listed:
        return "listed in the retraction list given to the build"
    if article.pmcid in rejected:
        return f"a later curation run rejected it as retracted ({rejected[article.pmcid]})"
    if _RETRACTED_TITLE.match(article.title or ""):
        return f"title marks it as retracted: {article.title[:80]!r}"
    return None


def article_exclusion(
    pmcid: str,
    article: ArticleInfo | None,
    policy: LicencePolicy,
    listed: frozenset[str],
    rejected: Mapping[str, str],
    n_items: int,
) -> Exclusion | None:
    """An exclusion for the whole article, or None when it may be released."""
    items = f"{n_items} accepted item(s)"
    if article is None:
        return Exclusion(pmcid, "", "article_missing", f"no articles row; {items}")
    if policy.exclude_retracted and (why := retraction_reason(article, listed, rejected)):
        return Exclusion(pmcid, "", "retracted", f"{why}; {items}")
    verdict = policy.verdict(article.licence)
    if verdict is not None:
        reason, detail = verdict
        return Exclusion(pmcid, "", reason, f"{detail}; {items}")
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_problem(graphic_id: str, source: ImageSource | None, seen: dict[str, str]) -> str | None:
    """Why this graphic cannot be shipped (missing row, bad status, file gone or changed), or None.

    ``seen`` caches the sha256 of files already hashed in this build (path -> sha256).
    """
    if source is None:
        return f"graphic {graphic_id}: no graphics row"
    if source.status != "ok":
        return f"graphic {graphic_id}: status {source.status}"
    if not source.path or not source.sha256:
        return f"graphic {graphic_id}: no file or sha256 recorded"
    path = Path(source.path)
    if source.path not in seen:
        if not path.is_file():
            return f"graphic {graphic_id}: {path} is missing"
        seen[source.path] = sha256_file(path)
    if seen[source.path] != source.sha256:
        return f"graphic {graphic_id}: {path} changed since decoding (sha256 {seen[source.path][:12]}…)"
    return None
