"""The LLM drafter against a local OpenAI-compatible stub (ThreadingHTTPServer on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mmrare.annotations.drafting import draft_case, get_drafter
from mmrare.annotations.drafting.llm import ChatClient, LlmSettings
from mmrare.errors import FatalError, RetryableError
from mmrare.items import CaseInput

AIE = "PMC6358579"
CONTEXT = [f"PMC6358579:sec2:p0:s{i}" for i in range(8)]
STATEMENT = "PMC6358579:sec2:p0:s8"
VALID = {
    "question": "Based on the case and images, what is the most likely diagnosis?",
    "context_sentence_ids": CONTEXT,
    "image_figure_ids": ["PMC6358579:F1", "PMC6358579:F2"],
    "options": [
        "Primary autoimmune enteropathy",
        "Celiac disease",
        "Microvillus inclusion disease",
        "Tropical sprue",
        "Autoimmune Enteropathy",  # an alias: dropped, four options remain
    ],
    "answer_index": 0,
    "evidence_sentence_ids": [STATEMENT],
    "evidence_figure_ids": ["PMC6358579:F2"],
    "rationale": "Villous blunting with anti-goblet cell antibodies after excluding celiac disease.",
}


@dataclass
class Stub:
    """Canned replies, served in order (the last one repeats), and the requests received."""

    replies: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def reply(self, content: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> None:
        if status == 200 and content is not None:
            text = content if isinstance(content, str) else json.dumps(content)
            body: Any = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
        else:
            body = {"error": {"message": "stub error"}}
        self.replies.append((status, body, headers or {}))


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            status, body, headers = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def llm_env(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> Stub:
    monkeypatch.setenv("MMRARE_LLM_BASE_URL", stub.url)
    monkeypatch.setenv("MMRARE_LLM_MODEL", "stub-model")
    monkeypatch.setenv("MMRARE_LLM_API_KEY", "sk-test")
    return stub


def _draft(case: CaseInput, track: str = "diagnosis"):
    return draft_case(case, tracks=[track], drafter="llm")


def test_valid_reply_becomes_an_item(llm_env: Stub, samples: dict[str, CaseInput]) -> None:
    llm_env.reply(VALID)
    result = _draft(samples[AIE])
    assert result.rejects == []
    (item,) = result.items
    assert item.drafter == "llm" and item.drafter_version == "llm-drafter/1+stub-model"
    assert item.answer == "Primary autoimmune enteropathy" and item.orpha_code == "ORPHA:522037"
    assert sorted(item.options) == sorted(VALID["options"][:4])
    assert item.context_sentence_ids == tuple(CONTEXT)
    assert [i.figure_id for i in item.images] == ["PMC6358579:F1", "PMC6358579:F2"]
    assert "(Image 1)" in item.context and "(Image 2)" in item.context
    assert item.evidence_sentence_ids == (STATEMENT,)
    # the request: chat completions, bearer key, JSON mode, images as data URLs after their markers
    (request,) = llm_env.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "stub-model" and body["response_format"] == {"type": "json_object"}
    parts = body["messages"][1]["content"]
    markers = [p["text"] for p in parts if p["type"] == "text"][1:]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert markers == ["Image 1", "Image 2", "Image 3", "Image 4"]
    assert len(urls) == 4 and all(u.startswith("data:image/jpeg;base64,") for u in urls)
    assert f"{STATEMENT}: Therefore" in parts[0]["text"]


def test_two_runs_give_the_same_item(llm_env: Stub, samples: dict[str, CaseInput]) -> None:
    llm_env.reply(VALID)
    assert _draft(samples[AIE]).items == _draft(samples[AIE]).items


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("Sure! Here is the item: {not json", "llm_invalid_json"),
        ({**VALID, "options": ["A", "B"]}, "llm_schema_violation"),
        ({**VALID, "answer_index": 7}, "llm_schema_violation"),
        ({**VALID, "difficulty": "hard"}, "llm_schema_violation"),
        ({**VALID, "evidence_sentence_ids": ["PMC6358579:sec9:p9:s9"]}, "unknown_evidence_id"),
        ({**VALID, "evidence_figure_ids": ["PMC6358579:F9"]}, "unknown_evidence_id"),
        ({**VALID, "context_sentence_ids": [*CONTEXT, STATEMENT]}, "diagnosis_leak"),
        ({**VALID, "answer_index": 1}, "answer_mismatch"),
        (
            {**VALID, "options": ["Primary autoimmune enteropathy", "autoimmune enteropathy", "AIE", "aie"]},
            "too_few_distractors",
        ),
    ],
)
def test_bad_replies_become_rejects(
    llm_env: Stub, samples: dict[str, CaseInput], content: Any, reason: str
) -> None:
    llm_env.reply(content)
    result = _draft(samples[AIE])
    assert result.items == []
    assert [r.reason for r in result.rejects] == [reason]
    reject = result.rejects[0]
    assert reject.stage == "draft" and reject.source == "drafter:llm"
    assert reject.versions == {"drafter": "llm-drafter/1+stub-model"} and "\n" not in reject.detail


def test_fenced_json_is_accepted(llm_env: Stub, samples: dict[str, CaseInput]) -> None:
    llm_env.reply("```json\n" + json.dumps(VALID) + "\n```")
    assert len(_draft(samples[AIE]).items) == 1


def test_cross_image_uses_all_images_and_no_figure_references(
    llm_env: Stub, samples: dict[str, CaseInput]
) -> None:
    llm_env.reply(
        {
            "question": "Which image shows a loss of the normal vascular pattern of the colon?",
            "context_sentence_ids": CONTEXT[:5],
            "image_figure_ids": [],
            "options": ["Image 1", "Image 2", "Image 3", "Image 4"],
            "answer_index": 0,
            "evidence_sentence_ids": ["PMC6358579:sec2:p0:s5"],
            "evidence_figure_ids": ["PMC6358579:F1"],
            "rationale": "Sentence s5 cites Figure 1 for the colonoscopy finding.",
        }
    )
    (item,) = _draft(samples[AIE], "cross_image").items
    assert len(item.images) == 4 and item.question_type == "image_alignment"


def test_server_error_then_ok_is_retried(stub: Stub, samples: dict[str, CaseInput]) -> None:
    stub.reply(status=500)
    stub.reply(status=429, headers={"Retry-After": "2"})
    stub.reply(VALID)
    waits: list[float] = []
    client = ChatClient(LlmSettings(stub.url, "stub-model", backoff_s=0.5), sleep=waits.append)
    drafter = get_drafter("llm", client=client)
    from mmrare.annotations.drafting import DraftSettings
    from mmrare.items import DistractorPool

    result = drafter.draft(samples[AIE], ["diagnosis"], DraftSettings(), DistractorPool())
    assert len(result.items) == 1 and result.rejects == []
    assert len(stub.requests) == 3
    assert waits == [0.5, 2.0]  # exponential backoff, then the server's Retry-After
    assert "Authorization" not in stub.requests[0]["headers"]  # no key configured: none sent


def test_persistent_server_errors_are_retryable(stub: Stub, samples: dict[str, CaseInput]) -> None:
    stub.reply(status=503)
    client = ChatClient(LlmSettings(stub.url, "m", max_attempts=3, backoff_s=0.1), sleep=lambda _: None)
    with pytest.raises(RetryableError, match="3 attempts"):
        client.complete([{"role": "user", "content": "hi"}], seed=0, record_id="PMC1:diagnosis")
    assert len(stub.requests) == 3


def test_bad_key_is_fatal(stub: Stub) -> None:
    stub.reply(status=401)
    client = ChatClient(LlmSettings(stub.url, "m"), sleep=lambda _: None)
    with pytest.raises(FatalError, match="HTTP 401"):
        client.complete([{"role": "user", "content": "hi"}], seed=0, record_id="PMC1:diagnosis")
    assert len(stub.requests) == 1


def test_missing_configuration_is_fatal(samples: dict[str, CaseInput]) -> None:
    with pytest.raises(FatalError, match="MMRARE_LLM_BASE_URL and MMRARE_LLM_MODEL"):
        _draft(samples[AIE])
