"""The three kinds of failure a pipeline step can raise, each telling the caller what to do.

- :class:`FatalError` stops the run (bad config, unwritable workspace, schema newer than the code).
- :class:`RecordError` rejects one record; the run stores the reject and goes on with the rest.
- :class:`RetryableError` is transient (HTTP 429/5xx, timeouts); callers back off and retry.
"""

from __future__ import annotations


class MmrareError(Exception):
    """Base class for all errors raised on purpose by mmrare."""


class FatalError(MmrareError):
    """The run cannot go on; the message says what to fix."""


class RecordError(MmrareError):
    """One record is unusable. ``record_id`` names it, ``reason`` is a short machine-friendly code."""

    def __init__(self, record_id: str, reason: str, detail: str = "") -> None:
        self.record_id = record_id
        self.reason = reason
        self.detail = detail
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The single line shown to the user and stored in ``rejects``."""
        text = f"{self.record_id}: {self.reason}"
        if self.detail:
            text += f" ({self.detail})"
        return " ".join(text.split())


class RetryableError(MmrareError):
    """A transient failure (rate limit, server error, timeout, truncated transfer)."""
