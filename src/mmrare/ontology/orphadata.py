"""Optional enrichment from Orphadata product 9 (epidemiology: prevalences), ``en_product9_prev.xml``.

Parsed with a hardened lxml parser (no DTD loading, no entity expansion, no network; a document
with a DOCTYPE is refused). A disorder or prevalence entry without the fields we key on becomes a
:class:`~mmrare.records.Reject` with a reason instead of vanishing. Rows go to ``ordo_prevalence``
(``warehouse/migrations/002_ordo.sql``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from mmrare.errors import FatalError
from mmrare.records import Reject

ORPHADATA_PARSER_VERSION = "orphadata-prevalence-1"
STAGE = "ontology.orphadata"


@dataclass(frozen=True, slots=True)
class OrphadataRelease:
    """Which Orphadata file the records came from (the ``<JDBOR>`` header and the file's sha256)."""

    date: str | None  # JDBOR@date, "2025-12-09 07:06:32"
    version: str | None  # JDBOR@version, "1.3.42 / 4.1.8 [2025-03-03]"
    sha256: str
    source_name: str


@dataclass(frozen=True, slots=True)
class Prevalence:
    """One prevalence estimate of one disorder."""

    code: str  # "ORPHA:166024"
    prevalence_id: str  # Orphadata's Prevalence@id
    prevalence_type: str | None  # "Point prevalence", "Birth prevalence", "Cases/families", ...
    qualification: str | None  # "Value and class", "Class only", "Case(s)"
    prevalence_class: str | None  # "<1 / 1 000 000", "1-9 / 100 000", ...; None when not given
    mean_value: float | None  # ValMoy: mean value (per 100 000, or cases/families for that type)
    geographic: str | None  # "Worldwide", "Europe", a country
    validation_status: str | None  # "Validated", "Not yet validated"
    source: str | None  # "11389160[PMID]_9689990[PMID]_ [EXPERT]"


@dataclass(frozen=True, slots=True)
class PrevalenceFile:
    release: OrphadataRelease
    records: tuple[Prevalence, ...]
    rejects: tuple[Reject, ...]


def hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_prevalence(path: Path | str) -> PrevalenceFile:
    """Read an Orphadata product 9 prevalence file; a missing or malformed file is a FatalError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FatalError(f"{path}: cannot read Orphadata file: {' '.join(str(exc).split())}") from exc
    try:
        root = etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise FatalError(f"{path}: not well-formed XML: {' '.join(str(exc).split())}") from exc
    if root.getroottree().docinfo.doctype:
        raise FatalError(f"{path}: refusing an Orphadata file with a DOCTYPE (entities are not allowed)")
    if root.tag != "JDBOR" or root.find("DisorderList") is None:
        raise FatalError(f"{path}: not an Orphadata JDBOR file with a <DisorderList>")
    release = OrphadataRelease(
        date=root.get("date"),
        version=root.get("version"),
        sha256=hashlib.sha256(data).hexdigest(),
        source_name=path.name,
    )
    records: list[Prevalence] = []
    rejects: list[Reject] = []
    versions = {"orphadata": ORPHADATA_PARSER_VERSION}
    for ordinal, disorder in enumerate(root.iterfind("DisorderList/Disorder")):
        code_text = _text(disorder.find("OrphaCode"))
        if code_text is None or not code_text.isdigit():
            record_id = f"{path.name}:Disorder[{ordinal}]"
            rejects.append(
                Reject(record_id, STAGE, "missing_orpha_code", code_text or "", str(path), versions)
            )
            continue
        code = f"ORPHA:{int(code_text)}"
        for item in disorder.iterfind("PrevalenceList/Prevalence"):
            prevalence_id = item.get("id")
            if not prevalence_id:
                rejects.append(
                    Reject(f"{code}:prevalence", STAGE, "missing_prevalence_id", "", str(path), versions)
                )
                continue
            try:
                mean_value = _float(_text(item.find("ValMoy")))
            except ValueError:
                rejects.append(
                    Reject(
                        f"{code}:{prevalence_id}",
                        STAGE,
                        "bad_mean_value",
                        _text(item.find("ValMoy")) or "",
                        str(path),
                        versions,
                    )
                )
                continue
            records.append(
                Prevalence(
                    code=code,
                    prevalence_id=prevalence_id,
                    prevalence_type=_name(item, "PrevalenceType"),
                    qualification=_name(item, "PrevalenceQualification"),
                    prevalence_class=_name(item, "PrevalenceClass"),
                    mean_value=mean_value,
                    geographic=_name(item, "PrevalenceGeographic"),
                    validation_status=_name(item, "PrevalenceValidationStatus"),
                    source=_text(item.find("Source")),
                )
            )
    return PrevalenceFile(release=release, records=tuple(records), rejects=tuple(rejects))


def prevalence_rows(parsed: PrevalenceFile) -> Iterator[dict[str, Any]]:
    """Rows for ``ordo_prevalence``."""
    release = parsed.release
    for p in parsed.records:
        yield {
            "source_sha256": release.sha256,
            "code": p.code,
            "prevalence_id": p.prevalence_id,
            "prevalence_type": p.prevalence_type,
            "qualification": p.qualification,
            "prevalence_class": p.prevalence_class,
            "mean_value": p.mean_value,
            "geographic": p.geographic,
            "validation_status": p.validation_status,
            "source": p.source,
            "orphadata_date": release.date,
            "orphadata_version": release.version,
        }


def _text(element: Any) -> str | None:
    if element is None:
        return None
    text = " ".join("".join(element.itertext()).split())
    return text or None


def _name(parent: Any, tag: str) -> str | None:
    """The English ``<Name>`` of a coded child (``<PrevalenceType id=..><Name lang="en">``)."""
    return _text(parent.find(f"{tag}/Name"))


def _float(text: str | None) -> float | None:
    return float(text) if text is not None else None
