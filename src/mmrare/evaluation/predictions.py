"""The predictions file: JSONL, one answer per item and model (format in ``docs/release-format.md``).

Model runs and scoring are decoupled by this file, so any harness can produce predictions and
``mmrare score`` never calls a model. An optional first line (the header) says which release the
predictions were made for and in which prompt mode, so scoring can refuse predictions meant for
another release instead of quietly scoring the items they lack as wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError
from mmrare.files import atomic_write


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


PREDICTIONS_SCHEMA = "mmrare-predictions/1"
MODES = ("mc", "open")


@dataclass(frozen=True)
class PredictionsHeader:
    """What a predictions file was made for; every field is optional in a hand-written header.

    ``mode`` decides which metrics apply (accuracy needs options to choose from); ``tracks`` and
    ``splits`` say which part of the release was asked (None: all of it).
    """

    release_version: str | None = None
    release_manifest_sha256: str | None = None
    model: str | None = None
    mode: str | None = None
    tracks: tuple[str, ...] | None = None
    splits: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PREDICTIONS_SCHEMA,
            "release": {"version": self.release_version, "manifest_sha256": self.release_manifest_sha256},
            "model": self.model,
            "mode": self.mode,
            "tracks": list(self.tracks) if self.tracks is not None else None,
            "splits": list(self.splits) if self.splits is not None else None,
        }

    @property
    def has_release(self) -> bool:
        return bool(self.release_version or self.release_manifest_sha256)


@dataclass(frozen=True)
class PredictionsFile:
    """Predictions read from one file, with the file's sha256 for provenance and its header, if any."""

    path: Path
    sha256: str
    predictions: list[Prediction]
    header: PredictionsHeader | None = None

    @property
    def models(self) -> list[str]:
        return sorted({p.model for p in self.predictions})


def read_predictions(path: Path) -> PredictionsFile:
    """Parse and validate a predictions file; a bad line is a fatal error naming ``file:line``.

    The header is the first line when it has a ``schema`` key. Files written before headers existed
    keep their run record beside them (``<file>.meta.json``); its release and mode are read instead.
    """
    path = Path(path)
    if not path.is_file():
        raise FatalError(f"{path}: predictions file not found")
    data = path.read_bytes()
    out: list[Prediction] = []
    seen: set[tuple[str, str]] = set()
    header: PredictionsHeader | None = None
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FatalError(f"{where}: not valid JSON ({exc.msg})") from exc
        if isinstance(obj, dict) and "schema" in obj:
            if out or header is not None:
                raise FatalError(f"{where}: a header line (with 'schema') must be the first line")
            header = _header(obj, where)
            continue
        pred = _prediction(obj, where)
        key = (pred.model, pred.item_id)
        if key in seen:
            raise FatalError(f"{where}: second prediction for item {pred.item_id!r} by model {pred.model!r}")
        seen.add(key)
        out.append(pred)
    if header is None:
        header = _sidecar_header(path)
    return PredictionsFile(path=path, sha256=hashlib.sha256(data).hexdigest(), predictions=out, header=header)


def _text(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise FatalError(f"{where}: header {key!r} must be a non-empty string or null")
    return value


def _names(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FatalError(f"{where}: header {key!r} must be a list of names or null")
    return tuple(value)


def _header(obj: dict[str, Any], where: str) -> PredictionsHeader:
    if obj["schema"] != PREDICTIONS_SCHEMA:
        raise FatalError(f"{where}: unknown header schema {obj['schema']!r}; expected {PREDICTIONS_SCHEMA!r}")
    release = obj.get("release") or {}
    if not isinstance(release, dict):
        raise FatalError(f"{where}: header 'release' must be an object with version and manifest_sha256")
    mode = _text(obj, "mode", where)
    if mode is not None and mode not in MODES:
        raise FatalError(f"{where}: header 'mode' must be one of {', '.join(MODES)}, got {mode!r}")
    return PredictionsHeader(
        release_version=_text(release, "version", where),
        release_manifest_sha256=_text(release, "manifest_sha256", where),
        model=_text(obj, "model", where),
        mode=mode,
        tracks=_names(obj, "tracks", where),
        splits=_names(obj, "splits", where),
    )


def _sidecar_header(path: Path) -> PredictionsHeader | None:
    """The release and mode from ``<file>.meta.json`` (written by ``mmrare predict``), if readable."""
    meta_path = path.with_name(path.name + ".meta.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        release, settings = meta.get("release") or {}, meta.get("settings") or {}
        return PredictionsHeader(
            release_version=release.get("version"),
            release_manifest_sha256=release.get("manifest_sha256"),
            model=meta.get("model"),
            mode=settings.get("mode") if settings.get("mode") in MODES else None,
        )
    except (OSError, ValueError, AttributeError):
        return None  # no run record (a hand-made file): scoring warns that the release is unknown


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


def write_predictions(
    path: Path, predictions: list[Prediction], header: PredictionsHeader | None = None
) -> str:
    """Write atomically (temp file + rename) so a crash never leaves half a file; returns its sha256."""
    lines = [header.to_json()] if header is not None else []
    lines += [p.to_json() for p in predictions]
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    atomic_write(Path(path), body)
    return hashlib.sha256(body).hexdigest()


