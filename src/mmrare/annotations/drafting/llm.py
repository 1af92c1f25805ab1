"""LLM drafter: any OpenAI-compatible chat endpoint drafts the items, the code checks them.

The endpoint is named by ``MMRARE_LLM_BASE_URL``, ``MMRARE_LLM_MODEL`` and ``MMRARE_LLM_API_KEY``
(the key may be empty for local servers). Each track is one ``POST {base_url}/chat/completions``
with the case sentences (with ids), the figure list and the images as base64 data URLs after their
"Image k" markers; the model must answer with one JSON object. That object is validated with
pydantic, every id it cites must exist in the case, the diagnosis answer must be the gold concept
and its context must not name it; anything else becomes a :class:`Reject` with the reason. Options
are deduplicated and shuffled by the same deterministic rule as the rules drafter.

HTTP 429 and 5xx (and connection errors) are retried with exponential backoff, honouring
``Retry-After``; when attempts run out a :class:`RetryableError` is raised so the flow retries the
case later instead of storing a permanent reject. A bad key or URL (401/403/404) is fatal.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mmrare.annotations.drafting.base import DRAFTER_VERSIONS, Draft, DraftSettings, TrackRun
from mmrare.annotations.drafting.cuts import CaseView, DiagnosisTerms
from mmrare.annotations.drafting.text import normalise
from mmrare.annotations.drafting.vocab import examinations
from mmrare.errors import FatalError, RecordError, RetryableError
from mmrare.items import MAX_OPTIONS, MIN_OPTIONS, CaseInput, DistractorPool, DraftResult, ImageRef

ENV_BASE_URL = "MMRARE_LLM_BASE_URL"
ENV_MODEL = "MMRARE_LLM_MODEL"
ENV_API_KEY = "MMRARE_LLM_API_KEY"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({401, 403, 404})
QUESTION_TYPES = {
    "diagnosis": "diagnosis",
    "examination": "next_examination",
    "treatment": "treatment",
    "cross_image": "image_alignment",
}


@dataclass(frozen=True, slots=True)
class LlmSettings:
    """Where the endpoint is and how patiently to ask it."""

    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 120.0
    max_attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    @classmethod
    def from_env(cls, **overrides: Any) -> LlmSettings:
        missing = [name for name in (ENV_BASE_URL, ENV_MODEL) if not os.environ.get(name)]
        if missing:
            raise FatalError(f"the llm drafter needs {' and '.join(missing)} (OpenAI-compatible endpoint)")
        return cls(
            base_url=os.environ[ENV_BASE_URL].rstrip("/"),
            model=os.environ[ENV_MODEL],
            api_key=os.environ.get(ENV_API_KEY, ""),
            **overrides,
        )


class ChatClient:
    """``POST /chat/completions`` with retries; returns the first choice's message content."""

    def __init__(
        self,
        settings: LlmSettings,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.sleep = sleep

    def complete(self, messages: list[dict[str, Any]], seed: int, record_id: str) -> str:
        body = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0,
            "seed": seed,
            "response_format": {"type": "json_object"},
        }
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        url = f"{self.settings.base_url}/chat/completions"
        last = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            wait = min(self.settings.max_backoff_s, self.settings.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.session.post(url, json=body, headers=headers, timeout=self.settings.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code in RETRY_STATUS:
                    last = f"HTTP {response.status_code}"
                    wait = _retry_after(response, wait, self.settings.max_backoff_s)
                elif response.status_code in FATAL_STATUS:
                    raise FatalError(
                        f"{url}: HTTP {response.status_code}; check {ENV_BASE_URL}, {ENV_MODEL}, key"
                    )
                elif response.status_code >= 400:
                    raise RecordError(record_id, "llm_bad_request", f"HTTP {response.status_code}")
                else:
                    return _content(response, record_id)
            if attempt < self.settings.max_attempts:
                self.sleep(wait)
        raise RetryableError(f"{url}: gave up after {self.settings.max_attempts} attempts ({last})")


def _retry_after(response: requests.Response, default: float, cap: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return min(cap, max(0.0, float(value)))
    except ValueError:
        return default


def _content(response: requests.Response, record_id: str) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise RecordError(record_id, "llm_bad_response", f"no choices[0].message.content: {exc}") from exc
    if not isinstance(content, str):
        raise RecordError(record_id, "llm_bad_response", "message content is not text")
    return content


class LlmItem(BaseModel):
    """The JSON object the model must return for one item."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    question: str = Field(min_length=8, max_length=1000)
    context_sentence_ids: list[str] = Field(min_length=1)
    image_figure_ids: list[str] = Field(default_factory=list)
    options: list[str] = Field(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)
    answer_index: int = Field(ge=0)
    evidence_sentence_ids: list[str] = Field(min_length=1)
    evidence_figure_ids: list[str] = Field(default_factory=list)
    rationale: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _answer_in_range(self) -> LlmItem:
        if self.answer_index >= len(self.options):
            raise ValueError(f"answer_index {self.answer_index} but {len(self.options)} options")
        if any(not o for o in self.options):
            raise ValueError("empty option")
        return self


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_item(content: str, record_id: str) -> LlmItem:
    """The model's JSON validated against :class:`LlmItem` (a Markdown code fence is tolerated)."""
    match = _FENCE.match(content)
    text = match.group(1) if match else content
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(record_id, "llm_invalid_json", f"{exc.msg} at char {exc.pos}") from exc
    try:
        return LlmItem.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "item"
        raise RecordError(record_id, "llm_schema_violation", f"{where}: {err['msg']}") from exc


# ----------------------------------------------------------------------------- prompts

_SYSTEM = f"""You draft multiple-choice benchmark items from rare-disease case reports for expert review.
Reply with one JSON object and nothing else, with exactly these keys:
question (string), context_sentence_ids (ordered list of sentence ids the solver will read),
image_figure_ids (figure ids of the images the solver will see), options ({MIN_OPTIONS} to {MAX_OPTIONS}
distinct strings), answer_index (0-based index of the correct option), evidence_sentence_ids and
evidence_figure_ids (ids from the case that justify the answer), rationale (one or two sentences).
Use only ids listed below. The context must not reveal the answer. Never copy figure captions into
the question or options; captions are for you only."""

_TRACK_TASK = {
    "diagnosis": (
        "Track: diagnosis. Ask for the most likely diagnosis. The correct option must be exactly "
        "'{label}'. Use these distractors, in this order of preference: {distractors}. The context must "
        "stop before the sentence that states the diagnosis and must not name it."
    ),
    "examination": (
        "Track: examination suggestion. Pick a key investigation the case reports a result for; ask which "
        "examination should be suggested next; the context stops before that investigation is mentioned. "
        "Name examinations like this vocabulary: {vocabulary}. Distractors must be wrong for this case."
    ),
    "treatment": (
        "Track: treatment planning. Ask which treatment was given; the context includes the presentation "
        "and diagnosis and stops before the treatment. Distractors must not be mentioned in the article."
    ),
    "cross_image": (
        "Track: cross-image evidence alignment. Ask a question answerable only by relating a finding to a "
        "specific image ('Which image shows ...?' or 'Which finding appears in Image k?'). Use all images. "
        "The context must not contain sentences that cite a figure."
    ),
}


def _image_part(path: str | None, fmt: str | None, record_id: str) -> dict[str, Any]:
    if not path:
        raise RecordError(record_id, "image_unreadable", "graphic has no file")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordError(record_id, "image_unreadable", f"{path}: {exc.strerror or exc}") from exc
    mime = f"image/{fmt.lower()}" if fmt else (mimetypes.guess_type(path)[0] or "image/jpeg")
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return {"type": "image_url", "image_url": {"url": url}}


def build_messages(
    view: CaseView, track: str, images: Sequence[ImageRef], record_id: str
) -> list[dict[str, Any]]:
    """System and user messages for one track: case text with ids, figures, then the images."""
    dx = view.case.diagnosis
    task = _TRACK_TASK[track].format(
        label=dx.label if dx else "",
        distractors="; ".join(label for _, label in dx.distractors) if dx else "",
        vocabulary="; ".join(e.name for e in examinations().entries),
    )
    lines = [task, "", f"Case {view.pmcid}: {view.case.title}", "Case sentences (id: text):"]
    lines += [f"{s.sentence_id}: {s.text}" for s in view.case_sentences]
    lines += ["", "Figures (marker = figure id: caption, for you only):"]
    for ref in images:
        figure = view.figure_by_id[ref.figure_id]
        lines.append(f"{ref.marker} = {ref.figure_id}: {figure.caption_title} {figure.caption_text}".strip())
    graphics = {g.graphic_id: g for gs in view.usable.values() for g in gs}
    parts: list[dict[str, Any]] = [{"type": "text", "text": "\n".join(lines)}]
    for ref in images:
        graphic = graphics[ref.graphic_id]
        parts.append({"type": "text", "text": ref.marker})
        parts.append(_image_part(graphic.path, graphic.format, record_id))
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": parts}]


# ----------------------------------------------------------------------------- the drafter


class LlmDrafter:
    """Drafts one item per track with a chat model; every draft is checked before it is kept."""

    name = "llm"

    def __init__(self, settings: LlmSettings | None = None, client: ChatClient | None = None) -> None:
        if client is not None:
            settings = client.settings
        self.settings = settings or LlmSettings.from_env()
        self.client = client or ChatClient(self.settings)

    @property
    def version(self) -> str:
        """Code version plus model: a different model drafts different items (and ids)."""
        return f"{DRAFTER_VERSIONS[self.name]}+{self.settings.model}"

    def draft(
        self, case: CaseInput, tracks: Sequence[str], settings: DraftSettings, pool: DistractorPool
    ) -> DraftResult:
        view = CaseView(case)
        result = DraftResult()
        for track in tracks:
            run = TrackRun(view, track, settings, pool, self.name, self.version)
            try:
                draft = self._draft_track(run)
            except RecordError as exc:
                run.reject(exc.reason, exc.detail)
            else:
                if draft is not None:
                    run.add(draft)
            result.items.extend(run.items)
            result.rejects.extend(run.rejects)
        return result

    def _draft_track(self, run: TrackRun) -> Draft | None:
        view, track = run.view, run.track
        record_id = run.record_id()
        dx = view.case.diagnosis
        if track == "diagnosis" and dx is None:
            run.reject("no_diagnosis", "case has no mapped ORDO diagnosis")
            return None
        if track == "cross_image" and len(view.figures_with_images()) < 2:
            run.reject("too_few_images", f"{len(view.figures_with_images())} figure(s) with a usable image")
            return None
        all_images = view.images()
        content = self.client.complete(
            build_messages(view, track, all_images, record_id), run.settings.seed, record_id
        )
        item = parse_item(content, record_id)
        unknown = [
            i for i in [*item.context_sentence_ids, *item.evidence_sentence_ids] if i not in view.by_id
        ]
        unknown += [
            i for i in [*item.image_figure_ids, *item.evidence_figure_ids] if i not in view.figure_by_id
        ]
        if unknown:
            raise RecordError(record_id, "unknown_evidence_id", ", ".join(dict.fromkeys(unknown)))
        context = [view.by_id[i] for i in dict.fromkeys(item.context_sentence_ids)]
        answer = item.options[item.answer_index]
        others = [o for i, o in enumerate(item.options) if i != item.answer_index]
        images = all_images if track == "cross_image" else view.images(item.image_figure_ids)
        draft = Draft(
            track=track,
            question_type=QUESTION_TYPES[track],
            question=item.question,
            answer=" ".join(answer.split()),
            distractors=others,
            context=context,
            images=images,
            evidence_sentence_ids=list(item.evidence_sentence_ids),
            evidence_figure_ids=list(item.evidence_figure_ids),
            rationale=item.rationale,
            strip_refs=track == "cross_image",
            reason="llm_drafted",
        )
        if track == "diagnosis" and dx is not None:
            self._check_diagnosis(draft, view, record_id)
        return draft

    @staticmethod
    def _check_diagnosis(draft: Draft, view: CaseView, record_id: str) -> None:
        """The answer is the gold concept; the context neither states nor names it."""
        dx = view.case.diagnosis
        if dx is None:
            raise RecordError(record_id, "no_diagnosis", "case has no mapped ORDO diagnosis")
        terms = DiagnosisTerms.build(dx, view.sentences)
        if normalise(draft.answer) not in {normalise(n) for n in terms.names}:
            raise RecordError(record_id, "answer_mismatch", f"answer {draft.answer!r} is not {dx.label!r}")
        statements = set(dx.evidence_sentence_ids) | {
            s.sentence_id for s in view.sentences if terms.states(s.text)
        }
        leaking = [s.sentence_id for s in draft.context if s.sentence_id in statements or terms.leaks(s.text)]
        if leaking:
            raise RecordError(record_id, "diagnosis_leak", f"context names the diagnosis in {leaking[0]}")
        draft.answer = dx.label
        draft.orpha_code = dx.code
        draft.aliases = tuple(a for a in dx.aliases if normalise(a) != normalise(dx.label))
        draft.forbidden = terms.names
        draft.key = dx.code
