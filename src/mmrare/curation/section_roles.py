"""Map a section's title and ``sec-type`` to a normalised :class:`SectionRole`.

Drafting cuts a case into "what the clinician knew so far" contexts, so it must know where the case
presentation ends and investigations, treatment, outcome and discussion begin, whatever the
journal calls them ("Case report", "Patient information", "Diagnostic assessment", "Outcome and
follow-up", ...). Rules are keyword lists, tried on the title first (most specific), then on the
``sec-type``; a subsection whose own title says nothing inherits its parent's role.
"""

from __future__ import annotations

import re

from mmrare.records import SectionRole

# Steps of the clinical course: only meaningful at the top level or inside the case itself.
# "Imaging" under "Methods" of a research article, or "Treatment" under "Discussion", are not.
CASE_COURSE_ROLES = frozenset({SectionRole.INVESTIGATIONS, SectionRole.TREATMENT, SectionRole.OUTCOME})
_CASE_PARENTS = frozenset({SectionRole.CASE_PRESENTATION, *CASE_COURSE_ROLES})

_CONTENT_RULES: tuple[tuple[SectionRole, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        (SectionRole.ABSTRACT, r"^abstract$"),
        (
            SectionRole.CASE_PRESENTATION,
            r"\bcase (?:reports?|presentations?|descriptions?|histor(?:y|ies)|summary|details|series"
            r"|study|studies)\b"
            r"|^(?:the |index |clinical |illustrative )?cases?(?: \d+| [ivx]+| [a-z])?\b(?! discussion)"
            r"|^(?:clinical|patient) (?:history|presentation|information|case|description|findings)"
            r"|^presentation of (?:the )?cases?|^patients? (?:\d+|[ivx]+|[a-z])$|^(?:case )?observation"
            r"|^history of (?:the )?present(?:ing)? illness|^timeline$|^physical exam",
        ),
        (
            SectionRole.INVESTIGATIONS,
            r"\binvestigations?\b|\bdiagnostic (?:assessment|work[ -]?up|evaluation|findings|tests?)"
            r"|\bwork[ -]?up\b|\blaborator|\blab (?:findings|results|tests)|\bimaging\b|\bradiolog"
            r"|\bpathology\b|\bpatholog(?:ic|ical) findings|\bhistopatholog|\bhistolog|\bbiops"
            r"|\bgenetic (?:testing|analysis|findings)|\bmolecular (?:testing|analysis|findings)"
            r"|\bdifferential diagnos|^diagnos(?:is|tic)",
        ),
        (
            SectionRole.TREATMENT,
            r"\btreatments?\b|\bmanagement\b|\btherapeutic (?:interventions?|management|approach)"
            r"|^interventions?$|\btherap(?:y|ies)\b|\bhospital course\b"
            r"|\bsurg(?:ery|ical) (?:treatment|management|procedure)",
        ),
        (
            SectionRole.OUTCOME,
            r"\boutcomes?\b|\bfollow[ -]?ups?\b|\bclinical course\b|\bprognosis\b",
        ),
        (SectionRole.BACKGROUND, r"\bintroduction\b|\bbackground\b|^intro$|^overview$|^rationale$"),
        (SectionRole.DISCUSSION, r"\bdiscussions?\b"),
        (
            SectionRole.CONCLUSION,
            r"\bconclu(?:sions?|ding remarks?)\b|\blearning points?\b|\btake[ -]home messages?\b"
            r"|\bkey (?:points|messages)\b|^summary$|^final remarks?$",
        ),
    )
)

# Back-matter and research-article sections: explicitly "other", whatever their parent is.
_OTHER_RULE = re.compile(
    r"acknowledg|\bfunding\b|\bfinancial\b|disclosure|conflicts? of interest|competing interest"
    r"|\bdeclarations?\b|\bconsent\b|\bethic|author(?:s|s')? contribution|\bcontributors?\b"
    r"|availability|supplementa|supporting information|additional (?:files?|information)"
    r"|abbreviations?|\bmethod|\bmaterials?\b|\bresults?\b|statistic|\breferences?\b|\bappendi"
    r"|^(?:end)?notes?$|publisher.s note|prior presentation|trial registration|\bsubjects\b|coi-statement"
    r"|version-changes|display-objects"
)

# "2.1. ", "3 ", "IV. ", "A) ": digits may stand alone, letters need a "." or ")" ("A case of ...").
_NUMBERING = re.compile(r"^(?:(?:\d+(?:\.\d+)*[.):]?|(?:[ivxlc]+|[a-z])[.)])\s+)+")


def classify_section(title: str, sec_type: str | None, parent_role: SectionRole | None) -> SectionRole:
    """Role of one section; ``parent_role`` is None for a top-level section.

    Everything inside the abstract stays ``abstract``. Title rules beat ``sec-type`` (PMC files
    carry ``sec-type="conclusions"`` on sections titled "Discussion"); a title with no known role
    inherits the parent's role, and a top-level one falls back to ``other``.
    """
    if parent_role is SectionRole.ABSTRACT:
        return SectionRole.ABSTRACT
    role = _role_from_text(normalise_title(title))
    if role is None and sec_type:
        role = _role_from_text(normalise_title(sec_type.replace("|", " ").replace("_", " ")))
    if role is None:
        return parent_role or SectionRole.OTHER
    if role in CASE_COURSE_ROLES and parent_role is not None and parent_role not in _CASE_PARENTS:
        return parent_role
    return role


def normalise_title(title: str) -> str:
    """Lower-cased title without numbering ("2.1.", "IV.", "A)"), trailing colons or extra spaces."""
    text = " ".join(title.replace("\u2013", "-").replace("\u2014", "-").split()).lower()
    text = _NUMBERING.sub("", text)
    return text.strip(" .:;-")


def _role_from_text(text: str) -> SectionRole | None:
    """The content role whose keyword occurs first ("Treatment and outcome" -> treatment), else
    ``other`` for administrative/research headings, else None (no opinion)."""
    if not text:
        return None
    best: tuple[int, int, SectionRole] | None = None
    for rank, (role, pattern) in enumerate(_CONTENT_RULES):
        match = pattern.search(text)
        if match and (best is None or (match.start(), rank) < best[:2]):
            best = (match.start(), rank, role)
    if best is not None:
        return best[2]
    if _OTHER_RULE.search(text):
        return SectionRole.OTHER
    return None
