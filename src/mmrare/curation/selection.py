"""Case selection: which parsed articles become benchmark cases, and why the others do not.

Three independent checks, each answering ``(ok, reason, detail)`` so every article not selected
lands in ``rejects`` with a reason: is it a single-patient case report, may its licence be
redistributed, and does it carry usable images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mmrare.config import SelectionConfig
from mmrare.records import ParsedArticle, SectionRole

CASE_REPORT_TYPES = frozenset({"case-report", "case-reports", "case report"})
# Article types that are never a case report whatever their title says.
NON_CASE_TYPES = frozenset(
    {
        "research-article",
        "review-article",
        "systematic-review",
        "editorial",
        "letter",
        "correction",
        "retraction",
        "news",
        "book-review",
        "meeting-report",
        "abstract",
        "brief-report",
        "obituary",
        "product-review",
        "reply",
        "methods-article",
        "data-paper",
        "protocol",
        "announcement",
    }
)
CASE_SUBJECT = re.compile(r"\bcase\s+(report|study|presentation)s?\b", re.IGNORECASE)
CASE_TITLE = re.compile(
    r"\b(a\s+case\s+report|case\s+report|report\s+of\s+(a|an|two|three)\s+(rare\s+)?cases?|"
    r"a\s+(rare\s+)?case\s+of|a\s+patient\s+with)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of one check."""

    ok: bool
    reason: str
    detail: str = ""


def case_report_evidence(parsed: ParsedArticle) -> Verdict:
    """Is this a case report? Evidence in order of strength: article-type, subject, title, sections."""
    art = parsed.article
    article_type = (art.article_type or "").strip().lower()
    if article_type in CASE_REPORT_TYPES:
        return Verdict(True, "article_type", f"article-type={article_type}")
    if article_type == "retraction":
        return Verdict(False, "retraction_notice", "article-type=retraction")
    for subject in art.subjects:
        if CASE_SUBJECT.search(subject):
            return Verdict(True, "subject", f"subject={subject!r}")
    if article_type in NON_CASE_TYPES:
        return Verdict(False, "not_case_report", f"article-type={article_type}; no case-report subject")
    if CASE_TITLE.search(art.title):
        return Verdict(True, "title", f"title cue in {art.title[:80]!r}")
    if any(s.role is SectionRole.CASE_PRESENTATION and s.depth == 0 for s in parsed.sections):
        return Verdict(True, "section", "top-level case presentation section")
    return Verdict(
        False, "not_case_report", f"article-type={article_type or 'none'}; no title or section cue"
    )


def licence_verdict(licence: str, policy: SelectionConfig) -> tuple[Verdict, bool]:
    """Licence policy: (allowed?, flagged?). Deny patterns win over allow patterns."""
    if licence == "unknown":
        return Verdict(False, "unknown_licence", "no licence found in the article"), False
    if any(fnmatchcase(licence, pat) for pat in policy.licence_deny):
        return Verdict(False, "licence_not_allowed", f"{licence} matches the deny list"), False
    if not any(fnmatchcase(licence, pat) for pat in policy.licence_allow):
        return Verdict(False, "licence_not_allowed", f"{licence} is not on the allow list"), False
    flagged = any(fnmatchcase(licence, pat) for pat in policy.licence_flag)
    return Verdict(True, "licence_allowed", licence + (" (flagged)" if flagged else "")), flagged


def usable_figure_count(parsed: ParsedArticle) -> int:
    """Figures with at least one image that decoded."""
    ok = {g.figure_id for g in parsed.graphics if g.status == "ok"}
    return sum(1 for f in parsed.figures if f.figure_id in ok)


@dataclass(frozen=True, slots=True)
class Selection:
    """The selection outcome for one article."""

    selected: bool
    reason: str
    detail: str
    case_evidence: str = ""
    licence_flagged: bool = False
    n_figures: int = 0
    n_usable_images: int = 0
    multi_image: bool = False


def screen_article(
    parsed: ParsedArticle, policy: SelectionConfig, retracted: bool = False
) -> Selection | None:
    """Checks that need no image decoding (retraction, case report, licence): a reject, or None.

    Run before figure decoding so articles that can never be cases cost no image work.
    """
    if retracted and policy.exclude_retracted:
        return Selection(False, "retracted", "source metadata marks the article as retracted")
    case = case_report_evidence(parsed)
    if policy.require_case_report and not case.ok:
        return Selection(False, case.reason, case.detail)
    licence, _ = licence_verdict(parsed.article.licence, policy)
    if not licence.ok:
        return Selection(False, licence.reason, licence.detail)
    return None


def select_case(parsed: ParsedArticle, policy: SelectionConfig, retracted: bool = False) -> Selection:
    """Apply the checks in a fixed order; the first failing check is the reject reason.

    Figure checks read ``Graphic.status``, so call this after decoding.
    """
    screened = screen_article(parsed, policy, retracted)
    if screened is not None:
        return screened
    case = case_report_evidence(parsed)
    _, flagged = licence_verdict(parsed.article.licence, policy)
    usable = usable_figure_count(parsed)
    if usable == 0:
        detail = f"{len(parsed.figures)} figure(s), none with a decodable image"
        return Selection(False, "no_usable_images", detail)
    return Selection(
        True,
        "selected",
        case.detail,
        case_evidence=f"{case.reason}: {case.detail}",
        licence_flagged=flagged,
        n_figures=len(parsed.figures),
        n_usable_images=usable,
        multi_image=usable >= policy.min_figures_multi_image,
    )
