"""Annotator accounts: created from the CLI, logging in with a token that is stored only as sha256.

Tokens are 32 random bytes (URL-safe text) shown once; losing one means issuing a new one
(:func:`reset_token`). Names are the ids every review, version and adjudication row carries.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from mmrare.annotations.review.errors import Conflict, InvalidInput, NotAllowed, NotFound
from mmrare.annotations.review.records import Annotator
from mmrare.annotations.review.store import ReviewStore
from mmrare.warehouse.queries import review as queries

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
RESERVED_NAMES = frozenset({"drafter"})


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_annotator(store: ReviewStore, name: str, *, adjudicator: bool = False) -> str:
    """Create an annotator and return their login token (the only time it exists in clear)."""
    if not _NAME.match(name) or name.casefold() in RESERVED_NAMES:
        raise InvalidInput(
            f"annotator name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-' (not 'drafter')"
        )
    token = secrets.token_urlsafe(32)
    with store.write() as cur:
        if queries.annotator_name_taken(cur, name):
            raise Conflict(
                f"annotator {name!r} exists; use `mmrare review reset-token {name}` for a new token"
            )
        queries.insert_annotator(
            cur,
            {
                "name": name,
                "token_sha256": token_sha256(token),
                "is_adjudicator": adjudicator,
                "active": True,
                "created_at": datetime.now(UTC),
            },
        )
    return token


def reset_token(store: ReviewStore, name: str) -> str:
    """Issue a new token for ``name``; the old one stops working."""
    token = secrets.token_urlsafe(32)
    with store.write() as cur:
        if not queries.set_token_sha256(cur, name, token_sha256(token)):
            raise NotFound(f"no annotator {name!r}")
    return token


def authenticate(store: ReviewStore, token: str) -> Annotator:
    """The active annotator holding ``token``, or :class:`NotAllowed`."""
    if not token or len(token) > 256:
        raise NotAllowed("unknown token")
    with store.read() as cur:
        row = queries.annotator_by_token(cur, token_sha256(token.strip()))
    if row is None or not row[2]:
        raise NotAllowed("unknown or inactive token")
    return Annotator(row[0], bool(row[1]), bool(row[2]))


def get_annotator(store: ReviewStore, name: str) -> Annotator:
    """The annotator called ``name`` (active or not), or :class:`NotFound`."""
    with store.read() as cur:
        row = queries.annotator_by_name(cur, name)
    if row is None:
        raise NotFound(f"no annotator {name!r}")
    return Annotator(row[0], bool(row[1]), bool(row[2]))
