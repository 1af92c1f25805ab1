"""A small OpenAI-compatible chat client: token-bucket rate limit, retries with backoff, thread-safe.

Model endpoints (hosted or a local vLLM) throttle with 429 and fail transiently with 5xx; retrying
with exponential backoff and honouring Retry-After keeps long runs going without hammering them.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import requests

from mmrare.errors import FatalError, RecordError, RetryableError


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts up to ``capacity``."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0 - 1e-9:  # a refill that lands a rounding error short counts
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                wait = (1.0 - self._tokens) / self.rate
            time.sleep(wait)


def chat_url(endpoint: str) -> str:
    """``http://host/v1`` -> ``http://host/v1/chat/completions`` (a full URL is kept)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/chat/completions") else f"{endpoint}/chat/completions"


class ChatClient:
    """POSTs chat completions; counts attempts so runs can report what went over the wire."""

    def __init__(
        self,
        endpoint: str,
        *,
        api_key: str | None = None,
        rate: float = 5.0,
        timeout_s: float = 120.0,
        max_attempts: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.url = chat_url(endpoint)
        self.api_key = api_key
        self.bucket = TokenBucket(rate)
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.attempts = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
        return session

    def complete(self, payload: dict[str, Any], record_id: str) -> dict[str, Any]:
        """The JSON reply; RecordError for a refused request, FatalError for bad credentials."""
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            self.bucket.acquire()
            with self._lock:
                self.attempts += 1
            retry_after: float | None = None
            try:
                resp = self._session().post(self.url, json=payload, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        last = "reply is not JSON"
                elif resp.status_code in (401, 403):
                    raise FatalError(f"{self.url}: HTTP {resp.status_code} (check the API key)")
                elif resp.status_code == 429 or resp.status_code >= 500:
                    last = f"HTTP {resp.status_code}"
                    retry_after = _retry_after(resp.headers.get("Retry-After"))
                else:
                    raise RecordError(record_id, f"http_{resp.status_code}", resp.text[:200])
            if attempt < self.max_attempts:
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)) * random.uniform(
                    0.5, 1.0
                )
                time.sleep(retry_after if retry_after is not None else delay)
        raise RetryableError(f"{record_id}: gave up after {self.max_attempts} attempts ({last})")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def reply_text(reply: dict[str, Any]) -> str:
    """The assistant text of a chat completion (string content or a list of text parts)."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""
