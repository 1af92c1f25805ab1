"""Recognise the load-test packages that ``mmrare synth`` writes, so no build mistakes them for real.

A synthetic package says so twice: a ``<custom-meta>`` named ``mmrare-synthetic`` with a true value
in ``<article-meta>`` (it travels with the XML wherever the file is copied), and a ``synthetic.json``
file in its package folder. Either one is enough. Selection turns the answer into the reject reason
``synthetic_package`` unless ``selection.allow_synthetic`` is on (scale tests only).

The check reads the XML bytes once more rather than widening the parser's records: a byte search
rules out real articles in microseconds, and only files that contain the marker name are parsed.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from mmrare.curation.jats import hardened_parser

SYNTHETIC_META_NAME = "mmrare-synthetic"
SYNTHETIC_FILE = "synthetic.json"
_TRUE = frozenset({"true", "yes", "1"})


def synthetic_marker(xml_path: Path, package_dir: Path | None = None) -> str | None:
    """Which marker makes this package synthetic (``"custom-meta"`` or ``"synthetic.json"``), or None.

    An unreadable file is not synthetic here: the parser has already read it, and any read error is
    the parser's reject to report.
    """
    try:
        data = Path(xml_path).read_bytes()
    except OSError:
        data = b""
    if has_synthetic_meta(data):
        return "custom-meta"
    if package_dir is not None and (Path(package_dir) / SYNTHETIC_FILE).is_file():
        return SYNTHETIC_FILE
    return None


def has_synthetic_meta(data: bytes) -> bool:
    """Does the article's own ``<article-meta>`` carry ``mmrare-synthetic = true``?"""
    if SYNTHETIC_META_NAME.encode() not in data:
        return False
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError:
        return False
    for meta in root.iter():
        if _local(meta) != "custom-meta" or all(_local(a) != "article-meta" for a in meta.iterancestors()):
            continue
        fields = {_local(child): "".join(child.itertext()).strip() for child in meta}
        if fields.get("meta-name") == SYNTHETIC_META_NAME and fields.get("meta-value", "").lower() in _TRUE:
            return True
    return False


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
