"""Images Label Studio can show without the review app's login and without the warehouse open.

Label Studio's page loads every image from the annotator's browser, so an image link must work for
anyone who can open the task. The review app's ``/images/<id>`` route needs an mmrare session and a
running app that opens the warehouse, so tasks carry the pixels another way:

* ``inline`` (the ``auto`` choice up to :data:`INLINE_MAX_BYTES` of image files): data URIs inside
  the task. Nothing else to run or share; the task JSON (and Label Studio's database) grow by about
  4/3 of the image bytes, which is fine for a review batch and not for a whole corpus.
* ``files``: the image files are copied into a folder and linked as Label Studio local files
  (``/data/local-files/?d=<path under the document root>``). Label Studio serves them itself when
  started with ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and
  ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` at or above the folder, and the project has a local
  storage on that folder (``push-labelstudio`` adds it). For big sets.
* ``url``: the review app's image route, for a browser that is logged into the review app too.
* ``none``: no images.
"""

from __future__ import annotations

import base64
import mimetypes
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mmrare.annotations.review.errors import InvalidInput

IMAGE_MODES = ("auto", "inline", "files", "url", "none")
INLINE_MAX_BYTES = 20 * 1024 * 1024  # image files inlined by ``auto``; above it, ``files`` is needed
LOCAL_FILES_URL = "/data/local-files/?d="


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """How exported tasks refer to images (see the module docstring)."""

    mode: str = "auto"
    base_url: str = "http://127.0.0.1:8765"  # ``url``: the review app
    image_dir: Path | None = None  # ``files``: where the copies go
    document_root: Path | None = None  # ``files``: Label Studio's local-files root (default: the parent)

    def __post_init__(self) -> None:
        if self.mode not in IMAGE_MODES:
            raise InvalidInput(f"images: one of {', '.join(IMAGE_MODES)}, not {self.mode!r}")
        if self.mode == "files" and self.image_dir is None:
            raise InvalidInput("images files: pass --image-dir DIR (the folder Label Studio serves)")

    def resolve(self, paths: list[Path]) -> ImageOptions:
        """``auto`` decided for these image files: inline when small, else ``files`` or a clear error."""
        if self.mode != "auto":
            return self
        total = sum(p.stat().st_size for p in paths if p.is_file())
        if total <= INLINE_MAX_BYTES:
            return ImageOptions("inline", self.base_url, self.image_dir, self.document_root)
        if self.image_dir is not None:
            return ImageOptions("files", self.base_url, self.image_dir, self.document_root)
        raise InvalidInput(
            f"images: {total / 2**20:.0f} MiB of image files is too much to inline"
            f" (limit {INLINE_MAX_BYTES // 2**20} MiB); pass --image-dir DIR to export them as"
            " Label Studio local files (docs/labelstudio.md)"
        )

    @property
    def local_root(self) -> Path:
        assert self.image_dir is not None
        return (self.document_root or self.image_dir.parent).resolve()


def image_value(options: ImageOptions, graphic_id: str, path: Path | None) -> str | None:
    """What a task's ``images`` list holds for one graphic (None: leave it out)."""
    if options.mode == "none":
        return None
    if options.mode == "url":
        return f"{options.base_url.rstrip('/')}/images/{graphic_id}"
    if path is None or not path.is_file():
        return None
    if options.mode == "inline":
        mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    assert options.image_dir is not None
    options.image_dir.mkdir(parents=True, exist_ok=True)
    target = options.image_dir.resolve() / f"{graphic_id}{path.suffix.lower()}"
    if not target.exists() or target.stat().st_size != path.stat().st_size:
        shutil.copyfile(path, target)
    try:
        relative = target.relative_to(options.local_root)
    except ValueError as exc:
        raise InvalidInput(
            f"images: {options.image_dir} is not under the local-files root {options.local_root}"
        ) from exc
    return LOCAL_FILES_URL + quote(relative.as_posix())
