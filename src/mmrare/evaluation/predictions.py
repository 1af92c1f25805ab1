"""The predictions file: JSONL, one answer per item and model (format in ``docs/release-format.md``).

Model runs and scoring are decoupled by this file, so any harness can produce predictions and
``mmrare score`` never calls a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError


@dataclass(frozen=True)
class Prediction:
    """One model answer. ``option`` is the chosen letter (multiple choice); ``images`` cited positions."""

    item_id: str
    model: str
    answer: str
    option: str | None = None
    images: tuple[int, ...] | None = None
    raw: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["images"] = list(self.images) if self.images is not None else None
        return data


@dataclass(frozen=True)
class PredictionsFile:
    """Predictions read from one file, with the file's sha256 for provenance."""

    path: Path
    sha256: str
    predictions: list[Prediction]

    @property
    def models(self) -> list[str]:
        return sorted({p.model for p in self.predictions})


def read_predictions(path: Path) -> PredictionsFile:
    """Parse and validate a predictions file; a bad line is a fatal error naming ``file:line``."""
    path = Path(path)
    if not path.is_file():
        raise FatalError(f"{path}: predictions file not found")
    data = path.read_bytes()
    out: list[Prediction] = []
    seen: set[tuple[str, str]] = set()
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FatalError(f"{where}: not valid JSON ({exc.msg})") from exc
        pred = _prediction(obj, where)
        key = (pred.model, pred.item_id)
        if key in seen:
            raise FatalError(f"{where}: second prediction for item {pred.item_id!r} by model {pred.model!r}")
        seen.add(key)
        out.append(pred)
    return PredictionsFile(path=path, sha256=hashlib.sha256(data).hexdigest(), predictions=out)


def _prediction(obj: Any, where: str) -> Prediction:
    if not isinstance(obj, dict):
        raise FatalError(f"{where}: expected a JSON object")
    for key in ("item_id", "model"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise FatalError(f"{where}: {key!r} must be a non-empty string")
    answer = obj.get("answer")
    if answer is None:
        answer = ""
    if not isinstance(answer, str):
        raise FatalError(f"{where}: 'answer' must be a string")
    option = obj.get("option")
    if option is not None and (not isinstance(option, str) or len(option.strip()) != 1):
        raise FatalError(f"{where}: 'option' must be one letter or null, got {option!r}")
    images = obj.get("images")
    if images is not None:
        if not isinstance(images, list) or not all(isinstance(i, int) and i >= 1 for i in images):
            raise FatalError(f"{where}: 'images' must be a list of 1-based positions or null")
        images = tuple(images)
    raw = obj.get("raw")
    if raw is not None and not isinstance(raw, str):
        raise FatalError(f"{where}: 'raw' must be a string or null")
    return Prediction(
        item_id=obj["item_id"],
        model=obj["model"],
        answer=answer,
        option=option.strip().upper() if option else None,
        images=images,
        raw=raw,
    )


def write_predictions(path: Path, predictions: list[Prediction]) -> str:
    """Write atomically (temp file + rename) so a crash never leaves half a file; returns its sha256."""
    body = "".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in predictions).encode()
    atomic_write(Path(path), body)
    return hashlib.sha256(body).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
