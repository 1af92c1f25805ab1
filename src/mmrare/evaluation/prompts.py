"""Prompt templates for model runs, versioned and hashed.

The template text and version are hashed into every cache key and written beside the predictions:
editing a template without bumping the version still changes the hash, so stale cached answers are
never reused for a different prompt.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mmrare.errors import FatalError
from mmrare.evaluation.release import Item, Release

PROMPT_VERSION = "mmrare-prompt/1"
MODES = ("mc", "open")

SYSTEM = (
    "You are a physician answering questions about rare-disease case reports. The images of the case "
    "are numbered Image 1, Image 2, ... in the order given; refer to them by these names."
)
INSTRUCTIONS = {
    "mc": (
        "Choose the single best option. Reply with 'Answer: <letter>' on the first line, then a short "
        "explanation that cites the images supporting your answer (e.g. 'Image 2')."
    ),
    "open": (
        "Do not guess from a list: name the answer yourself. Reply with 'Answer: <your answer>' on the "
        "first line, then a short explanation that cites the images supporting it (e.g. 'Image 2')."
    ),
}
_MIME = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}


def template_sha256(mode: str) -> str:
    """Hash of everything fixed about the prompt of ``mode``: version, system text, instructions."""
    canonical = json.dumps([PROMPT_VERSION, mode, SYSTEM, INSTRUCTIONS[mode]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class RenderedPrompt:
    """Chat messages for one item and the sha256 of their content (images by their sha256)."""

    messages: list[dict[str, Any]]
    sha256: str


def render(item: Item, release: Release, mode: str) -> RenderedPrompt:
    """The multimodal chat for ``item``: context, each image after its "Image n:" marker, question."""
    if mode not in MODES:
        raise FatalError(f"unknown prompt mode {mode!r}; modes are {', '.join(MODES)}")
    user: list[dict[str, Any]] = [{"type": "text", "text": f"Case:\n{item.context}".rstrip()}]
    hashed: list[Any] = [template_sha256(mode), item.item_id, item.item_version, item.context]
    for image in item.images:
        data = _image_bytes(release, item, image.file, image.sha256)
        mime = _MIME.get(image.file.rsplit(".", 1)[-1].lower(), "application/octet-stream")
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        user.append({"type": "text", "text": f"{image.marker}:"})
        user.append({"type": "image_url", "image_url": {"url": url}})
        hashed.append([image.marker, image.sha256])
    tail = f"Question: {item.question}"
    if mode == "mc":
        letters = "\n".join(f"{chr(ord('A') + i)}. {text}" for i, text in enumerate(item.options))
        tail += f"\nOptions:\n{letters}"
    tail += f"\n\n{INSTRUCTIONS[mode]}"
    user.append({"type": "text", "text": tail})
    hashed.append(tail)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    digest = hashlib.sha256(json.dumps(hashed, separators=(",", ":")).encode()).hexdigest()
    return RenderedPrompt(messages=messages, sha256=digest)


def _image_bytes(release: Release, item: Item, relative: str, expected: str) -> bytes:
    """Image bytes checked against the item's and the manifest's sha256 (a swapped image is fatal)."""
    path = release.root / relative
    if not path.is_file():
        raise FatalError(f"{path}: image of item {item.item_id} is missing")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    listed = (release.manifest.get("files") or {}).get(relative)
    if actual != expected or (listed is not None and actual != listed):
        raise FatalError(f"{path}: sha256 {actual[:12]}… does not match the release ({expected[:12]}…)")
    return data
