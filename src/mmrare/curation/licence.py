"""Normalise the many ways JATS states an article's licence to one SPDX-like id.

Selection allows or denies articles by licence (``CC-BY-*`` allowed, ``*-ND`` flagged, ...), so the
id must not depend on which markup a publisher chose. PMC files state the licence as an
``<ali:license_ref>`` URL, a ``<license xlink:href>``, an ``<ext-link>`` inside the licence
paragraph, or only in prose ("... under the terms of the Creative Commons Attribution License").
Sources are tried in that order of reliability; the first one that names a licence wins.

Ids: ``CC-BY-4.0``, ``CC-BY-NC-ND-3.0``, ... (``CC-`` + elements + version); ``CC-BY`` etc. when
the version is not stated; ``CC0-1.0``; ``PDM-1.0`` (public-domain mark); ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from lxml import etree

UNKNOWN = "unknown"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
ALI_NAMESPACE_PREFIX = "http://www.niso.org/schemas/ali/1.0"  # seen with and without a trailing "/"

_CC_URL = re.compile(
    r"creativecommons\.org/licen[cs]es/(?P<parts>[a-z]+(?:-[a-z]+)*)(?:/(?P<version>\d+(?:\.\d+)?))?",
    re.IGNORECASE,
)
_CC0_URL = re.compile(r"creativecommons\.org/publicdomain/zero/(?P<version>\d+(?:\.\d+)?)", re.IGNORECASE)
_PDM_URL = re.compile(r"creativecommons\.org/publicdomain/mark/(?P<version>\d+(?:\.\d+)?)", re.IGNORECASE)
_ANY_URL = re.compile(
    r"(?:https?:)?//[^\s()<>\"']+|(?:www\.)?creativecommons\.org/[^\s()<>\"']+", re.IGNORECASE
)

# "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International License": the phrase,
# then the modifiers and version up to the word "licence" or the end of the clause.
_ATTRIBUTION = re.compile(r"creative\s+commons\s+attribution", re.IGNORECASE)
_CLAUSE_END = re.compile(r"licen[cs]e|[,;]|\.\s|\(https?:|\bwhich\b|\bthat\b", re.IGNORECASE)
_SHORT_FORM = re.compile(
    r"\bcc[\s-]?by(?P<mods>(?:[\s-](?:nc|nd|sa)\b)*)(?:[\s-]+v?(?P<version>\d\.\d|\d)\b)?", re.IGNORECASE
)
_NC = re.compile(r"non[\s-]?commercial|\bnc\b", re.IGNORECASE)
_ND = re.compile(r"no[\s-]?deriv|\bnd\b", re.IGNORECASE)
_SA = re.compile(r"share[\s-]?alike|\bsa\b", re.IGNORECASE)
_VERSION = re.compile(r"\b(\d)\.(\d)\b")
_CC0_TEXT = re.compile(r"\bcc\s?0\b|creative\s+commons\s+zero|public\s+domain\s+dedication", re.IGNORECASE)
_PDM_TEXT = re.compile(r"public\s+domain\s+mark|(?:is|lies)\s+in\s+the\s+public\s+domain", re.IGNORECASE)


class Licence(NamedTuple):
    """The normalised id plus the URL and statement it was read from (for audit and display)."""

    spdx_id: str
    url: str | None
    text: str | None


def licence_id(value: str | None) -> str:
    """SPDX-like id for a licence URL or statement, ``"unknown"`` when it names no licence we know.

    This is the plain entry point for code that has a URL or text but no JATS tree (manifests,
    OA file lists, API responses).
    """
    if not value:
        return UNKNOWN
    return licence_from_url(value) or licence_from_text(value) or UNKNOWN


def licence_from_url(url: str) -> str | None:
    """Id for a Creative Commons licence or public-domain URL, None for any other URL."""
    if match := _PDM_URL.search(url):
        return f"PDM-{_version(match['version'])}"
    if match := _CC0_URL.search(url):
        return f"CC0-{_version(match['version'])}"
    if match := _CC_URL.search(url):
        elements = _canonical_elements(match["parts"].lower().split("-"))
        if elements is None:
            return None
        version = match["version"]
        return "-".join(["CC", *elements] + ([_version(version)] if version else []))
    return None


def licence_from_text(text: str) -> str | None:
    """Id for a licence named in prose, None when the prose names no licence we can identify.

    A URL embedded in the text wins over the wording. Attribution licences are looked for before
    CC0 because BMC/Springer statements add "the Creative Commons Public Domain Dedication waiver
    ... applies to the data", which is not the article's licence.
    """
    text = " ".join(text.split())
    for url in _ANY_URL.findall(text):
        if found := licence_from_url(url):
            return found
    if found := _from_attribution_phrase(text):
        return found
    if found := _from_short_form(text):
        return found
    if _CC0_TEXT.search(text):
        return "CC0-1.0"
    if _PDM_TEXT.search(text):
        return "PDM-1.0"
    return None


def normalise_licence(article_meta: etree._Element | None) -> Licence:
    """Licence of an article from its ``<article-meta>`` (or ``<front-stub>``) element.

    Only the article's own ``<permissions>`` are read, never those of figures or tables, which may
    carry a third party's licence. Namespaces are matched by local name so the function works on
    raw trees as well as on the parser's namespace-stripped ones.
    """
    if article_meta is None:
        return Licence(UNKNOWN, None, None)
    licences = list(_licence_elements(article_meta))
    statement = _statement(licences)
    for url in _candidate_urls(licences):
        if found := licence_from_url(url):
            return Licence(found, url, statement)
    texts = [statement] if statement else []
    texts += [lic.get("license-type", "") for lic in licences]
    if not licences:
        # NLM 2.x files (e.g. early PLoS) put the licence sentence in the copyright statement.
        texts += [_flatten(el) for el in _children(article_meta, "copyright-statement")]
        texts += [_flatten(el) for p in _children(article_meta, "permissions")
                  for el in _children(p, "copyright-statement")]
    for text in texts:
        if text and (found := licence_from_text(text)):
            return Licence(found, _first_url(text), statement or text)
    urls = list(_candidate_urls(licences))
    return Licence(UNKNOWN, urls[0] if urls else None, statement)


def _version(raw: str) -> str:
    """"4" -> "4.0"; "2.5" stays."""
    return raw if "." in raw else f"{raw}.0"


def _canonical_elements(parts: Iterable[str]) -> list[str] | None:
    """["by", "nd", "nc"] -> ["BY", "NC", "ND"]; None unless it is an attribution licence."""
    found = {p.upper() for p in parts}
    if "BY" not in found or not found <= {"BY", "NC", "ND", "SA"}:
        return None
    return [e for e in ("BY", "NC", "ND", "SA") if e in found]


def _from_attribution_phrase(text: str) -> str | None:
    match = _ATTRIBUTION.search(text)
    if not match:
        return None
    rest = text[match.end(): match.end() + 120]
    end = _CLAUSE_END.search(rest)
    window = rest[: end.start()] if end else rest[:80]
    elements = ["BY"]
    elements += ["NC"] if _NC.search(window) else []
    elements += ["ND"] if _ND.search(window) else []
    elements += ["SA"] if _SA.search(window) and "ND" not in elements else []
    version = _VERSION.search(window)
    return "-".join(["CC", *elements] + ([f"{version[1]}.{version[2]}"] if version else []))


def _from_short_form(text: str) -> str | None:
    match = _SHORT_FORM.search(text)
    if not match:
        return None
    mods = re.findall(r"nc|nd|sa", match["mods"] or "", re.IGNORECASE)
    elements = _canonical_elements(["by", *mods])
    if elements is None:
        return None
    version = match["version"]
    return "-".join(["CC", *elements] + ([_version(version)] if version else []))


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].split(":")[-1]


def _children(el: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in el if _local(child) == name)


def _licence_elements(article_meta: etree._Element) -> Iterator[etree._Element]:
    for permissions in _children(article_meta, "permissions"):
        yield from _children(permissions, "license")
    yield from _children(article_meta, "license")  # very old NLM files


def _is_ali_ref(el: etree._Element) -> bool:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag.startswith("{"):
        return tag[1:].startswith(ALI_NAMESPACE_PREFIX) and _local(el) == "license_ref"
    return tag == "ali:license_ref"  # undeclared prefix kept verbatim


def _href(el: etree._Element) -> str | None:
    value = el.get(XLINK_HREF) or el.get("href")
    return value.strip() if value and value.strip() else None


def _candidate_urls(licences: list[etree._Element]) -> Iterator[str]:
    """URLs in priority order: ali:license_ref, license/@xlink:href, ext-links in the statement."""
    for lic in licences:
        for ref in lic.iter():
            if _is_ali_ref(ref) and (url := _flatten(ref)):
                yield url
    for lic in licences:
        if url := _href(lic):
            yield url
    for lic in licences:
        for link in lic.iter():
            if _local(link) in {"ext-link", "uri"} and (url := _href(link) or _flatten(link)):
                yield url


def _statement(licences: list[etree._Element]) -> str | None:
    """The licence paragraphs' text (``license-p``, or ``p`` in NLM 2.x), whitespace-normalised."""
    parts: list[str] = []
    for lic in licences:
        paragraphs = [el for el in lic if _local(el) in {"license-p", "p"}]
        parts += [_flatten(p) for p in paragraphs]
    text = " ".join(p for p in parts if p)
    return text or None


def _flatten(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _first_url(text: str) -> str | None:
    urls = _ANY_URL.findall(text)
    return urls[0] if urls else None
