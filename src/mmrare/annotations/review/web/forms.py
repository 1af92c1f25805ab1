"""Form bodies: URL-encoded only (no multipart parser needed), size-capped, read into typed input."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import HTTPException, Request

from mmrare.annotations.review.errors import InvalidInput
from mmrare.annotations.review.records import EditInput
from mmrare.annotations.review.versions import MAX_OPTIONS

MAX_BODY = 256 * 1024


class Form:
    """A parsed form: first value or all values of a field."""

    def __init__(self, data: dict[str, list[str]]) -> None:
        self._data = data

    def get(self, name: str, default: str = "") -> str:
        values = self._data.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self._data.get(name, []))

    def integer(self, name: str, default: int | None = None) -> int:
        raw = self.get(name)
        if not raw and default is not None:
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise InvalidInput(f"{name}: not a number") from exc


async def read_form(request: Request) -> Form:
    """The URL-encoded body of a POST (415 for other encodings, 413 when too large)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "forms must be application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, "form too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "form is not UTF-8") from exc
    return Form(parse_qs(text, keep_blank_values=True, max_num_fields=500))


def edit_from_form(form: Form) -> EditInput:
    """An :class:`EditInput` from the edit form: option slots ``option_0..9``, the gold slot in ``answer``.

    Empty slots are dropped and the gold index re-counted over the kept ones, so a reviewer can clear
    an option without renumbering anything.
    """
    slots = [(k, form.get(f"option_{k}").strip()) for k in range(MAX_OPTIONS)]
    kept = [(k, text) for k, text in slots if text]
    gold = form.integer("answer", -1)
    positions = [k for k, _ in kept]
    if gold not in positions:
        raise InvalidInput("answer: mark which (non-empty) option is the gold answer")
    return EditInput(
        question=form.get("question"),
        options=tuple(text for _, text in kept),
        answer_index=positions.index(gold),
        aliases=tuple(line for line in form.get("aliases").splitlines() if line.strip()),
        evidence_sentence_ids=tuple(form.all("evidence_sentence")),
        evidence_figure_ids=tuple(form.all("evidence_figure")),
        note=form.get("note"),
    )
