"""Settings of one release build, and the licence policy it re-checks at build time.

The licence policy is the selection policy of ``mmrare.toml`` (``[selection]``): an article selected
months ago under an older policy, or retracted since, must not slip into a release, so every build
applies the policy in force again. It is re-implemented here on plain patterns (stages never import
each other) with the same rule as curation: deny wins over allow, flag marks allowed-but-restricted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from mmrare.config import SelectionConfig
from mmrare.errors import FatalError

_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
DEFAULT_DEV_FRACTION = 0.2
DEFAULT_SPLIT_SALT = "mmrare-split/1"


def check_version(version: str) -> tuple[int, int, int]:
    """``X.Y.Z`` as a tuple, or a one-line :class:`FatalError`."""
    match = _VERSION.match(version or "")
    if not match:
        raise FatalError(f"release version {version!r}: use X.Y.Z (e.g. 1.0.0)")
    return int(match[1]), int(match[2]), int(match[3])


@dataclass(frozen=True, slots=True)
class LicencePolicy:
    """Allow / deny / flag patterns over SPDX-like licence ids, plus what to do with restricted ones."""

    allow: tuple[str, ...]
    deny: tuple[str, ...]
    flag: tuple[str, ...]
    exclude_retracted: bool = True
    exclude_flagged: bool = False  # leave out every allowed-but-flagged article too
    # a released context is masked text, i.e. a derivative: articles whose licence forbids
    # derivatives (the "ND" licences) are left out unless the maintainer asks for them
    exclude_no_derivatives: bool = True

    @classmethod
    def from_selection(
        cls, selection: SelectionConfig, *, exclude_flagged: bool = False, exclude_no_derivatives: bool = True
    ) -> LicencePolicy:
        return cls(
            allow=tuple(selection.licence_allow),
            deny=tuple(selection.licence_deny),
            flag=tuple(selection.licence_flag),
            exclude_retracted=selection.exclude_retracted,
            exclude_flagged=exclude_flagged,
            exclude_no_derivatives=exclude_no_derivatives,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LicencePolicy:
        """The policy a manifest recorded (``manifest.json`` ``licence_policy``)."""
        return cls(
            allow=tuple(data.get("allow", ())),
            deny=tuple(data.get("deny", ())),
            flag=tuple(data.get("flag", ())),
            exclude_retracted=bool(data.get("exclude_retracted", True)),
            exclude_flagged=bool(data.get("exclude_flagged", False)),
            exclude_no_derivatives=bool(data.get("exclude_no_derivatives", False)),  # older manifests
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "allow": list(self.allow),
            "deny": list(self.deny),
            "flag": list(self.flag),
            "exclude_retracted": self.exclude_retracted,
            "exclude_flagged": self.exclude_flagged,
            "exclude_no_derivatives": self.exclude_no_derivatives,
        }

    def is_flagged(self, licence: str) -> bool:
        return any(fnmatchcase(licence, pat) for pat in self.flag)

    def verdict(self, licence: str) -> tuple[str, str] | None:
        """None when ``licence`` may be released, else (reason, detail)."""
        if not licence or licence == "unknown":
            return "unknown_licence", "no licence found in the article"
        if any(fnmatchcase(licence, pat) for pat in self.deny):
            return "licence_not_allowed", f"{licence} matches the deny list"
        if not any(fnmatchcase(licence, pat) for pat in self.allow):
            return "licence_not_allowed", f"{licence} is not on the allow list"
        if self.exclude_no_derivatives and forbids_derivatives(licence):
            return "licence_no_derivatives", f"{licence} forbids derivatives (contexts are masked)"
        if self.exclude_flagged and self.is_flagged(licence):
            return "licence_flagged", f"{licence} is flagged (restricted) and flagged licences are excluded"
        return None


def forbids_derivatives(licence: str) -> bool:
    """True for a Creative Commons "NoDerivatives" licence id (``CC-BY-ND-4.0``, ``CC-BY-NC-ND-3.0``)."""
    return "ND" in licence.upper().replace("_", "-").split("-")


@dataclass(frozen=True, slots=True)
class ReleaseSettings:
    """Knobs of one build; all of them are recorded in manifest.json."""

    policy: LicencePolicy
    dev_fraction: float = DEFAULT_DEV_FRACTION
    split_salt: str = DEFAULT_SPLIT_SALT
    retracted: frozenset[str] = field(default_factory=frozenset)  # PMCIDs known to be retracted
    name: str = "mmrare"
    url: str | None = None  # where the release will be published (Croissant "url"), when known

    def __post_init__(self) -> None:
        if not 0.0 <= self.dev_fraction <= 1.0:
            raise FatalError(f"dev fraction must be between 0 and 1, not {self.dev_fraction}")
        if not self.split_salt:
            raise FatalError("split salt must not be empty")

    def as_dict(self) -> dict[str, Any]:
        return {
            "dev_fraction": self.dev_fraction,
            "split_salt": self.split_salt,
            "licence_policy": self.policy.as_dict(),
            "retracted_list": sorted(self.retracted),
        }
