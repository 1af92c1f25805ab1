"""Disk cache of model replies, one JSON file per key, written atomically.

Keys are content hashes (item, model, prompt sha256, generation settings), never run numbers, so a
resumed or repeated run sends no request whose answer is already on disk.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mmrare.evaluation.predictions import atomic_write


def cache_key(*parts: Any) -> str:
    """sha256 of the canonical JSON of ``parts``."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class ReplyCache:
    """``<root>/<key[:2]>/<key>.json``; an unreadable entry counts as missing and is rewritten."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("key") == key else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        atomic_write(self._path(key), json.dumps({"key": key, **record}, ensure_ascii=False).encode())
