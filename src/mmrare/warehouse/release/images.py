"""Images of a release: every file once, named by its sha256, copied byte for byte from the package.

Naming by content means an image shown by many items is stored once, two releases share names for
the same bytes, and a file name alone tells whether the bytes are intact.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from mmrare.errors import FatalError
from mmrare.warehouse.release.checks import sha256_file

_EXTENSIONS = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "TIFF": "tif",
    "WEBP": "webp",
    "BMP": "bmp",
}
MEDIA_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "tif": "image/tiff",
    "webp": "image/webp",
    "bmp": "image/bmp",
}


def release_name(sha256: str, fmt: str | None, original: str | None) -> str:
    """``images/<sha256>.<ext>``: the extension from the decoded format, else the original suffix."""
    ext = _EXTENSIONS.get((fmt or "").upper())
    if ext is None:
        suffix = Path(original or "").suffix.lower().lstrip(".")
        ext = {"jpeg": "jpg", "tiff": "tif"}.get(suffix, suffix) or "bin"
    return f"images/{sha256}.{ext}"


def copy_images(root: Path, files: Iterable[tuple[str, str, str]]) -> int:
    """Copy (release name, source path, sha256) into ``root``; re-hash each copy; returns bytes copied."""
    total = 0
    for name, source, sha256 in sorted(set(files)):
        target = root / name
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        actual = sha256_file(target)
        if actual != sha256:
            raise FatalError(f"{source}: changed while copying into the release (sha256 {actual[:12]}…)")
        total += target.stat().st_size
    return total
