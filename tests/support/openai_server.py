"""A fake OpenAI-compatible chat server on 127.0.0.1 for runner and judge tests.

It counts requests, answers deterministically (a reply per case id found in the prompt, or a default),
injects 429/500 faults on demand, and validates what arrives: images must be ``data:image/...;base64``
URLs, each right after a text part "Image n:" with n = 1, 2, ... in order. A request that breaks the
contract gets a 400 and its problem is kept in ``errors`` so tests can assert there were none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_DATA_URL = re.compile(r"data:(image/[a-z+.-]+);base64,(.+)", re.DOTALL)
_CASE = re.compile(r"\(case ([A-Za-z0-9_-]+)\)")


@dataclass
class Request:
    """What one request carried: its case id, the model, and the sha256 of each image in order."""

    case_id: str | None
    model: str
    image_sha256: list[str]
    system: str
    at: float


@dataclass
class FakeOpenAIServer:
    replies: dict[str, str] = field(default_factory=dict)  # case id -> reply text
    default_reply: str = "Answer: A\nImage 1 shows the key finding."
    judge_reply: str = '{"correctness": 2, "grounding": 1}'
    delay_s: float = 0.0
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _faults: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    responder: Callable[[Request, dict[str, Any]], str] | None = None
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests served at the same moment (concurrency, not timing)

    def start(self) -> FakeOpenAIServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def add_faults(self, *statuses: int) -> None:
        """The next requests get these HTTP statuses, in order, before normal service resumes."""
        with self._lock:
            self._faults.extend(statuses)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.errors.clear()

    # -- called by the handler --------------------------------------------------------------------

    def handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request, problem = self._parse(body)
        with self._lock:
            self.requests.append(request)
            if problem:
                self.errors.append(problem)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return fault, {"error": {"message": "injected fault"}}
        if problem:
            return 400, {"error": {"message": problem}}
        if self.delay_s:
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            time.sleep(self.delay_s)
            with self._lock:
                self.in_flight -= 1
        if self.responder is not None:
            text = self.responder(request, body)
        elif "grader" in request.system:
            text = self.judge_reply
        else:
            text = self.replies.get(request.case_id or "", self.default_reply)
        reply = {
            "id": f"chatcmpl-{hashlib.sha256(text.encode()).hexdigest()[:12]}",
            "object": "chat.completion",
            "model": request.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        return 200, reply

    def _parse(self, body: dict[str, Any]) -> tuple[Request, str]:
        messages = body.get("messages") or []
        system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
        user = next((m.get("content") for m in messages if m.get("role") == "user"), None)
        parts = user if isinstance(user, list) else [{"type": "text", "text": user or ""}]
        texts = " ".join(p.get("text", "") for p in parts if p.get("type") == "text")
        case = _CASE.search(texts)
        request = Request(
            case.group(1) if case else None, str(body.get("model", "")), [], system, time.monotonic()
        )
        if not body.get("model"):
            return request, "no model"
        expected = 1
        for i, part in enumerate(parts):
            if part.get("type") != "image_url":
                continue
            url = (part.get("image_url") or {}).get("url", "")
            match = _DATA_URL.fullmatch(url)
            if not match:
                return request, f"image part {i} is not a base64 data URL"
            try:
                data = base64.b64decode(match.group(2), validate=True)
            except (binascii.Error, ValueError):
                return request, f"image part {i} has invalid base64"
            marker = parts[i - 1].get("text", "") if i > 0 and parts[i - 1].get("type") == "text" else ""
            if marker.strip() != f"Image {expected}:":
                return request, f"image {expected} is not preceded by its marker (got {marker!r})"
            request.image_sha256.append(hashlib.sha256(data).hexdigest())
            expected += 1
        return request, ""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        status, reply = self.fake.handle(body)
        self._send(status, reply)

    def _send(self, status: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)
