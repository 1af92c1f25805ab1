"""Signed session cookies and CSRF tokens, with the standard library only.

The cookie holds ``{"a": annotator or null, "c": csrf token, "t": issued at}`` as base64 JSON plus an
HMAC-SHA256 signature; it is HttpOnly and SameSite=Strict. Every state-changing form carries the
session's CSRF token, compared in constant time; logging in issues a new token (no fixation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

COOKIE = "mmrare_review"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(slots=True)
class Session:
    annotator: str | None
    csrf: str
    issued: float
    changed: bool = False

    @classmethod
    def fresh(cls, annotator: str | None = None) -> Session:
        return cls(annotator, secrets.token_urlsafe(24), time.time(), changed=True)

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


class SessionCodec:
    """Signs and verifies session cookies; a tampered or expired cookie reads as no session."""

    def __init__(self, secret: bytes, max_age_s: int) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret needs at least 32 bytes")
        self._secret = secret
        self.max_age_s = max_age_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def dumps(self, session: Session) -> str:
        body = json.dumps(
            {"a": session.annotator, "c": session.csrf, "t": session.issued}, separators=(",", ":")
        )
        payload = _b64(body.encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def loads(self, value: str | None) -> Session | None:
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            data: dict[str, Any] = json.loads(_unb64(payload))
            issued = float(data["t"])
            csrf = str(data["c"])
            annotator = data["a"]
        except (ValueError, KeyError, TypeError):
            return None
        if time.time() - issued > self.max_age_s:
            return None
        return Session(annotator if isinstance(annotator, str) else None, csrf, issued)
