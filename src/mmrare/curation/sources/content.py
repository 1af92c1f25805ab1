"""Is a downloaded file what was asked for? Checked before a package counts as complete.

An md5 (published, or a single-part S3 ETag) proves a body is the bucket's file. Where the bucket
gives neither, a 200 carrying an outage page or a body cut short by a closed connection would be
stored as complete and never fetched again. What is left is the content itself: the article parses
as JATS, an image decodes, an archive reads to its end, a PDF has its trailer.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

from lxml import etree
from PIL import Image, UnidentifiedImageError

from mmrare.curation.jats import hardened_parser

_IMAGES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".bmp", ".webp"})


def content_problem(path: Path, *, name: str, role: str) -> str | None:
    """What is wrong with the file at ``path`` (downloaded as ``name``), or None when it looks whole."""
    lower = name.lower()
    suffix = Path(lower).suffix
    try:
        if role == "xml" or suffix in (".xml", ".nxml"):
            root = etree.parse(str(path), hardened_parser()).getroot()
            # an OAI-PMH record wraps the article; anything else without one is not the article
            if role == "xml" and next(root.iter("{*}article", "article"), None) is None:
                return f"{name}: no JATS <article> in it (root <{etree.QName(root).localname}>)"
        elif suffix in _IMAGES:
            with Image.open(path) as image:
                image.load()  # decodes every byte: a cut-short image fails here
        elif lower.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path, mode="r:gz") as tar:
                for _ in tar:
                    pass
        elif suffix == ".pdf":
            with path.open("rb") as fh:
                head = fh.read(5)
                fh.seek(max(0, path.stat().st_size - 2048))
                tail = fh.read()
            if head != b"%PDF-" or b"%%EOF" not in tail:
                return f"{name}: not a whole PDF"
    except (etree.XMLSyntaxError, UnidentifiedImageError, OSError, SyntaxError, tarfile.TarError, EOFError,
            zlib.error) as exc:  # fmt: skip
        return f"{name}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    return None
