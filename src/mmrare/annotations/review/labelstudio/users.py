"""Who a Label Studio annotation belongs to, however Label Studio names its author.

Label Studio writes ``completed_by`` three ways: a bare user id (the project export), an object with
``id`` and ``email`` (the snapshot export, the API with expanded users) or an email (what its import
accepts). A bare id names nobody until it is looked up in the users list (``GET /api/users/``, saved
to a file or fetched from the server), so resolution takes that list when it has one.

An author becomes an mmrare annotator through the annotator map (keyed by email, id or username)
or, without an entry, when an active annotator is called by the email, the username or the email's
local part. The reverse direction (which Label Studio member wrote an mmrare review) uses the same
map and list, so what is pushed comes back to the same annotator.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrare.annotations.review.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class LSUser:
    """A Label Studio account as ``GET /api/users/`` lists it."""

    id: int | None
    email: str
    username: str

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> LSUser:
        raw = row.get("id")
        return cls(
            int(raw) if raw is not None and str(raw).isdigit() else None,
            str(row.get("email") or ""),
            str(row.get("username") or ""),
        )

    @property
    def label(self) -> str:
        """How a message names this user: ``user 2 (bob@example.org)``."""
        ident = f"user {self.id}" if self.id is not None else "user"
        return f"{ident} ({self.email})" if self.email else ident


def load_users(path: Path) -> list[LSUser]:
    """The users in a file saved from ``GET /api/users/`` (a list, or ``{"results": [...]}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a Label Studio users list ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("results", data.get("users"))
    if not isinstance(data, list) or not all(isinstance(u, dict) for u in data):
        raise InvalidInput(f"{path}: expected the JSON list that GET /api/users/ returns")
    return [LSUser.from_api(u) for u in data]


class AnnotatorResolver:
    """Maps Label Studio authors to mmrare annotators and back (see the module docstring)."""

    def __init__(
        self, known: Iterable[str], mapping: Mapping[str, str] | None = None, users: Iterable[LSUser] = ()
    ) -> None:
        self.known = set(known)
        self.mapping = {str(k).casefold(): str(v) for k, v in (mapping or {}).items()}
        self.users = list(users)
        self._by_id = {u.id: u for u in self.users if u.id is not None}
        self._by_email = {u.email.casefold(): u for u in self.users if u.email}

    def user(self, completed_by: Any) -> LSUser:
        """The author as fully as the export and the users list tell (id, email, username)."""
        if isinstance(completed_by, Mapping):
            given = LSUser.from_api(completed_by)
            found = self._by_id.get(given.id) if given.id is not None else None
            found = found or self._by_email.get(given.email.casefold())
            if found is None:
                return given
            return LSUser(found.id, given.email or found.email, given.username or found.username)
        if isinstance(completed_by, int) or (isinstance(completed_by, str) and completed_by.isdigit()):
            ident = int(completed_by)
            return self._by_id.get(ident, LSUser(ident, "", ""))
        email = str(completed_by or "")
        return self._by_email.get(email.casefold(), LSUser(None, email, ""))

    def annotator(self, user: LSUser) -> str | None:
        """The mmrare annotator this Label Studio user reviews as, or None."""
        keys = [user.email, str(user.id) if user.id is not None else "", user.username]
        for key in [k for k in keys if k]:
            name = self.mapping.get(key.casefold())
            if name is not None:
                return name if name in self.known else None
        local = user.email.split("@")[0] if "@" in user.email else ""
        for key in [user.email, user.username, local]:
            if key and key in self.known:
                return key
        return None

    def how_to_map(self, user: LSUser) -> str:
        """One sentence telling how to make ``user`` an annotator (used in skip lines)."""
        if user.email:
            key, suggestion = user.email, user.email.split("@")[0]
        elif user.username:
            key, suggestion = user.username, user.username
        else:
            return (
                f"Label Studio {user.label} is not in the users list; pass --users FILE saved from"
                f' GET /api/users/ (or --url), or map it: --annotator-map \'{{"{user.id}": "NAME"}}\''
            )
        mapped = self.mapping.get(key.casefold())
        if mapped is not None:
            return (
                f"Label Studio {user.label} maps to {mapped!r}, who is no active annotator;"
                f" run `mmrare review add-annotator {mapped}`"
            )
        return (
            f"Label Studio {user.label} is no mmrare annotator; map it with"
            f' --annotator-map \'{{"{key}": "NAME"}}\' or run `mmrare review add-annotator {suggestion}`'
        )

    def member(self, annotator: str) -> LSUser | None:
        """The Label Studio member who is ``annotator``, when one is known (an email at least)."""
        for user in self.users:
            if user.email and self.annotator(user) == annotator:
                return user
        for key, name in self.mapping.items():
            if name == annotator and "@" in key and not self.users:
                return LSUser(None, key, "")
        if not self.users and "@" in annotator:
            return LSUser(None, annotator, "")
        return None
