"""Review settings: typed, with defaults, overridable from the ``mmrare review`` command line.

They are not part of ``mmrare.toml``: none of them changes a benchmark item, so none belongs in the
config hash. The session signing key is a random file in the workspace, created on first use with
owner-only permissions, so restarts keep people logged in and no secret is ever in a config file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, Field

from mmrare.annotations.review.queue import DEFAULT_REQUIRED_REVIEWS


class ReviewSettings(BaseModel):
    """How the review server runs."""

    host: str = "127.0.0.1"  # loopback by default: put a TLS proxy in front to expose it
    port: int = Field(8765, ge=1, le=65535)
    required_reviews: int = Field(DEFAULT_REQUIRED_REVIEWS, ge=1, le=10)
    lease_seconds: float = Field(1800.0, gt=0)  # how long an opened item stays reserved
    session_max_age_s: int = Field(12 * 3600, gt=0)
    cookie_secure: bool = False  # set when served over HTTPS


def load_secret(path: Path) -> bytes:
    """The session signing key at ``path`` (32 random bytes, created 0600 when missing)."""
    if path.exists():
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
